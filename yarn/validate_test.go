package yarn

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validSubmission() *ApplicationSubmission {
	return &ApplicationSubmission{
		ID:         testApp,
		AMResource: Resource{MemoryMB: 512, VCores: 1},
		AM: ContainerLaunchContext{
			Commands: []string{"./spindle"},
			LocalResources: map[string]LocalResource{
				"spindle": {URL: "hdfs://nn:8020/x/spindle", Size: 1, Timestamp: 1700000000000},
			},
		},
	}
}

func TestValidateAcceptsGoodSubmissions(t *testing.T) {
	for name, s := range map[string]*ApplicationSubmission{
		"minimal":   validSubmission(),
		"full":      fullSubmission(),
		"unmanaged": {ID: testApp, Unmanaged: true},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}

// fieldsOf returns the Field of every *FieldError joined in err.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var fields []string
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a joined error", err)
	}
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("error %v is not a *FieldError", e)
		}
		if !strings.HasPrefix(fe.Error(), "yarn: ApplicationSubmission.") {
			t.Errorf("message %q does not name the field", fe.Error())
		}
		fields = append(fields, fe.Field)
	}
	return fields
}

func TestValidateNamesBadFields(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *ApplicationSubmission)
		want   []string
	}{
		{"no id", func(s *ApplicationSubmission) { s.ID = ApplicationID{} }, []string{"ApplicationSubmission.ID"}},
		{"bad id", func(s *ApplicationSubmission) { s.ID = ApplicationID{ID: 1} }, []string{"ApplicationSubmission.ID"}},
		{"no memory", func(s *ApplicationSubmission) { s.AMResource.MemoryMB = 0 }, []string{"ApplicationSubmission.AMResource.MemoryMB"}},
		{"negative memory", func(s *ApplicationSubmission) { s.AMResource.MemoryMB = -1 }, []string{"ApplicationSubmission.AMResource.MemoryMB"}},
		{"unmanaged negative", func(s *ApplicationSubmission) { s.Unmanaged = true; s.AMResource = Resource{MemoryMB: -1, VCores: -1} },
			[]string{"ApplicationSubmission.AMResource.MemoryMB", "ApplicationSubmission.AMResource.VCores"}},
		{"no vcores", func(s *ApplicationSubmission) { s.AMResource.VCores = 0 }, []string{"ApplicationSubmission.AMResource.VCores"}},
		{"built-in as custom", func(s *ApplicationSubmission) {
			s.AMResource.Custom = map[string]int64{"memory-mb": 1, "yarn.io/gpu": -1}
		},
			[]string{`ApplicationSubmission.AMResource.Custom["memory-mb"]`, `ApplicationSubmission.AMResource.Custom["yarn.io/gpu"]`}},
		{"no command", func(s *ApplicationSubmission) { s.AM.Commands = nil }, []string{"ApplicationSubmission.AM.Commands"}},
		{"long type", func(s *ApplicationSubmission) { s.Type = strings.Repeat("x", 21) }, []string{"ApplicationSubmission.Type"}},
		{"bad tags", func(s *ApplicationSubmission) { s.Tags = []string{"ok", "", "naïve"} },
			[]string{"ApplicationSubmission.Tags[1]", "ApplicationSubmission.Tags[2]"}},
		{"negative attempts", func(s *ApplicationSubmission) { s.MaxAttempts = -1 }, []string{"ApplicationSubmission.MaxAttempts"}},
		{"sub-ms validity", func(s *ApplicationSubmission) { s.AttemptFailuresValidityInterval = time.Microsecond },
			[]string{"ApplicationSubmission.AttemptFailuresValidityInterval"}},
		{"sub-second lifetime", func(s *ApplicationSubmission) { s.Lifetime = 1500 * time.Millisecond }, []string{"ApplicationSubmission.Lifetime"}},
		{"relative URL", func(s *ApplicationSubmission) {
			s.AM.LocalResources["spindle"] = LocalResource{URL: "x/spindle", Timestamp: 1}
		}, []string{`ApplicationSubmission.AM.LocalResources["spindle"].URL`}},
		{"no timestamp", func(s *ApplicationSubmission) {
			s.AM.LocalResources["spindle"] = LocalResource{URL: "hdfs:///x"}
		}, []string{`ApplicationSubmission.AM.LocalResources["spindle"].Timestamp`}},
		{"bad link names", func(s *ApplicationSubmission) {
			s.AM.LocalResources["/abs"] = LocalResource{URL: "hdfs:///x", Timestamp: 1}
			s.AM.LocalResources["a/../../b"] = LocalResource{URL: "hdfs:///x", Timestamp: 1}
		}, []string{`ApplicationSubmission.AM.LocalResources["/abs"]`, `ApplicationSubmission.AM.LocalResources["a/../../b"]`}},
		{"pattern without pattern", func(s *ApplicationSubmission) {
			s.AM.LocalResources["p"] = LocalResource{URL: "hdfs:///x", Timestamp: 1, Type: LocalResourcePattern}
			s.AM.LocalResources["q"] = LocalResource{URL: "hdfs:///x", Timestamp: 1, Pattern: "x"}
		}, []string{`ApplicationSubmission.AM.LocalResources["p"].Pattern`, `ApplicationSubmission.AM.LocalResources["q"].Pattern`}},
		{"unknown enums", func(s *ApplicationSubmission) {
			s.AM.LocalResources["e"] = LocalResource{URL: "hdfs:///x", Timestamp: 1, Type: 9, Visibility: 9}
			s.AM.ACLs = map[ApplicationAccessType]string{7: "x"}
		}, []string{`ApplicationSubmission.AM.LocalResources["e"].Type`, `ApplicationSubmission.AM.LocalResources["e"].Visibility`,
			"ApplicationSubmission.AM.ACLs[ApplicationAccessType(7)]"}},
		{"bad env", func(s *ApplicationSubmission) { s.AM.Environment = map[string]string{"A=B": "x", "": "y"} },
			[]string{`ApplicationSubmission.AM.Environment[""]`, `ApplicationSubmission.AM.Environment["A=B"]`}},
		{"retry", func(s *ApplicationSubmission) {
			s.AM.Retry = &ContainerRetryContext{Policy: RetryOnErrorCodes, MaxRetries: -2, Interval: time.Nanosecond}
		}, []string{"ApplicationSubmission.AM.Retry.ErrorCodes", "ApplicationSubmission.AM.Retry.MaxRetries", "ApplicationSubmission.AM.Retry.Interval"}},
		{"unmanaged with AM label", func(s *ApplicationSubmission) { s.Unmanaged = true; s.AMNodeLabel = "x" },
			[]string{"ApplicationSubmission.AMNodeLabel"}},
		{"policy parameters alone", func(s *ApplicationSubmission) { s.LogAggregation = &LogAggregationContext{PolicyParameters: "x"} },
			[]string{"ApplicationSubmission.LogAggregation.PolicyParameters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubmission()
			tt.modify(s)
			got := fieldsOf(t, s.Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateMessage(t *testing.T) {
	s := validSubmission()
	s.AMResource.MemoryMB = 0
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "yarn: ApplicationSubmission.AMResource.MemoryMB must be > 0") {
		t.Errorf("Validate() = %v", err)
	}
}

package yarn

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

// credentialsEqual compares credentials by their serialized form, which
// covers every alias, token and secret in order.
var credentialsEqual = cmp.Comparer(func(a, b *Credentials) bool {
	if a == nil || b == nil {
		return a == b
	}
	ab, errA := a.MarshalBinary()
	bb, errB := b.MarshalBinary()
	return errA == nil && errB == nil && bytes.Equal(ab, bb)
})

func testCredentials() *Credentials {
	var c Credentials
	c.AddToken("hdfs-nn", Token{
		Identifier: []byte{0, 5, 'a', 'l', 'i', 'c', 'e'},
		Password:   []byte{0xde, 0xad, 0xbe, 0xef},
		Kind:       KindHDFSDelegationToken,
		Service:    "127.0.0.1:8020",
	})
	c.AddToken("rm", Token{Identifier: []byte("rm-id"), Password: []byte("rm-pw"), Kind: KindRMDelegationToken, Service: "127.0.0.1:8032"})
	c.AddSecret("spindle.secret", []byte("s3cr3t"))
	return &c
}

var (
	testApp     = ApplicationID{ClusterTimestamp: 1700000000000, ID: 7}
	testAttempt = ApplicationAttemptID{Application: testApp, Attempt: 2}
	testCID     = ContainerID{Attempt: testAttempt, ID: 3<<40 | 42}
	testNode    = NodeID{Host: "nm1.example.com", Port: 45454}
	testToken   = Token{Identifier: []byte("cid"), Password: []byte("cpw"), Kind: KindContainerToken, Service: "127.0.0.1:45454"}
	// Times at whole milliseconds, as Hadoop keeps them.
	t1 = time.UnixMilli(1700000001234)
	t2 = time.UnixMilli(1700000005678)
)

// fullSubmission sets every field of ApplicationSubmission.
func fullSubmission() *ApplicationSubmission {
	return &ApplicationSubmission{
		ID:       testApp,
		Name:     "wordcount",
		Queue:    "root.analytics",
		Priority: 3,
		AM: ContainerLaunchContext{
			LocalResources: map[string]LocalResource{
				"spindle": {URL: "hdfs://nn.example.com:8020/user/alice/.spindle/abc/spindle", Size: 12345678, Timestamp: 1700000000123,
					Visibility: VisibilityPrivate},
				"lib.tgz": {URL: "hdfs:///user/alice/lib.tgz", Size: 99, Timestamp: 1700000000456,
					Type: LocalResourceArchive, Visibility: VisibilityPublic, UploadToSharedCache: true},
				"conf.jar": {URL: "hdfs://nn.example.com/conf.jar", Size: 5, Timestamp: 1700000000789,
					Type: LocalResourcePattern, Pattern: "^conf/.*"},
			},
			Environment: map[string]string{"SPINDLE_ROLE": "am", "CLASSPATH": "{{PWD}}<CPS>*", "A": ""},
			Commands:    []string{"./spindle", "--role=am", "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"},
			Credentials: testCredentials(),
			ServiceData: map[string][]byte{"spindle_shuffle": {1, 2, 3}},
			ACLs:        map[ApplicationAccessType]string{AccessViewApp: "bob,carol admins", AccessModifyApp: "bob"},
			Retry: &ContainerRetryContext{Policy: RetryOnErrorCodes, ErrorCodes: []int32{137, 143}, MaxRetries: 3,
				Interval: 1500 * time.Millisecond, FailuresValidityInterval: time.Minute},
			TokensConf: map[string]string{"dfs.nameservices": "remote", "a": ""},
		},
		AMResource:                      Resource{MemoryMB: 2048, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1}},
		Type:                            "SPINDLE",
		Tags:                            []string{"team:data", "job:wordcount"},
		NodeLabel:                       "batch",
		AMNodeLabel:                     "stable",
		MaxAttempts:                     4,
		AttemptFailuresValidityInterval: 10 * time.Minute,
		KeepContainersAcrossAttempts:    true,
		KeepTokensOnCompletion:          true,
		LogAggregation: &LogAggregationContext{
			IncludePattern: "std.*", ExcludePattern: "gc.*",
			RolledLogsIncludePattern: ".*\\.log", RolledLogsExcludePattern: "tmp.*",
			PolicyClassName:  "org.apache.hadoop.yarn.server.nodemanager.containermanager.logaggregation.AllContainerLogAggregationPolicy",
			PolicyParameters: "x=1",
		},
		Lifetime:             2 * time.Hour,
		SchedulingProperties: map[string]string{"placement": "spread"},
	}
}

func i32(v int32) *int32   { return &v }
func i64(v int64) *int64   { return &v }
func str(v string) *string { return &v }

// TestSubmissionToProto pins every field of the encoded submission: field
// mapping, the order of map entries, port -1 for URLs without a port,
// defaults Hadoop applies to absent fields.
func TestSubmissionToProto(t *testing.T) {
	s := fullSubmission()
	tokens, err := s.AM.Credentials.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	res := func(typ pb.LocalResourceTypeProto, vis pb.LocalResourceVisibilityProto, u *pb.URLProto, size, ts int64) *pb.LocalResourceProto {
		return &pb.LocalResourceProto{Resource: u, Size: i64(size), Timestamp: i64(ts), Type: typ.Enum(), Visibility: vis.Enum()}
	}
	conf := res(pb.LocalResourceTypeProto_PATTERN, pb.LocalResourceVisibilityProto_APPLICATION,
		&pb.URLProto{Scheme: str("hdfs"), Host: str("nn.example.com"), Port: i32(-1), File: str("/conf.jar")}, 5, 1700000000789)
	conf.Pattern = str("^conf/.*")
	lib := res(pb.LocalResourceTypeProto_ARCHIVE, pb.LocalResourceVisibilityProto_PUBLIC,
		&pb.URLProto{Scheme: str("hdfs"), Port: i32(-1), File: str("/user/alice/lib.tgz")}, 99, 1700000000456)
	lib.ShouldBeUploadedToSharedCache = proto.Bool(true)
	amRes := &pb.ResourceProto{Memory: i64(2048), VirtualCores: i32(2), ResourceValueMap: []*pb.ResourceInformationProto{
		{Key: str("yarn.io/gpu"), Value: i64(1)}}}
	want := &pb.ApplicationSubmissionContextProto{
		ApplicationId:   &pb.ApplicationIdProto{Id: i32(7), ClusterTimestamp: i64(1700000000000)},
		ApplicationName: str("wordcount"),
		Queue:           str("root.analytics"),
		Priority:        &pb.PriorityProto{Priority: i32(3)},
		AmContainerSpec: &pb.ContainerLaunchContextProto{
			LocalResources: []*pb.StringLocalResourceMapProto{
				{Key: str("conf.jar"), Value: conf},
				{Key: str("lib.tgz"), Value: lib},
				{Key: str("spindle"), Value: res(pb.LocalResourceTypeProto_FILE, pb.LocalResourceVisibilityProto_PRIVATE,
					&pb.URLProto{Scheme: str("hdfs"), Host: str("nn.example.com"), Port: i32(8020), File: str("/user/alice/.spindle/abc/spindle")},
					12345678, 1700000000123)},
			},
			Tokens:      tokens,
			ServiceData: []*pb.StringBytesMapProto{{Key: str("spindle_shuffle"), Value: []byte{1, 2, 3}}},
			Environment: []*pb.StringStringMapProto{
				{Key: str("A"), Value: str("")},
				{Key: str("CLASSPATH"), Value: str("{{PWD}}<CPS>*")},
				{Key: str("SPINDLE_ROLE"), Value: str("am")},
			},
			Command: []string{"./spindle", "--role=am", "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"},
			Application_ACLs: []*pb.ApplicationACLMapProto{
				{AccessType: pb.ApplicationAccessTypeProto_APPACCESS_VIEW_APP.Enum(), Acl: str("bob,carol admins")},
				{AccessType: pb.ApplicationAccessTypeProto_APPACCESS_MODIFY_APP.Enum(), Acl: str("bob")},
			},
			ContainerRetryContext: &pb.ContainerRetryContextProto{
				RetryPolicy: pb.ContainerRetryPolicyProto_RETRY_ON_SPECIFIC_ERROR_CODES.Enum(), ErrorCodes: []int32{137, 143},
				MaxRetries: i32(3), RetryInterval: i32(1500), FailuresValidityInterval: i64(60000),
			},
			// Configuration.write: VInt count; per property (sorted) Text
			// name, Text value, 4-byte int -1 for no sources.
			TokensConf: append(append([]byte{2, 1, 'a', 0, 0xff, 0xff, 0xff, 0xff, 16}, "dfs.nameservices"...),
				6, 'r', 'e', 'm', 'o', 't', 'e', 0xff, 0xff, 0xff, 0xff),
		},
		CancelTokensWhenComplete:                proto.Bool(false),
		UnmanagedAm:                             proto.Bool(false),
		MaxAppAttempts:                          i32(4),
		Resource:                                amRes,
		ApplicationType:                         str("SPINDLE"),
		KeepContainersAcrossApplicationAttempts: proto.Bool(true),
		ApplicationTags:                         []string{"team:data", "job:wordcount"},
		AttemptFailuresValidityInterval:         i64(600000),
		LogAggregationContext: &pb.LogAggregationContextProto{
			IncludePattern: str("std.*"), ExcludePattern: str("gc.*"),
			RolledLogsIncludePattern: str(".*\\.log"), RolledLogsExcludePattern: str("tmp.*"),
			LogAggregationPolicyClassName:  str("org.apache.hadoop.yarn.server.nodemanager.containermanager.logaggregation.AllContainerLogAggregationPolicy"),
			LogAggregationPolicyParameters: str("x=1"),
		},
		NodeLabelExpression: str("batch"),
		AmContainerResourceRequest: []*pb.ResourceRequestProto{{
			Priority: &pb.PriorityProto{Priority: i32(0)}, ResourceName: str("*"), Capability: amRes,
			NumContainers: i32(1), RelaxLocality: proto.Bool(true), NodeLabelExpression: str("stable"),
			ExecutionTypeRequest: &pb.ExecutionTypeRequestProto{ExecutionType: pb.ExecutionTypeProto_GUARANTEED.Enum(), EnforceExecutionType: proto.Bool(false)},
			AllocationRequestId:  i64(0),
		}},
		ApplicationTimeouts: []*pb.ApplicationTimeoutMapProto{{
			ApplicationTimeoutType: pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME.Enum(), Timeout: i64(7200),
		}},
		ApplicationSchedulingProperties: []*pb.StringStringMapProto{{Key: str("placement"), Value: str("spread")}},
	}
	got, err := submissionToProto(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("submissionToProto mismatch (-want +got):\n%s", diff)
	}
	back, err := submissionFromProto(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*s, back, credentialsEqual); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

// TestSubmissionMinimalLeavesDefaultsToHadoop checks that zero values are
// not sent where Hadoop's default differs from Go's zero, so that the
// getters on the Java side return Hadoop's defaults.
func TestSubmissionMinimalLeavesDefaultsToHadoop(t *testing.T) {
	s := &ApplicationSubmission{ID: testApp, AMResource: Resource{MemoryMB: 512, VCores: 1}, AM: ContainerLaunchContext{Commands: []string{"true"}}}
	p, err := submissionToProto(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.ApplicationName != nil || p.Queue != nil || p.ApplicationType != nil || p.Priority != nil ||
		p.MaxAppAttempts != nil || p.AttemptFailuresValidityInterval != nil || p.LogAggregationContext != nil ||
		p.AmContainerResourceRequest != nil || p.ApplicationTimeouts != nil || p.AmContainerSpec.Tokens != nil {
		t.Errorf("defaulted fields were sent: %v", p)
	}
	if p.GetApplicationName() != "N/A" || p.GetQueue() != "default" || p.GetApplicationType() != "YARN" ||
		p.GetAttemptFailuresValidityInterval() != -1 {
		t.Errorf("getters of absent fields do not give Hadoop's defaults: %v", p)
	}
	if p.CancelTokensWhenComplete == nil || !*p.CancelTokensWhenComplete {
		t.Errorf("cancel_tokens_when_complete = %v, want explicit true", p.CancelTokensWhenComplete)
	}
	back, err := submissionFromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*s, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestUnmanagedSubmissionWithoutResource(t *testing.T) {
	s := &ApplicationSubmission{ID: testApp, Unmanaged: true}
	p, err := submissionToProto(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Resource != nil || !p.GetUnmanagedAm() {
		t.Errorf("unmanaged submission: resource %v, unmanaged_am %v", p.Resource, p.UnmanagedAm)
	}
}

func TestURLToProto(t *testing.T) {
	tests := []struct {
		in   string
		want *pb.URLProto
		back string // urlFromProto of want; empty means in
	}{
		{"hdfs://nn:8020/a/b.jar", &pb.URLProto{Scheme: str("hdfs"), Host: str("nn"), Port: i32(8020), File: str("/a/b.jar")}, ""},
		{"hdfs://nn/a", &pb.URLProto{Scheme: str("hdfs"), Host: str("nn"), Port: i32(-1), File: str("/a")}, ""},
		{"hdfs:///a", &pb.URLProto{Scheme: str("hdfs"), Port: i32(-1), File: str("/a")}, ""},
		{"file:///tmp/x", &pb.URLProto{Scheme: str("file"), Port: i32(-1), File: str("/tmp/x")}, ""},
		{"file:/tmp/x", &pb.URLProto{Scheme: str("file"), Port: i32(-1), File: str("/tmp/x")}, "file:///tmp/x"},
		{"hdfs://[::1]:9000/p%20q", &pb.URLProto{Scheme: str("hdfs"), Host: str("[::1]"), Port: i32(9000), File: str("/p q")}, ""},
		{"hdfs://alice@nn/x", &pb.URLProto{Scheme: str("hdfs"), Host: str("nn"), Port: i32(-1), File: str("/x"), UserInfo: str("alice")}, ""},
		{"HDFS://nn/x", &pb.URLProto{Scheme: str("HDFS"), Host: str("nn"), Port: i32(-1), File: str("/x")}, ""},
		{"s3a://bucket/k%23ey", &pb.URLProto{Scheme: str("s3a"), Host: str("bucket"), Port: i32(-1), File: str("/k#ey")}, ""},
	}
	for _, tt := range tests {
		got, err := urlToProto(tt.in)
		if err != nil {
			t.Errorf("urlToProto(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("urlToProto(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		wantBack := tt.back
		if wantBack == "" {
			wantBack = tt.in
		}
		if back := urlFromProto(got); back != wantBack {
			t.Errorf("urlFromProto(urlToProto(%q)) = %q, want %q", tt.in, back, wantBack)
		}
	}
	for _, bad := range []string{"", "/user/alice/x", "nn:8020/x", "hdfs:relative", "hdfs://nn:8020", "hdfs://nn/x?y=1",
		"hdfs://nn/x#frag", "hdfs://nn:99999/x", "hdfs://nn:-1/x", "hdfs://nn/x?", "%zz"} {
		if p, err := urlToProto(bad); err == nil {
			t.Errorf("urlToProto(%q) = %v, want an error", bad, p)
		}
	}
}

func TestURLFromProtoPortZeroIsAbsent(t *testing.T) {
	// What Java's URLPBImpl would make of an unset port (0) must not end
	// up in the URL.
	if got := urlFromProto(&pb.URLProto{Scheme: str("hdfs"), Host: str("nn"), File: str("/x")}); got != "hdfs://nn/x" {
		t.Errorf("urlFromProto without port = %q", got)
	}
	if got := urlFromProto(nil); got != "" {
		t.Errorf("urlFromProto(nil) = %q", got)
	}
}

// TestLaunchContextDeterministic checks that maps encode in sorted key
// order, whatever Go's map iteration does.
func TestLaunchContextDeterministic(t *testing.T) {
	c := ContainerLaunchContext{Environment: map[string]string{}, LocalResources: map[string]LocalResource{}}
	for _, k := range []string{"Z", "a", "M", "b", "_", "0", "zz", "AA"} {
		c.Environment[k] = k + "-value"
		c.LocalResources[k] = LocalResource{URL: "hdfs://nn/" + k, Timestamp: 1}
	}
	var first []byte
	for i := range 20 {
		p, err := launchContextToProto(c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
			var keys []string
			for _, e := range p.Environment {
				keys = append(keys, e.GetKey())
			}
			if diff := cmp.Diff([]string{"0", "AA", "M", "Z", "_", "a", "b", "zz"}, keys); diff != "" {
				t.Errorf("environment order (-want +got):\n%s", diff)
			}
		} else if !bytes.Equal(first, b) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
}

func TestReadConfigurationSkipsSources(t *testing.T) {
	// As Java writes a property set in code: its sources are the one
	// string "programmatically", gzip-compressed (here just 3 opaque
	// bytes), and a null entry (-1); lengths are 4-byte ints.
	b := []byte{1, 1, 'k', 1, 'v', 0, 0, 0, 2, 0, 0, 0, 3, 0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff, 0xff}
	got, err := readConfiguration(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"k": "v"}, got); diff != "" {
		t.Errorf("readConfiguration (-want +got):\n%s", diff)
	}
	for _, bad := range [][]byte{{}, {0xff}, {1}, {1, 1, 'k'}, {1, 1, 'k', 1, 'v'}, {1, 1, 'k', 1, 'v', 0xff},
		{1, 1, 'k', 1, 'v', 0, 0, 0, 1, 0, 0, 0, 5, 'x'}} {
		if c, err := readConfiguration(bad); err == nil {
			t.Errorf("readConfiguration(%x) = %v, want an error", bad, c)
		}
	}
}

func TestLaunchContextErrors(t *testing.T) {
	_, err := launchContextToProto(ContainerLaunchContext{LocalResources: map[string]LocalResource{"x": {URL: "relative/path"}}})
	if err == nil {
		t.Error("relative local resource URL accepted")
	}
	_, err = launchContextFromProto(&pb.ContainerLaunchContextProto{Tokens: []byte("not a credentials file")})
	if err == nil {
		t.Error("garbage tokens accepted")
	}
	// Java reads an empty tokens field as no credentials... but it is
	// present, so it must parse; an empty buffer has no header.
	if _, err := launchContextFromProto(&pb.ContainerLaunchContextProto{Tokens: []byte{}}); err == nil {
		t.Error("empty tokens accepted")
	}
}

func TestResourceFromJavaForm(t *testing.T) {
	// What Java's ResourcePBImpl writes: scalars plus every type, built-ins
	// included, in resource_value_map with units.
	p := &pb.ResourceProto{Memory: i64(1024), VirtualCores: i32(2), ResourceValueMap: []*pb.ResourceInformationProto{
		{Key: str("memory-mb"), Value: i64(1024), Units: str("Mi"), Type: pb.ResourceTypesProto_COUNTABLE.Enum()},
		{Key: str("vcores"), Value: i64(2), Units: str(""), Type: pb.ResourceTypesProto_COUNTABLE.Enum()},
		{Key: str("yarn.io/gpu"), Value: i64(4), Units: str(""), Type: pb.ResourceTypesProto_COUNTABLE.Enum()},
	}}
	want := Resource{MemoryMB: 1024, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 4}}
	if diff := cmp.Diff(want, resourceFromProto(p)); diff != "" {
		t.Errorf("resourceFromProto (-want +got):\n%s", diff)
	}
	// Built-ins only in the map: read from there.
	p = &pb.ResourceProto{ResourceValueMap: []*pb.ResourceInformationProto{{Key: str("memory-mb"), Value: i64(64)}, {Key: str("vcores"), Value: i64(1)}}}
	if diff := cmp.Diff(Resource{MemoryMB: 64, VCores: 1}, resourceFromProto(p)); diff != "" {
		t.Errorf("resourceFromProto map only (-want +got):\n%s", diff)
	}
}

// TestFromProtoAbsentFields checks how each converter reads fields Hadoop
// left out, especially where the proto2 default differs from Go's zero.
func TestFromProtoAbsentFields(t *testing.T) {
	if got := reportFromProto(&pb.ApplicationReportProto{}); got.State != 0 || got.Diagnostics != "" || got.Usage != nil ||
		!got.CurrentAttempt.IsZero() || !got.Started.IsZero() || got.ClientToAMToken != nil {
		t.Errorf("empty report = %+v", got)
	}
	lr := localResourceFromProto(&pb.LocalResourceProto{})
	if lr.Type != LocalResourceFile || lr.Visibility != VisibilityApplication || lr.URL != "" {
		t.Errorf("empty local resource = %+v", lr)
	}
	st := containerStatusFromProto(&pb.ContainerStatusProto{})
	if st.ExitStatus != ExitInvalid || st.State != 0 || st.Diagnostics != "" {
		t.Errorf("empty container status = %+v", st)
	}
	rr := resourceRequestFromProto(&pb.ResourceRequestProto{})
	if rr.StrictLocality || rr.AllocationRequestID != -1 || rr.ExecutionType != ExecutionGuaranteed {
		t.Errorf("empty resource request = %+v", rr)
	}
	c := containerFromProto(&pb.ContainerProto{})
	if c.Token != nil || c.AllocationRequestID != -1 {
		t.Errorf("empty container = %+v", c)
	}
	ar := allocateResponseFromProto(&pb.AllocateResponseProto{})
	if ar.Command != 0 || ar.Preemption != nil || ar.AMRMToken != nil {
		t.Errorf("empty allocate response = %+v", ar)
	}
	if ar := allocateResponseFromProto(&pb.AllocateResponseProto{AMCommand: pb.AMCommandProto_AM_SHUTDOWN.Enum()}); ar.Command != AMShutdown {
		t.Errorf("command = %v, want AM_SHUTDOWN", ar.Command)
	}
	sub, err := submissionFromProto(&pb.ApplicationSubmissionContextProto{})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Name != "" || sub.Queue != "" || sub.Type != "" || sub.KeepTokensOnCompletion || sub.AttemptFailuresValidityInterval != 0 {
		t.Errorf("empty submission = %+v", sub)
	}
	// An old-style container id with app_id but no attempt.
	cid := containerIDFromProto(&pb.ContainerIdProto{AppId: appIDToProto(testApp), Id: i64(9)})
	if cid.Attempt.Application != testApp || cid.ID != 9 {
		t.Errorf("container id from app_id = %v", cid)
	}
	if got := aclsFromProto([]*pb.ApplicationACLMapProto{{Acl: str("x")}}); got != nil {
		t.Errorf("ACL without access type kept: %v", got)
	}
	fails := containerFailuresFromProto([]*pb.ContainerExceptionMapProto{{ContainerId: containerIDToProto(testCID)}})
	if e := fails[testCID]; e == nil || e.Message == "" {
		t.Errorf("failure without exception = %v", fails)
	}
}

// roundTrip converts v to a message, through its wire bytes and back, and
// compares; then it converts the decoded message again and compares the
// messages, so that neither direction drops a field.
func roundTrip[T any, P proto.Message](t *testing.T, name string, v T, to func(T) P, from func(P) T, newP func() P) {
	t.Helper()
	p := to(v)
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	p2 := newP()
	if err := proto.Unmarshal(b, p2); err != nil {
		t.Fatalf("%s: unmarshal: %v", name, err)
	}
	got := from(p2)
	if diff := cmp.Diff(v, got, credentialsEqual); diff != "" {
		t.Errorf("%s: round trip mismatch (-want +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(p, to(got), protocmp.Transform()); diff != "" {
		t.Errorf("%s: message round trip mismatch (-want +got):\n%s", name, diff)
	}
}

func fullReport() ApplicationReport {
	tok := Token{Identifier: []byte("amrm"), Password: []byte("pw"), Kind: KindAMRMToken}
	return ApplicationReport{
		ID: testApp, CurrentAttempt: testAttempt, User: "alice", Queue: "default", Name: "wc",
		Host: "am.example.com", RPCPort: 4242, ClientToAMToken: &Token{Identifier: []byte("c2am"), Password: []byte("x"), Kind: "CLIENT_TO_AM_TOKEN"},
		State: ApplicationFinished, FinalStatus: FinalSucceeded, Diagnostics: "done",
		TrackingURL: "http://rm:8088/proxy/application_1700000000000_0007/", OriginalTrackingURL: "http://am:1234/",
		Submitted: t1, Launched: t1.Add(time.Second), Started: t1, Finished: t2,
		Progress: 1, Type: "SPINDLE", Tags: []string{"a", "b"}, AMRMToken: &tok,
		LogAggregationStatus: LogAggregationSucceeded, Unmanaged: true, Priority: 5,
		AppNodeLabel: "x", AMNodeLabel: "y",
		Usage: &ApplicationResourceUsage{UsedContainers: 3, ReservedContainers: 1,
			Used: Resource{MemoryMB: 3072, VCores: 3}, Reserved: Resource{MemoryMB: 1024, VCores: 1}, Needed: Resource{MemoryMB: 4096, VCores: 4, Custom: map[string]int64{"yarn.io/gpu": 1}},
			MemorySeconds: 100, VCoreSeconds: 10, PreemptedMemorySeconds: 2, PreemptedVCoreSeconds: 1, QueueUsage: 12.5, ClusterUsage: 3.25},
		LifetimeRemaining: 90 * time.Second,
		RMClusterID:       "yarn-cluster",
	}
}

func fullContainer() Container {
	tok := testToken
	return Container{ID: testCID, NodeID: testNode, NodeHTTPAddress: "nm1.example.com:8042",
		Resource: Resource{MemoryMB: 1024, VCores: 1}, Priority: 1, Token: &tok,
		ExecutionType: ExecutionOpportunistic, AllocationRequestID: 17, Version: 2, AllocationTags: []string{"worker"}}
}

func TestRoundTrips(t *testing.T) {
	roundTrip(t, "Resource", Resource{MemoryMB: 4096, VCores: 8, Custom: map[string]int64{"yarn.io/gpu": 2, "yarn.io/fpga": 1}},
		resourceToProto, resourceFromProto, func() *pb.ResourceProto { return new(pb.ResourceProto) })
	roundTrip(t, "ResourceRequest", ResourceRequest{Priority: 2, Resource: Resource{MemoryMB: 512, VCores: 1}, NumContainers: 5,
		ResourceName: "/default-rack", StrictLocality: true, NodeLabel: "gpu", ExecutionType: ExecutionOpportunistic,
		EnforceExecutionType: true, AllocationRequestID: 3},
		resourceRequestToProto, resourceRequestFromProto, func() *pb.ResourceRequestProto { return new(pb.ResourceRequestProto) })
	launch := fullSubmission().AM
	roundTrip(t, "ContainerLaunchContext", launch,
		func(c ContainerLaunchContext) *pb.ContainerLaunchContextProto {
			p, err := launchContextToProto(c)
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		func(p *pb.ContainerLaunchContextProto) ContainerLaunchContext {
			c, err := launchContextFromProto(p)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, func() *pb.ContainerLaunchContextProto { return new(pb.ContainerLaunchContextProto) })
	roundTrip(t, "ApplicationReport", fullReport(),
		func(r ApplicationReport) *pb.ApplicationReportProto { return reportToProto(&r) },
		reportFromProto, func() *pb.ApplicationReportProto { return new(pb.ApplicationReportProto) })
	roundTrip(t, "ApplicationAttemptReport", ApplicationAttemptReport{ID: testAttempt, Host: "h", RPCPort: 1, TrackingURL: "t",
		OriginalTrackingURL: "o", Diagnostics: "d", State: AttemptRunning, AMContainer: testCID, Started: t1, Finished: t2},
		attemptReportToProto, attemptReportFromProto, func() *pb.ApplicationAttemptReportProto { return new(pb.ApplicationAttemptReportProto) })
	roundTrip(t, "ClusterMetrics", ClusterMetrics{NodeManagers: 8, Active: 1, Decommissioned: 2, Decommissioning: 3, Lost: 4, Unhealthy: 5, Rebooted: 6, Shutdown: 7},
		metricsToProto, metricsFromProto, func() *pb.YarnClusterMetricsProto { return new(pb.YarnClusterMetricsProto) })
	node := NodeReport{ID: testNode, HTTPAddress: "nm1:8042", Rack: "/r1", Used: Resource{MemoryMB: 1, VCores: 1},
		Capability: Resource{MemoryMB: 8192, VCores: 8, Custom: map[string]int64{"yarn.io/gpu": 2}}, NumContainers: 1,
		State: NodeDecommissioning, HealthReport: "ok", LastHealthReport: t1, Labels: []string{"gpu"},
		DecommissioningTimeout: time.Hour, UpdateType: NodeBecameDecommissioning}
	roundTrip(t, "NodeReport", node, nodeReportToProto, nodeReportFromProto, func() *pb.NodeReportProto { return new(pb.NodeReportProto) })
	queue := QueueInfo{Name: "root", Path: "root", Capacity: 1, MaxCapacity: 1, CurrentCapacity: 0.25, State: QueueRunning,
		Children: []QueueInfo{{Name: "default", Path: "root.default", Capacity: 0.5, State: QueueDraining,
			Applications: []ApplicationReport{fullReport()}}},
		AccessibleNodeLabels: []string{"*"}, DefaultNodeLabel: "x",
		Statistics:         &QueueStatistics{AppsSubmitted: 1, AppsRunning: 2, AppsPending: 3, AppsCompleted: 4, AppsKilled: 5, AppsFailed: 6, ActiveUsers: 7, AvailableMemoryMB: 8, AllocatedMemoryMB: 9, PendingMemoryMB: 10, ReservedMemoryMB: 11, AvailableVCores: 12, AllocatedVCores: 13, PendingVCores: 14, ReservedVCores: 15, AllocatedContainers: 16, PendingContainers: 17, ReservedContainers: 18},
		PreemptionDisabled: true, IntraQueuePreemptionDisabled: true, Weight: 2, MaxParallelApps: 10, SchedulerType: "capacity"}
	roundTrip(t, "QueueInfo", queue, func(q QueueInfo) *pb.QueueInfoProto { return queueInfoToProto(&q) }, queueInfoFromProto,
		func() *pb.QueueInfoProto { return new(pb.QueueInfoProto) })
	roundTrip(t, "Container", fullContainer(), containerToProto, containerFromProto, func() *pb.ContainerProto { return new(pb.ContainerProto) })
	status := ContainerStatus{ID: testCID, State: ContainerComplete, ExitStatus: ExitPreempted, Diagnostics: "preempted",
		Capability: Resource{MemoryMB: 1024, VCores: 1}, ExecutionType: ExecutionOpportunistic}
	roundTrip(t, "ContainerStatus", status, containerStatusToProto, containerStatusFromProto, func() *pb.ContainerStatusProto { return new(pb.ContainerStatusProto) })
	roundTrip(t, "ContainerReport", ContainerReport{ID: testCID, Resource: Resource{MemoryMB: 1, VCores: 1}, NodeID: testNode, Priority: 1,
		Created: t1, Finished: t2, Diagnostics: "d", LogURL: "http://nm/logs", ExitStatus: 1, State: ContainerComplete,
		NodeHTTPAddress: "nm:8042", ExecutionType: ExecutionGuaranteed},
		containerReportToProto, containerReportFromProto, func() *pb.ContainerReportProto { return new(pb.ContainerReportProto) })
	roundTrip(t, "ApplicationFilter", ApplicationFilter{Types: []string{"SPINDLE"}, States: []ApplicationState{ApplicationRunning, ApplicationAccepted},
		Users: []string{"alice"}, Queues: []string{"default"}, Tags: []string{"x"}, Name: "wc", Scope: ScopeOwn, Limit: 10,
		StartedFrom: t1, StartedTo: t2, FinishedTo: t2},
		filterToProto, filterFromProto, func() *pb.GetApplicationsRequestProto { return new(pb.GetApplicationsRequestProto) })
	roundTrip(t, "AMRegistration", AMRegistration{Host: "am", RPCPort: 1, TrackingURL: "http://am/"},
		registrationToProto, registrationFromProto, func() *pb.RegisterApplicationMasterRequestProto { return new(pb.RegisterApplicationMasterRequestProto) })
	roundTrip(t, "AMRegistrationResponse", AMRegistrationResponse{MaxCapability: Resource{MemoryMB: 8192, VCores: 4},
		ClientToAMTokenMasterKey: []byte("key"), ACLs: map[ApplicationAccessType]string{AccessViewApp: "*"}, Queue: "default",
		ContainersFromPreviousAttempts: []Container{fullContainer()},
		NMTokensFromPreviousAttempts:   []NMToken{{NodeID: testNode, Token: Token{Identifier: []byte("i"), Password: []byte("p"), Kind: KindNMToken, Service: "nm1:45454"}}},
		ResourceTypes:                  []ResourceTypeInfo{{Name: "memory-mb", Units: "Mi"}, {Name: "vcores"}}},
		func(r AMRegistrationResponse) *pb.RegisterApplicationMasterResponseProto {
			return registrationResponseToProto(&r)
		},
		registrationResponseFromProto, func() *pb.RegisterApplicationMasterResponseProto {
			return new(pb.RegisterApplicationMasterResponseProto)
		})
	roundTrip(t, "AMUnregistration", AMUnregistration{FinalStatus: FinalFailed, Diagnostics: "boom", TrackingURL: "http://hs/"},
		unregistrationToProto, unregistrationFromProto, func() *pb.FinishApplicationMasterRequestProto { return new(pb.FinishApplicationMasterRequestProto) })
	update := UpdateContainerRequest{Version: 1, ContainerID: testCID, Type: IncreaseResource, Capability: Resource{MemoryMB: 2048, VCores: 1}}
	roundTrip(t, "AllocateRequest", AllocateRequest{
		Asks:    []ResourceRequest{{Priority: 1, Resource: Resource{MemoryMB: 1024, VCores: 1}, NumContainers: 3, ResourceName: "*"}},
		Release: []ContainerID{testCID}, BlacklistAdditions: []string{"bad-node"}, BlacklistRemovals: []string{"good-node"},
		Progress: 0.5, UpdateRequests: []UpdateContainerRequest{update,
			{Version: 2, ContainerID: testCID, Type: PromoteExecutionType, ExecutionType: ExecutionGuaranteed}},
		TrackingURL: "http://am2/"},
		func(r AllocateRequest) *pb.AllocateRequestProto { return allocateRequestToProto(&r) },
		allocateRequestFromProto, func() *pb.AllocateRequestProto { return new(pb.AllocateRequestProto) })
	amrm := Token{Identifier: []byte("new-amrm"), Password: []byte("pw"), Kind: KindAMRMToken}
	roundTrip(t, "AllocateResponse", AllocateResponse{Command: AMResync, ResponseID: 13,
		Allocated: []Container{fullContainer()}, Completed: []ContainerStatus{status},
		Headroom: Resource{MemoryMB: 4096, VCores: 4}, UpdatedNodes: []NodeReport{node}, NumClusterNodes: 3,
		Preemption: &PreemptionMessage{Strict: []ContainerID{testCID}, Negotiable: []ContainerID{testCID},
			Asks: []ResourceRequest{{Priority: 1, Resource: Resource{MemoryMB: 1, VCores: 1}, NumContainers: 1, ResourceName: "*"}}},
		NMTokens:  []NMToken{{NodeID: testNode, Token: Token{Identifier: []byte("i"), Password: []byte("p"), Kind: KindNMToken, Service: "s"}}},
		AMRMToken: &amrm, Priority: 4,
		UpdateErrors:                   []UpdateContainerError{{Reason: "INCORRECT_CONTAINER_VERSION_ERROR", Request: update, CurrentVersion: 3}},
		UpdatedContainers:              []UpdatedContainer{{Type: IncreaseResource, Container: fullContainer()}},
		ContainersFromPreviousAttempts: []Container{fullContainer()}},
		func(r AllocateResponse) *pb.AllocateResponseProto { return allocateResponseToProto(&r) },
		allocateResponseFromProto, func() *pb.AllocateResponseProto { return new(pb.AllocateResponseProto) })
}

func TestFilterOpenRange(t *testing.T) {
	p := filterToProto(ApplicationFilter{StartedTo: t2})
	if p.GetStartBegin() != 0 || p.GetStartEnd() != t2.UnixMilli() || p.StartBegin == nil {
		t.Errorf("start range = %v..%v, want 0..%d, both present", p.StartBegin, p.StartEnd, t2.UnixMilli())
	}
	p = filterToProto(ApplicationFilter{FinishedFrom: t1})
	if p.GetFinishBegin() != t1.UnixMilli() || p.GetFinishEnd() != math.MaxInt64 {
		t.Errorf("finish range = %v..%v", p.FinishBegin, p.FinishEnd)
	}
	if p.StartBegin != nil || p.StartEnd != nil {
		t.Errorf("start range sent without bounds: %v", p)
	}
	if p := filterToProto(ApplicationFilter{}); !proto.Equal(p, &pb.GetApplicationsRequestProto{}) {
		t.Errorf("empty filter = %v, want an empty request", p)
	}
}

func TestStartContainerRequest(t *testing.T) {
	c := fullContainer()
	p, err := startContainerRequestToProto(c, ContainerLaunchContext{Commands: []string{"sleep 1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &hadoopcommon.TokenProto{Identifier: []byte("cid"), Password: []byte("cpw"), Kind: str(KindContainerToken), Service: str("127.0.0.1:45454")}
	if diff := cmp.Diff(want, p.GetContainerToken(), protocmp.Transform()); diff != "" {
		t.Errorf("container token (-want +got):\n%s", diff)
	}
	c.Token = nil
	if _, err := startContainerRequestToProto(c, ContainerLaunchContext{}); err == nil {
		t.Error("start request without a container token accepted")
	}
}

func TestSerializedException(t *testing.T) {
	p := &pb.SerializedExceptionProto{ClassName: str("org.apache.hadoop.yarn.exceptions.YarnException"), Message: str("outer"),
		Trace: str("at x"), Cause: &pb.SerializedExceptionProto{ClassName: str("java.io.IOException"), Message: str("inner")}}
	e := serializedExceptionFromProto(p)
	if got, want := e.Error(), "yarn: org.apache.hadoop.yarn.exceptions.YarnException: outer"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var cause *SerializedException
	if u := e.Unwrap(); u == nil {
		t.Fatal("no cause")
	} else if c, ok := u.(*SerializedException); !ok || c.Message != "inner" {
		t.Errorf("cause = %v", u)
	} else {
		cause = c
	}
	if cause.Unwrap() != nil {
		t.Error("innermost cause has a cause")
	}
	if diff := cmp.Diff(p, serializedExceptionToProto(e), protocmp.Transform()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{ApplicationRunning.String(), "RUNNING"}, {ApplicationNewSaving.String(), "NEW_SAVING"}, {ApplicationState(0).String(), "UNKNOWN"},
		{ApplicationState(42).String(), "ApplicationState(42)"}, {FinalSucceeded.String(), "SUCCEEDED"},
		{LocalResourceArchive.String(), "ARCHIVE"}, {VisibilityPublic.String(), "PUBLIC"}, {ContainerComplete.String(), "COMPLETE"},
		{NodeDecommissioning.String(), "DECOMMISSIONING"}, {QueueDraining.String(), "DRAINING"}, {AMResync.String(), "AM_RESYNC"},
		{ExecutionOpportunistic.String(), "OPPORTUNISTIC"}, {AccessModifyApp.String(), "MODIFY_APP"},
		{AttemptAllocatedSaving.String(), "ALLOCATED_SAVING"}, {LogAggregationTimedOut.String(), "TIME_OUT"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	for i := ApplicationNew; i <= ApplicationKilled; i++ {
		if s, ok := ParseApplicationState(i.String()); !ok || s != i {
			t.Errorf("ParseApplicationState(%q) = %v, %v", i.String(), s, ok)
		}
		if got, want := i.IsFinal(), i >= ApplicationFinished; got != want {
			t.Errorf("%v.IsFinal() = %v", i, got)
		}
	}
	if _, ok := ParseApplicationState("UNKNOWN"); ok {
		t.Error("UNKNOWN parsed as a state")
	}
	// The Go constants carry Hadoop's enum numbers where the converters
	// cast directly.
	for _, tt := range []struct{ goVal, protoVal int32 }{
		{int32(ApplicationKilled), int32(pb.YarnApplicationStateProto_KILLED)},
		{int32(FinalEnded), int32(pb.FinalApplicationStatusProto_APP_ENDED)},
		{int32(ContainerComplete), int32(pb.ContainerStateProto_C_COMPLETE)},
		{int32(NodeShutdown), int32(pb.NodeStateProto_NS_SHUTDOWN)},
		{int32(QueueDraining), int32(pb.QueueStateProto_Q_DRAINING)},
		{int32(AMShutdown), int32(pb.AMCommandProto_AM_SHUTDOWN)},
		{int32(AccessModifyApp), int32(pb.ApplicationAccessTypeProto_APPACCESS_MODIFY_APP)},
		{int32(RetryOnErrorCodes), int32(pb.ContainerRetryPolicyProto_RETRY_ON_SPECIFIC_ERROR_CODES)},
		{int32(ScopeOwn), int32(pb.ApplicationsRequestScopeProto_OWN)},
		{int32(NodeBecameDecommissioning), int32(pb.NodeUpdateTypeProto_NODE_DECOMMISSIONING)},
		{int32(DemoteExecutionType), int32(pb.ContainerUpdateTypeProto_DEMOTE_EXECUTION_TYPE)},
		{int32(AttemptKilled), int32(pb.YarnApplicationAttemptStateProto_APP_ATTEMPT_KILLED)},
		{int32(LogAggregationRunningWithFailure), int32(pb.LogAggregationStatusProto_LOG_RUNNING_WITH_FAILURE)},
	} {
		if tt.goVal != tt.protoVal {
			t.Errorf("Go value %d != proto value %d", tt.goVal, tt.protoVal)
		}
	}
}

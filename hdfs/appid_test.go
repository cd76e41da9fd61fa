package hdfs

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckAppID(t *testing.T) {
	for _, good := range []string{
		"application_1700000000000_0001", "application_1_0001", "application_0_0000",
		"application_1700000000000_12345", "application_9223372036854775807_2147483647",
	} {
		if err := checkAppID("stage", good); err != nil {
			t.Errorf("checkAppID(%q): %v", good, err)
		}
	}
	for _, bad := range []string{
		"", ".", "..", "a/b", "cache", "myapp", "application_", "application_1", "application_1_",
		"application_1_1", "application_1_001", "application_1_00001", "application_01_0001",
		"application_1_0001_x", "application_1_0001/..", "application_x_0001", "application_1_+001",
		"application_-1_0001", "application_1_-001", "application_9223372036854775808_0001",
		"application_1_2147483648", "container_1_0001", "APPLICATION_1_0001", "application_1_0001 ",
	} {
		err := checkAppID("stage", bad)
		if err == nil {
			t.Errorf("checkAppID(%q) accepted it", bad)
			continue
		}
		var pe *PathError
		if !errors.Is(err, ErrApplicationID) || !errors.As(err, &pe) || pe.Path != bad || !strings.Contains(err.Error(), "application_<cluster timestamp>_<sequence>") {
			t.Errorf("checkAppID(%q) = %v; want a *PathError naming it, matching ErrApplicationID, saying the form", bad, err)
		}
	}
}

// TestStagingCallsRefuseBadAppIDs: Stage and RemoveStaging refuse before
// touching HDFS (the client's NameNode does not exist).
func TestStagingCallsRefuseBadAppIDs(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	if _, err := c.Stage(ctx, "myapp", nil, StageOptions{}); !errors.Is(err, ErrApplicationID) {
		t.Errorf("Stage(\"myapp\"): %v, want ErrApplicationID", err)
	}
	if err := c.RemoveStaging(ctx, "../alice"); !errors.Is(err, ErrApplicationID) {
		t.Errorf("RemoveStaging(\"../alice\"): %v, want ErrApplicationID", err)
	}
}

func FuzzCheckAppID(f *testing.F) {
	for _, s := range []string{"application_1700000000000_0001", "application_1_1", "myapp", "application_01_0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkAppID("stage", s) != nil {
			return
		}
		// Accepted ids are a single path component that round-trips
		// through the canonical form.
		rest := strings.TrimPrefix(s, "application_")
		ts, seq, _ := strings.Cut(rest, "_")
		if strings.ContainsAny(s, "/.\x00") || len(seq) < 4 || ts == "" {
			t.Fatalf("accepted %q", s)
		}
	})
}

package cluster

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
)

// TestJobTokensExplain: without the session's keytab, a job's keeper only
// watches; a job that failed on a token the NameNode refused, or one past
// its max date, gets a root cause naming it and what to configure (the
// program's own credentials push -job, -proxy-user through a session with
// -ship-keytab); other failures keep their cause.
func TestJobTokensExplain(t *testing.T) {
	a := &AppMaster{Spec: &launch.ClusterSpec{AppID: "application_1700000000000_0003", Name: "etl", Program: "wc"}, log: slog.New(slog.DiscardHandler)}
	keep := func(tok hdfs.Token) *jobTokens {
		t.Helper()
		_, b, err := tokensCredentials([]hdfs.Token{tok})
		if err != nil {
			t.Fatal(err)
		}
		k, err := a.keepJobTokens(context.Background(), "job-3", b, func(context.Context, []byte) error {
			t.Error("a keeper without a login replaced the job's tokens")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(k.Stop)
		return k.(*jobTokens)
	}
	live := keep(delegationToken("alice", 5, time.Now(), "P"))
	if live.obtains {
		t.Error("a keeper without the session's keytab obtains tokens")
	}
	if got := live.Explain("subtask failed: disk full"); got != "subtask failed: disk full" {
		t.Errorf("an unrelated failure became %q", got)
	}
	refused := "subtask failed: token expired (the token refused: HDFS_DELEGATION_TOKEN sequence number 5 of alice)"
	got := live.Explain(refused)
	for _, want := range []string{refused + "\nJob job-3's HDFS delegation token was refused", "nothing renewed or replaced it",
		"`wc credentials push -id application_1700000000000_0003 -job job-3`", "-proxy-user", "-ship-keytab"} {
		if !strings.Contains(got, want) {
			t.Errorf("root cause %q lacks %q", got, want)
		}
	}
	dead := keep(delegationToken("alice", 6, time.Now().Add(-2*time.Hour), "P"))
	if got := dead.Explain("subtask failed"); !strings.Contains(got, "Job job-3's HDFS_DELEGATION_TOKEN sequence number 6 of alice") || !strings.Contains(got, "expired") {
		t.Errorf("a dead token's root cause %q", got)
	}
	// A pushed token replaces the one watched: once pushed, the old max
	// date does not count.
	dead.Pushed([]hdfs.Token{delegationToken("alice", 7, time.Now(), "P")})
	if got := dead.Explain("subtask failed"); got != "subtask failed" {
		t.Errorf("after a push of a live token: %q", got)
	}
}

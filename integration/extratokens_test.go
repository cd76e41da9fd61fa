//go:build integration

package integration

import (
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestExtraTokens (Kerberos bed): -rm-token puts a ResourceManager
// delegation token of the deploying user, renewable by the RM (which
// renews every token of a submission when it accepts it, refusing the
// application otherwise), in the application's credentials, so every
// container holds it; -access-fs names another file system, whose
// delegation tokens are obtained too (the bed has one HDFS, named here by
// its NameNode's address: the client reports the token it got).
func TestExtraTokens(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	p := startRuntimeProbe(t, tb, "-t", "yarn-application", "-v", "-rm-token", "-access-fs", tb.Ready.NameNode, "-records", "300000", "-delay-ms", "20", "-parallelism", "2")
	appID := recv(t, p, p.appID, "application id")
	waitAllRunning(t, recv(t, p, p.tracking, "tracking URL"))
	// Read while it runs: the NodeManagers delete the containers'
	// credentials once the application ends.
	running := snapshotAppFiles(t, tb, appID)
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d, want 0", p.code)
	}
	if !strings.Contains(out, "added a delegation token of another file system") {
		t.Errorf("the client did not report the -access-fs file system's token")
	}
	seen := map[string]bool{}
	for path, creds := range running.creds {
		c := containerIDPattern.FindString(path)
		rm := creds.TokensByKind(yarn.KindRMDelegationToken)
		if len(rm) != 1 {
			t.Errorf("%s launched with %d ResourceManager delegation tokens, want 1", c, len(rm))
			continue
		}
		id, err := rm[0].DelegationIdentifier()
		if err != nil {
			t.Fatal(err)
		}
		if hdfs.ShortName(id.Owner) != "alice" || id.Renewer == "" {
			t.Errorf("%s: RM token of owner %q, renewer %q", c, id.Owner, id.Renewer)
		}
		seen[c] = true
	}
	containers := len(seen)
	if containers < 2 {
		t.Errorf("found the RM token in %d containers' credentials, want the JobManager's and its TaskManagers'", containers)
	}
}

//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionModifyACL (Kerberos bed): alice starts a session with
// -modify-acl bob. The RM records the ACL; bob, on another machine (no
// local record), submits a job with his own credentials through the
// ClientToAMToken the RM gives him: it runs as bob (its output is his) and
// reads bob's input; then bob stops alice's session through its
// JobManager, which ends it FINISHED/SUCCEEDED with its staging directory
// removed. TestSessionClientToAMToken shows the same submission refused
// without the ACL.
func TestSessionModifyACL(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	bobLogin := []string{"-keytab", k.Users["bob"], "-principal", "bob@" + k.Realm}

	name := fmt.Sprintf("acl%d", time.Now().UnixNano()%1_000_000_000)
	start := runWordcountCommand(t, tb, "session", "start", "-name", name, "-d", "-min-taskmanagers", "0", "-max-taskmanagers", "2", "-modify-acl", "bob")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if m == nil {
		t.Fatal("session start printed no application id on a line of its own")
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			runWordcountCommand(t, tb, "session", "stop", "-id", m[1])
		}
	})
	id, err := yarn.ParseApplicationID(m[1])
	if err != nil {
		t.Fatal(err)
	}
	rep := runningReport(t, tb, "alice", id)
	if rep.User != "alice" {
		t.Errorf("the session runs as %q, want alice", rep.User)
	}

	// bob's own input, written as bob.
	ctx := testContext(t, 2*time.Minute)
	bfs := stagingClient(t, tb, "bob", nil)
	bobIn := fmt.Sprintf("/user/bob/acl-in-%d", time.Now().UnixNano())
	w, err := bfs.Create(ctx, bobIn+"/text.txt", hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("granted words\nwords granted words\n")); err != nil {
		t.Fatal(err)
	}
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}
	bobOut := fmt.Sprintf("/user/bob/acl-out-%d", time.Now().UnixNano())
	r := runWordcountHome(t, tb, t.TempDir(), bobLogin, "run", "-t", "yarn-session", "-session", name, "-input", bobIn, "-output", bobOut)
	if r.code != 0 {
		t.Fatalf("bob, granted MODIFY_APP, could not submit to alice's session: exit %d", r.code)
	}
	if !strings.Contains(r.out, "to session "+name+" ("+id.String()+")") {
		t.Error("bob's job was not submitted to the session")
	}
	checkWordcountOutput(t, tb, bobOut, map[string]int64{"granted": 2, "words": 3})
	if st, err := bfs.Stat(ctx, bobOut); err != nil || st.Owner != "bob" {
		t.Errorf("bob's output: owner %q, err %v; want bob's (his job acts with his tokens)", st.Owner, err)
	}

	// bob, granted MODIFY_APP, stops the session the orderly way.
	stop := runWordcountHome(t, tb, t.TempDir(), bobLogin, "session", "stop", "-id", id.String())
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") || strings.Contains(stop.out, "killing") {
		t.Fatalf("bob's session stop: exit %d", stop.code)
	}
	checkStagingRemoved(t, tb, id.String())
}

//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSession: a session started detached runs wordcount jobs submitted
// to it by name (on the Kerberos bed each with alice's own HDFS tokens);
// the second job runs on the TaskManager the first one left idle; a job
// that fails fails alone and the session runs the next job; session list
// shows the session with its jobs; session stop ends it FINISHED /
// SUCCEEDED with its staging directory removed.
func TestSession(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("sessions are the same on every bed; proven on the plain and Kerberos beds")
	}
	in, want := wordcountCorpus(t, tb)
	name := fmt.Sprintf("s%d", time.Now().UnixNano()%1_000_000_000)
	start := runWordcountCommand(t, tb, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "3", "-idle-timeout", "5m")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if m == nil {
		t.Fatalf("session start printed no application id on a line of its own")
	}
	appID := m[1]
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			runWordcountCommand(t, tb, "session", "stop", "-id", appID)
		}
	})

	// Two jobs in turn, both right; the second reuses the TaskManager.
	for i := 1; i <= 2; i++ {
		out := outputDir(t)
		r := runWordcount(t, tb, "-t", "yarn-session", "-session", name, "-input", in, "-output", out, "-parallelism", "2")
		if r.code != 0 {
			t.Fatalf("job %d: exit %d", i, r.code)
		}
		if !strings.Contains(r.out, "to session "+name+" ("+appID+")") {
			t.Errorf("job %d was not submitted to the session", i)
		}
		checkWordcountOutput(t, tb, out, want)
		if m := regexp.MustCompile(`every subtask running or done (\d+) ms after it was submitted`).FindStringSubmatch(r.out); m != nil {
			t.Logf("job %d: every subtask running %s ms after submit", i, m[1])
		} else {
			t.Errorf("job %d: the client did not report when every subtask ran", i)
		}
	}

	// A failing job fails alone.
	out := outputDir(t)
	r := runWordcount(t, tb, "-t", "yarn-session", "-session", appID, "-input", in, "-output", out, "-fail-always", "-restarts", "0")
	if r.code == 0 {
		t.Fatal("a job that always fails exited 0")
	}
	if !strings.Contains(r.out, `vertex "tokenize"`) {
		t.Errorf("the failed job's output lacks its root cause")
	}
	checkNoOutput(t, tb, out)

	// The session goes on.
	out = outputDir(t)
	if r := runWordcount(t, tb, "-t", "yarn-session", "-session", name, "-input", in, "-output", out); r.code != 0 {
		t.Fatalf("a job after the failed one: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, out, want)

	list := runWordcountCommand(t, tb, "session", "list")
	if !regexp.MustCompile(name + `\s+` + appID + `\s+RUNNING\s+0 running, 4 in all`).MatchString(list.stdout) {
		t.Errorf("session list does not show %s %s RUNNING with 4 jobs:\n%s", name, appID, list.stdout)
	}

	// A second session of the same name is refused before anything is
	// staged.
	dup := runWordcountCommand(t, tb, "session", "start", "-name", name, "-d")
	if dup.code == 0 || !strings.Contains(dup.out, "already running") {
		t.Errorf("a second session named %s: exit %d", name, dup.code)
	}

	stop := runWordcountCommand(t, tb, "session", "stop", "-name", name)
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	id, _ := yarn.ParseApplicationID(appID)
	rep, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Diagnostics, "stopped after 4 job(s)") {
		t.Errorf("diagnostics: %q", rep.Diagnostics)
	}
	checkStagingRemoved(t, tb, appID)

	// Every job ran on the one TaskManager the session kept: the
	// application had two containers, the JobManager's and that one.
	if n := len(containerDirs(tb, appID)); n != 2 {
		t.Errorf("the session ran %d containers, want 2 (the JobManager and one TaskManager reused by all four jobs)", n)
	}
}

// TestSessionPerJobIdentity: a service principal runs a session and
// submits jobs for alice and for bob as a proxy user (Kerberos bed). Each
// job acts with its own user's delegation tokens: its output belongs to
// that user, bob's job cannot read alice's private input, and the two
// users' jobs never share a TaskManager.
func TestSessionPerJobIdentity(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	svc := []string{"-keytab", filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"), "-principal", k.ServicePrincipal}
	// alice's input, readable by her alone.
	ctx := testContext(t, time.Minute)
	afs := stagingClient(t, tb, "alice", nil)
	private := fmt.Sprintf("/user/alice/private-%d", time.Now().UnixNano())
	if err := afs.MkdirAll(ctx, private, 0o700); err != nil {
		t.Fatal(err)
	}
	in := private + "/in"
	var text bytes.Buffer
	if err := corpus.Generate(&text, 7, 1<<20); err != nil {
		t.Fatal(err)
	}
	want, err := corpus.Count(bytes.NewReader(text.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	w, err := afs.Create(ctx, in+"/text.txt", hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(text.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}

	name := fmt.Sprintf("p%d", time.Now().UnixNano()%1_000_000_000)
	start := runWordcountLogin(t, tb, svc, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "4")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	appID := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindString(start.stdout)
	t.Cleanup(func() { runWordcountLogin(t, tb, svc, "session", "stop", "-name", name) })

	aliceOut := fmt.Sprintf("/user/alice/session-out-%d", time.Now().UnixNano())
	r := runWordcountLogin(t, tb, svc, "run", "-t", "yarn-session", "-session", name, "-proxy-user", "alice", "-input", in, "-output", aliceOut)
	if r.code != 0 {
		t.Fatalf("alice's job: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, aliceOut, want)
	st, err := afs.Stat(testContext(t, time.Minute), aliceOut)
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != "alice" {
		t.Errorf("alice's output belongs to %q", st.Owner)
	}

	bobOut := fmt.Sprintf("/user/bob/session-out-%d", time.Now().UnixNano())
	r = runWordcountLogin(t, tb, svc, "run", "-t", "yarn-session", "-session", name, "-proxy-user", "bob", "-input", in, "-output", bobOut, "-restarts", "0")
	if r.code == 0 {
		t.Fatal("bob's job read alice's private input")
	}
	if !strings.Contains(r.out, "Permission denied") && !strings.Contains(r.out, "AccessControlException") && !strings.Contains(r.out, "permission") {
		t.Errorf("bob's job failed without a permission error")
	}
	ctx = testContext(t, 2*time.Minute)
	bobIn := fmt.Sprintf("/user/bob/session-in-%d", time.Now().UnixNano())
	bfs := stagingClient(t, tb, "bob", nil)
	w, err = bfs.Create(ctx, bobIn+"/text.txt", hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("bob counts words\nwords\n"))
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}
	r = runWordcountLogin(t, tb, svc, "run", "-t", "yarn-session", "-session", name, "-proxy-user", "bob", "-input", bobIn, "-output", bobOut)
	if r.code != 0 {
		t.Fatalf("bob's job: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, bobOut, map[string]int64{"bob": 1, "counts": 1, "words": 2})
	if st, err := bfs.Stat(ctx, bobOut); err != nil || st.Owner != "bob" {
		t.Errorf("bob's output: owner %q, err %v", st.Owner, err)
	}
	// The JobManager, alice's TaskManager and bob's own.
	if n := len(containerDirs(tb, appID)); n != 3 {
		t.Errorf("the session ran %d containers, want 3 (alice's and bob's jobs in TaskManagers of their own)", n)
	}
}

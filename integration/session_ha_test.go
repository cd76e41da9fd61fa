//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionRMFailover: on the HA bed a session survives a
// ResourceManager failover with a job running. The job (96 MiB of text in
// six files on the session's one TaskManager: 15 s on a quiet machine) is
// running, every subtask started, when the active RM fails over (3.5 s);
// it must still be running once the failover is done, and it finishes
// with the right counts. A job submitted after the failover (one of the
// six files), found through the new active RM by the session's
// application id and needing a TaskManager more than the session holds,
// gets that container from the new RM and finishes right. The session is
// still RUNNING in its first attempt afterwards, and stop ends it
// FINISHED / SUCCEEDED with its staging directory removed.
//
// HA bed only, where the failover tests run (the shared HA bed of make
// test included: a failover leaves the bed as it found it, with one
// active RM).
func TestSessionRMFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 8*time.Minute)
	stamp := time.Now().UnixNano()
	in := fmt.Sprintf("/user/alice/session-failover-%d/in", stamp)
	const copies = 6
	one := writeCorpusCopies(t, stagingClient(t, tb, "alice", nil), in, 31, 16<<20, copies)
	want := map[string]int64{}
	for w, n := range one {
		want[w] = n * copies
	}

	name := fmt.Sprintf("f%d", stamp%1_000_000_000)
	start := runWordcountCommand(t, tb, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "3", "-idle-timeout", "5m")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	appID := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindString(start.stdout)
	if appID == "" {
		t.Fatal("session start printed no application id")
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			runWordcountCommand(t, tb, "session", "stop", "-id", appID)
		}
	})
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	rm := rmClient(t, tb, "alice", "")
	before, err := rm.WaitForState(ctx, id, 100*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State >= yarn.ApplicationRunning })
	if err != nil || before.State != yarn.ApplicationRunning {
		t.Fatalf("the session is %s (%v), want RUNNING", before.State, err)
	}

	// The first job runs on the session's one TaskManager; the RM fails
	// over once every subtask runs.
	out1 := outputDir(t)
	job := startWordcountLogin(t, tb, nil, "run", "-t", "yarn-session", "-session", name, "-input", in, "-output", out1, "-parallelism", "2")
	job.waitOutput(t, regexp.MustCompile(`every subtask running or done \d+ ms after it was submitted`), 3*time.Minute)
	if n := len(containerDirs(tb, appID)); n != 2 {
		t.Errorf("before the failover the session ran %d containers, want 2 (the JobManager and one TaskManager)", n)
	}
	active := failover(t, ctx, tb)
	if job.exited() {
		t.Fatalf("the job ended before the failover was done: it did not run across it (a bigger input would)\n%s", job.out.String())
	}
	t.Logf("the RM failed over to %s with the job running", active)
	if r := job.wait(t); r.code != 0 {
		t.Fatalf("the job running across the failover: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, out1, want)

	// A job after the failover, by application id (the new active RM's
	// report finds the JobManager), on two TaskManagers: the session asks
	// the new RM for the second.
	out2 := outputDir(t)
	if r := runWordcount(t, tb, "-t", "yarn-session", "-session", appID, "-input", in+"/text-0.txt", "-output", out2, "-parallelism", "4"); r.code != 0 {
		t.Fatalf("a job submitted after the failover: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, out2, one)
	if n := len(containerDirs(tb, appID)); n != 3 {
		t.Errorf("after the failover the session ran %d containers, want 3 (a TaskManager allocated by the new RM)", n)
	}

	rep, err := rm.ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != yarn.ApplicationRunning || rep.CurrentAttempt != before.CurrentAttempt {
		t.Errorf("after the failover the session is %s in attempt %v, want RUNNING in attempt %v", rep.State, rep.CurrentAttempt, before.CurrentAttempt)
	}
	list := runWordcountCommand(t, tb, "session", "list")
	if !regexp.MustCompile(name + `\s+` + appID + `\s+RUNNING\s+0 running, 2 in all`).MatchString(list.stdout) {
		t.Errorf("session list does not show %s %s RUNNING with 2 jobs:\n%s", name, appID, list.stdout)
	}

	stop := runWordcountCommand(t, tb, "session", "stop", "-name", name)
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	if rep, err := rm.ApplicationReport(ctx, id); err != nil || rep.State != yarn.ApplicationFinished || rep.FinalStatus != yarn.FinalSucceeded {
		t.Errorf("after stop: %s / %s (%v), want FINISHED / SUCCEEDED", rep.State, rep.FinalStatus, err)
	}
	checkStagingRemoved(t, tb, appID)
}

// writeCorpusCopies writes copies files of the same size bytes of
// generated text (seed) into dir, text-0.txt and on, and returns the word
// counts of one: a large input without generating and counting it all.
func writeCorpusCopies(t *testing.T, c *hdfs.Client, dir string, seed uint64, size int64, copies int) map[string]int64 {
	t.Helper()
	ctx := testContext(t, 3*time.Minute)
	var text bytes.Buffer
	if err := corpus.Generate(&text, seed, size); err != nil {
		t.Fatal(err)
	}
	want, err := corpus.Count(bytes.NewReader(text.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < copies; i++ {
		w, err := c.Create(ctx, fmt.Sprintf("%s/text-%d.txt", dir, i), hdfs.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(text.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := closeRetrying(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionRMFailover: on the HA bed a session survives a
// ResourceManager failover with a job running. The session is
// runtimeprobe's; its first job's summers hold back 15 s before they read
// (-stall-ms), so the job is surely running, every subtask started, while
// the active RM fails over (3 s here); the test checks it still ran once
// the failover was done, and that it then finishes with every record
// summed. A job submitted after the failover, found through the new
// active RM by the session's application id and needing a TaskManager
// more than the session holds, gets that container from the new RM and
// finishes right. The session is still RUNNING in its first attempt
// afterwards, session list shows it so, and stop ends it FINISHED /
// SUCCEEDED with its staging directory removed.
//
// HA bed only, where the failover tests run (the shared HA bed of make
// test included: a failover leaves the bed as it found it, with one
// active RM).
func TestSessionRMFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 8*time.Minute)
	home, probe := t.TempDir(), runtimeProbe(t)
	name := fmt.Sprintf("f%d", time.Now().UnixNano()%1_000_000_000)
	start := runTool(t, tb, home, probe, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "3", "-idle-timeout", "5m")
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
			runTool(t, tb, home, probe, "session", "stop", "-id", appID)
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
	const records = 100000
	summed := []string{fmt.Sprintf("probe.records = %d", records), fmt.Sprintf("probe.sum = %d", int64(records)*(records-1)/2)}

	// The first job runs on the session's one TaskManager; the RM fails
	// over once every subtask runs.
	job := startClient(t, tb, probe, home, nil, "run", "-t", "yarn-session", "-session", name,
		"-records", fmt.Sprint(records), "-stall-ms", "15000", "-parallelism", "2")
	job.waitOutput(t, regexp.MustCompile(`every subtask running or done \d+ ms after it was submitted`), 3*time.Minute)
	if n := len(containerDirs(tb, appID)); n != 2 {
		t.Errorf("before the failover the session ran %d containers, want 2 (the JobManager and one TaskManager)", n)
	}
	active := failover(t, ctx, tb)
	if job.exited() {
		t.Fatalf("the job ended before the failover was done: it did not run across it\n%s", job.out.String())
	}
	t.Logf("the RM failed over to %s with the job running", active)
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("the job running across the failover: exit %d", r.code)
	}
	for _, s := range summed {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("the job running across the failover did not report %q", s)
		}
	}

	// A job after the failover, by application id (the new active RM's
	// report finds the JobManager), on two TaskManagers: the session asks
	// the new RM for the second.
	after := runTool(t, tb, home, probe, "run", "-t", "yarn-session", "-session", appID, "-records", fmt.Sprint(records), "-parallelism", "4")
	if after.code != 0 {
		t.Fatalf("a job submitted after the failover: exit %d", after.code)
	}
	for _, s := range summed {
		if !strings.Contains(after.stdout, s) {
			t.Errorf("the job submitted after the failover did not report %q", s)
		}
	}
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
	list := runTool(t, tb, home, probe, "session", "list")
	if !regexp.MustCompile(name + `\s+` + appID + `\s+RUNNING\s+0 running, 2 in all`).MatchString(list.stdout) {
		t.Errorf("session list does not show %s %s RUNNING with 2 jobs:\n%s", name, appID, list.stdout)
	}

	stop := runTool(t, tb, home, probe, "session", "stop", "-name", name)
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	if rep, err := rm.ApplicationReport(ctx, id); err != nil || rep.State != yarn.ApplicationFinished || rep.FinalStatus != yarn.FinalSucceeded {
		t.Errorf("after stop: %s / %s (%v), want FINISHED / SUCCEEDED", rep.State, rep.FinalStatus, err)
	}
	checkStagingRemoved(t, tb, appID)
}

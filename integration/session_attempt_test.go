//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionJobManagerKilled: a session's JobManager process is
// SIGKILLed while a job runs in it, its client attached. YARN starts
// attempt 2, whose JobManager finds the job in the staging directory (its
// submission, graph and credentials, persisted in a file only the
// application's user reads), adopts the TaskManagers and runs the job
// again under its id; the client, following it, moves to the new
// JobManager and exits 0 with every record. The session then takes a new
// job, and stops FINISHED with its staging directory removed. Proven once,
// on the plain bed.
func TestSessionJobManagerKilled(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("a JobManager attempt failure is handled the same on every bed; proven once, on the plain bed")
	}
	home := t.TempDir()
	probe := runtimeProbe(t)
	name := fmt.Sprintf("k%d", time.Now().UnixNano()%1_000_000_000)
	start := runTool(t, tb, home, probe, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "2", "-tm-memory", "256")
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if start.code != 0 || m == nil {
		t.Fatalf("session start: exit %d", start.code)
	}
	appID := m[1]
	id, _ := yarn.ParseApplicationID(appID)
	rm := rmClient(t, tb, "alice", "")
	t.Cleanup(func() {
		if rep, err := rm.ApplicationReport(testContext(t, time.Minute), id); err == nil && !rep.State.IsFinal() {
			runTool(t, tb, home, probe, "session", "stop", "-id", appID)
		}
	})

	const records = 150000
	p := startClient(t, tb, probe, home, nil, "run", "-t", "yarn-session", "-session", name, "-records", fmt.Sprint(records), "-delay-ms", "50", "-parallelism", "2")
	p.waitOutput(t, regexp.MustCompile(`every subtask running or done`), 3*time.Minute)
	jms := containerProcesses(t, appID, "jobmanager")
	if len(jms) != 1 {
		t.Fatalf("%d JobManager processes, want 1", len(jms))
	}
	if err := syscall.Kill(jms[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	r := p.wait(t)
	if r.code != 0 {
		t.Fatalf("the job's client exited %d after the session's JobManager was killed", r.code)
	}
	t.Logf("the job finished %.1f s after the session's JobManager was killed", time.Since(killed).Seconds())
	for _, want := range []string{fmt.Sprintf("probe.records = %d", records), fmt.Sprintf("probe.sum = %d", int64(records)*(records-1)/2)} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the job's output lacks %q", want)
		}
	}
	atts, err := rm.ApplicationAttempts(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 {
		t.Errorf("%d attempts, want 2", len(atts))
	}
	// The session goes on.
	next := runTool(t, tb, home, probe, "run", "-t", "yarn-session", "-session", name, "-records", "10000", "-parallelism", "1")
	if next.code != 0 || !strings.Contains(next.stdout, "probe.records = 10000") {
		t.Fatalf("a job after the restart: exit %d", next.code)
	}
	stop := runTool(t, tb, home, probe, "session", "stop", "-name", name)
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	waitStagingRemoved(t, tb, appID, 30*time.Second)
}

//go:build integration

package integration

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestJobManagerKilled: the JobManager's process is SIGKILLed while an
// Application-mode (and then a Per-Job) job runs on two TaskManagers. YARN starts attempt 2,
// whose JobManager adopts the two TaskManagers (still running; they find
// its address in the staging directory and register again) instead of
// asking for new containers, runs the job again, and it finishes with
// every record; the client, attached throughout, exits 0. Proven once,
// on the plain bed.
func TestJobManagerKilled(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("a JobManager attempt failure is handled the same on every bed; proven once, on the plain bed")
	}
	for _, target := range []string{"yarn-application", "yarn-per-job"} {
		t.Run(target, func(t *testing.T) { jobManagerKilled(t, tb, target) })
	}
}

func jobManagerKilled(t *testing.T, tb *testbed.TestBed, target string) {
	const records = 200000
	p := startRuntimeProbe(t, tb, "-t", target, "-records", strconv.Itoa(records), "-delay-ms", "50", "-parallelism", "4")
	appID := recv(t, p, p.appID, "application id")
	url := recv(t, p, p.tracking, "tracking URL")
	waitAllRunning(t, url)
	tms := containerProcesses(t, appID, "taskmanager")
	jms := containerProcesses(t, appID, "jobmanager")
	if len(jms) != 1 || len(tms) != 2 {
		t.Fatalf("%d JobManager and %d TaskManager processes before the fault, want 1 and 2", len(jms), len(tms))
	}
	if err := syscall.Kill(jms[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d after the JobManager was killed, want 0", p.code)
	}
	t.Logf("the job finished %.1f s after its JobManager was killed", time.Since(killed).Seconds())
	for _, want := range []string{fmt.Sprintf("probe.records = %d", records), fmt.Sprintf("probe.sum = %d", int64(records)*(records-1)/2)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	id, _ := yarn.ParseApplicationID(appID)
	atts, err := rmClient(t, tb, "alice", "").ApplicationAttempts(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 {
		t.Errorf("%d ApplicationMaster attempts, want 2", len(atts))
	}
	// Two JobManagers and the two TaskManagers adopted: no new ones.
	if n := len(containerDirs(tb, appID)); n != 4 {
		t.Errorf("the application ran %d containers, want 4 (the JobManager of each attempt and the 2 TaskManagers attempt 2 adopted)", n)
	}
	checkStagingRemoved(t, tb, appID)
}

//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestAttachedClientKilled: an attached deployment is tied to its client
// by a heartbeat lease (-D client.heartbeat.timeout, 3 s here). A client
// that stays keeps its application running past many leases and the job
// succeeds; a client SIGKILLed right after it submitted (before the
// JobManager registered, usually) or while the job runs takes its
// application with it: the JobManager ends it FAILED one lease after the
// last heartbeat, saying why, with its staging directory removed and no
// container left. Proven once, on the plain bed.
func TestAttachedClientKilled(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the client lease is the same on every bed; proven once, on the plain bed")
	}
	lease := []string{"-D", "client.heartbeat.timeout=3000"}

	t.Run("client stays", func(t *testing.T) {
		// About 6 s of generating at parallelism 2, twice the lease.
		p := startRuntimeProbe(t, tb, append([]string{"-t", "yarn-application", "-records", "120000", "-delay-ms", "100", "-parallelism", "2"}, lease...)...)
		out := p.wait(t)
		if p.code != 0 {
			t.Fatalf("a job running past its lease with its client alive: exit %d", p.code)
		}
		if strings.Contains(out, "sent no heartbeat") {
			t.Error("the lease expired although the client heartbeated")
		}
	})

	for _, stage := range []string{"after submit", "while running"} {
		t.Run("killed "+stage, func(t *testing.T) {
			p := startRuntimeProbe(t, tb, append([]string{"-t", "yarn-application", "-records", "100000000", "-delay-ms", "1000", "-parallelism", "1"}, lease...)...)
			appID := recv(t, p, p.appID, "application id")
			if stage == "while running" {
				waitAllRunning(t, recv(t, p, p.tracking, "tracking URL"))
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed := time.Now()
			<-p.done
			id, err := yarn.ParseApplicationID(appID)
			if err != nil {
				t.Fatal(err)
			}
			ctx := testContext(t, 2*time.Minute)
			rm := rmClient(t, tb, "alice", "")
			var rep yarn.ApplicationReport
			for {
				if rep, err = rm.ApplicationReport(ctx, id); err != nil {
					t.Fatal(err)
				}
				if rep.State.IsFinal() {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s still %s 2 minutes after its client was killed", id, rep.State)
				case <-time.After(250 * time.Millisecond):
				}
			}
			t.Logf("%s ended %s/%s %.1f s after its client was killed %s", id, rep.State, rep.FinalStatus, time.Since(killed).Seconds(), stage)
			if rep.State != yarn.ApplicationFinished || rep.FinalStatus != yarn.FinalFailed {
				t.Errorf("%s ended %s/%s; want FINISHED/FAILED by its JobManager", id, rep.State, rep.FinalStatus)
			}
			if !strings.Contains(rep.Diagnostics, "the attached client sent no heartbeat") || !strings.Contains(rep.Diagnostics, "deploy with -d") {
				t.Errorf("the diagnostics do not say the client went away: %q", rep.Diagnostics)
			}
			// The JobManager removes it right after it unregistered.
			waitStagingRemoved(t, tb, appID, 30*time.Second)
			deadline := time.Now().Add(time.Minute)
			for len(containerProcesses(t, appID, "taskmanager"))+len(containerProcesses(t, appID, "jobmanager")) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s's container processes still run a minute after it ended", id)
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
}

// waitStagingRemoved waits up to d for appID's staging directory to go
// (an ApplicationMaster removes it just after it unregistered, so after
// the RM reports the application ended), then checks it is gone.
func waitStagingRemoved(t *testing.T, tb *testbed.TestBed, appID string, d time.Duration) {
	t.Helper()
	fs := hdfsClient(t, tb, "alice")
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := fs.Stat("/user/alice/.spindle/" + appID); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkStagingRemoved(t, tb, appID)
}

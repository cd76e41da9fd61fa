//go:build integration

package integration

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionAttachAnotherProcess: a session of runtimeprobe runs one job
// that finished and one that keeps running (its generator sleeps a second
// after every 1,000 records of 100 million). examples/launcher, a separate
// process holding none of the jobs' operators, with the starting client's
// SPINDLE_HOME (its record, so the deployment secret) lists the session,
// lists both jobs by the session's name and by its application id, cancels
// the running job by the session's name, and stops the session, which ends
// FINISHED / SUCCEEDED with no staging directory and no container process
// left. On the Kerberos bed the listing is done again, and the cancel and
// the stop are done, from an empty SPINDLE_HOME: another machine, with the
// ClientToAMToken the ResourceManager gives the owner. On the plain bed an
// empty SPINDLE_HOME is refused, saying what is missing.
func TestSessionAttachAnotherProcess(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("a client attaches to a session through the same RM client and control protocol on every bed; proven on the plain bed (the deployment secret) and the Kerberos bed (the ClientToAMToken)")
	}
	home := t.TempDir()
	probe, launcher := runtimeProbe(t), launcherBinary(t)
	rm := rmClient(t, tb, "alice", "")

	name := fmt.Sprintf("a%d", time.Now().UnixNano()%1_000_000_000)
	start := runTool(t, tb, home, probe, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "2", "-tm-memory", "256")
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if start.code != 0 || m == nil {
		t.Fatalf("session start: exit %d, no application id on a line of its own", start.code)
	}
	appID := m[1]
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever the test did, leave nothing running.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if rep, err := rm.ApplicationReport(ctx, id); err == nil && !rep.State.IsFinal() {
			runTool(t, tb, home, probe, "session", "stop", "-id", appID)
			rm.KillAndWait(ctx, id, "the test ended")
		}
	})

	// One job that finished, and one that keeps running.
	jobRE := regexp.MustCompile(`submitted job (\S+) to session ` + name + ` \(` + appID + `\)`)
	done := runTool(t, tb, home, probe, "run", "-t", "yarn-session", "-session", name, "-records", "10000", "-parallelism", "1")
	m = jobRE.FindStringSubmatch(done.stdout)
	if done.code != 0 || m == nil || !strings.Contains(done.stdout, "probe.records = 10000") {
		t.Fatalf("the short job: exit %d, want it submitted to the session and finished with every record", done.code)
	}
	finished := m[1]
	long := runTool(t, tb, home, probe, "run", "-t", "yarn-session", "-session", name, "-d",
		"-records", "100000000", "-delay-ms", "1000", "-parallelism", "1")
	m = jobRE.FindStringSubmatch(long.stdout)
	if long.code != 0 || m == nil {
		t.Fatalf("the long job: exit %d, want it submitted to the session detached", long.code)
	}
	running := m[1]
	if running == finished {
		t.Fatalf("both jobs have the id %s", running)
	}
	// Its two subtasks (generator and summer) run.
	finishedRow := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(finished) + `\s+runtimeprobe\s+finished\s+1\s+0/2/2\s+\d{4}-\d\d-\d\dT\S+Z\s+\S+\s+-$`)
	runningRow := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(running) + `\s+runtimeprobe\s+running\s+1\s+2/0/2\s+\d{4}-\d\d-\d\dT\S+Z\s+\S+\s+-$`)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := runTool(t, tb, home, launcher, "jobs", "-session", name)
		if r.code == 0 && runningRow.MatchString(r.stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs -session %s did not show job %s running both subtasks within 2 minutes (exit %d)", name, running, r.code)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Listing, from this machine's SPINDLE_HOME and, on Kerberos, from an
	// empty one.
	homes := []string{home}
	if tb.Ready.Kerberos != nil {
		homes = append(homes, t.TempDir())
	}
	for _, h := range homes {
		t.Logf("listing with SPINDLE_HOME %s (the starting client's: %v)", h, h == home)
		r := runTool(t, tb, h, launcher, "session", "list")
		if r.code != 0 || !regexp.MustCompile(`(?m)^`+name+`\s+`+appID+`\s+RUNNING\s+1 running, 2 in all$`).MatchString(r.stdout) {
			t.Errorf("session list (SPINDLE_HOME %s): exit %d, want %s %s RUNNING with 1 of 2 jobs running", h, r.code, name, appID)
		}
		for _, by := range [][]string{{"-session", name}, {"-session", appID}, {"-id", appID}} {
			r := runTool(t, tb, h, launcher, "jobs", by[0], by[1])
			if r.code != 0 || !finishedRow.MatchString(r.stdout) || !runningRow.MatchString(r.stdout) || !strings.HasPrefix(r.stdout, "JOB ") {
				t.Errorf("jobs %s %s (SPINDLE_HOME %s): exit %d, want the table with %s finished and %s running", by[0], by[1], h, r.code, finished, running)
			}
		}
	}
	if tb.Ready.Kerberos == nil {
		// Nothing but the record proves the right to the JobManager here.
		r := runTool(t, tb, t.TempDir(), launcher, "jobs", "-session", name)
		if r.code != 1 || !strings.Contains(r.stderr, "no record of "+appID) || !strings.Contains(r.stderr, "nor with a ClientToAMToken") {
			t.Errorf("jobs without the record on the plain bed: exit %d, want 1 saying neither the secret nor a ClientToAMToken is at hand", r.code)
		}
	}
	// Bad names are refused, naming the fix.
	r := runTool(t, tb, home, launcher, "jobs", "-session", "nosuch"+name)
	if r.code != 1 || !strings.Contains(r.stderr, `no running session named "nosuch`+name+`"`) || !strings.Contains(r.stderr, "session list") {
		t.Errorf("jobs -session of an unknown name: exit %d, want 1 pointing at session list", r.code)
	}
	unknown := yarn.ApplicationID{ClusterTimestamp: id.ClusterTimestamp, ID: 999999}
	for _, by := range []string{"-id", "-session"} {
		r = runTool(t, tb, home, launcher, "jobs", by, unknown.String())
		if r.code != 1 || !strings.Contains(r.stderr, by+" "+unknown.String()+": the ResourceManager does not know this application") {
			t.Errorf("jobs %s of an unknown application: exit %d, want 1 saying the RM does not know it", by, r.code)
		}
	}
	r = runTool(t, tb, home, launcher, "cancel", "-session", name, "-id", appID)
	if r.code != 2 || !strings.Contains(r.stderr, "give one of them") {
		t.Errorf("cancel with -session and -id: exit %d, want 2", r.code)
	}

	// Cancel the running job by the session's name: from this machine on
	// the plain bed, from elsewhere (the ClientToAMToken) on Kerberos.
	ctl := homes[len(homes)-1]
	t.Logf("cancelling and stopping with SPINDLE_HOME %s (the starting client's: %v)", ctl, ctl == home)
	r = runTool(t, tb, ctl, launcher, "cancel", "-session", name, "-job", running)
	if r.code != 0 || !strings.Contains(r.stdout, "cancelling job "+running+" of "+appID) || !strings.Contains(r.stdout, "job "+running+" canceled") {
		t.Fatalf("cancel -session %s -job %s: exit %d, want the job canceled", name, running, r.code)
	}
	canceledRow := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(running) + `\s+runtimeprobe\s+canceled\s+\d+\s+0/\d/2\s+\S+\s+\S+\s+-$`)
	r = runTool(t, tb, ctl, launcher, "jobs", "-id", appID)
	if r.code != 0 || !canceledRow.MatchString(r.stdout) || !finishedRow.MatchString(r.stdout) {
		t.Errorf("jobs after the cancel: exit %d, want %s canceled and %s still finished", r.code, running, finished)
	}
	r = runTool(t, tb, ctl, launcher, "cancel", "-session", name, "-job", running)
	if r.code != 1 || !strings.Contains(r.stderr, "has already ended") {
		t.Errorf("a second cancel of %s: exit %d, want 1 saying it has ended", running, r.code)
	}
	if rep, err := rm.ApplicationReport(testContext(t, time.Minute), id); err != nil || rep.State != yarn.ApplicationRunning {
		t.Fatalf("the session after its job was cancelled: %s, %v; want it RUNNING", rep.State, err)
	}
	if n := len(containerProcesses(t, appID, "jobmanager")); n != 1 {
		t.Errorf("%d JobManager processes of the running session, want 1", n)
	}
	if n := len(containerProcesses(t, appID, "taskmanager")); n < 1 {
		t.Errorf("no TaskManager process of the running session (its minimum is 1)")
	}

	// Stop the session by name, through its JobManager.
	stop := runTool(t, tb, ctl, launcher, "session", "stop", "-name", name)
	if stop.code != 0 || !strings.Contains(stop.stdout, "session "+name+" ("+appID+") stopped: FINISHED, final status SUCCEEDED") ||
		strings.Contains(stop.stderr, "killing") {
		t.Fatalf("session stop -name %s: exit %d, want it FINISHED / SUCCEEDED through its JobManager", name, stop.code)
	}
	rep, err := rm.ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != yarn.ApplicationFinished || rep.FinalStatus != yarn.FinalSucceeded || !strings.Contains(rep.Diagnostics, "stopped after 2 job(s)") ||
		!strings.Contains(rep.Diagnostics, "job "+running+" (runtimeprobe) canceled") || !strings.Contains(rep.Diagnostics, "job "+finished+" (runtimeprobe) finished") {
		t.Errorf("the RM reports %s / %s: %q; want FINISHED / SUCCEEDED after 2 jobs, one canceled and one finished", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	checkStagingRemoved(t, tb, appID)
	// The NodeManagers stop the containers once the application ends.
	deadline = time.Now().Add(time.Minute)
	for {
		left := append(containerProcesses(t, appID, "jobmanager"), containerProcesses(t, appID, "taskmanager")...)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container processes %v of %s still run a minute after the session stopped", left, appID)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// And jobs of the ended session says so.
	r = runTool(t, tb, home, launcher, "jobs", "-id", appID)
	if r.code != 1 || !strings.Contains(r.stderr, appID+" has ended (FINISHED, final status SUCCEEDED)") || !strings.Contains(r.stderr, "attach -id "+appID) {
		t.Errorf("jobs of the ended session: exit %d, want 1 naming the end and attach", r.code)
	}
	r = runTool(t, tb, home, launcher, "jobs", "-session", appID)
	if r.code != 1 || !strings.Contains(r.stderr, "session "+appID+" has ended") {
		t.Errorf("jobs -session of the ended session: exit %d, want 1 saying it has ended", r.code)
	}
}

//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The commands every Spindle program gets besides run (list, attach,
// cancel, stop, logs), through examples/launcher, on applications of
// integration/cmd/slowjob, whose one job blocks until cancelled.

var (
	toolMu    sync.Mutex
	toolPaths = map[string]string{}
)

// toolBinary builds the command pkg once per test binary.
func toolBinary(t testing.TB, pkg string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if p, ok := toolPaths[pkg]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "spindle-tool-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", p, pkg).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	toolPaths[pkg] = p
	return p
}

type toolRun struct {
	code           int
	stdout, stderr string
}

// runTool runs bin as alice (from her keytab on the Kerberos bed) with
// SPINDLE_HOME=home: sub is the command, given the login flags.
func runTool(t *testing.T, tb *testbed.TestBed, home, bin, sub string, args ...string) toolRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	all := append([]string{sub}, args...)
	if k := tb.Ready.Kerberos; k != nil {
		all = append(all, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+home)
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := toolRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && r.code < 0 {
		t.Fatalf("%s %s did not finish: %v\n%s%s", filepath.Base(bin), sub, err, r.stdout, r.stderr)
	}
	t.Logf("%s %s: exit %d\nstdout:\n%sstderr:\n%s", filepath.Base(bin), strings.Join(all, " "), r.code, r.stdout, r.stderr)
	return r
}

func launcherBinary(t testing.TB) string {
	return toolBinary(t, "github.com/spindle-yarn/spindle/examples/launcher")
}

// submitSlowjob submits slowjob detached in target mode with its record in
// home, and waits until its job's subtask runs.
func submitSlowjob(t *testing.T, tb *testbed.TestBed, home, target string) yarn.ApplicationID {
	t.Helper()
	r := runTool(t, tb, home, toolBinary(t, "github.com/spindle-yarn/spindle/integration/cmd/slowjob"), "run",
		"-t", target, "-d", "-parallelism", "1", "-tm-memory", "256")
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("slowjob run: exit %d, no application id on stdout", r.code)
	}
	id, err := yarn.ParseApplicationID(m[1])
	if err != nil {
		t.Fatal(err)
	}
	rm := rmClient(t, tb, "alice", "")
	t.Cleanup(func() {
		// Whatever the test did, leave nothing running.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if rep, err := rm.ApplicationReport(ctx, id); err == nil && !rep.State.IsFinal() {
			rm.KillAndWait(ctx, id, "the test ended")
		}
	})
	fi, err := os.Stat(filepath.Join(home, "applications", id.String()+".json"))
	if err != nil {
		t.Fatalf("no local record after the submission: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("record mode %04o, want 0600", perm)
	}
	waitJobRunning(t, tb, id)
	return id
}

// waitJobRunning waits until the JobManager's tracking page shows a job
// whose subtask runs.
func waitJobRunning(t *testing.T, tb *testbed.TestBed, id yarn.ApplicationID) {
	t.Helper()
	ctx := testContext(t, 3*time.Minute)
	rm := rmClient(t, tb, "alice", "")
	hc := &http.Client{Timeout: 5 * time.Second}
	var last string
	for {
		rep, err := rm.ApplicationReport(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rep.State.IsFinal() {
			t.Fatalf("%s ended (%s, %s) before its job ran: %s", id, rep.State, rep.FinalStatus, rep.Diagnostics)
		}
		if u := rep.OriginalTrackingURL; rep.State == yarn.ApplicationRunning && strings.HasPrefix(u, "http") {
			if resp, err := hc.Get(strings.TrimSuffix(u, "/") + "/api/status"); err == nil {
				var st struct {
					Jobs []struct {
						State    string `json:"state"`
						Subtasks struct {
							Running int `json:"running"`
						} `json:"subtasks"`
					} `json:"jobs"`
				}
				json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				if len(st.Jobs) == 1 && st.Jobs[0].State == "running" && st.Jobs[0].Subtasks.Running == 1 {
					return
				}
				last = fmt.Sprintf("%+v", st)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the job of %s did not run within 3 minutes (last status %s)", id, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// writeWrongRecord writes a record of id holding a secret of no deployment.
func writeWrongRecord(t *testing.T, home string, id yarn.ApplicationID) {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	dir := filepath.Join(home, "applications")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b := fmt.Sprintf(`{"app_id":%q,"name":"slowjob","mode":"application","secret":%q}`, id.String(), base64.StdEncoding.EncodeToString(secret))
	if err := os.WriteFile(filepath.Join(dir, id.String()+".json"), []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLauncherCancel: list shows a running slowjob; a client with a wrong
// secret, or with no record, cannot cancel its job; logs prints the
// JobManager's and TaskManager's logs (plain bed: a secure NodeManager
// without native code serves no log contents); the submitting machine's
// cancel ends the job, the application then ends FAILED, which an attached
// client reports, and nothing is left behind.
func TestLauncherCancel(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("the commands speak to the RM through the same client on every bed; proven on the plain and Kerberos beds")
	}
	t.Parallel()
	launcher := launcherBinary(t)
	home := t.TempDir()
	id := submitSlowjob(t, tb, home, "yarn-application")

	r := runTool(t, tb, home, launcher, "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^`+id.String()+`\s+slowjob\s+RUNNING\s+UNDEFINED\s+http`).MatchString(r.stdout) {
		t.Errorf("list: exit %d, no line of %s slowjob RUNNING", r.code, id)
	}

	wrong := t.TempDir()
	writeWrongRecord(t, wrong, id)
	r = runTool(t, tb, wrong, launcher, "cancel", "-id", id.String())
	if r.code == 0 || !strings.Contains(r.stderr, "do not share the deployment secret") || !strings.Contains(r.stderr, "TLS handshake") {
		t.Errorf("cancel with a wrong secret: exit %d, want a refusal in the TLS handshake", r.code)
	}
	// Without a record: on a cluster without Kerberos nothing else proves
	// the right to cancel. (On Kerberos the owner's ClientToAMToken does:
	// TestSessionClientToAMToken.)
	if tb.Ready.Kerberos == nil {
		r = runTool(t, tb, t.TempDir(), launcher, "cancel", "-id", id.String(), "-job", "job-nosuch")
		if r.code == 0 || !strings.Contains(r.stderr, "this machine did not submit "+id.String()) || !strings.Contains(r.stderr, "stop -id "+id.String()) {
			t.Errorf("cancel without a record: exit %d, want the no-record explanation", r.code)
		}
	}
	r = runTool(t, tb, home, launcher, "cancel", "-id", id.String(), "-job", "job-nosuch")
	if r.code == 0 || !strings.Contains(r.stderr, "-job job-nosuch") || !strings.Contains(r.stderr, "no such job") {
		t.Errorf("cancel of an unknown job: exit %d, want the 404 explained", r.code)
	}
	waitJobRunning(t, tb, id) // none of those touched the job

	if tb.Ready.Kerberos != nil {
		// SPNEGO lists the files, but a secure NodeManager without native
		// code serves no contents (see TestContainerLogFromNodeManager).
		r = runTool(t, tb, home, launcher, "logs", "-id", id.String())
		if r.code != 1 || !strings.Contains(r.stdout, "jobmanager.err: not readable") || !strings.Contains(r.stderr, "could not be read") {
			t.Errorf("logs on the Kerberos bed: exit %d, want the JobManager's file listed and its read refused", r.code)
		}
	} else {
		r = runTool(t, tb, home, launcher, "logs", "-id", id.String())
		for _, s := range []string{"==> JobManager container_", "jobmanager.err", "slowjob: submitting the job",
			"==> TaskManager container_", "taskmanager.stderr", "subtask running"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("logs lack %q", s)
			}
		}
		if r.code != 0 {
			t.Errorf("logs: exit %d", r.code)
		}
	}

	// An attached client follows it to its end.
	attach := exec.Command(launcher, "attach", "-id", id.String())
	if k := tb.Ready.Kerberos; k != nil {
		attach.Args = append(attach.Args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	attach.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+t.TempDir())
	if k := tb.Ready.Kerberos; k != nil {
		attach.Env = append(attach.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	var attachOut lockedBuffer
	attach.Stdout, attach.Stderr = &attachOut, &attachOut
	if err := attach.Start(); err != nil {
		t.Fatal(err)
	}
	attachDone := make(chan error, 1)
	go func() { attachDone <- attach.Wait() }()
	waitOutput(t, &attachOut, "attached to "+id.String())

	r = runTool(t, tb, home, launcher, "cancel", "-id", id.String())
	if r.code != 0 || !strings.Contains(r.stdout, "cancelling job job-1 of "+id.String()) || !strings.Contains(r.stdout, "job job-1 canceled") {
		t.Errorf("cancel: exit %d, want job-1 cancelled", r.code)
	}
	c, err := rmClient(t, tb, "alice", "").WaitForCompletion(testContext(t, 2*time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep := c.Report; rep.State != yarn.ApplicationFinished || rep.FinalStatus != yarn.FinalFailed || !strings.Contains(rep.Diagnostics, "canceled") {
		t.Errorf("after the cancel %s ended %s / %s: %q; want FINISHED / FAILED with the job canceled", id, rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	select {
	case err := <-attachDone:
		out := attachOut.String()
		t.Logf("attach: %v\n%s", err, out)
		if attach.ProcessState.ExitCode() != 1 || !strings.Contains(out, "final status FAILED") || !strings.Contains(out, "job job-1 canceled") {
			t.Errorf("attach exited %d; want 1 with the final status and the job's result", attach.ProcessState.ExitCode())
		}
	case <-time.After(2 * time.Minute):
		attach.Process.Kill()
		t.Errorf("attach did not end with the application:\n%s", attachOut.String())
	}

	r = runTool(t, tb, home, launcher, "list", "-all")
	if !regexp.MustCompile(`(?m)^` + id.String() + `\s+slowjob\s+FINISHED\s+FAILED`).MatchString(r.stdout) {
		t.Errorf("list -all lacks %s FINISHED FAILED", id)
	}
	if _, err := os.Stat(filepath.Join(home, "applications", id.String()+".json")); !os.IsNotExist(err) {
		t.Errorf("the record of the ended %s is still there (stat: %v)", id, err)
	}
	checkStagingRemoved(t, tb, id.String())

	if tb.Ready.Kerberos == nil {
		// Ended, the RM lists no containers: the JobManager's log names its
		// TaskManagers.
		r = runTool(t, tb, home, launcher, "logs", "-id", id.String())
		for _, s := range []string{"==> JobManager container_", "cancelled by a client", "==> TaskManager container_", "subtask running"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("logs of the ended application lack %q", s)
			}
		}
	}
}

// waitOutput waits until b holds s.
func waitOutput(t *testing.T, b *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in 2 minutes:\n%s", s, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLauncherStop: stop without the deployment's record kills a Per-Job
// slowjob through the RM and removes its staging directory; with the
// record it cancels the job first; usage errors name the flag.
func TestLauncherStop(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("stop is an RM kill and a control call, proven on the plain bed; TestLauncherCancel covers the Kerberos login")
	}
	t.Parallel()
	launcher := launcherBinary(t)
	home := t.TempDir()
	id := submitSlowjob(t, tb, home, "yarn-per-job")

	r := runTool(t, tb, home, launcher, "stop", "-id", id.String(), "-status", "DONE")
	if r.code != 2 || !strings.Contains(r.stderr, `-status "DONE" is not a final status`) {
		t.Errorf("stop -status DONE: exit %d, want 2 naming the flag and the fix", r.code)
	}
	// Another machine cannot ask for a status only the JobManager can set.
	r = runTool(t, tb, t.TempDir(), launcher, "stop", "-id", id.String(), "-status", "FAILED")
	if r.code != 1 || !strings.Contains(r.stderr, "-status FAILED needs the JobManager") {
		t.Errorf("stop -status FAILED without a record: exit %d, want 1 naming what is missing", r.code)
	}
	r = runTool(t, tb, home, launcher, "stop")
	if r.code != 2 || !strings.Contains(r.stderr, "-id is required") {
		t.Errorf("stop without -id: exit %d, want 2 naming -id", r.code)
	}

	// Another machine: no record, so no cancel first; the RM kills it.
	r = runTool(t, tb, t.TempDir(), launcher, "stop", "-id", id.String())
	if r.code != 0 || !strings.Contains(r.stdout, id.String()+" stopped: KILLED, final status KILLED") {
		t.Errorf("stop: exit %d, want KILLED", r.code)
	}
	rep, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != yarn.ApplicationKilled {
		t.Errorf("after stop the RM reports %s / %s", rep.State, rep.FinalStatus)
	}
	checkStagingRemoved(t, tb, id.String())
	// Stopping what has ended says so and succeeds.
	r = runTool(t, tb, home, launcher, "stop", "-id", id.String())
	if r.code != 0 || !strings.Contains(r.stdout, "stopped: KILLED") {
		t.Errorf("second stop: exit %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(home, "applications", id.String()+".json")); !os.IsNotExist(err) {
		t.Errorf("stop left the record of %s (stat: %v)", id, err)
	}

	// With the record: the JobManager cancels the job and unregisters with
	// the final status asked for.
	for _, status := range []string{"FAILED", "SUCCEEDED"} {
		id = submitSlowjob(t, tb, home, "yarn-per-job")
		r = runTool(t, tb, home, launcher, "stop", "-id", id.String(), "-status", status)
		if r.code != 0 || !strings.Contains(r.stdout, "asked the JobManager of "+id.String()+" to stop with final status "+status) ||
			!strings.Contains(r.stdout, id.String()+" stopped: FINISHED, final status "+status) {
			t.Errorf("stop -status %s with the record: exit %d", status, r.code)
		}
		rep, err = rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
		if err != nil {
			t.Fatal(err)
		}
		if rep.State != yarn.ApplicationFinished || rep.FinalStatus.String() != status {
			t.Errorf("after stop -status %s the RM reports %s / %s", status, rep.State, rep.FinalStatus)
		}
		checkStagingRemoved(t, tb, id.String())
	}
}

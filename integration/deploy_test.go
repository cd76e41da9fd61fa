//go:build integration

package integration

import (
	"bufio"
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The client side of Application and Per-Job modes (modes/internal/deploy
// and cli), driven through deployprobe: a miniature Spindle program whose
// JobManager reports in the application's diagnostics what it received.

var (
	probeOnce sync.Once
	probePath string
	probeErr  error
)

// deployProbe builds modes/internal/deploy/deployprobe once per test
// binary (an internal package: tests outside modes/ run it, they cannot
// import it).
func deployProbe(t testing.TB) string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-deployprobe-")
		if err != nil {
			probeErr = err
			return
		}
		probePath = filepath.Join(dir, "deployprobe")
		if out, err := exec.Command("go", "build", "-o", probePath, "github.com/spindle-yarn/spindle/modes/internal/deploy/deployprobe").CombinedOutput(); err != nil {
			probeErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if probeErr != nil {
		t.Fatalf("building deployprobe: %v", probeErr)
	}
	return probePath
}

// probeRun is a running `deployprobe run` as alice (from her keytab on the
// Kerberos bed).
type probeRun struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   strings.Builder
	lines chan string
	done  chan struct{}
}

func startProbe(t *testing.T, tb *testbed.TestBed, args ...string) *probeRun {
	t.Helper()
	return startProbeCommand(t, tb, "run", args...)
}

// startProbeCommand starts `deployprobe sub args...` as alice.
func startProbeCommand(t *testing.T, tb *testbed.TestBed, sub string, args ...string) *probeRun {
	t.Helper()
	var login []string
	if k := tb.Ready.Kerberos; k != nil {
		login = []string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
	}
	return startProbeLoggedIn(t, tb, login, sub, args...)
}

// startProbeLoggedIn starts `deployprobe sub login... args...`.
func startProbeLoggedIn(t *testing.T, tb *testbed.TestBed, login []string, sub string, args ...string) *probeRun {
	t.Helper()
	args = append(append([]string{sub}, login...), args...)
	cmd := exec.Command(deployProbe(t), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &probeRun{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// wait waits for the probe to exit and returns its exit code and output.
func (p *probeRun) wait(t *testing.T) (int, string) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { <-p.done; exited <- p.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(4 * time.Minute):
		p.cmd.Process.Kill()
		<-exited
		t.Fatalf("deployprobe did not end within 4 minutes:\n%s", p.output())
	}
	out := p.output()
	t.Logf("deployprobe %s: exit %d\n%s", strings.Join(p.cmd.Args[1:], " "), p.cmd.ProcessState.ExitCode(), out)
	return p.cmd.ProcessState.ExitCode(), out
}

func (p *probeRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitLine waits for a line of output containing s.
func (p *probeRun) waitLine(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-p.done:
			t.Fatalf("deployprobe ended without printing %q:\n%s", s, p.output())
		case <-deadline:
			t.Fatalf("deployprobe printed no %q within 3 minutes:\n%s", s, p.output())
		}
	}
}

// checkNoStaging: the application left no staging directory in HDFS.
func checkNoStaging(t *testing.T, tb *testbed.TestBed, out string) string {
	t.Helper()
	id := appIDPattern.FindString(out)
	if id == "" {
		t.Fatalf("no application id in the output:\n%s", out)
	}
	fs := stagingClient(t, tb, "alice", nil)
	if _, err := fs.Stat(testContext(t, time.Minute), fs.StagingDir(id)); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("staging directory %s is left (stat: %v)", fs.StagingDir(id), err)
	}
	return id
}

// hdfsTokens is how many HDFS delegation tokens a deployment's
// containers get: one on the Kerberos bed, none where simple
// authentication needs none.
func hdfsTokens(tb *testbed.TestBed) string {
	if tb.Ready.Kerberos != nil {
		return "1"
	}
	return "0"
}

// TestDeployApplicationMode: an attached Application-mode deployment
// reaches a JobManager that holds the spec exactly as sent (arguments and
// -D values with spaces, quotes and $), the 32-byte secret and, with
// Kerberos, the HDFS delegation token in its credentials, and the binary; Follow prints the JobManager's status line
// and the final status, and nothing is left in HDFS.
func TestDeployApplicationMode(t *testing.T) {
	tb := testbed.Get(t)
	p := startProbe(t, tb, "-t", "yarn-application", "-name", "deploy-probe", "-tags", "spindle-test",
		"-D", "k=v", "-D", `probe.x=a "b" $c`, "-timeout", "3m", "--", "-x", "y z")
	code, out := p.wait(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{
		"running: JobManager on",
		"job probe (probe-job) RUNNING, subtasks 1 running, 0 finished of 1, 0 TaskManagers, 7 records out",
		"ended: FINISHED, final status SUCCEEDED",
		`probe: mode=application args=[-x y z] secret=32 bytes hdfs_tokens=` + hdfsTokens(tb) + ` graph=0 bytes config=k=v,probe.x=a "b" $c resources=program`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	id := checkNoStaging(t, tb, out)
	appID, err := yarn.ParseApplicationID(id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "SPINDLE" || r.Name != "deploy-probe" || !strings.Contains(strings.Join(r.Tags, ","), "spindle-test") {
		t.Errorf("report: type %q, name %q, tags %v; want SPINDLE, deploy-probe, [spindle-test]", r.Type, r.Name, r.Tags)
	}
}

// TestDeployPerJobMode: the encoded graph and a shipped file reach the
// JobManager next to the binary.
func TestDeployPerJobMode(t *testing.T) {
	tb := testbed.Get(t)
	extra := filepath.Join(t.TempDir(), "extra.txt")
	if err := os.WriteFile(extra, []byte("shipped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProbe(t, tb, "-t", "yarn-per-job", "-ship", extra, "-timeout", "3m")
	code, out := p.wait(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	want := "probe: mode=per-job args=[] secret=32 bytes hdfs_tokens=" + hdfsTokens(tb) + " graph=17 bytes config= resources=extra.txt,job.graph,program"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	checkNoStaging(t, tb, out)
}

// TestDeployRefusedLeavesNothing: a queue the scheduler lacks and
// containers larger than the largest it grants are refused with the flag
// to change, before anything is staged; a submission the ResourceManager
// refuses after staging (a node label on a cluster without node labels,
// as all but the profiles bed are) leaves no staging directory either.
func TestDeployRefusedLeavesNothing(t *testing.T) {
	tb := testbed.Get(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		// The RM would refuse the label only at submit, after staging;
		// Deploy checks it first.
		{"unknown node label", []string{"-node-label", "no-such-label"}, `-node-label "no-such-label": no running NodeManager carries a node label; drop -node-label`},
		{"unknown queue", []string{"-queue", "no-such-queue"}, `-queue "no-such-queue": the scheduler has no such queue; use one of: `},
		{"jobmanager too large", []string{"-jm-memory", "99999999"}, "the JobManager's 99999999 MB exceed the largest container the scheduler grants"},
		{"taskmanager too large", []string{"-tm-vcores", "9999"}, "lower -tm-vcores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProbe(t, tb, append([]string{"-t", "yarn-application", "-timeout", "2m"}, tc.args...)...)
			code, out := p.wait(t)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q", tc.want)
			}
			if slices.Contains(tc.args, "-v") && !strings.Contains(out, "msg=staged") {
				t.Error("the log shows no staging: the test proves nothing about its removal")
			}
			if strings.Contains(out, "submitted application_") {
				t.Error("the application was submitted")
			}
			checkNoStaging(t, tb, out)
		})
	}
}

// TestDeployInterruptKills: Ctrl-C while following kills the application,
// waits for it, and removes its staging directory (the JobManager, killed,
// cannot).
func TestDeployInterruptKills(t *testing.T) {
	tb := testbed.Get(t)
	p := startProbe(t, tb, "-t", "yarn-application", "-D", "probe.hang=true", "-timeout", "3m")
	p.waitLine(t, "running: JobManager on")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, out := p.wait(t)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "killed (context canceled)") {
		t.Errorf("output lacks %q", "killed (context canceled)")
	}
	id := checkNoStaging(t, tb, out)
	appID, err := yarn.ParseApplicationID(id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != yarn.ApplicationKilled {
		t.Errorf("state %v, want KILLED", r.State)
	}
}

// TestDeployDetachedThenAttach: a detached run prints the application id
// on a line of its own and exits at once, leaving the staging directory
// to the application; attach follows it to its end and removes it; list
// shows it.
func TestDeployDetachedThenAttach(t *testing.T) {
	tb := testbed.Get(t)
	code, out := startProbe(t, tb, "-t", "yarn-application", "-d", "-timeout", "2m").wait(t)
	if code != 0 {
		t.Fatalf("detached run: exit %d, want 0", code)
	}
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line holding only the application id in:\n%s", out)
	}
	fs := stagingClient(t, tb, "alice", nil)
	if _, err := fs.Stat(testContext(t, time.Minute), fs.StagingDir(m[1])); err != nil {
		t.Errorf("the detached client removed the staging directory the application needs: %v", err)
	}
	code, out = startProbeCommand(t, tb, "attach", m[1]).wait(t)
	if code != 0 {
		t.Fatalf("attach: exit %d, want 0", code)
	}
	if want := "ended: FINISHED, final status SUCCEEDED"; !strings.Contains(out, want) {
		t.Errorf("attach output lacks %q", want)
	}
	checkNoStaging(t, tb, out)

	// ListApplications finds it among the SPINDLE applications, and only
	// those.
	code, out = startProbeCommand(t, tb, "list").wait(t)
	if code != 0 {
		t.Fatalf("list: exit %d, want 0", code)
	}
	if !strings.Contains(out, m[1]+" SPINDLE FINISHED SUCCEEDED deployprobe\n") {
		t.Errorf("list lacks %q", m[1]+" SPINDLE FINISHED SUCCEEDED deployprobe")
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) < 2 || f[1] != "SPINDLE" {
			t.Errorf("list shows %q, not a SPINDLE application", l)
		}
	}
}

// TestDeployProxyUser: the bed's service principal, allowed to
// impersonate, deploys for bob with -proxy-user: the application and its
// HDFS token are bob's, and bob's staging directory is removed.
func TestDeployProxyUser(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	login := []string{"-keytab", filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"), "-principal", k.ServicePrincipal}
	code, out := startProbeLoggedIn(t, tb, login, "run", "-t", "yarn-per-job", "-proxy-user", "bob", "-timeout", "3m").wait(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if want := "secret=32 bytes hdfs_tokens=1 graph=17 bytes"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	id := appIDPattern.FindString(out)
	appID, err := yarn.ParseApplicationID(id)
	if err != nil {
		t.Fatalf("no application id in the output: %v", err)
	}
	r, err := rmClient(t, tb, "bob", "").ApplicationReport(testContext(t, time.Minute), appID)
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "bob" {
		t.Errorf("the application's user is %q, want bob", r.User)
	}
	fs := stagingClient(t, tb, "bob", nil)
	if dir := fs.StagingDir(id); !strings.HasPrefix(dir, "/user/bob/") {
		t.Errorf("bob's staging directory is %s", dir)
	} else if _, err := fs.Stat(testContext(t, time.Minute), dir); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("staging directory %s is left (stat: %v)", dir, err)
	}
}

// TestDeployAttachInterruptLeavesRunning: Ctrl-C while attached to an
// application a detached client started stops following only; the
// application keeps running.
func TestDeployAttachInterruptLeavesRunning(t *testing.T) {
	tb := testbed.Get(t)
	code, out := startProbe(t, tb, "-t", "yarn-application", "-d", "-D", "probe.hang=true", "-timeout", "2m").wait(t)
	if code != 0 {
		t.Fatalf("detached run: exit %d, want 0", code)
	}
	id, err := yarn.ParseApplicationID(appIDPattern.FindString(out))
	if err != nil {
		t.Fatalf("no application id in the output: %v", err)
	}
	rm := rmClient(t, tb, "alice", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rm.KillAndWait(ctx, id, "TestDeployAttachInterruptLeavesRunning is done")
		stagingClient(t, tb, "alice", nil).RemoveStaging(ctx, id.String())
	})
	p := startProbeCommand(t, tb, "attach", id.String())
	p.waitLine(t, "running: JobManager on")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, out = p.wait(t)
	if code != 1 {
		t.Errorf("attach: exit %d, want 1", code)
	}
	if want := "left running (context canceled)"; !strings.Contains(out, want) {
		t.Errorf("attach output lacks %q", want)
	}
	r, err := rm.ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != yarn.ApplicationRunning {
		t.Errorf("state %v after the attached client stopped, want RUNNING", r.State)
	}
}

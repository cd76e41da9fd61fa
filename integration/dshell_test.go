//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

var (
	dshellOnce sync.Once
	dshellPath string
	dshellErr  error
)

// dshellBinary builds examples/dshell once per test binary.
func dshellBinary(t testing.TB) string {
	t.Helper()
	dshellOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-dshell-")
		if err != nil {
			dshellErr = err
			return
		}
		dshellPath = filepath.Join(dir, "dshell")
		out, err := exec.Command("go", "build", "-o", dshellPath, "github.com/spindle-yarn/spindle/examples/dshell").CombinedOutput()
		if err != nil {
			dshellErr = err
			t.Logf("go build: %s", out)
		}
	})
	if dshellErr != nil {
		t.Fatalf("building dshell: %v", dshellErr)
	}
	return dshellPath
}

type dshellRun struct {
	out   string
	code  int
	appID string
}

// runDshell runs dshell as alice (from her keytab on the Kerberos bed).
func runDshell(t *testing.T, tb *testbed.TestBed, args ...string) dshellRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if k := tb.Ready.Kerberos; k != nil {
		args = append([]string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}, args...)
	}
	cmd := exec.CommandContext(ctx, dshellBinary(t), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r := dshellRun{out: buf.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil && r.code < 0 {
		t.Fatalf("dshell did not finish: %v\n%s", err, r.out)
	}
	if m := regexp.MustCompile(`submitted (application_\d+_\d+)`).FindStringSubmatch(r.out); m != nil {
		r.appID = m[1]
	}
	t.Logf("dshell %s: exit %d\n%s", strings.Join(args, " "), r.code, r.out)
	return r
}

// checkStagingRemoved: dshell leaves nothing in HDFS.
func checkStagingRemoved(t *testing.T, tb *testbed.TestBed, appID string) {
	t.Helper()
	if appID == "" {
		t.Fatal("dshell printed no application id")
	}
	fs := hdfsClient(t, tb, "alice")
	p := path.Join("/user/alice/.spindle", appID)
	if _, err := fs.Stat(p); !os.IsNotExist(err) {
		t.Errorf("staging directory %s still there after dshell ended (stat: %v)", p, err)
	}
}

// TestDshellTrue: 8 containers of /bin/true succeed, at every protection
// level the test bed offers, with progress printed and staging removed.
func TestDshellTrue(t *testing.T) {
	tb := testbed.Get(t)
	for _, prot := range protections(tb) {
		t.Run("protection="+prot, func(t *testing.T) {
			args := []string{"-n", "8"}
			if prot != "" {
				args = append(args, "-rpc-protection", prot)
			}
			r := runDshell(t, tb, append(args, "--", "/bin/true")...)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0", r.code)
			}
			for _, want := range []string{"ApplicationMaster running on", "8 allocated", "FINISHED / SUCCEEDED", "8 of 8 containers exited 0"} {
				if !strings.Contains(r.out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			checkStagingRemoved(t, tb, r.appID)
		})
	}
}

// TestDshellFailingContainers: when some containers fail, dshell exits
// non-zero and names each failed container with its exit status and
// diagnostics.
func TestDshellFailingContainers(t *testing.T) {
	tb := testbed.Get(t)
	// Containers whose sequence number is odd fail with 3. Sequence 1 is
	// the AM, so workers 2..9 give four odd ones.
	r := runDshell(t, tb, "-n", "8", "--", "sh", "-c", `case $CONTAINER_ID in *[13579]) echo odd-container-failed >&2; exit 3;; esac`)
	if r.code == 0 {
		t.Fatal("exit 0, want non-zero")
	}
	if !strings.Contains(r.out, "FINISHED / FAILED") || !strings.Contains(r.out, "4 of 8 containers exited 0") {
		t.Errorf("output does not report 4 of 8 failed")
	}
	failed := regexp.MustCompile(`container_\S+ on \S+: exit status 3: `).FindAllString(r.out, -1)
	if len(failed) != 4 {
		t.Errorf("%d failed containers listed with exit status 3, want 4", len(failed))
	}
	if !strings.Contains(r.out, "odd-container-failed") {
		t.Error("the failed containers' stderr is not in the diagnostics")
	}
	checkStagingRemoved(t, tb, r.appID)
}

// TestDshellShip: shipped files and directories land byte-identical in
// every container's working directory.
func TestDshellShip(t *testing.T) {
	tb := testbed.Get(t)
	dir := t.TempDir()
	data := make([]byte, 1<<20+7)
	rand.Read(data)
	sum := sha256.Sum256(data)
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "conf.d")
	os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
	os.WriteFile(filepath.Join(tree, "sub", "x.txt"), []byte("shipped tree\n"), 0o644)

	check := "echo '" + hex.EncodeToString(sum[:]) + "  data.bin' | sha256sum -c - && grep -qx 'shipped tree' conf.d/sub/x.txt"
	r := runDshell(t, tb, "-n", "3", "-ship", filepath.Join(dir, "data.bin"), "-ship", tree, "--", "sh", "-c", check)
	if r.code != 0 {
		t.Fatalf("exit %d: shipped files missing or different in the containers", r.code)
	}
	checkStagingRemoved(t, tb, r.appID)
}

// TestDshellQuoting: the command after -- reaches the containers exactly
// as typed, through the NodeManager's bash -c "…": the issue's
// sh -c 'test "$(cat f)" = x' (which used to end in "unexpected EOF while
// looking for matching quote"), a $ in single quotes that no shell
// expands, and an argument with quotes, $ and a backslash passed to the
// script. Plain bed only: the quoting does not depend on the mode.
func TestDshellQuoting(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the NodeManager's quoting is the same in every mode; proven once, on the plain bed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `test "$(cat f)" = x && test '$NOPE' = "\$NOPE" && test "$1" = 'a "b" $c \d'`
	r := runDshell(t, tb, "-n", "2", "-ship", filepath.Join(dir, "f"), "--", "sh", "-c", script, "sh", `a "b" $c \d`)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0: the command did not arrive as typed", r.code)
	}
	if !strings.Contains(r.out, "2 of 2 containers exited 0") {
		t.Error("output does not report both containers exiting 0")
	}
	checkStagingRemoved(t, tb, r.appID)
}

// TestDshellBadInput: mistakes are refused before anything is submitted,
// with a message naming the problem.
func TestDshellBadInput(t *testing.T) {
	tb := testbed.Get(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "2"}, "no command"},
		{[]string{"-n", "0", "--", "/bin/true"}, "need at least one container"},
		{[]string{"-ship", "/nonexistent/spindle", "--", "/bin/true"}, "/nonexistent/spindle"},
		{[]string{"-memory", "999999", "--", "/bin/true"}, "exceed the largest the scheduler grants"},
		{[]string{"--", "echo", "caf\xe9"}, "not valid UTF-8"},
	}
	for _, tt := range tests {
		r := runDshell(t, tb, tt.args...)
		if r.code == 0 {
			t.Errorf("dshell %v: exit 0", tt.args)
		}
		if !strings.Contains(r.out, tt.want) {
			t.Errorf("dshell %v: output lacks %q", tt.args, tt.want)
		}
		if r.appID != "" {
			t.Errorf("dshell %v submitted %s", tt.args, r.appID)
		}
	}
}

// TestDshellMaxFailures: with -max-failures, dshell (on yarn/engine) runs
// a failed container's command again in a new container: the command
// that fails in odd-numbered containers ends SUCCEEDED once every
// container has exited 0, with the failed attempts still listed; a
// command that always fails ends FAILED at the budget, with a message
// naming it, after exactly that many failures. Plain bed only: retries
// do not depend on the mode.
func TestDshellMaxFailures(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("retries are the engine's and the same in every mode; proven once, on the plain bed")
	}
	t.Run("retried to success", func(t *testing.T) {
		r := runDshell(t, tb, "-n", "4", "-max-failures", "40", "--", "sh", "-c", `case $CONTAINER_ID in *[13579]) echo odd >&2; exit 3;; esac`)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0: failed containers should have been run again", r.code)
		}
		if !strings.Contains(r.out, "FINISHED / SUCCEEDED") || !strings.Contains(r.out, "4 of 4 containers exited 0") {
			t.Error("output does not report 4 of 4 containers exiting 0")
		}
		// Workers are containers 2..5 at first: 3 and 5 fail.
		if n := len(regexp.MustCompile(`container_\S+ on \S+: exit status 3: stderr: odd`).FindAllString(r.out, -1)); n < 2 {
			t.Errorf("%d failed attempts listed, want at least 2", n)
		}
		checkStagingRemoved(t, tb, r.appID)
	})
	t.Run("budget", func(t *testing.T) {
		r := runDshell(t, tb, "-n", "2", "-max-failures", "3", "--", "sh", "-c", "echo always >&2; exit 7")
		if r.code == 0 {
			t.Fatal("exit 0, want non-zero")
		}
		for _, want := range []string{"FINISHED / FAILED", "0 of 2 containers exited 0", "failure budget exhausted", "reached -max-failures 3"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if n := len(regexp.MustCompile(`container_\S+ on \S+: exit status 7: stderr: always`).FindAllString(r.out, -1)); n < 3 {
			t.Errorf("%d failed containers listed, want at least the 3 of the budget", n)
		}
		checkStagingRemoved(t, tb, r.appID)
	})
}

// TestDshellProxyUser (Kerberos bed): the bed's service principal runs
// dshell for bob (-proxy-user): the application is bob's, staged in his
// home (and removed from it), with bob's tokens and the service as the
// real user the ResourceManager records.
func TestDshellProxyUser(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dshellBinary(t), "-keytab", filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"),
		"-principal", k.ServicePrincipal, "-proxy-user", "bob", "-n", "2", "--", "/bin/true")
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf)
	out, err := cmd.CombinedOutput()
	t.Logf("dshell -proxy-user bob: %v\n%s", err, out)
	if err != nil {
		t.Fatalf("exit %d, want 0", cmd.ProcessState.ExitCode())
	}
	m := regexp.MustCompile(`submitted (application_\d+_\d+) to queue \S+ as (\S+) `).FindStringSubmatch(string(out))
	if m == nil || m[2] != "bob" {
		t.Fatalf("dshell did not say it submitted as bob: %q", m)
	}
	id, err := yarn.ParseApplicationID(m[1])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rmClient(t, tb, "bob", "").ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.User != "bob" || rep.FinalStatus != yarn.FinalSucceeded {
		t.Errorf("the application ran as %q, final status %s; want bob, SUCCEEDED", rep.User, rep.FinalStatus)
	}
	if !strings.Contains(string(out), "staging directory removed by the ApplicationMaster") {
		t.Error("bob's staging directory was not removed by the ApplicationMaster")
	}
	fs := hdfsClient(t, tb, "bob")
	if _, err := fs.Stat(path.Join("/user/bob/.spindle", m[1])); !os.IsNotExist(err) {
		t.Errorf("bob's staging directory for %s: stat %v, want gone", m[1], err)
	}
}

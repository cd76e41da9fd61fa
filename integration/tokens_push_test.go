//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// shortTokenBed starts a Kerberos bed of the test's own whose HDFS tokens
// need renewing every renewalBedRenewInterval and die after
// renewalBedMaxLifetime (TestTokenRenewal's), stopped at the test's end,
// with alice's input file for tokenprobe at the returned path.
func shortTokenBed(ctx context.Context, t *testing.T) (*testbed.TestBed, string) {
	t.Helper()
	tb, err := testbed.Start(ctx, testbed.Options{Kerberos: true,
		TokenRenewInterval: renewalBedRenewInterval, TokenMaxLifetime: renewalBedMaxLifetime})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("own bed's log (last 40 lines):\n%s", tb.LogTail(40))
		}
		tb.Stop()
	})
	path := "/user/alice/tokenprobe-input"
	w, err := stagingClient(t, tb, "alice", nil).Create(ctx, path, hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(strings.Repeat("spindle tokens\n", 1000))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return tb, path
}

// TestTokenPush runs, on a Kerberos bed of its own whose HDFS tokens need
// renewing every 20 s and die after 40 s, a job that reads and writes
// HDFS every second (through new NameNode connections after each pause)
// for 2.5 times the tokens' max lifetime, deployed without -ship-keytab,
// three times at once:
//
//   - attached: its client, logged in with a keytab, obtains fresh tokens
//     at 0.75 of the current ones' lifetime and pushes them to the
//     JobManager, which switches itself and the TaskManager to them; the
//     job finishes, and the JobManager never warned of an expiry; pushes
//     come every 30 s and the tokens need renewing every 20 s, and the
//     client renewed the tokens it pushed in between (its -v log);
//   - attached, deployed by the bed's service principal for bob
//     (-proxy-user): the same with bob's tokens, obtained and renewed
//     through impersonation;
//   - detached: `tokenprobe credentials push -id APPID` run every 10 s
//     keeps it alive, alternately with this machine's record of the
//     application (the deployment secret) and from an empty SPINDLE_HOME
//     (alice's ClientToAMToken); the job finishes.
//
// The run without a keytab and without pushes is TestTokenRenewal's. Runs
// once, in the Kerberos run of the suite; costs a bed start (~20 s,
// ~1.5 GB) plus ~2.5 minutes.
func TestTokenPush(t *testing.T) {
	if testbed.Get(t).Mode() != testbed.ModeKerberos {
		t.Skip("runs once, in the Kerberos run of the suite, on a Kerberos bed of its own with short token lifetimes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tb, input := shortTokenBed(ctx, t)
	k := tb.Ready.Kerberos
	probe := tokenProbe(t)
	duration := renewalBedMaxLifetime * 5 / 2
	login := []string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
	home, emptyHome := t.TempDir(), t.TempDir()
	command := func(spindleHome string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, probe, args...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf, "SPINDLE_HOME="+spindleHome)
		return cmd
	}
	runArgs := func(write string, extra ...string) []string {
		args := []string{"run", "-t", "yarn-application", "-path", input, "-write", write, "-duration", duration.String(), "-parallelism", "1"}
		if !slices.Contains(extra, "-proxy-user") {
			args = append(args, login...)
		}
		return append(args, extra...)
	}
	appIDOf := func(out string) string {
		if m := regexp.MustCompile(`submitted (application_\d+_\d+)`).FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	}
	lines := func(text, s string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, s) {
				out = append(out, l)
			}
		}
		return out
	}
	logs := func(appID, file string) string {
		var b strings.Builder
		for _, dir := range containerDirs(tb, appID) {
			if data, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
				fmt.Fprintf(&b, "--- %s/%s ---\n%s", filepath.Base(dir), file, data)
			}
		}
		return b.String()
	}

	var wg sync.WaitGroup
	// Attached: the client pushes.
	var attachedOut string
	var attachedCode int
	var attachedTook time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		// -v: the client's log shows its renewals.
		cmd := command(home, runArgs("/user/alice/tokenpush-attached", "-v")...)
		b, _ := cmd.CombinedOutput()
		attachedOut, attachedCode, attachedTook = string(b), cmd.ProcessState.ExitCode(), time.Since(start)
	}()

	// Attached, by the bed's service principal for bob (-proxy-user): the
	// pushed tokens are bob's, obtained and renewed through impersonation.
	var proxyOut string
	var proxyCode int
	wg.Add(1)
	go func() {
		defer wg.Done()
		svc := []string{"-keytab", filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"), "-principal", k.ServicePrincipal, "-proxy-user", "bob"}
		cmd := command(t.TempDir(), runArgs("/user/bob/tokenpush-proxy", svc...)...)
		b, _ := cmd.CombinedOutput()
		proxyOut, proxyCode = string(b), cmd.ProcessState.ExitCode()
	}()

	// Detached: `credentials push` every 10 s.
	b, err := command(home, runArgs("/user/alice/tokenpush-detached", "-d")...).CombinedOutput()
	detachedID := appIDOf(string(b))
	if err != nil || detachedID == "" {
		cancel()
		wg.Wait()
		t.Fatalf("detached deploy: %v\n%s", err, b)
	}
	follow := command(home, append([]string{"attach", "-id", detachedID}, login...)...)
	var followOut strings.Builder
	follow.Stdout, follow.Stderr = &followOut, &followOut
	detachedStart := time.Now()
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followDone := make(chan error, 1)
	go func() { followDone <- follow.Wait() }()
	var pushed, refusedAfterFirst []string
	withToken := 0
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var followErr error
push:
	for i := 0; ; i++ {
		// Alternately through the record (the secret) and from an empty
		// SPINDLE_HOME (alice's ClientToAMToken).
		h := home
		if i%2 == 1 {
			h = emptyHome
		}
		out, err := command(h, append([]string{"credentials", "push", "-id", detachedID}, login...)...).CombinedOutput()
		switch {
		case err == nil:
			pushed = append(pushed, strings.TrimSpace(string(out)))
			if h == emptyHome {
				withToken++
			}
		case len(pushed) > 0:
			// A push may race the application's end; one refused while it
			// still runs counts.
			select {
			case followErr = <-followDone:
				t.Logf("push %d as the application ended: %v: %s", i+1, err, strings.TrimSpace(string(out)))
				break push
			case <-time.After(15 * time.Second):
				refusedAfterFirst = append(refusedAfterFirst, fmt.Sprintf("%v: %s", err, out))
			}
		default:
			t.Logf("push %d before the JobManager was up: %v: %s", i+1, err, strings.TrimSpace(string(out)))
		}
		select {
		case followErr = <-followDone:
			break push
		case <-tick.C:
		}
	}
	detachedTook := time.Since(detachedStart)
	wg.Wait()
	attachedID := appIDOf(attachedOut)

	// Attached.
	jmLog := logs(attachedID, "jobmanager.err") + logs(attachedID, "jobmanager.out")
	tmLog := logs(attachedID, "taskmanager.stderr") + logs(attachedID, "taskmanager.stdout")
	clientPushes := lines(attachedOut, "fresh HDFS delegation tokens to the JobManager (")
	accepted := lines(jmLog, "a client pushed a fresh HDFS delegation token")
	switched := lines(tmLog, "HDFS access switched to a new delegation token")
	renewed := lines(attachedOut, "renewed an HDFS delegation token")
	t.Logf("attached %s: exit %d after %v (tokens' max lifetime %v); %d pushes by the client, %d accepted by the JobManager, %d switches in the TaskManager, %d renewals by the client",
		attachedID, attachedCode, attachedTook.Round(time.Second), renewalBedMaxLifetime, len(clientPushes), len(accepted), len(switched), len(renewed))
	for _, l := range clientPushes {
		t.Logf("  %.300s", l)
	}
	if attachedCode != 0 || !strings.Contains(attachedOut, "tokenprobe.writes") {
		t.Errorf("the attached job did not finish (exit %d):\n%s\n%s%s", attachedCode, attachedOut, jmLog, tmLog)
	}
	// 100 s on tokens that die after 40 s, pushed at 30 s intervals.
	if len(clientPushes) < 2 || len(accepted) < 2 || len(switched) < 2 || len(renewed) < 2 {
		t.Errorf("attached: %d pushes, %d accepted, %d switches, %d renewals; want at least 2 each", len(clientPushes), len(accepted), len(switched), len(renewed))
	}
	if w := lines(jmLog, "nothing renews or replaces it"); len(w) > 0 {
		t.Errorf("the attached application's JobManager warned of an expiry although its client pushed: %s", w[0])
	}
	if strings.Contains(attachedOut, "failed (will retry)") {
		t.Errorf("a push of the attached client failed:\n%s", attachedOut)
	}

	// For bob, through the service principal.
	proxyID := appIDOf(proxyOut)
	proxyPushes := lines(proxyOut, "fresh HDFS delegation tokens to the JobManager (")
	t.Logf("attached for bob (-proxy-user) %s: exit %d; %d pushes", proxyID, proxyCode, len(proxyPushes))
	if proxyCode != 0 || len(proxyPushes) < 2 || !strings.Contains(proxyPushes[0], "of bob") {
		t.Errorf("the proxy-user job: exit %d, %d pushes (want 0 and at least 2 of bob's tokens):\n%s\n%s", proxyCode, len(proxyPushes), proxyOut,
			logs(proxyID, "jobmanager.err")+logs(proxyID, "taskmanager.stderr"))
	}

	// Detached.
	t.Logf("detached %s: attach exited %v after %v; %d pushes by `credentials push` (%d with a ClientToAMToken), %d refused after the first",
		detachedID, followErr, detachedTook.Round(time.Second), len(pushed), withToken, len(refusedAfterFirst))
	if len(pushed) > 0 {
		t.Logf("  %s", pushed[0])
	}
	if followErr != nil || !strings.Contains(followOut.String(), "FINISHED") {
		t.Errorf("the detached job kept alive by `credentials push` did not finish: %v\n%s\n%s", followErr, followOut.String(),
			logs(detachedID, "jobmanager.err")+logs(detachedID, "taskmanager.stderr"))
	}
	if len(refusedAfterFirst) > 0 {
		t.Errorf("%d pushes failed after the first succeeded: %s", len(refusedAfterFirst), refusedAfterFirst[0])
	}
	if len(pushed) < 4 || withToken < 2 {
		t.Errorf("%d pushes succeeded, %d with a ClientToAMToken; want at least 4 and 2", len(pushed), withToken)
	}
	if !regexp.MustCompile(`^pushed 1 fresh HDFS delegation tokens to ` + detachedID + `; they expire at \S+ unless pushed again before`).MatchString(strings.Join(pushed, "\n")) {
		t.Errorf("the push command's output: %q", pushed)
	}
}

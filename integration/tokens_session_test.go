//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// TestTokenPushSession runs, on a Kerberos bed of its own whose HDFS
// tokens need renewing every 20 s and die after 40 s, one session started
// by the bed's service principal with its keytab shipped (the session's
// own tokens are the JobManager's to re-obtain), and in it two jobs at
// once, submitted by that principal for alice and for bob (-proxy-user),
// each reading and writing HDFS every second with its own tokens for 2.5
// times the tokens' max lifetime. Each job's client renews its job's
// tokens and pushes fresh ones to that job alone
// (POST /v1/jobs/{id}/credentials): both jobs finish; the JobManager
// took at least two pushes per job, and each client renewed its tokens
// between pushes (its -v log); each TaskManager's log shows
// switches of one job only, whose owner is that job's user; bob's tokens
// never reach the TaskManager of alice's job nor the reverse. Runs once,
// in the Kerberos run of the suite; costs a bed start (~20 s, ~1.5 GB)
// plus ~2 minutes.
func TestTokenPushSession(t *testing.T) {
	if testbed.Get(t).Mode() != testbed.ModeKerberos {
		t.Skip("runs once, in the Kerberos run of the suite, on a Kerberos bed of its own with short token lifetimes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tb, aliceIn := shortTokenBed(ctx, t)
	k := tb.Ready.Kerberos
	probe := tokenProbe(t)
	duration := renewalBedMaxLifetime * 5 / 2

	bobIn := "/user/bob/tokenprobe-input"
	w, err := stagingClient(t, tb, "bob", nil).Create(ctx, bobIn, hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(strings.Repeat("spindle session tokens\n", 1000))); err != nil {
		t.Fatal(err)
	}
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	svc := []string{"-keytab", filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"), "-principal", k.ServicePrincipal}
	command := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, probe, args...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf, "SPINDLE_HOME="+home)
		return cmd
	}
	name := fmt.Sprintf("tokens%d", time.Now().UnixNano()%1_000_000_000)
	b, err := command(append([]string{"session", "start", "-name", name, "-d", "-ship-keytab",
		"-min-taskmanagers", "0", "-max-taskmanagers", "2", "-tm-memory", "256"}, svc...)...).CombinedOutput()
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(string(b))
	if err != nil || m == nil {
		t.Fatalf("session start: %v\n%s", err, b)
	}
	appID := m[1]
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer scancel()
		cmd := exec.CommandContext(sctx, probe, append([]string{"session", "stop", "-id", appID}, svc...)...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf, "SPINDLE_HOME="+home)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("session stop: %v\n%s", err, out)
		}
	})

	users := []string{"alice", "bob"}
	inputs := map[string]string{"alice": aliceIn, "bob": bobIn}
	outs, codes := map[string]string{}, map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := command(append([]string{"run", "-t", "yarn-session", "-session", name, "-path", inputs[u],
				"-write", "/user/" + u + "/tokensession-out", "-duration", duration.String(), "-parallelism", "1",
				"-proxy-user", u, "-v"}, svc...)...) // -v: the client's log shows its renewals
			b, _ := cmd.CombinedOutput()
			mu.Lock()
			outs[u], codes[u] = string(b), cmd.ProcessState.ExitCode()
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)

	lines := func(text, s string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, s) {
				out = append(out, l)
			}
		}
		return out
	}
	jobs := map[string]string{} // user → job id
	for _, u := range users {
		if m := regexp.MustCompile(`submitted job (\S+) to session`).FindStringSubmatch(outs[u]); m != nil {
			jobs[u] = m[1]
		}
	}
	var jmLog strings.Builder
	tmLogs := map[string]string{} // container → TaskManager log
	for _, dir := range containerDirs(tb, appID) {
		for _, f := range []string{"jobmanager.err", "jobmanager.out"} {
			if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				jmLog.Write(data)
			}
		}
		var tm strings.Builder
		for _, f := range []string{"taskmanager.stderr", "taskmanager.stdout"} {
			if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				tm.Write(data)
			}
		}
		if tm.Len() > 0 {
			tmLogs[filepath.Base(dir)] = tm.String()
		}
	}
	dump := func() string {
		var b strings.Builder
		b.WriteString(jmLog.String())
		for c, l := range tmLogs {
			fmt.Fprintf(&b, "--- %s ---\n%s", c, l)
		}
		return b.String()
	}

	for _, u := range users {
		pushes := lines(outs[u], "fresh HDFS delegation tokens to the session (")
		renewed := lines(outs[u], "renewed an HDFS delegation token")
		accepted := lines(jmLog.String(), "a client pushed a fresh HDFS delegation token for a job")
		accepted = slicesFilter(accepted, "job="+jobs[u]+" ")
		t.Logf("%s's job %s: exit %d after %v (tokens' max lifetime %v); %d pushes by its client, %d accepted by the JobManager, %d renewals by its client",
			u, jobs[u], codes[u], took.Round(time.Second), renewalBedMaxLifetime, len(pushes), len(accepted), len(renewed))
		for _, l := range pushes {
			t.Logf("  %.300s", l)
		}
		if codes[u] != 0 || jobs[u] == "" || !strings.Contains(outs[u], "tokenprobe.writes") {
			t.Errorf("%s's job did not finish (exit %d):\n%s", u, codes[u], outs[u])
		}
		// 100 s on tokens that die after 40 s, pushed at 30 s intervals.
		// The tokens need renewing every 20 s: the client renewed those it
		// pushed (and the job's first) in between.
		if len(pushes) < 2 || len(accepted) < 2 || len(renewed) < 2 {
			t.Errorf("%s's job: %d pushes, %d accepted, %d renewals by its client; want at least 2 each", u, len(pushes), len(accepted), len(renewed))
		}
		for _, p := range pushes {
			if !strings.Contains(p, "of "+u+",") {
				t.Errorf("%s's job's client pushed tokens not of %s: %s", u, u, p)
			}
		}
		if f := lines(outs[u], "failed (will retry)"); len(f) > 0 {
			t.Errorf("a push of %s's job's client failed: %s", u, f[0])
		}
	}

	// Each TaskManager switched one job's tokens only, of that job's user.
	switchLine := regexp.MustCompile(`a job's HDFS access switched to a new delegation token.* job=(\S+) owner=(\S+)`)
	switches := map[string]int{} // job → switches
	for c, l := range tmLogs {
		seen := map[string]bool{}
		for _, sw := range switchLine.FindAllStringSubmatch(l, -1) {
			job, owner := sw[1], sw[2]
			seen[job] = true
			switches[job]++
			var want string
			for u, j := range jobs {
				if j == job {
					want = u
				}
			}
			if owner != want {
				t.Errorf("TaskManager %s switched job %s (%s's) to a token of %q", c, job, want, owner)
			}
		}
		if len(seen) > 1 {
			t.Errorf("TaskManager %s switched the tokens of %d jobs: %v", c, len(seen), seen)
		}
		for u, j := range jobs {
			if seen[j] {
				continue
			}
			// Not this job's TaskManager: nothing of it, nor of its user's
			// tokens, reached it.
			for _, dl := range lines(l, "delegation token") {
				if strings.Contains(dl, "job="+j+" ") || strings.Contains(dl, "owner="+u) {
					t.Errorf("TaskManager %s, not serving %s's job %s, got its tokens: %.300s", c, u, j, dl)
				}
			}
		}
	}
	t.Logf("TaskManager switches per job: %v (%d TaskManager logs)", switches, len(tmLogs))
	for _, u := range users {
		if switches[jobs[u]] < 2 {
			t.Errorf("%s's job %s: %d switches in its TaskManager, want at least 2", u, jobs[u], switches[jobs[u]])
		}
	}
	if t.Failed() {
		t.Logf("session logs:\n%s", dump())
	}
}

// slicesFilter keeps the lines holding s.
func slicesFilter(ls []string, s string) []string {
	var out []string
	for _, l := range ls {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
// own tokens are the JobManager's to re-obtain, which it does), and in it
// five jobs at once, each reading (and the first three writing) HDFS
// every second with its own tokens for 2.5 times the tokens' max
// lifetime:
//
//   - for alice and for bob, submitted by the service principal
//     (-proxy-user): each job's client renews its job's tokens and pushes
//     fresh ones to that job alone (POST /v1/jobs/{id}/credentials); both
//     finish, the JobManager took at least two pushes per job, and each
//     client renewed its tokens between pushes (its -v log);
//   - for carol, submitted the same way with the client's pushes turned
//     off: the session's keytab keeps it alive, the JobManager obtaining
//     carol's tokens through impersonation at least twice; it finishes;
//   - by bob with his own keytab, pushes off: `credentials push -session
//     NAME -job ID` run every 10 s keeps it alive; it finishes;
//   - by alice with her own keytab, pushes off: nothing the session holds
//     may obtain her tokens, nobody renews them, and the job fails once
//     they die, its client's output naming the refused token and what to
//     configure (credentials push -job, or submitting through the
//     session's principal).
//
// Each TaskManager's log shows switches of one job only, whose owner is
// that job's user; one job's tokens never reach another's TaskManager.
// Runs once, in the Kerberos run of the suite; costs a bed start (~20 s,
// ~1.5 GB) plus ~2 minutes.
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

	svcKeytab := filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab")
	svcID, err := hdfs.LoginKeytab(ctx, k.ServicePrincipal, svcKeytab, k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer svcID.Close()
	hcfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	// carol has no home on the bed: the superuser (the service principal)
	// makes one she can write.
	root := newStagingClient(t, hcfg.WithIdentity(svcID))
	if err := root.MkdirAll(ctx, "/user/carol", 0o777); err != nil {
		t.Fatal(err)
	}
	if err := root.Chmod(ctx, "/user/carol", 0o777); err != nil {
		t.Fatal(err)
	}
	write := func(c *hdfs.Client, path string) {
		w, err := c.Create(ctx, path, hdfs.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(strings.Repeat("spindle session tokens\n", 1000))); err != nil {
			t.Fatal(err)
		}
		if err := closeRetrying(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	bobIn, carolIn := "/user/bob/tokenprobe-input", "/user/carol/tokenprobe-input"
	write(stagingClient(t, tb, "bob", nil), bobIn)
	write(newStagingClient(t, hcfg.WithIdentity(svcID.WithProxyUser("carol"))), carolIn)

	home := t.TempDir()
	svc := []string{"-keytab", svcKeytab, "-principal", k.ServicePrincipal}
	command := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, probe, args...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf, "SPINDLE_HOME="+home)
		return cmd
	}
	name := fmt.Sprintf("tokens%d", time.Now().UnixNano()%1_000_000_000)
	b, err := command(append([]string{"session", "start", "-name", name, "-d", "-ship-keytab",
		"-min-taskmanagers", "0", "-max-taskmanagers", "5", "-tm-memory", "256"}, svc...)...).CombinedOutput()
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

	// The jobs, by key: the user's name, "alice-own" for alice's job
	// submitted with her own login, "bob-cli" for bob's, kept alive by
	// `credentials push -job`.
	jobs := map[string]string{}       // job key → job id
	users := []string{"alice", "bob"} // pushed by their clients
	noPush := []string{"-D", "spindle.client.push-credentials=false"}
	args := map[string][]string{}
	for u, in := range map[string]string{"alice": aliceIn, "bob": bobIn, "carol": carolIn} {
		args[u] = append([]string{"run", "-t", "yarn-session", "-session", name, "-path", in,
			"-write", "/user/" + u + "/tokensession-out", "-duration", duration.String(), "-parallelism", "1",
			"-proxy-user", u, "-v"}, svc...) // -v: the client's log shows its renewals
	}
	args["carol"] = append(args["carol"], noPush...)
	args["alice-own"] = append([]string{"run", "-t", "yarn-session", "-session", name, "-path", aliceIn,
		"-duration", duration.String(), "-parallelism", "1", "-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}, noPush...)
	outs, codes := map[string]string{}, map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for key, a := range args {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := command(a...)
			b, _ := cmd.CombinedOutput()
			mu.Lock()
			outs[key], codes[key] = string(b), cmd.ProcessState.ExitCode()
			mu.Unlock()
		}()
	}
	// bob's job, submitted with his own login and no pushes by its
	// client: `credentials push -session NAME -job ID` every 10 s keeps it
	// alive, as cron would.
	bobLogin := []string{"-keytab", k.Users["bob"], "-principal", "bob@" + k.Realm}
	cliCmd := command(append(append([]string{"run", "-t", "yarn-session", "-session", name, "-path", bobIn,
		"-duration", duration.String(), "-parallelism", "1"}, bobLogin...), noPush...)...)
	var cliOut strings.Builder
	var cliMu sync.Mutex
	pr, pw := io.Pipe()
	cliCmd.Stdout, cliCmd.Stderr = pw, pw
	if err := cliCmd.Start(); err != nil {
		t.Fatal(err)
	}
	cliJob := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			cliMu.Lock()
			cliOut.WriteString(sc.Text() + "\n")
			cliMu.Unlock()
			if m := regexp.MustCompile(`submitted job (\S+) to session`).FindStringSubmatch(sc.Text()); m != nil {
				cliJob <- m[1]
			}
		}
	}()
	cliDone := make(chan struct{})
	go func() {
		cliCmd.Wait()
		pw.Close()
		close(cliDone)
	}()
	var cliPushes, cliRefused []string
	select {
	case id := <-cliJob:
		jobs["bob-cli"] = id
		tick := time.NewTicker(10 * time.Second)
	pushing:
		for {
			select {
			case <-cliDone:
				break pushing
			case <-tick.C:
			}
			out, err := command(append([]string{"credentials", "push", "-session", name, "-job", id}, bobLogin...)...).CombinedOutput()
			select {
			case <-cliDone:
				break pushing // a push racing the job's end does not count
			default:
			}
			if err != nil {
				cliRefused = append(cliRefused, fmt.Sprintf("%v: %s", err, out))
			} else {
				cliPushes = append(cliPushes, strings.TrimSpace(string(out)))
			}
		}
		tick.Stop()
	case <-cliDone:
	}
	<-cliDone
	wg.Wait()
	cliMu.Lock()
	outs["bob-cli"], codes["bob-cli"] = cliOut.String(), cliCmd.ProcessState.ExitCode()
	cliMu.Unlock()
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
	for u := range args {
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
					want = strings.TrimSuffix(strings.TrimSuffix(u, "-own"), "-cli")
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
			// tokens (carol's; alice and bob have two jobs each), reached
			// it.
			for _, dl := range lines(l, "delegation token") {
				if strings.Contains(dl, "job="+j+" ") || u == "carol" && strings.Contains(dl, "owner="+u) {
					t.Errorf("TaskManager %s, not serving %s's job %s, got its tokens: %.300s", c, u, j, dl)
				}
			}
		}
	}
	t.Logf("TaskManager switches per job: %v (%d TaskManager logs)", switches, len(tmLogs))
	for _, u := range []string{"alice", "bob", "carol", "bob-cli"} {
		if switches[jobs[u]] < 2 {
			t.Errorf("%s's job %s: %d switches in its TaskManager, want at least 2", u, jobs[u], switches[jobs[u]])
		}
	}

	// carol's job: kept alive by the session's keytab alone.
	obtained := slicesFilter(lines(jmLog.String(), "the job switched to a fresh HDFS delegation token the JobManager obtained"), "job="+jobs["carol"]+" ")
	t.Logf("carol's job %s (no pushes): exit %d; the JobManager obtained fresh tokens for it %d times", jobs["carol"], codes["carol"], len(obtained))
	for _, l := range obtained {
		t.Logf("  %.300s", l)
	}
	if codes["carol"] != 0 || jobs["carol"] == "" || !strings.Contains(outs["carol"], "tokenprobe.writes") {
		t.Errorf("carol's job, kept alive by the session's keytab, did not finish (exit %d):\n%s", codes["carol"], outs["carol"])
	}
	if len(obtained) < 2 {
		t.Errorf("the JobManager obtained fresh tokens for carol's job %d times, want at least 2", len(obtained))
	}
	if p := lines(outs["carol"], "fresh HDFS delegation tokens to the session ("); len(p) > 0 {
		t.Errorf("carol's client pushed although told not to: %s", p[0])
	}
	for _, l := range obtained {
		if !strings.Contains(l, "of carol") && !strings.Contains(l, "owner=carol") {
			t.Errorf("the JobManager switched carol's job to a token not of carol: %.300s", l)
		}
	}

	// bob's job, kept alive by `credentials push -job` alone.
	t.Logf("bob's job %s (no pushes by its client; credentials push -job every 10 s): exit %d, %d pushes, %d refused",
		jobs["bob-cli"], codes["bob-cli"], len(cliPushes), len(cliRefused))
	for _, l := range cliPushes {
		t.Logf("  %.300s", l)
	}
	if codes["bob-cli"] != 0 || jobs["bob-cli"] == "" || !strings.Contains(outs["bob-cli"], "tokenprobe.reads") {
		t.Errorf("bob's job kept alive by credentials push -job did not finish (exit %d):\n%s", codes["bob-cli"], outs["bob-cli"])
	}
	if len(cliPushes) < 5 || len(cliRefused) > 0 {
		t.Errorf("credentials push -job: %d pushes, refused %v; want at least 5, none refused", len(cliPushes), cliRefused)
	}
	for _, p := range cliPushes {
		if !strings.Contains(p, "to job "+jobs["bob-cli"]+" of "+appID) {
			t.Errorf("credentials push -job said %q", p)
		}
	}
	if n := len(slicesFilter(lines(jmLog.String(), "the JobManager obtained"), "job="+jobs["bob-cli"]+" ")); n > 0 {
		t.Errorf("the JobManager obtained tokens for bob's job submitted with his own login (%d times)", n)
	}

	// The session's own tokens: re-obtained with its shipped keytab, never
	// warned of.
	if w := lines(jmLog.String(), "nothing renews or replaces it"); len(slicesFilter(w, "of "+k.ServicePrincipal)) > 0 {
		t.Errorf("the session's JobManager warned its own tokens expire although its keytab was shipped: %.300s", slicesFilter(w, "of "+k.ServicePrincipal)[0])
	}
	if len(lines(jmLog.String(), "keeping the HDFS delegation tokens alive with the shipped keytab")) == 0 {
		t.Error("the session's JobManager did not keep its own tokens alive with the shipped keytab")
	}

	// alice's own job: nothing keeps it alive; it fails saying why.
	own := outs["alice-own"]
	t.Logf("alice's own job %s (no pushes, her own login): exit %d", jobs["alice-own"], codes["alice-own"])
	for _, l := range lines(own, "token") {
		t.Logf("  %.600s", l)
	}
	if codes["alice-own"] == 0 || jobs["alice-own"] == "" {
		t.Errorf("alice's own job outlived its tokens (exit %d):\n%s", codes["alice-own"], own)
	} else if !strings.Contains(own, "the token refused: HDFS_DELEGATION_TOKEN sequence number") ||
		!strings.Contains(own, "Job "+jobs["alice-own"]+"'s HDFS delegation token") ||
		!strings.Contains(own, "credentials push -id "+appID+" -job "+jobs["alice-own"]) || !strings.Contains(own, "-proxy-user") {
		t.Errorf("alice's own job's failure does not name the refused token and what to configure:\n%s", own)
	}
	if n := len(slicesFilter(lines(jmLog.String(), "the JobManager obtained"), "job="+jobs["alice-own"]+" ")); n > 0 {
		t.Errorf("the JobManager obtained tokens for alice's job submitted with her own login (%d times)", n)
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

//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestHDFSTokenRenewAndReplace: a token alice obtains with herself as
// renewer she can renew (the expiry moves forward, never past its max
// date); one whose renewer is the ResourceManager she cannot; and a
// token-only client's tokens replaced at run time are what its next calls
// authenticate with (a forged password fails, the real token works again).
func TestHDFSTokenRenewAndReplace(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	self := stagingClient(t, tb, "alice", func(c *hdfs.Config) { c.TokenRenewer = "alice" })
	toks, err := self.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := toks[0].DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if id.Renewer != "alice" {
		t.Fatalf("renewer %q, want alice", id.Renewer)
	}
	exp, err := self.RenewDelegationToken(ctx, toks[0])
	if err != nil {
		t.Fatalf("renewing alice's own token: %v", err)
	}
	if !exp.After(time.Now()) || exp.After(id.MaxDate) {
		t.Fatalf("new expiry %v: want in the future and not after the max date %v", exp, id.MaxDate)
	}
	t.Logf("renewed: issued %v, expires %v, max %v", id.IssueDate, exp, id.MaxDate)

	rmToks, err := stagingClient(t, tb, "alice", nil).DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.RenewDelegationToken(ctx, rmToks[0]); err == nil {
		t.Fatal("alice renewed a token whose renewer is the ResourceManager")
	} else {
		t.Logf("renewing the RM's token: %v", err)
	}

	// A token-only client: the token works; a forged one, swapped in,
	// is what the next call presents; the real one again works.
	c := tokenOnlyClient(t, tb, toks, "")
	if _, err := c.Stat(ctx, "/user/alice"); err != nil {
		t.Fatal(err)
	}
	if got := c.Tokens(); len(got) != len(toks) {
		t.Fatalf("Tokens() = %d tokens, want %d", len(got), len(toks))
	}
	forged := toks[0]
	forged.Password = append([]byte(nil), forged.Password...)
	forged.Password[0] ^= 0xff
	if err := c.SetTokens([]hdfs.Token{forged}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "/user/alice"); err == nil {
		t.Fatal("a call after SetTokens with a forged token succeeded: the old connection or token was used")
	} else if !errors.Is(err, hdfs.ErrUnauthorized) && !errors.Is(err, hdfs.ErrInvalidToken) {
		t.Fatalf("forged token: %v, want ErrUnauthorized or ErrInvalidToken", err)
	} else {
		t.Logf("forged token: %v", err)
		if errors.Is(err, hdfs.ErrInvalidToken) && !strings.Contains(err.Error(), "the token refused: HDFS_DELEGATION_TOKEN sequence number") {
			t.Errorf("the refusal does not name the token: %v", err)
		}
	}
	fresh, err := self.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTokens(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "/user/alice"); err != nil {
		t.Fatalf("after SetTokens with a fresh token: %v", err)
	}
	if err := self.SetTokens(fresh); err == nil {
		t.Fatal("SetTokens on a Kerberos client succeeded")
	}
	if err := c.SetTokens(nil); err == nil {
		t.Fatal("SetTokens without a delegation token succeeded")
	}
}

// Token lifetimes of TestTokenRenewal's own bed: Hadoop's day and week,
// shrunk so that the job outlives the tokens' max lifetime 2.5 times over.
const (
	renewalBedRenewInterval = 20 * time.Second
	renewalBedMaxLifetime   = 40 * time.Second
	renewalProbeDuration    = 90 * time.Second
)

var (
	tokenProbeOnce sync.Once
	tokenProbePath string
	tokenProbeErr  error
)

// tokenProbe builds integration/cmd/tokenprobe once per test binary.
func tokenProbe(t testing.TB) string {
	t.Helper()
	tokenProbeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-tokenprobe-")
		if err != nil {
			tokenProbeErr = err
			return
		}
		tokenProbePath = filepath.Join(dir, "tokenprobe")
		out, err := exec.Command("go", "build", "-o", tokenProbePath, "github.com/spindle-yarn/spindle/integration/cmd/tokenprobe").CombinedOutput()
		if err != nil {
			tokenProbeErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if tokenProbeErr != nil {
		t.Fatalf("building tokenprobe: %v", tokenProbeErr)
	}
	return tokenProbePath
}

// TestTokenRenewal runs, on a Kerberos bed of its own whose HDFS tokens
// need renewing every 20 s and die after 40 s, a job that reads HDFS for
// 90 s through new NameNode connections, twice at once: deployed with
// -ship-keytab it finishes, its JobManager having obtained fresh tokens
// and pushed them to the TaskManager before each set died; deployed
// without, and its client's pushes turned off, the JobManager warns ahead
// of the expiry, naming the token and what to configure, in its log and on
// its tracking page (read every second meanwhile), and the job then
// fails with the NameNode's word on the expired token, the application's
// diagnostics naming it and what to configure. dshell with -ship-keytab
// runs a container for as long beside them: its ApplicationMaster obtains
// fresh tokens and removes the staging directory with them at the end.
//
// It runs once, in the Kerberos run of the suite (the shared bed's tokens
// live a day: shrinking them for every test would fail the longer ones),
// and costs a bed start (~20 s, ~1.5 GB) plus ~2 minutes.
func TestTokenRenewal(t *testing.T) {
	if testbed.Get(t).Mode() != testbed.ModeKerberos {
		t.Skip("runs once, in the Kerberos run of the suite, on a Kerberos bed of its own with short token lifetimes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tb, path := shortTokenBed(ctx, t)
	k := tb.Ready.Kerberos
	probe := tokenProbe(t)

	type outcome struct {
		out   string
		code  int
		appID string
		start time.Time
	}
	run := func(ship bool) outcome {
		args := []string{"run", "-t", "yarn-application", "-path", path, "-duration", renewalProbeDuration.String(),
			"-parallelism", "1", "-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
		if ship {
			// -access-fs: the bed's one HDFS named again by address
			// stands for another file system, whose tokens the
			// JobManager must obtain afresh too.
			args = append(args, "-ship-keytab", "-access-fs", tb.Ready.NameNode)
		} else {
			// The attached client would push fresh tokens (that case is
			// TestTokenPush's): this run is the one nothing keeps alive.
			args = append(args, "-D", "spindle.client.push-credentials=false")
		}
		cmd := exec.CommandContext(ctx, probe, args...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf)
		start := time.Now()
		b, _ := cmd.CombinedOutput()
		o := outcome{out: string(b), code: cmd.ProcessState.ExitCode(), start: start}
		if m := regexp.MustCompile(`submitted (application_\d+_\d+)`).FindStringSubmatch(o.out); m != nil {
			o.appID = m[1]
		}
		return o
	}
	// The tracking pages' warnings, by application, read every second
	// while the runs go on (the JobManager's own page, which the
	// ResourceManager registered).
	pageWarnings := map[string][]string{}
	pollDone := make(chan struct{})
	pollEnded := make(chan struct{})
	go func() {
		defer close(pollEnded)
		rm := rmClient(t, tb, "alice", "")
		for {
			select {
			case <-pollDone:
				return
			case <-time.After(time.Second):
			}
			apps, err := rm.Applications(ctx, yarn.ApplicationFilter{States: []yarn.ApplicationState{yarn.ApplicationRunning}, Users: []string{"alice"}})
			if err != nil {
				continue
			}
			for _, a := range apps {
				if a.OriginalTrackingURL == "" || a.OriginalTrackingURL == "N/A" {
					continue
				}
				resp, err := http.Get(strings.TrimSuffix(a.OriginalTrackingURL, "/") + "/api/status")
				if err != nil {
					continue
				}
				var st struct {
					Warnings []string `json:"warnings"`
				}
				json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				if len(st.Warnings) > 0 {
					pageWarnings[a.ID.String()] = st.Warnings
				}
			}
		}
	}()
	var shipped, plain, dsh outcome
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); shipped = run(true) }()
	go func() { defer wg.Done(); plain = run(false) }()
	go func() {
		// dshell with its keytab shipped: a container that outlives the
		// tokens, then the ApplicationMaster removes the staging
		// directory with fresh ones.
		defer wg.Done()
		cmd := exec.CommandContext(ctx, dshellBinary(t), "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm, "-ship-keytab",
			"-n", "1", "--", "/bin/sleep", fmt.Sprint(int(renewalProbeDuration.Seconds())))
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "KRB5_CONFIG="+k.KRB5Conf)
		start := time.Now()
		b, _ := cmd.CombinedOutput()
		dsh = outcome{out: string(b), code: cmd.ProcessState.ExitCode(), start: start}
		if m := regexp.MustCompile(`submitted (application_\d+_\d+)`).FindStringSubmatch(dsh.out); m != nil {
			dsh.appID = m[1]
		}
	}()
	wg.Wait()
	close(pollDone)
	<-pollEnded

	logs := func(o outcome) string {
		var b strings.Builder
		for _, dir := range containerDirs(tb, o.appID) {
			for _, name := range []string{"jobmanager.err", "jobmanager.out", "taskmanager.stderr", "taskmanager.stdout"} {
				if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
					fmt.Fprintf(&b, "--- %s/%s ---\n%s", filepath.Base(dir), name, data)
				}
			}
		}
		return b.String()
	}
	// lines picks the log lines holding s, for the figures.
	lines := func(text, s string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, s) {
				out = append(out, l)
			}
		}
		return out
	}

	// With the keytab shipped: the job read for its whole duration,
	// through fresh tokens the JobManager obtained and pushed.
	shippedLogs := logs(shipped)
	obtained := lines(shippedLogs, "obtained a fresh HDFS delegation token")
	switched := lines(shippedLogs, "HDFS access switched to a new delegation token")
	t.Logf("with -ship-keytab: %s, exit %d after %v; %d re-obtains, %d switches in TaskManagers, %d renewals",
		shipped.appID, shipped.code, time.Since(shipped.start).Round(time.Second), len(obtained), len(switched),
		len(lines(shippedLogs, "renewed an HDFS delegation token")))
	for _, l := range append(append(obtained, switched...), lines(shippedLogs, "renewed an HDFS delegation token")...) {
		t.Logf("  %.300s", l)
	}
	if shipped.code != 0 || !strings.Contains(shipped.out, "tokenprobe.reads") {
		t.Errorf("with -ship-keytab the job did not finish (exit %d):\n%s\n%s", shipped.code, shipped.out, shippedLogs)
	}
	// 90 s of reads on tokens that die after 40 s: at least two sets
	// replaced the first, each of two tokens (the default file system's
	// and -access-fs's).
	if len(obtained) < 4 || len(obtained)%2 != 0 || len(switched) < 2 {
		t.Errorf("with -ship-keytab: %d tokens re-obtained and %d switches, want at least 2 sets of 2 tokens and 2 switches", len(obtained), len(switched))
	}
	if l := lines(shippedLogs, "keeping the HDFS delegation tokens alive with the shipped keytab"); len(l) == 0 || !strings.Contains(l[0], "access_fs="+tb.Ready.NameNode) {
		t.Errorf("the JobManager does not say it keeps -access-fs %s's tokens alive: %v", tb.Ready.NameNode, l)
	}
	if strings.Contains(shippedLogs, "expires at") {
		t.Errorf("with -ship-keytab the JobManager warned of an expiry")
	}

	// Without: a warning first, then the job fails on the expired token.
	plainLogs := logs(plain)
	warned := lines(plainLogs, "nothing renews or replaces it")
	t.Logf("without -ship-keytab: %s, exit %d after %v", plain.appID, plain.code, time.Since(plain.start).Round(time.Second))
	for _, l := range append(warned, lines(plain.out, "root cause")...) {
		t.Logf("  %.600s", l)
	}
	if plain.code == 0 {
		t.Fatalf("without -ship-keytab the job outlived its tokens:\n%s", plain.out)
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "-ship-keytab") || !strings.Contains(warned[0], "HDFS_DELEGATION_TOKEN sequence number") {
		t.Errorf("no expiry warning naming the token and -ship-keytab in the JobManager's log:\n%s", plainLogs)
	}
	if w := pageWarnings[plain.appID]; len(w) == 0 || !strings.Contains(w[0], "HDFS_DELEGATION_TOKEN sequence number") || !strings.Contains(w[0], "-ship-keytab") {
		t.Errorf("the tracking page of %s showed no expiry warning naming the token and -ship-keytab: %q", plain.appID, w)
	} else {
		t.Logf("tracking page warning: %.300s", w[0])
	}
	if w := pageWarnings[shipped.appID]; len(w) > 0 {
		t.Errorf("the tracking page of %s (keytab shipped) warned: %q", shipped.appID, w)
	}
	if !strings.Contains(plain.out, "the token refused: HDFS_DELEGATION_TOKEN sequence number") || !strings.Contains(plain.out, "expired") {
		t.Errorf("the client's output does not say which token expired:\n%s", plain.out)
	}
	if !regexp.MustCompile(`The application's HDFS_DELEGATION_TOKEN sequence number \d+ of alice.* expired: .*-ship-keytab.* credentials push -id ` + plain.appID).MatchString(plain.out) {
		t.Errorf("the client's output does not name the dead token and what to configure (-ship-keytab, credentials push):\n%s", plain.out)
	}

	// dshell: its AM obtained fresh tokens and removed the staging
	// directory with them after the first ones died.
	amLog := amStderr(tb, dsh.appID)
	dshObtained := lines(amLog, "obtained a fresh HDFS delegation token")
	t.Logf("dshell -ship-keytab: %s, exit %d after %v; its AM re-obtained tokens %d times", dsh.appID, dsh.code, time.Since(dsh.start).Round(time.Second), len(dshObtained))
	if dsh.code != 0 || !strings.Contains(dsh.out, "staging directory removed by the ApplicationMaster") {
		t.Errorf("dshell -ship-keytab: exit %d, or its AM did not remove the staging directory:\n%s\n%s", dsh.code, dsh.out, amLog)
	}
	if len(dshObtained) < 2 || len(lines(amLog, "keeping the HDFS delegation tokens alive with the shipped keytab")) == 0 {
		t.Errorf("dshell's AM re-obtained tokens %d times with the shipped keytab, want at least 2:\n%s", len(dshObtained), amLog)
	}
	if w := lines(amLog, "nothing renews or replaces it"); len(w) > 0 {
		t.Errorf("dshell's AM warned of an expiry with its keytab shipped: %s", w[0])
	}

	// The keytab was in the JobManager's container only (the NodeManagers
	// keep containers' directories for a while after they end).
	dirs, _ := filepath.Glob(filepath.Join(tb.Dir, "work", "yarn", "*", "*", "*local*", "usercache", "alice", "appcache", shipped.appID, "container_*"))
	for _, d := range dirs {
		_, err := os.Lstat(filepath.Join(d, "spindle-am.keytab"))
		am := strings.HasSuffix(d, "_000001")
		if am != (err == nil) {
			t.Errorf("container %s: keytab present %v, want only in the JobManager's", filepath.Base(d), err == nil)
		}
	}
	if len(dirs) < 2 {
		t.Logf("only %d container directories found to check for the keytab", len(dirs))
	}
}

//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The proofs of a session under load: many jobs through one session, and
// jobs that fail in every way a job can beside one that runs on.

// writeLoadCorpus writes files generated text files of size bytes each into a
// new directory of alice's and returns it with the counts computed
// locally.
func writeLoadCorpus(t *testing.T, tb *testbed.TestBed, seed uint64, files int, size int64) (string, map[string]int64) {
	t.Helper()
	return writeCorpusFiles(t, tb, "session-load-in", seed, files, size, 0)
}

// startLoadSession starts a detached session as alice with the flags
// given, stopped with the test, and returns its name and application id.
func startLoadSession(t *testing.T, tb *testbed.TestBed, prefix string, flags ...string) (string, string) {
	t.Helper()
	name := fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000)
	start := runWordcountCommand(t, tb, append([]string{"session", "start", "-name", name, "-d"}, flags...)...)
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if m == nil {
		t.Fatal("session start printed no application id on a line of its own")
	}
	t.Cleanup(func() { runWordcountCommand(t, tb, "session", "stop", "-id", m[1]) })
	return name, m[1]
}

// checkSessionRunning: the session's application is RUNNING and `session
// list` shows it with jobs jobs, none running.
func checkSessionRunning(t *testing.T, tb *testbed.TestBed, name, appID string, jobs int) {
	t.Helper()
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != yarn.ApplicationRunning {
		t.Errorf("the session is %s (final status %s): %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	list := runWordcountCommand(t, tb, "session", "list")
	if !regexp.MustCompile(name + `\s+` + appID + `\s+RUNNING\s+0 running, ` + fmt.Sprint(jobs) + ` in all`).MatchString(list.stdout) {
		t.Errorf("session list does not show %s %s RUNNING with %d jobs:\n%s", name, appID, jobs, list.stdout)
	}
}

// TestSessionTenJobs: one session of at most 3 TaskManagers runs ten
// wordcount jobs one after another, then five at once, every output
// right. The sequential jobs all run on the one TaskManager the session
// keeps (-min-taskmanagers 1; each job needs one TaskManager of 2 slots),
// so the application has had two containers then; the concurrent ones
// make it grow to at most its maximum, so that fifteen jobs ran in at
// most 1 + 3 containers. The session runs on, and `session list` counts
// the fifteen jobs.
//
// Plain bed only: the session's bookkeeping is the same on every bed, and
// TaskManager reuse per identity is proven on Kerberos by
// TestSessionPerJobIdentity.
func TestSessionTenJobs(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("a session's jobs and TaskManagers are counted the same on every bed: run once, in the plain run (reuse per identity is proven on Kerberos by TestSessionPerJobIdentity)")
	}
	wordcountBinary(t) // built here: runWordcountQuiet, on goroutines of its own, only runs it
	in, want := writeLoadCorpus(t, tb, 500, 2, 128<<10)
	const maxTMs = 3
	name, appID := startLoadSession(t, tb, "l", "-min-taskmanagers", "1", "-max-taskmanagers", fmt.Sprint(maxTMs), "-idle-timeout", "10m")

	started := time.Now()
	for i := 1; i <= 10; i++ {
		out := outputDir(t)
		r := runWordcount(t, tb, "-t", "yarn-session", "-session", name, "-input", in, "-output", out)
		if r.code != 0 {
			t.Fatalf("sequential job %d: exit %d", i, r.code)
		}
		checkWordcountOutput(t, tb, out, want)
	}
	t.Logf("10 sequential jobs in %s", time.Since(started).Round(time.Millisecond))
	if n := len(containerDirs(tb, appID)); n != 2 {
		t.Errorf("after 10 sequential jobs the session has run %d containers, want 2 (the JobManager and one TaskManager every job reused)", n)
	}

	// Five at once, each wordcount on a goroutine of its own (parallel
	// subtests would run only GOMAXPROCS of them at a time).
	started = time.Now()
	outs := make([]string, 5)
	runs := make([]wordcountRun, 5)
	var wg sync.WaitGroup
	for i := range outs {
		outs[i] = fmt.Sprintf("%s-%d", outputDir(t), i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = runWordcountQuiet(t, tb, "run", "-t", "yarn-session", "-session", appID, "-input", in, "-output", outs[i])
		}()
	}
	wg.Wait()
	for i, r := range runs {
		t.Logf("concurrent job %d: exit %d\n%s", i+1, r.code, r.out)
		if r.code != 0 {
			t.Fatalf("concurrent job %d: exit %d", i+1, r.code)
		}
		checkWordcountOutput(t, tb, outs[i], want)
	}
	t.Logf("5 concurrent jobs in %s", time.Since(started).Round(time.Millisecond))
	n := len(containerDirs(tb, appID))
	t.Logf("15 jobs ran in %d containers", n)
	if n > 1+maxTMs {
		t.Errorf("the session has run %d containers for 15 jobs, want at most %d (the JobManager and at most -max-taskmanagers %d TaskManagers, reused)", n, 1+maxTMs, maxTMs)
	}
	checkSessionRunning(t, tb, name, appID, 15)
}

// TestSessionFaultIsolation: in one session a good wordcount job runs
// while a job whose tokenizer crashes in every attempt (-fail-always,
// -restarts 2) and a job whose tokenizer allocates memory until the
// NodeManager kills its TaskManager (-hog-memory, -restarts 0) fail. Each
// bad job exits non-zero with its root cause; the good job's output is
// right; the session runs on, and a job submitted after succeeds.
//
// The memory kill needs NodeManagers that check containers' memory
// (testbed.Options.MemoryCheck), which the shared beds do not: the test
// starts a bed of its own unless it was given one that does. Plain mode
// only: the isolation does not depend on the bed's security.
func TestSessionFaultIsolation(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("starts a bed of its own whose NodeManagers check memory; the isolation does not depend on security: run once, in the plain run")
	}
	if !tb.Ready.MemoryCheck {
		ctx := testContext(t, 10*time.Minute)
		started := time.Now()
		own, err := testbed.Start(ctx, testbed.Options{MemoryCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(own.Stop)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("memory-check bed log (last 60 lines of %s):\n%s", own.LogPath(), own.LogTail(60))
			}
		})
		t.Logf("a bed whose NodeManagers check memory, ready in %.1f s", time.Since(started).Seconds())
		tb = own
	}
	wordcountBinary(t)
	small, smallWant := writeLoadCorpus(t, tb, 700, 1, 64<<10)
	// The good job's 4 MiB (some 48,000 lines) with -pause-ms 400 runs for
	// some 20 s whatever the machine's speed: long enough for the bad jobs
	// to fail beside it, which the test checks.
	big, bigWant := writeLoadCorpus(t, tb, 600, 1, 4<<20)
	// TaskManagers of 192 MB: a wordcount TaskManager needs a few tens of
	// MB; the hog takes 1 GiB.
	name, appID := startLoadSession(t, tb, "f", "-min-taskmanagers", "1", "-max-taskmanagers", "4", "-tm-memory", "192", "-idle-timeout", "10m")

	type ended struct {
		r  wordcountRun
		at time.Time
	}
	run := func(args ...string) <-chan ended {
		ch := make(chan ended, 1)
		go func() {
			r := runWordcountQuiet(t, tb, append([]string{"run", "-t", "yarn-session", "-session", name}, args...)...)
			ch <- ended{r, time.Now()}
		}()
		return ch
	}
	goodOut := outputDir(t)
	good := run("-input", big, "-output", goodOut, "-parallelism", "1", "-pause-ms", "400")
	waitSessionJob(t, tb, appID, 1)

	crashOut, hogOut := outputDir(t), outputDir(t)
	crash := run("-input", small, "-output", crashOut, "-fail-always", "-restarts", "2")
	hog := run("-input", small, "-output", hogOut, "-hog-memory", "1024", "-restarts", "0")
	c, h := <-crash, <-hog
	badEnded := time.Now()
	g := <-good
	for _, e := range []struct {
		what string
		r    wordcountRun
	}{{"crashing job", c.r}, {"memory hog", h.r}, {"good job", g.r}} {
		t.Logf("%s: exit %d\n%s", e.what, e.r.code, e.r.out)
	}

	if c.r.code == 0 {
		t.Error("the job whose tokenizer always fails exited 0")
	}
	for _, s := range []string{"(3 attempt(s))", `vertex "tokenize" subtask 0/`, "failure injected by wordcount.fail=always"} {
		if !strings.Contains(c.r.out, s) {
			t.Errorf("the crashing job's output lacks %q", s)
		}
	}
	if h.r.code == 0 {
		t.Error("the memory hog exited 0")
	}
	// The TaskManager's loss names the subtasks it ran (the JobManager
	// cannot tell which one took the memory) and why YARN ended it.
	for _, s := range []string{"exit status -104", "exceeded_memory", "beyond the 'PHYSICAL' memory limit"} {
		if !strings.Contains(h.r.out, s) {
			t.Errorf("the memory hog's output lacks %q", s)
		}
	}
	if !regexp.MustCompile(`root cause: .*vertex "tokenize" subtasks? 0[/,].* \(attempt 0\): TaskManager container_\S+ on node \S+ was lost: its container ended \(exceeded_memory, exit status -104\)`).MatchString(h.r.out) {
		t.Errorf("the memory hog's root cause does not name tokenize's subtask 0 and its TaskManager killed for its memory")
	}
	// The hog's TaskManager is gone; the crashing job's, whose process
	// never failed, stays in the session for later jobs.
	if m := regexp.MustCompile(`root cause: .*TaskManager (container_\S+) on node`).FindStringSubmatch(h.r.out); m == nil {
		t.Error("the memory hog's root cause names no TaskManager")
	} else if n := containerPids(m[1]); n > 0 {
		t.Errorf("the hog's container %s still has %d process(es)", m[1], n)
	}
	if m := regexp.MustCompile(`root cause: .*failed in TaskManager (container_\S+) on node`).FindStringSubmatch(c.r.out); m == nil {
		t.Error("the crashing job's root cause names no TaskManager")
	} else if n := containerPids(m[1]); n == 0 {
		t.Errorf("the crashing job's TaskManager %s is gone: its process did not fail, the session should keep it", m[1])
	}
	checkNoOutput(t, tb, crashOut)
	checkNoOutput(t, tb, hogOut)

	if g.r.code != 0 {
		t.Fatalf("the good job: exit %d", g.r.code)
	}
	if !g.at.After(badEnded) {
		t.Errorf("the good job ended before the bad ones failed: it did not run beside them (give it more input)")
	} else {
		t.Logf("the good job ended %s after the bad ones", g.at.Sub(badEnded).Round(time.Millisecond))
	}
	checkWordcountOutput(t, tb, goodOut, bigWant)

	out := outputDir(t)
	if r := runWordcount(t, tb, "-t", "yarn-session", "-session", name, "-input", small, "-output", out); r.code != 0 {
		t.Fatalf("a job after the failed ones: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, out, smallWant)
	checkSessionRunning(t, tb, name, appID, 4)
}

// runWordcountQuiet runs `wordcount args...` as alice, as
// runWordcountCommand does, but safe on any goroutine: it neither logs
// nor fails the test (the caller does, on the test's goroutine); a
// wordcount that could not run or did not end within 5 minutes gives code
// -1 and says why in out.
func runWordcountQuiet(t *testing.T, tb *testbed.TestBed, args ...string) wordcountRun {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	cmd := exec.CommandContext(ctx, wordcountPath, args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+spindleHome(t))
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	var all, stdout lockedBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&all, &stdout), &all
	err := cmd.Run()
	r := wordcountRun{out: all.String(), stdout: stdout.String(), code: -1}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && r.code < 0 {
		r.out += fmt.Sprintf("\nwordcount %s did not finish: %v", strings.Join(args, " "), err)
	}
	return r
}

// containerPids counts the processes of a container running on this
// machine (the bed's NodeManagers are local).
func containerPids(container string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "CONTAINER_ID="+container {
				n++
				break
			}
		}
	}
	return n
}

// waitSessionJob waits until the session's tracking page shows its job
// number n (counting from 1) with subtasks running.
func waitSessionJob(t *testing.T, tb *testbed.TestBed, appID string, n int) {
	t.Helper()
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
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
			t.Fatalf("the session ended (%s, %s): %s", rep.State, rep.FinalStatus, rep.Diagnostics)
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
				last = fmt.Sprintf("%+v", st.Jobs)
				if len(st.Jobs) >= n && st.Jobs[n-1].State == "running" && st.Jobs[n-1].Subtasks.Running > 0 {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %d of %s did not run within 3 minutes; last seen: %s", n, appID, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The session benchmarks (make bench): how fast a session starts a job's
// tasks, with a TaskManager of the job's identity idle and with none, and
// what a session saves over one Application-mode deployment per job. They
// are Benchmark functions, so `go test` without -bench (make test) never
// runs them.

// timedLine is one line a client printed on stdout, with when.
type timedLine struct {
	at   time.Duration // since the client process started
	text string
}

// timedRun is one wordcount client run, its stdout line by line with
// times, and both streams together for errors.
type timedRun struct {
	lines []timedLine
	all   string
	took  time.Duration // process start to exit
}

// find returns the first stdout line matching re and its submatches.
func (r timedRun) find(re *regexp.Regexp) (timedLine, []string, bool) {
	for _, l := range r.lines {
		if m := re.FindStringSubmatch(l.text); m != nil {
			return l, m, true
		}
	}
	return timedLine{}, nil, false
}

// runWordcountTimed runs `wordcount args...` as alice on the plain bed,
// noting when each stdout line came, and fails b unless it exits 0.
func runWordcountTimed(b *testing.B, tb *testbed.TestBed, args ...string) timedRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wordcountBinary(b), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+spindleHome(b))
	var all lockedBuffer
	cmd.Stderr = &all
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var r timedRun
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		r.lines = append(r.lines, timedLine{at: time.Since(start), text: sc.Text()})
		all.Write([]byte(sc.Text() + "\n"))
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	r.took = time.Since(start)
	r.all = all.String()
	if err != nil {
		b.Fatalf("wordcount %s: %v\n%s", strings.Join(args, " "), err, tail(r.all, 40))
	}
	return r
}

var (
	sessionAppIDLine  = regexp.MustCompile(`^(application_\d+_\d+)$`)
	sessionSubmitted  = regexp.MustCompile(`^submitted job \S+ to session `)
	sessionAllRunning = regexp.MustCompile(`every subtask running or done (\d+) ms after it was submitted`)
)

// startBenchSession starts a detached session as alice with the session
// flags given and returns its application id; it is stopped when b ends
// unless stopBenchSession stopped it first.
func startBenchSession(b *testing.B, tb *testbed.TestBed, name string, flags ...string) (string, timedRun) {
	b.Helper()
	r := runWordcountTimed(b, tb, append([]string{"session", "start", "-name", name, "-d"}, flags...)...)
	_, m, ok := r.find(sessionAppIDLine)
	if !ok {
		b.Fatalf("session start printed no application id on a line of its own:\n%s", tail(r.all, 20))
	}
	appID := m[1]
	b.Cleanup(func() {
		if !benchSessionStopped[appID] {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, wordcountBinary(b), "session", "stop", "-id", appID)
			cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+spindleHome(b))
			cmd.Run()
		}
	})
	return appID, r
}

// benchSessionStopped are the sessions stopBenchSession ended (the
// benchmarks run one at a time, so no lock).
var benchSessionStopped = map[string]bool{}

func stopBenchSession(b *testing.B, tb *testbed.TestBed, appID string) timedRun {
	b.Helper()
	r := runWordcountTimed(b, tb, "session", "stop", "-id", appID)
	benchSessionStopped[appID] = true
	if !strings.Contains(r.all, "final status SUCCEEDED") {
		b.Fatalf("session stop of %s did not end it SUCCEEDED:\n%s", appID, tail(r.all, 20))
	}
	return r
}

// sessionStatusURL waits until the session's application runs with its
// JobManager registered and returns the JobManager's /api/status.
func sessionStatusURL(b *testing.B, tb *testbed.TestBed, appID string) string {
	b.Helper()
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		b.Fatal(err)
	}
	rm := rmClient(b, tb, "alice", "")
	ctx := testContext(b, 3*time.Minute)
	for {
		rep, err := rm.ApplicationReport(ctx, id)
		if err == nil && rep.State == yarn.ApplicationRunning && (rep.OriginalTrackingURL != "" || rep.TrackingURL != "") {
			u := rep.OriginalTrackingURL
			if u == "" || u == "N/A" {
				u = rep.TrackingURL
			}
			if !strings.Contains(u, "://") {
				u = "http://" + u
			}
			return strings.TrimSuffix(u, "/") + "/api/status"
		}
		if ctx.Err() != nil {
			b.Fatalf("session %s did not run within 3 minutes (last report error %v)", appID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitSessionTaskManagers waits until the session's /api/status counts
// TaskManagers that satisfy ok.
func waitSessionTaskManagers(b *testing.B, statusURL string, what string, ok func(int) bool) {
	b.Helper()
	ctx := testContext(b, 3*time.Minute)
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	last := -1
	for {
		var st startupStatus
		if err := getJSON(ctx, hc, statusURL, &st); err == nil {
			last = st.TaskManagers
			if ok(st.TaskManagers) {
				return
			}
		}
		if ctx.Err() != nil {
			b.Fatalf("the session never had %s TaskManagers within 3 minutes (last seen %d)", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// submitTiming is one job submitted to a session, each figure from the
// client process's start unless said otherwise.
type submitTiming struct {
	toSubmitted time.Duration // the session answered the submission
	clientFig   time.Duration // the client's own: submission answered → every subtask running or done
	toRunning   time.Duration // the client printed that every subtask ran
	toExit      time.Duration
}

// submitToSession runs one tiny wordcount job in the session and times it.
func submitToSession(b *testing.B, tb *testbed.TestBed, session, in string) (submitTiming, string) {
	b.Helper()
	out := fmt.Sprintf("/user/alice/session-bench-out-%d", time.Now().UnixNano())
	r := runWordcountTimed(b, tb, "run", "-t", "yarn-session", "-session", session, "-input", in, "-output", out)
	sub, _, ok1 := r.find(sessionSubmitted)
	run, m, ok2 := r.find(sessionAllRunning)
	if !ok1 || !ok2 {
		b.Fatalf("the session job's client did not print its submission and every subtask running:\n%s", tail(r.all, 30))
	}
	ms, _ := strconv.Atoi(m[1])
	return submitTiming{toSubmitted: sub.at, clientFig: time.Duration(ms) * time.Millisecond, toRunning: run.at, toExit: r.took}, out
}

// newHTTPClient is a client for the JobManager's and the RM's web
// endpoints (plain HTTP on the plain bed).
func newHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// medianMax is the median and the maximum of ds.
func medianMax(ds []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], s[n-1]
	}
	return (s[n/2-1] + s[n/2]) / 2, s[n-1]
}

func fmtMedianMax(ds []time.Duration) string {
	med, hi := medianMax(ds)
	return fmt.Sprintf("%.3f s (max %.3f)", med.Seconds(), hi.Seconds())
}

// sessionBenchCorpus is the tiny input every session benchmark job
// counts: 8 KiB of generated text in two files.
func sessionBenchCorpus(b *testing.B, tb *testbed.TestBed) benchCorpus {
	return wordcountBenchCorpus(b, tb, "session-bench-tiny-8KiB", 8<<10, 2)
}

// checkBenchOutputs checks that every output holds the corpus's counts,
// then removes it.
func checkBenchOutputs(b *testing.B, tb *testbed.TestBed, c benchCorpus, outs []string) {
	b.Helper()
	fs := stagingClient(b, tb, "alice", nil)
	for _, out := range outs {
		words, distinct := outputTotals(b, tb, out)
		if words != c.words || distinct != c.distinct {
			b.Fatalf("%s: %d words, %d distinct; corpus.Count %d, %d", out, words, distinct, c.words, c.distinct)
		}
		fs.Remove(context.Background(), out, true)
	}
}

// BenchmarkSessionSubmit times a tiny wordcount job (parallelism 2: one
// TaskManager of 2 slots) submitted to a running session, warm and cold:
//
//   - warm: a session that keeps one TaskManager (-min-taskmanagers 1),
//     which a first, unmeasured job of alice's made hers; then 10 jobs of
//     alice's, each on that idle TaskManager (checked: the session ran two
//     containers in all);
//   - cold: a session with -min-taskmanagers 0 and -idle-timeout 1s; before
//     each of 5 jobs the benchmark waits until the session has released
//     every TaskManager, so the session must ask the RM for a container
//     and start a TaskManager in it (checked: one container per job).
//
// Each job is timed by its client process (examples/wordcount run -t
// yarn-session -session NAME): from its start to the session's answer to
// the submission (the client's start-up, its look-up of the session by
// name at the RM and the submission), the client's own figure from that
// answer to every subtask running or done (its poll every 20 ms of the
// job's status), and from its start to that line. The goal is < 0.5 s
// warm; cold is reported. Run it alone, once:
//
//	go test -tags integration -run '^$' -bench BenchmarkSessionSubmit -benchtime 1x ./integration/
func BenchmarkSessionSubmit(b *testing.B) {
	tb := testbed.RequirePlain(b)
	c := sessionBenchCorpus(b, tb)
	const warmRuns, coldRuns = 10, 5
	for i := 0; i < b.N; i++ {
		type row struct {
			name       string
			runs       []submitTiming
			containers int
			load       string
		}
		var rows []row
		var outs []string

		// Warm.
		name := fmt.Sprintf("bw%d", time.Now().UnixNano()%1_000_000_000)
		appID, _ := startBenchSession(b, tb, name, "-min-taskmanagers", "1", "-max-taskmanagers", "1", "-idle-timeout", "0")
		status := sessionStatusURL(b, tb, appID)
		waitSessionTaskManagers(b, status, "1", func(n int) bool { return n >= 1 })
		_, out := submitToSession(b, tb, name, c.dir) // makes the TaskManager alice's
		outs = append(outs, out)
		warm := row{name: "warm: a TaskManager of the job's identity idle", load: loadAverage()}
		for k := 0; k < warmRuns; k++ {
			t, out := submitToSession(b, tb, name, c.dir)
			warm.runs = append(warm.runs, t)
			outs = append(outs, out)
		}
		warm.containers = len(containerDirs(tb, appID))
		stopBenchSession(b, tb, appID)
		if warm.containers != 2 {
			b.Fatalf("the warm session ran %d containers, want 2 (its JobManager and one TaskManager every job reused)", warm.containers)
		}
		rows = append(rows, warm)

		// Cold.
		name = fmt.Sprintf("bc%d", time.Now().UnixNano()%1_000_000_000)
		appID, _ = startBenchSession(b, tb, name, "-min-taskmanagers", "0", "-max-taskmanagers", "1", "-idle-timeout", "1s")
		status = sessionStatusURL(b, tb, appID)
		cold := row{name: "cold: no TaskManager (the session allocates and starts one)", load: loadAverage()}
		for k := 0; k < coldRuns; k++ {
			waitSessionTaskManagers(b, status, "no", func(n int) bool { return n == 0 })
			t, out := submitToSession(b, tb, name, c.dir)
			cold.runs = append(cold.runs, t)
			outs = append(outs, out)
		}
		cold.containers = len(containerDirs(tb, appID))
		stopBenchSession(b, tb, appID)
		if cold.containers != 1+coldRuns {
			b.Fatalf("the cold session ran %d containers, want %d (its JobManager and a new TaskManager per job)", cold.containers, 1+coldRuns)
		}
		rows = append(rows, cold)
		checkBenchOutputs(b, tb, c, outs)

		fmt.Printf("\ntiny wordcount (%d words in %d files, parallelism 2: one TaskManager of 2 slots) submitted to a running session by its client; plain test bed, Hadoop %s, %d NodeManagers, NodeManager heartbeat %s, %d cores; median (max)\n\n",
			c.words, c.files, tb.Ready.HadoopVersion, tb.Ready.NodeManagers, nmHeartbeat(b, tb), runtime.NumCPU())
		fmt.Println("| TaskManagers | runs | client start → submission answered | submission answered → every subtask running (client's figure) | client start → every subtask running | client start → exit | load average before |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, r := range rows {
			col := func(f func(submitTiming) time.Duration) string {
				var ds []time.Duration
				for _, t := range r.runs {
					ds = append(ds, f(t))
				}
				return fmtMedianMax(ds)
			}
			fmt.Printf("| %s | %d | %s | %s | %s | %s | %s |\n", r.name, len(r.runs),
				col(func(t submitTiming) time.Duration { return t.toSubmitted }),
				col(func(t submitTiming) time.Duration { return t.clientFig }),
				col(func(t submitTiming) time.Duration { return t.toRunning }),
				col(func(t submitTiming) time.Duration { return t.toExit }), r.load)
		}
		var warmFig, warmE2E []time.Duration
		for _, t := range rows[0].runs {
			warmFig = append(warmFig, t.clientFig)
			warmE2E = append(warmE2E, t.toRunning)
		}
		med, hi := medianMax(warmFig)
		e2e, _ := medianMax(warmE2E)
		verdict := "met"
		if hi >= 500*time.Millisecond {
			verdict = "not met"
		}
		fmt.Printf("\nwarm, submission answered → every subtask running: median %.3f s, max %.3f s (goal < 0.5 s: %s); from the client's start: median %.3f s\n\n",
			med.Seconds(), hi.Seconds(), verdict, e2e.Seconds())
		b.ReportMetric(med.Seconds(), "warm-s")
		cmed, _ := medianMax(func() []time.Duration {
			var ds []time.Duration
			for _, t := range rows[1].runs {
				ds = append(ds, t.clientFig)
			}
			return ds
		}())
		b.ReportMetric(cmed.Seconds(), "cold-s")
	}
}

// rmJMXSettle is how long rmRPCCalls polls the RM's JMX before it
// trusts a reading. Hadoop's metrics system serves JMX from a cache that
// a read refreshes only once a period (10 s by default, and on the test
// bed: a call shows in JMX up to 10 s late). Polling for longer than that
// makes the last value one refreshed after the poll began.
const rmJMXSettle = 12 * time.Second

// rmCounts are the RM's RPC calls so far on its client port
// (yarn.resourcemanager.address) and its scheduler port (the AMs'), and
// the applications submitted to it so far.
type rmCounts struct {
	client, scheduler, apps int64
}

// rmRPCCalls reads the RM's counts as they were when it was called, give
// or take the calls made while it polls (rmJMXSettle): RpcQueueTimeNumOps
// of the RM's RpcActivityForPort beans in JMX and appsSubmitted of its
// REST cluster metrics (HTTP, so not counted itself). In the test bed all
// daemons share one JVM, so the beans carry whichever service registered
// metrics first; they are told apart by port.
func rmRPCCalls(b *testing.B, tb *testbed.TestBed) rmCounts {
	b.Helper()
	rm := tb.Ready.ResourceManagers[0]
	port := func(addr string) string {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			b.Fatalf("RM address %q: %v", addr, err)
		}
		return p
	}
	clientPort, schedPort := port(rm.RPC), port(rm.Scheduler)
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	ctx := testContext(b, 2*time.Minute)
	var c rmCounts
	for end := time.Now().Add(rmJMXSettle); ; time.Sleep(500 * time.Millisecond) {
		var jmx struct {
			Beans []struct {
				Port string `json:"tag.port"`
				Ops  int64  `json:"RpcQueueTimeNumOps"`
			} `json:"beans"`
		}
		if err := getJSON(ctx, hc, rm.Web+"/jmx?qry=Hadoop:service=*,name=RpcActivityForPort*", &jmx); err != nil {
			b.Fatalf("the RM's JMX: %v", err)
		}
		found := 0
		for _, bean := range jmx.Beans {
			switch bean.Port {
			case clientPort:
				c.client = bean.Ops
				found++
			case schedPort:
				c.scheduler = bean.Ops
				found++
			}
		}
		if found != 2 {
			b.Fatalf("the RM's JMX has no RpcActivityForPort bean for port %s or %s", clientPort, schedPort)
		}
		if time.Now().After(end) {
			break
		}
	}
	var m struct {
		ClusterMetrics struct {
			AppsSubmitted int64 `json:"appsSubmitted"`
		} `json:"clusterMetrics"`
	}
	if err := getJSON(ctx, hc, rm.Web+"/ws/v1/cluster/metrics", &m); err != nil {
		b.Fatalf("the RM's cluster metrics: %v", err)
	}
	c.apps = m.ClusterMetrics.AppsSubmitted
	return c
}

// sessionBenchJobs is SPINDLE_SESSION_BENCH_JOBS, or 50.
func sessionBenchJobs(b *testing.B) int {
	b.Helper()
	v := os.Getenv("SPINDLE_SESSION_BENCH_JOBS")
	if v == "" {
		return 50
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("SPINDLE_SESSION_BENCH_JOBS=%q: want a whole number of jobs, at least 1", v)
	}
	return n
}

var jobFinishedIn = regexp.MustCompile(`^job \S+ finished in (\S+) \(`)

// benchHalf is one half of the comparison: its wall time, the RM's
// counts over it, the machine's load, and per job the client's wall time
// and, for session jobs, the time to the session's answer and the job's
// own run in the JobManager (created to finished).
type benchHalf struct {
	took                  time.Duration
	calls                 rmCounts // differences over the half; apps: others' applications
	loadBefore, loadAfter string
	perJob, toSubmitted   []time.Duration
	inJobManager          []time.Duration
}

// BenchmarkSessionVersusApplication runs the same tiny wordcount job 50
// times one after another (SPINDLE_SESSION_BENCH_JOBS sets how many), as
// alice, parallelism 2 (one TaskManager of 2 slots):
//
//   - through one session: session start (detached, one TaskManager kept),
//     the jobs (run -t yarn-session -session NAME), session stop;
//   - as one Application-mode deployment each (run -t yarn-application):
//     an application, its JobManager and its TaskManager per job.
//
// It prints each half's wall time (the session's start and stop
// included), the RM's RPC calls over each half on its client port and its
// scheduler port (RpcQueueTimeNumOps from the RM's JMX, read before and
// after: RM-side counts, whoever called), and the ratio of the wall
// times; the goal is the session ≥ 5× faster. The benchmark makes no RPC
// call to the RM inside either half, and reads the counts only after the
// JMX cache has caught up (rmJMXSettle, about 12 s per reading). On a bed
// shared with other tests the counts include their calls too: the table
// shows how many applications others submitted meanwhile (0 means the
// counts are very likely ours alone; other clients' reports and
// heartbeats of others' running AMs would still count). A second table
// splits a session job's time. Every output is checked against
// corpus.Count afterwards. Run it alone, once:
//
//	go test -tags integration -run '^$' -bench BenchmarkSessionVersusApplication -benchtime 1x -timeout 60m ./integration/
func BenchmarkSessionVersusApplication(b *testing.B) {
	tb := testbed.RequirePlain(b)
	c := sessionBenchCorpus(b, tb)
	jobs := sessionBenchJobs(b)
	wordcountBinary(b) // built before the clock runs
	for i := 0; i < b.N; i++ {
		var outs []string
		// measure runs f (which returns how many applications it
		// submitted) between two settled readings of the RM's counts.
		before := rmRPCCalls(b, tb)
		measure := func(f func(h *benchHalf) int64) benchHalf {
			h := benchHalf{loadBefore: loadAverage()}
			start := time.Now()
			mine := f(&h)
			h.took = time.Since(start)
			h.loadAfter = loadAverage()
			after := rmRPCCalls(b, tb)
			h.calls = rmCounts{client: after.client - before.client, scheduler: after.scheduler - before.scheduler,
				apps: after.apps - before.apps - mine}
			before = after
			if h.calls.client <= 0 || h.calls.scheduler <= 0 {
				b.Fatalf("the RM's JMX counted %d client and %d scheduler calls over a half that submitted %d application(s): stale",
					h.calls.client, h.calls.scheduler, mine)
			}
			return h
		}

		name := fmt.Sprintf("bv%d", time.Now().UnixNano()%1_000_000_000)
		var appID string
		sess := measure(func(h *benchHalf) int64 {
			appID, _ = startBenchSession(b, tb, name, "-min-taskmanagers", "1", "-max-taskmanagers", "1", "-idle-timeout", "0")
			for k := 0; k < jobs; k++ {
				out := fmt.Sprintf("/user/alice/session-bench-out-%d", time.Now().UnixNano())
				r := runWordcountTimed(b, tb, "run", "-t", "yarn-session", "-session", name, "-input", c.dir, "-output", out)
				outs = append(outs, out)
				sub, _, ok1 := r.find(sessionSubmitted)
				_, m, ok2 := r.find(jobFinishedIn)
				if !ok1 || !ok2 {
					b.Fatalf("the session job's client printed no submission or no finished job:\n%s", tail(r.all, 30))
				}
				d, err := time.ParseDuration(m[1])
				if err != nil {
					b.Fatalf("the session job's duration %q: %v", m[1], err)
				}
				h.perJob = append(h.perJob, r.took)
				h.toSubmitted = append(h.toSubmitted, sub.at)
				h.inJobManager = append(h.inJobManager, d)
			}
			stopBenchSession(b, tb, appID)
			return 1
		})
		if n := len(containerDirs(tb, appID)); n != 2 {
			b.Fatalf("the session ran %d containers, want 2 (its JobManager and one TaskManager every job reused)", n)
		}

		app := measure(func(h *benchHalf) int64 {
			for k := 0; k < jobs; k++ {
				out := fmt.Sprintf("/user/alice/application-bench-out-%d", time.Now().UnixNano())
				r := runWordcountTimed(b, tb, "run", "-t", "yarn-application", "-input", c.dir, "-output", out)
				if appIDPattern.FindString(r.all) == "" {
					b.Fatalf("the Application-mode client named no application:\n%s", tail(r.all, 20))
				}
				outs = append(outs, out)
				h.perJob = append(h.perJob, r.took)
			}
			return int64(jobs)
		})
		checkBenchOutputs(b, tb, c, outs)

		ratio := app.took.Seconds() / sess.took.Seconds()
		fmt.Printf("\n%d tiny wordcount jobs (%d words in %d files, parallelism 2: one TaskManager of 2 slots) one after another, each by its own client process; plain test bed, Hadoop %s, %d NodeManagers, NodeManager heartbeat %s, %d cores\n\n",
			jobs, c.words, c.files, tb.Ready.HadoopVersion, tb.Ready.NodeManagers, nmHeartbeat(b, tb), runtime.NumCPU())
		fmt.Println("| how | wall time | client per job, median (max) | RM calls, client port | RM calls, scheduler port | others' applications meanwhile | load average before → after |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, row := range []struct {
			name string
			h    benchHalf
		}{
			{fmt.Sprintf("one session (start, %d jobs, stop)", jobs), sess},
			{fmt.Sprintf("%d Application-mode deployments", jobs), app},
		} {
			fmt.Printf("| %s | %.1f s | %s | %d | %d | %d | %s → %s |\n", row.name, row.h.took.Seconds(), fmtMedianMax(row.h.perJob),
				row.h.calls.client, row.h.calls.scheduler, row.h.calls.apps, row.h.loadBefore, row.h.loadAfter)
		}
		verdict := "met"
		if ratio < 5 {
			verdict = "not met"
		}
		fmt.Printf("\nApplication mode ÷ session, wall time: %.1f× (goal ≥ 5×: %s); RM calls: %.1f× on the client port, %.1f× on the scheduler port\n\n",
			ratio, verdict, float64(app.calls.client)/float64(sess.calls.client), float64(app.calls.scheduler)/float64(sess.calls.scheduler))
		fmt.Println("A session job's client, median (max):")
		fmt.Println()
		fmt.Println("| client start → session's answer to the submission | job in the JobManager (created → finished) | client start → exit |")
		fmt.Println("|---|---|---|")
		fmt.Printf("| %s | %s | %s |\n\n", fmtMedianMax(sess.toSubmitted), fmtMedianMax(sess.inJobManager), fmtMedianMax(sess.perJob))
		b.ReportMetric(sess.took.Seconds(), "session-s")
		b.ReportMetric(app.took.Seconds(), "application-s")
		b.ReportMetric(ratio, "application/session")
	}
}

//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// mapReduceWordCount is Hadoop MapReduce's WordCount, from the 3.4.2
// hadoop-mapreduce-examples jar on the test bed's classpath (no 3.5.0 is
// published), run against the bed's 3.5.0 MapReduce jars.
const mapReduceWordCount = "org.apache.hadoop.examples.WordCount"

// wordcountBenchParallelism is Spindle's parallelism in the benchmarks:
// one subtask of every vertex per input file, 4 TaskManagers of 2 slots.
const wordcountBenchParallelism = 8

// benchCorpus is generated text in HDFS: files files of equal size under
// dir, and what corpus.Count makes of it.
type benchCorpus struct {
	dir      string
	size     int64
	files    int
	words    int64 // every occurrence
	distinct int64
}

// wordcountBenchCorpus writes size bytes of generated text into files
// files (corpus.Generate, seeds 1..files) under /user/alice/<name>, with
// 128 MiB blocks, and counts its words locally. The text depends only on
// the seeds and sizes, so a corpus a previous run left complete (its
// counts file, written last, exists) is reused: generating 1 GiB and
// writing it takes minutes on the bed machine.
func wordcountBenchCorpus(b *testing.B, tb *testbed.TestBed, name string, size int64, files int) benchCorpus {
	b.Helper()
	ctx := testContext(b, 30*time.Minute)
	fs := stagingClient(b, tb, "alice", nil)
	c := benchCorpus{dir: "/user/alice/" + name, size: size, files: files}
	countsFile := c.dir + ".counts"
	if data, err := fs.ReadFile(ctx, countsFile); err == nil {
		if _, err := fmt.Sscanf(string(data), "%d %d", &c.words, &c.distinct); err == nil && c.words > 0 {
			return c
		}
	}
	fs.Remove(ctx, c.dir, true)
	all := map[string]int64{}
	buf := new(bytes.Buffer)
	for i := 0; i < files; i++ {
		buf.Reset()
		if err := corpus.Generate(buf, uint64(1+i), size/int64(files)); err != nil {
			b.Fatal(err)
		}
		w, err := fs.Create(ctx, path.Join(c.dir, fmt.Sprintf("text-%02d.txt", i)), hdfs.CreateOptions{BlockSize: 128 << 20})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
		if err := closeRetrying(ctx, w); err != nil {
			b.Fatal(err)
		}
		counts, err := corpus.Count(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		for word, n := range counts {
			all[word] += n
		}
	}
	for _, n := range all {
		c.words += n
	}
	c.distinct = int64(len(all))
	w, err := fs.Create(ctx, countsFile, hdfs.CreateOptions{})
	if err == nil {
		fmt.Fprintf(w, "%d %d\n", c.words, c.distinct)
		err = closeRetrying(ctx, w)
	}
	if err != nil {
		b.Fatalf("writing %s: %v", countsFile, err)
	}
	return c
}

// benchSizeMiB is SPINDLE_WORDCOUNT_BENCH_MIB, or def.
func benchSizeMiB(b *testing.B, def int64) int64 {
	b.Helper()
	v := os.Getenv("SPINDLE_WORDCOUNT_BENCH_MIB")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 8 {
		b.Fatalf("SPINDLE_WORDCOUNT_BENCH_MIB=%q: want a whole number of MiB, at least 8", v)
	}
	return n
}

// outputTotals sums the word<TAB>count lines of the part files in dir:
// every occurrence and the distinct words.
func outputTotals(b *testing.B, tb *testbed.TestBed, dir string) (words, distinct int64) {
	b.Helper()
	ctx := testContext(b, 5*time.Minute)
	fs := stagingClient(b, tb, "alice", nil)
	entries, err := fs.ReadDir(ctx, dir)
	if err != nil {
		b.Fatalf("reading the output %s: %v", dir, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, "part-") {
			continue
		}
		data, err := fs.ReadFile(ctx, path.Join(dir, e.Name))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			i := strings.LastIndexByte(sc.Text(), '\t')
			n, err := strconv.ParseInt(sc.Text()[i+1:], 10, 64)
			if i < 0 || err != nil {
				b.Fatalf("%s: line %q is not word<TAB>count", e.Name, sc.Text())
			}
			words += n
			distinct++
		}
	}
	return words, distinct
}

// runSpindleWordcount runs examples/wordcount as alice to its end and
// returns its wall time, from process start to exit.
func runSpindleWordcount(b *testing.B, tb *testbed.TestBed, args ...string) (time.Duration, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wordcountBinary(b), append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("wordcount %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 40))
	}
	return took, string(out)
}

// mapReduceConf is a copy of the test bed's client configuration that runs
// MapReduce jobs on the bed's YARN: mapred-site.xml names the yarn
// framework, puts the bed's classpath (every Hadoop 3.5.0 jar, resolved by
// Maven into ~/.m2) on the AM's and tasks' classpath, since the
// NodeManagers run containers as local processes of this machine and there
// is no Hadoop installation for the default ($HADOOP_MAPRED_HOME/...) to
// point at, and leaves the JobHistoryServer address empty (none runs; the
// client then takes a finished job's state from the RM). The bed's own
// files hold every key the bed's JVM knew, mapred-default's too
// (mapreduce.framework.name=local); those are dropped from the copies,
// since hdfs-site.xml and yarn-site.xml load after mapred-site.xml and
// would win.
func mapReduceConf(b *testing.B, tb *testbed.TestBed) string {
	b.Helper()
	cp, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
	if err != nil {
		b.Fatalf("the test bed's classpath (make testbed-build): %v", err)
	}
	dir := b.TempDir()
	mapredKey := regexp.MustCompile(`(?m)^<property><name>(mapreduce|mapred|yarn\.app\.mapreduce)\.[^\n]*</property>\n`)
	files, _ := filepath.Glob(filepath.Join(tb.Ready.ConfDir, "*.xml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), mapredKey.ReplaceAll(data, nil), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	props := [][2]string{
		{"mapreduce.framework.name", "yarn"},
		{"mapreduce.application.classpath", strings.ReplaceAll(strings.TrimSpace(string(cp)), ":", ",")},
		{"mapreduce.jobhistory.address", ""},
	}
	var x strings.Builder
	x.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for _, p := range props {
		fmt.Fprintf(&x, "<property><name>%s</name><value>%s</value></property>\n", p[0], p[1])
	}
	x.WriteString("</configuration>\n")
	if err := os.WriteFile(filepath.Join(dir, "mapred-site.xml"), []byte(x.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// runMapReduceWordCount runs Hadoop's WordCount client (a JVM on this
// machine) as alice to its end and returns its wall time, from process
// start to exit, and the CPU time its tasks spent (the job's counter).
func runMapReduceWordCount(b *testing.B, tb *testbed.TestBed, conf, in, out string) (time.Duration, time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Minute)
	defer cancel()
	cp, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
	if err != nil {
		b.Fatal(err)
	}
	args := append(strings.Fields(tb.Ready.JavaOpts), "-cp", conf+":"+strings.TrimSpace(string(cp)), mapReduceWordCount, in, out)
	cmd := exec.CommandContext(ctx, "java", args...)
	cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=alice")
	start := time.Now()
	output, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil || !strings.Contains(string(output), "completed successfully") {
		b.Fatalf("MapReduce WordCount: %v\n%s", err, tail(string(output), 60))
	}
	if appIDPattern.FindString(string(output)) == "" {
		b.Fatalf("MapReduce WordCount ran no YARN application (the LocalJobRunner?):\n%s", tail(string(output), 60))
	}
	var cpu time.Duration
	if m := regexp.MustCompile(`CPU time spent \(ms\)=(\d+)`).FindSubmatch(output); m != nil {
		ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
		cpu = time.Duration(ms) * time.Millisecond
	}
	return took, cpu
}

// loadAverage is the machine's 1-minute load average, from /proc/loadavg:
// the benchmarks share the machine with whatever else runs, and this says
// how busy it was.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// BenchmarkWordcountVersusMapReduce counts the words of 1 GiB of generated
// text (corpus.Generate, 8 files of 128 MiB, one HDFS block each) with
// examples/wordcount in Application mode (parallelism 8: 4 TaskManagers of
// 2 slots) and with Hadoop MapReduce's WordCount (the 3.4.2 examples jar on
// the bed's 3.5.0 MapReduce, Hadoop's default settings: 8 maps, 1 reduce,
// 1 GiB containers), one after the other on the same plain test bed, and
// prints their wall times (client process start to exit, JVM start-up and
// Spindle's upload of its binary included), the ratio, MapReduce's tasks'
// CPU time (its job counter) and the 1-minute load average before each
// run: the machine is shared, and a busy one slows the JVMs' start-up
// most. Spindle's total of counts and of distinct words must equal
// corpus.Count's; MapReduce splits words on whitespace only (keeping
// punctuation and case), so its totals are reported, not checked.
//
// MapReduce needs the bed's NodeManagers to run its shuffle service: start
// the bed with SPINDLE_TESTBED_MAPREDUCE=1 (or run.sh DIR --mapreduce, as
// run-bench.sh does). On a bed without it, Spindle runs alone.
// SPINDLE_WORDCOUNT_BENCH_MIB sets the size (run-bench.sh's QUICK=1: 256).
// Run it alone, once:
//
//	SPINDLE_TESTBED_MAPREDUCE=1 go test -tags integration -run '^$' \
//	  -bench BenchmarkWordcountVersusMapReduce -benchtime 1x -timeout 120m ./integration/
func BenchmarkWordcountVersusMapReduce(b *testing.B) {
	tb := testbed.RequirePlain(b)
	mib := benchSizeMiB(b, 1024)
	c := wordcountBenchCorpus(b, tb, fmt.Sprintf("wordcount-bench-%dMiB", mib), mib<<20, 8)
	var mrConf string
	if tb.Ready.MapReduce {
		mrConf = mapReduceConf(b, tb)
	}
	fs := stagingClient(b, tb, "alice", nil)
	for i := 0; i < b.N; i++ {
		suffix := time.Now().UnixNano()
		spOut := fmt.Sprintf("/user/alice/wordcount-bench-out-%d", suffix)
		spLoad := loadAverage()
		spTook, spLog := runSpindleWordcount(b, tb, "-t", "yarn-application", "-input", c.dir, "-output", spOut,
			"-parallelism", fmt.Sprint(wordcountBenchParallelism))
		spWords, spDistinct := outputTotals(b, tb, spOut)
		if spWords != c.words || spDistinct != c.distinct {
			b.Fatalf("Spindle counted %d words, %d distinct; corpus.Count %d, %d\n%s", spWords, spDistinct, c.words, c.distinct, tail(spLog, 30))
		}
		fs.Remove(context.Background(), spOut, true)

		var mrTook, mrCPU time.Duration
		var mrLoad string
		var mrWords, mrDistinct int64
		if mrConf != "" {
			mrOut := fmt.Sprintf("/user/alice/mapreduce-bench-out-%d", suffix)
			mrLoad = loadAverage()
			mrTook, mrCPU = runMapReduceWordCount(b, tb, mrConf, c.dir, mrOut)
			mrWords, mrDistinct = outputTotals(b, tb, mrOut)
			fs.Remove(context.Background(), mrOut, true)
		}

		fmt.Printf("\n%.0f MiB of generated text in %d files (%d words, %d distinct); plain test bed, Hadoop %s, %d NodeManagers, %d cores on the machine\n\n",
			float64(c.size)/(1<<20), c.files, c.words, c.distinct, tb.Ready.HadoopVersion, tb.Ready.NodeManagers, runtime.NumCPU())
		fmt.Println("| job | wall time | MiB/s | tasks' CPU time | words counted | distinct words | load average before |")
		fmt.Println("|---|---|---|---|---|---|---|")
		fmt.Printf("| Spindle wordcount, Application mode, parallelism %d | %.1f s | %.1f | | %d | %d | %s |\n", wordcountBenchParallelism,
			spTook.Seconds(), float64(c.size)/(1<<20)/spTook.Seconds(), spWords, spDistinct, spLoad)
		if mrConf == "" {
			fmt.Println("| Hadoop MapReduce WordCount (3.4.2 examples) | not run: the bed has no shuffle service (SPINDLE_TESTBED_MAPREDUCE=1) | | | | | |")
		} else {
			fmt.Printf("| Hadoop MapReduce WordCount (3.4.2 examples), defaults: 1 reduce | %.1f s | %.1f | %.0f s | %d (whitespace-split) | %d | %s |\n",
				mrTook.Seconds(), float64(c.size)/(1<<20)/mrTook.Seconds(), mrCPU.Seconds(), mrWords, mrDistinct, mrLoad)
			fmt.Printf("\nSpindle ÷ MapReduce wall time: %.2f× (goal ≤ 0.3×)\n", spTook.Seconds()/mrTook.Seconds())
		}
		fmt.Println()
		b.ReportMetric(spTook.Seconds(), "spindle-s")
		if mrConf != "" {
			b.ReportMetric(mrTook.Seconds(), "mapreduce-s")
			b.ReportMetric(spTook.Seconds()/mrTook.Seconds(), "spindle/mapreduce")
		}
	}
}

// startupStatus is the part of the JobManager's /api/status the startup
// benchmark reads.
type startupStatus struct {
	TaskManagers int `json:"taskmanagers"`
	Jobs         []struct {
		State    string `json:"state"`
		Subtasks struct {
			Running  int `json:"running"`
			Finished int `json:"finished"`
			Total    int `json:"total"`
		} `json:"subtasks"`
	} `json:"jobs"`
}

// allStarted: some job has subtasks, every one running or finished.
func (s startupStatus) allStarted() bool {
	for _, j := range s.Jobs {
		if t := j.Subtasks.Total; t > 0 && j.Subtasks.Running+j.Subtasks.Finished == t {
			return true
		}
	}
	return false
}

// startupRun is one run of the startup benchmark, each time from the
// client process's start.
type startupRun struct {
	toTracking time.Duration // the client printed the JobManager's tracking URL
	toTMs      time.Duration // /api/status first showed every TaskManager registered
	toRunning  time.Duration // /api/status first showed every subtask running or finished
	toExit     time.Duration // the client exited
}

var trackingURLPattern = regexp.MustCompile(`tracking URL (\S+)`)

// measureStartup runs wordcount with args and times it from the process's
// start to the first answer of the JobManager's /api/status showing every
// subtask of the job running or finished. It polls every 10 ms from the
// moment the client prints the tracking URL (the client's own poll of the
// RM, every 250 ms, sees the application RUNNING), so a reading is late by
// at most 10 ms plus one status request.
func measureStartup(b *testing.B, tb *testbed.TestBed, taskManagers int, args ...string) startupRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wordcountBinary(b), append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	var all lockedBuffer
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = &all
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	var r startupRun
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	running, tms := make(chan time.Duration, 1), make(chan time.Duration, 1)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		all.Write([]byte(line + "\n"))
		m := trackingURLPattern.FindStringSubmatch(line)
		if m == nil || r.toTracking != 0 {
			continue
		}
		r.toTracking = time.Since(start)
		u := strings.TrimSuffix(m[1], "/") + "/api/status"
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		go func() {
			sawTMs := false
			for ctx.Err() == nil {
				var st startupStatus
				if err := getJSON(ctx, hc, u, &st); err == nil {
					at := time.Since(start)
					if !sawTMs && st.TaskManagers >= taskManagers {
						sawTMs = true
						tms <- at
					}
					if st.allStarted() {
						running <- at
						return
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	err = cmd.Wait()
	r.toExit = time.Since(start)
	if err != nil {
		b.Fatalf("wordcount %s: %v\n%s", strings.Join(args, " "), err, tail(all.String(), 40))
	}
	select {
	case r.toTMs = <-tms:
	default:
	}
	select {
	case r.toRunning = <-running:
	default:
		b.Fatalf("wordcount %s ended before /api/status showed every subtask started\n%s", strings.Join(args, " "), tail(all.String(), 40))
	}
	return r
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// BenchmarkWordcountStartup times wordcount (parallelism 8: a JobManager
// and 4 TaskManagers, 32 subtasks) from the client process's start to
// every subtask running, in Application and Per-Job modes, 3 runs each on
// 32 MiB of text (enough that no subtask ends before it is seen running),
// and prints the medians, minima and maxima: to the tracking URL printed
// (the application RUNNING: submitted, its AM container started, and the
// JobManager registered), to every TaskManager registered and to every
// subtask running or finished (both read from the JobManager's
// /api/status, polled every 10 ms), and to the client's exit. The goal is ≤ 3 s to every subtask running. Run it alone, once:
//
//	go test -tags integration -run '^$' -bench BenchmarkWordcountStartup -benchtime 1x ./integration/
func BenchmarkWordcountStartup(b *testing.B) {
	tb := testbed.RequirePlain(b)
	c := wordcountBenchCorpus(b, tb, "wordcount-bench-startup-32MiB", 32<<20, 8)
	fs := stagingClient(b, tb, "alice", nil)
	const runs = 3
	for i := 0; i < b.N; i++ {
		fmt.Printf("\nwordcount from the client's start to every subtask running; parallelism %d (%d TaskManagers of 2 slots), %.0f MiB input; plain test bed, NodeManager heartbeat %s, %d cores, load average %s at the start; %d runs per mode, median (min–max)\n\n",
			wordcountBenchParallelism, wordcountBenchParallelism/2, float64(c.size)/(1<<20), nmHeartbeat(b, tb), runtime.NumCPU(), loadAverage(), runs)
		fmt.Println("| mode | → tracking URL (JobManager up) | → every TaskManager registered | → every subtask running | → client exit |")
		fmt.Println("|---|---|---|---|---|")
		for _, target := range []string{"yarn-application", "yarn-per-job"} {
			var rs []startupRun
			for k := 0; k < runs; k++ {
				out := fmt.Sprintf("/user/alice/wordcount-startup-out-%d", time.Now().UnixNano())
				rs = append(rs, measureStartup(b, tb, wordcountBenchParallelism/2, "-t", target, "-input", c.dir, "-output", out,
					"-parallelism", fmt.Sprint(wordcountBenchParallelism)))
				fs.Remove(context.Background(), out, true)
			}
			col := func(f func(startupRun) time.Duration) (string, time.Duration) {
				var ds []time.Duration
				for _, r := range rs {
					ds = append(ds, f(r))
				}
				slices.Sort(ds)
				med := ds[len(ds)/2]
				return fmt.Sprintf("%.2f s (%.2f–%.2f)", med.Seconds(), ds[0].Seconds(), ds[len(ds)-1].Seconds()), med
			}
			tr, _ := col(func(r startupRun) time.Duration { return r.toTracking })
			tm, _ := col(func(r startupRun) time.Duration { return r.toTMs })
			run, med := col(func(r startupRun) time.Duration { return r.toRunning })
			ex, _ := col(func(r startupRun) time.Duration { return r.toExit })
			fmt.Printf("| %s | %s | %s | %s | %s |\n", target, tr, tm, run, ex)
			b.ReportMetric(med.Seconds(), "s-to-running-"+strings.TrimPrefix(target, "yarn-"))
		}
		fmt.Println()
	}
}

//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

// distShellClient is Hadoop's Java DistributedShell client, from the same
// 3.4.2 jar as its ApplicationMaster (distShellAM).
const distShellClient = "org.apache.hadoop.yarn.applications.distributedshell.Client"

// BenchmarkDshellVersusDistributedShell runs N containers of /bin/true end
// to end (client start to client exit, JVM start-up included) with
// examples/dshell (its AM on yarn/engine) and with Hadoop's Java
// DistributedShell (3.4.2 client and AM), one after the other on the same
// plain test bed, for N = 8 and 64, and dshell alone for N = 256 (the AM
// memory goal). It prints Markdown tables of wall time, the clients' peak
// RSS (the kernel's ru_maxrss of the client process), where the time
// goes (client start to submission, to dshell's AM registered and
// unregistering, to the end seen by the client, to exit), the AMs' peak RSS
// (VmHWM of the AM container's processes, read from /proc every 50 ms
// while the application runs: a high-water mark, so a late reading misses
// only growth in the last 50 ms), and, from dshell's AM log, the time from
// registration to every container allocated, started and ended, beside
// three NodeManager heartbeats. Before the first measured run, one
// unmeasured run of each with 8 containers warms the bed's JVM (its
// NodeManagers' code is compiled by then), so the cold bed's cost does
// not fall on whichever side happens to run first. Run it alone, once:
//
//	SPINDLE_TESTBED_DIR=/tmp/tb go test -tags integration -run '^$' \
//	  -bench BenchmarkDshellVersusDistributedShell -benchtime 1x ./integration/
func BenchmarkDshellVersusDistributedShell(b *testing.B) {
	tb := testbed.RequirePlain(b)
	bin := dshellBinary(b)
	jconf := distShellConf(b, tb)
	nmBeat := nmHeartbeat(b, tb)
	benchDshell(b, tb, bin, 8)
	benchJavaDistShell(b, tb, jconf, 8)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		type pair struct {
			n              int
			goRun, javaRun shellRun
		}
		var rows []pair
		for _, n := range dshellBenchSizes(b) {
			p := pair{n: n, goRun: benchDshell(b, tb, bin, n)}
			if n <= 64 {
				p.javaRun = benchJavaDistShell(b, tb, jconf, n)
			}
			rows = append(rows, p)
		}

		fmt.Printf("\nN containers of /bin/true, end to end (client start to exit); plain test bed, Hadoop %s, NodeManager heartbeat %s\n\n",
			tb.Ready.HadoopVersion, nmBeat)
		fmt.Println("| N | dshell (Go) | DistributedShell (Java 3.4.2) | Go ÷ Java | client peak RSS, Go / Java | AM peak RSS, Go / Java |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, p := range rows {
			if p.javaRun.appID == "" {
				fmt.Printf("| %d | %.1f s | (not run) | | %s / - | %s / - |\n", p.n, p.goRun.took.Seconds(), mibOf(p.goRun.clientKiB), mibOf(p.goRun.amKiB))
				continue
			}
			fmt.Printf("| %d | %.1f s | %.1f s | %.2f× | %s / %s | %s / %s |\n", p.n, p.goRun.took.Seconds(), p.javaRun.took.Seconds(),
				p.goRun.took.Seconds()/p.javaRun.took.Seconds(), mibOf(p.goRun.clientKiB), mibOf(p.javaRun.clientKiB), mibOf(p.goRun.amKiB), mibOf(p.javaRun.amKiB))
		}
		fmt.Printf("\ndshell's AM (yarn/engine): from registration to every container allocated and to every one started; 3 NodeManager heartbeats = %s\n\n", 3*nmBeat)
		fmt.Println("| N | registered → all allocated | registered → all started | registered → all ended | AM peak RSS (its own VmHWM) |")
		fmt.Println("|---|---|---|---|---|")
		for _, p := range rows {
			fmt.Printf("| %d | %s | %s | %s | %s |\n", p.n, p.goRun.toAllocated, p.goRun.toStarted, p.goRun.toEnded, mibOf(p.goRun.amSelfKiB))
		}
		fmt.Println("\nWhere the time goes, from client start: the client's line saying it submitted, (dshell: its AM registered, its AM unregistering once every container ended, from the AM's log,) the client's line saying the application finished (its poll included), and exit")
		fmt.Println()
		fmt.Println("| N | client | submitted | AM registered | AM unregistering | finished seen | exit |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, p := range rows {
			g := p.goRun
			fmt.Printf("| %d | dshell | %s | %s | %s | %s | %s |\n", p.n, phase(g.toSubmitted), phase(g.toRegistered), phase(g.toUnregistering), phase(g.toFinished), phase(g.took))
			if j := p.javaRun; j.appID != "" {
				fmt.Printf("| %d | Java | %s | | | %s | %s |\n", p.n, phase(j.toSubmitted), phase(j.toFinished), phase(j.took))
			}
		}
		fmt.Println()
		for _, p := range rows {
			if p.n == 64 {
				b.ReportMetric(p.goRun.took.Seconds()/p.javaRun.took.Seconds(), "go/java-64")
			}
		}
	}
}

// dshellBenchSizes are the N to run: $SPINDLE_DSHELL_BENCH_SIZES
// (comma-separated, e.g. 64 for a quick look at the goal), else 8, 64 and
// 256.
func dshellBenchSizes(b *testing.B) []int {
	v := os.Getenv("SPINDLE_DSHELL_BENCH_SIZES")
	if v == "" {
		return []int{8, 64, 256}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("SPINDLE_DSHELL_BENCH_SIZES=%q: want positive numbers, comma-separated", v)
		}
		out = append(out, n)
	}
	return out
}

// shellRun is one end-to-end run of a DistributedShell.
type shellRun struct {
	appID string
	took  time.Duration
	// toSubmitted is client start → the client's line saying it
	// submitted; toFinished → the client's line saying the application
	// finished (the client's poll included); the rest of took is the
	// client's exit after that.
	toSubmitted, toFinished time.Duration
	// dshell only, from its AM's log: client start → the AM registered
	// (submission, AM container allocation, localization and start), and
	// → the AM unregistering (every container ended).
	toRegistered, toUnregistering time.Duration
	clientKiB                     int64 // the client process's peak RSS
	amKiB                         int64 // the AM container's peak RSS, sampled from /proc
	amSelfKiB                     int64 // dshell's AM only: its own VmHWM, logged at exit
	toAllocated                   string
	toStarted                     string
	toEnded                       string
}

func mibOf(kib int64) string {
	if kib <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}

var appIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// timeClient runs cmd to its end while sampling the AM containers' peak
// RSS, and returns the run with the application id found in its output.
// submitted and finished are regular expressions for the lines with
// which a client says it submitted the application and saw it end, for
// the phases of timeClient.
func timeClient(b *testing.B, cmd *exec.Cmd, what string, submitted, finished *regexp.Regexp) (shellRun, string, time.Time) {
	b.Helper()
	out := &lineClock{}
	cmd.Stdout, cmd.Stderr = out, out
	sampler := startAMSampler()
	start := time.Now()
	out.start = start
	err := cmd.Run()
	took := time.Since(start)
	peaks := sampler.stop()
	if err != nil {
		b.Fatalf("%s: %v\n%s", what, err, tail(out.String(), 40))
	}
	r := shellRun{took: took, appID: appIDPattern.FindString(out.String()),
		toSubmitted: out.first(submitted), toFinished: out.first(finished)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.clientKiB = ru.Maxrss // KiB on Linux
	}
	if r.appID == "" {
		b.Fatalf("%s printed no application id:\n%s", what, tail(out.String(), 40))
	}
	r.amKiB = peaks[strings.Replace(r.appID, "application_", "container_", 1)+"_01_000001"]
	return r, out.String(), start
}

// lineClock collects a process's output and when each line of it
// arrived, relative to start.
type lineClock struct {
	mu      sync.Mutex
	start   time.Time
	buf     bytes.Buffer
	partial []byte
	lines   []string
	at      []time.Duration
}

func (c *lineClock) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Since(c.start)
	c.buf.Write(p)
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.lines = append(c.lines, string(c.partial[:i]))
		c.at = append(c.at, now)
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

func (c *lineClock) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// first is when the first line matching re arrived, or 0.
func (c *lineClock) first(re *regexp.Regexp) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, l := range c.lines {
		if re.MatchString(l) {
			return c.at[i]
		}
	}
	return 0
}

// phase prints d in seconds, or ? when it was not seen.
func phase(d time.Duration) string {
	if d <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// logTime is the time= of the first line of a slog text log holding
// msg=<msg> (as a whole field), or the zero time.
func logTime(log, msg string) time.Time {
	for _, line := range strings.Split(log, "\n") {
		if !slices.Contains(strings.Fields(line), "msg="+msg) {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if v, ok := strings.CutPrefix(f[0], "time="); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

func benchDshell(b *testing.B, tb *testbed.TestBed, bin string, n int) shellRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-n", fmt.Sprint(n), "-memory", "64", "--", "/bin/true")
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	r, out, start := timeClient(b, cmd, fmt.Sprintf("dshell -n %d", n), regexp.MustCompile(`^submitted application_`),
		regexp.MustCompile(`^application_\d+_\d+ finished: `))
	if !strings.Contains(out, fmt.Sprintf("%d of %d containers exited 0", n, n)) {
		b.Fatalf("dshell -n %d did not run every container:\n%s", n, tail(out, 40))
	}
	// The AM's last lines: timings ... and exiting peak_rss_kib=...
	log := amStderr(tb, r.appID)
	r.toAllocated, r.toStarted = logValue(log, "registered_to_all_allocated"), logValue(log, "registered_to_all_started")
	r.toEnded = logValue(log, "registered_to_all_ended")
	r.amSelfKiB, _ = strconv.ParseInt(logValue(log, "peak_rss_kib"), 10, 64)
	if t := logTime(log, "registered"); !t.IsZero() {
		r.toRegistered = t.Sub(start)
	}
	if t := logTime(log, "finishing"); !t.IsZero() {
		r.toUnregistering = t.Sub(start)
	}
	return r
}

func benchJavaDistShell(b *testing.B, tb *testbed.TestBed, conf string, n int) shellRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	jars, rest := distShellClasspath(b)
	cp := append([]string{conf, jars["AppMaster.jar"], jars["jersey-client-1.19.4.jar"]}, rest...)
	args := append(strings.Fields(tb.Ready.JavaOpts), "-cp", strings.Join(cp, ":"), distShellClient,
		"-jar", jars["AppMaster.jar"], "-shell_command", "/bin/true", "-num_containers", fmt.Sprint(n),
		"-container_memory", "64", "-master_memory", "256")
	cmd := exec.CommandContext(ctx, "java", args...)
	cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=alice")
	r, out, _ := timeClient(b, cmd, fmt.Sprintf("Java DistributedShell -num_containers %d", n),
		regexp.MustCompile(`Submitting application to ASM`), regexp.MustCompile(`Application has completed successfully`))
	if !strings.Contains(out, "Application completed successfully") {
		b.Fatalf("Java DistributedShell -num_containers %d did not succeed:\n%s", n, tail(out, 40))
	}
	return r
}

// distShellClasspath is distShellJars for a benchmark: the
// DistributedShell and Jersey 1 client jars by the names they ship under,
// and the rest of the test bed's classpath.
func distShellClasspath(b *testing.B) (map[string]string, []string) {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
	if err != nil {
		b.Fatalf("the test bed's classpath (make testbed-build): %v", err)
	}
	ship := map[string]string{}
	var rest []string
	for _, p := range strings.Split(strings.TrimSpace(string(data)), ":") {
		switch {
		case strings.Contains(p, "/org/apache/hadoop/hadoop-yarn-applications-distributedshell/"):
			ship["AppMaster.jar"] = p
		case strings.Contains(p, "/com/sun/jersey/jersey-client/"):
			ship[filepath.Base(p)] = p
		default:
			rest = append(rest, p)
		}
	}
	if ship["AppMaster.jar"] == "" || ship["jersey-client-1.19.4.jar"] == "" {
		b.Fatalf("testbed/target/classpath.txt lacks the distributedshell 3.4.2 or Jersey 1.19.4 client jar: %v", ship)
	}
	return ship, rest
}

// distShellConf is a copy of the test bed's client configuration whose
// yarn.application.classpath is the test bed's classpath: Hadoop's Client
// builds the AM's CLASSPATH from that key, and the test bed has no Hadoop
// installation for the default ($HADOOP_COMMON_HOME/...) to point at.
func distShellConf(b *testing.B, tb *testbed.TestBed) string {
	b.Helper()
	dir := b.TempDir()
	files, _ := filepath.Glob(filepath.Join(tb.Ready.ConfDir, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		if filepath.Base(f) == "yarn-site.xml" {
			cp, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
			if err != nil {
				b.Fatal(err)
			}
			value := dir + "," + strings.ReplaceAll(strings.TrimSpace(string(cp)), ":", ",")
			i := bytes.LastIndex(data, []byte("</configuration>"))
			if i < 0 {
				b.Fatalf("%s has no </configuration>", f)
			}
			prop := "<property><name>yarn.application.classpath</name><value>" + value + "</value></property>\n"
			data = append(append(append([]byte(nil), data[:i]...), prop...), data[i:]...)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// nmHeartbeat is the NodeManagers' heartbeat interval in the test bed's
// configuration (Hadoop's default 1 s when unset).
func nmHeartbeat(b *testing.B, tb *testbed.TestBed) time.Duration {
	b.Helper()
	data, _ := os.ReadFile(filepath.Join(tb.Ready.ConfDir, "yarn-site.xml"))
	m := regexp.MustCompile(`<name>yarn\.resourcemanager\.nodemanagers\.heartbeat-interval-ms</name>\s*<value>(\d+)</value>`).FindSubmatch(data)
	if m == nil {
		return time.Second
	}
	ms, _ := strconv.Atoi(string(m[1]))
	return time.Duration(ms) * time.Millisecond
}

// amStderr is dshell's AM log (am.stderr in the AM container's log
// directory), or "" when the NodeManager has not kept it.
func amStderr(tb *testbed.TestBed, appID string) string {
	for _, depth := range []string{"*/*/*", "*/*/*/*"} {
		logs, _ := filepath.Glob(filepath.Join(tb.Dir, "work", depth, appID, "container_*_000001", "am.stderr"))
		if len(logs) > 0 {
			data, _ := os.ReadFile(logs[0])
			return string(data)
		}
	}
	return ""
}

// logValue is the last value of key=value in a slog text log, or "?".
func logValue(log, key string) string {
	v := "?"
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if val, ok := strings.CutPrefix(f, key+"="); ok {
				v = val
			}
		}
	}
	return v
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// amSampler records, every 50 ms, the peak RSS (VmHWM) of every process
// running in an AM container (CONTAINER_ID ending _000001 in its
// environment), by container id: the largest of the container's processes
// (the JVM or the Go binary, not the bash that launched it).
type amSampler struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peak  map[string]int64
}

func startAMSampler() *amSampler {
	s := &amSampler{stopc: make(chan struct{}), done: make(chan struct{}), peak: map[string]int64{}}
	go func() {
		defer close(s.done)
		container := map[int]string{} // pid → AM container id, "" for others
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample(container)
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *amSampler) sample(container map[int]string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		id, seen := container[pid]
		if !seen {
			env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			for _, kv := range bytes.Split(env, []byte{0}) {
				if v, ok := bytes.CutPrefix(kv, []byte("CONTAINER_ID=")); ok && bytes.HasSuffix(v, []byte("_000001")) {
					id = string(v)
				}
			}
			container[pid] = id
		}
		if id == "" {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.mu.Lock()
				s.peak[id] = max(s.peak[id], kib)
				s.mu.Unlock()
			}
		}
	}
}

func (s *amSampler) stop() map[string]int64 {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

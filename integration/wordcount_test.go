//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

var (
	wordcountOnce sync.Once
	wordcountPath string
	wordcountErr  error

	corpusMu   sync.Mutex
	corpusDirs = map[*testbed.TestBed]string{}
	corpusWant map[string]int64
)

// wordcountBinary builds examples/wordcount once per test binary.
func wordcountBinary(t testing.TB) string {
	t.Helper()
	wordcountOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-wordcount-")
		if err != nil {
			wordcountErr = err
			return
		}
		wordcountPath = filepath.Join(dir, "wordcount")
		out, err := exec.Command("go", "build", "-o", wordcountPath, "github.com/spindle-yarn/spindle/examples/wordcount").CombinedOutput()
		if err != nil {
			wordcountErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if wordcountErr != nil {
		t.Fatalf("building wordcount: %v", wordcountErr)
	}
	return wordcountPath
}

// wordcountCorpus writes three generated text files (6 MiB in all) into
// alice's HDFS home once per bed and returns their directory and the counts
// computed locally.
func wordcountCorpus(t *testing.T, tb *testbed.TestBed) (string, map[string]int64) {
	t.Helper()
	corpusMu.Lock()
	defer corpusMu.Unlock()
	if dir, ok := corpusDirs[tb]; ok {
		return dir, corpusWant
	}
	dir, want := writeCorpusFiles(t, tb, "wordcount-in", 100, 3, 2<<20, 1<<20)
	corpusDirs[tb], corpusWant = dir, want
	return dir, want
}

// writeCorpusFiles writes files generated texts of size bytes each
// (seeds seed, seed+1, ...) into a new directory of alice's named after
// name, in blocks of blockSize (0: the default), and returns it with the
// words counted locally.
func writeCorpusFiles(t *testing.T, tb *testbed.TestBed, name string, seed uint64, files int, size, blockSize int64) (string, map[string]int64) {
	t.Helper()
	ctx := testContext(t, 3*time.Minute)
	fs := stagingClient(t, tb, "alice", nil)
	dir := fmt.Sprintf("/user/alice/%s-%d", name, time.Now().UnixNano())
	var all bytes.Buffer
	for i := range files {
		var b bytes.Buffer
		if err := corpus.Generate(&b, seed+uint64(i), size); err != nil {
			t.Fatal(err)
		}
		all.Write(b.Bytes())
		w, err := fs.Create(ctx, path.Join(dir, fmt.Sprintf("text-%02d.txt", i)), hdfs.CreateOptions{BlockSize: blockSize})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := closeRetrying(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	want, err := corpus.Count(&all)
	if err != nil {
		t.Fatal(err)
	}
	return dir, want
}

// closeRetrying closes w, retrying while the NameNode reports the last
// block still replicating.
func closeRetrying(ctx context.Context, w *hdfs.FileWriter) error {
	for {
		err := w.Close()
		if err == nil || !strings.Contains(err.Error(), "replication") || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type wordcountRun struct {
	out, stdout string
	code        int
	appID       string
}

// runWordcount runs the wordcount client as alice (from her keytab on the
// Kerberos bed).
func runWordcount(t *testing.T, tb *testbed.TestBed, args ...string) wordcountRun {
	t.Helper()
	return runWordcountCommand(t, tb, append([]string{"run"}, args...)...)
}

var (
	spindleHomeOnce sync.Once
	spindleHomeDir  string
)

// spindleHome is the test binary's SPINDLE_HOME, where clients keep their
// local records (the deployment secrets of what they submitted).
func spindleHome(t testing.TB) string {
	spindleHomeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-home-")
		if err != nil {
			t.Fatal(err)
		}
		spindleHomeDir = dir
	})
	return spindleHomeDir
}

// runWordcountCommand runs `wordcount args...` as alice, with her keytab
// on the Kerberos bed.
func runWordcountCommand(t *testing.T, tb *testbed.TestBed, args ...string) wordcountRun {
	t.Helper()
	var login []string
	if k := tb.Ready.Kerberos; k != nil {
		login = []string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
	}
	return runWordcountLogin(t, tb, login, args...)
}

// runWordcountLogin runs `wordcount args... login...`: login is the
// Kerberos login flags (none on other beds).
func runWordcountLogin(t *testing.T, tb *testbed.TestBed, login []string, args ...string) wordcountRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append(append([]string(nil), args...), login...)
	cmd := exec.CommandContext(ctx, wordcountBinary(t), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+spindleHome(t))
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	// Both streams go to all, through one lock: exec copies each stream on
	// a goroutine of its own, and a bytes.Buffer written by two would lose
	// writes.
	var all, stdout lockedBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&all, &stdout), &all
	start := time.Now()
	err := cmd.Run()
	r := wordcountRun{out: all.String(), stdout: stdout.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil && r.code < 0 {
		t.Fatalf("wordcount did not finish: %v\n%s", err, r.out)
	}
	if m := regexp.MustCompile(`(?m)^(?:submitted )?(application_\d+_\d+)$`).FindStringSubmatch(r.stdout); m != nil {
		r.appID = m[1]
	}
	t.Logf("wordcount %s: exit %d in %s, %d bytes of output\n%s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond), len(r.out), r.out)
	return r
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// checkWordcountOutput reads the part files of out and compares the
// counts with want; nothing else may be visible in out.
func checkWordcountOutput(t *testing.T, tb *testbed.TestBed, out string, want map[string]int64) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	fs := stagingClient(t, tb, "alice", nil)
	entries, err := fs.ReadDir(ctx, out)
	if err != nil {
		t.Fatalf("reading the output directory: %v", err)
	}
	got := map[string]int64{}
	parts := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, "part-") {
			t.Errorf("output holds %q besides the part files", e.Name)
			continue
		}
		parts++
		b, err := fs.ReadFile(ctx, path.Join(out, e.Name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			word, n, ok := strings.Cut(sc.Text(), "\t")
			c, err := strconv.ParseInt(n, 10, 64)
			if !ok || err != nil {
				t.Fatalf("%s: line %q is not word<TAB>count", e.Name, sc.Text())
			}
			if _, dup := got[word]; dup {
				t.Fatalf("word %q appears twice in the output", word)
			}
			got[word] = c
		}
	}
	if parts == 0 {
		t.Fatal("no part files in the output")
	}
	if len(got) != len(want) {
		t.Errorf("output has %d distinct words, want %d", len(got), len(want))
	}
	bad := 0
	for w, n := range want {
		if got[w] != n && bad < 5 {
			t.Errorf("word %q: count %d, want %d", w, got[w], n)
			bad++
		}
	}
}

// checkNoOutput: the output directory does not exist or holds nothing
// visible.
func checkNoOutput(t *testing.T, tb *testbed.TestBed, out string) {
	t.Helper()
	fs := stagingClient(t, tb, "alice", nil)
	entries, err := fs.ReadDir(testContext(t, time.Minute), out)
	if err != nil {
		return // gone
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, "_") && !strings.HasPrefix(e.Name, ".") {
			t.Errorf("a failed job left %s visible in %s", e.Name, out)
		}
	}
}

func outputDir(t *testing.T) string {
	return fmt.Sprintf("/user/alice/wordcount-out-%s-%d", regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), "_"), time.Now().UnixNano())
}

// TestWordcountModes: wordcount in Application and Per-Job modes,
// attached, gives the counts computed locally, with the staging directory
// removed after.
func TestWordcountModes(t *testing.T) {
	tb := testbed.Get(t)
	in, want := wordcountCorpus(t, tb)
	for _, target := range []string{"yarn-application", "yarn-per-job"} {
		t.Run(target, func(t *testing.T) {
			out := outputDir(t)
			r := runWordcount(t, tb, "-t", target, "-input", in, "-output", out, "-parallelism", "3")
			if r.code != 0 {
				t.Fatalf("exit %d, want 0", r.code)
			}
			for _, s := range []string{"FINISHED, final status SUCCEEDED", "finished in", "wordcount.words = "} {
				if !strings.Contains(r.out, s) {
					t.Errorf("output lacks %q", s)
				}
			}
			checkWordcountOutput(t, tb, out, want)
			checkStagingRemoved(t, tb, r.appID)
		})
	}
}

// TestWordcountDetached: with -d the client prints the application id on a
// line of its own and exits at once; the job runs on and succeeds.
func TestWordcountDetached(t *testing.T) {
	tb := testbed.Get(t)
	in, want := wordcountCorpus(t, tb)
	out := outputDir(t)
	r := runWordcount(t, tb, "-t", "yarn-application", "-d", "-input", in, "-output", out)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if !regexp.MustCompile(`(?m)^application_\d+_\d+$`).MatchString(r.stdout) {
		t.Fatalf("stdout %q has no line holding just the application id", r.stdout)
	}
	id, err := yarn.ParseApplicationID(r.appID)
	if err != nil {
		t.Fatal(err)
	}
	rm := rmClient(t, tb, "alice", "")
	c, err := rm.WaitForCompletion(testContext(t, 3*time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep := c.Report; rep.FinalStatus != yarn.FinalSucceeded {
		t.Fatalf("detached application ended %s / %s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	checkWordcountOutput(t, tb, out, want)
}

// TestWordcountRestart: a tokenizer subtask that fails once makes the job
// restart; it then succeeds with the right counts.
func TestWordcountRestart(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("restarts are the same on every bed; proven on the plain and Kerberos beds")
	}
	in, want := wordcountCorpus(t, tb)
	out := outputDir(t)
	r := runWordcount(t, tb, "-t", "yarn-application", "-input", in, "-output", out, "-fail-once")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if !strings.Contains(r.out, "(2 attempt(s))") {
		t.Errorf("output does not report 2 attempts")
	}
	checkWordcountOutput(t, tb, out, want)
}

// TestWordcountFailure: a tokenizer that always fails exhausts the restart
// strategy; the client exits non-zero, prints the root cause, and no
// output is visible.
func TestWordcountFailure(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("failures are the same on every bed; proven on the plain and Kerberos beds")
	}
	in, _ := wordcountCorpus(t, tb)
	out := outputDir(t)
	r := runWordcount(t, tb, "-t", "yarn-per-job", "-input", in, "-output", out, "-fail-always", "-restarts", "1")
	if r.code == 0 {
		t.Fatal("exit 0 for a job that always fails")
	}
	for _, s := range []string{"root cause:", `vertex "tokenize"`, "subtask 0/", "TaskManager container_"} {
		if !strings.Contains(r.out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	checkNoOutput(t, tb, out)
	checkStagingRemoved(t, tb, r.appID)
}

// TestWordcountProtections: on the Kerberos bed, wordcount runs at every
// RPC protection level the cluster offers (-D hadoop.rpc.protection), its
// tasks reading and writing HDFS with the job's delegation tokens only.
func TestWordcountProtections(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Ready.Kerberos == nil {
		t.Skip("RPC protection levels need the Kerberos bed")
	}
	in, want := wordcountCorpus(t, tb)
	for _, prot := range protections(tb) {
		t.Run(prot, func(t *testing.T) {
			out := outputDir(t)
			r := runWordcount(t, tb, "-t", "yarn-application", "-input", in, "-output", out, "-D", "hadoop.rpc.protection="+prot)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0", r.code)
			}
			checkWordcountOutput(t, tb, out, want)
		})
	}
}

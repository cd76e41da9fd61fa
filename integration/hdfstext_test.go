//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/modes/hdfstext"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// textCollector is a source subtask's Output: it keeps what is emitted.
type textCollector struct {
	mu    sync.Mutex
	lines []string
}

func (c *textCollector) Emit(_ context.Context, r operator.Record) error {
	if len(r.Key) != 0 {
		return fmt.Errorf("the source emitted key %q", r.Key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, string(r.Value))
	return nil
}

// textInput is a sink subtask's Input: fixed records, then err (io.EOF
// for a producer that ends well).
type textInput struct {
	records []operator.Record
	err     error
}

func (in *textInput) Next(ctx context.Context) (operator.Record, error) {
	if err := ctx.Err(); err != nil {
		return operator.Record{}, err
	}
	if len(in.records) == 0 {
		return operator.Record{}, in.err
	}
	r := in.records[0]
	in.records = in.records[1:]
	return r, nil
}

// textLines is the lines of data as the source emits them.
func textLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" && len(data) == 0 {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i := range lines {
		if i < len(lines)-1 || bytes.HasSuffix(data, []byte("\n")) {
			lines[i] = strings.TrimSuffix(lines[i], "\r")
		}
	}
	return lines
}

// hdfsTextClient is the client a job's tasks would have: alice's
// delegation tokens alone on the Kerberos bed, alice by simple
// authentication elsewhere; and alice's own client, which the test uses
// to set up and check.
func hdfsTextClient(t *testing.T, ctx context.Context, tb *testbed.TestBed) (task, alice *hdfs.Client) {
	alice = stagingClient(t, tb, "alice", nil)
	if tb.Ready.Kerberos == nil {
		return alice, alice
	}
	toks, err := alice.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tokenOnlyClient(t, tb, toks, ""), alice
}

// TestHDFSTextSourceSink runs the built-in HDFS text operators as the
// runtime would, in this process, with the client a task has (delegation
// tokens only on the Kerberos bed):
//
//   - the source's Splitter cuts a directory of multi-block files (and an
//     empty one, hidden ones, a subdirectory, a file without a final
//     newline and with "\r\n" lines) into 300 kB splits covering every
//     visible byte once; three source subtasks taking splits from one
//     queue emit every line exactly once;
//   - two sink subtasks write those lines; nothing is visible until the
//     Committer publishes part-00000 and part-00001 holding exactly them,
//     and a second commit changes nothing; CheckOutput then refuses the
//     directory;
//   - a job whose sink subtask fails is aborted by Committer(false) and
//     leaves no output directory; a job committing into the published
//     directory is refused and leaves it as it was.
func TestHDFSTextSourceSink(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 4*time.Minute)
	c, alice := hdfsTextClient(t, ctx, tb)
	dir := "/user/alice/.spindle-test-hdfstext-" + strings.TrimPrefix(testAppID(t), "application_")
	if err := alice.MkdirAll(ctx, dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		alice.Remove(cctx, dir, true)
	})

	// The input.
	var big bytes.Buffer
	if err := corpus.Generate(&big, 11, 2<<20+777); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"in/big":           big.Bytes(),
		"in/crlf":          []byte("first\r\nsecond\r\n\r\nno final newline ß"),
		"in/empty":         nil,
		"in/sub/nested":    []byte("nested line\n"),
		"in/_SUCCESS":      []byte("hidden\n"),
		"in/.big.crc":      []byte("hidden\n"),
		"in/_logs/history": []byte("hidden\n"),
	}
	var want []string
	visible := map[string]int64{}
	for name, data := range files {
		writeTokenFile(t, ctx, c, path.Join(dir, name), data)
		if !strings.Contains(name, "/_") && !strings.Contains(name, "/.") {
			want = append(want, textLines(data)...)
			if len(data) > 0 {
				visible[path.Join(dir, name)] = int64(len(data))
			}
		}
	}

	// Split.
	src, ok := operator.Lookup(hdfstext.SourceOperator)
	if !ok || src.Splitter == nil {
		t.Fatalf("%s is not registered with a splitter", hdfstext.SourceOperator)
	}
	cfg := map[string]string{hdfstext.ConfigInput: c.URL(path.Join(dir, "in")), hdfstext.ConfigSplitBytes: "300000"}
	splits, err := src.Splitter(ctx, operator.SplitEnv{Job: "j1", Config: cfg, Parallelism: 3, HDFS: c})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]int64{}
	byFile := map[string][]operator.Split{}
	for _, s := range splits {
		byFile[s.Path] = append(byFile[s.Path], s)
	}
	for p, ss := range byFile {
		sort.Slice(ss, func(i, j int) bool { return ss[i].Start < ss[j].Start })
		for _, s := range ss {
			if s.Start != covered[p] || s.Length <= 0 || s.Length > 330000 {
				t.Fatalf("%s: split [%d, +%d) after %d bytes covered", p, s.Start, s.Length, covered[p])
			}
			covered[p] += s.Length
		}
	}
	if diff := cmpMaps(visible, covered); diff != "" {
		t.Fatalf("splits cover %v, want the visible files %v", covered, visible)
	}
	if len(byFile[path.Join(dir, "in/big")]) < 7 {
		t.Errorf("the 2 MiB file is in %d splits, want 7", len(byFile[path.Join(dir, "in/big")]))
	}

	// Read: three subtasks take splits from one queue, as from the
	// JobManager.
	var mu sync.Mutex
	queue := slices.Clone(splits)
	next := func(context.Context) (operator.Split, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(queue) == 0 {
			return operator.Split{}, false, nil
		}
		s := queue[0]
		queue = queue[1:]
		return s, true, nil
	}
	outs := make([]*textCollector, 3)
	tasks := make([]*operator.Task, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range outs {
		outs[i] = &textCollector{}
		tasks[i] = operator.NewTask(operator.Info{Job: "j1", Vertex: "read", Operator: hdfstext.SourceOperator, Index: i, Parallelism: 3, Config: cfg},
			operator.Hooks{
				Outputs:   []operator.Output{outs[i]},
				HDFS:      func(context.Context) (*hdfs.Client, error) { return c, nil },
				NextSplit: next,
			})
		wg.Go(func() { errs[i] = src.Func(ctx, tasks[i]) })
	}
	wg.Wait()
	var got []string
	var records, read, nsplits int64
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("source subtask %d: %v", i, errs[i])
		}
		got = append(got, outs[i].lines...)
		cs := tasks[i].Counters().Snapshot()
		records += cs[hdfstext.CounterSourceRecords]
		read += cs[hdfstext.CounterSourceBytesRead]
		nsplits += cs[hdfstext.CounterSourceSplits]
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the source emitted %d lines, want %d; first difference %s", len(got), len(want), firstDifference(want, got))
	}
	var size int64
	for _, n := range visible {
		size += n
	}
	if records != int64(len(want)) || nsplits != int64(len(splits)) || read < size {
		t.Errorf("counters: %d records, %d splits, %d bytes read; want %d, %d, at least %d", records, nsplits, read, len(want), len(splits), size)
	}

	// Write, as job j1's attempt 2: two subtasks, half the lines each,
	// some with keys.
	sink, ok := operator.Lookup(hdfstext.SinkOperator)
	if !ok || sink.Committer == nil {
		t.Fatalf("%s is not registered with a committer", hdfstext.SinkOperator)
	}
	out := path.Join(dir, "out")
	sinkCfg := map[string]string{hdfstext.ConfigOutput: "hdfs://" + out}
	runSink := func(job string, cfg map[string]string, inputs ...*textInput) []error {
		errs := make([]error, len(inputs))
		var wg sync.WaitGroup
		for i, in := range inputs {
			task := operator.NewTask(operator.Info{Job: job, Attempt: 2, Vertex: "write", Operator: hdfstext.SinkOperator, Index: i, Parallelism: len(inputs), Config: cfg},
				operator.Hooks{
					Inputs: []operator.Input{in},
					HDFS:   func(context.Context) (*hdfs.Client, error) { return c, nil },
				})
			wg.Go(func() { errs[i] = sink.Func(ctx, task) })
		}
		wg.Wait()
		return errs
	}
	var halves [2]*textInput
	var wantParts [2]string
	for i := range halves {
		halves[i] = &textInput{err: io.EOF}
		var b strings.Builder
		for j, l := range got[i*len(got)/2 : (i+1)*len(got)/2] {
			r := operator.Record{Value: []byte(l)}
			if j%3 == 0 {
				r.Key = []byte(fmt.Sprint(j))
				b.WriteString(fmt.Sprint(j) + "\t")
			}
			halves[i].records = append(halves[i].records, r)
			b.WriteString(l + "\n")
		}
		wantParts[i] = b.String()
	}
	for i, err := range runSink("j1", sinkCfg, halves[0], halves[1]) {
		if err != nil {
			t.Fatalf("sink subtask %d: %v", i, err)
		}
	}
	if names := visibleNames(t, ctx, c, out); len(names) != 0 {
		t.Fatalf("before the commit, %s shows %v", out, names)
	}
	env := operator.SplitEnv{Job: "j1", Attempt: 2, Config: sinkCfg, Parallelism: 2, HDFS: c}
	for run := range 2 {
		if err := sink.Committer(ctx, env, true); err != nil {
			t.Fatalf("commit %d: %v", run, err)
		}
		entries, err := c.ReadDir(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, []string{"part-00000", "part-00001"}) {
			t.Fatalf("after commit %d, %s holds %v", run, out, names)
		}
		for i, want := range wantParts {
			b, err := c.ReadFile(ctx, path.Join(out, names[i]))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != want {
				t.Fatalf("%s: %d bytes, want %d; first difference %s", names[i], len(b), len(want),
					firstDifference(strings.Split(want, "\n"), strings.Split(string(b), "\n")))
			}
		}
	}
	if err := hdfstext.CheckOutput(ctx, c, "hdfs://"+out); !errors.Is(err, hdfstext.ErrOutputExists) {
		t.Errorf("CheckOutput of the published output: %v", err)
	}
	if err := hdfstext.CheckOutput(ctx, c, path.Join(dir, "nothing-yet")); err != nil {
		t.Errorf("CheckOutput of a new directory: %v", err)
	}

	// A job whose second sink subtask fails: Committer(false) leaves no
	// output directory.
	failed := map[string]string{hdfstext.ConfigOutput: path.Join(dir, "failed")}
	boom := errors.New("producer failed")
	errs = runSink("j2", failed, &textInput{records: halves[0].records[:10], err: io.EOF}, &textInput{records: halves[1].records[:10], err: boom})
	if errs[0] != nil || !errors.Is(errs[1], boom) {
		t.Fatalf("sink subtasks: %v, %v; want nil, %v", errs[0], errs[1], boom)
	}
	for run := range 2 {
		if err := sink.Committer(ctx, operator.SplitEnv{Job: "j2", Attempt: 2, Config: failed, HDFS: c}, false); err != nil {
			t.Fatalf("abort %d: %v", run, err)
		}
		if _, err := c.Stat(ctx, path.Join(dir, "failed")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after abort %d, the output: %v", run, err)
		}
	}

	// A job writing into the published output is refused at commit and
	// leaves it as it was.
	if errs := runSink("j3", sinkCfg, &textInput{records: halves[0].records[:5], err: io.EOF}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	err = sink.Committer(ctx, operator.SplitEnv{Job: "j3", Attempt: 2, Config: sinkCfg, HDFS: c}, true)
	if !errors.Is(err, hdfstext.ErrOutputExists) || !strings.Contains(err.Error(), out) {
		t.Fatalf("commit into a full output: %v", err)
	}
	entries, err := c.ReadDir(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Size != int64(len(wantParts[0])) {
		t.Errorf("after a refused commit, %s holds %v", out, entries)
	}
}

// visibleNames lists dir's entries that do not start with "_" or ".".
func visibleNames(t *testing.T, ctx context.Context, c *hdfs.Client, dir string) []string {
	t.Helper()
	entries, err := c.ReadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, "_") && !strings.HasPrefix(e.Name, ".") {
			names = append(names, e.Name)
		}
	}
	return names
}

func cmpMaps(want, got map[string]int64) string {
	if len(want) != len(got) {
		return "sizes differ"
	}
	for k, v := range want {
		if got[k] != v {
			return k
		}
	}
	return ""
}

// firstDifference describes where two sorted line lists first differ.
func firstDifference(want, got []string) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("at %d: want %q, got %q", i, want[i], got[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(want), len(got))
}

// BenchmarkHDFSTextSource reads a 64 MiB generated text file in 16 MiB
// splits with two source subtasks (the bed's DataNode and this process
// share the machine): the source's read and line-splitting throughput.
func BenchmarkHDFSTextSource(b *testing.B) {
	tb := testbed.Get(b)
	ctx := testContext(b, 10*time.Minute)
	c := stagingClient(b, tb, "alice", nil)
	dir := "/user/alice/.spindle-bench-hdfstext-" + fmt.Sprint(time.Now().UnixNano())
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Remove(cctx, dir, true)
	})
	w, err := c.Create(ctx, dir+"/in/text", hdfs.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const size = 64 << 20
	if err := corpus.Generate(w, 1, size); err != nil {
		w.Abort()
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	src, _ := operator.Lookup(hdfstext.SourceOperator)
	cfg := map[string]string{hdfstext.ConfigInput: dir + "/in", hdfstext.ConfigSplitBytes: fmt.Sprint(16 << 20)}
	b.SetBytes(size)
	for b.Loop() {
		splits, err := src.Splitter(ctx, operator.SplitEnv{Config: cfg, HDFS: c})
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		next := func(context.Context) (operator.Split, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(splits) == 0 {
				return operator.Split{}, false, nil
			}
			s := splits[0]
			splits = splits[1:]
			return s, true, nil
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			task := operator.NewTask(operator.Info{Index: i, Parallelism: 2, Config: cfg}, operator.Hooks{
				Outputs:   []operator.Output{discardOutput{}},
				HDFS:      func(context.Context) (*hdfs.Client, error) { return c, nil },
				NextSplit: next,
			})
			wg.Go(func() { errs[i] = src.Func(ctx, task) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
	}
}

type discardOutput struct{}

func (discardOutput) Emit(context.Context, operator.Record) error { return nil }

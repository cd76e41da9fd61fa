package wc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// sliceInput is an Input of fixed records.
type sliceInput struct{ records []operator.Record }

func (s *sliceInput) Next(ctx context.Context) (operator.Record, error) {
	if len(s.records) == 0 {
		return operator.Record{}, io.EOF
	}
	r := s.records[0]
	s.records = s.records[1:]
	return r, nil
}

// collector is an Output keeping what is emitted.
type collector struct {
	mu      sync.Mutex
	records []operator.Record
}

func (c *collector) Emit(_ context.Context, r operator.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
	return nil
}

// hashOutput routes records to collectors by key, as a hash edge does.
type hashOutput []*collector

func (h hashOutput) Emit(ctx context.Context, r operator.Record) error {
	return h[jobgraph.SubtaskForKey(r.Key, len(h))].Emit(ctx, r)
}

func lineRecords(text string) []operator.Record {
	var rs []operator.Record
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rs = append(rs, operator.Record{Value: []byte(sc.Text())})
	}
	return rs
}

// sums adds up records of word -> decimal count (a nil value counts 1).
func sums(t *testing.T, rs []operator.Record) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, r := range rs {
		n, ok := parseCount(r.Value)
		if !ok {
			t.Fatalf("record %q: value %q", r.Key, r.Value)
		}
		m[string(r.Key)] += n
	}
	return m
}

func run(t *testing.T, f operator.Func, info operator.Info, inputs []operator.Input, out operator.Output) (*operator.Task, error) {
	t.Helper()
	task := operator.NewTask(info, operator.Hooks{Inputs: inputs, Outputs: []operator.Output{out}})
	return task, f(context.Background(), task)
}

// TestTokenize: every line's words come out lowercased, combined into one
// record per distinct word with its count, over all inputs; the words
// counter counts occurrences.
func TestTokenize(t *testing.T) {
	var out collector
	task, err := run(t, tokenize, operator.Info{}, []operator.Input{
		&sliceInput{lineRecords("The cat, the HAT.\nstraße Straße\n\n")},
		&sliceInput{lineRecords("日本 the\r\n")},
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"the": 3, "cat": 1, "hat": 1, "straße": 2, "日本": 1}
	if diff := cmp.Diff(want, sums(t, out.records)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(out.records) != len(want) {
		t.Errorf("%d records for %d distinct words", len(out.records), len(want))
	}
	if got := task.Counters().Snapshot()[CounterWords]; got != 8 {
		t.Errorf("words counter %d, want 8", got)
	}
}

// TestCount: counts of a word are summed whether they come as decimal
// values or as records without one, and come out in word order; a value
// that is no count fails the subtask naming it.
func TestCount(t *testing.T) {
	var out collector
	task, err := run(t, count, operator.Info{}, []operator.Input{&sliceInput{[]operator.Record{
		{Key: []byte("b"), Value: []byte("2")},
		{Key: []byte("a")},
		{Key: []byte("b"), Value: []byte("40")},
		{Key: []byte("ça"), Value: []byte("1")},
		{Key: []byte("a"), Value: []byte("")},
	}}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.records {
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	if diff := cmp.Diff([]string{"a=2", "b=42", "ça=1"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := task.Counters().Snapshot()[CounterDistinct]; n != 3 {
		t.Errorf("distinct counter %d", n)
	}
	_, err = run(t, count, operator.Info{}, []operator.Input{&sliceInput{[]operator.Record{{Key: []byte("x"), Value: []byte("-1")}}}}, &out)
	if err == nil || !strings.Contains(err.Error(), `"-1"`) {
		t.Errorf("bad value: %v", err)
	}
}

// TestPipeline runs tokenize and count as the job does, 3 subtasks each
// joined by a hash exchange, over a generated corpus cut among the
// tokenize subtasks, and gets corpus.Count's counts, each word from
// exactly one count subtask.
func TestPipeline(t *testing.T) {
	var text bytes.Buffer
	if err := corpus.Generate(&text, 3, 1<<20); err != nil {
		t.Fatal(err)
	}
	want, err := corpus.Count(bytes.NewReader(text.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	lines := lineRecords(text.String())
	const p = 3
	exchange := make(hashOutput, p)
	for i := range exchange {
		exchange[i] = &collector{}
	}
	for i := range p {
		part := lines[i*len(lines)/p : (i+1)*len(lines)/p]
		if _, err := run(t, tokenize, operator.Info{Index: i, Parallelism: p}, []operator.Input{&sliceInput{part}}, exchange); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int64{}
	for i := range p {
		var out collector
		if _, err := run(t, count, operator.Info{Index: i, Parallelism: p}, []operator.Input{&sliceInput{exchange[i].records}}, &out); err != nil {
			t.Fatal(err)
		}
		for _, r := range out.records {
			if _, dup := got[string(r.Key)]; dup {
				t.Fatalf("%q counted by two subtasks", r.Key)
			}
			n, _ := strconv.ParseInt(string(r.Value), 10, 64)
			got[string(r.Key)] = n
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-corpus.Count +job):\n%s", diff)
	}
}

// TestTokenizeFail: with wordcount.fail=once subtask 0 of the first
// attempt fails after FailAfterLines lines, having emitted its partial
// counts; other subtasks and later attempts run through; "always" fails
// every attempt; a short input fails at its end; anything else is refused.
func TestTokenizeFail(t *testing.T) {
	lines := lineRecords(strings.Repeat("a b\n", 3*FailAfterLines))
	for _, tc := range []struct {
		mode           string
		index, attempt int
		fail           bool
	}{
		{"once", 0, 0, true},
		{"once", 1, 0, false},
		{"once", 0, 1, false},
		{"always", 0, 5, true},
		{"", 0, 0, false},
	} {
		var out collector
		info := operator.Info{Vertex: "tokenize", Index: tc.index, Attempt: tc.attempt, Config: map[string]string{ConfigFail: tc.mode}}
		_, err := run(t, tokenize, info, []operator.Input{&sliceInput{lines}}, &out)
		if (err != nil) != tc.fail {
			t.Errorf("%+v: err %v", tc, err)
			continue
		}
		wantA := int64(3 * FailAfterLines)
		if tc.fail {
			wantA = FailAfterLines
			if !strings.Contains(err.Error(), "failure injected by wordcount.fail="+tc.mode) {
				t.Errorf("%+v: error %q", tc, err)
			}
		}
		if got := sums(t, out.records)["a"]; got != wantA {
			t.Errorf("%+v: emitted a=%d, want %d", tc, got, wantA)
		}
	}
	info := operator.Info{Config: map[string]string{ConfigFail: "once"}}
	if _, err := run(t, tokenize, info, []operator.Input{&sliceInput{lineRecords("a\n")}}, &collector{}); err == nil {
		t.Error("a short input did not fail")
	}
	info.Config[ConfigFail] = "sometimes"
	if _, err := run(t, tokenize, info, nil, &collector{}); err == nil || !strings.Contains(err.Error(), "want once or always") {
		t.Errorf("bad mode: %v", err)
	}
}

// TestTokenizeBoundedMemory: past MaxCombined distinct words tokenize
// emits what it holds, and the counts still add up.
func TestTokenizeBoundedMemory(t *testing.T) {
	var b strings.Builder
	n := MaxCombined + MaxCombined/2
	for i := range n {
		b.WriteString("w" + strconv.Itoa(i) + " common\n")
	}
	var out collector
	if _, err := run(t, tokenize, operator.Info{}, []operator.Input{&sliceInput{lineRecords(b.String())}}, &out); err != nil {
		t.Fatal(err)
	}
	got := sums(t, out.records)
	if len(got) != n+1 || got["common"] != int64(n) || got["w7"] != 1 {
		t.Errorf("%d words, common=%d, w7=%d", len(got), got["common"], got["w7"])
	}
	if len(out.records) <= n+1 {
		t.Errorf("%d records: tokenize never emitted before its input ended", len(out.records))
	}
}

// TestGraph: the graph is valid against the registered operators (with
// the built-in source and sink) and has the shape the package doc gives.
func TestGraph(t *testing.T) {
	g := Graph("hdfs:///in", "hdfs:///out", 4)
	if err := g.Validate(operator.Names(), nil); err != nil {
		t.Fatal(err)
	}
	var shape []string
	for _, e := range g.Edges {
		shape = append(shape, e.Source+" -"+e.Partitioner.String()+"-> "+e.Target)
	}
	want := []string{"read -forward-> tokenize", "tokenize -hash-> count", "count -forward-> write"}
	if diff := cmp.Diff(want, shape); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if g.Vertex("read").Config["input"] != "hdfs:///in" || g.Vertex("write").Config["output"] != "hdfs:///out" {
		t.Errorf("source/sink config: %v %v", g.Vertex("read").Config, g.Vertex("write").Config)
	}
	if _, err := jobgraph.Encode(g); err != nil {
		t.Errorf("encode: %v", err)
	}
}

func BenchmarkTokenize(b *testing.B) {
	var text bytes.Buffer
	corpus.Generate(&text, 1, 16<<20)
	lines := lineRecords(text.String())
	b.SetBytes(int64(text.Len()))
	for b.Loop() {
		if _, err := func() (*operator.Task, error) {
			task := operator.NewTask(operator.Info{}, operator.Hooks{
				Inputs:  []operator.Input{&sliceInput{lines}},
				Outputs: []operator.Output{&collector{}},
			})
			return task, tokenize(context.Background(), task)
		}(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTokenizeHogMemory: with wordcount.hog-memory only subtask 0 hogs;
// hogMemory takes the memory asked (the heap grows by it), holds it, and
// fails saying the container was not killed; a cancelled hog stops; a
// value that is no MiB count is refused.
func TestTokenizeHogMemory(t *testing.T) {
	lines := lineRecords("a b\nb\n")
	var out collector
	info := operator.Info{Vertex: "tokenize", Index: 1, Config: map[string]string{ConfigHogMemory: "64"}}
	if _, err := run(t, tokenize, info, []operator.Input{&sliceInput{lines}}, &out); err != nil {
		t.Fatalf("subtask 1 of a hogging job: %v", err)
	}
	if got := sums(t, out.records); got["b"] != 2 {
		t.Errorf("subtask 1 counted b=%d", got["b"])
	}

	info.Index = 0
	task := operator.NewTask(info, operator.Hooks{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := hogMemory(context.Background(), task, 40, 10*time.Millisecond)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "held 40 MiB") || !strings.Contains(err.Error(), "yarn.nodemanager.pmem-check-enabled") {
		t.Errorf("hogMemory: %v", err)
	}
	if grown := int64(after.TotalAlloc-before.TotalAlloc) >> 20; grown < 40 {
		t.Errorf("hogMemory allocated %d MiB, want 40", grown)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hogMemory(ctx, task, 1<<20, time.Hour); err != context.Canceled {
		t.Errorf("a cancelled hog: %v", err)
	}

	for _, bad := range []string{"lots", "0", "-5"} {
		info.Config[ConfigHogMemory] = bad
		if _, err := run(t, tokenize, info, nil, &collector{}); err == nil || !strings.Contains(err.Error(), "want a number of MiB") {
			t.Errorf("%s=%q: %v", ConfigHogMemory, bad, err)
		}
	}
}

// TestTokenizePause: with wordcount.pause-ms tokenize pauses after every
// PauseEveryLines lines and still counts right; a cancelled pause ends
// the subtask; a value that is no count of milliseconds is refused.
func TestTokenizePause(t *testing.T) {
	lines := lineRecords(strings.Repeat("a b\n", 3*PauseEveryLines))
	var out collector
	info := operator.Info{Config: map[string]string{ConfigPause: "30"}}
	began := time.Now()
	if _, err := run(t, tokenize, info, []operator.Input{&sliceInput{lines}}, &out); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 90*time.Millisecond {
		t.Errorf("3 pauses of 30 ms took %s", took)
	}
	if got := sums(t, out.records); got["a"] != 3*PauseEveryLines {
		t.Errorf("a=%d", got["a"])
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	task := operator.NewTask(operator.Info{Config: map[string]string{ConfigPause: "60000"}},
		operator.Hooks{Inputs: []operator.Input{&sliceInput{lineRecords(strings.Repeat("a\n", PauseEveryLines))}}, Outputs: []operator.Output{&collector{}}})
	if err := tokenize(ctx, task); err != context.Canceled {
		t.Errorf("a cancelled pause: %v", err)
	}

	info.Config[ConfigPause] = "soon"
	if _, err := run(t, tokenize, info, nil, &collector{}); err == nil || !strings.Contains(err.Error(), "want a number of milliseconds") {
		t.Errorf("%s=soon: %v", ConfigPause, err)
	}
}

// Package wc holds examples/wordcount's job: its operators, registered
// when the package is imported, and Graph, which wires them between the
// built-in HDFS text source and sink. It lives outside package main so
// that it builds and tests on its own.
//
// The job is
//
//	read (hdfstext source) -forward-> tokenize -hash-> count -forward-> write (hdfstext sink)
//
// Tokenize combines: it counts the words of everything it reads in memory
// and emits one record per distinct word, Record{Key: word, Value: count in
// decimal}, when its input ends (or when it has seen MaxCombined distinct
// words, to bound its memory). Emitting Record{Key: word} for every
// occurrence instead would send every word of the text through the hash
// exchange, most of it between TaskManagers; combining sends each distinct
// word once per subtask, as Hadoop's WordCount does with its combiner.
// Count accepts both forms: a record without a value counts 1.
//
// The source and tokenize stay separate vertices joined by a forward edge,
// which keeps each pair in one slot, so lines cross no network: the
// built-in source is then used as it is, rather than copied into a
// word-splitting source.
package wc

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/hdfstext"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// Operator names.
const (
	TokenizeOperator = "wordcount.tokenize"
	CountOperator    = "wordcount.count"
)

// ConfigFail, set in the job's config, makes subtask 0 of tokenize fail
// after it has read FailAfterLines lines (or at the end of its input, if
// shorter), having emitted what it had counted so far: "once" fails the
// first job attempt only, "always" every attempt. It exists for the tests
// of restarts and of failed jobs.
const ConfigFail = "wordcount.fail"

// FailAfterLines is where ConfigFail fails.
const FailAfterLines = 1000

// ConfigHogMemory, set in the job's config to a number of MiB, makes
// subtask 0 of tokenize, in every attempt, allocate and touch that much
// memory, HogChunkMiB at a time, before it reads anything, and then hold
// it: a TaskManager smaller than that exceeds its container's memory, and
// a NodeManager that checks (yarn.nodemanager.pmem-check-enabled) kills
// the container. It exists for the tests of jobs that exhaust memory. The
// amount is bounded so that on a cluster that does not check, the
// subtask holds what it took for HogHold and then fails, saying so,
// instead of taking the machine's memory.
const ConfigHogMemory = "wordcount.hog-memory"

// ConfigPause, set in the job's config to a number of milliseconds, makes
// every tokenize subtask pause that long after every PauseEveryLines
// lines it reads, so that a job of a small input runs for a while: for
// the tests of what happens beside a running job.
const ConfigPause = "wordcount.pause-ms"

// PauseEveryLines is how often ConfigPause pauses.
const PauseEveryLines = 1000

// HogChunkMiB is what ConfigHogMemory allocates at a time, HogPace the
// pause between two allocations (memory grows by HogChunkMiB/HogPace,
// 320 MiB/s, so a NodeManager sampling every few seconds sees it over the
// limit while it grows), and HogHold how long it holds the memory, if its
// container was not killed, before it fails.
const (
	HogChunkMiB = 16
	HogPace     = 50 * time.Millisecond
	HogHold     = time.Minute
)

// MaxCombined is the number of distinct words tokenize holds before it
// emits them and starts again.
const MaxCombined = 1 << 18

// Counters.
const (
	// CounterWords is the words tokenize read.
	CounterWords = "wordcount.words"
	// CounterDistinct is the words count emitted, which over all its
	// subtasks is the distinct words of the input.
	CounterDistinct = "wordcount.distinct-words"
)

func init() {
	operator.Register(TokenizeOperator, tokenize)
	operator.Register(CountOperator, count)
}

// Graph is the job counting the words of input (an HDFS directory or
// file) into part files of "word<TAB>count" lines in output, every vertex
// with parallelism subtasks (at least 1). It restarts a failed job up to 3
// times, a second apart.
func Graph(input, output string, parallelism int) *jobgraph.JobGraph {
	return &jobgraph.JobGraph{
		Name:    "wordcount",
		Restart: jobgraph.FixedDelay(3, time.Second),
		Vertices: []jobgraph.Vertex{
			hdfstext.Source("read", input, parallelism),
			{ID: "tokenize", Operator: TokenizeOperator, Parallelism: parallelism},
			{ID: "count", Operator: CountOperator, Parallelism: parallelism},
			hdfstext.Sink("write", output, parallelism),
		},
		Edges: []jobgraph.Edge{
			{Source: "read", Target: "tokenize", Partitioner: jobgraph.PartitionForward},
			{Source: "tokenize", Target: "count", Partitioner: jobgraph.PartitionHash},
			{Source: "count", Target: "write", Partitioner: jobgraph.PartitionForward},
		},
	}
}

// combiner counts words in memory.
type combiner struct {
	index  map[string]int
	words  []string
	counts []int64
}

func newCombiner() *combiner { return &combiner{index: map[string]int{}} }

func (c *combiner) add(word []byte, n int64) {
	if i, ok := c.index[string(word)]; ok { // no allocation for a word seen before
		c.counts[i] += n
		return
	}
	w := string(word)
	c.index[w] = len(c.words)
	c.words = append(c.words, w)
	c.counts = append(c.counts, n)
}

// emit sends every word and its count, in the order first seen, and
// empties c.
func (c *combiner) emit(ctx context.Context, t *operator.Task) error {
	for i, w := range c.words {
		r := operator.Record{Key: []byte(w), Value: strconv.AppendInt(nil, c.counts[i], 10)}
		if err := t.Emit(ctx, r); err != nil {
			return err
		}
	}
	clear(c.index)
	c.words, c.counts = c.words[:0], c.counts[:0]
	return nil
}

// tokenize splits each input line into lowercase words (corpus.Tokenizer)
// and emits Record{Key: word, Value: count} per distinct word.
func tokenize(ctx context.Context, t *operator.Task) error {
	failAt := int64(-1)
	switch mode := t.Config[ConfigFail]; mode {
	case "":
	case "once", "always":
		if t.Index == 0 && (mode == "always" || t.Attempt == 0) {
			failAt = FailAfterLines
		}
	default:
		return fmt.Errorf("wordcount: config %s is %q: want once or always", ConfigFail, mode)
	}
	if v := t.Config[ConfigHogMemory]; v != "" {
		mib, err := strconv.Atoi(v)
		if err != nil || mib < 1 {
			return fmt.Errorf("wordcount: config %s is %q: want a number of MiB", ConfigHogMemory, v)
		}
		if t.Index == 0 {
			if err := hogMemory(ctx, t, mib, HogHold); err != nil {
				return err
			}
		}
	}
	randomAt, err := randomFailurePoint(t)
	if err != nil {
		return err
	}
	var pause time.Duration
	if v := t.Config[ConfigPause]; v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return fmt.Errorf("wordcount: config %s is %q: want a number of milliseconds", ConfigPause, v)
		}
		pause = time.Duration(ms) * time.Millisecond
	}
	var tk corpus.Tokenizer
	c := newCombiner()
	var lines, words int64
	add := func(w []byte) {
		words++
		c.add(w, 1)
	}
	defer func() { t.Counters().Add(CounterWords, words) }()
	err = t.ForEach(ctx, func(r operator.Record) error {
		if lines == failAt {
			return injectedFailure(ctx, t, c, lines)
		}
		if lines == randomAt {
			return randomFailureMidway(ctx, t, c, lines)
		}
		lines++
		if pause > 0 && lines%PauseEveryLines == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		tk.Words(r.Value, add)
		if len(c.words) >= MaxCombined {
			return c.emit(ctx, t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failAt >= 0 {
		return injectedFailure(ctx, t, c, lines)
	}
	if randomAt >= 0 {
		return randomFailureMidway(ctx, t, c, lines)
	}
	return c.emit(ctx, t)
}

// randomFailureMidway emits what tokenize counted, as injectedFailure
// does, and fails under ConfigFailProbability.
func randomFailureMidway(ctx context.Context, t *operator.Task, c *combiner, lines int64) error {
	if err := c.emit(ctx, t); err != nil {
		return err
	}
	return randomFailure(t, lines)
}

// injectedFailure emits what tokenize counted, so that the failure comes
// midway through the job's data, and fails.
func injectedFailure(ctx context.Context, t *operator.Task, c *combiner, lines int64) error {
	if err := c.emit(ctx, t); err != nil {
		return err
	}
	return fmt.Errorf("wordcount: failure injected by %s=%s in %s subtask %d, job attempt %d, after %d lines",
		ConfigFail, t.Config[ConfigFail], t.Vertex, t.Index, t.Attempt, lines)
}

// hogMemory allocates and touches mib MiB, then holds them for hold; it
// returns an error once it held them that long (the container was not
// killed), or the context's error.
func hogMemory(ctx context.Context, t *operator.Task, mib int, hold time.Duration) error {
	var held [][]byte
	tick := time.NewTicker(HogPace)
	defer tick.Stop()
	t.Logger().Warn("wordcount: allocating memory until the container is killed", "config", ConfigHogMemory, "mib", mib)
	for len(held)*HogChunkMiB < mib {
		b := make([]byte, min(HogChunkMiB, mib-len(held)*HogChunkMiB)<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touched, so the pages are resident
		}
		held = append(held, b)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(hold):
	}
	n := 0
	for _, b := range held {
		n += len(b)
	}
	return fmt.Errorf("wordcount: %s subtask %d held %d MiB (%s=%d) for %s and its container was not killed: does the NodeManager check containers' physical memory (yarn.nodemanager.pmem-check-enabled)?",
		t.Vertex, t.Index, n>>20, ConfigHogMemory, mib, hold)
}

// count sums the counts of each word over its input and, when the input
// ends, emits Record{Key: word, Value: total in decimal} in word order.
func count(ctx context.Context, t *operator.Task) error {
	randomAt, err := randomFailurePoint(t)
	if err != nil {
		return err
	}
	c := newCombiner()
	var records int64
	err = t.ForEach(ctx, func(r operator.Record) error {
		if records == randomAt {
			return randomFailure(t, records)
		}
		records++
		n, ok := parseCount(r.Value)
		if !ok {
			return fmt.Errorf("wordcount: the record of %q has value %q, want a decimal count", r.Key, r.Value)
		}
		c.add(r.Key, n)
		return nil
	})
	if err != nil {
		return err
	}
	if randomAt >= 0 {
		return randomFailure(t, records)
	}
	order := make([]int, len(c.words))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case c.words[a] < c.words[b]:
			return -1
		case c.words[a] > c.words[b]:
			return 1
		}
		return 0
	})
	for _, i := range order {
		r := operator.Record{Key: []byte(c.words[i]), Value: strconv.AppendInt(nil, c.counts[i], 10)}
		if err := t.Emit(ctx, r); err != nil {
			return err
		}
	}
	t.Counters().Add(CounterDistinct, int64(len(c.words)))
	return nil
}

// parseCount reads a positive decimal count; an empty value counts 1.
func parseCount(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 1, true
	}
	if len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

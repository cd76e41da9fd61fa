// Package operator is what a job's code sees: operators are Go functions
// registered by name in the program's binary, and a running subtask gets a
// *Task with its place in the job, its input streams and partitioned
// outputs, a logger, counters, the job's HDFS client and, for sources, the
// splits the JobManager hands out.
//
// Every container of a deployment runs the same binary, so a program
// registers its operators (in init or at the top of main, before it calls
// into package modes) and any TaskManager can then run any vertex.
//
// The runtime (package modes and its internal packages) builds Tasks with
// NewTask; programs only read them.
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/spindle-yarn/spindle/hdfs"
)

// A Record is the unit of data exchange. Key decides the subtask a record
// reaches across a hash edge (jobgraph.SubtaskForKey); Value is opaque.
// A record emitted belongs to the runtime: the caller must not change its
// slices afterwards. A record read is the caller's.
type Record struct {
	Key, Value []byte
}

// Func is an operator: it runs one subtask until its inputs end (it reads
// Inputs until io.EOF) or, for a source, until it has produced everything.
// Returning nil ends the subtask's outputs (end of stream); returning an
// error fails the subtask, and the JobManager applies the job's restart
// strategy. When ctx is done (the job is cancelled or restarted) the
// operator should return promptly; the runtime ignores what it returns then.
type Func func(ctx context.Context, t *Task) error

// An Input is one incoming edge of a subtask: the records of every producer
// subtask connected to it, interleaved in arrival order.
type Input interface {
	// Next returns the next record, io.EOF once every producer has ended,
	// or the error that broke the stream (a failed producer, a lost
	// connection, ctx done).
	Next(ctx context.Context) (Record, error)
}

// An Output is one outgoing edge of a subtask. Emit routes the record by
// the edge's partitioner (forward, hash by Key, rebalance, broadcast) and
// blocks while the consumers' buffers are full, so a slow consumer slows
// its producers down instead of growing memory.
type Output interface {
	Emit(ctx context.Context, r Record) error
}

// A Split is a piece of a source's input, handed to the source subtasks as
// they ask (Task.NextSplit), so fast subtasks take more of them.
type Split struct {
	// Path of the file in HDFS.
	Path string
	// Start and Length are the byte range of the split.
	Start, Length int64
}

// SplitEnv is what a Splitter and a Committer get in the JobManager.
type SplitEnv struct {
	// Job is the job's id; Attempt the job attempt (0, then one more at
	// each restart). Committers use them to find what the attempt wrote.
	Job     string
	Attempt int
	// Config is the vertex's configuration over the job's.
	Config map[string]string
	// Parallelism of the vertex.
	Parallelism int
	// HDFS is a client acting with the job's credentials.
	HDFS *hdfs.Client
	// Logger of the JobManager.
	Logger *slog.Logger
}

// A Splitter computes a source vertex's splits in the JobManager when a
// job attempt starts.
type Splitter func(ctx context.Context, env SplitEnv) ([]Split, error)

// A Committer runs in the JobManager when a job ends: with succeeded true
// after every subtask of the attempt finished, to publish what the attempt
// wrote; with false when the job failed or was cancelled, to remove
// everything the job wrote (no visible output remains). It must be
// idempotent: after a JobManager restart it may run again.
type Committer func(ctx context.Context, env SplitEnv, succeeded bool) error

// An Option adds to an operator's registration.
type Option func(*Operator)

// WithSplitter makes the operator a split source.
func WithSplitter(s Splitter) Option { return func(o *Operator) { o.Splitter = s } }

// WithCommitter gives the operator a committer.
func WithCommitter(c Committer) Option { return func(o *Operator) { o.Committer = c } }

// An Operator is a registration.
type Operator struct {
	Name      string
	Func      Func
	Splitter  Splitter
	Committer Committer
}

var (
	regMu    sync.RWMutex
	registry = map[string]*Operator{}
)

// Register makes f runnable under name in this binary. It panics when name
// is empty, f is nil or name is taken: all are programming errors found the
// first time the program runs.
func Register(name string, f Func, opts ...Option) {
	if name == "" || f == nil {
		panic("operator: Register needs a name and a function")
	}
	o := &Operator{Name: name, Func: f}
	for _, opt := range opts {
		opt(o)
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("operator: %q is registered twice", name))
	}
	registry[name] = o
}

// Lookup returns the operator registered under name.
func Lookup(name string) (*Operator, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	o, ok := registry[name]
	return o, ok
}

// Names returns the registered operators' names, as jobgraph's Validate
// takes them.
func Names() map[string]bool {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make(map[string]bool, len(registry))
	for n := range registry {
		out[n] = true
	}
	return out
}

// Info is where a subtask stands in its job.
type Info struct {
	Job, JobName     string
	Vertex, Operator string
	// Index of the subtask (0-based) among Parallelism.
	Index, Parallelism int
	// Attempt is the job attempt (0 first, one more at each restart).
	Attempt int
	// Config is the vertex's configuration over the job's.
	Config map[string]string
}

// Hooks connect a Task to the runtime that runs it.
type Hooks struct {
	Inputs  []Input
	Outputs []Output
	Logger  *slog.Logger
	// HDFS returns the client acting with the job's credentials; nil
	// means the deployment has none.
	HDFS func(ctx context.Context) (*hdfs.Client, error)
	// NextSplit asks the JobManager for the vertex's next split; ok false
	// means none is left. Nil means the vertex has no splitter.
	NextSplit func(ctx context.Context) (s Split, ok bool, err error)
}

// A Task is one running subtask. Its methods are safe for concurrent use.
type Task struct {
	Info
	hooks    Hooks
	counters Counters
}

// NewTask is for the runtime: it builds the Task a subtask's Func gets.
func NewTask(info Info, h Hooks) *Task {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	return &Task{Info: info, hooks: h}
}

// Inputs are the subtask's incoming edges, in the graph's edge order.
func (t *Task) Inputs() []Input { return t.hooks.Inputs }

// Outputs are the subtask's outgoing edges, in the graph's edge order.
func (t *Task) Outputs() []Output { return t.hooks.Outputs }

// Logger writes to the TaskManager's log with the subtask's attributes.
func (t *Task) Logger() *slog.Logger { return t.hooks.Logger }

// Counters are the subtask's counters; the JobManager sums them over the
// job and the client gets them with the result.
func (t *Task) Counters() *Counters { return &t.counters }

// ErrNoHDFS is returned by Task.HDFS in a deployment without HDFS.
var ErrNoHDFS = errors.New("operator: the deployment has no HDFS client")

// ErrNoSplits is returned by NextSplit on a vertex whose operator was
// registered without a splitter.
var ErrNoSplits = errors.New("operator: the vertex's operator has no splitter")

// HDFS returns a client acting with the job's delegation tokens (or as the
// job's user on a cluster without Kerberos). The runtime owns it: do not
// close it.
func (t *Task) HDFS(ctx context.Context) (*hdfs.Client, error) {
	if t.hooks.HDFS == nil {
		return nil, ErrNoHDFS
	}
	return t.hooks.HDFS(ctx)
}

// NextSplit asks the JobManager for the next split of this source vertex;
// ok is false when none is left.
func (t *Task) NextSplit(ctx context.Context) (Split, bool, error) {
	if t.hooks.NextSplit == nil {
		return Split{}, false, ErrNoSplits
	}
	return t.hooks.NextSplit(ctx)
}

// Emit sends r on every output (most operators have one).
func (t *Task) Emit(ctx context.Context, r Record) error {
	for _, o := range t.hooks.Outputs {
		if err := o.Emit(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// ForEach calls f with every record of every input until all have ended.
// Inputs are read one after another, in edge order.
func (t *Task) ForEach(ctx context.Context, f func(Record) error) error {
	for _, in := range t.hooks.Inputs {
		for {
			r, err := in.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := f(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Counters are named int64 sums, safe for concurrent use.
type Counters struct {
	m sync.Map // string -> *atomic.Int64
}

// Add adds n to the named counter.
func (c *Counters) Add(name string, n int64) {
	v, ok := c.m.Load(name)
	if !ok {
		v, _ = c.m.LoadOrStore(name, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(n)
}

// Snapshot returns the counters' current values.
func (c *Counters) Snapshot() map[string]int64 {
	out := map[string]int64{}
	c.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// SortedNames returns the names of m in order, for printing.
func SortedNames(m map[string]int64) []string {
	names := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Package taskmanager is the TaskManager of Spindle's runtime: it runs in a
// worker container, registers with the JobManager, offers its slots, runs
// the subtasks the JobManager deploys (the operators registered in the
// binary), connects their inputs and outputs through the data exchange,
// and reports their states and counters.
package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/exchange"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// Counters every subtask keeps.
const (
	CounterRecordsIn  = "records-in"
	CounterRecordsOut = "records-out"
)

// Config configures a TaskManager.
type Config struct {
	// ID is the TaskManager's container id; Host its node.
	ID, Host string
	Slots    int
	// Control speaks to the JobManager. Required.
	Control *control.Client
	// Exchange is the TaskManager's data exchange server, serving already.
	// Required.
	Exchange *exchange.Server
	// HDFS returns the client subtasks use; nil means none.
	HDFS func(ctx context.Context) (*hdfs.Client, error)
	// Credentials takes the application's fresh credentials (Hadoop's
	// token storage format) the JobManager pushes, and switches the HDFS
	// client to their tokens; nil ignores pushes.
	Credentials func(creds []byte) error
	// JobHDFS builds the HDFS client of a job that carries its own
	// credentials (a session's jobs); nil means such jobs use HDFS.
	JobHDFS func(creds []byte) (*hdfs.Client, error)
	// Logger; nil means silent.
	Logger *slog.Logger
	// BinarySHA256 returns the hex SHA-256 of this process's binary, and
	// Become fetches another binary (with fs, the job's HDFS client) and
	// replaces this process with it, which registers again and polls
	// commands after the given sequence number; it returns only on
	// failure. Both set: a subtask of a job that shipped its own binary
	// (control.Deployment.Binary) makes the TaskManager become it. Nil:
	// such subtasks fail for want of their operators.
	BinarySHA256 func() string
	Become       func(ctx context.Context, b control.BinaryRef, fs *hdfs.Client, after int64) error
	// After is the sequence number of the last command already handled:
	// non-zero in a TaskManager that became a job's binary.
	After int64
	// Rediscover, when set, returns where the deployment's JobManager
	// listens now: a TaskManager that cannot reach its JobManager asks it
	// every RediscoverInterval, and when the answer is another address (a
	// new ApplicationMaster attempt, which adopted this container) it
	// cancels its subtasks, points Control there and registers again.
	Rediscover         func(ctx context.Context) (string, error)
	RediscoverInterval time.Duration
	// UpdateInterval is how often running subtasks' counters are reported;
	// zero means 1 s.
	UpdateInterval time.Duration
	// JobManagerTimeout: when the JobManager cannot be reached for this
	// long, Run gives up. Zero means 60 s.
	JobManagerTimeout time.Duration
}

// TaskManager runs subtasks.
type TaskManager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	running map[key]*subtask
	wg      sync.WaitGroup
	// jobFS are the HDFS clients of jobs with credentials of their own,
	// by job id, dropped when the JobManager says the job ended.
	jobFS map[string]*hdfs.Client

	// epoch counts the JobManagers this TaskManager moved to (Rediscover);
	// lastRediscover is when it last asked, under rediscoverMu.
	epoch          atomic.Int64
	rediscoverMu   sync.Mutex
	lastRediscover time.Time
}

type key struct {
	job     string
	attempt int
	vertex  string
	index   int
}

type subtask struct {
	d       *control.Deployment
	cancel  context.CancelFunc
	task    *operator.Task // set once running, under TaskManager.mu
	in, out atomic.Int64   // records read and emitted
}

// counters are the subtask's counters with the records it read and emitted.
func (s *subtask) counters(task *operator.Task) map[string]int64 {
	c := map[string]int64{}
	if task != nil {
		c = task.Counters().Snapshot()
	}
	c[CounterRecordsIn] += s.in.Load()
	c[CounterRecordsOut] += s.out.Load()
	return c
}

// Run registers with the JobManager and runs what it commands until it
// says to shut down (nil), ctx ends, or the JobManager is unreachable for
// JobManagerTimeout.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UpdateInterval == 0 {
		cfg.UpdateInterval = time.Second
	}
	if cfg.JobManagerTimeout == 0 {
		cfg.JobManagerTimeout = 60 * time.Second
	}
	if cfg.RediscoverInterval == 0 {
		cfg.RediscoverInterval = 2 * time.Second
	}
	t := &TaskManager{cfg: cfg, log: cfg.Logger, running: map[key]*subtask{}, jobFS: map[string]*hdfs.Client{}}
	defer t.forgetAll()
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		t.wg.Wait()
	}()
	reg := control.RegisterRequest{ID: cfg.ID, Host: cfg.Host, DataAddr: cfg.Exchange.Addr(), Slots: cfg.Slots}
	if err := t.retry(ctx, func(ctx context.Context) error {
		_, err := cfg.Control.Register(ctx, reg)
		return err
	}); err != nil {
		return fmt.Errorf("registering with the JobManager: %w", err)
	}
	t.log.Info("registered with the JobManager", "id", cfg.ID, "data_addr", reg.DataAddr, "slots", cfg.Slots)
	t.wg.Add(1)
	go t.reportLoop(ctx)

	after := cfg.After
	epoch := t.epoch.Load()
	for {
		if e := t.epoch.Load(); e != epoch {
			// A new JobManager (the next attempt's): the subtasks of the
			// old one's jobs end, and this TaskManager offers its slots
			// anew.
			t.log.Info("the JobManager moved: cancelling this TaskManager's subtasks and registering again", "addr", cfg.Control.Addr())
			t.cancelAll()
			if err := t.retry(ctx, func(ctx context.Context) error {
				_, err := cfg.Control.Register(ctx, reg)
				return err
			}); err != nil && t.epoch.Load() == e {
				return fmt.Errorf("registering with the new JobManager: %w", err)
			}
			epoch, after = e, 0
			continue
		}
		var cs []control.Command
		err := t.retry(ctx, func(ctx context.Context) error {
			var err error
			cs, err = cfg.Control.Commands(ctx, cfg.ID, after)
			return err
		})
		if err != nil && t.epoch.Load() != epoch {
			continue
		}
		if err != nil {
			return fmt.Errorf("polling the JobManager: %w", err)
		}
		for _, c := range cs {
			if c.Seq <= after {
				continue
			}
			after = c.Seq
			switch {
			case c.Shutdown:
				t.log.Info("shutting down at the JobManager's request")
				t.cancelAll()
				return nil
			case c.Deploy != nil && t.needsBinary(c.Deploy):
				t.become(ctx, c.Deploy, c.Seq)
			case c.Deploy != nil:
				t.deploy(ctx, c.Deploy)
			case c.Cancel != nil:
				t.cancelAttempt(*c.Cancel, c.Only)
			case c.Credentials != nil:
				t.updateCredentials(c.Credentials)
			case c.Forget != "":
				t.forget(c.Forget)
			case c.JobCredentials != nil:
				t.updateJobCredentials(c.JobCredentials)
			}
		}
	}
}

// retry calls f until it succeeds, ctx ends or JobManagerTimeout passes
// since the first failure.
func (t *TaskManager) retry(ctx context.Context, f func(context.Context) error) error {
	var first time.Time
	backoff := 100 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		var ce *control.Error
		if errors.As(err, &ce) || ctx.Err() != nil {
			return err // the JobManager answered: retrying will not change it
		}
		if first.IsZero() {
			first = time.Now()
		} else if time.Since(first) > t.cfg.JobManagerTimeout {
			return err
		}
		if t.rediscover(ctx) {
			return fmt.Errorf("%w: %v", errJobManagerMoved, err)
		}
		t.log.Warn("JobManager unreachable, retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (t *TaskManager) cancelAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.running {
		s.cancel()
	}
}

// cancelAttempt cancels the subtasks of a job attempt: those of only, or
// all when only is empty.
func (t *TaskManager) cancelAttempt(a control.Attempt, only []control.SubtaskRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.running {
		if k.job != a.Job || k.attempt != a.Attempt {
			continue
		}
		if len(only) == 0 || slices.Contains(only, control.SubtaskRef{Vertex: k.vertex, Index: k.index}) {
			s.cancel()
		}
	}
}

// deploy starts a subtask.
func (t *TaskManager) deploy(ctx context.Context, d *control.Deployment) {
	k := key{d.Job, d.Attempt.Attempt, d.Vertex, d.Index}
	ctx, cancel := context.WithCancel(ctx)
	s := &subtask{d: d, cancel: cancel}
	t.mu.Lock()
	t.running[k] = s
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel()
		state, msg, secondary, counters := t.run(ctx, s)
		t.mu.Lock()
		delete(t.running, k)
		t.mu.Unlock()
		u := control.TaskUpdate{Attempt: d.Attempt, Vertex: d.Vertex, Index: d.Index, State: state, Error: msg, Secondary: secondary, Counters: counters}
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.JobManagerTimeout)
		defer ucancel()
		if err := t.retry(uctx, func(ctx context.Context) error { return t.cfg.Control.Update(ctx, t.cfg.ID, u) }); err != nil {
			t.log.Error("reporting a subtask's end", "vertex", d.Vertex, "index", d.Index, "err", err)
		}
	}()
}

// run runs one subtask and returns its final state, error text, whether
// the error came from another subtask, and its counters.
func (t *TaskManager) run(ctx context.Context, s *subtask) (state, msg string, secondary bool, counters map[string]int64) {
	d := s.d
	log := t.log.With("job", d.Job, "attempt", d.Attempt.Attempt, "vertex", d.Vertex, "subtask", d.Index)
	op, ok := operator.Lookup(d.Operator)
	if !ok {
		return control.TaskFailed, fmt.Sprintf("operator %q is not registered in this binary", d.Operator), false, nil
	}
	var gates []*exchange.Gate
	var outs []*exchange.Output
	fail := func(err error) {
		for _, o := range outs {
			o.Abort(err)
		}
		for _, g := range gates {
			g.Close()
		}
	}
	var inputs []operator.Input
	for _, in := range d.Inputs {
		g, err := t.cfg.Exchange.OpenGate(exchange.GateID{Job: d.Job, Attempt: d.Attempt.Attempt, Edge: in.Edge, Consumer: d.Index}, in.Producers)
		if err != nil {
			fail(err)
			return control.TaskFailed, "opening input edge " + fmt.Sprint(in.Edge) + ": " + err.Error(), false, nil
		}
		gates = append(gates, g)
		inputs = append(inputs, countingInput{g, &s.in})
	}
	var outputs []operator.Output
	for _, o := range d.Outputs {
		spec := exchange.OutputSpec{Job: d.Job, Attempt: d.Attempt.Attempt, Edge: o.Edge, Producer: d.Index, Partitioner: o.Partitioner}
		for _, tg := range o.Targets {
			spec.Targets = append(spec.Targets, exchange.Target{Consumer: tg.Consumer, Addr: tg.Addr})
		}
		out, err := t.cfg.Exchange.OpenOutput(ctx, spec)
		if err != nil {
			fail(err)
			return control.TaskFailed, "opening output edge " + fmt.Sprint(o.Edge) + ": " + err.Error(), false, nil
		}
		outs = append(outs, out)
		outputs = append(outputs, countingOutput{out, &s.out})
	}
	hooks := operator.Hooks{Inputs: inputs, Outputs: outputs, Logger: log, HDFS: t.cfg.HDFS}
	if len(d.Credentials) > 0 {
		hooks.HDFS = func(context.Context) (*hdfs.Client, error) { return t.jobHDFS(d.Job, d.Credentials) }
	}
	if d.Splits {
		hooks.NextSplit = func(ctx context.Context) (operator.Split, bool, error) {
			var resp control.SplitResponse
			err := t.retry(ctx, func(ctx context.Context) error {
				var err error
				resp, err = t.cfg.Control.NextSplit(ctx, control.SplitRequest{Attempt: d.Attempt, Vertex: d.Vertex, Index: d.Index})
				return err
			})
			if err != nil || resp.Done || resp.Split == nil {
				return operator.Split{}, false, err
			}
			return *resp.Split, true, nil
		}
	}
	task := operator.NewTask(operator.Info{Job: d.Job, JobName: d.JobName, Vertex: d.Vertex, Operator: d.Operator,
		Index: d.Index, Parallelism: d.Parallelism, Attempt: d.Attempt.Attempt, Config: d.Config}, hooks)
	t.mu.Lock()
	s.task = task
	t.mu.Unlock()
	t.report(ctx, control.TaskUpdate{Attempt: d.Attempt, Vertex: d.Vertex, Index: d.Index, State: control.TaskRunning})
	log.Info("subtask running", "operator", d.Operator)

	err := callOperator(ctx, op.Func, task)
	if err == nil {
		for _, o := range outs {
			if cerr := o.Close(ctx); cerr != nil {
				err = fmt.Errorf("ending the output: %w", cerr)
				break
			}
		}
	}
	counters = s.counters(task)
	if ctx.Err() != nil {
		fail(ctx.Err())
		log.Info("subtask cancelled")
		return control.TaskCanceled, "", false, counters
	}
	if err != nil {
		fail(err)
		log.Error("subtask failed", "err", err)
		secondary := errors.Is(err, exchange.ErrProducerFailed) || errors.Is(err, exchange.ErrConsumerGone) || errors.Is(err, exchange.ErrConnectionLost)
		return control.TaskFailed, err.Error(), secondary, counters
	}
	for _, g := range gates {
		g.Close()
	}
	log.Info("subtask finished", "records_in", counters[CounterRecordsIn], "records_out", counters[CounterRecordsOut])
	return control.TaskFinished, "", false, counters
}

// callOperator runs f, turning a panic into an error with the stack's top.
func callOperator(ctx context.Context, f operator.Func, t *operator.Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := string(debug.Stack())
			if lines := strings.Split(stack, "\n"); len(lines) > 24 {
				stack = strings.Join(lines[:24], "\n")
			}
			err = fmt.Errorf("operator panicked: %v\n%s", r, stack)
		}
	}()
	return f(ctx, t)
}

// report sends a running update, best effort.
func (t *TaskManager) report(ctx context.Context, us ...control.TaskUpdate) {
	if err := t.cfg.Control.Update(ctx, t.cfg.ID, us...); err != nil && ctx.Err() == nil {
		t.log.Warn("reporting a subtask's state", "err", err)
	}
}

// reportLoop reports the running subtasks' counters every UpdateInterval.
func (t *TaskManager) reportLoop(ctx context.Context) {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.UpdateInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var us []control.TaskUpdate
		t.mu.Lock()
		for _, s := range t.running {
			if s.task == nil {
				continue
			}
			us = append(us, control.TaskUpdate{Attempt: s.d.Attempt, Vertex: s.d.Vertex, Index: s.d.Index,
				State: control.TaskRunning, Counters: s.counters(s.task)})
		}
		t.mu.Unlock()
		if len(us) > 0 {
			t.report(ctx, us...)
		}
	}
}

type countingInput struct {
	in operator.Input
	n  *atomic.Int64
}

func (i countingInput) Next(ctx context.Context) (operator.Record, error) {
	r, err := i.in.Next(ctx)
	if err == nil {
		i.n.Add(1)
	}
	return r, err
}

type countingOutput struct {
	out operator.Output
	n   *atomic.Int64
}

func (o countingOutput) Emit(ctx context.Context, r operator.Record) error {
	err := o.out.Emit(ctx, r)
	if err == nil {
		o.n.Add(1)
	}
	return err
}

// jobHDFS returns the HDFS client of a job with credentials of its own,
// built once per job.
func (t *TaskManager) jobHDFS(job string, creds []byte) (*hdfs.Client, error) {
	if t.cfg.JobHDFS == nil {
		return nil, operator.ErrNoHDFS
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.jobFS[job]; c != nil {
		return c, nil
	}
	c, err := t.cfg.JobHDFS(creds)
	if err != nil {
		return nil, fmt.Errorf("the job's credentials: %w", err)
	}
	t.jobFS[job] = c
	return c, nil
}

// forget drops a job's credentials: the JobManager says it ended.
func (t *TaskManager) forget(job string) {
	t.mu.Lock()
	c := t.jobFS[job]
	delete(t.jobFS, job)
	t.mu.Unlock()
	if c != nil {
		c.Close()
		t.log.Info("dropped the credentials of an ended job", "job", job)
	}
}

func (t *TaskManager) forgetAll() {
	t.mu.Lock()
	fs := t.jobFS
	t.jobFS = map[string]*hdfs.Client{}
	t.mu.Unlock()
	for _, c := range fs {
		c.Close()
	}
}

// errJobManagerMoved ends a call to a JobManager that another one (the
// next attempt's) replaced.
var errJobManagerMoved = errors.New("the JobManager moved to a new attempt")

// rediscover asks Config.Rediscover where the JobManager is, at most once
// per RediscoverInterval, and moves Control there if it moved, reporting
// whether it did.
func (t *TaskManager) rediscover(ctx context.Context) bool {
	if t.cfg.Rediscover == nil {
		return false
	}
	t.rediscoverMu.Lock()
	defer t.rediscoverMu.Unlock()
	if time.Since(t.lastRediscover) < t.cfg.RediscoverInterval {
		return false
	}
	t.lastRediscover = time.Now()
	addr, err := t.cfg.Rediscover(ctx)
	if err != nil || addr == "" || addr == t.cfg.Control.Addr() {
		return false
	}
	t.log.Info("the JobManager moved", "from", t.cfg.Control.Addr(), "to", addr)
	t.cfg.Control.SetAddr(addr)
	t.epoch.Add(1)
	return true
}

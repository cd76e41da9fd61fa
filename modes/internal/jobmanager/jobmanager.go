// Package jobmanager is the JobManager of Spindle's runtime: it receives
// jobs (a jobgraph.JobGraph), plans them into TaskManagers and slots, asks
// its Pool (the negotiation engine, in an ApplicationMaster) for the
// TaskManager containers, deploys every subtask when the job's TaskManagers
// have registered, follows their states, hands out the splits of source
// vertices, applies the job's restart strategy when a subtask fails or a
// TaskManager is lost, runs the committers of the job's operators at the
// end, and reports the job's result with its root cause.
//
// TaskManagers speak to it over package control's protocol (Handler);
// the tracking page and its JSON come from TrackingHandler.
//
// Restarts restart the whole job attempt: every subtask of the attempt is
// cancelled and the job is deployed again with the next attempt number.
// For graphs whose edges are all pipelined exchanges between every
// subtask (hash, rebalance, broadcast) that is the one pipelined region
// Flink would restart too; a graph of several independent regions restarts
// them all (see the package's note in the README for what is left).
package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// A Pool provides TaskManager containers.
type Pool interface {
	// SetTaskManagers sets how many TaskManager containers are wanted in
	// all; the pool replaces those that are lost.
	SetTaskManagers(n int) error
	// Release gives one TaskManager back for good (the wanted count goes
	// down by one).
	Release(id string) error
}

// Config configures a JobManager.
type Config struct {
	// TaskManager is what every TaskManager offers.
	TaskManager jobgraph.TaskManagerSpec
	// Pool provides TaskManagers. Required.
	Pool Pool
	// BinarySHA256 is the hex SHA-256 of the binary the TaskManagers
	// start with (a session's); a session job whose client runs another
	// ships it (binary.go). Empty runs every job on the session's binary.
	BinarySHA256 string
	// HDFS returns the client splitters and committers use; nil when the
	// deployment has no HDFS.
	HDFS func(ctx context.Context) (*hdfs.Client, error)
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Random draws the jitter of restart delays; nil means math/rand.
	Random func() float64
	// PollTimeout is how long a command poll is held; zero means 20 s.
	PollTimeout time.Duration
	// CancelTimeout bounds the wait for a failed attempt's subtasks to
	// stop; zero means 30 s.
	CancelTimeout time.Duration
	// DescribeTaskManager adds to a root cause what is known of a
	// TaskManager (its node); nil means the id alone.
	DescribeTaskManager func(id string) string
	// Session, when set, keeps TaskManagers between jobs (see
	// SessionConfig); nil releases a job's TaskManagers when it ends.
	Session *SessionConfig
	// OnStop is called when a client asks the deployment to stop
	// (POST /v1/stop?status=SUCCEEDED|FAILED|KILLED), with the final
	// status asked for, before its jobs are told to cancel; it must not
	// block. Nil refuses stops.
	OnStop func(status string)
}

// Job states, as Flink names them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateFinished   = "finished"
	StateFailed     = "failed"
	StateCanceling  = "canceling"
	StateCanceled   = "canceled"
)

// Result is the outcome of a job.
type Result struct {
	JobID string
	Name  string
	// State is StateFinished, StateFailed or StateCanceled.
	State string
	// Attempts is how many job attempts ran.
	Attempts int
	// Counters are the sums of the final attempt's subtask counters.
	Counters map[string]int64
	// RootCause says which subtask failed where and why (failed jobs).
	RootCause string
	Duration  time.Duration
}

// JobError is the error of a job that did not finish.
type JobError struct {
	Result *Result
}

func (e *JobError) Error() string {
	if e.Result.RootCause != "" {
		return fmt.Sprintf("job %s %s after %d attempt(s): %s", e.Result.JobID, e.Result.State, e.Result.Attempts, e.Result.RootCause)
	}
	return fmt.Sprintf("job %s %s after %d attempt(s)", e.Result.JobID, e.Result.State, e.Result.Attempts)
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("jobmanager: closed")

// JobManager runs jobs. Its methods are safe for concurrent use.
type JobManager struct {
	cfg Config
	log *slog.Logger

	// warnings are the tracking page's (SetWarning), by key.
	warnMu   sync.Mutex
	warnings map[string]string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change
	tms     map[string]*taskManager
	jobs    map[string]*job
	order   []string // job ids in submission order
	wanted  int      // TaskManagers wanted by running jobs
	target  int      // TaskManagers asked of the pool (session mode)
	waiting []string // jobs waiting for TaskManagers, in order (session mode)
	// sessionCtx is the session's lifetime, which its jobs run under.
	sessionCtx context.Context
	nextJob    int
	seq        int64
	closed     bool
	// creds is the last PushCredentials, for TaskManagers that register
	// later.
	creds *control.CredentialsUpdate
}

type taskManager struct {
	id, host, dataAddr string
	slots              int
	commands           []control.Command
	job                string // the job it serves, or ""
	lost               bool
	registered         time.Time
	// identity is whose jobs it serves (session mode): set by its first
	// job, kept while idle.
	identity  string
	idleSince time.Time
	// lostCause is why it was lost; ended says the cause is its
	// container's end as YARN reported it, not only a broken connection.
	lostCause string
	ended     bool
}

// New returns a JobManager.
func New(cfg Config) (*JobManager, error) {
	if cfg.Pool == nil {
		return nil, errors.New("jobmanager: Config.Pool is required")
	}
	if cfg.TaskManager.Slots < 1 {
		return nil, fmt.Errorf("jobmanager: a TaskManager needs at least 1 slot, got %d", cfg.TaskManager.Slots)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 20 * time.Second
	}
	if cfg.CancelTimeout == 0 {
		cfg.CancelTimeout = 30 * time.Second
	}
	if cfg.DescribeTaskManager == nil {
		cfg.DescribeTaskManager = func(id string) string { return "TaskManager " + id }
	}
	m := &JobManager{cfg: cfg, log: cfg.Logger, changed: make(chan struct{}),
		tms: map[string]*taskManager{}, jobs: map[string]*job{}}
	if cfg.Session != nil {
		m.target = cfg.Session.MinTaskManagers
	}
	return m, nil
}

// broadcast wakes every waiter; mu is held.
func (m *JobManager) broadcast() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// wait waits for the next change; mu is held and held again on return.
func (m *JobManager) wait(ctx context.Context, timeout time.Duration) error {
	ch := m.changed
	m.mu.Unlock()
	defer m.mu.Lock()
	var t <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		t = timer.C
	}
	select {
	case <-ch:
		return nil
	case <-t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Register adds a TaskManager. A TaskManager registering again (after a
// lost connection) keeps its place.
func (m *JobManager) Register(r control.RegisterRequest) error {
	if r.ID == "" || r.DataAddr == "" || r.Slots < 1 {
		return fmt.Errorf("a registration needs an id, a data address and at least one slot")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if tm, ok := m.tms[r.ID]; ok {
		if tm.lost {
			return fmt.Errorf("TaskManager %s was declared lost", r.ID)
		}
		// Registered again: restarted as a job's own binary (binary.go),
		// so without the application's newest tokens.
		tm.host, tm.dataAddr, tm.slots = r.Host, r.DataAddr, r.Slots
		m.sendCredentials(tm)
		m.broadcast()
		return nil
	}
	m.tms[r.ID] = &taskManager{id: r.ID, host: r.Host, dataAddr: r.DataAddr, slots: r.Slots, registered: m.cfg.Now()}
	m.log.Info("TaskManager registered", "id", r.ID, "host", r.Host, "slots", r.Slots)
	m.sendCredentials(m.tms[r.ID])
	m.broadcast()
	return nil
}

// TaskManagerLost records that a TaskManager's container ended; the
// subtasks it ran fail with cause. A TaskManager already lost through its
// broken connection gets its cause replaced by this one, which says why
// its container ended (a job failing on it waits a little for it).
func (m *JobManager) TaskManagerLost(id, cause string) {
	m.taskManagerGone(id, cause, true)
}

// taskManagerGone records a TaskManager lost for cause; ended says the
// cause is its container's end.
func (m *JobManager) taskManagerGone(id, cause string, ended bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tm, ok := m.tms[id]
	if !ok {
		// Lost before it registered: remember, so a late registration is refused.
		m.tms[id] = &taskManager{id: id, lost: true, lostCause: cause, ended: ended}
		return
	}
	m.loseLocked(tm, cause, ended)
}

// loseLocked records tm lost for cause and fails the subtasks it ran; mu
// is held.
func (m *JobManager) loseLocked(tm *taskManager, cause string, ended bool) {
	if tm.lost {
		if ended && !tm.ended && tm.lostCause != "" {
			m.log.Warn("TaskManager lost earlier ended", "id", tm.id, "cause", cause)
			tm.lostCause, tm.ended = cause, true
			m.broadcast()
		}
		return
	}
	tm.lost, tm.lostCause, tm.ended = true, cause, ended
	m.log.Warn("TaskManager lost", "id", tm.id, "cause", cause)
	if j := m.jobs[tm.job]; j != nil {
		j.taskManagerLost(tm.id)
	}
	m.broadcast()
}

// Commands returns the TaskManager's commands after seq, waiting up to the
// poll timeout for one.
func (m *JobManager) Commands(ctx context.Context, id string, after int64) ([]control.Command, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	deadline := m.cfg.Now().Add(m.cfg.PollTimeout)
	for {
		tm, ok := m.tms[id]
		if !ok {
			return nil, fmt.Errorf("TaskManager %s is not registered", id)
		}
		if tm.lost {
			return []control.Command{{Seq: m.seq + 1, Shutdown: true}}, nil
		}
		// Commands up to after were received: drop them.
		i := 0
		for i < len(tm.commands) && tm.commands[i].Seq <= after {
			i++
		}
		tm.commands = tm.commands[i:]
		if len(tm.commands) > 0 {
			return slices.Clone(tm.commands), nil
		}
		left := deadline.Sub(m.cfg.Now())
		if left <= 0 {
			return []control.Command{}, nil
		}
		if err := m.wait(ctx, left); err != nil {
			return nil, err
		}
	}
}

// send queues a command for a TaskManager; mu is held.
func (m *JobManager) send(tm *taskManager, c control.Command) {
	m.seq++
	c.Seq = m.seq
	tm.commands = append(tm.commands, c)
}

// Update applies task updates from a TaskManager.
func (m *JobManager) Update(id string, us []control.TaskUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tm, ok := m.tms[id]
	if !ok {
		return fmt.Errorf("TaskManager %s is not registered", id)
	}
	for _, u := range us {
		if j := m.jobs[u.Job]; j != nil {
			j.update(tm, u)
		}
	}
	m.broadcast()
	return nil
}

// NextSplit hands out the next split of a source subtask's vertex.
func (m *JobManager) NextSplit(r control.SplitRequest) (control.SplitResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[r.Job]
	if j == nil || j.splits == nil {
		return control.SplitResponse{}, fmt.Errorf("job %s is not running", r.Job)
	}
	if reg, ok := j.regionOf[jobgraph.Subtask{Vertex: r.Vertex, Index: r.Index}]; !ok || j.attempts[reg] != r.Attempt.Attempt {
		return control.SplitResponse{}, fmt.Errorf("job %s attempt %d is not running", r.Job, r.Attempt.Attempt)
	}
	q, ok := j.splits[r.Vertex]
	if !ok {
		return control.SplitResponse{}, fmt.Errorf("vertex %q of job %s has no splits", r.Vertex, r.Job)
	}
	if len(q) == 0 {
		return control.SplitResponse{Done: true}, nil
	}
	s := q[0]
	j.splits[r.Vertex] = q[1:]
	return control.SplitResponse{Split: &s}, nil
}

// Cancel cancels a job.
func (m *JobManager) Cancel(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	if j == nil {
		return fmt.Errorf("%w: %s", ErrUnknownJob, id)
	}
	if j.done {
		return fmt.Errorf("%w: job %s already %s", ErrJobEnded, id, j.state)
	}
	j.cancelRequested = true
	m.broadcast()
	return nil
}

// Errors of Cancel.
var (
	ErrUnknownJob = errors.New("no such job")
	ErrJobEnded   = errors.New("the job has ended")
)

// Jobs returns every job's status, in submission order.
func (m *JobManager) Jobs() []control.JobStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]control.JobStatus, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.jobs[id].status())
	}
	return out
}

// TaskManagers counts the registered TaskManagers that are not lost.
func (m *JobManager) TaskManagers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, tm := range m.tms {
		if !tm.lost {
			n++
		}
	}
	return n
}

// Close shuts down every TaskManager and makes Run refuse new jobs.
func (m *JobManager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, tm := range m.tms {
		if !tm.lost {
			m.send(tm, control.Command{Shutdown: true})
		}
	}
	m.broadcast()
}

// counterSum sums counter maps.
func counterSum(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

func sortedTMs(m map[string]*taskManager) []*taskManager {
	out := slices.Collect(maps.Values(m))
	sort.Slice(out, func(i, j int) bool {
		if !out[i].registered.Equal(out[j].registered) {
			return out[i].registered.Before(out[j].registered)
		}
		return out[i].id < out[j].id
	})
	return out
}

// Abort fails every job that has not ended with cause and refuses new
// ones: the JobManager cannot get TaskManagers any more.
func (m *JobManager) Abort(cause string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, j := range m.jobs {
		if !j.done {
			j.abort = cause
		}
	}
	m.broadcast()
}

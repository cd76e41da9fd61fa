package jobmanager

import (
	"context"
	"fmt"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/operator"
)

type subtaskState struct {
	state    string
	tm       string
	err      string
	counters map[string]int64
	// cancelAsked: the JobManager told its TaskManager to cancel it.
	// byLoss: it failed with the loss of its TaskManager.
	cancelAsked, byLoss bool
}

// job is one job's state; guarded by the JobManager's mu.
type job struct {
	m       *JobManager
	id      string
	name    string
	g       *jobgraph.JobGraph
	plan    *jobgraph.Plan
	state   string
	attempt int
	// tms holds the TaskManager of each of the plan's TaskManagers ("" until
	// one is assigned, or after it was lost).
	tms      []string
	subtasks map[jobgraph.Subtask]*subtaskState
	splits   map[string][]operator.Split
	// regions are the job's failover regions: the pipelined regions,
	// merged where a vertex hands out splits or commits output (its
	// subtasks share state in the JobManager, so they restart together).
	// regionOf maps a subtask to its region, attempts holds each region's
	// attempt, and failure and primary each region's first failure and
	// first failure not caused by another subtask's, in its running
	// attempt.
	regions          [][]jobgraph.Subtask
	regionOf         map[jobgraph.Subtask]int
	attempts         []int
	failure, primary []string
	restarts         int
	cancelRequested  bool
	abort            string // set by Abort: fail without restart
	done             bool
	started, ended   time.Time
	counters         map[string]int64
	rootCause        string
	opts             RunOptions
	// grown is how many TaskManagers the session asked the pool for on
	// this job's behalf (session mode).
	grown int
	// lost holds, for a region whose primary failure is the loss of a
	// TaskManager, that loss (its text grows better once YARN reports why
	// the container ended).
	lost []*lostFailure
}

// RunOptions are a job's own settings in a session.
type RunOptions struct {
	// Identity names whose credentials the job carries; in a session a
	// TaskManager serves only jobs of the identity it first served. Empty
	// means the deployment's own.
	Identity string
	// Credentials are the job's tokens (Hadoop's credentials format),
	// handed to its subtasks with their deployment and dropped by the
	// TaskManagers when the job ends. Nil means the containers' own.
	Credentials []byte
	// HDFS returns the client the job's splitters and committers use;
	// nil means Config.HDFS.
	HDFS func(ctx context.Context) (*hdfs.Client, error)
	// OnStart is called with the job's id once it is accepted.
	OnStart func(id string)
	// Tokens keeps the job's own credentials alive; nil means nothing
	// does.
	Tokens JobTokenKeeper
	// Binary, when set, is the binary the job's client shipped (a
	// session's job, see binary.go); its TaskManagers become it.
	Binary *control.BinaryRef
}

// Run runs the job g to its end and returns its result. A job that fails
// or is cancelled returns a *JobError with the result.
func (m *JobManager) Run(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
	return m.RunWith(ctx, g, RunOptions{})
}

// RunWith is Run with the job's own options.
func (m *JobManager) RunWith(ctx context.Context, g *jobgraph.JobGraph, opts RunOptions) (*Result, error) {
	if err := g.Validate(operatorNames(g, opts.Binary), &m.cfg.TaskManager); err != nil {
		return nil, err
	}
	plan, err := jobgraph.NewPlan(g, m.cfg.TaskManager)
	if err != nil {
		return nil, err
	}
	if s := m.cfg.Session; s != nil && s.MaxTaskManagersPerJob > 0 && len(plan.TaskManagers) > s.MaxTaskManagersPerJob {
		return nil, fmt.Errorf("%w: the job needs %d TaskManagers of %d slots, the session allows %d per job; lower its parallelism or raise the session's -max-taskmanagers-per-job",
			ErrQuota, len(plan.TaskManagers), m.cfg.TaskManager.Slots, s.MaxTaskManagersPerJob)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	id := g.ID
	if id == "" {
		m.nextJob++
		id = fmt.Sprintf("job-%d", m.nextJob)
	}
	// A job an earlier attempt numbered keeps its number; new ones follow.
	m.nextJob = max(m.nextJob, jobNumber(id))
	if _, dup := m.jobs[id]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("a job with id %q exists already; give the graph another ID", id)
	}
	name := g.Name
	if name == "" {
		name = id
	}
	j := &job{m: m, id: id, name: name, g: g, plan: plan, state: StateCreated,
		tms: make([]string, len(plan.TaskManagers)), started: m.cfg.Now(), opts: opts}
	m.jobs[id] = j
	m.order = append(m.order, id)
	need := len(plan.TaskManagers)
	var wanted int
	if m.cfg.Session == nil {
		m.wanted += need
		wanted = m.wanted
	}
	m.broadcast()
	m.mu.Unlock()
	if opts.OnStart != nil {
		opts.OnStart(id)
	}
	m.log.Info("job submitted", "job", id, "name", name, "taskmanagers", need, "slots", plan.Slots(), "identity", opts.Identity)
	if m.cfg.Session == nil {
		if err := m.cfg.Pool.SetTaskManagers(wanted); err != nil {
			m.finishJob(j, StateFailed, "asking for TaskManagers: "+err.Error(), need)
			return j.result(), &JobError{Result: j.result()}
		}
	}

	if err := m.planRegions(j); err != nil {
		m.finishJob(j, StateFailed, err.Error(), need)
		return j.result(), &JobError{Result: j.result()}
	}
	restarts := jobgraph.NewRestarts(g.Restart, m.cfg.Random)
	all := make([]int, len(j.regions))
	for r := range all {
		all[r] = r
	}
	outcome, cause, failed := m.start(ctx, j, all)
	for {
		if outcome == outcomeRunning {
			outcome, cause, failed = m.watch(ctx, j)
		}
		switch outcome {
		case outcomeFinished:
			if err := m.commit(ctx, j, true); err != nil {
				m.finishJob(j, StateFailed, "publishing the output: "+err.Error(), need)
				return j.result(), &JobError{Result: j.result()}
			}
			m.finishJob(j, StateFinished, "", need)
			return j.result(), nil
		case outcomeCanceled:
			m.stopRegions(j, all)
			m.commitQuietly(j)
			m.finishJob(j, StateCanceled, cause, need)
			return j.result(), &JobError{Result: j.result()}
		}
		// Failed regions stop, the others run on.
		m.stopRegions(j, failed)
		cause = j.primaryCause(failed, cause)
		delay, again := restarts.Failure(m.cfg.Now())
		if j.aborted() {
			again = false
		}
		if !again {
			m.stopRegions(j, all)
			m.awaitLostCauses(j, failed)
			cause = j.primaryCause(failed, cause)
			m.commitQuietly(j)
			m.finishJob(j, StateFailed, cause, need)
			return j.result(), &JobError{Result: j.result()}
		}
		m.mu.Lock()
		j.state = StateRestarting
		j.restarts++
		m.broadcast()
		m.mu.Unlock()
		m.log.Warn("job restarting", "job", id, "regions", len(failed), "of", len(j.regions), "restart", j.restarts, "delay", delay, "cause", cause)
		select {
		case <-ctx.Done():
			m.stopRegions(j, all)
			m.commitQuietly(j)
			m.finishJob(j, StateCanceled, cause, need)
			return j.result(), &JobError{Result: j.result()}
		case <-time.After(delay):
		}
		m.mu.Lock()
		for _, r := range failed {
			j.attempts[r]++
			j.attempt = max(j.attempt, j.attempts[r])
		}
		m.mu.Unlock()
		outcome, cause, failed = m.start(ctx, j, failed)
	}
}

type outcome int

const (
	outcomeFinished outcome = iota
	outcomeFailed
	outcomeCanceled
	outcomeRunning
)

// commit runs the committers of the job's operators.
func (m *JobManager) commit(ctx context.Context, j *job, succeeded bool) error {
	for vi := range j.g.Vertices {
		v := &j.g.Vertices[vi]
		op, ok := operator.Lookup(v.Operator)
		if !ok || op.Committer == nil {
			continue
		}
		env, err := m.env(ctx, j, v)
		if err != nil {
			return err
		}
		if err := op.Committer(ctx, env, succeeded); err != nil {
			return fmt.Errorf("vertex %q: %w", v.ID, err)
		}
	}
	return nil
}

// commitQuietly runs the committers of a job that did not finish, so
// nothing it wrote stays visible.
func (m *JobManager) commitQuietly(j *job) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.commit(ctx, j, false); err != nil {
		m.log.Error("removing the output of a job that did not finish", "job", j.id, "err", err)
	}
}

// finishJob records the job's end and gives its TaskManagers back.
func (m *JobManager) finishJob(j *job, state, cause string, need int) {
	if k := j.opts.Tokens; k != nil && state == StateFailed {
		cause = k.Explain(cause)
	}
	m.mu.Lock()
	j.state, j.done, j.ended, j.rootCause = state, true, m.cfg.Now(), cause
	var cs []map[string]int64
	for _, s := range j.subtasks {
		cs = append(cs, s.counters)
	}
	j.counters = counterSum(cs...)
	m.dequeue(j)
	if m.cfg.Session != nil {
		// The TaskManagers stay for later jobs of the same identity; they
		// drop this job's credentials now.
		for _, id := range j.tms {
			if tm := m.tms[id]; tm != nil && tm.job == j.id {
				tm.job, tm.idleSince = "", m.cfg.Now()
				if !tm.lost {
					m.send(tm, control.Command{Forget: j.id})
				}
			}
		}
		m.broadcast()
		m.mu.Unlock()
		m.log.Info("job ended", "job", j.id, "state", state, "attempts", j.restarts+1, "root_cause", cause)
		return
	}
	var release []string
	for _, id := range j.tms {
		if tm := m.tms[id]; tm != nil && tm.job == j.id {
			tm.job = ""
			if !tm.lost {
				release = append(release, id)
				m.send(tm, control.Command{Shutdown: true})
				tm.lost = true // given back: never assigned again
			}
		}
	}
	m.wanted -= need
	wanted := m.wanted
	m.broadcast()
	m.mu.Unlock()
	for _, id := range release {
		if err := m.cfg.Pool.Release(id); err != nil {
			m.log.Warn("releasing a TaskManager", "id", id, "err", err)
		}
	}
	if err := m.cfg.Pool.SetTaskManagers(wanted); err != nil {
		m.log.Warn("lowering the TaskManagers wanted", "err", err)
	}
	m.log.Info("job ended", "job", j.id, "state", state, "attempts", j.restarts+1, "root_cause", cause)
}

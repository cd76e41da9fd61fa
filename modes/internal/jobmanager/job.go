package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
}

// Run runs the job g to its end and returns its result. A job that fails
// or is cancelled returns a *JobError with the result.
func (m *JobManager) Run(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
	return m.RunWith(ctx, g, RunOptions{})
}

// RunWith is Run with the job's own options.
func (m *JobManager) RunWith(ctx context.Context, g *jobgraph.JobGraph, opts RunOptions) (*Result, error) {
	if err := g.Validate(operator.Names(), &m.cfg.TaskManager); err != nil {
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

// planRegions finds the job's failover regions.
func (m *JobManager) planRegions(j *job) error {
	pr, err := jobgraph.PipelinedRegions(j.g)
	if err != nil {
		return err
	}
	// Union the pipelined regions a splitter or committer vertex spans.
	parent := make([]int, len(pr.List))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, v := range j.g.Vertices {
		op, ok := operator.Lookup(v.Operator)
		if !ok || (op.Splitter == nil && op.Committer == nil) {
			continue
		}
		first := -1
		for i := 0; i < v.Parallelism; i++ {
			r, _ := pr.Of(jobgraph.Subtask{Vertex: v.ID, Index: i})
			if first < 0 {
				first = find(r.ID)
			} else {
				parent[find(r.ID)] = first
			}
		}
	}
	index := map[int]int{}
	m.mu.Lock()
	defer m.mu.Unlock()
	j.regionOf = map[jobgraph.Subtask]int{}
	for _, r := range pr.List {
		root := find(r.ID)
		n, ok := index[root]
		if !ok {
			n = len(j.regions)
			index[root] = n
			j.regions = append(j.regions, nil)
		}
		j.regions[n] = append(j.regions[n], r.Subtasks...)
		for _, st := range r.Subtasks {
			j.regionOf[st] = n
		}
	}
	j.attempts = make([]int, len(j.regions))
	j.failure = make([]string, len(j.regions))
	j.primary = make([]string, len(j.regions))
	j.subtasks = map[jobgraph.Subtask]*subtaskState{}
	return nil
}

// start gets the job's TaskManagers, splits the inputs of the regions'
// source vertices and deploys the regions' subtasks. It returns
// outcomeRunning, or why the regions could not start.
func (m *JobManager) start(ctx context.Context, j *job, regions []int) (outcome, string, []int) {
	if err := m.acquire(ctx, j); err != nil {
		if j.aborted() {
			return outcomeFailed, err.Error(), regions
		}
		return outcomeCanceled, "cancelled while waiting for TaskManagers: " + err.Error(), regions
	}
	splits, err := m.computeSplits(ctx, j, regions)
	if err != nil {
		if ctx.Err() != nil {
			return outcomeCanceled, "cancelled while splitting the input", regions
		}
		return outcomeFailed, err.Error(), regions
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if j.splits == nil {
		j.splits = map[string][]operator.Split{}
	}
	for v, ss := range splits {
		j.splits[v] = ss
	}
	j.state = StateRunning
	for _, r := range regions {
		j.failure[r], j.primary[r] = "", ""
		m.deployRegion(j, r)
	}
	m.broadcast()
	return outcomeRunning, "", nil
}

// watch waits for the job's next turn: all subtasks finished, regions
// failed, a cancel or an abort.
func (m *JobManager) watch(ctx context.Context, j *job) (outcome, string, []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		var failed []int
		cause := ""
		for r, f := range j.failure {
			if f != "" {
				failed = append(failed, r)
				if cause == "" {
					cause = f
				}
			}
		}
		switch {
		case j.abort != "":
			return outcomeFailed, j.abort, allRegions(j)
		case j.cancelRequested:
			return outcomeCanceled, "cancelled by a client", nil
		case len(failed) > 0:
			return outcomeFailed, cause, failed
		case j.allFinished():
			return outcomeFinished, "", nil
		}
		if err := m.wait(ctx, 0); err != nil {
			return outcomeCanceled, "cancelled: " + err.Error(), nil
		}
	}
}

func allRegions(j *job) []int {
	out := make([]int, len(j.regions))
	for i := range out {
		out[i] = i
	}
	return out
}

// acquire waits until every TaskManager of the plan is assigned a live,
// registered TaskManager.
func (m *JobManager) acquire(ctx context.Context, j *job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		missing := 0
		for i, id := range j.tms {
			if id != "" {
				if tm := m.tms[id]; tm != nil && !tm.lost {
					continue
				}
				j.tms[i] = ""
			}
			for _, tm := range m.assignable(j) {
				tm.job, tm.identity = j.id, j.opts.Identity
				j.tms[i] = tm.id
				break
			}
			if j.tms[i] == "" {
				missing++
			}
		}
		if missing == 0 {
			m.dequeue(j)
			return nil
		}
		if m.cfg.Session != nil {
			if err := m.grow(j, missing); err != nil {
				return err
			}
		}
		if j.cancelRequested {
			return errors.New("cancelled by a client")
		}
		if j.abort != "" {
			return errors.New(j.abort)
		}
		if err := m.wait(ctx, 0); err != nil {
			return err
		}
	}
}

// computeSplits runs the splitters of the source vertices in regions.
func (m *JobManager) computeSplits(ctx context.Context, j *job, regions []int) (map[string][]operator.Split, error) {
	out := map[string][]operator.Split{}
	for _, v := range j.g.Vertices {
		op, ok := operator.Lookup(v.Operator)
		if !ok || op.Splitter == nil {
			continue
		}
		m.mu.Lock()
		r := j.regionOf[jobgraph.Subtask{Vertex: v.ID, Index: 0}]
		m.mu.Unlock()
		if !slices.Contains(regions, r) {
			continue
		}
		env, err := m.env(ctx, j, &v)
		if err != nil {
			return nil, fmt.Errorf("vertex %q: %w", v.ID, err)
		}
		s, err := op.Splitter(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("splitting the input of vertex %q: %w", v.ID, err)
		}
		out[v.ID] = s
		m.log.Info("input split", "job", j.id, "vertex", v.ID, "splits", len(s))
	}
	return out, nil
}

func (m *JobManager) env(ctx context.Context, j *job, v *jobgraph.Vertex) (operator.SplitEnv, error) {
	m.mu.Lock()
	attempt := j.attempts[j.regionOf[jobgraph.Subtask{Vertex: v.ID, Index: 0}]]
	m.mu.Unlock()
	env := operator.SplitEnv{Job: j.id, Attempt: attempt, Config: vertexConfig(j.g, v), Parallelism: v.Parallelism, Logger: m.log}
	hdfsFn := m.cfg.HDFS
	if j.opts.HDFS != nil {
		hdfsFn = j.opts.HDFS
	}
	if hdfsFn != nil {
		c, err := hdfsFn(ctx)
		if err != nil {
			return env, err
		}
		env.HDFS = c
	}
	return env, nil
}

func vertexConfig(g *jobgraph.JobGraph, v *jobgraph.Vertex) map[string]string {
	out := map[string]string{}
	for k, val := range g.Config {
		out[k] = val
	}
	for k, val := range v.Config {
		out[k] = val
	}
	return out
}

// deployRegion sends every subtask of region r, in its current attempt,
// to its TaskManager; mu is held.
func (m *JobManager) deployRegion(j *job, r int) {
	attempt := j.attempts[r]
	addr := func(v string, i int) (string, string) {
		ref, _ := j.plan.Locate(jobgraph.Subtask{Vertex: v, Index: i})
		id := j.tms[ref.TaskManager]
		return id, m.tms[id].dataAddr
	}
	for _, st := range j.regions[r] {
		v, i := j.g.Vertex(st.Vertex), st.Index
		op, _ := operator.Lookup(v.Operator)
		{
			d := &control.Deployment{
				Attempt: control.Attempt{Job: j.id, Attempt: attempt}, JobName: j.name,
				Vertex: v.ID, Operator: v.Operator, Index: i, Parallelism: v.Parallelism,
				Config: vertexConfig(j.g, v), Splits: op != nil && op.Splitter != nil,
				Credentials: j.opts.Credentials,
			}
			for _, ei := range j.g.Inputs(v.ID) {
				e := j.g.Edges[ei]
				src := j.g.Vertex(e.Source)
				in := control.InputSpec{Edge: ei}
				if e.Partitioner == jobgraph.PartitionForward {
					in.Producers = []int{i}
				} else {
					for p := 0; p < src.Parallelism; p++ {
						in.Producers = append(in.Producers, p)
					}
				}
				d.Inputs = append(d.Inputs, in)
			}
			for _, ei := range j.g.Outputs(v.ID) {
				e := j.g.Edges[ei]
				dst := j.g.Vertex(e.Target)
				out := control.OutputSpec{Edge: ei, Partitioner: e.Partitioner}
				if e.Partitioner == jobgraph.PartitionForward {
					_, a := addr(dst.ID, i)
					out.Targets = []control.Target{{Consumer: i, Addr: a}}
				} else {
					for c := 0; c < dst.Parallelism; c++ {
						_, a := addr(dst.ID, c)
						out.Targets = append(out.Targets, control.Target{Consumer: c, Addr: a})
					}
				}
				d.Outputs = append(d.Outputs, out)
			}
			tmID, _ := addr(v.ID, i)
			j.subtasks[jobgraph.Subtask{Vertex: v.ID, Index: i}] = &subtaskState{state: StateCreated, tm: tmID}
			m.send(m.tms[tmID], control.Command{Deploy: d})
		}
	}
	m.log.Info("job deployed", "job", j.id, "region", r, "attempt", attempt, "subtasks", len(j.regions[r]), "taskmanagers", len(j.tms))
}

// stopRegions cancels the subtasks of regions and waits, up to the cancel
// timeout, until each has stopped or its TaskManager is lost.
func (m *JobManager) stopRegions(j *job, regions []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(j.regions) == 0 {
		return
	}
	j.state = StateCanceling
	for _, r := range regions {
		byTM := map[string][]control.SubtaskRef{}
		for _, st := range j.regions[r] {
			if s := j.subtasks[st]; s != nil && !isTerminal(s.state) {
				byTM[s.tm] = append(byTM[s.tm], control.SubtaskRef{Vertex: st.Vertex, Index: st.Index})
			}
		}
		for id, refs := range byTM {
			if tm := m.tms[id]; tm != nil && !tm.lost {
				m.send(tm, control.Command{Cancel: &control.Attempt{Job: j.id, Attempt: j.attempts[r]}, Only: refs})
			}
		}
	}
	m.broadcast()
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CancelTimeout)
	defer cancel()
	for !j.stopped(regions) {
		if err := m.wait(ctx, 0); err != nil {
			m.log.Warn("subtasks did not stop in time", "job", j.id, "regions", regions, "timeout", m.cfg.CancelTimeout)
			return
		}
	}
}

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

// update applies one task update; mu is held.
func (j *job) update(tm *taskManager, u control.TaskUpdate) {
	st := jobgraph.Subtask{Vertex: u.Vertex, Index: u.Index}
	r, ok := j.regionOf[st]
	if !ok || u.Attempt.Attempt != j.attempts[r] {
		return
	}
	s := j.subtasks[st]
	if s == nil || s.tm != tm.id || isTerminal(s.state) {
		return
	}
	s.state = u.State
	if u.Counters != nil {
		s.counters = u.Counters
	}
	if u.State == control.TaskFailed {
		s.err = u.Error
		cause := fmt.Sprintf("vertex %q subtask %d/%d (attempt %d) failed in %s: %s",
			u.Vertex, u.Index, j.g.Vertex(u.Vertex).Parallelism, j.attempts[r], j.m.cfg.DescribeTaskManager(tm.id), u.Error)
		if j.failure[r] == "" {
			j.failure[r] = cause
		}
		if j.primary[r] == "" && !u.Secondary {
			j.primary[r] = cause
		}
	}
}

// taskManagerLost fails the attempt if the TaskManager ran one of its
// unfinished subtasks; mu is held.
func (j *job) taskManagerLost(id, cause string) {
	for i, t := range j.tms {
		if t == id {
			j.tms[i] = ""
		}
	}
	for st, s := range j.subtasks {
		if s.tm == id && !isTerminal(s.state) {
			s.state, s.err = control.TaskFailed, cause
			r := j.regionOf[st]
			c := fmt.Sprintf("vertex %q subtask %d (attempt %d): %s", st.Vertex, st.Index, j.attempts[r], cause)
			if j.failure[r] == "" {
				j.failure[r] = c
			}
			if j.primary[r] == "" {
				j.primary[r] = c
			}
		}
	}
}

// primaryCause is the first primary failure of the failed regions, once
// their subtasks stopped, else cause.
func (j *job) primaryCause(regions []int, cause string) string {
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	if j.abort != "" {
		return cause
	}
	for _, r := range regions {
		if j.primary[r] != "" {
			return j.primary[r]
		}
	}
	return cause
}

func (j *job) aborted() bool {
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	return j.abort != ""
}

func isTerminal(state string) bool {
	return state == control.TaskFinished || state == control.TaskFailed || state == control.TaskCanceled
}

func (j *job) allFinished() bool {
	for _, s := range j.subtasks {
		if s.state != control.TaskFinished {
			return false
		}
	}
	return len(j.subtasks) > 0
}

// stopped: every subtask of the regions has stopped, or its TaskManager
// is gone.
func (j *job) stopped(regions []int) bool {
	for _, r := range regions {
		for _, st := range j.regions[r] {
			if !j.subtaskStopped(st) {
				return false
			}
		}
	}
	return true
}

func (j *job) subtaskStopped(st jobgraph.Subtask) bool {
	s := j.subtasks[st]
	if s == nil || isTerminal(s.state) {
		return true
	}
	tm := j.m.tms[s.tm]
	return tm == nil || tm.lost
}

func (j *job) status() control.JobStatus {
	st := control.JobStatus{ID: j.id, Name: j.name, State: j.state, Attempt: j.attempt, RootCause: j.rootCause,
		Started: j.started, Ended: j.ended}
	var cs []map[string]int64
	for _, s := range j.subtasks {
		st.Subtasks.Total++
		switch s.state {
		case control.TaskRunning:
			st.Subtasks.Running++
		case control.TaskFinished:
			st.Subtasks.Finished++
		}
		cs = append(cs, s.counters)
	}
	st.Counters = counterSum(cs...)
	if j.done {
		st.Counters = j.counters
	}
	st.RecordsOut = st.Counters[CounterRecordsOut]
	for _, id := range j.tms {
		if id != "" {
			st.TaskManagers++
		}
	}
	return st
}

// CounterRecordsOut and CounterRecordsIn are the counters every subtask
// keeps of the records it emitted and read.
const (
	CounterRecordsOut = "records-out"
	CounterRecordsIn  = "records-in"
)

func (j *job) result() *Result {
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	return &Result{JobID: j.id, Name: j.name, State: j.state, Attempts: j.restarts + 1, Counters: j.counters,
		RootCause: j.rootCause, Duration: j.ended.Sub(j.started)}
}

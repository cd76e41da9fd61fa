package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// The failover regions of a job and their lifecycle: find them, get the
// TaskManagers, split the inputs and deploy a region's subtasks, watch
// for the next turn, stop a region.

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
	j.lost = make([]*lostFailure, len(j.regions))
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
		j.failure[r], j.primary[r], j.lost[r] = "", "", nil
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
				if m.wantedEarlier(j, tm) {
					continue
				}
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

// wantedEarlier reports whether tm could serve a session job that has
// waited for TaskManagers since before j: that job gets it first. Jobs
// queue in order; and only the first waiting job grows the session, so a
// TaskManager it asked for, taken by a later job, would leave it waiting
// for that job to end though the session had room. mu is held.
func (m *JobManager) wantedEarlier(j *job, tm *taskManager) bool {
	if m.cfg.Session == nil {
		return false
	}
	for _, id := range m.waiting {
		if id == j.id {
			return false
		}
		if e := m.jobs[id]; e != nil && !e.done && slices.Contains(m.assignable(e), tm) {
			return true
		}
	}
	return false
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
				Credentials: j.opts.Credentials, Binary: j.opts.Binary,
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
				s.cancelAsked = true
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

package jobmanager

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// A job's state as TaskManagers report it, and what the JobManager
// derives from it: failures, status, result.

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
	if u.State == control.TaskCanceled && !s.cancelAsked && !tm.lost {
		// Cancelled without the JobManager asking: its TaskManager is
		// stopping (its process got SIGTERM: its container is being
		// killed, by its NodeManager for exceeding its memory, say), which
		// is its loss.
		j.m.loseLocked(tm, "it cancelled its subtasks unasked: its process was told to stop (its container is being stopped)", false)
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

// lostFailure is a region's failure by the loss of a TaskManager that ran
// some of its unfinished subtasks. Its text is built when asked, from the
// TaskManager's cause then known: its subtasks cancelled unasked or its
// broken connection are seen first, the exit status of its container
// (killed for exceeding its memory, say) a heartbeat or two later.
type lostFailure struct {
	tm      string
	attempt int
}

// text says which subtasks the TaskManager ran when it was lost, in graph
// order, and why it was lost; mu is held.
func (l *lostFailure) text(j *job) string {
	cause := "unknown cause"
	if tm := j.m.tms[l.tm]; tm != nil && tm.lostCause != "" {
		cause = tm.lostCause
	}
	var ran []jobgraph.Subtask
	for st, s := range j.subtasks {
		if s.tm == l.tm && s.byLoss {
			ran = append(ran, st)
		}
	}
	return fmt.Sprintf("%s (attempt %d): %s was lost: %s", subtaskList(j.g, ran), l.attempt, j.m.cfg.DescribeTaskManager(l.tm), cause)
}

// subtaskList names subtasks vertex by vertex in the graph's order:
// `vertex "a" subtask 0/2` for one of a vertex, `vertex "a" subtasks 0, 1
// of 2` for several.
func subtaskList(g *jobgraph.JobGraph, sts []jobgraph.Subtask) string {
	by := map[string][]int{}
	for _, st := range sts {
		by[st.Vertex] = append(by[st.Vertex], st.Index)
	}
	var parts []string
	for _, v := range g.Vertices {
		idx := by[v.ID]
		switch len(idx) {
		case 0:
			continue
		case 1:
			parts = append(parts, fmt.Sprintf("vertex %q subtask %d/%d", v.ID, idx[0], v.Parallelism))
			continue
		}
		slices.Sort(idx)
		s := make([]string, len(idx))
		for i, n := range idx {
			s[i] = strconv.Itoa(n)
		}
		parts = append(parts, fmt.Sprintf("vertex %q subtasks %s of %d", v.ID, strings.Join(s, ", "), v.Parallelism))
	}
	return strings.Join(parts, ", ")
}

// taskManagerLost fails the regions whose unfinished subtasks the
// TaskManager ran; mu is held.
func (j *job) taskManagerLost(id string) {
	for i, t := range j.tms {
		if t == id {
			j.tms[i] = ""
		}
	}
	// Every region it ran unfinished subtasks of fails; each names all the
	// subtasks it ran, as the loss of one process ended them together.
	ran := map[int][]jobgraph.Subtask{}
	for st, s := range j.subtasks {
		if s.tm == id && !isTerminal(s.state) {
			r := j.regionOf[st]
			ran[r] = append(ran[r], st)
			s.state, s.byLoss = control.TaskFailed, true
		}
	}
	for r, sts := range ran {
		l := &lostFailure{tm: id, attempt: j.attempts[r]}
		c := l.text(j)
		for _, st := range sts {
			j.subtasks[st].err = c
		}
		if j.failure[r] == "" {
			j.failure[r] = c
		}
		if j.primary[r] == "" {
			j.primary[r], j.lost[r] = c, l
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
		if l := j.lost[r]; l != nil {
			return l.text(j)
		}
		if j.primary[r] != "" {
			return j.primary[r]
		}
	}
	return cause
}

// lostCauseWait bounds how long a failing job waits for YARN to say why
// the container of a TaskManager whose loss failed it ended, once the
// broken connection told the loss.
const lostCauseWait = 10 * time.Second

// awaitLostCauses waits, up to lostCauseWait, until every TaskManager
// whose loss failed one of regions has its container's end known, so the
// root cause says why it ended.
func (m *JobManager) awaitLostCauses(j *job, regions []int) {
	ctx, cancel := context.WithTimeout(context.Background(), lostCauseWait)
	defer cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		waiting := false
		for _, r := range regions {
			if l := j.lost[r]; l != nil {
				if tm := m.tms[l.tm]; tm != nil && !tm.ended {
					waiting = true
				}
			}
		}
		if !waiting || m.wait(ctx, 0) != nil {
			return
		}
	}
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

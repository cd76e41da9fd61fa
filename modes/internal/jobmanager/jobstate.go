package jobmanager

import (
	"fmt"

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

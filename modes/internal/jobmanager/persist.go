package jobmanager

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// A session persists the jobs it runs (SessionConfig.Store): each
// submission as it was made, graph, identity, credentials and binary, kept
// while the job runs and removed when it ends. A JobManager of the next
// ApplicationMaster attempt finds them in RunSession and runs them again
// under their ids, so the clients following them see them through; the
// store must be readable by the application's user alone (its staging
// directory).

// JobStore keeps a session's running jobs across ApplicationMaster
// attempts.
type JobStore interface {
	// Save stores a job's submission under its id.
	Save(id string, b []byte) error
	// Delete removes a job's submission.
	Delete(id string) error
	// Load returns every stored submission by id.
	Load() (map[string][]byte, error)
}

// persist stores a started job's submission; a failure is logged, the job
// runs on.
func (m *JobManager) persist(id string, req SubmitRequest) {
	s := m.cfg.Session
	if s == nil || s.Store == nil {
		return
	}
	b, err := json.Marshal(req)
	if err == nil {
		err = s.Store.Save(id, b)
	}
	if err != nil {
		m.log.Error("persisting a session job for the next attempt", "job", id, "err", err)
	}
}

// unpersist removes an ended job's submission.
func (m *JobManager) unpersist(id string) {
	if s := m.cfg.Session; s != nil && s.Store != nil {
		if err := s.Store.Delete(id); err != nil {
			m.log.Error("removing a session job's stored submission", "job", id, "err", err)
		}
	}
}

// recoverJobs runs again, in their order, the jobs an earlier attempt
// stored; sessionCtx is set.
func (m *JobManager) recoverJobs() {
	s := m.cfg.Session
	if s.Store == nil {
		return
	}
	stored, err := s.Store.Load()
	if err != nil {
		m.log.Error("reading the jobs an earlier attempt stored", "err", err)
		return
	}
	ids := make([]string, 0, len(stored))
	for id := range stored {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(jobNumber(a), jobNumber(b)), cmp.Compare(a, b)) })
	for _, id := range ids {
		var req SubmitRequest
		if err := json.Unmarshal(stored[id], &req); err != nil {
			m.log.Error("a stored session job is unreadable; dropping it", "job", id, "err", err)
			m.unpersist(id)
			continue
		}
		if _, err := m.submitAs(req, id); err != nil {
			m.log.Error("running a stored session job again", "job", id, "err", err)
			m.unpersist(id)
			continue
		}
		m.log.Info("running a job of the earlier attempt again", "job", id)
	}
}

// jobNumber is N of an id "job-N", 0 for others.
func jobNumber(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "job-"))
	if err != nil || !strings.HasPrefix(id, "job-") {
		return 0
	}
	return n
}

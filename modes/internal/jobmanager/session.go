package jobmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// SessionConfig makes a JobManager a session's: TaskManagers outlive jobs
// and serve later jobs of the identity they first served; at least
// MinTaskManagers are kept, at most MaxTaskManagers held, and idle ones
// beyond the minimum are released after IdleTimeout.
type SessionConfig struct {
	MinTaskManagers, MaxTaskManagers int
	// MaxTaskManagersPerJob refuses a job whose plan needs more (a quota,
	// so that one job cannot take the whole session). Zero means
	// MaxTaskManagers.
	MaxTaskManagersPerJob int
	IdleTimeout           time.Duration
	// JobHDFS returns the HDFS client of a job from its credentials, for
	// its splitters and committers; the returned func closes it. Nil means
	// Config.HDFS.
	JobHDFS func(creds []byte) (func(ctx context.Context) (*hdfs.Client, error), func(), error)
	// Store, when set, keeps the running jobs for the next
	// ApplicationMaster attempt (persist.go).
	Store JobStore
	// KeepJobTokens starts keeping alive the HDFS delegation tokens a
	// job carries (creds, Hadoop's credentials format): fresh ones it
	// obtains go to the job through replace. Nil means nothing in the
	// session does; the job's client pushes (jobcredentials.go).
	KeepJobTokens func(ctx context.Context, job string, creds []byte, replace func(ctx context.Context, creds []byte) error) (JobTokenKeeper, error)
}

// JobTokenKeeper keeps one session job's own HDFS delegation tokens alive
// (SessionConfig.KeepJobTokens), from the job's start to its end.
type JobTokenKeeper interface {
	// Pushed tells the keeper of tokens a client pushed to the job.
	Pushed(toks []hdfs.Token)
	// Explain adds to the root cause of the job's failure which of its
	// tokens died, when one did, and what to configure.
	Explain(cause string) string
	// Stop stops the keeper; the job ended.
	Stop()
}

// ErrQuota refuses a job larger than the session allows.
var ErrQuota = errors.New("the job exceeds the session's quota")

// assignable are the TaskManagers that may serve j now, the ones of its
// identity first; mu is held.
func (m *JobManager) assignable(j *job) []*taskManager {
	var same, fresh []*taskManager
	for _, tm := range sortedTMs(m.tms) {
		if tm.lost || tm.job != "" || tm.dataAddr == "" {
			continue
		}
		switch {
		case m.cfg.Session == nil:
			fresh = append(fresh, tm)
		case tm.identity == j.opts.Identity:
			same = append(same, tm)
		case tm.identity == "":
			fresh = append(fresh, tm)
		}
	}
	return append(same, fresh...)
}

// grow asks the pool for the TaskManagers j still misses, within the
// session's maximum, freeing idle TaskManagers of other identities to make
// room; jobs beyond capacity wait in submission order. mu is held.
func (m *JobManager) grow(j *job, missing int) error {
	s := m.cfg.Session
	if !slices.Contains(m.waiting, j.id) {
		m.waiting = append(m.waiting, j.id)
	}
	if m.waiting[0] != j.id {
		return nil // an earlier job waits for capacity first
	}
	// TaskManagers asked for and not yet registered: those asked on j's
	// behalf, and those nobody waits for (the session's minimum, or asked
	// for a job that got TaskManagers otherwise) serve j when they come.
	coming := max(j.grown-m.assignedTo(j), 0)
	live, claimed := 0, 0
	for _, tm := range m.tms {
		if !tm.lost && tm.dataAddr != "" {
			live++
		}
	}
	for _, id := range m.waiting {
		if o := m.jobs[id]; o != nil && o != j {
			claimed += max(o.grown-m.assignedTo(o), 0)
		}
	}
	unclaimed := max(m.target-live-claimed-coming, 0)
	need := missing - coming - unclaimed
	if need <= 0 {
		return nil
	}
	limit := s.MaxTaskManagers
	if limit <= 0 {
		limit = 1 << 30
	}
	for m.target+need > limit {
		victim := m.idleOfOtherIdentity(j.opts.Identity)
		if victim == nil {
			break
		}
		m.releaseLocked(victim, "making room for job "+j.id)
	}
	grant := min(need, limit-m.target)
	if grant <= 0 {
		return nil // at capacity: wait for a job to end
	}
	m.target += grant
	j.grown += grant
	if err := m.cfg.Pool.SetTaskManagers(m.target); err != nil {
		return fmt.Errorf("asking for TaskManagers: %w", err)
	}
	m.log.Info("session grows", "job", j.id, "taskmanagers", m.target)
	return nil
}

// assignedTo counts the TaskManagers serving j that j asked the pool for
// (fresh ones); mu is held.
func (m *JobManager) assignedTo(j *job) int {
	n := 0
	for _, id := range j.tms {
		if id != "" {
			n++
		}
	}
	return n
}

func (m *JobManager) idleOfOtherIdentity(identity string) *taskManager {
	for _, tm := range sortedTMs(m.tms) {
		if !tm.lost && tm.job == "" && tm.dataAddr != "" && tm.identity != identity && tm.identity != "" {
			return tm
		}
	}
	return nil
}

// releaseLocked gives a TaskManager back to the pool for good; mu is held.
func (m *JobManager) releaseLocked(tm *taskManager, why string) {
	tm.lost = true
	m.send(tm, control.Command{Shutdown: true})
	m.target--
	if err := m.cfg.Pool.Release(tm.id); err != nil {
		m.log.Warn("releasing a TaskManager", "id", tm.id, "err", err)
	}
	m.log.Info("TaskManager released", "id", tm.id, "why", why, "taskmanagers", m.target)
	m.broadcast()
}

// dequeue removes j from the waiting jobs; mu is held.
func (m *JobManager) dequeue(j *job) {
	if i := slices.Index(m.waiting, j.id); i >= 0 {
		m.waiting = slices.Delete(m.waiting, i, i+1)
		m.broadcast()
	}
}

// RunSession serves as a session until ctx ends: it asks for the minimum
// TaskManagers and releases idle ones beyond it after the idle timeout.
// Jobs submitted over the control protocol run under ctx.
func (m *JobManager) RunSession(ctx context.Context) error {
	s := m.cfg.Session
	if s == nil {
		return errors.New("jobmanager: not a session (Config.Session is nil)")
	}
	m.mu.Lock()
	m.sessionCtx = ctx
	m.broadcast()                               // submissions waiting for the session to run
	err := m.cfg.Pool.SetTaskManagers(m.target) // the minimum, or more if jobs came first
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.recoverJobs()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if s.IdleTimeout <= 0 {
			continue
		}
		m.mu.Lock()
		now := m.cfg.Now()
		live := 0
		for _, tm := range m.tms {
			if !tm.lost {
				live++
			}
		}
		for _, tm := range sortedTMs(m.tms) {
			if live <= s.MinTaskManagers || m.target <= s.MinTaskManagers {
				break
			}
			if !tm.lost && tm.job == "" && tm.dataAddr != "" && !tm.idleSince.IsZero() && now.Sub(tm.idleSince) >= s.IdleTimeout {
				m.releaseLocked(tm, "idle for "+s.IdleTimeout.String())
				live--
			}
		}
		m.mu.Unlock()
	}
}

// SubmitRequest is a job submitted to a session.
type SubmitRequest struct {
	// Graph is the encoded JobGraph (jobgraph.Encode).
	Graph []byte `json:"graph"`
	// Identity names whose credentials the job carries.
	Identity string `json:"identity,omitempty"`
	// Credentials are the job's tokens, in Hadoop's credentials format.
	Credentials []byte `json:"credentials,omitempty"`
	// BinarySHA256 is the hex SHA-256 of the client's binary, which holds
	// the job's operators. Empty, or the session's own, runs the job on
	// the session's binary; another needs Binary (else ErrNeedBinary).
	BinarySHA256 string `json:"binary_sha256,omitempty"`
	// Binary is the client's binary, staged by content in HDFS.
	Binary *control.BinaryRef `json:"binary,omitempty"`
	// JobManagerOperators are the job's operators that split or commit in
	// the JobManager: with a shipped binary, the session's must have
	// them too.
	JobManagerOperators []string `json:"jobmanager_operators,omitempty"`
}

// SubmitResponse names the job started.
type SubmitResponse struct {
	ID string `json:"id"`
}

// submit starts a job of a session and returns its id once accepted.
func (m *JobManager) submit(req SubmitRequest) (string, error) { return m.submitAs(req, "") }

// submitAs is submit, under the id given when not empty (a job an earlier
// attempt stored).
func (m *JobManager) submitAs(req SubmitRequest, id string) (string, error) {
	m.mu.Lock()
	// A client may submit as soon as the JobManager registered, a moment
	// before the session runs (RunSession): wait for it a while.
	deadline := time.Now().Add(30 * time.Second)
	for m.sessionCtx == nil && !m.closed && time.Now().Before(deadline) {
		m.wait(context.Background(), time.Until(deadline))
	}
	ctx := m.sessionCtx
	closed := m.closed
	m.mu.Unlock()
	if ctx == nil || closed {
		return "", errors.New("the session is not accepting jobs")
	}
	g, err := jobgraph.Decode(req.Graph)
	if err != nil {
		return "", err
	}
	if id != "" {
		g.ID = id
	}
	bin, err := m.shippedBinary(req)
	if err != nil {
		return "", err
	}
	opts := RunOptions{Identity: shippedIdentity(req.Identity, bin), Credentials: req.Credentials, Binary: bin}
	var closeFS func()
	if s := m.cfg.Session; s.JobHDFS != nil && len(req.Credentials) > 0 {
		fs, c, err := s.JobHDFS(req.Credentials)
		if err != nil {
			return "", fmt.Errorf("the job's credentials: %w", err)
		}
		opts.HDFS, closeFS = fs, c
	}
	started := make(chan string, 1)
	failed := make(chan error, 1)
	keeper := &keeperSlot{}
	opts.Tokens = keeper
	opts.OnStart = func(id string) {
		m.persist(id, req) // before the client hears of it
		if s := m.cfg.Session; s.KeepJobTokens != nil && len(req.Credentials) > 0 {
			k, err := s.KeepJobTokens(ctx, id, req.Credentials, func(ctx context.Context, creds []byte) error {
				_, err := m.replaceJobCredentials(id, creds, false)
				return err
			})
			if err != nil {
				m.log.Error("keeping a job's HDFS delegation tokens alive", "job", id, "err", err)
			} else {
				keeper.set(k)
			}
		}
		started <- id
	}
	go func() {
		if closeFS != nil {
			defer closeFS()
		}
		defer keeper.Stop()
		r, err := m.RunWith(ctx, g, opts)
		var je *JobError
		if err != nil && !errors.As(err, &je) {
			failed <- err // refused before it started
			return
		}
		if r != nil && ctx.Err() == nil {
			// Ended, not cut short with the session (the next attempt
			// runs a job this one did not see end).
			m.unpersist(r.JobID)
		}
	}()
	select {
	case id := <-started:
		return id, nil
	case err := <-failed:
		return "", err
	}
}

// sessionHandlers adds the session's endpoints to mux:
//
//	POST /v1/jobs        SubmitRequest → SubmitResponse
//	GET  /v1/jobs/{id}   → control.JobStatus
//	POST /v1/jobs/{id}/credentials   control.CredentialsUpdate → tokens.PushAnswer (jobcredentials.go)
func (m *JobManager) sessionHandlers(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var req SubmitRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
			http.Error(w, "decoding the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		// A user other than the owner, come with a ClientToAMToken, submits
		// as themself only: TaskManagers are reused by identity.
		if c, ok := clienttoam.CallerFrom(r.Context()); ok && !c.Owner && req.Identity != c.User {
			http.Error(w, fmt.Sprintf("user %s may submit jobs as %s only, not as %q", c.User, c.User, req.Identity), http.StatusForbidden)
			return
		}
		id, err := m.submit(req)
		if errors.Is(err, ErrNeedBinary) {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, SubmitResponse{ID: id})
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		j := m.jobs[r.PathValue("id")]
		var st control.JobStatus
		if j != nil {
			st = j.status()
		}
		m.mu.Unlock()
		if j == nil {
			http.Error(w, fmt.Sprintf("%v: %s", ErrUnknownJob, r.PathValue("id")), http.StatusNotFound)
			return
		}
		writeJSON(w, st)
	})
	m.jobCredentialsHandler(mux)
}

// WaitJobs waits until no job runs, or ctx ends.
func (m *JobManager) WaitJobs(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		running := false
		for _, j := range m.jobs {
			running = running || !j.done
		}
		if !running || m.wait(ctx, 0) != nil {
			return
		}
	}
}

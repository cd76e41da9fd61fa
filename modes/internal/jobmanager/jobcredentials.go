package jobmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/yarn"
)

// A session's job carries credentials of its own (SubmitRequest.
// Credentials), which nothing in the session renews: its client keeps
// them alive by pushing fresh ones of the job's user to
// control.JobCredentialsPath while it follows the job. They replace the
// job's tokens only: its splitters' and committers' HDFS client here,
// the job's HDFS client in each TaskManager serving it
// (control.JobCredentials), and the credentials later deployments of its
// subtasks carry. Other jobs, the session's own tokens included, are not
// touched.

// ErrJobCredentials matches (errors.Is) a refusal of a job's pushed
// credentials because of the job: it ended, or carries none.
var ErrJobCredentials = errors.New("the job's credentials cannot be replaced")

// jobCredentialsHandler adds control.JobCredentialsPath to mux. Holders
// of the deployment secret may push; of ClientToAMToken callers, the
// session's owner and the job's user.
func (m *JobManager) jobCredentialsHandler(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/jobs/{id}/credentials", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		owner, err := m.jobOwner(id)
		if errors.Is(err, ErrUnknownJob) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if c, ok := clienttoam.CallerFrom(r.Context()); ok && !c.Owner && hdfs.ShortName(c.User) != owner {
			http.Error(w, fmt.Sprintf("user %s may not push credentials to job %s: only %s, whose tokens it carries, or the session's owner may", c.User, id, owner), http.StatusForbidden)
			return
		}
		var u control.CredentialsUpdate
		// base64 in JSON: a third more than the bytes, plus the envelope.
		if err := json.NewDecoder(io.LimitReader(r.Body, 2*tokens.MaxPushBytes)).Decode(&u); err != nil {
			http.Error(w, "decoding the credentials update: "+err.Error(), http.StatusBadRequest)
			return
		}
		n, err := m.ReplaceJobCredentials(id, u.Tokens)
		if err != nil {
			status := http.StatusBadRequest
			switch {
			case errors.Is(err, ErrUnknownJob):
				status = http.StatusNotFound
			case errors.Is(err, ErrJobCredentials):
				status = http.StatusConflict
			}
			m.log.Warn("refused a job's pushed credentials", "job", id, "err", err)
			http.Error(w, err.Error(), status)
			return
		}
		writeJSON(w, tokens.PushAnswer{Tokens: n})
	})
}

// jobOwner is the short name of the owner of job id's HDFS delegation
// tokens, the user it acts as on HDFS.
func (m *JobManager) jobOwner(id string) (string, error) {
	m.mu.Lock()
	j := m.jobs[id]
	var creds []byte
	if j != nil {
		creds = j.opts.Credentials
	}
	m.mu.Unlock()
	if j == nil {
		return "", fmt.Errorf("%w: %s", ErrUnknownJob, id)
	}
	held, err := jobTokens(creds)
	if err != nil {
		return "", err
	}
	di, err := held[0].DelegationIdentifier()
	if err != nil {
		return "", fmt.Errorf("the job's own token: %w", err)
	}
	return hdfs.ShortName(di.Owner), nil
}

// jobTokens are the HDFS delegation tokens among a job's credentials.
func jobTokens(creds []byte) ([]hdfs.Token, error) {
	if len(creds) == 0 {
		return nil, fmt.Errorf("%w: it carries no credentials of its own (it uses the session's)", ErrJobCredentials)
	}
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(creds); err != nil {
		return nil, fmt.Errorf("the job's own credentials: %w", err)
	}
	toks := yarn.HDFSTokens(c)
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: its credentials hold no HDFS delegation token", ErrJobCredentials)
	}
	return toks, nil
}

// ReplaceJobCredentials checks creds (Hadoop's token storage format)
// against job id's tokens with tokens.CheckPushed (the job's user's,
// alive, for the same NameNodes) and switches the job to them: its HDFS
// client here, its TaskManagers (a control.JobCredentials command each,
// replacing one still queued) and its later deployments. It returns how
// many tokens it took.
func (m *JobManager) ReplaceJobCredentials(id string, creds []byte) (int, error) {
	return m.replaceJobCredentials(id, creds, true)
}

// replaceJobCredentials is ReplaceJobCredentials; pushed says a client
// pushed creds (and the job's token keeper hears of them), else the
// keeper obtained them.
func (m *JobManager) replaceJobCredentials(id string, creds []byte, pushed bool) (int, error) {
	owner, err := m.jobOwner(id)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	j := m.jobs[id]
	held, err := jobTokens(j.opts.Credentials)
	done, fsOf, keeper := j.done, j.opts.HDFS, j.opts.Tokens
	m.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if done {
		return 0, fmt.Errorf("%w: job %s ended", ErrJobCredentials, id)
	}
	toks, err := tokens.CheckPushed(creds, owner, held, time.Now())
	if err != nil {
		return 0, err
	}
	if fsOf != nil {
		fs, err := fsOf(m.sessionContext())
		if err != nil {
			return 0, fmt.Errorf("the job's HDFS client: %w", err)
		}
		if err := fs.SetTokens(toks); err != nil {
			return 0, fmt.Errorf("switching the job's HDFS client: %w", err)
		}
	}
	m.mu.Lock()
	if j.done {
		m.mu.Unlock()
		return 0, fmt.Errorf("%w: job %s ended", ErrJobCredentials, id)
	}
	j.opts.Credentials = bytes.Clone(creds)
	u := &control.JobCredentials{Job: id, Tokens: j.opts.Credentials}
	n := 0
	for _, tm := range sortedTMs(m.tms) {
		if tm.lost || tm.job != id {
			continue
		}
		kept := tm.commands[:0]
		for _, c := range tm.commands {
			if c.JobCredentials == nil || c.JobCredentials.Job != id {
				kept = append(kept, c)
			}
		}
		tm.commands = kept
		m.send(tm, control.Command{JobCredentials: u})
		n++
	}
	for _, t := range toks {
		if pushed {
			m.log.Info("a client pushed a fresh HDFS delegation token for a job; the job switched to it", "job", id, "taskmanagers", n, "token", t)
		} else {
			m.log.Info("the job switched to a fresh HDFS delegation token the JobManager obtained", "job", id, "taskmanagers", n, "token", t)
		}
	}
	m.broadcast()
	stored := j.opts.Credentials
	m.mu.Unlock()
	m.repersist(j, stored)
	if pushed && keeper != nil {
		keeper.Pushed(toks)
	}
	return len(toks), nil
}

// repersist replaces the credentials in job j's stored submission
// (persist.go) with creds, so that a JobManager of the next attempt runs
// it with the fresh tokens. The job ends, and its submission is removed,
// after done is set: a save that raced that removal is undone.
func (m *JobManager) repersist(j *job, creds []byte) {
	s := m.cfg.Session
	if s == nil || s.Store == nil {
		return
	}
	stored, err := s.Store.Load()
	if err != nil {
		m.log.Error("reading a session job's stored submission to give it fresh credentials", "job", j.id, "err", err)
		return
	}
	b, ok := stored[j.id]
	if !ok {
		return
	}
	var req SubmitRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return // recoverJobs drops it
	}
	req.Credentials = creds
	m.persist(j.id, req)
	m.mu.Lock()
	done := j.done
	m.mu.Unlock()
	if done {
		m.unpersist(j.id)
	}
}

// sessionContext is the context jobs of the session run under.
func (m *JobManager) sessionContext() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessionCtx != nil {
		return m.sessionCtx
	}
	return context.Background()
}

// keeperSlot is a job's JobTokenKeeper, set once the job has an id
// (SessionConfig.KeepJobTokens starts it then): until then, and when
// none started, it does nothing.
type keeperSlot struct {
	mu sync.Mutex
	k  JobTokenKeeper
}

func (s *keeperSlot) set(k JobTokenKeeper) {
	s.mu.Lock()
	s.k = k
	s.mu.Unlock()
}

func (s *keeperSlot) get() JobTokenKeeper {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.k
}

func (s *keeperSlot) Pushed(toks []hdfs.Token) {
	if k := s.get(); k != nil {
		k.Pushed(toks)
	}
}

func (s *keeperSlot) Explain(cause string) string {
	if k := s.get(); k != nil {
		return k.Explain(cause)
	}
	return cause
}

func (s *keeperSlot) Stop() {
	if k := s.get(); k != nil {
		k.Stop()
	}
}

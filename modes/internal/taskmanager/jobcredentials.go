package taskmanager

import (
	"fmt"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/yarn"
)

// updateJobCredentials switches one session job's HDFS client to the
// fresh tokens its client pushed (control.JobCredentials): that job's
// only, other jobs' clients keep theirs. A job whose subtasks have not
// used HDFS yet gets its client made now, from the fresh tokens, so that
// their first use does not take the older ones of their deployment.
func (t *TaskManager) updateJobCredentials(u *control.JobCredentials) {
	toks, err := t.applyJobCredentials(u)
	if err != nil {
		t.log.Error("switching a job to its pushed credentials", "job", u.Job, "err", err)
		return
	}
	for _, tok := range toks {
		owner := ""
		if id, err := tok.DelegationIdentifier(); err == nil {
			owner = hdfs.ShortName(id.Owner)
		}
		t.log.Info("a job's HDFS access switched to a new delegation token", "job", u.Job, "owner", owner, "token", tok)
	}
}

func (t *TaskManager) applyJobCredentials(u *control.JobCredentials) ([]hdfs.Token, error) {
	if t.cfg.JobHDFS == nil {
		return nil, fmt.Errorf("this TaskManager has no use for a job's own credentials")
	}
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(u.Tokens); err != nil {
		return nil, fmt.Errorf("decoding the pushed credentials: %w", err)
	}
	toks := yarn.HDFSTokens(c)
	if len(toks) == 0 {
		return nil, fmt.Errorf("the pushed credentials hold no %s", hdfs.KindDelegationToken)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if fs := t.jobFS[u.Job]; fs != nil {
		return toks, fs.SetTokens(toks)
	}
	fs, err := t.cfg.JobHDFS(u.Tokens)
	if err != nil {
		return nil, fmt.Errorf("the job's credentials: %w", err)
	}
	t.jobFS[u.Job] = fs
	return toks, nil
}

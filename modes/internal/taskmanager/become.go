package taskmanager

import (
	"context"
	"fmt"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// needsBinary reports whether a deployment's operators are in another
// binary than this TaskManager's (a session job that shipped its own).
func (t *TaskManager) needsBinary(d *control.Deployment) bool {
	return d.Binary != nil && t.cfg.Become != nil && t.cfg.BinarySHA256 != nil && d.Binary.SHA256 != t.cfg.BinarySHA256()
}

// become makes this TaskManager the binary the deployment d (command seq)
// names: Config.Become fetches it with the job's credentials and replaces
// this process, which then registers again and receives the commands from
// seq on. It returns only when that failed, after reporting the subtask
// failed with the reason.
func (t *TaskManager) become(ctx context.Context, d *control.Deployment, seq int64) {
	err := func() error {
		t.mu.Lock()
		busy := len(t.running)
		t.mu.Unlock()
		if busy > 0 {
			return fmt.Errorf("this TaskManager runs %d subtask(s) of another binary", busy)
		}
		var fs *hdfs.Client
		var err error
		if len(d.Credentials) > 0 {
			fs, err = t.jobHDFS(d.Job, d.Credentials)
		} else if t.cfg.HDFS != nil {
			fs, err = t.cfg.HDFS(ctx)
		} else {
			err = fmt.Errorf("no HDFS client to fetch it with")
		}
		if err != nil {
			return err
		}
		t.log.Info("becoming the job's binary", "job", d.Job, "binary", d.Binary.Path, "sha256", d.Binary.SHA256, "size", d.Binary.Size)
		return t.cfg.Become(ctx, *d.Binary, fs, seq-1)
	}()
	msg := fmt.Sprintf("running the job's own binary %s: %v", d.Binary.Path, err)
	t.log.Error("the job's binary", "job", d.Job, "err", err)
	u := control.TaskUpdate{Attempt: d.Attempt, Vertex: d.Vertex, Index: d.Index, State: control.TaskFailed, Error: msg}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.JobManagerTimeout)
	defer cancel()
	if err := t.retry(uctx, func(ctx context.Context) error { return t.cfg.Control.Update(ctx, t.cfg.ID, u) }); err != nil {
		t.log.Error("reporting a subtask's end", "vertex", d.Vertex, "index", d.Index, "err", err)
	}
}

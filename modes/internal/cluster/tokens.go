package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// workerHDFS is a TaskManager's HDFS client: made on first use from the
// newest credentials, its tokens replaced by those the JobManager pushes.
type workerHDFS struct {
	spec *launch.ClusterSpec
	log  *slog.Logger

	mu    sync.Mutex
	creds *yarn.Credentials
	fs    *hdfs.Client
}

func (w *workerHDFS) client(context.Context) (*hdfs.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs == nil {
		c, err := HDFSClient(w.spec, w.creds, w.log)
		if err != nil {
			return nil, err
		}
		w.fs = c
	}
	return w.fs, nil
}

// update takes pushed credentials (Hadoop's token storage format).
func (w *workerHDFS) update(b []byte) error {
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("decoding the pushed credentials: %w", err)
	}
	toks := yarn.HDFSTokens(c)
	if len(toks) == 0 {
		return fmt.Errorf("the pushed credentials hold no %s", yarn.KindHDFSDelegationToken)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs != nil {
		if err := w.fs.SetTokens(toks); err != nil {
			return err
		}
	}
	w.creds = c
	for _, t := range toks {
		w.log.Info("HDFS access switched to a new delegation token", "token", t)
	}
	return nil
}

func (w *workerHDFS) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs != nil {
		w.fs.Close()
	}
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// An application is submitted with YARN keeping its containers across
// ApplicationMaster attempts. When the JobManager's process dies, YARN
// starts attempt 2, whose engine adopts the TaskManagers still running;
// they cannot reach the old JobManager and look for the new one in the
// staging directory, where every attempt after the first writes its
// control address (JobManagerAddrFile; the staging directory is the
// application user's, 0700, and the TaskManagers read it with the
// application's tokens). They register again, and the new JobManager runs
// the program's jobs on them: Application and Per-Job jobs start over
// (per their restart strategy's budget, a new attempt is a new run); a
// session comes back empty.

// JobManagerAddrFile is the file in the staging directory holding the
// newest JobManager's control address, host:port.
const JobManagerAddrFile = "jobmanager.addr"

// attemptOf is this container's ApplicationMaster attempt (1 when it
// cannot be told).
func attemptOf() int32 {
	c, err := yarn.ParseContainerID(os.Getenv("CONTAINER_ID"))
	if err != nil || c.Attempt.Attempt < 1 {
		return 1
	}
	return c.Attempt.Attempt
}

// jobManagerAddrPath is the file's path for spec's application.
func jobManagerAddrPath(spec *launch.ClusterSpec) string {
	return path.Join(spec.HDFS.StagingRoot, spec.AppID, JobManagerAddrFile)
}

// publishAddr writes the control address of a later attempt's JobManager
// where the adopted TaskManagers look for it.
func (a *AppMaster) publishAddr(ctx context.Context, addr string) error {
	fs, err := a.HDFS(ctx)
	if err != nil {
		return err
	}
	p := jobManagerAddrPath(a.Spec)
	tmp := p + ".tmp"
	w, err := fs.Create(ctx, tmp, hdfs.CreateOptions{Overwrite: true})
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(addr + "\n")); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return fs.Rename(ctx, tmp, p, true)
}

// rediscoverer is a TaskManager's Rediscover: the address the newest
// JobManager published, "" before any did.
func rediscoverer(spec *launch.ClusterSpec, w *workerHDFS) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		fs, err := w.client(ctx)
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		b, err := fs.ReadFile(ctx, jobManagerAddrPath(spec))
		if err != nil {
			return "", nil // none published (the first attempt's is alive, or gone for good)
		}
		addr := strings.TrimSpace(string(b))
		if !strings.Contains(addr, ":") {
			return "", fmt.Errorf("%s holds %q, not host:port", JobManagerAddrFile, addr)
		}
		return addr, nil
	}
}

// hdfsJobStore keeps a session's running jobs (jobmanager.JobStore) in
// the application's staging directory (its user's, 0700), each
// submission a file of mode 0600: they hold the jobs' credentials.
type hdfsJobStore struct {
	a *AppMaster
}

// sessionJobsDir is where hdfsJobStore keeps them.
func (s hdfsJobStore) dir() string {
	return path.Join(s.a.Spec.HDFS.StagingRoot, s.a.Spec.AppID, "session-jobs")
}

func (s hdfsJobStore) Save(id string, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs, err := s.a.HDFS(ctx)
	if err != nil {
		return err
	}
	p := path.Join(s.dir(), id+".json")
	w, err := fs.Create(ctx, p+".tmp", hdfs.CreateOptions{Perm: 0o600, Overwrite: true})
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return fs.Rename(ctx, p+".tmp", p, true)
}

func (s hdfsJobStore) Delete(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs, err := s.a.HDFS(ctx)
	if err != nil {
		return err
	}
	err = fs.Remove(ctx, path.Join(s.dir(), id+".json"), false)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	return err
}

func (s hdfsJobStore) Load() (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs, err := s.a.HDFS(ctx)
	if err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(ctx, s.dir())
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name, ".json")
		if !ok {
			continue
		}
		b, err := fs.ReadFile(ctx, path.Join(s.dir(), e.Name))
		if err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, nil
}

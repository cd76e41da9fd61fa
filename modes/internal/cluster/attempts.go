package cluster

import (
	"context"
	"fmt"
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

package modes

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/operator"
	"github.com/spindle-yarn/spindle/yarn"
)

// A session job runs on the session's binary when the client runs the
// same one; otherwise the session answers 409 and the client ships its
// own: it stages this binary by content in the user's cache (an
// unchanged binary is found there and not uploaded again) and submits
// again with a reference to it. The job's TaskManagers fetch it with the
// job's credentials and become it (package cluster, become.go).

// selfBinary is this process's binary: its path, hex SHA-256 and size.
var selfBinary = sync.OnceValues(func() (binaryInfo, error) {
	exe, err := os.Executable()
	if err != nil {
		return binaryInfo{}, err
	}
	return hashBinary(exe)
})

type binaryInfo struct {
	path, sha256 string
	size         int64
}

// jobManagerOperators are the operators of g that split or commit in the
// JobManager: a session running another binary must have them.
func jobManagerOperators(g *jobgraph.JobGraph) []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range g.Vertices {
		op, ok := operator.Lookup(v.Operator)
		if ok && (op.Splitter != nil || op.Committer != nil) && !seen[v.Operator] {
			seen[v.Operator] = true
			names = append(names, v.Operator)
		}
	}
	return names
}

// shipBinary stages this binary for a job of session (its content
// cached in the user's HDFS cache) and returns the reference the
// session's TaskManagers fetch, and a line saying what it cost.
func (c *client) shipBinary(ctx context.Context, session yarn.ApplicationID) (*control.BinaryRef, string, error) {
	self, err := selfBinary()
	if err != nil {
		return nil, "", fmt.Errorf("reading this program's binary to ship it: %w", err)
	}
	return shipBinary(ctx, c.req, self, session)
}

// shipBinary stages the binary self as req's user for a job of session.
func shipBinary(ctx context.Context, req deploy.Request, self binaryInfo, session yarn.ApplicationID) (*control.BinaryRef, string, error) {
	ycfg, hcfg, err := deploy.ClientConfigs(req)
	if err != nil {
		return nil, "", err
	}
	// A fresh application id names the staging transaction: the session's
	// own staging directory (the owner's) is not touched, and the one
	// made here is removed at once, leaving the cache entry.
	rm, err := yarn.NewRMClient(ycfg)
	if err != nil {
		return nil, "", err
	}
	defer rm.Close()
	txn, _, err := rm.NewApplication(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("shipping this binary to session %s: %w", session, err)
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		return nil, "", err
	}
	defer fs.Close()
	st, err := fs.Stage(ctx, txn.String(), []hdfs.Dependency{{Local: self.path, Name: launch.BinaryResource, Type: hdfs.TypeFile}}, hdfs.StageOptions{})
	if rerr := fs.RemoveStaging(context.WithoutCancel(ctx), txn.String()); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return nil, "", fmt.Errorf("shipping this binary to session %s: %w", session, err)
	}
	if len(st.Resources) != 1 {
		return nil, "", fmt.Errorf("shipping this binary: staged %d files, want 1", len(st.Resources))
	}
	r := st.Resources[0]
	if r.Size != self.size {
		return nil, "", fmt.Errorf("shipping this binary: %s holds %d bytes, the binary %d (it changed while staged?)", r.Path, r.Size, self.size)
	}
	note := fmt.Sprintf("%d bytes uploaded", st.UploadedBytes)
	if st.UploadedBytes == 0 {
		note = "found in the cache, nothing uploaded"
	}
	return &control.BinaryRef{Path: r.Path, SHA256: self.sha256, Size: r.Size}, note, nil
}

// relocator finds where session id's JobManager listens now (a new
// ApplicationMaster attempt's), for control.Client.Relocate.
func relocator(cfg yarn.Config, id yarn.ApplicationID) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		rm, err := yarn.NewRMClient(cfg)
		if err != nil {
			return "", err
		}
		defer rm.Close()
		r, err := rm.ApplicationReport(ctx, id)
		if err != nil || r.State != yarn.ApplicationRunning || r.RPCPort <= 0 || r.Host == "" || r.Host == "N/A" {
			return "", err
		}
		return net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort))), nil
	}
}

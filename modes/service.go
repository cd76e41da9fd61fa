package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// A Go service deploys programs built with Main (their binaries) for its
// users with Deploy: each deployment with an identity of its own (a
// keytab or ticket-cache login, a proxy user of the service's), staging
// in that user's home, that user's tokens in its launch contexts. No
// state is shared between deployments, so one process serves many
// principals at once, which a JVM's process-wide UserGroupInformation
// cannot.

// Targets of DeployRequest.
const (
	// TargetApplication runs the program's main in the ApplicationMaster
	// with DeployRequest.Args (-t yarn-application).
	TargetApplication = launch.ModeApplication
	// TargetSession starts a session (session start).
	TargetSession = launch.ModeSession
)

// DeployRequest is one deployment of a program binary.
type DeployRequest struct {
	// Binary is the program's executable (built with Main). Required.
	Binary string
	// Target is TargetApplication (the default) or TargetSession.
	Target string
	// Args are the program's own flags (e.g. -input, -output), parsed
	// by its Main in the JobManager.
	Args []string
	// Name is the application's name; empty means the binary's base
	// name. Session names its session (TargetSession).
	Name    string
	Session SessionSpec
	// Queue to submit to; empty means "default". NodeLabel, if set, is
	// the node label expression of every container.
	Queue, NodeLabel string
	// JobManagerMemoryMB (default 256), TaskManagerMemoryMB (default 512),
	// TaskManagerVCores (default 1), Slots per TaskManager (default 2) and
	// Parallelism (default 2) size the deployment as run's flags do.
	JobManagerMemoryMB, TaskManagerMemoryMB int64
	TaskManagerVCores, Slots, Parallelism   int
	// Ship are local files or directories every container gets.
	Ship []string
	// Config are -D overrides.
	Config map[string]string
	// Identity is the Kerberos login to deploy as (yarn.LoginKeytab,
	// yarn.LoginTicketCache); nil on a cluster with simple
	// authentication, where User names the user.
	Identity *yarn.Identity
	User     string
	// ProxyUser is the end user the application runs as, impersonated by
	// Identity (or User), as hadoop.proxyuser.* allows.
	ProxyUser string
	// ACLs grant other users VIEW_APP and MODIFY_APP access.
	ACLs map[yarn.ApplicationAccessType]string
	// ClientLease, when positive, ends the application once this process
	// has not followed it (Wait) for that long: a crashed service takes
	// its deployments with it. Zero: they outlive the service.
	ClientLease time.Duration
	// HadoopConfDir holds the cluster's site files; empty means
	// $HADOOP_CONF_DIR.
	HadoopConfDir string
	// Logger receives the deployment's steps at debug level; nil is
	// silent.
	Logger *slog.Logger
}

// SessionSpec sizes a session (TargetSession).
type SessionSpec struct {
	MinTaskManagers, MaxTaskManagers, MaxTaskManagersPerJob int
	IdleTimeout                                             time.Duration
}

// Deployment is a submitted application. Close it when done; the
// application keeps running unless Wait or Kill ended it.
type Deployment struct {
	// ID is the application's id.
	ID yarn.ApplicationID
	// User is whom it runs as, and StagingDir where its files are (under
	// that user's home; removed when it ends).
	User, StagingDir string
	d                *deploy.Deployment
}

// Deploy stages and submits req. It checks the request and the cluster
// (queue, resources, node label, the binary's platform) before anything is
// staged, and leaves nothing behind when it fails.
func Deploy(ctx context.Context, req DeployRequest) (*Deployment, error) {
	if req.Binary == "" {
		return nil, errors.New("modes: DeployRequest.Binary is required: the program's executable, built with modes.Main")
	}
	r := deploy.Request{
		Mode: cmp.Or(req.Target, TargetApplication), Name: req.Name, Queue: req.Queue, NodeLabel: req.NodeLabel,
		AMResource: yarn.Resource{MemoryMB: cmp.Or(req.JobManagerMemoryMB, 256), VCores: 1},
		TaskManager: launch.TaskManagerSpec{MemoryMB: cmp.Or(req.TaskManagerMemoryMB, 512), VCores: int32(cmp.Or(req.TaskManagerVCores, 1)),
			Slots: cmp.Or(req.Slots, 2), NodeLabel: req.NodeLabel},
		Parallelism: cmp.Or(req.Parallelism, 2), Args: req.Args, Ship: req.Ship, Config: req.Config,
		Identity: req.Identity, User: req.User, ProxyUser: req.ProxyUser, ACLs: req.ACLs,
		ClientLease: req.ClientLease, Binary: req.Binary, HadoopConfDir: req.HadoopConfDir, Logger: req.Logger,
	}
	switch r.Mode {
	case TargetApplication:
	case TargetSession:
		if req.Name == "" {
			return nil, errors.New("modes: a session needs a name (DeployRequest.Name)")
		}
		s := req.Session
		r.Tags = []string{launch.SessionTagPrefix + req.Name}
		r.Session = &launch.SessionSpec{Name: req.Name, MinTaskManagers: s.MinTaskManagers, MaxTaskManagers: cmp.Or(s.MaxTaskManagers, 8),
			MaxTaskManagersPerJob: s.MaxTaskManagersPerJob, IdleTimeoutMS: s.IdleTimeout.Milliseconds()}
	default:
		return nil, fmt.Errorf("modes: DeployRequest.Target %q is not TargetApplication or TargetSession", req.Target)
	}
	d, err := deploy.Deploy(ctx, r)
	if err != nil {
		return nil, err
	}
	return &Deployment{ID: d.ID, User: d.HDFS.User(), StagingDir: d.Staging.Dir, d: d}, nil
}

// Wait follows the application to its end (heartbeating its JobManager
// when ClientLease is set), removes its staging directory, and returns
// its final report; the jobs' results are in its diagnostics. When ctx
// ends first the application is killed.
func (d *Deployment) Wait(ctx context.Context) (yarn.ApplicationReport, error) {
	return d.d.Follow(ctx, io.Discard)
}

// Kill kills the application and removes its staging directory.
func (d *Deployment) Kill(ctx context.Context, why string) error { return d.d.Kill(ctx, why) }

// Close releases the deployment's clients.
func (d *Deployment) Close() error { return d.d.Close() }

// String names the application; it holds no secret.
func (d *Deployment) String() string { return "deployment " + d.ID.String() }

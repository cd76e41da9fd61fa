package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
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
	// RMToken and AccessFS add a ResourceManager delegation token and
	// other HDFS file systems' tokens to the application's credentials
	// (-rm-token, -access-fs).
	RMToken  bool
	AccessFS []string
	// ShipKeytab, with ShipPrincipal, is a keytab file shipped to the
	// JobManager only (-ship-keytab), which obtains fresh HDFS delegation
	// tokens with it before they expire: the application's and, in a
	// session, those of jobs submitted as ShipPrincipal or through it as
	// a proxy user. Empty: nothing is shipped; the deployer pushes
	// (Deployment.Submit's jobs push their own while followed).
	ShipKeytab, ShipPrincipal string
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
		RMToken: req.RMToken, AccessFS: req.AccessFS, ShipKeytab: req.ShipKeytab, ShipPrincipal: req.ShipPrincipal,
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

// JobOptions are a session job's own settings (Deployment.Submit).
type JobOptions struct {
	// Identity, ProxyUser and User say whom the job acts for, as in
	// DeployRequest: its HDFS delegation tokens are obtained for that
	// user and handed to its tasks alone. All empty: the session's user,
	// with the session's own tokens.
	Identity        *yarn.Identity
	User, ProxyUser string
	// Binary is the program whose operators the graph uses; empty means
	// the session's own. Another is shipped with the job (staged by
	// content in the user's HDFS cache) and run by the job's
	// TaskManagers.
	Binary string
	// Progress, when set, receives the job's progress lines.
	Progress io.Writer
}

// Submit runs the job graph g in the session d started (TargetSession)
// and returns its result when it ends; a job that fails or is cancelled
// returns a *JobError with the result. When ctx ends first the job is
// cancelled.
func (d *Deployment) Submit(ctx context.Context, g *jobgraph.JobGraph, opts JobOptions) (*Result, error) {
	if d.d.Spec == nil || d.d.Spec.Mode != TargetSession {
		return nil, fmt.Errorf("modes: %s is not a session this process started", d.ID)
	}
	if err := g.Validate(operatorsOf(g), nil); err != nil {
		return nil, err
	}
	b, err := jobgraph.Encode(g)
	if err != nil {
		return nil, err
	}
	rep, err := d.waitRegistered(ctx)
	if err != nil {
		return nil, err
	}
	_, tlsConf, err := secure.TLSConfigs(d.d.Secret)
	if err != nil {
		return nil, err
	}
	cc := control.NewClient(net.JoinHostPort(rep.Host, strconv.Itoa(int(rep.RPCPort))), tlsConf)
	defer cc.Close()
	// Following the job survives the session's JobManager restarting.
	cc.Relocate = func(ctx context.Context) (string, error) {
		r, err := d.d.RM.ApplicationReport(ctx, d.ID)
		if err != nil || r.State != yarn.ApplicationRunning || r.RPCPort <= 0 {
			return "", err
		}
		return net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort))), nil
	}
	req := deploy.Request{Identity: opts.Identity, User: opts.User, ProxyUser: opts.ProxyUser}
	sub := jobmanager.SubmitRequest{Graph: b, Identity: cmp.Or(opts.ProxyUser, opts.User)}
	if opts.Identity != nil {
		sub.Identity = cmp.Or(opts.ProxyUser, hdfs.ShortName(opts.Identity.Principal()))
		if sub.Credentials, err = jobCredentials(ctx, req); err != nil {
			return nil, err
		}
	}
	var bin binaryInfo
	if opts.Binary != "" {
		if bin, err = hashBinary(opts.Binary); err != nil {
			return nil, fmt.Errorf("modes: JobOptions.Binary: %w", err)
		}
		sub.BinarySHA256 = bin.sha256
	}
	var resp jobmanager.SubmitResponse
	err = cc.Do(ctx, http.MethodPost, "/v1/jobs", sub, &resp)
	if ce := (*control.Error)(nil); errors.As(err, &ce) && ce.Status == http.StatusConflict && opts.Binary != "" {
		if sub.Binary, _, err = shipBinary(ctx, req, bin, d.ID); err != nil {
			return nil, err
		}
		err = cc.Do(ctx, http.MethodPost, "/v1/jobs", sub, &resp)
	}
	if err != nil {
		return nil, fmt.Errorf("submitting to session %s: %w", d.ID, err)
	}
	out := &syncWriter{w: cmp.Or[io.Writer](opts.Progress, io.Discard)}
	defer keepJobCredentials(ctx, cc, resp.ID, req, sub.Credentials, out)()
	return followSessionJob(ctx, cc, resp.ID, out)
}

// waitRegistered waits until the session's JobManager has registered.
func (d *Deployment) waitRegistered(ctx context.Context) (yarn.ApplicationReport, error) {
	for {
		r, err := d.d.RM.ApplicationReport(ctx, d.ID)
		if err != nil {
			return r, err
		}
		if r.State == yarn.ApplicationRunning && r.RPCPort > 0 {
			return r, nil
		}
		if r.State.IsFinal() {
			return r, fmt.Errorf("session %s ended (%s): %s", d.ID, r.State, strings.TrimSpace(r.Diagnostics))
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// operatorsOf are the operator names g uses: the session's (or the
// shipped) binary has them, not necessarily this process.
func operatorsOf(g *jobgraph.JobGraph) map[string]bool {
	names := map[string]bool{}
	for _, v := range g.Vertices {
		names[v.Operator] = true
	}
	return names
}

// Package deploy is the client side of Spindle's Application and Per-Job
// modes: it stages a program's binary (and shipped files, and in Per-Job
// mode the encoded job graph) in HDFS, submits the JobManager to YARN with
// the cluster spec and the deployment's credentials, follows the
// application to its end, and kills it when the caller gives up.
//
// # Lifecycle
//
// Deploy checks what it can before it writes anything (the binary is a
// Linux executable for the cluster's processors, the shipped paths can be
// read, the containers' sizes against the scheduler's maximum, the queue,
// the node label), stages, submits and
// returns a Deployment. Follow then prints the application's progress until
// it ends; a detached client instead prints Deployment.ID and calls Close.
// Close releases the clients; it neither kills the application nor removes
// its staging directory. Attach makes a Deployment of an application a
// detached client submitted, to Follow or Kill it later.
//
// # Cleanup
//
// Nothing is left behind by a failed Deploy: a failure after staging
// removes the staging directory, and a failed submission is also killed.
// Once submitted, the JobManager removes the staging directory when it
// unregisters; Follow and Kill remove it too once the application has
// ended (unless Request.KeepStaging), for the cases the JobManager got no
// say (killed, failed to start). A detached application whose JobManager
// never ran leaves its directory to hdfs.Client.Sweep.
//
// # Secrets
//
// The deployment secret (Deployment.Secret) travels only in the
// application's credentials, under launch.SecretAlias; it is in no
// environment variable, command line, log or error, and a Deployment does
// not print it.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

// ApplicationType is the YARN application type of Spindle deployments.
const ApplicationType = "SPINDLE"

// Request describes one deployment.
type Request struct {
	// Mode is launch.ModeApplication or launch.ModePerJob. Required.
	Mode string
	// Name is the application's name. Empty means the binary's base name.
	Name string
	// Queue to submit to. Empty means "default".
	Queue string
	// NodeLabel is the node label expression of every container. Empty
	// means the queue's default.
	NodeLabel string
	// Tags label the application, as YARN's application tags.
	Tags []string
	// AMResource is the JobManager's container. Required.
	AMResource yarn.Resource
	// TaskManager describes the worker containers.
	TaskManager launch.TaskManagerSpec
	// Parallelism is the default parallelism of vertices that set none.
	Parallelism int
	// Args are the program's arguments; in Application mode main runs
	// with them in the JobManager.
	Args []string
	// Ship are local files or directories every container gets in its
	// working directory, under their base names.
	Ship []string
	// Graph is the encoded job graph of a Per-Job deployment, staged as
	// launch.GraphResource. Required in Per-Job mode, nil otherwise.
	Graph []byte
	// Session describes the session to start (launch.ModeSession).
	Session *launch.SessionSpec
	// Config are the -D overrides, passed in the spec.
	Config map[string]string
	// EncryptData encrypts the data exchange between TaskManagers. It is
	// on whatever this says when the cluster's RPC protection is privacy
	// (see encryptData).
	EncryptData bool
	// KeepStaging keeps the staging directory once the application ended.
	KeepStaging bool
	// ShipKeytab is a keytab file shipped to the JobManager only (a
	// PRIVATE resource in the 0700 staging directory, removed with it),
	// which logs in with it as ShipPrincipal and obtains fresh delegation
	// tokens before the old ones expire. Empty ships none.
	ShipKeytab, ShipPrincipal string
	// Identity is the Kerberos login to deploy as (see Login); nil on a
	// cluster with simple authentication, where it is refused.
	Identity *yarn.Identity
	// User is the user under simple authentication. Empty means
	// HADOOP_USER_NAME, else the user running this process. Ignored with
	// an Identity.
	User string
	// ProxyUser, when set, is the user the application runs as, which the
	// logged-in user (Identity, or User) impersonates.
	ProxyUser string
	// ACLs are the application's VIEW_APP and MODIFY_APP ACLs (Hadoop's
	// "users groups" form). Nil leaves the cluster's default: the owner
	// and YARN's admins. The JobManager lets MODIFY_APP's users (not its
	// groups, which it cannot resolve) submit, cancel and stop through a
	// ClientToAMToken.
	ACLs map[yarn.ApplicationAccessType]string
	// ClientLease, when positive, ties the application to this client:
	// Follow heartbeats the JobManager, which ends the application
	// (FAILED, staging removed) once no heartbeat came for this long, as
	// when the client is killed. Zero: the application outlives its
	// client (detached deployments).
	ClientLease time.Duration
	// RMToken adds a ResourceManager delegation token (renewer: the RM)
	// to the application's credentials; AccessFS the delegation tokens of
	// other HDFS file systems (hdfs://host:port, or hdfs://NAMESERVICE of
	// the configuration). Kerberos clusters only.
	RMToken  bool
	AccessFS []string
	// MaxAttempts is how many ApplicationMaster attempts YARN makes (the
	// cluster's yarn.resourcemanager.am.max-attempts caps it). Zero means
	// -D yarn.application-attempts (Flink's key), else DefaultMaxAttempts.
	// Containers are kept across attempts: the next attempt's JobManager
	// adopts the TaskManagers.
	MaxAttempts int32
	// OnStaging, when set, is called with the application's id before
	// anything is staged: from then until Deploy returns, a client that
	// dies leaves a staging directory (and perhaps a submitted
	// application) behind, which a guard knowing the id can remove.
	OnStaging func(yarn.ApplicationID)
	// Binary is the executable to ship as launch.BinaryResource. Empty
	// means this process's own (os.Executable), as programs deploy
	// themselves.
	Binary string
	// Progress, when set, is called while staging uploads (see
	// hdfs.StageOptions.Progress).
	Progress func(hdfs.Progress)
	// Logger receives the clients' debug records and Deploy's steps. Nil
	// means silent.
	Logger *slog.Logger
	// HadoopConfDir holds the cluster's site XML. Empty means
	// $HADOOP_CONF_DIR.
	HadoopConfDir string
}

// A Deployment is a submitted application and the clients that submitted
// it. Its methods are safe for concurrent use.
type Deployment struct {
	// ID is the application's id.
	ID yarn.ApplicationID
	// Secret is the deployment secret every container holds; the client
	// authenticates to the JobManager with it. Never print it. Nil after
	// Attach.
	Secret []byte
	// Spec is the cluster spec the JobManager received; nil after Attach.
	Spec *launch.ClusterSpec
	// Staging is what was staged and how much was uploaded.
	Staging *hdfs.Staging
	// RM and HDFS are the clients Deploy used, closed by Close.
	RM   *yarn.RMClient
	HDFS *hdfs.Client

	log         *slog.Logger
	keepStaging bool
	// attached: made by Attach, for an application this client did not
	// start; Follow leaves it running when its context ends.
	attached bool
	// hdfsConfig is the HDFS client's configuration, from which push.go
	// makes the client that obtains fresh tokens; tokens are the HDFS
	// delegation tokens Deploy put in the application's credentials.
	hdfsConfig hdfs.Config
	tokens     []hdfs.Token
}

// String names the application; it holds no secret.
func (d *Deployment) String() string { return "deployment " + d.ID.String() }

// GoString is String, so that %#v shows no secret either.
func (d *Deployment) GoString() string { return d.String() }

// LogValue logs the application id only.
func (d *Deployment) LogValue() slog.Value { return slog.StringValue(d.ID.String()) }

// Close releases the clients. The application keeps running.
func (d *Deployment) Close() error {
	return errors.Join(d.RM.Close(), d.HDFS.Close())
}

// DefaultMaxAttempts is Request.MaxAttempts when neither it nor -D
// yarn.application-attempts says otherwise: one more attempt after the
// JobManager's process died, which adopts the running TaskManagers.
const DefaultMaxAttempts = 2

// MaxAttemptsKey is the -D key of Request.MaxAttempts (Flink's).
const MaxAttemptsKey = "yarn.application-attempts"

// Deploy stages and submits req. See the package doc for what it checks
// first and what it cleans up.
func Deploy(ctx context.Context, req Request) (*Deployment, error) {
	if err := checkRequest(&req); err != nil {
		return nil, err
	}
	d, ycfg, err := connect(&req)
	if err != nil {
		return nil, err
	}
	if err := d.deploy(ctx, &req, ycfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Attach returns a Deployment for an application submitted earlier (by a
// detached client), to Follow or Kill it. Of req only the identity
// (Identity, User, ProxyUser), KeepStaging, Logger and HadoopConfDir are
// used. The Deployment has no Secret and no Spec, and its Follow leaves
// the application running when its context ends (Kill stops it). Attach
// fails when the ResourceManager does not know the application, with an
// error matching yarn.ErrApplicationNotFound.
func Attach(ctx context.Context, req Request, id yarn.ApplicationID) (*Deployment, error) {
	d, _, err := connect(&req)
	if err != nil {
		return nil, err
	}
	d.ID, d.attached = id, true
	if _, err := d.RM.ApplicationReport(ctx, id); err != nil {
		d.Close()
		return nil, fmt.Errorf("attach %s: %w", id, err)
	}
	return d, nil
}

// connect makes the clients of a Deployment.
func connect(req *Request) (*Deployment, yarn.Config, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ycfg, hcfg, err := configs(req)
	if err != nil {
		return nil, ycfg, err
	}
	rm, err := yarn.NewRMClient(ycfg)
	if err != nil {
		return nil, ycfg, err
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		rm.Close()
		return nil, ycfg, err
	}
	return &Deployment{RM: rm, HDFS: fs, log: log, keepStaging: req.KeepStaging, hdfsConfig: hcfg}, ycfg, nil
}

func checkRequest(req *Request) error {
	switch req.Mode {
	case launch.ModeApplication:
		if req.Graph != nil {
			return errors.New("deploy: a job graph is shipped only in Per-Job mode")
		}
	case launch.ModePerJob:
		if len(req.Graph) == 0 {
			return errors.New("deploy: Per-Job mode needs the encoded job graph (Request.Graph)")
		}
	case launch.ModeSession:
		if req.Session == nil {
			return errors.New("deploy: session mode needs Request.Session")
		}
		if req.Graph != nil {
			return errors.New("deploy: a session starts without a job graph; clients submit jobs to it")
		}
	default:
		return fmt.Errorf("deploy: mode %q is not %q or %q", req.Mode, launch.ModeApplication, launch.ModePerJob)
	}
	if req.AMResource.MemoryMB <= 0 {
		return errors.New("deploy: the JobManager needs memory (-jm-memory)")
	}
	if req.AMResource.VCores <= 0 {
		req.AMResource.VCores = 1
	}
	if req.Queue == "" {
		req.Queue = "default"
	}
	if req.MaxAttempts == 0 {
		req.MaxAttempts = DefaultMaxAttempts
		if v, ok := req.Config[MaxAttemptsKey]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return fmt.Errorf("-D %s=%s: give how many ApplicationMaster attempts YARN may make, at least 1 (1: none after a failure)", MaxAttemptsKey, v)
			}
			req.MaxAttempts = int32(n)
		}
	}
	if req.Binary == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("deploy: finding this program's binary to ship: %w", err)
		}
		req.Binary = self
	}
	if req.Name == "" {
		req.Name = filepath.Base(req.Binary)
	}
	return checkLocal(req)
}

// configs are the YARN and HDFS client configs of the deployment, as one
// user.
// ClientConfigs are the YARN and HDFS client configurations of a client
// acting for req's user: Identity (with ProxyUser) on a Kerberos cluster,
// User otherwise, at the RPC protection -D hadoop.rpc.protection picks,
// with $HADOOP_CONF_DIR's site files (or HadoopConfDir's). Deploy uses
// them; so do the clients of a running deployment (session submits,
// stop).
func ClientConfigs(req Request) (yarn.Config, hdfs.Config, error) {
	return configs(&req)
}

func configs(req *Request) (yarn.Config, hdfs.Config, error) {
	ycfg, err := yarn.LoadConfig(req.HadoopConfDir)
	if err != nil {
		return ycfg, hdfs.Config{}, err
	}
	hcfg, err := hdfs.LoadConfig(req.HadoopConfDir)
	if err != nil {
		return ycfg, hcfg, err
	}
	ycfg.Logger, hcfg.Logger = req.Logger, req.Logger
	// -D hadoop.rpc.protection=LEVEL picks one of the levels the cluster
	// offers for this deployment: the client, the JobManager and the
	// TaskManagers all use it (and privacy turns on the data exchange's
	// encryption, see EncryptData).
	if p, ok := req.Config["hadoop.rpc.protection"]; ok {
		switch p {
		case "authentication", "integrity", "privacy":
			ycfg.RPCProtection = p
		default:
			return ycfg, hcfg, fmt.Errorf("-D hadoop.rpc.protection=%s: the level is authentication, integrity or privacy", p)
		}
	}
	hcfg.RPCProtection = ycfg.RPCProtection
	if ycfg.Kerberos != nil {
		if req.Identity == nil {
			return ycfg, hcfg, errors.New("deploy: the cluster uses Kerberos: log in first (-keytab and -principal, or kinit for the ticket cache)")
		}
		id := req.Identity
		if req.ProxyUser != "" {
			id = id.WithProxyUser(req.ProxyUser)
		}
		ycfg = ycfg.WithIdentity(id)
		hcfg = hcfg.WithIdentity(id)
		if hcfg.TokenRenewer == "" {
			hcfg.TokenRenewer = hdfs.ShortName(ycfg.Kerberos.ServerPrincipal)
		}
		return ycfg, hcfg, nil
	}
	if req.Identity != nil {
		return ycfg, hcfg, errors.New("deploy: a Kerberos login was given but the cluster's configuration uses simple authentication (hadoop.security.authentication)")
	}
	user := req.User
	if user == "" {
		if user, err = localUser(); err != nil {
			return ycfg, hcfg, err
		}
	}
	ycfg.User, hcfg.User = user, user
	ycfg.ProxyUser, hcfg.ProxyUser = req.ProxyUser, req.ProxyUser
	return ycfg, hcfg, nil
}

// deploy's result is named: the deferred cleanup reads it.
func (d *Deployment) deploy(ctx context.Context, req *Request, ycfg yarn.Config) (err error) {
	id, max, err := d.RM.NewApplication(ctx)
	if err != nil {
		return fmt.Errorf("deploy: asking the ResourceManager for an application id: %w", err)
	}
	d.ID = id
	d.log.Info("new application", "app", id, "max_memory_mb", max.MemoryMB, "max_vcores", max.VCores)
	if err := checkResources(req.AMResource, req.TaskManager, max); err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	q, err := checkQueue(ctx, d.RM, req.Queue)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	if err := checkNodeLabel(ctx, d.RM, q, req.NodeLabel); err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	if err := checkRemoteShip(ctx, d.HDFS, req); err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}

	// From here on the staging directory may exist: remove it on failure.
	if req.OnStaging != nil {
		req.OnStaging(id)
	}
	submitted := false
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if submitted {
			// Never having reached the RM (ErrApplicationNotFound) is the
			// usual case, and fine.
			if _, kerr := d.RM.KillAndWait(cctx, id, "the Spindle client's submission failed"); kerr != nil && !errors.Is(kerr, yarn.ErrApplicationNotFound) {
				d.log.Warn("killing the application after a failed submission", "app", id, "err", kerr)
			}
		}
		if rerr := d.HDFS.RemoveStaging(cctx, id.String()); rerr != nil {
			d.log.Warn("removing the staging directory", "app", id, "err", rerr)
		}
	}()

	d.Staging, err = stage(ctx, d.HDFS, id, req)
	if err != nil {
		return fmt.Errorf("deploy %s: staging: %w", id, err)
	}
	d.log.Info("staged", "app", id, "dir", d.Staging.Dir, "uploaded_files", d.Staging.UploadedFiles,
		"uploaded_bytes", d.Staging.UploadedBytes, "reused_files", d.Staging.ReusedFiles)

	d.Secret, err = secure.NewSecret()
	if err != nil {
		return fmt.Errorf("deploy %s: generating the deployment secret: %w", id, err)
	}
	creds := &yarn.Credentials{}
	if ycfg.Kerberos != nil {
		toks, terr := d.HDFS.DelegationTokens(ctx)
		if terr != nil {
			return fmt.Errorf("deploy %s: HDFS delegation tokens: %w", id, terr)
		}
		for _, tok := range toks {
			creds.AddToken(tok.Service, tok)
		}
		d.tokens = toks
		if err := d.extraTokens(ctx, req, ycfg, creds); err != nil {
			return fmt.Errorf("deploy %s: %w", id, err)
		}
	} else if req.RMToken || len(req.AccessFS) > 0 {
		return fmt.Errorf("deploy %s: -rm-token and -access-fs ask for delegation tokens, which a cluster without Kerberos does not issue; leave them out", id)
	}
	creds.AddSecret(launch.SecretAlias, d.Secret)

	d.Spec = &launch.ClusterSpec{
		Mode:          req.Mode,
		AppID:         id.String(),
		Name:          req.Name,
		Program:       filepath.Base(req.Binary),
		Args:          req.Args,
		RMs:           schedulerAddresses(ycfg.ResourceManagers),
		RPCProtection: ycfg.RPCProtection,
		HDFS: launch.HDFSSpec{NameNodes: d.HDFS.NameNodes(), NameService: d.HDFS.NameService(),
			User: d.HDFS.User(), StagingRoot: d.HDFS.StagingRoot(),
			AccessFS: req.AccessFS, NameServices: accessNameServices(d.hdfsConfig, req.AccessFS)},
		TaskManager: req.TaskManager,
		Resources:   yarn.LocalResourcesFromStaging(d.Staging),
		Parallelism: req.Parallelism,
		KeepStaging: req.KeepStaging,
		EncryptData: encryptData(req.EncryptData, ycfg.RPCProtection),
		Session:     req.Session,
		Config:      req.Config,
	}
	if req.ClientLease > 0 {
		d.Spec.ClientLeaseMS = req.ClientLease.Milliseconds()
	}
	if d.Spec.TaskManager.NodeLabel == "" {
		d.Spec.TaskManager.NodeLabel = req.NodeLabel
	}
	amResources, err := splitKeytab(req, d.Spec)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	sub, err := submission(req, id, d.Spec, creds)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	sub.AM.LocalResources = amResources
	submitted = true // a Submit that fails may still have reached the RM
	if err = d.RM.Submit(ctx, sub); err != nil {
		return fmt.Errorf("deploy %s: submitting: %w", id, err)
	}
	d.log.Info("submitted", "app", id, "queue", req.Queue, "mode", req.Mode)
	return nil
}

// checkQueue refuses a queue the scheduler does not know and a parent
// queue (the RM accepts the submission and only then fails the
// application), listing the leaves, and returns the queue's description.
func checkQueue(ctx context.Context, rm *yarn.RMClient, queue string) (yarn.QueueInfo, error) {
	q, err := rm.Queue(ctx, queue, yarn.QueueOptions{Children: true})
	if err == nil && len(q.Children) > 0 {
		var names []string
		if all, lerr := rm.Queue(ctx, queue, yarn.QueueOptions{Children: true, Recursive: true}); lerr == nil {
			names = leafQueues(all, nil)
		}
		return q, fmt.Errorf("-queue %q: a parent queue takes no applications; use one of its leaves: %s", queue, strings.Join(names, ", "))
	}
	if err == nil {
		return q, nil
	}
	if !errors.Is(err, yarn.ErrQueueNotFound) {
		return q, fmt.Errorf("looking up queue %q: %w", queue, err)
	}
	var names []string
	if root, lerr := rm.Queue(ctx, "root", yarn.QueueOptions{Children: true, Recursive: true}); lerr == nil {
		names = leafQueues(root, nil)
	}
	if len(names) == 0 {
		return q, fmt.Errorf("-queue %q: the scheduler has no such queue; name an existing one", queue)
	}
	return q, fmt.Errorf("-queue %q: the scheduler has no such queue; use one of: %s", queue, strings.Join(names, ", "))
}

// leafQueues appends the names of q's leaf queues, those applications
// are submitted to.
func leafQueues(q yarn.QueueInfo, names []string) []string {
	if len(q.Children) == 0 {
		return append(names, q.Name)
	}
	for _, c := range q.Children {
		names = leafQueues(c, names)
	}
	return names
}

// stage uploads the binary, the shipped files and the graph.
func stage(ctx context.Context, fs *hdfs.Client, id yarn.ApplicationID, req *Request) (*hdfs.Staging, error) {
	deps := []hdfs.Dependency{{Local: req.Binary, Name: launch.BinaryResource}}
	kdeps, err := keytabDependencies(req)
	if err != nil {
		return nil, err
	}
	deps = append(deps, kdeps...)
	for _, p := range req.Ship {
		if isRemote(p) {
			// Referenced where it is, not copied.
			deps = append(deps, hdfs.Dependency{Remote: p})
			continue
		}
		deps = append(deps, hdfs.Dependency{Local: p})
	}
	if req.Graph != nil {
		dir, err := os.MkdirTemp("", "spindle-graph-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, launch.GraphResource)
		if err := os.WriteFile(p, req.Graph, 0o600); err != nil {
			return nil, err
		}
		// One job's graph: it goes with the application, not into the
		// content-addressed cache.
		deps = append(deps, hdfs.Dependency{Local: p, Name: launch.GraphResource, Visibility: hdfs.VisibilityApplication})
	}
	return fs.Stage(ctx, id.String(), deps, hdfs.StageOptions{Progress: req.Progress})
}

// cleanupContext bounds cleanup that must run even when ctx, the caller's,
// is cancelled (Ctrl-C is what often brings us there).
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

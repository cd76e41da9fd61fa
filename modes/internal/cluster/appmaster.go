// Package cluster starts the two roles of a Spindle deployment inside YARN
// containers: the ApplicationMaster, which registers with the
// ResourceManager, runs the JobManager and gets its TaskManagers from the
// negotiation engine, and the TaskManager of a worker container.
package cluster

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

// tmProfile is the engine profile of the TaskManagers.
const tmProfile = "taskmanager"

// AppMaster is a running ApplicationMaster with its JobManager.
type AppMaster struct {
	Spec *launch.ClusterSpec
	JM   *jobmanager.JobManager
	log  *slog.Logger

	// StopRequested is closed when a client asks the deployment to stop
	// (a session, or an application before its main returns); StopStatus
	// then holds the final status it asked for.
	StopRequested chan struct{}
	StopStatus    yarn.FinalStatus
	// StopReason, when set, says why the deployment stopped itself
	// rather than at a client's request (an attached client's expired
	// lease, lease.go).
	StopReason string
	stopOnce   sync.Once
	stopLease  context.CancelFunc

	creds     *yarn.Credentials
	am        *yarn.AMClient
	nm        *yarn.NMClient
	eng       *engine.Engine
	stopEng   context.CancelFunc
	engDone   chan error
	servers   []*http.Server
	fsMu      sync.Mutex
	fs        *hdfs.Client
	nodesMu   sync.Mutex
	nodes     map[string]string // container id -> node host
	finishOne sync.Once

	// tokens keeps the HDFS delegation tokens alive (renewal.go); newest
	// are the last ones pushed.
	tokens   *tokenKeeper
	tokensMu sync.Mutex
	newest   *yarn.Credentials
}

// Host is the host name this container serves on: the NodeManager's.
func Host() string {
	if h := os.Getenv("NM_HOST"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// StartAppMaster registers the ApplicationMaster and starts the JobManager,
// its control and tracking servers, and the engine that gets TaskManagers.
func StartAppMaster(ctx context.Context, log *slog.Logger) (*AppMaster, error) {
	spec, err := launch.SpecFromEnv()
	if err != nil {
		return nil, err
	}
	creds, secret, err := launch.ContainerCredentials()
	if err != nil {
		return nil, err
	}
	amrm, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		return nil, err
	}
	a := &AppMaster{Spec: spec, log: log, creds: creds, nodes: map[string]string{}, StopRequested: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()
	a.am, err = yarn.NewAMClient(yarn.AMConfig{ResourceManagers: rmAddresses(spec.RMs), Token: amrm, RPCProtection: spec.RPCProtection, Logger: log})
	if err != nil {
		return nil, err
	}
	a.nm, err = yarn.NewNMClient(yarn.NMConfig{NMTokens: a.am.NMToken, RPCProtection: spec.RPCProtection, Logger: log})
	if err != nil {
		return nil, err
	}
	// Clients without the secret may connect too and are authenticated
	// with a ClientToAMToken instead (clienttoam.Middleware, below).
	serverTLS, err := secure.ServerTLSConfigCertOptional(secret)
	if err != nil {
		return nil, err
	}
	slots := max(spec.TaskManager.Slots, 1)
	pool := &enginePool{a: a}
	var session *jobmanager.SessionConfig
	if s := spec.Session; s != nil && spec.Mode == launch.ModeSession {
		session = &jobmanager.SessionConfig{
			MinTaskManagers: s.MinTaskManagers, MaxTaskManagers: s.MaxTaskManagers,
			MaxTaskManagersPerJob: s.MaxTaskManagersPerJob,
			IdleTimeout:           time.Duration(s.IdleTimeoutMS) * time.Millisecond,
			JobHDFS: func(b []byte) (func(context.Context) (*hdfs.Client, error), func(), error) {
				c, err := JobHDFSClient(spec, b, log)
				if err != nil {
					return nil, nil, err
				}
				return func(context.Context) (*hdfs.Client, error) { return c, nil }, func() { c.Close() }, nil
			},
			// Running jobs outlive this attempt (attempts.go).
			Store: hdfsJobStore{a: a},
			// Jobs' own tokens (jobtokens.go).
			KeepJobTokens: a.keepJobTokens,
		}
	}
	binary := ""
	if session != nil {
		// The TaskManagers run this binary; jobs of others ship theirs.
		binary = ownSHA256()
	}
	a.JM, err = jobmanager.New(jobmanager.Config{
		Session: session, OnStop: a.requestStop, BinarySHA256: binary,
		TaskManager: jobgraph.TaskManagerSpec{
			Resources:       jobgraph.Resources{MemoryMB: spec.TaskManager.MemoryMB, VCores: spec.TaskManager.VCores},
			Slots:           slots,
			MaxTaskManagers: spec.TaskManager.Max,
		},
		Pool: pool, HDFS: a.HDFS, Logger: log, DescribeTaskManager: a.describe,
	})
	if err != nil {
		return nil, err
	}
	host := Host()
	ctlLn, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	webLn, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		ctlLn.Close()
		return nil, err
	}
	a.serve(webLn, a.JM.TrackingHandler(spec.AppID, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	ctlAddr := ctlLn.Addr().(*net.TCPAddr)
	trackingURL := "http://" + webLn.Addr().String() + "/"

	// Before registering: a keytab that cannot log in fails the start.
	if err := a.startTokens(ctx); err != nil {
		return nil, err
	}
	r, err := a.am.Register(ctx, yarn.AMRegistration{Host: host, RPCPort: int32(ctlAddr.Port), TrackingURL: trackingURL})
	if err != nil {
		ctlLn.Close()
		return nil, err
	}
	// The control server starts once registration gave the ClientToAMToken
	// master key and the application's ACLs; until then connections wait
	// in the listener's backlog (nobody knows the port before anyway).
	a.serve(tls.NewListener(ctlLn, serverTLS), clienttoam.Middleware(controlAuth(spec, amrm, r, log), a.withCredentialsEndpoint(a.startClientLease(a.JM.Handler()))))
	log.Info("ApplicationMaster registered", "control", ctlLn.Addr().String(), "tracking_url", trackingURL, "mode", spec.Mode)

	// TaskManagers get the application's tokens and the deployment secret,
	// never the AMRMToken.
	workerCreds := &yarn.Credentials{}
	for alias, t := range creds.Tokens() {
		if t.Kind != yarn.KindAMRMToken {
			workerCreds.AddToken(alias, t)
		}
	}
	workerCreds.AddSecret(launch.SecretAlias, secret)
	specJSON, err := spec.Encode()
	if err != nil {
		return nil, err
	}
	cmd, err := yarn.Command{Args: yarn.LiteralArgs("./" + launch.BinaryResource),
		Stdout: yarn.LogFile("taskmanager.stdout"), Stderr: yarn.LogFile("taskmanager.stderr")}.Line()
	if err != nil {
		return nil, err
	}
	tmLaunch := yarn.ContainerLaunchContext{
		LocalResources: spec.Resources,
		Environment: map[string]string{launch.EnvRole: launch.RoleTaskManager, launch.EnvSpec: specJSON,
			launch.EnvJobManager: net.JoinHostPort(host, fmt.Sprint(ctlAddr.Port))},
		Commands:    []string{cmd},
		Credentials: workerCreds,
	}
	a.eng, err = engine.New(engine.Config{
		AM: a.am, NM: a.nm, Logger: log, MaxCapability: r.MaxCapability, Registerer: reg,
		Profiles: []engine.Profile{{
			Name:      tmProfile,
			Resource:  yarn.Resource{MemoryMB: spec.TaskManager.MemoryMB, VCores: spec.TaskManager.VCores},
			Priority:  1,
			NodeLabel: spec.TaskManager.NodeLabel,
		}},
		LaunchContext: func(_ context.Context, c yarn.Container, _ string) (yarn.ContainerLaunchContext, error) {
			a.nodesMu.Lock()
			a.nodes[c.ID.String()] = c.NodeID.Host
			a.nodesMu.Unlock()
			return a.withNewestTokens(tmLaunch), nil
		},
		FastHeartbeat: 100 * time.Millisecond,
		SlowHeartbeat: time.Second,
		// Every container of an earlier attempt is a TaskManager.
		Adopt: func(yarn.Container) (string, bool) { return tmProfile, true },
	})
	if err != nil {
		return nil, err
	}
	if prev := r.ContainersFromPreviousAttempts; len(prev) > 0 {
		// Keep them until the JobManager sets its own target: they come
		// back to it once they find its address (attempts.go).
		if err := a.eng.SetTarget(tmProfile, len(prev)); err != nil {
			return nil, err
		}
		n := a.eng.Adopt(prev)
		log.Info("adopted the TaskManagers of the earlier attempt", "containers", len(prev), "kept", n)
	}
	if attempt := attemptOf(); attempt > 1 {
		if err := a.publishAddr(ctx, ctlAddr.String()); err != nil {
			log.Error("publishing this JobManager's address for the earlier attempt's TaskManagers", "err", err)
		} else {
			log.Info("published this JobManager's address for the earlier attempt's TaskManagers", "attempt", attempt, "addr", ctlAddr.String())
		}
	}
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopEng = cancel
	a.engDone = make(chan error, 1)
	go func() {
		err := a.eng.Run(ectx, engine.Callbacks{
			OnStartFailed: func(c yarn.Container, _ string, err error) {
				a.JM.TaskManagerLost(c.ID.String(), "its container failed to start: "+err.Error())
			},
			OnCompleted: func(c engine.Completion) {
				if c.Released {
					return
				}
				a.JM.TaskManagerLost(c.Container.ID.String(), fmt.Sprintf("its container ended (%s, exit status %d): %s",
					c.Cause, c.Status.ExitStatus, essential(c.Status.Diagnostics)))
			},
		})
		if err != nil && ectx.Err() == nil {
			log.Error("the engine gave up", "err", err)
			a.JM.Abort("getting TaskManagers: " + err.Error())
		}
		a.engDone <- err
	}()
	ok = true
	return a, nil
}

// controlAuth is how the control server authenticates clients without the
// deployment secret: ClientToAMTokens of this attempt, the application's
// user (the NodeManager sets USER to it) and its MODIFY_APP ACL may
// change things. Without Kerberos the RM gives no master key, and only
// the secret's holders get in.
func controlAuth(spec *launch.ClusterSpec, amrm yarn.Token, r yarn.AMRegistrationResponse, log *slog.Logger) clienttoam.ServerConfig {
	cfg := clienttoam.ServerConfig{
		Owner:     cmp.Or(os.Getenv("USER"), hdfs.ShortName(spec.HDFS.User)),
		ModifyACL: r.ACLs[yarn.AccessModifyApp],
		Logger:    log,
	}
	if id, err := amrm.AMRMIdentifier(); err == nil {
		cfg.Attempt = yarn.AMRMAttempt(id)
		cfg.Application = cfg.Attempt.Application
	}
	if app, err := yarn.ParseApplicationID(spec.AppID); err == nil {
		cfg.Application = app
	}
	key := bytes.Clone(r.ClientToAMTokenMasterKey)
	cfg.MasterKey = func() []byte { return key }
	return cfg
}

func (a *AppMaster) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	a.servers = append(a.servers, srv)
	go srv.Serve(ln)
}

func (a *AppMaster) requestStop(status string) { a.stop(status, "") }

// stop stops the deployment once with the final status asked for; reason,
// when set, is why it stopped itself.
func (a *AppMaster) stop(status, reason string) {
	a.stopOnce.Do(func() {
		a.StopReason = reason
		switch status {
		case "SUCCEEDED":
			a.StopStatus = yarn.FinalSucceeded
		case "FAILED":
			a.StopStatus = yarn.FinalFailed
		default:
			a.StopStatus = yarn.FinalKilled
		}
		if reason == "" {
			a.log.Info("a client asked the deployment to stop", "final_status", a.StopStatus)
		}
		close(a.StopRequested)
	})
}

// HDFS returns the AM's HDFS client, acting with the application's
// delegation tokens (or as its user without Kerberos).
func (a *AppMaster) HDFS(context.Context) (*hdfs.Client, error) {
	a.fsMu.Lock()
	defer a.fsMu.Unlock()
	if a.fs != nil {
		return a.fs, nil
	}
	fs, err := HDFSClient(a.Spec, a.creds, a.log)
	if err != nil {
		return nil, err
	}
	a.fs = fs
	return fs, nil
}

// HDFSClient is the HDFS client of a container of the deployment.
func HDFSClient(spec *launch.ClusterSpec, creds *yarn.Credentials, log *slog.Logger) (*hdfs.Client, error) {
	return hdfs.NewClient(hdfs.Config{
		NameNodes: spec.HDFS.NameNodes, NameService: spec.HDFS.NameService, User: spec.HDFS.User,
		StagingRoot: spec.HDFS.StagingRoot, Tokens: yarn.HDFSTokens(creds), RPCProtection: spec.RPCProtection, Logger: log,
	})
}

// JobHDFSClient is the HDFS client of a session's job that carries its
// own credentials (b, Hadoop's credentials format): it acts as the owner
// of the job's HDFS delegation token, with that token only.
func JobHDFSClient(spec *launch.ClusterSpec, b []byte, log *slog.Logger) (*hdfs.Client, error) {
	jc := &yarn.Credentials{}
	if err := jc.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	toks := yarn.HDFSTokens(jc)
	if len(toks) == 0 {
		return nil, errors.New("the job's credentials hold no HDFS delegation token")
	}
	id, err := toks[0].DelegationIdentifier()
	if err != nil {
		return nil, err
	}
	js := *spec
	js.HDFS.User = hdfs.ShortName(id.Owner)
	return HDFSClient(&js, jc, log)
}

func (a *AppMaster) describe(id string) string {
	a.nodesMu.Lock()
	host := a.nodes[id]
	a.nodesMu.Unlock()
	if host == "" {
		return "TaskManager " + id
	}
	return "TaskManager " + id + " on node " + host
}

// Finish shuts the JobManager and its TaskManagers down, unregisters with
// the final status and removes the staging directory (unless kept).
func (a *AppMaster) Finish(ctx context.Context, status yarn.FinalStatus, diagnostics string) error {
	var err error
	a.finishOne.Do(func() {
		a.JM.Close()
		_ = a.eng.SetTarget(tmProfile, 0)
		a.stopEng()
		select {
		case <-a.engDone:
		case <-time.After(30 * time.Second):
			a.log.Warn("the engine did not stop in 30 s")
		}
		const maxDiag = 8 << 10
		if len(diagnostics) > maxDiag {
			diagnostics = diagnostics[:maxDiag] + "..."
		}
		if status == yarn.FinalFailed {
			diagnostics = a.withExpiryHint(diagnostics)
		}
		err = a.am.Finish(ctx, yarn.AMUnregistration{FinalStatus: status, Diagnostics: diagnostics})
		if err != nil {
			a.log.Error("unregistering", "err", err)
		}
		if !a.Spec.KeepStaging {
			if fs, ferr := a.HDFS(ctx); ferr == nil {
				if rerr := fs.RemoveStaging(ctx, a.Spec.AppID); rerr != nil {
					a.log.Error("removing the staging directory", "err", rerr)
				} else {
					a.log.Info("removed the staging directory", "dir", fs.StagingDir(a.Spec.AppID))
				}
			}
		}
		a.close()
	})
	return err
}

func (a *AppMaster) close() {
	if a.stopLease != nil {
		a.stopLease()
	}
	if a.tokens != nil {
		a.tokens.close()
	}
	for _, s := range a.servers {
		s.Close()
	}
	if a.fs != nil {
		a.fs.Close()
	}
	if a.nm != nil {
		a.nm.Close()
	}
	if a.am != nil {
		a.am.Close()
	}
}

// enginePool gives the JobManager TaskManagers through the engine.
type enginePool struct{ a *AppMaster }

func (p *enginePool) SetTaskManagers(n int) error {
	if p.a.eng == nil {
		return errors.New("the engine is not running")
	}
	return p.a.eng.SetTarget(tmProfile, n)
}

func (p *enginePool) Release(id string) error {
	cid, err := yarn.ParseContainerID(id)
	if err != nil {
		return err
	}
	return p.a.eng.Release(cid)
}

// essential picks from a NodeManager's container diagnostics the tail of
// the container's stderr it quotes, else the end of the text.
func essential(diag string) string {
	const marker = "bytes of stderr :"
	if i := strings.LastIndex(diag, marker); i >= 0 {
		tail := strings.TrimSpace(diag[i+len(marker):])
		if j := strings.Index(tail, "\n\n"); j >= 0 {
			tail = tail[:j]
		}
		if tail != "" {
			return "stderr: " + clip(tail, 2000)
		}
	}
	return clip(strings.TrimSpace(diag), 2000)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// rmAddresses are the spec's scheduler addresses as the AMClient takes
// them; with several, the ids name them in its failover logs.
func rmAddresses(schedulers []string) []yarn.RMAddress {
	out := make([]yarn.RMAddress, len(schedulers))
	for i, s := range schedulers {
		out[i] = yarn.RMAddress{Scheduler: s}
		if len(schedulers) > 1 {
			out[i].ID = fmt.Sprintf("rm%d", i+1)
		}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	krbid "github.com/spindle-yarn/spindle/internal/identity"
	"github.com/spindle-yarn/spindle/yarn"
)

// runClient submits the application, follows it to the end and returns
// the process exit code.
func runClient(ctx context.Context, o *options, out io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var log *slog.Logger
	if o.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	cfg, err := yarn.LoadConfig("") // $HADOOP_CONF_DIR
	if err != nil {
		return 1, err
	}
	cfg.Logger = log
	if o.rpcProtection != "" {
		cfg.RPCProtection = o.rpcProtection
	}
	userName, who, err := identity(ctx, o, cfg.Kerberos != nil)
	if err != nil {
		return 1, err
	}
	cfg.User = userName
	if who != nil {
		defer who.Close()
		if o.proxyUser != "" {
			who = who.WithProxyUser(o.proxyUser) // shares the login closed above
		}
		cfg = cfg.WithIdentity(who)
	} else {
		cfg.ProxyUser = o.proxyUser
	}

	rm, err := newRM(cfg, o.rest)
	if err != nil {
		return 1, err
	}
	defer rm.Close()
	fs, err := stagingClient(cfg, userName, who, log)
	if err != nil {
		return 1, err
	}
	defer fs.Close()

	id, maxRes, err := rm.NewApplication(ctx)
	if err != nil {
		return 1, err
	}
	if o.memoryMB > maxRes.MemoryMB || int32(o.vcores) > maxRes.VCores {
		return 1, fmt.Errorf("containers of %d MB and %d vcores exceed the largest the scheduler grants (%d MB, %d vcores); lower -memory or -vcores",
			o.memoryMB, o.vcores, maxRes.MemoryMB, maxRes.VCores)
	}

	// The ApplicationMaster removes the staging directory once it has
	// unregistered. The client removes it when the submission failed, or
	// when the application ended without the AM doing so (killed, or the
	// AM failed); if the client dies first, a sweep (hdfs.Client.Sweep)
	// finds it.
	submitted := false
	var final yarn.ApplicationState
	defer func() {
		if o.keepStaging {
			fmt.Fprintf(out, "staging directory kept: %s\n", fs.StagingDir(id.String()))
			return
		}
		if submitted && !final.IsFinal() {
			return // we stopped following it: its AM, or a sweep, cleans up
		}
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ccancel()
		if final == yarn.ApplicationFinished && stagingGone(cctx, fs, id.String()) {
			fmt.Fprintln(out, "staging directory removed by the ApplicationMaster")
			return
		}
		if err := fs.RemoveStaging(cctx, id.String()); err != nil {
			fmt.Fprintf(os.Stderr, "dshell: removing the staging directory: %v\n", err)
		}
	}()

	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	deps := []hdfs.Dependency{{Local: self, Name: "dshell"}}
	for _, p := range o.ship {
		deps = append(deps, hdfs.Dependency{Local: p})
	}
	for _, p := range o.shipPublic {
		deps = append(deps, hdfs.Dependency{Local: p, Visibility: hdfs.VisibilityPublic})
	}
	var keytab *keytabSpec
	if o.shipKeytab {
		if keytab, err = keytabShipping(o, cfg); err != nil {
			return 1, err
		}
		deps = append(deps, keytabDependencies(o)...)
	}
	staging, err := fs.Stage(ctx, id.String(), deps, hdfs.StageOptions{Progress: progressBar(os.Stderr)})
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(out, "staged %d files: %d uploaded (%s), %d found in the cache (%s)\n",
		len(staging.Resources), staging.UploadedFiles, mib(staging.UploadedBytes), staging.ReusedFiles, mib(staging.ReusedBytes))
	shipped := yarn.LocalResourcesFromStaging(staging)
	amResources := map[string]yarn.LocalResource{"dshell": shipped["dshell"]}
	delete(shipped, "dshell")
	// The keytab and its krb5.conf are the AM's alone, PRIVATE: never in
	// the workers' resources.
	for _, name := range []string{keytabResource, krb5ConfResource} {
		if r, ok := shipped[name]; ok {
			r.Visibility = yarn.VisibilityPrivate
			amResources[name] = r
			delete(shipped, name)
		}
	}

	creds := &yarn.Credentials{}
	if who != nil {
		toks, err := fs.DelegationTokens(ctx)
		if err != nil {
			return 1, err
		}
		for _, tok := range toks {
			creds.AddToken(tok.Service, tok)
		}
	}

	spec := jobSpec{
		Containers: o.n, MemoryMB: o.memoryMB, VCores: int32(o.vcores), Command: o.command,
		Resources: shipped, RMs: cfg.ResourceManagers, RPCProtection: cfg.RPCProtection, Priority: int32(o.priority),
		AppID: id.String(), KeepStaging: o.keepStaging,
		HDFS:        hdfsSpec{NameNodes: fs.NameNodes(), NameService: fs.NameService(), User: fs.User(), StagingRoot: fs.StagingRoot()},
		MaxFailures: o.maxFailures, Custom: o.resources, NodeLabel: o.nodeLabel, Nodes: o.nodes, RackNames: o.racks,
		StrictLocality: o.strict, Opportunistic: o.opportunistic, AntiAffinity: o.antiAffinity,
		Keytab: keytab,
	}
	if len(o.nodes) > 0 {
		if spec.Racks, err = racksOf(ctx, rm, o.nodes); err != nil {
			return 1, err
		}
	}
	specJSON, err := spec.encode()
	if err != nil {
		return 1, err
	}
	amLine, err := amCommand()
	if err != nil {
		return 1, err
	}
	sub := &yarn.ApplicationSubmission{
		ID:          id,
		Name:        o.name,
		Queue:       o.queue,
		Type:        "SPINDLE-DSHELL",
		AMResource:  yarn.Resource{MemoryMB: o.amMemoryMB, VCores: 1},
		MaxAttempts: 1,
		AM: yarn.ContainerLaunchContext{
			LocalResources: amResources,
			Environment:    map[string]string{envRole: "am", envSpec: specJSON},
			Commands:       []string{amLine},
			Credentials:    creds,
		},
	}
	if err := rm.Submit(ctx, sub); err != nil {
		return 1, err
	}
	submitted = true
	fmt.Fprintf(out, "submitted %s to queue %s as %s (%d containers of %d MB, %d vcores)\n", id, o.queue, fs.User(), o.n, o.memoryMB, o.vcores)

	report, err := follow(ctx, rm, id, out)
	if err != nil {
		if submitted && ctx.Err() != nil {
			// Interrupted or timed out: do not leave the application running.
			kctx, kcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer kcancel()
			if _, kerr := rm.KillAndWait(kctx, id, "dshell client gave up: "+ctx.Err().Error()); kerr == nil {
				fmt.Fprintf(out, "killed %s\n", id)
			}
		}
		return 1, err
	}
	final = report.State
	fmt.Fprintf(out, "%s finished: %s / %s\n", id, report.State, report.FinalStatus)
	if d := strings.TrimSpace(report.Diagnostics); d != "" {
		fmt.Fprintln(out, d)
	}
	if report.State == yarn.ApplicationFinished && report.FinalStatus == yarn.FinalSucceeded {
		return 0, nil
	}
	return 1, nil
}

// resourceManager is what the client needs of the ResourceManager; Spindle's
// RPC and REST clients both provide it.
type resourceManager interface {
	NewApplication(ctx context.Context) (yarn.ApplicationID, yarn.Resource, error)
	Submit(ctx context.Context, s *yarn.ApplicationSubmission) error
	ApplicationReport(ctx context.Context, id yarn.ApplicationID) (yarn.ApplicationReport, error)
	KillAndWait(ctx context.Context, id yarn.ApplicationID, diagnostics string) (yarn.ApplicationReport, error)
	Nodes(ctx context.Context, states ...yarn.NodeState) ([]yarn.NodeReport, error)
	Close() error
}

// racksOf looks up the racks of the -nodes hosts: the AM asks for each
// host's rack too, since the scheduler places on a host only while its
// rack's request is open. A host the RM does not know is refused.
func racksOf(ctx context.Context, rm resourceManager, hosts []string) (map[string]string, error) {
	nodes, err := rm.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the cluster's nodes for -nodes: %w", err)
	}
	racks := map[string]string{}
	for _, n := range nodes {
		racks[n.ID.Host] = n.Rack
	}
	out := map[string]string{}
	for _, h := range hosts {
		r, ok := racks[h]
		if !ok {
			return nil, fmt.Errorf("-nodes: the ResourceManager knows no node on host %q", h)
		}
		out[h] = r
	}
	return out, nil
}

func newRM(cfg yarn.Config, rest bool) (resourceManager, error) {
	if rest {
		return yarn.NewRESTClient(cfg)
	}
	return yarn.NewRMClient(cfg)
}

// follow prints the application's progress until it ends.
func follow(ctx context.Context, rm resourceManager, id yarn.ApplicationID, out io.Writer) (yarn.ApplicationReport, error) {
	var lastState yarn.ApplicationState
	var lastProgress string
	hc := &http.Client{Timeout: 2 * time.Second}
	// Every 100 ms: the report is one cheap call, and the client's exit
	// follows the application's end by at most this.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := rm.ApplicationReport(ctx, id)
		if err != nil {
			return r, err
		}
		if r.State != lastState {
			lastState = r.State
			switch r.State {
			case yarn.ApplicationRunning:
				fmt.Fprintf(out, "ApplicationMaster running on %s, tracking URL %s\n", r.Host, trackingURL(r))
			default:
				fmt.Fprintf(out, "state %s\n", r.State)
			}
		}
		if u := trackingURL(r); r.State == yarn.ApplicationRunning && u != "" {
			if st, ok := amProgress(ctx, hc, u); ok {
				line := fmt.Sprintf("containers: %d allocated, %d running, %d completed (%d failed) of %d",
					st.Allocated, st.Running, st.Completed, st.Failed, st.Wanted)
				if line != lastProgress {
					fmt.Fprintln(out, line)
					lastProgress = line
				}
			}
		}
		if r.State.IsFinal() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("%s still %s: %w", id, r.State, ctx.Err())
		case <-tick.C:
		}
	}
}

// trackingURL is the URL the AM registered, or, where the report lacks it
// (the REST API does not carry it), the RM's proxy for it.
func trackingURL(r yarn.ApplicationReport) string {
	if r.OriginalTrackingURL != "" && r.OriginalTrackingURL != "N/A" {
		return r.OriginalTrackingURL
	}
	return r.TrackingURL
}

// amProgress reads the AM's status endpoint (its tracking URL).
func amProgress(ctx context.Context, hc *http.Client, url string) (amStatus, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return amStatus{}, false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return amStatus{}, false
	}
	defer resp.Body.Close()
	var st amStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return amStatus{}, false
	}
	return st, true
}

// identity is who dshell acts as: with Kerberos, a login from -keytab and
// -principal, or else the ticket cache (KRB5CCNAME, or
// /tmp/krb5cc_<uid>); the login's errors say what to do (kinit, a
// principal the keytab lacks, clock skew). Without Kerberos, -principal's
// short name, HADOOP_USER_NAME or the OS user, and no login.
func identity(ctx context.Context, o *options, kerberos bool) (string, *yarn.Identity, error) {
	if !kerberos {
		if o.principal != "" {
			return hdfs.ShortName(o.principal), nil, nil
		}
		if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
			return u, nil, nil
		}
		u, err := user.Current()
		if err != nil {
			return "", nil, err
		}
		return u.Username, nil, nil
	}
	var id *yarn.Identity
	var err error
	if o.keytab != "" {
		id, err = yarn.LoginKeytab(ctx, o.principal, o.keytab, "")
	} else {
		id, err = yarn.LoginTicketCache("", "")
	}
	if err != nil {
		return "", nil, fmt.Errorf("the cluster uses Kerberos: %w", err)
	}
	return id.ShortName(), id, nil
}

// stagingClient is the HDFS client staging the application, as the same
// user as the YARN client (its -proxy-user, with one).
func stagingClient(ycfg yarn.Config, userName string, id *yarn.Identity, log *slog.Logger) (*hdfs.Client, error) {
	cfg, err := hdfs.LoadConfig("") // $HADOOP_CONF_DIR
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.ProxyUser = userName, ycfg.ProxyUser
	cfg.RPCProtection = ycfg.RPCProtection
	cfg.Logger = log
	if id != nil {
		cfg = cfg.WithIdentity(id)
		if cfg.TokenRenewer == "" {
			cfg.TokenRenewer = hdfs.ShortName(ycfg.Kerberos.ServerPrincipal)
		}
	}
	return hdfs.NewClient(cfg)
}

// stagingGone waits a little for the ApplicationMaster, which removes the
// staging directory right after unregistering, and reports whether it did.
// The RM reports an application FINISHED from the moment its AM
// unregisters, so the directory is usually still there at the first look
// and gone some 100 ms later: it looks every 50 ms.
func stagingGone(ctx context.Context, fs *hdfs.Client, appID string) bool {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		if _, err := fs.Stat(ctx, fs.StagingDir(appID)); errors.Is(err, iofs.ErrNotExist) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// progressBar renders staging progress on one terminal line, at most ten
// times a second; nil when w is not a terminal.
func progressBar(w *os.File) func(hdfs.Progress) {
	if fi, err := w.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var last time.Time
	return func(p hdfs.Progress) {
		done := p.FilesDone == p.FilesTotal
		if !done && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		filled := width
		if p.BytesTotal > 0 {
			filled = int(int64(width) * p.BytesDone / p.BytesTotal)
		}
		fmt.Fprintf(w, "\rstaging [%s%s] %d/%d files, %s of %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			p.FilesDone, p.FilesTotal, mib(p.BytesDone), mib(p.BytesTotal))
		if done {
			fmt.Fprintln(w)
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// keytabShipping checks -ship-keytab against the cluster and returns what
// the AM needs to log in with the keytab.
func keytabShipping(o *options, ycfg yarn.Config) (*keytabSpec, error) {
	if ycfg.Kerberos == nil {
		return nil, errors.New("-ship-keytab: the cluster does not use Kerberos (hadoop.security.authentication): there are no tokens to keep alive")
	}
	st, err := os.Stat(o.keytab)
	if err != nil {
		return nil, fmt.Errorf("-ship-keytab: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("-ship-keytab: %s is not a file", o.keytab)
	}
	hcfg, err := hdfs.LoadConfig("") // $HADOOP_CONF_DIR
	if err != nil {
		return nil, err
	}
	nn := ""
	if hcfg.Kerberos != nil {
		nn = hcfg.Kerberos.ServerPrincipal
	}
	return &keytabSpec{Principal: o.principal, NameNodePrincipal: nn}, nil
}

// keytabDependencies stage the keytab, and the krb5.conf this client uses,
// in the application's own 0700 staging directory (never a shared cache),
// so they go with it.
func keytabDependencies(o *options) []hdfs.Dependency {
	deps := []hdfs.Dependency{{Local: o.keytab, Name: keytabResource, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityApplication}}
	if conf := krbid.Krb5ConfPath(""); conf != "" {
		if st, err := os.Stat(conf); err == nil && st.Mode().IsRegular() {
			deps = append(deps, hdfs.Dependency{Local: conf, Name: krb5ConfResource, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityApplication})
		}
	}
	return deps
}

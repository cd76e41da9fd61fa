package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"

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

	conf, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		return 1, fmt.Errorf("reading HADOOP_CONF_DIR: %w", err)
	}
	if len(conf) == 0 {
		return 1, fmt.Errorf("no Hadoop configuration: set HADOOP_CONF_DIR to the directory holding core-site.xml and yarn-site.xml")
	}
	cfg, err := yarn.ConfigFromHadoopConf(conf)
	if err != nil {
		return 1, err
	}
	cfg.Logger = log
	if o.rpcProtection != "" {
		cfg.RPCProtection = o.rpcProtection
	}
	userName, kc, err := identity(o, cfg.Kerberos != nil)
	if err != nil {
		return 1, err
	}
	cfg.User = userName
	if kc != nil {
		defer kc.Destroy()
		cfg.Kerberos.Client = kc
	}

	rm, err := newRM(cfg, o.rest)
	if err != nil {
		return 1, err
	}
	defer rm.Close()
	fs, err := hdfsClient(conf, userName, kc)
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

	// Whatever happens from here on, the staging directory goes.
	staging := path.Join("/user", userName, ".spindle", id.String())
	submitted := false
	defer func() {
		if o.keepStaging {
			fmt.Fprintf(out, "staging directory kept: %s\n", staging)
			return
		}
		if err := fs.RemoveAll(staging); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(os.Stderr, "dshell: removing %s: %v\n", staging, err)
		}
	}()

	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	stager := &stager{fs: fs, dir: staging, namenode: conf["fs.defaultFS"]}
	if err := fs.MkdirAll(staging, 0o700); err != nil {
		return 1, fmt.Errorf("creating staging directory %s: %w", staging, err)
	}
	amBinary, err := stager.upload(self, "dshell")
	if err != nil {
		return 1, err
	}
	shipped := map[string]yarn.LocalResource{}
	for _, p := range o.ship {
		name := filepath.Base(filepath.Clean(p))
		lr, err := stager.upload(p, name)
		if err != nil {
			return 1, err
		}
		shipped[name] = lr
	}

	creds := &yarn.Credentials{}
	if kc != nil {
		nn := strings.TrimPrefix(conf["fs.defaultFS"], "hdfs://")
		tok, err := yarn.HDFSDelegationToken(ctx, yarn.HDFSTokenConfig{
			NameNode:      nn,
			Kerberos:      &yarn.KerberosConfig{Client: kc, ServerPrincipal: conf["dfs.namenode.kerberos.principal"]},
			Renewer:       yarn.ShortName(cfg.Kerberos.ServerPrincipal),
			RPCProtection: cfg.RPCProtection,
		})
		if err != nil {
			return 1, err
		}
		creds.AddToken(tok.Service, tok)
	}

	spec := jobSpec{
		Containers: o.n, MemoryMB: o.memoryMB, VCores: int32(o.vcores), Command: o.command,
		Resources: shipped, RMs: cfg.ResourceManagers, RPCProtection: cfg.RPCProtection, Priority: 1,
	}
	specJSON, err := spec.encode()
	if err != nil {
		return 1, err
	}
	amResources := map[string]yarn.LocalResource{"dshell": amBinary}
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
			Commands:       []string{"./dshell 1><LOG_DIR>/am.stdout 2><LOG_DIR>/am.stderr"},
			Credentials:    creds,
		},
	}
	if err := rm.Submit(ctx, sub); err != nil {
		return 1, err
	}
	submitted = true
	fmt.Fprintf(out, "submitted %s to queue %s (%d containers of %d MB, %d vcores)\n", id, o.queue, o.n, o.memoryMB, o.vcores)

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
	Close() error
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
	tick := time.NewTicker(250 * time.Millisecond)
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

// identity returns the user and, on Kerberos clusters, a logged-in client.
func identity(o *options, kerberos bool) (string, *krbclient.Client, error) {
	if !kerberos {
		if o.principal != "" {
			return yarn.ShortName(o.principal), nil, nil
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
	confPath := os.Getenv("KRB5_CONFIG")
	if confPath == "" {
		confPath = "/etc/krb5.conf"
	}
	kconf, err := krbconfig.Load(confPath)
	if err != nil {
		return "", nil, fmt.Errorf("the cluster uses Kerberos; reading %s (set KRB5_CONFIG): %w", confPath, err)
	}
	var kc *krbclient.Client
	if o.keytab != "" {
		kt, err := keytab.Load(o.keytab)
		if err != nil {
			return "", nil, fmt.Errorf("-keytab %s: %w", o.keytab, err)
		}
		name, realm, _ := strings.Cut(o.principal, "@")
		if realm == "" {
			realm = kconf.LibDefaults.DefaultRealm
		}
		kc = krbclient.NewWithKeytab(name, realm, kt, kconf, krbclient.DisablePAFXFAST(true))
	} else {
		cc := strings.TrimPrefix(os.Getenv("KRB5CCNAME"), "FILE:")
		if cc == "" {
			cc = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
		}
		ccache, err := credentials.LoadCCache(cc)
		if err != nil {
			return "", nil, fmt.Errorf("the cluster uses Kerberos: give -keytab and -principal, or kinit first (no credential cache %s: %v)", cc, err)
		}
		if kc, err = krbclient.NewFromCCache(ccache, kconf, krbclient.DisablePAFXFAST(true)); err != nil {
			return "", nil, err
		}
	}
	if err := kc.Login(); err != nil {
		return "", nil, fmt.Errorf("kerberos login: %w", err)
	}
	return kc.Credentials.UserName(), kc, nil
}

func hdfsClient(conf hadoopconf.HadoopConf, userName string, kc *krbclient.Client) (*hdfs.Client, error) {
	opts := hdfs.ClientOptionsFromConf(conf)
	opts.User = userName
	if kc != nil {
		opts.KerberosClient = kc
		opts.User = kc.Credentials.UserName() + "@" + kc.Credentials.Realm()
		if spn := conf["dfs.namenode.kerberos.principal"]; spn != "" {
			opts.KerberosServicePrincipleName = strings.SplitN(spn, "@", 2)[0]
		}
	}
	return hdfs.NewClient(opts)
}

// stager uploads local paths into the staging directory.
type stager struct {
	fs       *hdfs.Client
	dir      string
	namenode string // fs.defaultFS
}

// upload copies a local file or directory to dir/name and returns its
// LocalResource, with the size and modification time the NameNode reports
// after the copy closed (what the NodeManager checks when localizing).
func (s *stager) upload(local, name string) (yarn.LocalResource, error) {
	dst := path.Join(s.dir, name)
	if err := s.copyTree(local, dst); err != nil {
		return yarn.LocalResource{}, fmt.Errorf("staging %s: %w", local, err)
	}
	fi, err := s.fs.Stat(dst)
	if err != nil {
		return yarn.LocalResource{}, err
	}
	size := fi.Size()
	if fi.IsDir() {
		size = 0
	}
	return yarn.LocalResource{
		URL:        strings.TrimSuffix(s.namenode, "/") + dst,
		Size:       size,
		Timestamp:  fi.ModTime().UnixMilli(),
		Type:       yarn.LocalResourceFile,
		Visibility: yarn.VisibilityApplication,
	}, nil
}

func (s *stager) copyTree(local, dst string) error {
	info, err := os.Stat(local)
	if err != nil {
		return err
	}
	if info.IsDir() {
		if err := s.fs.MkdirAll(dst, 0o700); err != nil {
			return err
		}
		entries, err := os.ReadDir(local)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := s.copyTree(filepath.Join(local, e.Name()), path.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	// The NameNode refuses a new block while the last one is not yet
	// reported by a DataNode (NotReplicatedYetException); colinmarc/hdfs
	// retries that only briefly, so a busy cluster needs a few more tries.
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.copyFile(local, dst, info.Mode())
		if err == nil || attempt == 6 || !strings.Contains(err.Error(), "replication in progress") {
			return err
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

func (s *stager) copyFile(local, dst string, mode os.FileMode) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	_ = s.fs.Remove(dst)
	w, err := s.fs.CreateFile(dst, 1, 128<<20, mode.Perm()&0o700|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

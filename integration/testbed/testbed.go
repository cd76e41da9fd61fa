// Package testbed starts and stops Spindle's Hadoop test bed, a Java process
// running Hadoop's own MiniDFSCluster, MiniYARNCluster and (in Kerberos mode)
// MiniKdc on loopback, and hands its client configuration to Go tests.
//
// Integration tests use it from TestMain through Main, which starts one test
// bed per test binary in the mode SPINDLE_TESTBED_MODE names (plain,
// kerberos or ha), and from each test through Get. The Java process is
// always torn down: by Stop on a normal exit, and by the process itself
// when the test binary dies (it watches its stdin, a pipe from this
// process, and exits when the pipe closes).
//
// A TestBed is safe for concurrent use by parallel tests.
package testbed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Mode is the kind of cluster a test bed runs.
type Mode string

// The three test bed modes.
const (
	ModePlain    Mode = "plain"    // simple authentication, one ResourceManager
	ModeKerberos Mode = "kerberos" // KDC, secured HDFS and YARN, SPNEGO on the web endpoints
	ModeHA       Mode = "ha"       // simple authentication, two ResourceManagers and two NameNodes (nameservice ns1) with failover
)

// Options configures Start. The zero value starts a plain test bed in a new
// temporary directory.
type Options struct {
	// Dir receives conf/, work/, ready.json and testbed.log. Empty means a
	// new temporary directory, removed by Stop.
	Dir string
	// Kerberos secures the cluster with a KDC (realm EXAMPLE.COM).
	Kerberos bool
	// HA runs two ResourceManagers and two NameNodes (nameservice ns1,
	// fs.defaultFS hdfs://ns1), each pair with manual failover.
	HA bool
	// RPCProtection is hadoop.rpc.protection in Kerberos mode. Empty means
	// "authentication,integrity,privacy": the servers offer every level and
	// each client picks its own.
	RPCProtection string
	// TokenRenewInterval and TokenMaxLifetime set the delegation token
	// renew interval and maximum lifetime of HDFS and YARN. Zero means
	// Hadoop's defaults (one day and seven days).
	TokenRenewInterval, TokenMaxLifetime time.Duration
	// AMRMTokenRollInterval is how often the ResourceManager rolls its
	// AMRMToken master key, in whole seconds. It also lowers the AM expiry
	// (yarn.am.liveness-monitor.expiry-interval-ms) to 2/7 of it, since
	// Hadoop wants the interval longer than three expiry intervals: an AM
	// that stays silent that long, or takes that long from launch to
	// registering, is killed. Zero means Hadoop's defaults (a day, and 15
	// minutes).
	AMRMTokenRollInterval time.Duration
	// StartTimeout bounds the start, including Maven resolving Hadoop on a
	// cold cache. Zero means 10 minutes.
	StartTimeout time.Duration
	// Profiles runs the bed that container profiles are proven on, with
	// NodeManagers (three when NodeManagers is zero) that the RM tells
	// apart by host, 127.0.0.2, 127.0.0.3, ..., each on a rack of its own
	// (/rack0, /rack1, ...); the countable resource type yarn.io/gpu, 2 on
	// every NodeManager, with the DominantResourceCalculator; the
	// exclusive node label "fast" on the last NodeManager; the
	// placement-constraint handler "scheduler"; and OPPORTUNISTIC
	// containers. Ready.Profiles describes it. Not with HA.
	Profiles bool
	// NodeManagers is how many NodeManagers run. Zero means 2, or 3 with
	// Profiles.
	NodeManagers int
	// MapReduce runs Hadoop MapReduce's shuffle service (the
	// mapreduce_shuffle auxiliary service) in every NodeManager, so that
	// Hadoop's own MapReduce jobs can run on the bed (the wordcount
	// benchmark's reference). Ready.MapReduce says it does.
	MapReduce bool
	// MemoryCheck makes the NodeManagers kill a container whose process
	// tree uses more physical memory than the container asked for (exit
	// status -104, yarn.nodemanager.pmem-check-enabled), checked every
	// second. Off on other beds. Ready.MemoryCheck says it is on.
	MemoryCheck bool
}

// Ready is the test bed's ready.json: where everything listens.
type Ready struct {
	ConfDir string `json:"conf_dir"`
	// NameNode is the first NameNode's RPC address as an hdfs:// URI, and
	// WebHDFS its HTTP address; in HA mode the first NameNode is active
	// until /nn/failover moves the role.
	NameNode string `json:"namenode"`
	WebHDFS  string `json:"webhdfs"`
	// DefaultFS is fs.defaultFS: hdfs://ns1 in HA mode, else NameNode.
	DefaultFS string `json:"default_fs"`
	// NameService is "ns1" in HA mode, "" otherwise.
	NameService string `json:"nameservice"`
	// NameNodes lists every NameNode: nn1, and in HA mode nn2.
	NameNodes            []NameNode        `json:"namenodes"`
	ResourceManagers     []ResourceManager `json:"resourcemanagers"`
	NodeManagers         int               `json:"nodemanagers"`
	NodeManagerAddresses []string          `json:"nodemanager_addresses"`
	Kerberos             *Kerberos         `json:"kerberos"`
	HA                   bool              `json:"ha"`
	HadoopVersion        string            `json:"hadoop_version"`
	JavaOpts             string            `json:"java_opts"`
	Control              string            `json:"control"`
	PID                  int               `json:"pid"`
	StartupSeconds       float64           `json:"startup_seconds"`
	// Profiles is set on a bed started with Options.Profiles.
	Profiles *Profiles `json:"profiles"`
	// MapReduce is set on a bed started with Options.MapReduce.
	MapReduce bool `json:"mapreduce"`
	// MemoryCheck is set on a bed started with Options.MemoryCheck.
	MemoryCheck bool `json:"memory_check"`
}

// Profiles describes the profiles bed (Options.Profiles).
type Profiles struct {
	// Nodes are the NodeManagers in order: NodeManagerAddresses[i] is on
	// Nodes[i].Host.
	Nodes []ProfileNode `json:"nodes"`
	// ResourceType is the countable custom resource type, and
	// ResourcePerNode how much of it each NodeManager has.
	ResourceType    string `json:"resource_type"`
	ResourcePerNode int64  `json:"resource_per_node"`
	// Label is the exclusive node label one node carries.
	Label string `json:"label"`
	// PlacementConstraints is the RM's placement-constraint handler.
	PlacementConstraints string `json:"placement_constraints"`
	// Opportunistic says the RM allocates OPPORTUNISTIC containers.
	Opportunistic bool `json:"opportunistic"`
}

// ProfileNode is one NodeManager of the profiles bed.
type ProfileNode struct {
	Host  string `json:"host"`  // its NodeId host, an address of 127.0.0.0/8
	Rack  string `json:"rack"`  // its rack in the RM's topology
	Label string `json:"label"` // its node label, "" for none
}

// NameNode is one NameNode's addresses.
type NameNode struct {
	ID   string `json:"id"`   // nn1, nn2: its id in dfs.ha.namenodes.ns1
	RPC  string `json:"rpc"`  // host:port
	HTTP string `json:"http"` // http://host:port (web UI, WebHDFS, JMX)
}

// ResourceManager is one RM's addresses.
type ResourceManager struct {
	ID        string `json:"id"`
	RPC       string `json:"rpc"`
	Scheduler string `json:"scheduler"`
	Admin     string `json:"admin"`
	Web       string `json:"web"`
}

// Kerberos describes the test bed's KDC and the users it made.
type Kerberos struct {
	Realm            string            `json:"realm"`
	KDC              string            `json:"kdc"`
	KRB5Conf         string            `json:"krb5_conf"`
	ServicePrincipal string            `json:"service_principal"`
	HTTPPrincipal    string            `json:"http_principal"`
	RPCProtection    string            `json:"rpc_protection"`
	Users            map[string]string `json:"users"` // user name -> keytab path
}

// TestBed is a running test bed.
type TestBed struct {
	Dir   string
	Ready Ready

	mode    Mode
	owned   bool // started by us: Stop tears it down
	tempDir bool
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	waitErr error
	stop    sync.Once
}

// Mode reports the mode the test bed runs in.
func (tb *TestBed) Mode() Mode { return tb.mode }

// LogPath is the file holding the Java process's output.
func (tb *TestBed) LogPath() string { return filepath.Join(tb.Dir, "testbed.log") }

// Dir returns the directory holding this package's source, which is also
// the Maven project of the Java test bed.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Start runs a test bed and returns once HDFS is up, the ResourceManager
// reports ACTIVE and every NodeManager RUNNING.
func Start(ctx context.Context, opts Options) (*TestBed, error) {
	if opts.Profiles && opts.HA {
		return nil, errors.New("testbed: Profiles runs one ResourceManager; it cannot be combined with HA")
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	tb := &TestBed{Dir: opts.Dir, owned: true, exited: make(chan struct{}), mode: ModePlain}
	switch {
	case opts.Kerberos:
		tb.mode = ModeKerberos
	case opts.HA:
		tb.mode = ModeHA
	}
	if tb.Dir == "" {
		d, err := os.MkdirTemp("", "spindle-testbed-")
		if err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
		tb.Dir, tb.tempDir = d, true
	}
	if err := os.MkdirAll(tb.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	_ = os.Remove(filepath.Join(tb.Dir, "ready.json"))

	args := []string{tb.Dir, "--exit-on-stdin-eof"}
	if opts.Kerberos {
		args = append(args, "--kerberos")
	}
	if opts.HA {
		args = append(args, "--ha")
	}
	if opts.RPCProtection != "" {
		args = append(args, "--rpc-protection", opts.RPCProtection)
	}
	if opts.TokenRenewInterval > 0 {
		args = append(args, "--token-renew-interval-ms", fmt.Sprint(opts.TokenRenewInterval.Milliseconds()))
	}
	if opts.TokenMaxLifetime > 0 {
		args = append(args, "--token-max-lifetime-ms", fmt.Sprint(opts.TokenMaxLifetime.Milliseconds()))
	}
	if opts.Profiles {
		args = append(args, "--profiles")
		if opts.NodeManagers == 0 {
			opts.NodeManagers = 3
		}
	}
	if opts.NodeManagers > 0 {
		args = append(args, "--nodemanagers", fmt.Sprint(opts.NodeManagers))
	}
	if opts.MapReduce {
		args = append(args, "--mapreduce")
	}
	if opts.MemoryCheck {
		args = append(args, "--memory-check")
	}
	if opts.AMRMTokenRollInterval > 0 {
		args = append(args, "--amrm-token-rolling-interval-secs", fmt.Sprint(int64(opts.AMRMTokenRollInterval.Seconds())))
	}
	logFile, err := os.Create(tb.LogPath())
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	tb.cmd = exec.Command(filepath.Join(sourceDir(), "run.sh"), args...)
	tb.cmd.Stdout = logFile
	tb.cmd.Stderr = logFile
	// Its own process group, so Stop reaches everything it started.
	tb.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if tb.stdin, err = tb.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	if err := tb.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("testbed: starting %s: %w", tb.cmd.Path, err)
	}
	go func() {
		tb.waitErr = tb.cmd.Wait()
		logFile.Close()
		close(tb.exited)
	}()

	if err := tb.waitReady(ctx); err != nil {
		tail := tb.LogTail(60)
		tb.Stop()
		return nil, fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, tb.LogPath(), tail)
	}
	return tb, nil
}

// Attach uses a test bed that is already running in dir (started by
// `make testbed DIR=dir`); Stop leaves it running.
func Attach(ctx context.Context, dir string) (*TestBed, error) {
	tb := &TestBed{Dir: dir, exited: make(chan struct{})}
	if err := tb.readReady(); err != nil {
		return nil, err
	}
	switch {
	case tb.Ready.Kerberos != nil:
		tb.mode = ModeKerberos
	case tb.Ready.HA:
		tb.mode = ModeHA
	default:
		tb.mode = ModePlain
	}
	if err := tb.WaitHealthy(ctx); err != nil {
		return nil, err
	}
	return tb, nil
}

func (tb *TestBed) readReady() error {
	b, err := os.ReadFile(filepath.Join(tb.Dir, "ready.json"))
	if err != nil {
		return fmt.Errorf("testbed: no ready.json in %s (is a test bed running there?): %w", tb.Dir, err)
	}
	var r Ready
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("testbed: %s/ready.json: %w", tb.Dir, err)
	}
	tb.Ready = r
	return nil
}

func (tb *TestBed) waitReady(ctx context.Context) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := tb.readReady(); err == nil {
			break
		}
		select {
		case <-tb.exited:
			return fmt.Errorf("testbed: the Java process exited before it was ready (%v)", tb.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("testbed: not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return tb.WaitHealthy(ctx)
}

// WaitHealthy waits until an RM reports ACTIVE and every NodeManager
// RUNNING, as seen through the RM's REST API.
func (tb *TestBed) WaitHealthy(ctx context.Context) error {
	hc, err := tb.HTTPClient("")
	if err != nil {
		return err
	}
	var last error
	for {
		last = tb.checkHealthy(ctx, hc)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: cluster not healthy: %v (%w)", last, ctx.Err())
		case <-tb.exited:
			return fmt.Errorf("testbed: the Java process exited (%v)", tb.waitErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (tb *TestBed) checkHealthy(ctx context.Context, hc *HTTPClient) error {
	rm, err := tb.ActiveRM(ctx)
	if err != nil {
		return err
	}
	var nodes struct {
		Nodes *struct {
			Node []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"node"`
		} `json:"nodes"`
	}
	if err := hc.GetJSON(ctx, rm.Web+"/ws/v1/cluster/nodes", &nodes); err != nil {
		return err
	}
	running := 0
	if nodes.Nodes != nil {
		for _, n := range nodes.Nodes.Node {
			if n.State == "RUNNING" {
				running++
			}
		}
	}
	if running < tb.Ready.NodeManagers {
		return fmt.Errorf("%d of %d NodeManagers RUNNING", running, tb.Ready.NodeManagers)
	}
	return nil
}

// ClusterInfo is the part of /ws/v1/cluster/info the tests read.
type ClusterInfo struct {
	State         string `json:"state"`
	HAState       string `json:"haState"`
	HadoopVersion string `json:"hadoopVersion"`
}

// RMInfo reads one RM's /ws/v1/cluster/info, which a standby answers
// itself rather than redirecting.
func (tb *TestBed) RMInfo(ctx context.Context, rm ResourceManager) (ClusterInfo, error) {
	hc, err := tb.HTTPClient("")
	if err != nil {
		return ClusterInfo{}, err
	}
	var info struct {
		ClusterInfo ClusterInfo `json:"clusterInfo"`
	}
	err = hc.GetJSON(ctx, rm.Web+"/ws/v1/cluster/info", &info)
	return info.ClusterInfo, err
}

// ActiveRM returns the ResourceManager that reports haState ACTIVE.
func (tb *TestBed) ActiveRM(ctx context.Context) (ResourceManager, error) {
	var states []string
	for _, rm := range tb.Ready.ResourceManagers {
		info, err := tb.RMInfo(ctx, rm)
		if err != nil {
			states = append(states, fmt.Sprintf("%s: %v", rm.ID, err))
			continue
		}
		if info.HAState == "ACTIVE" && info.State == "STARTED" {
			return rm, nil
		}
		states = append(states, fmt.Sprintf("%s: %s/%s", rm.ID, info.State, info.HAState))
	}
	return ResourceManager{}, fmt.Errorf("testbed: no active ResourceManager (%s)", strings.Join(states, "; "))
}

// NameNodeState reports whether a NameNode is "active" or "standby", by
// its /isActive servlet (200 when active). Not by JMX: the NameNodes of
// the test bed share one JVM and so one NameNodeStatus bean.
func (tb *TestBed) NameNodeState(ctx context.Context, nn NameNode) (string, error) {
	hc, err := tb.HTTPClient("")
	if err != nil {
		return "", err
	}
	code, body, err := hc.Get(ctx, nn.HTTP+"/isActive")
	switch {
	case err != nil:
		return "", fmt.Errorf("testbed: %s: %w", nn.ID, err)
	case code == http.StatusOK:
		return "active", nil
	case code == http.StatusMethodNotAllowed:
		return "standby", nil
	}
	return "", fmt.Errorf("testbed: %s/isActive: HTTP %d: %.200s", nn.HTTP, code, body)
}

// ActiveNameNode returns the NameNode that reports itself active.
func (tb *TestBed) ActiveNameNode(ctx context.Context) (NameNode, error) {
	var states []string
	for _, nn := range tb.Ready.NameNodes {
		st, err := tb.NameNodeState(ctx, nn)
		if err != nil {
			states = append(states, fmt.Sprintf("%s: %v", nn.ID, err))
			continue
		}
		if st == "active" {
			return nn, nil
		}
		states = append(states, nn.ID+": "+st)
	}
	return NameNode{}, fmt.Errorf("testbed: no active NameNode (%s)", strings.Join(states, "; "))
}

// Control performs a fault through the test bed's control endpoint, e.g.
// "/nm/1/stop", "/nm/1/start", "/rm/0/stop", "/rm/0/start", "/rm/failover",
// "/nn/failover".
// It returns once the test bed has done it.
func (tb *TestBed) Control(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tb.Ready.Control+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("testbed: control %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	msg := strings.TrimSpace(string(b))
	if resp.StatusCode != http.StatusOK {
		return msg, fmt.Errorf("testbed: control %s: %s: %s", path, resp.Status, msg)
	}
	return msg, nil
}

// LogTail returns the last n lines of the Java process's output.
func (tb *TestBed) LogTail(n int) string {
	f, err := os.Open(tb.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop tears down a test bed this process started: SIGTERM to its process
// group (the JVM's shutdown hook kills the containers and stops the
// clusters, and halts the JVM if that takes over 8 s), SIGKILL after
// StopTimeout, and then any process still running from the test bed's
// directory. It returns within about StopTimeout. A test bed from Attach
// is left running.
func (tb *TestBed) Stop() {
	if !tb.owned {
		return
	}
	tb.stop.Do(func() {
		pgid := tb.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-tb.exited:
		case <-time.After(StopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-tb.exited
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if tb.stdin != nil {
			tb.stdin.Close()
		}
		killStragglers(tb.Dir)
		if tb.tempDir {
			_ = os.RemoveAll(tb.Dir)
		}
	})
}

// StopTimeout is how long Stop waits for the Java process to exit after
// SIGTERM before it kills it; the JVM itself halts 8 s into its shutdown.
const StopTimeout = 10 * time.Second

// killStragglers kills processes whose command line names dir, and the
// process groups they lead or belong to: containers run in sessions of
// their own (YARN starts them with setsid), so a killed JVM's process group
// does not include them, and a container's command (sleep 300) names no
// directory, only the shell that runs it (bash -c 'sleep' '300'
// 1>dir/.../stdout) does.
func killStragglers(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil || len(abs) < 5 {
		return
	}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	ownGroup := syscall.Getpgrp()
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(abs+"/")) {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 && pgid != ownGroup {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Exited is closed when the Java process has exited.
func (tb *TestBed) Exited() <-chan struct{} { return tb.exited }

var errNoKerberos = errors.New("testbed: not a Kerberos test bed")

//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

var (
	rtProbeOnce sync.Once
	rtProbePath string
	rtProbeErr  error
)

// runtimeProbe builds integration/cmd/runtimeprobe once per test binary.
func runtimeProbe(t testing.TB) string {
	t.Helper()
	rtProbeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-runtimeprobe-")
		if err != nil {
			rtProbeErr = err
			return
		}
		rtProbePath = filepath.Join(dir, "runtimeprobe")
		out, err := exec.Command("go", "build", "-o", rtProbePath, "github.com/spindle-yarn/spindle/integration/cmd/runtimeprobe").CombinedOutput()
		if err != nil {
			rtProbeErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if rtProbeErr != nil {
		t.Fatalf("building runtimeprobe: %v", rtProbeErr)
	}
	return rtProbePath
}

// rtRun is a runtimeprobe client running in the background.
type rtRun struct {
	cmd      *exec.Cmd
	out      lockedBuffer
	appID    chan string
	tracking chan string
	done     chan struct{}
	code     int
}

// startRuntimeProbe starts the runtimeprobe client as alice.
func startRuntimeProbe(t *testing.T, tb *testbed.TestBed, args ...string) *rtRun {
	t.Helper()
	args = append([]string{"run"}, args...)
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p := &rtRun{appID: make(chan string, 1), tracking: make(chan string, 1), done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, runtimeProbe(t), args...)
	p.cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	if k := tb.Ready.Kerberos; k != nil {
		p.cmd.Env = append(p.cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		idRE := regexp.MustCompile(`^submitted (application_\d+_\d+)$`)
		urlRE := regexp.MustCompile(`tracking URL (http://\S+)`)
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if m := idRE.FindStringSubmatch(line); m != nil {
				p.appID <- m[1]
			}
			if m := urlRE.FindStringSubmatch(line); m != nil {
				select {
				case p.tracking <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		p.cmd.Wait()
		pw.Close()
		p.code = p.cmd.ProcessState.ExitCode()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the client to exit and returns its output.
func (p *rtRun) wait(t *testing.T) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("runtimeprobe did not end:\n%s", p.out.String())
	}
	time.Sleep(100 * time.Millisecond) // the scanner's last lines
	out := p.out.String()
	t.Logf("runtimeprobe: exit %d\n%s", p.code, out)
	return out
}

func recv(t *testing.T, p *rtRun, ch chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	default:
	}
	select {
	case v := <-ch:
		return v
	case <-p.done:
		time.Sleep(100 * time.Millisecond) // the scanner's last lines
		select {
		case v := <-ch:
			return v
		default:
		}
		t.Fatalf("runtimeprobe ended before printing its %s:\n%s", what, p.out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("runtimeprobe printed no %s:\n%s", what, p.out.String())
	}
	return ""
}

type rtStatus struct {
	Jobs []struct {
		State    string `json:"state"`
		Attempt  int    `json:"attempt"`
		Subtasks struct {
			Running, Finished, Total int
		} `json:"subtasks"`
	} `json:"jobs"`
}

// waitAllRunning polls the JobManager's status until every subtask of
// its job runs, and returns the job's attempt.
func waitAllRunning(t *testing.T, url string) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(strings.TrimSuffix(url, "/") + "/api/status")
		if err == nil {
			var st rtStatus
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && len(st.Jobs) == 1 && st.Jobs[0].Subtasks.Total > 0 && st.Jobs[0].Subtasks.Running == st.Jobs[0].Subtasks.Total {
				return st.Jobs[0].Attempt
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the job's subtasks were not all running within 2 minutes")
	return 0
}

// containerProcesses finds the program processes of the application's
// containers that run in role (the SPINDLE_ROLE of their environment).
func containerProcesses(t *testing.T, appID, role string) []int {
	t.Helper()
	prefix := "CONTAINER_ID=container_" + strings.TrimPrefix(appID, "application_") + "_"
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		var hasApp, hasRole bool
		for _, kv := range strings.Split(string(env), "\x00") {
			hasApp = hasApp || strings.HasPrefix(kv, prefix)
			hasRole = hasRole || kv == "SPINDLE_ROLE="+role
		}
		// The program itself, not the NodeManager's shell wrappers that
		// share its environment.
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if hasApp && hasRole && strings.HasPrefix(string(cmdline), "./program\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestRuntimeTaskManagerKilled: a TaskManager's process killed mid-job
// (SIGKILL, as a crash) makes the JobManager restart the job on a
// replacement container, and the job finishes with the right result.
// While the job runs, the JobManager's control endpoint refuses clients
// without the deployment secret, and its tracking page answers through the
// ResourceManager's web proxy.
func TestRuntimeTaskManagerKilled(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("a killed TaskManager is handled the same on every bed; proven once, on the plain bed")
	}
	const records = 200000
	p := startRuntimeProbe(t, tb, "-t", "yarn-application", "-records", strconv.Itoa(records), "-delay-ms", "100", "-parallelism", "4")
	appID := recv(t, p, p.appID, "application id")
	url := recv(t, p, p.tracking, "tracking URL")
	if a := waitAllRunning(t, url); a != 0 {
		t.Fatalf("attempt %d running before any fault", a)
	}

	checkControlRefusesStrangers(t, tb, appID)
	checkTrackingThroughProxy(t, tb, appID)

	tms := containerProcesses(t, appID, "taskmanager")
	if len(tms) == 0 {
		t.Fatal("found no TaskManager process of the application")
	}
	t.Logf("killing TaskManager process %d (of %v)", tms[0], tms)
	if err := syscall.Kill(tms[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d, want 0", p.code)
	}
	for _, want := range []string{"(2 attempt(s))", fmt.Sprintf("probe.records = %d", records),
		fmt.Sprintf("probe.sum = %d", int64(records)*(records-1)/2)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// checkControlRefusesStrangers: the JobManager's control endpoint (the
// host and RPC port it registered) serves neither a TLS client without a
// certificate (and without a ClientToAMToken) nor one with a certificate
// not derived from the secret.
func checkControlRefusesStrangers(t *testing.T, tb *testbed.TestBed, appID string) {
	t.Helper()
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RPCPort <= 0 {
		t.Fatalf("the JobManager registered no control port (report: host %q port %d)", rep.Host, rep.RPCPort)
	}
	addr := net.JoinHostPort(rep.Host, strconv.Itoa(int(rep.RPCPort)))
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":           nil,
		"a stranger's certificate": {{Certificate: [][]byte{der}, PrivateKey: priv}},
	} {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, Certificates: certs, MinVersion: tls.VersionTLS13}}}
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/v1/jobs", ""},
			{"POST", "/v1/jobs/job-1/cancel", ""},
			{"POST", "/v1/taskmanagers", `{"id":"container_x","data_addr":"127.0.0.1:1","slots":1}`},
		} {
			r, _ := http.NewRequest(req.method, "https://"+addr+req.path, strings.NewReader(req.body))
			// Refused in the TLS handshake, or (a client without a
			// certificate may still prove a ClientToAMToken) answered
			// 401/403: never served.
			resp, err := hc.Do(r)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s with %s: answered %s, want the TLS handshake refused or 401/403", req.method, req.path, name, resp.Status)
				}
			}
		}
	}
	// Plain HTTP gets no answer either.
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/v1/jobs"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP GET /v1/jobs answered %s", resp.Status)
		}
		resp.Body.Close()
	}
}

// checkTrackingThroughProxy: the tracking page, through the RM's web proxy,
// shows the running job.
func checkTrackingThroughProxy(t *testing.T, tb *testbed.TestBed, appID string) {
	t.Helper()
	rm, err := tb.ActiveRM(testContext(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/status", "/"} {
		resp, err := http.Get(strings.TrimSuffix(rm.Web, "/") + "/proxy/" + appID + p)
		if err != nil {
			t.Fatalf("GET through the RM proxy: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "runtimeprobe") || !strings.Contains(string(b), "running") {
			t.Errorf("GET %s through the RM proxy: %s\n%.500s", p, resp.Status, b)
		}
	}
}

// TestRuntimeSecretNowhere: the deployment secret reaches the JobManager
// and the TaskManagers only in their credentials files: it is in no
// container's launch script (environment and command line), log or other
// file of the application, nor in the client's output or the
// application's diagnostics; the TaskManagers' credentials hold no
// AMRMToken.
func TestRuntimeSecretNowhere(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("the secret travels the same way on every bed; proven on the plain and Kerberos beds")
	}
	p := startRuntimeProbe(t, tb, "-t", "yarn-per-job", "-records", "300000", "-delay-ms", "20", "-parallelism", "2")
	appID := recv(t, p, p.appID, "application id")
	waitAllRunning(t, recv(t, p, p.tracking, "tracking URL"))
	// Read while the job runs: the NodeManagers delete the containers'
	// directories, credentials files among them, once the application
	// ends; the logs stay and are read again after.
	running := snapshotAppFiles(t, tb, appID)
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d, want 0", p.code)
	}
	ended := snapshotAppFiles(t, tb, appID)
	var secret []byte
	tmTokens := 0
	for path, creds := range running.creds {
		s, ok := creds.Secret("spindle.deployment.secret")
		if !ok {
			t.Errorf("%s holds no deployment secret", path)
			continue
		}
		secret = s
		if !strings.HasSuffix(path, "_000001.tokens") && !strings.Contains(path, "_000001/container_tokens") {
			tmTokens++
			if len(creds.TokensByKind(yarn.KindAMRMToken)) > 0 {
				t.Errorf("a TaskManager's credentials %s hold the AMRMToken", path)
			}
		}
	}
	if secret == nil || tmTokens == 0 {
		t.Fatalf("found the secret in %d TaskManager credentials files (want the AM's and at least one TaskManager's)", tmTokens)
	}
	files := running.contents
	for path, b := range ended.contents {
		files[path+" (after the end)"] = b
	}
	sc := newSecretScanner(t, "the deployment secret", secret)
	scanned := sc.contents(files)
	if scanned < 4 {
		t.Errorf("scanned only %d files of the application (launch scripts, logs)", scanned)
	}
	sc.scan("the client's output", out)
	sc.diagnostics(tb, appID)
	t.Logf("scanned %d files of %s for the secret; %d TaskManager credentials files hold it", scanned, appID, tmTokens)
}

// TestRuntimeStalledConsumerMemory: while the consumers of a hash edge
// stall for 10 s, producers that could emit 5,000,000 records (about 55 MB
// of keys and values, far beyond the exchange's buffers) block on full
// buffers, and no TaskManager's peak resident memory exceeds 64 MiB; then
// the job finishes with every record.
func TestRuntimeStalledConsumerMemory(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the exchange's buffering is the same on every bed; measured once, on the plain bed")
	}
	const records = 5_000_000
	p := startRuntimeProbe(t, tb, "-t", "yarn-application", "-records", strconv.Itoa(records), "-stall-ms", "10000", "-parallelism", "4")
	appID := recv(t, p, p.appID, "application id")
	url := recv(t, p, p.tracking, "tracking URL")
	waitAllRunning(t, url)
	time.Sleep(8 * time.Second) // producers run into full buffers
	var worst int64
	for _, pid := range containerProcesses(t, appID, "taskmanager") {
		if kib := vmHWM(pid); kib > worst {
			worst = kib
		}
	}
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d, want 0", p.code)
	}
	if !strings.Contains(out, fmt.Sprintf("probe.records = %d", records)) {
		t.Errorf("output lacks probe.records = %d", records)
	}
	if worst == 0 {
		t.Fatal("read no TaskManager's VmHWM")
	}
	t.Logf("TaskManager peak RSS while the consumers stalled: %.1f MiB", float64(worst)/1024)
	if worst > 64<<10 {
		t.Errorf("a TaskManager peaked at %.1f MiB while its consumers stalled, above the 64 MiB bound", float64(worst)/1024)
	}
}

// vmHWM is a process's peak resident set in KiB, or 0.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}

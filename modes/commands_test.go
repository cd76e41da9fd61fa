package modes

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/record"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

const testApp = "application_1764480000000_0042"

func TestParseCommand(t *testing.T) {
	id, err := yarn.ParseApplicationID(testApp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want *command
	}{
		{[]string{"list"}, &command{name: "list", timeout: 2 * time.Minute}},
		{[]string{"list", "-all", "-v"}, &command{name: "list", all: true, verbose: true, timeout: 2 * time.Minute}},
		{[]string{"attach", "-id", testApp}, &command{name: "attach", id: id}},
		{[]string{"cancel", "-id", " " + testApp, "-job", "j1", "-timeout", "30s"}, &command{name: "cancel", id: id, job: "j1", timeout: 30 * time.Second}},
		{[]string{"cancel", "-session", " s1 ", "-job", "job-2"}, &command{name: "cancel", session: "s1", job: "job-2", timeout: 2 * time.Minute}},
		// A session named by its application id: resolved (and checked to
		// be a session) when the command runs.
		{[]string{"cancel", "-session", testApp}, &command{name: "cancel", session: testApp, timeout: 2 * time.Minute}},
		{[]string{"jobs", "-id", testApp}, &command{name: "jobs", id: id, timeout: 2 * time.Minute}},
		{[]string{"jobs", "-session", "nightly", "-v", "-timeout", "0s"}, &command{name: "jobs", session: "nightly", verbose: true}},
		{[]string{"jobs", "-session", testApp, "-keytab", "/k", "-principal", "alice@R"},
			&command{name: "jobs", session: testApp, keytab: "/k", principal: "alice@R", timeout: 2 * time.Minute}},
		{[]string{"stop", "-id", testApp}, &command{name: "stop", id: id, status: yarn.FinalKilled, grace: 15 * time.Second, timeout: 2 * time.Minute}},
		{[]string{"stop", "-id", testApp, "-status", "killed", "-grace", "0s"}, &command{name: "stop", id: id, status: yarn.FinalKilled, timeout: 2 * time.Minute}},
		{[]string{"logs", "-id", testApp, "-keytab", "/k", "-principal", "alice@R", "-proxy-user", "bob"},
			&command{name: "logs", id: id, keytab: "/k", principal: "alice@R", proxyUser: "bob", timeout: 2 * time.Minute}},
	} {
		got, err := parseCommand("wc", tc.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(command{})); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.args, d)
		}
	}
}

// Every usage error names the flag and the fix.
func TestParseCommandUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"cancel"}, []string{"-id or -session is required", "wc cancel -id application_", "wc list", "wc cancel -session NAME", "wc session list"}},
		{[]string{"jobs"}, []string{"-id or -session is required", "wc jobs -id application_", "wc jobs -session NAME"}},
		{[]string{"jobs", "-session", "  "}, []string{"-id or -session is required"}},
		{[]string{"jobs", "-id", testApp, "-session", "s1"}, []string{"-id and -session both name the application", "give one of them"}},
		{[]string{"cancel", "-session", "s1", "-id", testApp, "-job", "j"}, []string{"-id and -session both", "give one of them"}},
		{[]string{"jobs", "-id", "s1"}, []string{`-id "s1" is not an application id`}},
		{[]string{"jobs", "-session", "s1", "-job", "j"}, []string{"-job", "wc jobs -h"}},
		{[]string{"jobs", "-session", "s1", "extra"}, []string{`unexpected argument "extra"`}},
		// -session is for jobs and cancel only.
		{[]string{"stop", "-session", "s1"}, []string{"-session", "wc stop -h"}},
		{[]string{"attach", "-session", "s1"}, []string{"-session", "wc attach -h"}},
		{[]string{"stop"}, []string{"-id is required", "wc stop -id application_"}},
		{[]string{"attach", "-id", "app_1"}, []string{`-id "app_1"`, "application_<cluster timestamp>_<number>"}},
		{[]string{"stop", "-id", testApp, "-status", "DONE"}, []string{`-status "DONE" is not a final status`, "KILLED, FAILED or SUCCEEDED"}},
		{[]string{"stop", "-id", testApp, "-status", "done"}, []string{`-status "done" is not a final status`, "-status KILLED"}},
		{[]string{"logs", "-id", testApp, "extra"}, []string{`unexpected argument "extra"`, "every option is a flag"}},
		{[]string{"list", "-keytab", "/k"}, []string{"-keytab needs -principal", "give both"}},
		{[]string{"list", "-principal", "p"}, []string{"-principal needs -keytab"}},
		{[]string{"list", "-timeout", "-1s"}, []string{"-timeout must not be negative"}},
		{[]string{"stop", "-id", testApp, "-grace", "-1s"}, []string{"-grace must not be negative"}},
		// A flag of another command.
		{[]string{"list", "-job", "j"}, []string{"-job", "wc list -h"}},
		{[]string{"cancel", "-id", testApp, "-all"}, []string{"-all", "wc cancel -h"}},
	} {
		_, err := parseCommand("wc", tc.args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", tc.args, err)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%q: %q lacks %q", tc.args, err, s)
			}
		}
	}
	if _, err := parseCommand("wc", []string{"stop", "-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestRunClientDispatchesCommands(t *testing.T) {
	var stderr bytes.Buffer
	p := Program{Name: "wc", Stdout: io.Discard, Stderr: &stderr}
	if code := runClient(context.Background(), p, []string{"cancel", "-job", "j"}); code != 2 {
		t.Errorf("cancel without -id: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "wc cancel: -id or -session is required") {
		t.Errorf("stderr %q", stderr.String())
	}
	stderr.Reset()
	runClient(context.Background(), p, nil)
	for _, s := range []string{"wc run -t", "wc list [-all]", "wc attach -id APPID", "wc jobs -id APPID", "-session NAME|APPID", "wc cancel -id APPID [-job ID]",
		"wc stop -id APPID", "wc logs -id APPID", "wc session list|stop|start"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("usage lacks %q:\n%s", s, stderr.String())
		}
	}
}

// jobs is dispatched like the other commands: its usage errors exit 2.
func TestRunClientDispatchesJobs(t *testing.T) {
	var stderr bytes.Buffer
	p := Program{Name: "wc", Stdout: io.Discard, Stderr: &stderr}
	if code := runClient(context.Background(), p, []string{"jobs", "-id", testApp, "-session", "s"}); code != 2 {
		t.Errorf("jobs with -id and -session: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "wc jobs: -id and -session both name the application") {
		t.Errorf("stderr %q", stderr.String())
	}
	stderr.Reset()
	if code := runClient(context.Background(), p, []string{"jobs", "-h"}); code != 0 {
		t.Errorf("jobs -h: exit %d, want 0", code)
	}
	for _, s := range []string{"-session", "-id", "-keytab"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("jobs -h lacks %s:\n%s", s, stderr.String())
		}
	}
}

func TestRunningJob(t *testing.T) {
	id, _ := yarn.ParseApplicationID(testApp)
	jobs := []control.JobStatus{{ID: "a", State: "finished"}, {ID: "b", State: "restarting"}, {ID: "c", State: "canceled"}}
	if j, err := runningJob(id, "wc", jobs); j != "b" || err != nil {
		t.Errorf("runningJob = %q, %v; want b", j, err)
	}
	if _, err := runningJob(id, "wc", jobs[:1]); err == nil || !strings.Contains(err.Error(), "runs no job") {
		t.Errorf("no running job: %v", err)
	}
	jobs = append(jobs, control.JobStatus{ID: "d", State: "running"})
	_, err := runningJob(id, "wc", jobs)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "name one with -job") || !strings.Contains(err.Error(), "b, d") {
		t.Errorf("two running jobs: %v", err)
	}
}

func TestContainerIDsInLog(t *testing.T) {
	id, _ := yarn.ParseApplicationID("application_1764480000000_0003")
	log := `time=... msg="TaskManager registered" id=container_1764480000000_0003_01_000002 host=nm1
time=... msg="TaskManager registered" id=container_e07_1764480000000_0003_01_000003 host=nm2
other=container_1764480000000_0013_01_000002`
	var mine []string
	for _, c := range containerIDPattern.FindAllString(log, -1) {
		if strings.Contains(c, appSuffix(id)) {
			mine = append(mine, c)
		}
	}
	want := []string{"container_1764480000000_0003_01_000002", "container_e07_1764480000000_0003_01_000003"}
	if d := cmp.Diff(want, mine); d != "" {
		t.Errorf("containers of %s (-want +got):\n%s", id, d)
	}
}

// fakeJobManager serves the two client calls of the control protocol over
// the deployment's mutual TLS.
func fakeJobManager(t *testing.T, secret []byte) (host string, port int32, cancelled chan string) {
	t.Helper()
	serverTLS, _, err := secure.TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	cancelled = make(chan string, 4)
	var mu sync.Mutex
	state := "running"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeTestJSON(w, `[{"id":"j1","name":"slow","state":"`+state+`"}]`)
	})
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch id := r.PathValue("id"); {
		case id != "j1":
			http.Error(w, "no such job: "+id, http.StatusNotFound)
		case state != "running":
			http.Error(w, "the job has ended", http.StatusConflict)
		default:
			state = "canceled"
			cancelled <- id
			w.WriteHeader(http.StatusNoContent)
		}
	})
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h, p, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, int32(n), cancelled
}

func writeTestJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, s)
}

// The JobManager is reached with the record's secret; a record with
// another secret is refused in the handshake, and no record is explained.
func TestOpenJobManager(t *testing.T) {
	home := t.TempDir()
	t.Setenv(record.EnvHome, home)
	secret, err := secure.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	host, port, cancelled := fakeJobManager(t, secret)
	id, _ := yarn.ParseApplicationID(testApp)
	rep := yarn.ApplicationReport{ID: id, State: yarn.ApplicationRunning, Host: host, RPCPort: port}
	r := &commandRun{p: Program{Name: "wc", Stdout: io.Discard, Stderr: io.Discard}, c: &command{}}
	ctx := context.Background()

	if _, err := r.openJobManager(rep); !errors.Is(err, errNoRecord) || !strings.Contains(err.Error(), "wc stop -id "+testApp) {
		t.Fatalf("without a record: %v", err)
	}
	dir, _ := record.Dir()
	wrong, _ := secure.NewSecret()
	if err := record.Write(dir, &record.Record{AppID: testApp, Secret: wrong}); err != nil {
		t.Fatal(err)
	}
	jm, err := r.openJobManager(rep)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jm.Jobs(ctx)
	jm.Close()
	if err == nil {
		t.Fatal("a client with the wrong secret listed the jobs")
	}
	e := jm.explain(err, "listing the jobs")
	t.Logf("wrong secret: %v", e)
	if !strings.Contains(e.Error(), "do not share the deployment secret") {
		t.Errorf("wrong secret explained as %q", e)
	}

	if err := record.Write(dir, &record.Record{AppID: testApp, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	jm, err = r.openJobManager(rep)
	if err != nil {
		t.Fatal(err)
	}
	defer jm.Close()
	jobs, err := jm.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, err := runningJob(id, "wc", jobs)
	if err != nil || j != "j1" {
		t.Fatalf("running job %q, %v", j, err)
	}
	if err := jm.Cancel(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got := <-cancelled; got != "j1" {
		t.Errorf("cancelled %q", got)
	}
	var ce *control.Error
	if err := jm.Cancel(ctx, "j1"); !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		t.Errorf("second cancel: %v, want 409", err)
	}
	if err := jm.Cancel(ctx, "nope"); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Errorf("unknown job: %v, want 404", err)
	}
	// The JobManager answers, so watchCancel does not ask the RM.
	st, _, err := watchCancel(ctx, nil, jm, []string{"j1"})
	if err != nil || st["j1"] != "canceled" {
		t.Errorf("watchCancel = %v, %v", st, err)
	}
	// The record learned the control address.
	rec, err := record.Read(dir, testApp)
	if err != nil || rec.Control != net.JoinHostPort(host, strconv.Itoa(int(port))) {
		t.Errorf("record after connecting: %+v (control %q), %v", rec, rec.Control, err)
	}
	// A JobManager not registered yet.
	rep.Host, rep.State = "N/A", yarn.ApplicationAccepted
	if _, err := r.openJobManager(rep); err == nil || !strings.Contains(err.Error(), "has not registered yet") {
		t.Errorf("unregistered JobManager: %v", err)
	}
}

// A submission is recorded for its owner only, and forgotten once seen
// ended.
func TestSaveAndForgetRecord(t *testing.T) {
	home := t.TempDir()
	t.Setenv(record.EnvHome, home)
	id, _ := yarn.ParseApplicationID(testApp)
	secret, _ := secure.NewSecret()
	var stderr bytes.Buffer
	p := Program{Name: "wc", Stdout: io.Discard, Stderr: &stderr}
	saveRecord(p, &deploy.Deployment{ID: id, Secret: secret}, deploy.Request{Name: "wc", Mode: "application"})
	dir, _ := record.Dir()
	rec, err := record.Read(dir, testApp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Secret, secret) || rec.Name != "wc" || rec.Mode != "application" || rec.Submitted.IsZero() {
		t.Errorf("record %+v (name %q mode %q) does not hold the deployment", rec, rec.Name, rec.Mode)
	}
	if strings.Contains(stderr.String(), string(secret)) || stderr.Len() > 0 {
		t.Errorf("stderr %q", stderr.String())
	}
	forgetEnded(map[string]bool{"application_1764480000000_0001": true})
	if _, err := record.Read(dir, testApp); err != nil {
		t.Errorf("a running application's record was forgotten: %v", err)
	}
	forgetEnded(map[string]bool{testApp: true})
	if _, err := record.Read(dir, testApp); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("the ended application's record: %v", err)
	}
	// Unwritable home: a warning naming the consequence, no failure.
	t.Setenv(record.EnvHome, "/proc/nonexistent")
	saveRecord(p, &deploy.Deployment{ID: id, Secret: secret}, deploy.Request{})
	if !strings.Contains(stderr.String(), "warning") || !strings.Contains(stderr.String(), "wc cancel -id "+testApp+"` will not work") {
		t.Errorf("unwritable record: stderr %q", stderr.String())
	}
}

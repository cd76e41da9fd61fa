//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/yarn"
)

// runWordcountHome runs `wordcount args... login...` with home as
// SPINDLE_HOME: an empty one is a client on another machine, without the
// session's local record and so without its secret.
func runWordcountHome(t *testing.T, tb *testbed.TestBed, home string, login []string, args ...string) wordcountRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append(append([]string(nil), args...), login...)
	cmd := exec.CommandContext(ctx, wordcountBinary(t), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+home)
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	var all, stdout lockedBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&all, &stdout), &all
	err := cmd.Run()
	r := wordcountRun{out: all.String(), stdout: stdout.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil && r.code < 0 {
		t.Fatalf("wordcount did not finish: %v\n%s", err, r.out)
	}
	t.Logf("wordcount %s (SPINDLE_HOME %s): exit %d\n%s", strings.Join(args, " "), home, r.code, r.out)
	return r
}

// startTestSession starts a detached session as alice (the test binary's
// SPINDLE_HOME keeps its record) and stops it with the test.
func startTestSession(t *testing.T, tb *testbed.TestBed, prefix string) (name string, id yarn.ApplicationID) {
	t.Helper()
	name = fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000_000)
	start := runWordcountCommand(t, tb, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "2")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if m == nil {
		t.Fatal("session start printed no application id on a line of its own")
	}
	t.Cleanup(func() { runWordcountCommand(t, tb, "session", "stop", "-id", m[1]) })
	id, err := yarn.ParseApplicationID(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return name, id
}

// runningReport waits for the application to be RUNNING with its
// JobManager registered, as user sees it.
func runningReport(t *testing.T, tb *testbed.TestBed, user string, id yarn.ApplicationID) yarn.ApplicationReport {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	rm := rmClient(t, tb, user, "")
	for {
		r, err := rm.ApplicationReport(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State == yarn.ApplicationRunning && r.RPCPort > 0 {
			return r
		}
		if r.State.IsFinal() {
			t.Fatalf("%s ended: %s %s", id, r.State, r.Diagnostics)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not running with a registered JobManager in time (%s)", id, r.State)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestSessionClientToAMToken (Kerberos bed): alice starts a session; a
// client of alice's without the session's local record submits a
// wordcount job to it with the ClientToAMToken the ResourceManager gives
// her, and lists the session's jobs; bob, whom the bed's yarn.admin.acl=*
// grants VIEW access, gets a token of his own from the RM: with it he may
// list the jobs but his submission is refused, naming the owner; a TLS
// client with neither the deployment's certificate nor a token is
// refused; alice without the record stops the session through its
// JobManager.
func TestSessionClientToAMToken(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	aliceLogin := []string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
	bobLogin := []string{"-keytab", k.Users["bob"], "-principal", "bob@" + k.Realm}
	in, want := wordcountCorpus(t, tb)
	name, id := startTestSession(t, tb, "t")

	// What the RM hands each user: a token naming that user, for the
	// running attempt.
	for _, user := range []string{"alice", "bob"} {
		r := runningReport(t, tb, user, id)
		if r.ClientToAMToken == nil {
			t.Fatalf("the RM gave %s no ClientToAMToken for %s", user, id)
		}
		client, attempt := clientToAMIdentifier(t, r.ClientToAMToken.Identifier)
		if client != user+"@"+k.Realm || attempt != r.CurrentAttempt || r.ClientToAMToken.Kind != "YARN_CLIENT_TOKEN" {
			t.Errorf("%s's token: kind %s, client %q, attempt %s; want YARN_CLIENT_TOKEN, %s@%s, %s", user, r.ClientToAMToken.Kind, client, attempt, user, k.Realm, r.CurrentAttempt)
		}
	}

	// alice, elsewhere: no record, the token gets her job in.
	out := outputDir(t)
	r := runWordcountHome(t, tb, t.TempDir(), aliceLogin, "run", "-t", "yarn-session", "-session", name, "-input", in, "-output", out, "-parallelism", "2")
	if r.code != 0 {
		t.Fatalf("alice without the record: exit %d", r.code)
	}
	if !strings.Contains(r.out, "to session "+name+" ("+id.String()+")") {
		t.Error("alice's job was not submitted to the session")
	}
	checkWordcountOutput(t, tb, out, want)
	list := runWordcountHome(t, tb, t.TempDir(), aliceLogin, "session", "list")
	if !regexp.MustCompile(name + `\s+` + id.String() + `\s+RUNNING\s+0 running, 1 in all`).MatchString(list.stdout) {
		t.Errorf("alice's session list without the record does not show the session's job:\n%s", list.stdout)
	}

	// bob may look but not submit.
	list = runWordcountHome(t, tb, t.TempDir(), bobLogin, "session", "list")
	if !regexp.MustCompile(name + `\s+` + id.String() + `\s+RUNNING\s+0 running, 1 in all`).MatchString(list.stdout) {
		t.Errorf("bob's session list (VIEW access) does not show the session's job:\n%s", list.stdout)
	}
	bobOut := fmt.Sprintf("/user/bob/clienttoam-out-%d", time.Now().UnixNano())
	r = runWordcountHome(t, tb, t.TempDir(), bobLogin, "run", "-t", "yarn-session", "-session", id.String(), "-input", in, "-output", bobOut)
	if r.code == 0 {
		t.Fatal("bob submitted a job to alice's session")
	}
	if !strings.Contains(r.out, "403") || !strings.Contains(r.out, "user bob may view application "+id.String()+" but not change it") || !strings.Contains(r.out, "owner alice") {
		t.Errorf("bob's refusal does not say he may not change alice's session")
	}
	checkNoOutput(t, tb, bobOut)

	// Neither certificate nor token: refused, whatever the path.
	rep := runningReport(t, tb, "alice", id)
	addr := net.JoinHostPort(rep.Host, strconv.Itoa(int(rep.RPCPort)))
	for _, c := range []struct{ method, path string }{{"GET", "/v1/jobs"}, {"POST", "/v1/jobs"}, {"POST", "/v1/stop"}, {"POST", "/v1/taskmanagers"}} {
		code, body := bareRequest(t, addr, c.method, c.path)
		if code != http.StatusUnauthorized || !strings.Contains(body, "neither the deployment's certificate nor a ClientToAMToken") {
			t.Errorf("bare TLS client %s %s: %d %q; want 401", c.method, c.path, code, body)
		}
	}
	// The session is still serving, and ran alice's one job.
	list = runWordcountCommand(t, tb, "session", "list")
	if !regexp.MustCompile(name + `\s+` + id.String() + `\s+RUNNING\s+0 running, 1 in all`).MatchString(list.stdout) {
		t.Errorf("after the refusals the session does not show RUNNING with 1 job:\n%s", list.stdout)
	}

	// alice, elsewhere, stops it through its JobManager: it ends
	// FINISHED/SUCCEEDED and removes its staging directory (a kill would
	// leave it).
	stop := runWordcountHome(t, tb, t.TempDir(), aliceLogin, "session", "stop", "-id", id.String())
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") || strings.Contains(stop.out, "killing") {
		t.Fatalf("alice's session stop without the record: exit %d", stop.code)
	}
	checkStagingRemoved(t, tb, id.String())
}

// clientToAMIdentifier decodes a ClientToAMTokenIdentifierProto
// {appAttemptId=1, clientName=2} independently of the code under test.
func clientToAMIdentifier(t *testing.T, b []byte) (string, yarn.ApplicationAttemptID) {
	t.Helper()
	var client string
	var att hadoopyarn.ApplicationAttemptIdProto
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			t.Fatalf("undecodable ClientToAMToken identifier")
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			t.Fatalf("undecodable ClientToAMToken identifier")
		}
		switch num {
		case 1:
			if err := proto.Unmarshal(v, &att); err != nil {
				t.Fatal(err)
			}
		case 2:
			client = string(v)
		}
		b = b[n+m:]
	}
	return client, yarn.ApplicationAttemptID{
		Application: yarn.ApplicationID{ClusterTimestamp: att.GetApplicationId().GetClusterTimestamp(), ID: att.GetApplicationId().GetId()},
		Attempt:     att.GetAttemptId(),
	}
}

// bareRequest sends one request over TLS without a client certificate
// and without credentials.
func bareRequest(t *testing.T, addr, method, path string) (int, string) {
	t.Helper()
	d := &tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}}
	ctx := testContext(t, 30*time.Second)
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("a TLS client without certificate could not connect: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req, _ := http.NewRequest(method, "https://"+addr+path, strings.NewReader("{}"))
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestSessionNoRecordWithoutKerberos (plain bed): the RM issues no
// ClientToAMToken without Kerberos, so a client without the session's
// record is refused with an error that says so, and a bare TLS client is
// refused by the JobManager.
func TestSessionNoRecordWithoutKerberos(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skipf("the cluster without Kerberos is the plain bed (this run: %s)", tb.Mode())
	}
	in, _ := wordcountCorpus(t, tb)
	name, id := startTestSession(t, tb, "n")
	rep := runningReport(t, tb, "alice", id)
	if rep.ClientToAMToken != nil {
		t.Errorf("the RM gave a ClientToAMToken without Kerberos")
	}
	r := runWordcountHome(t, tb, t.TempDir(), nil, "run", "-t", "yarn-session", "-session", name, "-input", in, "-output", outputDir(t))
	if r.code == 0 {
		t.Fatal("a client without the record submitted a job")
	}
	if !strings.Contains(r.out, "no local record of "+id.String()) || !strings.Contains(r.out, "on a cluster without Kerberos only the user and machine that started it can use it") {
		t.Errorf("the refusal does not explain the missing record")
	}
	addr := net.JoinHostPort(rep.Host, strconv.Itoa(int(rep.RPCPort)))
	if code, body := bareRequest(t, addr, "POST", "/v1/jobs"); code != http.StatusUnauthorized {
		t.Errorf("bare TLS client POST /v1/jobs: %d %q; want 401", code, body)
	}
}

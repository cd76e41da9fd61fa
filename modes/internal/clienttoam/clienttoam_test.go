package clienttoam

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

var (
	app     = yarn.ApplicationID{ClusterTimestamp: 1764500000000, ID: 7}
	attempt = yarn.ApplicationAttemptID{Application: app, Attempt: 1}
	master  = []byte("attempt-1 master key")
)

// token is what the ResourceManager would hand user for attempt under key.
func token(a yarn.ApplicationAttemptID, user string, key []byte) yarn.Token {
	id := Identifier{Attempt: a, ClientName: user}.Bytes()
	return yarn.Token{Kind: "YARN_CLIENT_TOKEN", Identifier: id, Password: Password(key, id)}
}

// jobManager stands for the control handler: it records what reached it.
type jobManager struct{ hits atomic.Int32 }

func (j *jobManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body))
}

type bed struct {
	srv    *httptest.Server
	jm     *jobManager
	secret []byte
	probes atomic.Int32
	conns  atomic.Int32
}

func newBed(t *testing.T, cfg ServerConfig) *bed {
	t.Helper()
	b := &bed{jm: &jobManager{}}
	var err error
	if b.secret, err = secure.NewSecret(); err != nil {
		t.Fatal(err)
	}
	tlsConf, err := secure.ServerTLSConfigCertOptional(b.secret)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Application == (yarn.ApplicationID{}) {
		cfg.Application = app
	}
	if cfg.Owner == "" {
		cfg.Owner = "alice"
	}
	if cfg.MasterKey == nil {
		cfg.MasterKey = func() []byte { return master }
	}
	h := Middleware(cfg, b.jm)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ProbePath {
			b.probes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.TLS = tlsConf
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bed) client(tok yarn.Token) (*http.Client, *Transport) {
	tr := &Transport{Token: tok}
	return &http.Client{Transport: tr}, tr
}

func (b *bed) url(p string) string { return b.srv.URL + p }

func do(t *testing.T, c *http.Client, method, url, body string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

func TestOwnerTokenAccepted(t *testing.T) {
	b := newBed(t, ServerConfig{Attempt: attempt})
	c, tr := b.client(token(attempt, "alice@EXAMPLE.COM", master))
	defer tr.CloseIdleConnections()
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/jobs", ""}, {"GET", "/v1/jobs/job-1", ""},
		{"POST", "/v1/jobs", `{"graph":"x"}`}, {"POST", "/v1/jobs/job-1/cancel", ""}, {"POST", "/v1/stop", ""},
		{"POST", "/v1/credentials", `{"tokens":"x"}`},
	} {
		code, body, err := do(t, c, r.method, b.url(r.path), r.body)
		if err != nil || code != 200 || body != strings.TrimSpace(r.method+" "+r.path+" "+r.body) {
			t.Errorf("%s %s: %d %q %v; want it served", r.method, r.path, code, body, err)
		}
	}
	// One connection, proven once, carried every request.
	if n, p := b.conns.Load(), b.probes.Load(); n != 1 || p != 1 {
		t.Errorf("%d connections and %d probes for 6 requests; want 1 and 1", n, p)
	}
}

func TestViewerMayOnlyView(t *testing.T) {
	b := newBed(t, ServerConfig{ModifyACL: "carol,dave admins"})
	c, tr := b.client(token(attempt, "bob@EXAMPLE.COM", master))
	defer tr.CloseIdleConnections()
	if code, _, err := do(t, c, "GET", b.url("/v1/jobs"), ""); err != nil || code != 200 {
		t.Errorf("bob lists the jobs: %d %v; want 200", code, err)
	}
	before := b.jm.hits.Load()
	for _, p := range []string{"/v1/jobs", "/v1/jobs/job-1/cancel", "/v1/stop", "/v1/credentials"} {
		code, msg, err := do(t, c, "POST", b.url(p), "{}")
		if err != nil || code != http.StatusForbidden || !strings.Contains(msg, "user bob may view") || !strings.Contains(msg, "owner alice") {
			t.Errorf("bob POST %s: %d %q %v; want 403 naming bob and the owner", p, code, msg, err)
		}
	}
	if b.jm.hits.Load() != before {
		t.Error("a refused change reached the JobManager")
	}
	// carol is in the MODIFY_APP ACL.
	cc, ctr := b.client(token(attempt, "carol/host.example.com@EXAMPLE.COM", master))
	defer ctr.CloseIdleConnections()
	if code, _, err := do(t, cc, "POST", b.url("/v1/jobs"), "{}"); err != nil || code != 200 {
		t.Errorf("carol (MODIFY_APP ACL) submits: %d %v; want 200", code, err)
	}
}

func TestTaskManagerEndpointsNeedTheSecret(t *testing.T) {
	b := newBed(t, ServerConfig{})
	c, tr := b.client(token(attempt, "alice@EXAMPLE.COM", master))
	defer tr.CloseIdleConnections()
	for _, r := range []struct{ method, path string }{
		{"POST", "/v1/taskmanagers"}, {"GET", "/v1/taskmanagers/c1/commands"}, {"POST", "/v1/splits"},
		{"GET", "/v1/jobs/a/b"}, {"DELETE", "/v1/jobs"},
	} {
		code, msg, err := do(t, c, r.method, b.url(r.path), "{}")
		if err != nil || code != http.StatusForbidden || !strings.Contains(msg, "deployment's own containers") {
			t.Errorf("owner's token %s %s: %d %q %v; want 403", r.method, r.path, code, msg, err)
		}
	}
	if b.jm.hits.Load() != 0 {
		t.Errorf("%d refused requests reached the JobManager", b.jm.hits.Load())
	}
	// The secret's holders (certificate pinned on it) pass untouched.
	_, cliTLS, err := secure.TLSConfigs(b.secret)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}}
	defer hc.CloseIdleConnections()
	if code, _, err := do(t, hc, "POST", b.url("/v1/taskmanagers"), "{}"); err != nil || code != 200 {
		t.Errorf("secret holder registers a TaskManager: %d %v; want 200", code, err)
	}
}

func TestBadTokensRefused(t *testing.T) {
	b := newBed(t, ServerConfig{Attempt: attempt})
	other := yarn.ApplicationID{ClusterTimestamp: app.ClusterTimestamp, ID: 8}
	for _, c := range []struct {
		name string
		tok  yarn.Token
		want string
	}{
		{"wrong key", token(attempt, "alice", []byte("another master key")), "does not match"},
		{"other application", token(yarn.ApplicationAttemptID{Application: other, Attempt: 1}, "alice", master), "is for application " + other.String()},
		{"other attempt", token(yarn.ApplicationAttemptID{Application: app, Attempt: 2}, "alice", master), "is for attempt"},
		{"no user", token(attempt, "", master), "names no user"},
	} {
		hc, tr := b.client(c.tok)
		_, _, err := do(t, hc, "GET", b.url("/v1/jobs"), "")
		tr.CloseIdleConnections()
		if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrUnauthenticated saying %q", c.name, err, c.want)
		}
	}
	if b.jm.hits.Load() != 0 {
		t.Errorf("%d refused requests reached the JobManager", b.jm.hits.Load())
	}
}

func TestNoMasterKeyRefuses(t *testing.T) {
	b := newBed(t, ServerConfig{MasterKey: func() []byte { return nil }})
	hc, tr := b.client(token(attempt, "alice", master))
	defer tr.CloseIdleConnections()
	_, _, err := do(t, hc, "GET", b.url("/v1/jobs"), "")
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "no ClientToAMToken master key") {
		t.Errorf("%v; want a refusal naming the missing master key", err)
	}
}

func TestSHA256PasswordAccepted(t *testing.T) {
	// A cluster configured with HmacSHA256 derives passwords with it.
	b := newBed(t, ServerConfig{})
	tok := token(attempt, "alice", master)
	tok.Password = mac(sha256.New, master, tok.Identifier)
	hc, tr := b.client(tok)
	defer tr.CloseIdleConnections()
	if code, _, err := do(t, hc, "GET", b.url("/v1/jobs"), ""); err != nil || code != 200 {
		t.Errorf("%d %v; want 200", code, err)
	}
}

// rawConn is a TLS connection without a certificate, for requests built
// by hand.
func rawConn(t *testing.T, b *bed) (*tls.Conn, []byte) {
	t.Helper()
	tc, err := tls.Dial("tcp", b.srv.Listener.Addr().String(), &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	cs := tc.ConnectionState()
	exp, err := Exporter(&cs)
	if err != nil {
		t.Fatal(err)
	}
	return tc, exp
}

func rawGet(t *testing.T, tc *tls.Conn, auth string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://jm/v1/jobs", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if err := req.Write(tc); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestProofBoundToItsConnection(t *testing.T) {
	b := newBed(t, ServerConfig{})
	tok := token(attempt, "alice", master)
	a, expA := rawConn(t, b)
	c, _ := rawConn(t, b)
	// No header at all.
	if resp := rawGet(t, c, ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != Scheme {
		t.Errorf("no Authorization: %d %q; want 401 with WWW-Authenticate", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// A's proof replayed on C (what a relay would do) is refused.
	proofA := FormatAuthorization(tok.Identifier, ClientProof(tok.Password, expA))
	if resp := rawGet(t, c, proofA); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("connection A's proof on connection C: %d; want 401", resp.StatusCode)
	}
	// On A itself it is accepted, with the server's proof for A.
	resp := rawGet(t, a, proofA)
	got, _ := base64.StdEncoding.DecodeString(resp.Header.Get(ProofHeader))
	if resp.StatusCode != 200 || !hmac.Equal(got, ServerProof(tok.Password, expA)) {
		t.Errorf("connection A's proof on A: %d, server proof valid %v; want 200 and valid", resp.StatusCode, hmac.Equal(got, ServerProof(tok.Password, expA)))
	}
	if hmac.Equal(ServerProof(tok.Password, expA), ClientProof(tok.Password, expA)) {
		t.Error("the server's proof equals the client's: a reflection would pass")
	}
	if b.jm.hits.Load() != 1 {
		t.Errorf("%d requests reached the JobManager; want 1", b.jm.hits.Load())
	}
}

func TestClientRefusesServerWithoutProof(t *testing.T) {
	// An impostor without the password: it answers everything, echoing
	// the client's proof or inventing one. The request after the probe
	// (a job's credentials) must never reach it.
	for _, name := range []string{"none", "echo", "made up"} {
		var posted atomic.Int32
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch name {
			case "echo":
				_, proof, _ := ParseAuthorization(r.Header.Get("Authorization"))
				w.Header().Set(ProofHeader, base64.StdEncoding.EncodeToString(proof))
			case "made up":
				w.Header().Set(ProofHeader, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
			}
			if r.Method == "POST" {
				posted.Add(1)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		srv.StartTLS()
		hc, tr := (&bed{}).client(token(attempt, "alice", master))
		_, _, err := do(t, hc, "POST", srv.URL+"/v1/jobs", `{"credentials":"secret tokens"}`)
		tr.CloseIdleConnections()
		srv.Close()
		if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "did not prove") {
			t.Errorf("impostor (%s): %v; want ErrUnauthenticated saying it did not prove itself", name, err)
		}
		if posted.Load() != 0 {
			t.Errorf("impostor (%s) received the request body", name)
		}
	}
}

func TestCancelledRequest(t *testing.T) {
	b := newBed(t, ServerConfig{})
	entered := make(chan struct{}, 1)
	// The handler behind the middleware blocks until the client goes.
	b.srv.Config.Handler = Middleware(ServerConfig{Application: app, Owner: "alice", MasterKey: func() []byte { return master }},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-r.Context().Done()
		}))
	hc, tr := b.client(token(attempt, "alice", master))
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url("/v1/jobs"), nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("request cancelled while the server held it: %v; want context.Canceled", err)
	}
}

func TestIdentifierLayout(t *testing.T) {
	id := Identifier{Attempt: attempt, ClientName: "alice@EXAMPLE.COM"}
	b := id.Bytes()
	// Field 1 is Hadoop's ApplicationAttemptIdProto, as the generated
	// code encodes it.
	att, err := proto.MarshalOptions{Deterministic: true}.Marshal(&hadoopyarn.ApplicationAttemptIdProto{
		ApplicationId: &hadoopyarn.ApplicationIdProto{Id: proto.Int32(app.ID), ClusterTimestamp: proto.Int64(app.ClusterTimestamp)},
		AttemptId:     proto.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0x0a, byte(len(att))}, att...), append([]byte{0x12, byte(len(id.ClientName))}, id.ClientName...)...)
	if !bytes.Equal(b, want) {
		t.Errorf("Bytes = %x\nwant    %x", b, want)
	}
	got, err := ParseIdentifier(b)
	if err != nil || got != id {
		t.Errorf("ParseIdentifier = %+v, %v; want %+v", got, err, id)
	}
	if id.User() != "alice" {
		t.Errorf("User = %q", id.User())
	}
	if _, err := ParseIdentifier([]byte{0x08, 0x01}); err == nil {
		t.Error("ParseIdentifier took field 1 as a varint")
	}
}

func TestParseAuthorization(t *testing.T) {
	id, pf := []byte("identifier"), []byte("proof")
	gi, gp, err := ParseAuthorization(FormatAuthorization(id, pf))
	if err != nil || !bytes.Equal(gi, id) || !bytes.Equal(gp, pf) {
		t.Fatalf("round trip: %q %q %v", gi, gp, err)
	}
	e := base64.StdEncoding.EncodeToString
	if _, _, err := ParseAuthorization("spindleclienttoam proof=" + e(pf) + ",id=" + e(id)); err != nil {
		t.Errorf("either order, scheme in any case: %v", err)
	}
	for _, h := range []string{
		"", "Basic abc", Scheme, Scheme + " id=" + e(id), Scheme + " proof=" + e(pf),
		Scheme + " id=" + e(id) + ", id=" + e(id) + ", proof=" + e(pf),
		Scheme + " id=!!, proof=" + e(pf), Scheme + " id=" + e(id) + ", proof=" + e(pf) + ", x=" + e(pf),
		Scheme + " id, proof=" + e(pf), Scheme + " id=" + strings.Repeat("A", maxHeader),
	} {
		if _, _, err := ParseAuthorization(h); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("ParseAuthorization(%.60q) = %v; want ErrUnauthenticated", h, err)
		}
	}
}

func TestMayModify(t *testing.T) {
	for _, c := range []struct {
		acl, user string
		want      bool
	}{
		{"", "alice", true}, {"", "bob", false}, {"*", "bob", true}, {" * ", "bob", true},
		{"bob", "bob", true}, {"carol,bob", "bob", true}, {"carol, bob", "bob", false}, {" bob", "bob", false}, {"carol grp", "grp", false}, {"", "", false},
	} {
		cfg := ServerConfig{Owner: "alice", ModifyACL: c.acl}
		if got := cfg.mayModify(c.user); got != c.want {
			t.Errorf("ACL %q, user %q: %v; want %v", c.acl, c.user, got, c.want)
		}
	}
}

// TestControlClientReusesConnection: package control's client, which
// decodes JSON answers rather than reading them to their end, reuses the
// one proven connection, so a client following a job does not dial and
// prove itself for every poll.
func TestControlClientReusesConnection(t *testing.T) {
	b := newBed(t, ServerConfig{})
	b.srv.Config.Handler = Middleware(ServerConfig{Application: app, Owner: "alice", MasterKey: func() []byte { return master }},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "[{\"id\":\"job-1\"}]\n")
		}))
	cc := control.NewClientTransport(b.srv.Listener.Addr().String(), &Transport{Token: token(attempt, "alice", master)})
	defer cc.Close()
	for i := 0; i < 5; i++ {
		var out []map[string]string
		if err := cc.Do(t.Context(), "GET", "/v1/jobs", nil, &out); err != nil || len(out) != 1 || out[0]["id"] != "job-1" {
			t.Fatalf("poll %d: %v %v", i, out, err)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Errorf("5 polls used %d connections; want 1", n)
	}
}

// TestMiddlewareTellsTheCaller: the handler learns the token's user and
// whether it is the owner; the secret's holders carry no caller.
func TestMiddlewareTellsTheCaller(t *testing.T) {
	b := newBed(t, ServerConfig{})
	seen := make(chan string, 1)
	b.srv.Config.Handler = Middleware(ServerConfig{Application: app, Owner: "alice", MasterKey: func() []byte { return master }},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := CallerFrom(r.Context())
			if !ok {
				seen <- "none"
				return
			}
			if c.Owner {
				seen <- c.User + " (owner)"
				return
			}
			seen <- c.User
		}))
	for user, want := range map[string]string{"alice@EXAMPLE.COM": "alice (owner)", "bob@EXAMPLE.COM": "bob"} {
		hc, tr := b.client(token(attempt, user, master))
		if _, _, err := do(t, hc, "GET", b.url("/v1/jobs"), ""); err != nil {
			t.Fatal(err)
		}
		tr.CloseIdleConnections()
		if got := <-seen; got != want {
			t.Errorf("%s: handler saw %q, want %q", user, got, want)
		}
	}
	_, cliTLS, err := secure.TLSConfigs(b.secret)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cliTLS}}
	defer hc.CloseIdleConnections()
	if _, _, err := do(t, hc, "GET", b.url("/v1/jobs"), ""); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "none" {
		t.Errorf("secret holder: handler saw %q, want no caller", got)
	}
}

package yarn

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingServer counts every request it receives, to prove that a
// refused redirect sends nothing to its target.
type recordingServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string // method, URI, headers and body of each request
}

func newRecordingServer(t *testing.T, tls bool) *recordingServer {
	r := &recordingServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req.Method+" "+req.URL.RequestURI()+" "+req.Header.Get("Authorization")+" "+string(body))
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recordingServer) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// secretSubmission carries an HDFS delegation token and a secret key, the
// bytes a redirect must never carry elsewhere.
func secretSubmission() *ApplicationSubmission {
	var creds Credentials
	creds.AddToken("hdfs", Token{Identifier: []byte("ident-1"), Password: []byte("TOPSECRET-PASSWORD-BYTES"),
		Kind: KindHDFSDelegationToken, Service: "ha-hdfs:ns"})
	creds.AddSecret("key", []byte("TOPSECRET-KEY-BYTES"))
	return &ApplicationSubmission{ID: ApplicationID{ClusterTimestamp: 1, ID: 7}, AMResource: Resource{MemoryMB: 64, VCores: 1},
		AM: ContainerLaunchContext{Commands: []string{"true"}, Credentials: &creds}}
}

// TestRESTRefusesForeignRedirect: an RM (alone, or one of an HA pair)
// answering 307 with a Location that is no configured RM fails the call
// with ErrUnsafeRedirect, and the foreign server receives nothing: neither
// the submission's token password nor user.name.
func TestRESTRefusesForeignRedirect(t *testing.T) {
	foreign := newRecordingServer(t, false)
	toForeign := func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Location", foreign.srv.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
	for _, ha := range []bool{false, true} {
		rm := newFakeRM(t, "ACTIVE", toForeign)
		cfg := fakeConfig(rm)
		if ha {
			cfg = fakeConfig(rm, newFakeRM(t, "STANDBY", serveMetrics))
		}
		c := newTestRESTClient(t, cfg)
		err := c.Submit(context.Background(), secretSubmission())
		var re *RedirectError
		if !errors.Is(err, ErrUnsafeRedirect) || !errors.As(err, &re) {
			t.Fatalf("ha=%v: Submit redirected to a foreign server: %v, want ErrUnsafeRedirect", ha, err)
		}
		if fu, _ := url.Parse(foreign.srv.URL); re.To != origin(fu) {
			t.Errorf("ha=%v: RedirectError.To = %q, want %q", ha, re.To, origin(fu))
		}
		if strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("ha=%v: the error quotes a secret: %v", ha, err)
		}
		if _, err := c.ClusterMetrics(context.Background()); !errors.Is(err, ErrUnsafeRedirect) {
			t.Errorf("ha=%v: GET redirected to a foreign server: %v, want ErrUnsafeRedirect", ha, err)
		}
		if got := foreign.requests(); len(got) != 0 {
			t.Fatalf("ha=%v: the foreign server received %q", ha, got)
		}
		if c.Failovers() != 0 {
			t.Errorf("ha=%v: a refused redirect counted %d failovers", ha, c.Failovers())
		}
	}
}

// TestRESTRefusesHTTPSDowngrade: an https RM redirecting to http is
// refused even when the http origin is a configured RM, which then
// receives nothing.
func TestRESTRefusesHTTPSDowngrade(t *testing.T) {
	plain := newRecordingServer(t, false)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws/v1/cluster/info" {
			io.WriteString(w, `{"clusterInfo":{"id":1,"state":"STARTED","haState":"ACTIVE"}}`)
			return
		}
		w.Header().Set("Location", plain.srv.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(secure.Close)
	c := newTestRESTClient(t, Config{User: "alice", FailoverTimeout: time.Second, ResourceManagers: []RMAddress{
		{ID: "rm1", Web: secure.URL}, {ID: "rm2", Web: plain.srv.URL}}})
	c.hc.HTTPClient.Transport.(*authTransport).base = secure.Client().Transport // trust the test certificate

	err := c.Submit(context.Background(), secretSubmission())
	var re *RedirectError
	if !errors.As(err, &re) || !errors.Is(err, ErrUnsafeRedirect) || !strings.Contains(re.Reason, "https") {
		t.Fatalf("Submit redirected from https to http: %v, want a RedirectError about https", err)
	}
	if got := plain.requests(); len(got) != 0 {
		t.Fatalf("the http RM received %q", got)
	}
}

// TestRESTRedirectGoesToConfiguredAddress: a Location that spells a
// configured RM's host another way ("localhost" for "127.0.0.1") is
// followed, to the address as configured.
func TestRESTRedirectGoesToConfiguredAddress(t *testing.T) {
	var hosts []string
	var mu sync.Mutex
	active := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		serveMetrics(w, r, body)
	})
	standby := newFakeRM(t, "ACTIVE", redirectTo(t, active))
	c := newTestRESTClient(t, fakeConfig(standby, active))
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(active.srv.URL)
	mu.Lock()
	defer mu.Unlock()
	if len(hosts) != 1 || hosts[0] != au.Host {
		t.Errorf("the active RM saw Host %q, want [%s]", hosts, au.Host)
	}
}

func TestRMOrigin(t *testing.T) {
	c := &RESTClient{rms: []RMAddress{
		{ID: "rm1", Web: "http://127.0.0.1:8088"},
		{ID: "rm2", Web: "https://RM2.example.invalid"},
		{ID: "rm3", Web: "http://rm3.example.invalid:80"},
	}}
	for _, tc := range []struct {
		loc  string
		want int
	}{
		{"http://127.0.0.1:8088/ws/v1/cluster/apps", 0},
		{"http://localhost:8088/ws/v1/cluster/apps", 0}, // resolves to 127.0.0.1
		{"http://127.0.0.1:8089/", -1},                  // another port
		{"https://127.0.0.1:8088/", -1},                 // another scheme
		{"https://rm2.example.invalid/x", 1},            // case and default port
		{"https://rm2.example.invalid:443/x", 1},
		{"http://rm2.example.invalid/x", -1},
		{"http://rm3.example.invalid/", 2},
		{"http://evil.example.invalid:8088/", -1},
		{"http://user:pw@10.255.255.1:8088/", -1},
	} {
		u, err := url.Parse(tc.loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.rmOrigin(context.Background(), u); got != tc.want {
			t.Errorf("rmOrigin(%s) = %d, want %d", tc.loc, got, tc.want)
		}
	}
}

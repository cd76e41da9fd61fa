package yarn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The fake ResourceManagers below stand in for what the test bed cannot
// produce at will: Hadoop's MiniYARNCluster runs both RMs and the
// NodeManagers in one JVM, whose single Guice filter pipeline belongs to
// the web app started last, so the RMWebAppFilter that makes a standby
// redirect is normally not in the request path (the standby answers from
// its own stale state), and after an RM restart it redirects requests to
// every port. The fakes answer as RMWebAppFilter does: 307 with Location =
// the active RM's address plus the request URI (bytes captured from a real
// standby), or, knowing no active RM, 307 with only a Refresh header and a
// message body (from RMWebAppFilter's code; the test bed would not show it).

type fakeRM struct {
	srv     *httptest.Server
	haState string
	handle  func(w http.ResponseWriter, r *http.Request, body []byte)

	mu       sync.Mutex
	requests []string // "METHOD path?query"
	users    []string // user.name of each request
}

func newFakeRM(t *testing.T, haState string, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeRM {
	f := &fakeRM{haState: haState, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.users = append(f.users, r.URL.Query().Get("user.name"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		if r.URL.Path == "/ws/v1/cluster/info" {
			fmt.Fprintf(w, `{"clusterInfo":{"id":1,"state":"STARTED","haState":%q}}`, f.haState)
			return
		}
		f.handle(w, r, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRM) seen() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([]string(nil), f.users...)
}

const metricsJSON = `{"clusterMetrics":{"totalNodes":3,"activeNodes":2,"lostNodes":1}}`

func serveMetrics(w http.ResponseWriter, r *http.Request, _ []byte) { io.WriteString(w, metricsJSON) }

// redirectTo answers as a standby that knows the active RM, replaying the
// 307 captured from a Hadoop 3.5.0 standby (testdata/rest/
// standby-redirect.http) with Location pointing at active. Like the
// original, Location names the active RM "localhost" where the client was
// configured with 127.0.0.1.
func redirectTo(t *testing.T, active *fakeRM) func(w http.ResponseWriter, r *http.Request, _ []byte) {
	captured, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(readRESTSample(t, "standby-redirect.http"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(captured.Body)
	loc, err := url.Parse(captured.Header.Get("Location"))
	if err != nil || loc.Hostname() != "localhost" || captured.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("captured redirect: %d to %v (%v)", captured.StatusCode, loc, err)
	}
	capturedURI := loc.RequestURI()
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		for k, vs := range captured.Header {
			if k != "Content-Length" && k != "Date" {
				w.Header()[k] = vs
			}
		}
		au, _ := url.Parse(active.srv.URL)
		w.Header().Set("Location", "http://localhost:"+au.Port()+r.URL.RequestURI())
		w.WriteHeader(captured.StatusCode)
		w.Write(bytes.Replace(body, []byte(capturedURI), []byte(r.URL.RequestURI()), 1))
	}
}

// noActiveKnown answers as a standby that knows no active RM.
func noActiveKnown(w http.ResponseWriter, r *http.Request, _ []byte) {
	w.Header().Set("Refresh", "3;url="+r.URL.Path+"?next.refresh.interval=1")
	w.WriteHeader(http.StatusTemporaryRedirect)
	io.WriteString(w, "Can not find any active RM. Will retry in next 3 seconds.\nHA Zookeeper Connection State: CONNECTED\n")
}

func fakeConfig(rms ...*fakeRM) Config {
	cfg := Config{User: "alice", FailoverTimeout: 2 * time.Second}
	for i, f := range rms {
		cfg.ResourceManagers = append(cfg.ResourceManagers, RMAddress{ID: fmt.Sprintf("rm%d", i+1), Web: f.srv.URL})
	}
	return cfg
}

func newTestRESTClient(t *testing.T, cfg Config) *RESTClient {
	t.Helper()
	c, err := NewRESTClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRESTFollowsStandbyRedirect: a standby's 307 is followed to the active
// RM with the POST body replayed and the user authenticated again on that
// hop; the client then stays with the active RM and counts the failover.
func TestRESTFollowsStandbyRedirect(t *testing.T) {
	var gotBody []byte
	active := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method == http.MethodPost && r.URL.Path == "/ws/v1/cluster/apps" {
			gotBody = body
			w.WriteHeader(http.StatusAccepted)
			return
		}
		serveMetrics(w, r, body)
	})
	// It became a standby after answering /info as the active one.
	standby := newFakeRM(t, "ACTIVE", redirectTo(t, active))
	reg := prometheus.NewRegistry()
	cfg := fakeConfig(standby, active)
	cfg.Registerer = reg
	c := newTestRESTClient(t, cfg)

	sub := &ApplicationSubmission{ID: ApplicationID{ClusterTimestamp: 1, ID: 2}, AMResource: Resource{MemoryMB: 64, VCores: 1},
		AM: ContainerLaunchContext{Commands: []string{"true"}}}
	if err := c.Submit(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gotBody), `"application-id":"application_1_0002"`) {
		t.Errorf("the active RM got body %q, want the submission", gotBody)
	}
	if !strings.HasPrefix(c.CurrentRM(), "rm2 ") || c.Failovers() != 1 {
		t.Errorf("on %s after %d failovers, want rm2 after 1", c.CurrentRM(), c.Failovers())
	}
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	sreqs, susers := standby.seen()
	areqs, ausers := active.seen()
	if len(sreqs) != 2 { // /info, then the redirected POST
		t.Errorf("standby saw %v, want /info and the POST only", sreqs)
	}
	for _, u := range append(susers, ausers...) {
		if u != "alice" {
			t.Errorf("a request without user.name=alice: standby %v, active %v", sreqs, areqs)
			break
		}
	}
	if got := counterValue(t, reg, "spindle_rest_failovers_total", nil); got != 1 {
		t.Errorf("failovers metric %v, want 1", got)
	}
	if got := counterValue(t, reg, "spindle_rest_requests_total", map[string]string{"method": "submitApplication", "outcome": "ok"}); got != 1 {
		t.Errorf("requests{submitApplication,ok} = %v, want 1", got)
	}
}

// TestRESTStandbyWithoutActiveRM: a standby that knows no active RM (307
// with only Refresh) makes the client try the next RM; when every RM is
// like that, the call fails with ErrNoActiveResourceManager naming them,
// after about the failover timeout.
func TestRESTStandbyWithoutActiveRM(t *testing.T) {
	lost := newFakeRM(t, "ACTIVE", noActiveKnown)
	good := newFakeRM(t, "ACTIVE", serveMetrics)
	c := newTestRESTClient(t, fakeConfig(lost, good))
	m, err := c.ClusterMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m != (ClusterMetrics{NodeManagers: 3, Active: 2, Lost: 1}) || !strings.HasPrefix(c.CurrentRM(), "rm2 ") {
		t.Errorf("%+v from %s", m, c.CurrentRM())
	}

	standby := newFakeRM(t, "STANDBY", serveMetrics) // answers from stale state: must not be used
	cfg := fakeConfig(lost, standby)
	cfg.FailoverTimeout = 500 * time.Millisecond
	c = newTestRESTClient(t, cfg)
	start := time.Now()
	_, err = c.ClusterMetrics(context.Background())
	took := time.Since(start)
	if !errors.Is(err, ErrNoActiveResourceManager) {
		t.Fatalf("%v, want ErrNoActiveResourceManager", err)
	}
	for _, want := range []string{"rm1 (" + lost.srv.URL, "Refresh", "rm2 (" + standby.srv.URL, "haState STANDBY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if took < cfg.FailoverTimeout || took > cfg.FailoverTimeout+time.Second {
		t.Errorf("gave up after %s, want just over %s", took, cfg.FailoverTimeout)
	}
	if reqs, _ := standby.seen(); strings.Contains(strings.Join(reqs, " "), "/metrics") {
		t.Errorf("the standby was asked for metrics: %v", reqs)
	}
}

// TestRESTUnreachableRM: an RM that refuses connections is skipped.
func TestRESTUnreachableRM(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	good := newFakeRM(t, "ACTIVE", serveMetrics)
	cfg := fakeConfig(good, good)
	cfg.ResourceManagers[0].Web = deadURL
	c := newTestRESTClient(t, cfg)
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.CurrentRM(), "rm2 ") || c.Failovers() != 1 {
		t.Errorf("on %s after %d failovers", c.CurrentRM(), c.Failovers())
	}
}

// TestRESTRetries: a 5xx is retried on the same RM with backoff, a 4xx
// never, and a cancelled context stops at once.
func TestRESTRetries(t *testing.T) {
	var mu sync.Mutex
	fails := 2
	flaky := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"RemoteException":{"exception":"WebApplicationException","message":"busy","javaClassName":"javax.ws.rs.WebApplicationException"}}`)
			return
		}
		serveMetrics(w, r, body)
	})
	c := newTestRESTClient(t, fakeConfig(flaky))
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := flaky.seen(); len(reqs) != 3 {
		t.Errorf("%d requests, want 3 (two 500s retried): %v", len(reqs), reqs)
	}

	bad := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"RemoteException":{"exception":"NotFoundException","message":"app with id: application_1_0002 not found","javaClassName":"org.apache.hadoop.yarn.webapp.NotFoundException"}}`)
	})
	c = newTestRESTClient(t, fakeConfig(bad))
	_, err := c.ApplicationReport(context.Background(), ApplicationID{ClusterTimestamp: 1, ID: 2})
	var re *RemoteError
	var op *OpError
	if !errors.Is(err, ErrApplicationNotFound) || !errors.As(err, &re) || !errors.As(err, &op) || op.ID != "application_1_0002" {
		t.Errorf("%v, want an OpError about application_1_0002 around a RemoteError matching ErrApplicationNotFound", err)
	}
	if reqs, _ := bad.seen(); len(reqs) != 1 {
		t.Errorf("a 404 was sent %d times: %v", len(reqs), reqs)
	}

	slow := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c = newTestRESTClient(t, fakeConfig(slow))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.ClusterMetrics(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v, want the context's deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s past a 50ms deadline", took)
	}
}

// TestRESTCookies: the hadoop.auth cookie an RM sets goes back to that RM
// only, though both RMs share a host.
func TestRESTCookies(t *testing.T) {
	var mu sync.Mutex
	var cookies []string
	rm := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "hadoop.auth", Value: "u=alice&p=alice&t=simple&e=9&s=abc=", Path: "/", HttpOnly: true})
		serveMetrics(w, r, body)
	})
	c := newTestRESTClient(t, fakeConfig(rm))
	for range 2 {
		if _, err := c.ClusterMetrics(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(cookies) != 2 || cookies[0] != "" || !strings.Contains(cookies[1], "hadoop.auth=") {
		t.Errorf("cookies sent: %q, want none, then hadoop.auth", cookies)
	}

	jar := &originJar{jars: map[string]*cookiejar.Jar{}}
	a, _ := url.Parse("http://127.0.0.1:1000/ws/v1/cluster/info")
	b, _ := url.Parse("http://127.0.0.1:2000/ws/v1/cluster/info")
	jar.SetCookies(a, []*http.Cookie{{Name: "hadoop.auth", Value: "from-a", Path: "/"}})
	if got := jar.Cookies(b); len(got) != 0 {
		t.Errorf("RM at :2000 would get %v, set by the RM at :1000", got)
	}
	if got := jar.Cookies(a); len(got) != 1 || got[0].Value != "from-a" {
		t.Errorf("RM at :1000 would get %v", got)
	}
}

// counterValue reads a counter from reg: the sum over the series whose
// labels include labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == k && lp.GetValue() == v)
				}
				if !found {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestShouldFailOverHTTP: only "not the active RM" and failures to reach
// an RM move on to the next; net/http's *url.Error around them is seen
// through, and refused credentials are never retried elsewhere.
func TestShouldFailOverHTTP(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://rm:8088", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	noTicket := &url.Error{Op: "Get", URL: "http://rm:8088", Err: &authError{spn: "HTTP/rm", err: errors.New("KDC_ERR_S_PRINCIPAL_UNKNOWN")}}
	tests := []struct {
		err  error
		want bool
	}{
		{refused, true},
		{&url.Error{Op: "Post", URL: "http://rm:8088", Err: io.ErrUnexpectedEOF}, true},
		{fmt.Errorf("%w: haState STANDBY", errNotActive), true},
		{noTicket, false},
		{restError(404, readRESTSample(t, "error-not-found.json"), true, "rm1"), false},
		{restError(401, nil, false, "rm1"), false},
		{&url.Error{Op: "Get", URL: "http://rm:8088", Err: errors.New("stopped after 10 redirects")}, false},
	}
	for _, tt := range tests {
		if got := shouldFailOverHTTP(tt.err); got != tt.want {
			t.Errorf("shouldFailOverHTTP(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if !errors.Is(noTicket, ErrUnauthorized) {
		t.Errorf("%v does not match ErrUnauthorized", noTicket)
	}
}

// TestRESTProxyUser: with Config.ProxyUser every request says doAs=<user>
// beside user.name.
func TestRESTProxyUser(t *testing.T) {
	var mu sync.Mutex
	var doAs []string
	rm := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		doAs = append(doAs, r.URL.Query().Get("doAs"))
		mu.Unlock()
		serveMetrics(w, r, body)
	})
	cfg := fakeConfig(rm)
	cfg.ProxyUser = "bob"
	c := newTestRESTClient(t, cfg)
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, users := rm.seen()
	if len(doAs) != 1 || doAs[0] != "bob" || users[0] != "alice" {
		t.Errorf("doAs %q, user.name %q; want bob as alice", doAs, users)
	}
}

// TestRESTClosed: after Close every call fails with ErrClosed without a
// request; Close ends a call waiting for an RM's answer, and one failing
// over between RMs, with ErrClosed at once.
func TestRESTClosed(t *testing.T) {
	rm := newFakeRM(t, "ACTIVE", serveMetrics)
	c := newTestRESTClient(t, fakeConfig(rm))
	if _, err := c.ClusterMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.ClusterMetrics(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("ClusterMetrics after Close: %v, want ErrClosed", err)
	}
	if err := c.Submit(context.Background(), secretSubmission()); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	if reqs, _ := rm.seen(); len(reqs) != 1 {
		t.Errorf("the RM saw %q, want only the call before Close", reqs)
	}

	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	slow := newFakeRM(t, "ACTIVE", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-hung:
		}
	})
	// Two standbys: the call keeps failing over for up to a minute.
	standbys := fakeConfig(newFakeRM(t, "STANDBY", serveMetrics), newFakeRM(t, "STANDBY", serveMetrics))
	standbys.FailoverTimeout = time.Minute
	for name, cfg := range map[string]Config{"waiting for an answer": fakeConfig(slow), "failing over": standbys} {
		c := newTestRESTClient(t, cfg)
		errc := make(chan error, 1)
		go func() {
			_, err := c.ClusterMetrics(context.Background())
			errc <- err
		}()
		time.Sleep(300 * time.Millisecond)
		closed := time.Now()
		c.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("call %s during Close: %v, want ErrClosed", name, err)
			}
			if d := time.Since(closed); d > time.Second {
				t.Errorf("call %s ended %v after Close", name, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a call %s did not end on Close", name)
		}
	}
}

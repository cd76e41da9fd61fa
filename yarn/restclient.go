package yarn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

// RESTClient talks to a cluster's ResourceManager over its REST API
// (/ws/v1/cluster), with the same types as RMClient: the same
// ApplicationSubmission is submitted, the same ApplicationReport comes
// back. It authenticates every request, redirects included, with SPNEGO
// under Kerberos (a fresh token for the host of each hop) and with
// ?user.name= under simple authentication, and keeps the hadoop.auth
// cookie the RM sets.
//
// With several ResourceManagers it sends each call to the active one: it
// asks an RM for /ws/v1/cluster/info (which a standby answers itself) and
// uses it only while it reports haState ACTIVE; it follows a standby's 307
// redirect to the active RM, and moves on to the next RM when one is a
// standby, knows no active RM or cannot be reached, for at most
// Config.FailoverTimeout.
//
// Some of the RPC report is not in the REST API (see ApplicationReport).
// ApplicationMaster and NodeManager calls exist only over RPC.
//
// A RESTClient is safe for concurrent use. Close releases its idle
// connections.
type RESTClient struct {
	rms     []RMAddress
	hc      *retryablehttp.Client
	timeout time.Duration
	log     *slog.Logger
	metrics *rpcMetrics

	mu        sync.Mutex
	current   int
	failovers atomic.Int64
}

// ClusterInfo is what a ResourceManager says about itself
// (/ws/v1/cluster/info, which a standby answers too).
type ClusterInfo struct {
	// ClusterTimestamp is the RM's start time in milliseconds, the first
	// part of the ids of the applications it creates.
	ClusterTimestamp int64
	Started          time.Time
	// State is the RM service's state: "INITED", "STARTED", "STOPPED".
	State string
	// HAState is "ACTIVE", "STANDBY", "INITIALIZING" or "STOPPED"; "ACTIVE"
	// without high availability.
	HAState string
	// StateStore is the class name of the RM's state store.
	StateStore string
	// Version is the ResourceManager's version, HadoopVersion that of its
	// Hadoop libraries.
	Version, HadoopVersion string
	// HAZooKeeperConnectionState describes the RM's link to ZooKeeper for
	// leader election.
	HAZooKeeperConnectionState string
}

// The REST API's root.
const restRoot = "/ws/v1/cluster"

// NewRESTClient checks cfg and returns a client. It needs every
// ResourceManager's Web address. It does not connect; the first call does.
func NewRESTClient(cfg Config) (*RESTClient, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.ResourceManagers = slices.Clone(cfg.ResourceManagers)
	for i, rm := range cfg.ResourceManagers {
		u, err := url.Parse(rm.Web)
		if rm.Web == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configErrorf("ResourceManagers[%d] (%q): Web %q is not an http:// or https:// base URL", i, rm.ID, rm.Web)
		}
		cfg.ResourceManagers[i].Web = strings.TrimSuffix(rm.Web, "/")
	}
	auth := &authTransport{}
	if k := cfg.Kerberos; k != nil {
		auth.krb = k.Client
		auth.principal = k.HTTPPrincipal
		if auth.principal == "" {
			auth.principal = "HTTP/_HOST"
		}
		auth.spns = map[string]string{}
	} else {
		a, err := rpcAuth(&cfg) // resolves the OS user when cfg.User is empty
		if err != nil {
			return nil, err
		}
		auth.user = a.User
	}
	auth.doAs = cfg.ProxyUser
	dialer := cfg.Dialer
	if dialer == nil {
		dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	auth.base = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	timeout := cfg.FailoverTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	c := &RESTClient{
		rms: cfg.ResourceManagers, timeout: timeout, log: cfg.Logger,
		metrics: newRPCMetrics(cfg.Registerer, "rest"),
	}
	c.hc = &retryablehttp.Client{
		// The transport authenticates each hop; the jar keeps each RM's
		// hadoop.auth cookie apart (RMs on one host differ only by port).
		HTTPClient:   &http.Client{Transport: auth, Jar: &originJar{jars: map[string]*cookiejar.Jar{}}},
		RetryWaitMin: 100 * time.Millisecond,
		RetryWaitMax: time.Second,
		RetryMax:     2,
		CheckRetry:   checkRetry,
		Backoff:      retryablehttp.DefaultBackoff,
		// Hand back the last response, so its RemoteException is read.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// checkRetry retries a request on the same RM only when the RM failed with
// a server error (5xx); never once ctx is done, never on a 4xx. A request
// that did not reach the RM is not retried here: do tries the next RM.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil || resp == nil {
		return false, nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}

// Close releases idle connections. Calls after Close still work; it holds
// no other resources.
func (c *RESTClient) Close() error {
	c.hc.HTTPClient.CloseIdleConnections()
	return nil
}

// CurrentRM names the ResourceManager calls go to now.
func (c *RESTClient) CurrentRM() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rmName(c.current)
}

// Failovers counts the client's switches from one ResourceManager to
// another.
func (c *RESTClient) Failovers() int64 { return c.failovers.Load() }

func (c *RESTClient) rmName(i int) string {
	rm := c.rms[i]
	if rm.ID == "" {
		return rm.Web
	}
	return rm.ID + " (" + rm.Web + ")"
}

// setCurrent makes RM i the one calls go to, counting a failover if it was
// another.
func (c *RESTClient) setCurrent(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.switchLocked(i)
}

// advance moves past RM from, unless another call already did.
func (c *RESTClient) advance(from int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == from && len(c.rms) > 1 {
		c.switchLocked((from + 1) % len(c.rms))
	}
}

func (c *RESTClient) switchLocked(i int) {
	if c.current == i {
		return
	}
	from := c.current
	c.current = i
	c.failovers.Add(1)
	if c.metrics != nil {
		c.metrics.failovers.Inc()
	}
	if c.log != nil {
		c.log.Info("yarn: REST failing over", "from", c.rmName(from), "to", c.rmName(i))
	}
}

// restCall is one REST operation.
type restCall struct {
	op, id string // for OpError: "submit", the application id
	method string // metrics label: the ApplicationClientProtocol method it stands for
	verb   string // HTTP method
	path   string // below restRoot
	query  url.Values
	body   any   // encoded as JSON when not nil
	ok     []int // status codes of success; 200 when empty
	// app marks calls about one application, where a 404 means the RM does
	// not know it.
	app bool
}

// errNotActive: the RM answered but is not the active one.
var errNotActive = errors.New("not the active ResourceManager")

// do performs call on the active ResourceManager, decodes a successful
// response into out (unless nil) and returns its status. It is the only
// path by which the client sends requests.
func (c *RESTClient) do(ctx context.Context, call restCall, out any) (int, error) {
	start := time.Now()
	status, err := c.failover(ctx, call, out)
	outcome := "ok"
	switch {
	case err == nil:
	case ctx.Err() != nil:
		outcome = "canceled"
	case errors.Is(err, ErrNoActiveResourceManager):
		outcome = "no_active_rm"
	default:
		outcome = "error"
	}
	if c.metrics != nil {
		c.metrics.requests.WithLabelValues(call.method, outcome).Inc()
		c.metrics.latency.WithLabelValues(call.method).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		return status, &OpError{Op: call.op, ID: call.id, Err: err}
	}
	return status, nil
}

// failover tries the RMs in turn, from the current one, until one that is
// active answers, with backoff after each full round, for at most the
// failover timeout.
func (c *RESTClient) failover(ctx context.Context, call restCall, out any) (int, error) {
	var body []byte
	if call.body != nil {
		var err error
		if body, err = json.Marshal(call.body); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	deadline := start.Add(c.timeout)
	backoff := 100 * time.Millisecond
	var tried []string
	var last error
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		i := c.current
		c.mu.Unlock()
		status, err := c.try(ctx, i, call, body, out)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if !shouldFailOverHTTP(err) {
			return status, err
		}
		last = err
		tried = appendOnce(tried, c.rmName(i)+": "+shortErr(err))
		if c.log != nil {
			c.log.Debug("yarn: ResourceManager unusable", "rm", c.rmName(i), "err", err)
		}
		c.advance(i)
		if (attempt+1)%len(c.rms) == 0 {
			// Wait after every full round of RMs; one last round at the
			// deadline.
			remaining := time.Until(deadline)
			if remaining <= 0 {
				break
			}
			t := time.NewTimer(min(backoff, remaining))
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, ctx.Err()
			case <-t.C:
			}
			backoff = min(backoff*2, 2*time.Second)
		}
	}
	return 0, &noActiveError{
		msg: fmt.Sprintf("%v after %s; tried %s", ErrNoActiveResourceManager,
			time.Since(start).Round(time.Millisecond), strings.Join(tried, "; ")),
		last: last,
	}
}

// noActiveError matches ErrNoActiveResourceManager and the last RM's
// error; its message already quotes each RM's.
type noActiveError struct {
	msg  string
	last error
}

func (e *noActiveError) Error() string   { return e.msg }
func (e *noActiveError) Unwrap() []error { return []error{ErrNoActiveResourceManager, e.last} }

// shouldFailOverHTTP reports whether err means "try another RM": this one
// is not active, or could not be reached.
func shouldFailOverHTTP(err error) bool {
	if errors.Is(err, errNotActive) || errors.Is(err, ErrStandby) {
		return true
	}
	// Credentials no RM would take (a principal the KDC does not know).
	if errors.Is(err, ErrUnauthorized) {
		return false
	}
	// net/http wraps every failure in a *url.Error, itself a net.Error:
	// judge what it wraps.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// try performs call on RM i. With several RMs it first makes sure RM i is
// the active one: a standby may answer REST calls from its own, stale state
// instead of redirecting (Hadoop's MiniYARNCluster does), and only
// /ws/v1/cluster/info is sure to tell. That answer is the call's own when
// the call is for /info.
func (c *RESTClient) try(ctx context.Context, i int, call restCall, body []byte, out any) (int, error) {
	if len(c.rms) > 1 {
		info, _ := out.(*restClusterInfo)
		if call.path != "/info" || info == nil {
			info = &restClusterInfo{}
		}
		status, err := c.send(ctx, i, restCall{verb: http.MethodGet, path: "/info"}, nil, info)
		if err != nil {
			return status, err
		}
		if hs := info.ClusterInfo.HAState; hs != "ACTIVE" {
			return status, fmt.Errorf("%w: haState %s", errNotActive, hs)
		}
		if call.path == "/info" {
			return status, nil
		}
	}
	return c.send(ctx, i, call, body, out)
}

// send performs one request on RM i (following redirects) and reads the
// response.
func (c *RESTClient) send(ctx context.Context, i int, call restCall, body []byte, out any) (int, error) {
	u := c.rms[i].Web + restRoot + call.path
	if len(call.query) > 0 {
		u += "?" + call.query.Encode()
	}
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, call.verb, u, rb)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	server := c.rmName(i)
	if resp.Request != nil && resp.Request.URL.Host != req.URL.Host {
		// A standby redirected us to the active RM: talk to it from now on.
		if j := c.rmAt(ctx, resp.Request.URL); j >= 0 {
			c.setCurrent(j)
			server = c.rmName(j)
		}
	}
	if resp.StatusCode == http.StatusTemporaryRedirect {
		// A redirect Go did not follow: a standby without Location, which
		// knows no active RM (it sends only Refresh).
		return resp.StatusCode, fmt.Errorf("%w: a standby that knows no active RM (HTTP 307, Refresh %q): %s",
			errNotActive, resp.Header.Get("Refresh"), firstLine(data))
	}
	ok := call.ok
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	if !slices.Contains(ok, resp.StatusCode) {
		return resp.StatusCode, restError(resp.StatusCode, data, call.app, server)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding the response: %w", call.verb, restRoot+call.path, err)
		}
	}
	return resp.StatusCode, nil
}

// rmAt returns the index of the RM whose Web address u points at, or -1.
// A standby names the active RM by its configured web address, which may
// spell the host differently ("localhost" for "127.0.0.1").
func (c *RESTClient) rmAt(ctx context.Context, u *url.URL) int {
	for j, rm := range c.rms {
		ru, err := url.Parse(rm.Web)
		if err != nil || ru.Port() != u.Port() {
			continue
		}
		if ru.Hostname() == u.Hostname() || ipc.CanonicalHost(ctx, ru.Hostname()) == ipc.CanonicalHost(ctx, u.Hostname()) {
			return j
		}
	}
	return -1
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// httpStatusError is an error response without a RemoteException body, or
// the cause behind a RemoteError from the REST API: it carries the status
// and the sentinel the failure matches.
type httpStatusError struct {
	status   int
	body     string
	sentinel error
}

func (e *httpStatusError) Error() string {
	s := "HTTP " + strconv.Itoa(e.status) + " " + http.StatusText(e.status)
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

func (e *httpStatusError) Is(target error) bool { return e.sentinel != nil && target == e.sentinel }

// restError turns an error response into a *RemoteError when the RM sent a
// RemoteException, matching the same sentinels as RPC errors, and into an
// *httpStatusError otherwise.
func restError(status int, body []byte, app bool, server string) error {
	cause := &httpStatusError{status: status, sentinel: restSentinel(status, "", app)}
	var re restRemoteException
	if json.Unmarshal(body, &re) != nil || re.RemoteException == nil {
		cause.body = firstLine(body)
		return cause
	}
	x := re.RemoteException
	class := x.JavaClassName
	if class == "" {
		class = x.Exception
	}
	cause.sentinel = restSentinel(status, class, app)
	msg, _, _ := strings.Cut(x.Message, "\n")
	return &RemoteError{Class: class, Message: strings.TrimSpace(msg), Server: server, cause: cause}
}

// restSentinel maps an error response to a sentinel: by the Java class as
// over RPC, else by what the web services mean by the status (they report
// an unknown application as a generic 404 NotFoundException).
func restSentinel(status int, class string, app bool) error {
	if s := ipc.SentinelForClass(class); s != nil {
		return s
	}
	switch {
	case status == http.StatusNotFound && app:
		return ErrApplicationNotFound
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrAccessControl
	}
	return nil
}

// authTransport authenticates every request it sends, each redirect hop
// on its own: under Kerberos with a SPNEGO token for the service principal
// of the hop's host, under simple authentication with ?user.name=.
type authTransport struct {
	base      http.RoundTripper
	krb       *krbclient.Client
	principal string // HTTP principal, "HTTP/_HOST" by default
	user      string // simple authentication
	doAs      string // proxy user

	mu   sync.Mutex
	spns map[string]string // host -> SPN
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	changed := false
	if t.krb == nil && t.user != "" && q.Get("user.name") == "" {
		q.Set("user.name", t.user)
		changed = true
	}
	if t.doAs != "" && q.Get("doAs") == "" {
		q.Set("doAs", t.doAs)
		changed = true
	}
	if changed {
		r2.URL.RawQuery = q.Encode()
	}
	if t.krb != nil {
		spn := t.spn(r2.Context(), r2.URL.Hostname())
		if err := spnego.SetSPNEGOHeader(t.krb, r2, spn); err != nil {
			// Not a network failure: no other RM would do better.
			return nil, &authError{spn: spn, err: err}
		}
	}
	return t.base.RoundTrip(r2)
}

// spn is the principal for host: the configured one with _HOST replaced,
// without its realm (gokrb5 finds the realm itself).
func (t *authTransport) spn(ctx context.Context, host string) string {
	t.mu.Lock()
	spn, ok := t.spns[host]
	t.mu.Unlock()
	if ok {
		return spn
	}
	spn, _, _ = strings.Cut(t.principal, "@")
	if strings.Contains(spn, "_HOST") {
		spn = strings.ReplaceAll(spn, "_HOST", ipc.CanonicalHost(ctx, host))
	}
	t.mu.Lock()
	t.spns[host] = spn
	t.mu.Unlock()
	return spn
}

// authError: no SPNEGO token could be made (no TGT, no such service
// principal). It matches ErrUnauthorized.
type authError struct {
	spn string
	err error
}

func (e *authError) Error() string {
	return fmt.Sprintf("SPNEGO for %s: %v", e.spn, e.err)
}

func (e *authError) Is(target error) bool { return target == ErrUnauthorized }
func (e *authError) Unwrap() error        { return e.err }

// originJar keeps cookies per scheme, host and port: a cookie jar by the
// book shares cookies across ports, but two RMs on one host each sign
// their own hadoop.auth cookie.
type originJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *originJar) jar(u *url.URL) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	key := u.Scheme + "://" + u.Host
	jar := j.jars[key]
	if jar == nil {
		jar, _ = cookiejar.New(nil) // never fails without options
		j.jars[key] = jar
	}
	return jar
}

func (j *originJar) SetCookies(u *url.URL, cookies []*http.Cookie) { j.jar(u).SetCookies(u, cookies) }
func (j *originJar) Cookies(u *url.URL) []*http.Cookie             { return j.jar(u).Cookies(u) }

// ------------------------------------------------------------------ calls

func appPath(id ApplicationID) string { return "/apps/" + url.PathEscape(id.String()) }

// ClusterInfo returns what the active ResourceManager says about itself.
func (c *RESTClient) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	var r restClusterInfo
	if _, err := c.do(ctx, restCall{op: "cluster info", method: "getClusterInfo", verb: http.MethodGet, path: "/info"}, &r); err != nil {
		return ClusterInfo{}, err
	}
	return r.toClusterInfo(), nil
}

// ClusterMetrics returns the cluster's node counts.
func (c *RESTClient) ClusterMetrics(ctx context.Context) (ClusterMetrics, error) {
	var r restClusterMetrics
	if _, err := c.do(ctx, restCall{op: "cluster metrics", method: "getClusterMetrics", verb: http.MethodGet, path: "/metrics"}, &r); err != nil {
		return ClusterMetrics{}, err
	}
	return r.toMetrics(), nil
}

// Nodes lists the cluster's NodeManagers in the given states; with no
// states, those the RM lists by default, as RMClient.Nodes.
func (c *RESTClient) Nodes(ctx context.Context, states ...NodeState) ([]NodeReport, error) {
	call := restCall{op: "list nodes", method: "getClusterNodes", verb: http.MethodGet, path: "/nodes"}
	if len(states) > 0 {
		names := make([]string, len(states))
		for i, s := range states {
			names[i] = s.String()
		}
		call.query = url.Values{"states": {strings.Join(names, ",")}}
	}
	var r restNodes
	if _, err := c.do(ctx, call, &r); err != nil {
		return nil, err
	}
	var out []NodeReport
	if r.Nodes != nil {
		for _, n := range r.Nodes.Node {
			nr, err := n.toReport()
			if err != nil {
				return nil, &OpError{Op: "list nodes", Err: err}
			}
			out = append(out, nr)
		}
	}
	return out, nil
}

// QueueInfo describes a scheduler queue by leaf name ("default") or path
// ("root.default"), as RMClient.QueueInfo. The REST API gives the queue
// tree of the capacity and FIFO schedulers; Statistics and Applications
// stay empty.
func (c *RESTClient) QueueInfo(ctx context.Context, queue string, children, recursive bool) (QueueInfo, error) {
	var r restScheduler
	if _, err := c.do(ctx, restCall{op: "queue info", id: queue, method: "getQueueInfo", verb: http.MethodGet, path: "/scheduler"}, &r); err != nil {
		return QueueInfo{}, err
	}
	root := &r.Scheduler.SchedulerInfo
	if root.Type == "fifoScheduler" && root.QueueName == "" {
		root.QueueName, root.QueuePath = "default", "default"
	}
	q := root.find(queue)
	if q == nil {
		return QueueInfo{}, &OpError{Op: "queue info", ID: queue,
			Err: fmt.Errorf("no such queue in the %s scheduler's REST answer", root.Type)}
	}
	return q.toQueueInfo(children, recursive), nil
}

// NewApplication asks the RM for a new application id, and the largest
// container the scheduler grants.
func (c *RESTClient) NewApplication(ctx context.Context) (ApplicationID, Resource, error) {
	var r restNewApplication
	if _, err := c.do(ctx, restCall{op: "new application", method: "getNewApplication", verb: http.MethodPost, path: "/apps/new-application"}, &r); err != nil {
		return ApplicationID{}, Resource{}, err
	}
	id, err := ParseApplicationID(r.ApplicationID)
	if err != nil {
		return ApplicationID{}, Resource{}, &OpError{Op: "new application", Err: err}
	}
	return id, r.MaximumResourceCapability.toResource(), nil
}

// Submit submits an application, as RMClient.Submit does. A submission
// using what the REST API cannot express (a Lifetime, SchedulingProperties,
// custom resource types for the AM, a retry policy or TokensConf for its
// container, a local resource Pattern or UploadToSharedCache) is refused
// before anything is sent. The RM must allow REST submissions
// (yarn.webapp.enable-rest-app-submissions, true by default).
func (c *RESTClient) Submit(ctx context.Context, s *ApplicationSubmission) error {
	id := s.ID.String()
	if err := s.Validate(); err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	body, err := submissionToREST(s)
	if err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	_, err = c.do(ctx, restCall{op: "submit", id: id, method: "submitApplication", verb: http.MethodPost,
		path: "/apps", body: body, ok: []int{http.StatusAccepted, http.StatusOK}}, nil)
	return err
}

// appQuery leaves out the pending resource requests, which the RM
// otherwise lists in full for every application.
var appQuery = url.Values{"deSelects": {"resourceRequests"}}

// ApplicationReport returns the RM's report of an application. An
// application the RM does not know gives an error matching
// ErrApplicationNotFound.
//
// The REST API does not carry all of the RPC report: OriginalTrackingURL,
// Submitted, ClientToAMToken and AMRMToken stay empty, and
// Usage.ReservedContainers is 0 while the application runs. CurrentAttempt
// is read from the application's attempts, with a second request.
func (c *RESTClient) ApplicationReport(ctx context.Context, id ApplicationID) (ApplicationReport, error) {
	var r restAppWrapper
	if _, err := c.do(ctx, restCall{op: "application report", id: id.String(), method: "getApplicationReport",
		verb: http.MethodGet, path: appPath(id), query: appQuery, app: true}, &r); err != nil {
		return ApplicationReport{}, err
	}
	if r.App == nil {
		return ApplicationReport{}, &OpError{Op: "application report", ID: id.String(), Err: errors.New("the RM sent no app")}
	}
	rep, err := r.App.toReport()
	if err != nil {
		return ApplicationReport{}, &OpError{Op: "application report", ID: id.String(), Err: err}
	}
	switch rep.State {
	case ApplicationNew, ApplicationNewSaving, ApplicationSubmitted:
		// No attempt yet.
	default:
		attempts, err := c.ApplicationAttempts(ctx, id)
		if err != nil {
			return ApplicationReport{}, err
		}
		for _, a := range attempts {
			if a.ID.Attempt > rep.CurrentAttempt.Attempt {
				rep.CurrentAttempt = a.ID
			}
		}
	}
	return rep, nil
}

// Applications lists the applications f selects, as RMClient.Applications
// does; CurrentAttempt is not filled in (see ApplicationReport). The REST
// API filters by one user and one queue: with several, this client filters
// them itself. It has no scopes: f.Scope must be ScopeAll.
func (c *RESTClient) Applications(ctx context.Context, f ApplicationFilter) ([]ApplicationReport, error) {
	if f.Scope != ScopeAll {
		return nil, &OpError{Op: "list applications", Err: errors.New("the REST API lists applications only as ScopeAll")}
	}
	q := url.Values{"deSelects": {"resourceRequests"}}
	join := func(key string, vals []string) {
		if len(vals) > 0 {
			q.Set(key, strings.Join(vals, ","))
		}
	}
	var states []string
	for _, s := range f.States {
		states = append(states, s.String())
	}
	join("states", states)
	join("applicationTypes", f.Types)
	join("applicationTags", f.Tags)
	if len(f.Users) == 1 {
		q.Set("user", f.Users[0])
	}
	if len(f.Queues) == 1 {
		q.Set("queue", f.Queues[0])
	}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if f.Limit > 0 && len(f.Users) <= 1 && len(f.Queues) <= 1 {
		q.Set("limit", strconv.FormatInt(f.Limit, 10))
	}
	millis := func(key string, t time.Time) {
		if !t.IsZero() {
			q.Set(key, strconv.FormatInt(t.UnixMilli(), 10))
		}
	}
	millis("startedTimeBegin", f.StartedFrom)
	millis("startedTimeEnd", f.StartedTo)
	millis("finishedTimeBegin", f.FinishedFrom)
	millis("finishedTimeEnd", f.FinishedTo)

	var r restApps
	if _, err := c.do(ctx, restCall{op: "list applications", method: "getApplications", verb: http.MethodGet, path: "/apps", query: q}, &r); err != nil {
		return nil, err
	}
	var out []ApplicationReport
	if r.Apps == nil {
		return nil, nil
	}
	for _, a := range r.Apps.App {
		rep, err := a.toReport()
		if err != nil {
			return nil, &OpError{Op: "list applications", Err: err}
		}
		if len(f.Users) > 1 && !slices.Contains(f.Users, rep.User) {
			continue
		}
		if len(f.Queues) > 1 && !slices.ContainsFunc(f.Queues, func(q string) bool { return queueMatches(q, rep.Queue) }) {
			continue
		}
		out = append(out, rep)
		if f.Limit > 0 && int64(len(out)) == f.Limit {
			break
		}
	}
	return out, nil
}

// queueMatches reports whether a filter's queue (a leaf name or a path)
// names the application's queue (a path, "root.default").
func queueMatches(filter, queue string) bool {
	return filter == queue || strings.HasSuffix(queue, "."+filter)
}

// Kill asks the RM to kill an application and returns whether the kill has
// completed (HTTP 200); the RM accepts it (202) and finishes it
// asynchronously. Use KillAndWait to wait.
func (c *RESTClient) Kill(ctx context.Context, id ApplicationID, diagnostics string) (bool, error) {
	status, err := c.do(ctx, restCall{op: "kill", id: id.String(), method: "forceKillApplication", verb: http.MethodPut,
		path: appPath(id) + "/state", body: restAppState{State: "KILLED", Diagnostics: diagnostics},
		ok: []int{http.StatusOK, http.StatusAccepted}, app: true}, nil)
	return err == nil && status == http.StatusOK, err
}

// KillAndWait kills an application and returns its report once the RM has
// it in a final state. It repeats the kill until the RM answers that it is
// done, so a kill lost in a failover is sent again.
func (c *RESTClient) KillAndWait(ctx context.Context, id ApplicationID, diagnostics string) (ApplicationReport, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := c.Kill(ctx, id, diagnostics)
		if err != nil {
			return ApplicationReport{}, err
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return ApplicationReport{}, &OpError{Op: "kill", ID: id.String(), Err: fmt.Errorf("not killed yet: %w", ctx.Err())}
		case <-t.C:
		}
	}
	return c.WaitForState(ctx, id, 100*time.Millisecond, func(r ApplicationReport) bool { return r.State.IsFinal() })
}

// WaitForState polls the application's report every interval until done
// returns true for it, and returns that report.
func (c *RESTClient) WaitForState(ctx context.Context, id ApplicationID, interval time.Duration, done func(ApplicationReport) bool) (ApplicationReport, error) {
	return waitForState(ctx, id, interval, done, c.ApplicationReport)
}

// ApplicationAttempts lists an application's ApplicationMaster attempts.
// The REST API gives each attempt's id, state, AM container and times, but
// not its host, RPC port, tracking URLs or diagnostics.
func (c *RESTClient) ApplicationAttempts(ctx context.Context, id ApplicationID) ([]ApplicationAttemptReport, error) {
	var r restAttempts
	if _, err := c.do(ctx, restCall{op: "list attempts", id: id.String(), method: "getApplicationAttempts",
		verb: http.MethodGet, path: appPath(id) + "/appattempts", app: true}, &r); err != nil {
		return nil, err
	}
	var out []ApplicationAttemptReport
	if r.AppAttempts != nil {
		for _, a := range r.AppAttempts.AppAttempt {
			ar, err := a.toReport()
			if err != nil {
				return nil, &OpError{Op: "list attempts", ID: id.String(), Err: err}
			}
			out = append(out, ar)
		}
	}
	return out, nil
}

// Containers lists the running containers of an application attempt.
func (c *RESTClient) Containers(ctx context.Context, attempt ApplicationAttemptID) ([]ContainerReport, error) {
	var r restContainers
	path := appPath(attempt.Application) + "/appattempts/" + url.PathEscape(attempt.String()) + "/containers"
	if _, err := c.do(ctx, restCall{op: "list containers", id: attempt.String(), method: "getContainers",
		verb: http.MethodGet, path: path, app: true}, &r); err != nil {
		return nil, err
	}
	var out []ContainerReport
	for _, rc := range r.list() {
		cr, err := rc.toReport()
		if err != nil {
			return nil, &OpError{Op: "list containers", ID: attempt.String(), Err: err}
		}
		out = append(out, cr)
	}
	return out, nil
}

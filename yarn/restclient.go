package yarn

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
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
// Redirects are followed only to the configured ResourceManagers' web
// origins (scheme, host and port), and never from https to http: the
// request carries SPNEGO or user.name, and a submission's body carries
// token passwords. A redirect elsewhere fails the call with an error
// matching ErrUnsafeRedirect, and nothing is sent to its target.
//
// A RESTClient is safe for concurrent use. Close cancels the calls under
// way and releases idle connections; those calls, and any after Close,
// fail with an error matching ErrClosed.
type RESTClient struct {
	rms     []RMAddress
	hc      *retryablehttp.Client
	timeout time.Duration
	log     *slog.Logger
	metrics *rpcMetrics

	callsMu sync.Mutex
	closed  bool
	calls   map[*restCallState]struct{} // calls under way, for Close to cancel

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
		calls:   map[*restCallState]struct{}{},
	}
	c.hc = &retryablehttp.Client{
		// The transport authenticates each hop; the jar keeps each RM's
		// hadoop.auth cookie apart (RMs on one host differ only by port);
		// checkRedirect keeps every hop on a configured RM.
		HTTPClient: &http.Client{
			Transport:     auth,
			Jar:           &originJar{jars: map[string]*cookiejar.Jar{}},
			CheckRedirect: c.checkRedirect,
		},
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

// Close cancels the calls under way, which fail with an error matching
// ErrClosed, and releases idle connections. Calls after Close fail with
// ErrClosed too. Close is idempotent.
func (c *RESTClient) Close() error {
	c.callsMu.Lock()
	c.closed = true
	calls := c.calls
	c.calls = map[*restCallState]struct{}{}
	c.callsMu.Unlock()
	for st := range calls {
		st.cancel(ErrClosed)
	}
	c.hc.HTTPClient.CloseIdleConnections()
	return nil
}

// isClosed reports whether Close was called.
func (c *RESTClient) isClosed() bool {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	return c.closed
}

// restCallState is one call under way, which Close can cancel.
type restCallState struct{ cancel context.CancelCauseFunc }

// begin registers a call under way: it returns the call's context, which
// Close cancels with cause ErrClosed, and the function that ends the call,
// or ErrClosed after Close.
func (c *RESTClient) begin(ctx context.Context) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	st := &restCallState{cancel: cancel}
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	if c.closed {
		cancel(nil)
		return nil, nil, ErrClosed
	}
	c.calls[st] = struct{}{}
	return ctx, func() {
		c.callsMu.Lock()
		delete(c.calls, st)
		c.callsMu.Unlock()
		cancel(nil)
	}, nil
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

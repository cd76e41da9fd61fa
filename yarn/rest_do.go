package yarn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/spindle-yarn/spindle/internal/failover"
	"github.com/spindle-yarn/spindle/internal/ipc"
)

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
	callCtx, end, err := c.begin(ctx)
	if err != nil {
		return 0, &OpError{Op: call.op, ID: call.id, Err: err}
	}
	defer end()
	start := time.Now()
	status, err := c.failover(callCtx, call, out)
	outcome := "ok"
	switch {
	case err == nil:
	case ctx.Err() == nil && context.Cause(callCtx) == ErrClosed:
		// Close canceled the call, not the caller.
		outcome = "closed"
		err = ErrClosed
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
	rounds := failover.NewRounds(len(c.rms), c.timeout, 0, 0)
	var tried []string
	var last error
	for {
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
		// Wait after every full round of RMs; one last round at the
		// deadline.
		more, err := rounds.Next(ctx)
		if err != nil {
			return 0, err
		}
		if !more {
			break
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
		if j := c.rmOrigin(ctx, resp.Request.URL); j >= 0 {
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
	return ipc.NewServiceError(class, strings.TrimSpace(msg), server, cause, yarnExceptions)
}

// restSentinel maps an error response to a sentinel: by the Java class as
// over RPC, else by what the web services mean by the status (they report
// an unknown application as a generic 404 NotFoundException).
func restSentinel(status int, class string, app bool) error {
	if s := yarnExceptions[class]; s != nil {
		return s
	}
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

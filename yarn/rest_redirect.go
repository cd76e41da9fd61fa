package yarn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrUnsafeRedirect is matched by the error of a REST call that a server
// redirected somewhere the RESTClient does not send credentials: an origin
// that is none of the configured ResourceManagers' web addresses, or http
// after https. The error is a *RedirectError.
var ErrUnsafeRedirect = errors.New("yarn: unsafe redirect refused")

// RedirectError is a redirect the RESTClient refused to follow. Nothing was
// sent to its target.
type RedirectError struct {
	// From and To are the origins ("scheme://host:port") of the request
	// that was redirected and of the redirect's Location.
	From, To string
	// Reason says why the redirect was refused.
	Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused redirect from %s to %s: %s", e.From, e.To, e.Reason)
}

// Is makes errors.Is(err, ErrUnsafeRedirect) true.
func (e *RedirectError) Is(target error) bool { return target == ErrUnsafeRedirect }

// maxRedirects is net/http's default limit, which a CheckRedirect of our
// own replaces.
const maxRedirects = 10

// checkRedirect is the http.Client's CheckRedirect. A standby RM redirects
// to the active one; every hop carries SPNEGO or user.name, and a
// submission's body carries token passwords, so a hop may go only to a
// configured RM's web origin and never from https down to http.
//
// The hop is sent to the RM's address as configured, not as the Location
// spells it: the Location's host was matched by resolving it, and the
// dial must not resolve it again to somewhere else.
func (c *RESTClient) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	refuse := func(reason string) error {
		return &RedirectError{From: origin(via[len(via)-1].URL), To: origin(req.URL), Reason: reason}
	}
	for _, v := range via {
		if v.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return refuse("it would leave https for " + req.URL.Scheme)
		}
	}
	j := c.rmOrigin(req.Context(), req.URL)
	if j < 0 {
		return refuse("it is not the web address of a configured ResourceManager")
	}
	rm, err := url.Parse(c.rms[j].Web)
	if err != nil { // NewRESTClient parsed it already
		return refuse(err.Error())
	}
	req.URL.Host = rm.Host
	req.Host = ""
	return nil
}

// rmOrigin returns the index of the RM whose web origin u is, or -1. The
// scheme and port must be the same; the host must be spelled the same or
// resolve to an address the RM's host resolves to: a standby names the
// active RM by its configured web address, which may spell the host
// differently ("localhost" where the client has "127.0.0.1"). Reverse DNS
// is not used: whoever owns an address controls its PTR record.
func (c *RESTClient) rmOrigin(ctx context.Context, u *url.URL) int {
	type candidate struct {
		j    int
		host string
	}
	var same []candidate
	for j, rm := range c.rms {
		ru, err := url.Parse(rm.Web)
		if err != nil || ru.Scheme != u.Scheme || originPort(ru) != originPort(u) {
			continue
		}
		if strings.EqualFold(ru.Hostname(), u.Hostname()) {
			return j
		}
		same = append(same, candidate{j, ru.Hostname()})
	}
	if len(same) == 0 {
		return -1
	}
	want := resolveHost(ctx, u.Hostname())
	for _, cand := range same {
		for _, ip := range resolveHost(ctx, cand.host) {
			for _, w := range want {
				if ip.Equal(w) {
					return cand.j
				}
			}
		}
	}
	return -1
}

// resolveHost returns host's addresses: itself for an IP literal, none
// when it does not resolve.
func resolveHost(ctx context.Context, host string) []net.IP {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil
	}
	out := make([]net.IP, len(addrs))
	for i, a := range addrs {
		out[i] = a.IP
	}
	return out
}

// originPort is u's port, or its scheme's default.
func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// origin is "scheme://host:port" of u, without path, query or user
// information.
func origin(u *url.URL) string {
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), originPort(u))
}

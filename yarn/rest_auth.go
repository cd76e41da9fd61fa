package yarn

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

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

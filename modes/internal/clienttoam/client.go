package clienttoam

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// Transport is an http.RoundTripper that authenticates to a JobManager
// with a ClientToAMToken over TLS (HTTP/1.1), one request at a time per
// connection, keeping idle connections for reuse. It dials the request's
// URL host itself: each connection's channel binding must be known before
// its first request is written, which http.Transport does not allow.
//
// It is safe for concurrent use; CloseIdleConnections closes the idle
// connections (http.Client.CloseIdleConnections calls it).
type Transport struct {
	// Token is the ClientToAMToken from the application report. Required.
	Token yarn.Token
	// DialTimeout bounds the TCP connect and TLS handshake; zero means
	// 10 s.
	DialTimeout time.Duration

	mu   sync.Mutex
	idle []*conn
}

type conn struct {
	tc     *tls.Conn
	br     *bufio.Reader
	exp    []byte
	dialed string // host:port as dialled, the idle list's key
}

// clientTLS authenticates nobody: the server's certificate is on a key
// only the deployment's secret holders know, so a client without the
// secret cannot check it. The server proves itself with ServerProof
// over this very connection instead.
func clientTLS(host string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		MaxVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
		ServerName:         host,
	}
}

// RoundTrip sends req on a connection whose server proved it knows the
// token's password, and returns the answer only when it carries the
// server's proof. A request that fails on a kept connection the server
// may have closed meanwhile is sent once more on a new one, when its
// body can be sent again.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.Token.Identifier) == 0 || len(t.Token.Password) == 0 {
		closeBody(req)
		return nil, errors.New("clienttoam: the Transport has no token")
	}
	for try := 0; ; try++ {
		c, reused, err := t.conn(req.Context(), req.URL.Host, try == 0)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.send(req.Context(), c, req, t.keep(c))
		if err == nil {
			return resp, nil
		}
		c.tc.Close()
		if !reused || req.Context().Err() != nil || errors.Is(err, ErrUnauthenticated) {
			return nil, err
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			b, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = b
		}
	}
}

// keep is the end of an answer's body on c: a connection whose answer
// was read whole goes back to the idle list.
func (t *Transport) keep(c *conn) func(bool) {
	return func(reusable bool) {
		if !reusable {
			c.tc.Close()
			return
		}
		t.mu.Lock()
		t.idle = append(t.idle, c)
		t.mu.Unlock()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// conn returns an idle connection to addr (when mayReuse) or a new one
// whose server answered the probe with a valid proof; reused says which.
func (t *Transport) conn(ctx context.Context, addr string, mayReuse bool) (c *conn, reused bool, err error) {
	t.mu.Lock()
	for mayReuse && len(t.idle) > 0 {
		c := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if c.dialed == addr {
			t.mu.Unlock()
			return c, true, nil
		}
		c.tc.Close()
	}
	t.mu.Unlock()
	timeout := t.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, false, err
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &tls.Dialer{Config: clientTLS(host)}
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	tc := nc.(*tls.Conn)
	cs := tc.ConnectionState()
	exp, err := Exporter(&cs)
	if err != nil {
		tc.Close()
		return nil, false, err
	}
	c = &conn{tc: tc, br: bufio.NewReader(tc), exp: exp, dialed: addr}
	probe, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+ProbePath, nil)
	if err != nil {
		tc.Close()
		return nil, false, err
	}
	usable := false
	resp, err := t.send(ctx, c, probe, func(ok bool) { usable = ok })
	if err != nil {
		tc.Close()
		return nil, false, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		tc.Close()
		return nil, false, fmt.Errorf("%w: the JobManager refused the ClientToAMToken (%d): %s", ErrUnauthenticated, resp.StatusCode, trimMsg(msg))
	}
	if !usable {
		tc.Close()
		return nil, false, errors.New("clienttoam: the JobManager closed the connection after the probe")
	}
	return c, false, nil
}

func trimMsg(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// send writes req on c with the client's proof and reads the answer,
// checking the server's proof. Closing the answer's body calls done,
// telling whether c can carry another request.
func (t *Transport) send(ctx context.Context, c *conn, req *http.Request, done func(reusable bool)) (*http.Response, error) {
	r := req.Clone(ctx)
	r.Header.Set("Authorization", FormatAuthorization(t.Token.Identifier, ClientProof(t.Token.Password, c.exp)))
	r.Close = false
	// A cancelled request closes the connection, which unblocks any read
	// or write on it.
	stop := context.AfterFunc(ctx, func() { c.tc.Close() })
	if err := r.Write(c.tc); err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(c.br, r)
	if err == nil && ctx.Err() != nil {
		// Cancelled while the answer came: the server may have answered
		// only because the cancel closed the connection under it.
		resp.Body.Close()
		err = ctx.Err()
	}
	if err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	got, derr := base64.StdEncoding.DecodeString(resp.Header.Get(ProofHeader))
	if derr != nil || !hmac.Equal(got, ServerProof(t.Token.Password, c.exp)) {
		stop()
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return nil, fmt.Errorf("%w: the JobManager refused the ClientToAMToken: %s", ErrUnauthenticated, trimMsg(msg))
		}
		return nil, fmt.Errorf("%w: the server at %s did not prove it is the application's ApplicationMaster (answer %d without a valid %s)", ErrUnauthenticated, c.dialed, resp.StatusCode, ProofHeader)
	}
	resp.Body = &body{ReadCloser: resp.Body, done: done, stop: stop, reuse: !resp.Close}
	return resp, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// body reports, when closed, whether its connection can be reused: read
// to its end (what is left of a JSON answer is drained), not cancelled,
// and not marked Connection: close.
type body struct {
	io.ReadCloser
	done  func(reusable bool)
	stop  func() bool
	reuse bool
	eof   bool
	once  sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if !b.eof && b.reuse {
		// A decoder stops after its value; the newline after it is all
		// that is usually left.
		if _, err := io.CopyN(io.Discard, b, 4<<10); err == io.EOF {
			b.eof = true
		}
	}
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		// stop reports false when the context already closed the
		// connection.
		b.done(b.stop() && b.eof && b.reuse && err == nil)
	})
	return err
}

// CloseIdleConnections closes the connections kept for reuse.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.tc.Close()
	}
}

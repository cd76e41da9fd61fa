package ipc

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// Dialer opens connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Config configures a Client. Only Addr, Protocol and Auth are required.
type Config struct {
	// Addr is the server's host:port.
	Addr string

	// Protocol is the protocol name every call declares and the connection
	// context names, e.g. "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"
	// or "org.apache.hadoop.hdfs.protocol.ClientProtocol".
	Protocol string

	// Auth is the identity the connections present.
	Auth Auth

	// Idempotent says which methods may be repeated after a connection
	// failure, mirroring Hadoop's @Idempotent and @AtMostOnce annotations:
	// methodName -> true for idempotent methods. A method missing from the
	// map is not idempotent; it is repeated only when it provably never
	// reached the server (it failed before any byte of it was written).
	// The Client keeps its own copy.
	Idempotent map[string]bool

	// MaxRetries bounds how often a call is repeated after a connection
	// failure. 0 means 3; negative means never.
	MaxRetries int

	// RetryBackoff is the wait before the first repeat; each further
	// repeat doubles it, up to MaxRetryBackoff, with random jitter. 0 means
	// 100ms; MaxRetryBackoff 0 means 5s.
	RetryBackoff, MaxRetryBackoff time.Duration

	// ConnectTimeout bounds dialing and authenticating one connection.
	// 0 means 20s (Hadoop's ipc.client.connect.timeout).
	ConnectTimeout time.Duration

	// PingInterval is how long a server may stay silent while calls wait
	// before the client sends a ping (Hadoop's ipc.ping.interval). 0 means
	// 60s; negative disables pings.
	PingInterval time.Duration

	// IdleTimeout closes a connection no call has used for this long; the
	// next call dials again (Hadoop's ipc.client.connection.maxidletime).
	// 0 means 10s; negative keeps connections open until the server
	// closes them.
	IdleTimeout time.Duration

	// MaxResponseLength bounds one response packet. 0 means
	// DefaultMaxResponseLength.
	MaxResponseLength int

	// ClientID is the 16-byte id the server's retry cache knows this client
	// by. Nil means a random one (a version 4 UUID, as Java makes).
	ClientID []byte

	// Dialer opens connections. Nil means a net.Dialer.
	Dialer Dialer

	// Logger receives debug records of connections, authentication,
	// retries and pings. Nil means silent.
	Logger *slog.Logger
}

// Client calls one protocol on one server as one identity. It holds at most
// one connection, dialed on first use and again after the server or the
// idle timeout closed it; every concurrent call shares it.
//
// A Client is safe for concurrent use. Close it to release its connection
// and goroutines.
type Client struct {
	cfg        Config
	host       string // Addr's host, for _HOST
	clientID   []byte
	idempotent map[string]bool
	dialer     Dialer
	log        *slog.Logger

	nextID atomic.Uint32

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // dial and conn goroutines

	mu      sync.Mutex
	closed  bool
	cur     *conn
	dialing *dialResult // the dial in progress, if any
}

// dialResult is the outcome of one dial, shared by every call waiting on
// it.
type dialResult struct {
	done chan struct{}
	conn *conn
	err  error
}

// New checks cfg and returns a Client. It does not dial: the first call
// does.
func New(cfg Config) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("ipc: Config.Addr is empty")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ipc: Config.Addr: %w", err)
	}
	if cfg.Protocol == "" {
		return nil, errors.New("ipc: Config.Protocol is empty")
	}
	if err := cfg.Auth.validate(); err != nil {
		return nil, fmt.Errorf("ipc: Config.%w", err)
	}
	if cfg.ClientID != nil && len(cfg.ClientID) != 16 {
		return nil, fmt.Errorf("ipc: Config.ClientID has %d bytes, want 16", len(cfg.ClientID))
	}
	c := &Client{
		cfg:        cfg,
		host:       host,
		idempotent: maps.Clone(cfg.Idempotent),
		dialer:     cfg.Dialer,
		log:        cfg.Logger,
	}
	if c.clientID = cfg.ClientID; c.clientID == nil {
		c.clientID = make([]byte, 16)
		crand.Read(c.clientID)
		c.clientID[6] = c.clientID[6]&0x0f | 0x40 // UUID version 4
		c.clientID[8] = c.clientID[8]&0x3f | 0x80 // RFC 4122 variant
	}
	c.clientID = append([]byte(nil), c.clientID...)
	if c.dialer == nil {
		c.dialer = &net.Dialer{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg.MaxRetries == 0 {
		c.cfg.MaxRetries = 3
	}
	if c.cfg.RetryBackoff <= 0 {
		c.cfg.RetryBackoff = 100 * time.Millisecond
	}
	if c.cfg.MaxRetryBackoff <= 0 {
		c.cfg.MaxRetryBackoff = 5 * time.Second
	}
	if c.cfg.ConnectTimeout <= 0 {
		c.cfg.ConnectTimeout = 20 * time.Second
	}
	if c.cfg.PingInterval == 0 {
		c.cfg.PingInterval = 60 * time.Second
	}
	if c.cfg.IdleTimeout == 0 {
		c.cfg.IdleTimeout = 10 * time.Second
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// ClientID returns the 16-byte client id sent with every call.
func (c *Client) ClientID() []byte { return append([]byte(nil), c.clientID...) }

func (c *Client) maxResponseLength() int {
	if c.cfg.MaxResponseLength > 0 {
		return c.cfg.MaxResponseLength
	}
	return DefaultMaxResponseLength
}

// Call invokes method with req and decodes the server's answer into resp.
//
// It returns ctx.Err() once ctx ends, without waiting for the server; the
// connection stays usable. A failure the server reports for the call is a
// *RemoteError (match the sentinels with errors.Is). A failed connection
// is a *ConnError; Call repeats the call on a new connection first, if the
// method is idempotent or the call never reached the server, up to
// MaxRetries times, with the same call id and, when an earlier copy may
// have reached the server, an incremented retry count.
func (c *Client) Call(ctx context.Context, method string, req, resp proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("ipc: %s: encoding the request: %w", method, err)
	}
	mh := &pb.RequestHeaderProto{
		MethodName:                 proto.String(method),
		DeclaringClassProtocolName: proto.String(c.cfg.Protocol),
		ClientProtocolVersion:      proto.Uint64(1),
	}
	id := int32(c.nextID.Add(1)-1) & 0x7fffffff
	idempotent := c.idempotent[method]
	// retry counts the earlier attempts that may have reached the server:
	// the server sees 0 on the first copy of the call it can receive.
	var retry int32
	for attempt := 0; ; attempt++ {
		out, sent, err := c.attempt(ctx, id, retry, method, mh, body)
		if sent {
			retry++
		}
		if err == nil {
			if err := proto.Unmarshal(out, resp); err != nil {
				return fmt.Errorf("ipc: %s: decoding the response: %w", method, err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c.isClosed() {
			return fmt.Errorf("ipc: %s: %w", method, ErrClosed)
		}
		var re *RemoteError
		if errors.As(err, &re) && !re.Fatal {
			return err // the server answered: the call itself failed
		}
		if !retryable(err) || (sent && !idempotent) || attempt >= c.cfg.MaxRetries {
			return fmt.Errorf("ipc: %s: %w", method, err)
		}
		wait := c.backoff(attempt)
		c.log.Debug("ipc: repeating call", "addr", c.cfg.Addr, "method", method, "call_id", id,
			"retry", attempt+1, "reached_server", sent, "after", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-c.ctx.Done():
			t.Stop()
			return fmt.Errorf("ipc: %s: %w", method, ErrClosed)
		}
	}
}

func (c *Client) attempt(ctx context.Context, id, retry int32, method string, mh *pb.RequestHeaderProto, body []byte) ([]byte, bool, error) {
	cn, err := c.getConn(ctx)
	if err != nil {
		return nil, false, err
	}
	pkt, err := appendPacket(nil, body, requestHeader(id, c.clientID, retry), mh)
	if err != nil {
		return nil, false, err
	}
	return cn.roundTrip(ctx, id, method, pkt)
}

// retryable reports whether err is a connection failure that a new
// connection may not meet: not one the server explained (a FATAL reply),
// nor an authentication failure, nor a protocol violation.
func retryable(err error) bool {
	var ce *ConnError
	if !errors.As(err, &ce) || errors.Is(err, errProtocol) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrClosed) {
		return false
	}
	var re *RemoteError
	if errors.As(err, &re) {
		// Kerberos rejects an authenticator it has seen as a replay; Java's
		// client retries those, and so does this one.
		return strings.Contains(re.FullMessage, "Request is a replay")
	}
	switch ce.Op {
	case "dial", "handshake", "read", "write", "idle":
		return true
	}
	return false
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBackoff << min(attempt, 20)
	if d <= 0 || d > c.cfg.MaxRetryBackoff {
		d = c.cfg.MaxRetryBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// getConn returns the live connection, dialing one if there is none. The
// dial runs on its own goroutine, bounded by ConnectTimeout rather than by
// ctx, so that a caller giving up does not fail the others waiting on it.
func (c *Client) getConn(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.cur != nil && c.cur.alive() {
		cn := c.cur
		c.mu.Unlock()
		return cn, nil
	}
	d := c.dialing
	if d == nil {
		d = &dialResult{done: make(chan struct{})}
		c.dialing = d
		c.wg.Add(1)
		go c.dial(d)
	}
	c.mu.Unlock()
	select {
	case <-d.done:
		return d.conn, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) dial(d *dialResult) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	defer cancel()
	cn, err := c.connect(ctx)
	c.mu.Lock()
	if err == nil && c.closed {
		cn.fail(&ConnError{Addr: c.cfg.Addr, Op: "close", Err: ErrClosed})
		cn, err = nil, ErrClosed
	}
	if err == nil {
		c.cur = cn
	}
	d.conn, d.err = cn, err
	c.dialing = nil
	close(d.done)
	c.mu.Unlock()
}

// connect dials, authenticates and starts a connection.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	c.log.Debug("ipc: connecting", "addr", c.cfg.Addr, "protocol", c.cfg.Protocol)
	nc, err := c.dialer.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, &ConnError{Addr: c.cfg.Addr, Op: "dial", Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		nc.SetDeadline(aLongTimeAgo)
		close(interrupted)
	})
	br := bufio.NewReaderSize(nc, 64<<10)
	sess, err := c.handshake(ctx, nc, br)
	if !stop() {
		<-interrupted
		if err == nil {
			err = &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: ctx.Err()}
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	cn := newConn(c, nc, sess)
	cn.start(br, c.maxResponseLength(), &c.wg)
	c.log.Debug("ipc: connected", "addr", c.cfg.Addr, "auth", sess.method, "qop", string(sess.qop))
	return cn, nil
}

// Close closes the connection, fails the calls waiting on it with an
// error matching ErrClosed, and waits for the Client's goroutines to end.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cur := c.cur
	c.mu.Unlock()
	c.cancel()
	if cur != nil {
		cur.fail(&ConnError{Addr: c.cfg.Addr, Op: "close", Err: ErrClosed})
	}
	c.wg.Wait()
	return nil
}

package ipc

import (
	"bufio"
	"bytes"
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

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// Dialer opens connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// KerberosConfig is what a client of one Hadoop service needs for Kerberos;
// packages yarn and hdfs both name it KerberosConfig.
type KerberosConfig struct {
	// Client is a logged-in gokrb5 client (client.NewWithKeytab(...) and
	// Login, or client.NewFromCCache). Required. The caller owns it.
	Client *krbclient.Client
	// ServerPrincipal is the principal the service presents, from its
	// site key: yarn.resourcemanager.principal for the ResourceManager
	// ("rm/_HOST@EXAMPLE.COM"), dfs.namenode.kerberos.principal for the
	// NameNode ("nn/_HOST@EXAMPLE.COM"); _HOST stands for the server's
	// host name. The server must present it. Required: empty fails the
	// connection rather than trusting any principal.
	ServerPrincipal string
	// HTTPPrincipal is the service principal of the ResourceManager's web
	// endpoint for SPNEGO, e.g. "HTTP/_HOST"; only the REST client uses
	// it. Empty means "HTTP/_HOST".
	HTTPPrincipal string
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
	// by. Nil means Identity's, or a random one (a version 4 UUID, as Java
	// makes) without an Identity.
	ClientID []byte

	// Identity is the client id and call id sequence this Client shares
	// with the other Clients of a failover set (one per server), so that a
	// call repeated on another server keeps its client id and call id and
	// the server's retry cache recognizes it. Nil means one of the
	// Client's own, made from ClientID. With both set, ClientID must be
	// Identity's.
	Identity *Identity

	// CallTimeout bounds how long a call whose context has no deadline
	// waits for its answer, its repeats on new connections included, so
	// that a server which answers pings but never the call cannot hang
	// the caller. It plays the part of Hadoop's ipc.client.rpc-timeout.ms
	// (120 s since Hadoop 3.3.1), except that the connection stays open
	// for the calls sharing it. 0 means DefaultCallTimeout; negative means
	// no bound. A call that runs out fails with an error matching
	// ErrCallTimeout; a context deadline, even a longer one, replaces
	// this bound.
	CallTimeout time.Duration

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
	identity   *Identity
	clientID   []byte // identity's
	idempotent map[string]bool
	dialer     Dialer
	log        *slog.Logger

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
	if cfg.Identity != nil && cfg.ClientID != nil && !bytes.Equal(cfg.ClientID, cfg.Identity.clientID) {
		return nil, errors.New("ipc: Config.ClientID is not Config.Identity's client id")
	}
	c := &Client{
		cfg:        cfg,
		host:       host,
		idempotent: maps.Clone(cfg.Idempotent),
		dialer:     cfg.Dialer,
		log:        cfg.Logger,
	}
	if c.identity = cfg.Identity; c.identity == nil {
		if c.identity, err = NewIdentity(cfg.ClientID); err != nil {
			return nil, fmt.Errorf("ipc: Config.ClientID: %w", err)
		}
	}
	c.clientID = c.identity.clientID
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
	if c.cfg.CallTimeout == 0 {
		c.cfg.CallTimeout = DefaultCallTimeout
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// WithIdentity returns a new Client configured as c, but numbering its
// calls from id and sending id's client id. c is left as it is; close it
// if it is not used. It lets a failover set bring Clients that a caller
// made into the set's one Identity.
func (c *Client) WithIdentity(id *Identity) (*Client, error) {
	cfg := c.cfg
	cfg.ClientID, cfg.Identity = nil, id
	return New(cfg)
}

// ClientID returns the 16-byte client id sent with every call.
func (c *Client) ClientID() []byte { return bytes.Clone(c.clientID) }

func (c *Client) maxResponseLength() int {
	if c.cfg.MaxResponseLength > 0 {
		return c.cfg.MaxResponseLength
	}
	return DefaultMaxResponseLength
}

// DefaultCallTimeout is how long a call whose context has no deadline
// waits for its answer when Config.CallTimeout is 0: Hadoop's default
// ipc.client.rpc-timeout.ms.
const DefaultCallTimeout = 120 * time.Second

// Identity is what a server's retry cache knows a client by: a 16-byte
// client id, and the sequence its call ids come from. The Clients of a
// failover set share one, so a call repeated on another server keeps a
// client id and call id that no other call of the set has; a NameNode's
// standby learns the active one's retry cache from the edit log and so
// recognizes a repeated rename2 or delete. An Identity is safe for
// concurrent use.
type Identity struct {
	clientID []byte
	next     atomic.Uint32
}

// NewIdentity returns an Identity with the given 16-byte client id, or a
// random one (a version 4 UUID, as Java makes) when clientID is nil. It
// keeps its own copy.
func NewIdentity(clientID []byte) (*Identity, error) {
	if clientID == nil {
		clientID = make([]byte, 16)
		crand.Read(clientID)
		clientID[6] = clientID[6]&0x0f | 0x40 // UUID version 4
		clientID[8] = clientID[8]&0x3f | 0x80 // RFC 4122 variant
	} else if len(clientID) != 16 {
		return nil, fmt.Errorf("ipc: client id has %d bytes, want 16", len(clientID))
	}
	return &Identity{clientID: bytes.Clone(clientID)}, nil
}

// ClientID returns the 16-byte client id.
func (id *Identity) ClientID() []byte { return bytes.Clone(id.clientID) }

// nextCallID numbers calls from 0, as Java's client does, wrapping to 0
// after the largest positive int32 (negative ids are the protocol's).
func (id *Identity) nextCallID() int32 { return int32(id.next.Add(1)-1) & 0x7fffffff }

// A Call is one logical call that Do may send to several Clients sharing
// an Identity (the servers of a failover set). It keeps its call id across
// them and counts its copies that may have reached a server, so every
// repeat carries the same client id and call id and an incremented retry
// count; and it remembers whether a server may have executed it, which
// MayFailover needs.
//
// Set Method; the rest is Do's. A Call is for one goroutine at a time.
type Call struct {
	// Method is the protocol method, e.g. "getApplicationReport".
	Method string

	identity      *Identity // whose call id id is; nil before the first Do
	id            int32
	retry         int32 // copies sent that may have reached a server
	idempotent    bool  // the Client's table says Method may be repeated
	maybeExecuted bool  // a server may have executed a copy
}

// ID returns the call id, which the first Do assigns.
func (call *Call) ID() int32 { return call.id }

// RetryCount returns the retry count the next copy of the call carries:
// how many earlier copies may have reached a server.
func (call *Call) RetryCount() int32 { return call.retry }

// MaybeExecuted reports whether a server may have executed the call: a
// copy of it was written and no server answered that it was not (a
// standby's StandbyException says it was not executed).
func (call *Call) MaybeExecuted() bool { return call.maybeExecuted }

// MayFailover reports whether err, which Do returned for call, allows
// sending call to another server of the same service: IsFailover(err)
// holds, and either the method may be repeated (Config.Idempotent) or no
// server can have executed the call (the dial or the handshake failed,
// nothing was written, or the server answered that it is a standby). A
// non-idempotent call that may have reached a server is not sent again:
// the caller gets the error rather than the call twice.
func (call *Call) MayFailover(err error) bool {
	return IsFailover(err) && call.MayRepeat()
}

// MayRepeat reports whether call may be sent again: its method may be
// repeated, or no server can have executed it.
func (call *Call) MayRepeat() bool { return call.idempotent || !call.maybeExecuted }

// Call invokes method with req and decodes the server's answer into resp;
// it is Do with a new Call.
func (c *Client) Call(ctx context.Context, method string, req, resp proto.Message) error {
	return c.Do(ctx, &Call{Method: method}, req, resp)
}

// Do sends call with req and decodes the server's answer into resp. Sent
// again, on this Client or another sharing its Identity, call keeps its
// call id and its retry count goes on from where it was.
//
// Do returns ctx.Err() once ctx ends, without waiting for the server; the
// connection stays usable. Without a deadline in ctx, Config.CallTimeout
// bounds the call (ErrCallTimeout). A failure the server reports for the
// call is a *RemoteError (match the sentinels with errors.Is). A failed
// connection is a *ConnError; Do repeats the call on a new connection
// first, if the method is idempotent or the call never reached the
// server, up to MaxRetries times, with the same call id and, when an
// earlier copy may have reached the server, an incremented retry count.
func (c *Client) Do(ctx context.Context, call *Call, req, resp proto.Message) error {
	if call.identity == nil {
		call.identity, call.id = c.identity, c.identity.nextCallID()
	} else if call.identity != c.identity {
		return fmt.Errorf("ipc: %s: the call was numbered by another Identity than this Client's", call.Method)
	}
	call.idempotent = c.idempotent[call.Method]
	if _, ok := ctx.Deadline(); ok || c.cfg.CallTimeout < 0 {
		return c.do(ctx, call, req, resp)
	}
	tctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	err := c.do(tctx, call, req, resp)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return fmt.Errorf("ipc: %s: no answer from %s within %s: %w", call.Method, c.cfg.Addr, c.cfg.CallTimeout, ErrCallTimeout)
	}
	return err
}

func (c *Client) do(ctx context.Context, call *Call, req, resp proto.Message) error {
	method := call.Method
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("ipc: %s: encoding the request: %w", method, err)
	}
	mh := &pb.RequestHeaderProto{
		MethodName:                 proto.String(method),
		DeclaringClassProtocolName: proto.String(c.cfg.Protocol),
		ClientProtocolVersion:      proto.Uint64(1),
	}
	id := call.id
	for attempt := 0; ; attempt++ {
		out, sent, err := c.attempt(ctx, id, call.retry, method, mh, body)
		if sent {
			// The server sees 0 on the first copy of the call it can
			// receive, 1 on the next, ...
			call.retry++
			if err != nil && !answeredNotExecuted(err) {
				call.maybeExecuted = true
			}
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
		if !retryable(err) || (sent && !call.idempotent) || attempt >= c.cfg.MaxRetries {
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

// answeredNotExecuted reports whether err is the server's answer that it
// did not execute the call: a standby refuses every call it gets before
// running it.
func answeredNotExecuted(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && !re.Fatal && errors.Is(re, ErrStandby)
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

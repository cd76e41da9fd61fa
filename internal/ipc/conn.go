package ipc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// conn is one established connection. Any number of calls share it: each
// registers under its call id, writes its packet while holding the write
// token, and waits for the reader goroutine to hand it the response with
// that id. A monitor goroutine sends pings while calls wait on a silent
// server and closes the connection once it has been idle long enough.
//
// A conn dies once: fail records why, closes the socket and fails every
// waiting call. Its goroutines then exit; the Client dials a new conn for
// the next call.
type conn struct {
	addr     string
	nc       net.Conn
	sess     *session
	clientID []byte
	log      *slog.Logger
	ping     time.Duration // <= 0: no pings
	idle     time.Duration // <= 0: never closed for idleness

	// wtoken is the right to write: a packet is written whole (a SASL
	// security layer also numbers packets in write order), and a channel
	// lets a caller stop waiting for it when its context ends.
	wtoken chan struct{}
	// mechMu serializes Wrap and Unwrap: a sasl.Client is not safe for
	// concurrent use.
	mechMu sync.Mutex

	mu    sync.Mutex
	calls map[int32]*pendingCall
	err   error         // why the conn died; nil while it lives
	dead  chan struct{} // closed when err is set

	lastRead   atomic.Int64 // unix nanos of the last packet read
	lastActive atomic.Int64 // unix nanos of the last packet read or call started
}

// pendingCall is a call waiting for its response.
type pendingCall struct {
	method string
	done   chan struct{} // closed once body or err is set
	body   []byte
	err    error
}

func newConn(c *Client, nc net.Conn, sess *session) *conn {
	cn := &conn{
		addr:     c.cfg.Addr,
		nc:       nc,
		sess:     sess,
		clientID: c.clientID,
		log:      c.log,
		ping:     c.cfg.PingInterval,
		idle:     c.cfg.IdleTimeout,
		wtoken:   make(chan struct{}, 1),
		calls:    make(map[int32]*pendingCall),
		dead:     make(chan struct{}),
	}
	now := time.Now().UnixNano()
	cn.lastRead.Store(now)
	cn.lastActive.Store(now)
	return cn
}

// start runs the reader and the monitor; wg tracks them for Client.Close.
func (cn *conn) start(r io.Reader, maxLen int, wg *sync.WaitGroup) {
	if cn.sess.wraps() {
		r = &wrappedReader{r: r, mech: lockedUnwrapper{cn}, maxLen: maxLen}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		cn.readLoop(r, maxLen)
	}()
	go func() {
		defer wg.Done()
		cn.monitor()
	}()
}

type lockedUnwrapper struct{ cn *conn }

func (u lockedUnwrapper) Unwrap(p []byte) ([]byte, error) {
	u.cn.mechMu.Lock()
	defer u.cn.mechMu.Unlock()
	return u.cn.sess.mech.Unwrap(p)
}

// alive reports whether the conn can take new calls.
func (cn *conn) alive() bool {
	select {
	case <-cn.dead:
		return false
	default:
		return true
	}
}

// fail kills the conn with err (the first error wins), closes the socket
// and fails every waiting call.
func (cn *conn) fail(err error) { cn.failIf(err, nil) }

// failIf is fail when cond, checked under the lock that registers calls,
// holds; nil cond always holds. It reports whether it killed the conn.
func (cn *conn) failIf(err error, cond func() bool) bool {
	cn.mu.Lock()
	if cn.err != nil || (cond != nil && !cond()) {
		cn.mu.Unlock()
		return false
	}
	cn.err = err
	calls := cn.calls
	cn.calls = nil
	close(cn.dead)
	cn.mu.Unlock()

	cn.nc.Close()
	for _, pc := range calls {
		pc.err = err
		close(pc.done)
	}
	cn.log.Debug("ipc: connection closed", "addr", cn.addr, "reason", err, "failed_calls", len(calls))
	return true
}

// roundTrip sends one call packet and waits for its response body. sent
// reports whether any byte of the packet may have reached the server; a
// call that fails with sent false can be repeated whatever it does.
func (cn *conn) roundTrip(ctx context.Context, id int32, method string, pkt []byte) (body []byte, sent bool, err error) {
	pc := &pendingCall{method: method, done: make(chan struct{})}
	cn.mu.Lock()
	if cn.err != nil {
		err := cn.err
		cn.mu.Unlock()
		return nil, false, err
	}
	cn.calls[id] = pc
	cn.lastActive.Store(time.Now().UnixNano())
	cn.mu.Unlock()

	if sent, err := cn.send(ctx, pkt); err != nil {
		cn.forget(id, pc)
		return nil, sent, err
	}
	select {
	case <-pc.done:
		return pc.body, true, pc.err
	case <-ctx.Done():
		// The response, if it comes, is read and dropped; the conn lives on.
		cn.forget(id, pc)
		return nil, true, ctx.Err()
	}
}

func (cn *conn) forget(id int32, pc *pendingCall) {
	cn.mu.Lock()
	if cn.calls[id] == pc {
		delete(cn.calls, id)
	}
	cn.mu.Unlock()
}

// aLongTimeAgo is a deadline in the past, to interrupt a blocked write.
var aLongTimeAgo = time.Unix(1, 0)

// send writes one or more framed packets, wrapped when the session has a
// security layer. It gives up when ctx ends: before writing, nothing is
// lost; a write interrupted midway leaves half a packet on the wire and
// kills the conn. sent reports whether any byte was written.
func (cn *conn) send(ctx context.Context, pkt []byte) (sent bool, err error) {
	select {
	case cn.wtoken <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-cn.dead:
		return false, cn.deathErr()
	}
	defer func() { <-cn.wtoken }()
	if !cn.alive() {
		return false, cn.deathErr()
	}

	if cn.sess.wraps() {
		cn.mechMu.Lock()
		pkt, err = wrapPackets(pkt, cn.sess.mech.Wrap)
		cn.mechMu.Unlock()
		if err != nil {
			// The mechanism's sequence state is unknown now.
			cn.fail(&ConnError{Addr: cn.addr, Op: "write", Err: err})
			return false, err
		}
	}

	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		cn.nc.SetWriteDeadline(aLongTimeAgo)
		close(interrupted)
	})
	n, err := cn.nc.Write(pkt)
	if !stop() {
		<-interrupted
		cn.nc.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return true, nil
	}
	if n == 0 && ctx.Err() != nil && !cn.sess.wraps() {
		// Interrupted before the first byte: the stream is intact. (With a
		// security layer the packet already took a sequence number, so
		// the conn cannot be used any more.)
		return false, ctx.Err()
	}
	cn.fail(&ConnError{Addr: cn.addr, Op: "write", Err: err})
	if ctx.Err() != nil {
		return n > 0, ctx.Err()
	}
	return n > 0, cn.deathErr()
}

func (cn *conn) deathErr() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// readLoop reads response packets and hands each to its call until the
// conn dies.
func (cn *conn) readLoop(r io.Reader, maxLen int) {
	for {
		pkt, err := readPacket(r, maxLen)
		if err != nil {
			var re *RemoteError
			if errors.As(err, &re) {
				// A FATAL reply outside the security layer.
				cn.fail(&ConnError{Addr: cn.addr, Op: "read", Err: re})
				return
			}
			cn.fail(&ConnError{Addr: cn.addr, Op: "read", Err: err})
			return
		}
		now := time.Now().UnixNano()
		cn.lastRead.Store(now)
		cn.lastActive.Store(now)
		if err := cn.dispatch(pkt); err != nil {
			cn.fail(&ConnError{Addr: cn.addr, Op: "read", Err: err})
			return
		}
	}
}

// dispatch decodes one response packet and completes its call. It returns
// an error when the conn must die: a FATAL reply or a malformed packet.
func (cn *conn) dispatch(pkt []byte) error {
	resp, err := parseResponse(pkt)
	if err != nil {
		return err
	}
	h := resp.header
	if id := h.GetClientId(); len(id) > 0 && !bytes.Equal(id, cn.clientID) {
		return protocolErrorf("response for client id %x, expected %x", id, cn.clientID)
	}
	cn.mu.Lock()
	pc := cn.calls[resp.callID]
	delete(cn.calls, resp.callID)
	cn.mu.Unlock()

	if h.GetStatus() == pb.RpcResponseHeaderProto_FATAL {
		method := ""
		if pc != nil {
			method = pc.method
		}
		if pc != nil {
			// Its own error, too, names the method.
			pc.err = &ConnError{Addr: cn.addr, Op: "read", Err: resp.remoteError(method)}
			close(pc.done)
		}
		return resp.remoteError("")
	}
	if resp.callID < 0 {
		return protocolErrorf("unexpected response to call id %d", resp.callID)
	}
	if pc == nil {
		return nil // its caller gave up
	}
	if h.GetStatus() == pb.RpcResponseHeaderProto_SUCCESS {
		pc.body = resp.body
	} else {
		pc.err = resp.remoteError(pc.method)
	}
	close(pc.done)
	return nil
}

// monitor pings a server that has been silent for the ping interval while
// calls wait (as Java's client does on a socket read timeout), and closes
// the conn once no call has used it for the idle timeout (Java's
// ipc.client.connection.maxidletime).
func (cn *conn) monitor() {
	tick := time.Second
	for _, d := range []time.Duration{cn.ping / 4, cn.idle / 4} {
		if d > 0 && d < tick {
			tick = d
		}
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var pingPkt []byte
	var lastPing int64
	for {
		select {
		case <-cn.dead:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		if cn.idle > 0 && cn.failIf(&ConnError{Addr: cn.addr, Op: "idle", Err: errIdle}, func() bool {
			return len(cn.calls) == 0 && now-cn.lastActive.Load() >= int64(cn.idle)
		}) {
			// A call arriving now finds the conn dead before writing a
			// byte, so it is repeated on a new conn.
			return
		}
		cn.mu.Lock()
		waiting := len(cn.calls)
		cn.mu.Unlock()
		if waiting == 0 || cn.ping <= 0 || now-cn.lastRead.Load() < int64(cn.ping) || now-lastPing < int64(cn.ping) {
			continue
		}
		if pingPkt == nil {
			var err error
			if pingPkt, err = appendPacket(nil, nil, requestHeader(callIDPing, cn.clientID, -1)); err != nil {
				cn.fail(&ConnError{Addr: cn.addr, Op: "write", Err: err})
				return
			}
		}
		lastPing = now
		cn.log.Debug("ipc: ping", "addr", cn.addr, "waiting_calls", waiting)
		// A ping that cannot be written within the interval is skipped: the
		// write holding the connection is activity enough, and a write that
		// breaks the stream kills the conn inside send.
		ctx, cancel := context.WithTimeout(context.Background(), max(cn.ping, time.Second))
		cn.send(ctx, pingPkt)
		cancel()
	}
}

// errIdle is why the monitor closed a conn.
var errIdle = errors.New("closed after being idle")

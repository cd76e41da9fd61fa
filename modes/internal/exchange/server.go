package exchange

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/secure"
)

// Config configures a Server. The zero value of each field but Secret
// means the documented default.
type Config struct {
	// Secret is the deployment secret (at least secure.MinSecretSize
	// bytes). Required. The Server keeps only keys derived from it.
	Secret []byte
	// Encrypt encrypts channels between TaskManagers (mutual TLS 1.3);
	// false authenticates them only. Every TaskManager of a deployment
	// must use the same setting.
	Encrypt bool
	// Logger gets refused connections and broken channels; nil is silent.
	Logger *slog.Logger
	// AdvertiseAddr is the address other TaskManagers dial to reach this
	// Server (what the JobManager puts in Target.Addr). A Target with this
	// address is local. Empty means the address of the listener Serve
	// gets, once it got one.
	AdvertiseAddr string
	// BufferBytes is the size at which a channel's batch is sent; 0 means
	// 32 KiB. At most MaxRecordBytes.
	BufferBytes int
	// Credits is how many batches a gate queues; 0 means 8.
	Credits int
	// FlushInterval is how long a partly filled batch may wait; 0 means
	// 100 ms.
	FlushInterval time.Duration
	// GateWait is how long a producer's connection is held for a gate not
	// yet open; 0 means 60 s.
	GateWait time.Duration
	// HandshakeTimeout bounds the authentication and hello of a new
	// connection; 0 means 10 s.
	HandshakeTimeout time.Duration
}

// A Server is a TaskManager's end of the data exchange: it accepts the
// channels of remote producers into its gates and opens its subtasks'
// outputs.
type Server struct {
	cfg            Config
	log            *slog.Logger
	tlsSrv, tlsCli *tls.Config
	secret         []byte // a copy, for the plaintext handshake

	buffered atomic.Int64

	mu      sync.Mutex
	addr    string
	closed  bool
	done    chan struct{}
	lns     map[net.Listener]struct{}
	held    map[net.Conn]struct{} // accepted, not yet routed to a gate
	gates   map[GateID]*Gate
	waiters map[GateID]chan struct{}
	tombs   map[GateID]time.Time // closed gates, so late producers are refused at once
	outputs map[*Output]struct{}
	wg      sync.WaitGroup
}

// NewServer validates cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.BufferBytes == 0 {
		cfg.BufferBytes = 32 << 10
	}
	if cfg.BufferBytes < 0 || cfg.BufferBytes > MaxRecordBytes {
		return nil, fmt.Errorf("exchange: BufferBytes %d is out of range (1 to %d)", cfg.BufferBytes, MaxRecordBytes)
	}
	if cfg.Credits == 0 {
		cfg.Credits = 8
	}
	if cfg.Credits < 0 {
		return nil, fmt.Errorf("exchange: Credits %d is negative", cfg.Credits)
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.GateWait == 0 {
		cfg.GateWait = 60 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.FlushInterval < 0 || cfg.GateWait < 0 || cfg.HandshakeTimeout < 0 {
		return nil, errors.New("exchange: negative duration in Config")
	}
	srv, cli, err := secure.TLSConfigs(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, log: log, tlsSrv: srv, tlsCli: cli,
		secret:  append([]byte(nil), cfg.Secret...),
		addr:    cfg.AdvertiseAddr,
		done:    make(chan struct{}),
		lns:     map[net.Listener]struct{}{},
		held:    map[net.Conn]struct{}{},
		gates:   map[GateID]*Gate{},
		waiters: map[GateID]chan struct{}{},
		tombs:   map[GateID]time.Time{},
		outputs: map[*Output]struct{}{},
	}
	s.cfg.Secret = nil
	return s, nil
}

// Addr is the Server's address as Targets name it: Config.AdvertiseAddr,
// or the first listener's address, or "" before Serve got one.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// BufferedBytes is the size of the record batches the Server's gates hold
// (queued, or read from a socket and waiting for room), a gauge for
// metrics and for the bound the package doc states.
func (s *Server) BufferedBytes() int64 { return s.buffered.Load() }

// Serve accepts producers' connections on ln until Close; it returns
// ErrClosed after Close, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if s.addr == "" {
		s.addr = ln.Addr().String()
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("exchange: accept failed, retrying", "err", err, "backoff", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-s.done:
					return ErrClosed
				}
			}
			return err
		}
		backoff = 0
		if !s.hold(c) {
			c.Close()
			return ErrClosed
		}
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// hold tracks an accepted connection until it is routed to a gate, so
// Close can close it, and counts its goroutine (under s.mu, so Close's
// Wait cannot miss it).
func (s *Server) hold(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.held[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) unhold(c net.Conn) {
	s.mu.Lock()
	delete(s.held, c)
	s.mu.Unlock()
}

// Close stops accepting, cancels every gate and aborts every output of
// the Server, and waits for its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	var lns []net.Listener
	for ln := range s.lns {
		lns = append(lns, ln)
	}
	var held []net.Conn
	for c := range s.held {
		held = append(held, c)
	}
	var gates []*Gate
	for _, g := range s.gates {
		gates = append(gates, g)
	}
	var outs []*Output
	for o := range s.outputs {
		outs = append(outs, o)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range held {
		c.Close()
	}
	for _, o := range outs {
		o.Abort(ErrClosed)
	}
	for _, g := range gates {
		g.close(true)
	}
	s.wg.Wait()
	return nil
}

// readBufferSize is the read buffer of a connection: small, since a
// TaskManager may hold thousands of channels, and a frame's payload larger
// than it is read straight into its own buffer anyway.
const readBufferSize = 4 << 10

// bufConn reads through a bufio.Reader that may hold bytes already read
// (the peeked first byte).
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// handle authenticates a producer's connection, reads its hello, waits for
// the gate and hands the connection to it.
func (s *Server) handle(raw net.Conn) {
	routed := false
	defer func() {
		s.unhold(raw)
		if !routed {
			raw.Close()
		}
	}()
	log := s.log.With("remote", raw.RemoteAddr().String())
	raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	br := bufio.NewReaderSize(raw, readBufferSize)
	first, err := br.Peek(1)
	if err != nil {
		log.Debug("exchange: connection closed before its handshake", "err", err)
		return
	}
	var conn net.Conn
	var r *bufio.Reader
	const tlsHandshakeRecord = 0x16
	switch {
	case first[0] == tlsHandshakeRecord && s.cfg.Encrypt:
		tc := tls.Server(&bufConn{raw, br}, s.tlsSrv)
		if err := tc.Handshake(); err != nil {
			log.Warn("exchange: refused a connection: TLS handshake failed (not this deployment's secret?)", "err", err)
			return
		}
		conn, r = tc, bufio.NewReaderSize(tc, readBufferSize)
	case first[0] != tlsHandshakeRecord && !s.cfg.Encrypt:
		if err := secure.ServerHandshake(&bufConn{raw, br}, s.secret); err != nil {
			log.Warn("exchange: refused a connection: authentication failed", "err", err)
			return
		}
		conn, r = raw, br
	default:
		log.Warn("exchange: refused a connection: the peer's data encryption setting differs from this TaskManager's", "encrypt", s.cfg.Encrypt)
		return
	}
	typ, payload, err := readFrame(r, maxControlFrame)
	if err == nil && typ != frameHello {
		err = fmt.Errorf("%w: frame type %d before hello", ErrProtocol, typ)
	}
	var h hello
	if err == nil {
		h, err = decodeHello(payload)
	}
	if err != nil {
		log.Warn("exchange: refused a connection: bad hello", "err", err)
		return
	}
	raw.SetDeadline(time.Time{})
	refuse := func(code byte, msg string) {
		conn.SetWriteDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
		conn.Write(appendFrame(nil, frameRefuse, append([]byte{code}, message(msg)...)))
	}
	g, code, err := s.waitGate(h.id)
	if err != nil {
		log.Info("exchange: refused a channel", "job", h.id.Job, "attempt", h.id.Attempt, "edge", h.id.Edge,
			"producer", h.producer, "consumer", h.id.Consumer, "err", err)
		refuse(code, err.Error())
		return
	}
	ch, err := g.attach(h.producer, conn)
	if err != nil {
		refuse(refuseUnwanted, err.Error())
		return
	}
	// From here the gate owns the connection: Gate.Close closes it.
	routed = true
	s.unhold(raw)
	ch.wmu.Lock()
	conn.SetWriteDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	_, err = conn.Write(appendFrame(nil, frameAccept, nil))
	conn.SetWriteDeadline(time.Time{})
	ch.wmu.Unlock()
	if err != nil {
		g.channelFailed(ch, fmt.Errorf("%w: %v", ErrConnectionLost, err), "")
		conn.Close()
		return
	}
	g.readLoop(ch, r)
}

// waitGate returns the open gate id, waiting up to GateWait for it to
// open; on failure it returns the refusal code for the producer.
func (s *Server) waitGate(id GateID) (*Gate, byte, error) {
	timer := time.NewTimer(s.cfg.GateWait)
	defer timer.Stop()
	return s.waitGateUntil(context.Background(), id, timer.C)
}

func (s *Server) waitGateUntil(ctx context.Context, id GateID, expired <-chan time.Time) (*Gate, byte, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, refuseClosed, ErrClosed
		}
		if g := s.gates[id]; g != nil {
			s.mu.Unlock()
			return g, 0, nil
		}
		if _, gone := s.tombs[id]; gone {
			s.mu.Unlock()
			return nil, refuseClosed, ErrConsumerGone
		}
		w := s.waiters[id]
		if w == nil {
			w = make(chan struct{})
			s.waiters[id] = w
		}
		s.mu.Unlock()
		select {
		case <-w:
		case <-expired:
			return nil, refuseNotOpen, ErrGateNotOpen
		case <-ctx.Done():
			return nil, refuseNotOpen, ctx.Err()
		case <-s.done:
		}
	}
}

// OpenGate opens the gate of input edge id.Edge of consumer subtask
// id.Consumer, fed by the given producer subtasks (indices on the edge's
// source vertex); channels of producers that connected early are routed
// to it now.
func (s *Server) OpenGate(id GateID, producers []int) (*Gate, error) {
	expected := make(map[int]bool, len(producers))
	for _, p := range producers {
		if p < 0 || expected[p] {
			return nil, fmt.Errorf("exchange: gate %v: producer index %d is negative or repeated", id, p)
		}
		expected[p] = true
	}
	g := &Gate{
		s: s, id: id, expected: expected,
		items:  make(chan item, s.cfg.Credits),
		done:   make(chan struct{}),
		failed: make(chan struct{}),
		chans:  map[int]*inChannel{},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if _, ok := s.gates[id]; ok {
		return nil, fmt.Errorf("exchange: gate %v is already open", id)
	}
	if _, ok := s.tombs[id]; ok {
		return nil, fmt.Errorf("exchange: gate %v was closed; a new attempt needs a new GateID", id)
	}
	s.gates[id] = g
	if w := s.waiters[id]; w != nil {
		close(w)
		delete(s.waiters, id)
	}
	return g, nil
}

// gateClosed forgets an open gate, leaving a tombstone so producers that
// connect late are refused at once rather than held. Tombstones older
// than a few GateWaits are dropped: no producer of that gate is still
// trying by then.
func (s *Server) gateClosed(id GateID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.gates, id)
	now := time.Now()
	s.tombs[id] = now
	for t, at := range s.tombs {
		if now.Sub(at) > 3*s.cfg.GateWait {
			delete(s.tombs, t)
		}
	}
}

// readerErr makes an I/O error of a channel's reader a sentinel-wrapping
// error.
func readerErr(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: closed by the peer", ErrConnectionLost)
	}
	return fmt.Errorf("%w: %v", ErrConnectionLost, err)
}

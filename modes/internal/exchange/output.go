package exchange

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// A Target is a consumer subtask of an output edge and the address of the
// Server of the TaskManager that runs it. An Addr equal to the producer's
// Server.Addr() makes the channel local (in-process).
type Target struct {
	Consumer int
	Addr     string
}

// OutputSpec describes an output edge of a producer subtask.
type OutputSpec struct {
	Job           string
	Attempt, Edge int
	Producer      int
	Partitioner   jobgraph.Partitioner
	// Targets has one entry per consumer subtask, Consumer 0 to n-1 each
	// once; for a forward edge it may hold only the target of this
	// producer (Consumer == Producer, or the single target).
	Targets []Target
}

const (
	outOpen int32 = iota
	outClosing
	outClosed
	outAborted
)

// An Output is a producer subtask's output edge. It implements
// operator.Output.
type Output struct {
	s     *Server
	spec  OutputSpec
	chans []*outChannel
	rr    atomic.Uint64

	state       atomic.Int32
	stopOnce    sync.Once
	stop        chan struct{} // stops the flusher
	abortCtx    context.Context
	cancelAbort context.CancelFunc
	wg          sync.WaitGroup
}

var _ operator.Output = (*Output)(nil)

// outChannel is a channel as its producer sees it.
type outChannel struct {
	o        *Output
	consumer int

	// sem is the channel's lock (a one-slot semaphore rather than a
	// mutex, so an Emit queued behind a blocked flush still honours its
	// context).
	sem    chan struct{}
	buf    []byte // the batch being filled: frameHeader bytes, then records
	ended  bool   // end of stream sent
	err    error  // sticky
	broken bool   // a write failed, possibly mid-frame

	pending  atomic.Bool // buf holds records
	flushing atomic.Bool // a timed flush is under way

	// Remote channels.
	conn     net.Conn
	r        *bufio.Reader
	acked    chan struct{}
	dead     chan struct{}
	deadOnce sync.Once
	deadErr  error

	// Local channels.
	gate *Gate
	gch  *inChannel
}

func (c *outChannel) streamErr(err error, msg string) *StreamError {
	sp := c.o.spec
	return &StreamError{Job: sp.Job, Attempt: sp.Attempt, Edge: sp.Edge, Producer: sp.Producer,
		Consumer: c.consumer, Err: err, Msg: msg}
}

// OpenOutput connects output edge spec.Edge of producer subtask
// spec.Producer to its consumers and returns once every consumer's gate
// accepted the channel (a consumer not yet deployed is waited for up to
// Config.GateWait) or fails, or ctx ends.
func (s *Server) OpenOutput(ctx context.Context, spec OutputSpec) (*Output, error) {
	targets, err := routeTargets(spec)
	if err != nil {
		return nil, err
	}
	o := &Output{s: s, spec: spec, stop: make(chan struct{})}
	o.abortCtx, o.cancelAbort = context.WithCancel(context.Background())
	for _, t := range targets {
		o.chans = append(o.chans, &outChannel{o: o, consumer: t.Consumer, sem: make(chan struct{}, 1),
			buf: make([]byte, frameHeader, frameHeader+s.cfg.BufferBytes)})
	}
	// Server.Close interrupts the connecting.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.chans[i].connect(ctx, t)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.outputs[o] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		o.Abort(ErrClosed)
		return nil, ErrClosed
	}
	if err := errors.Join(errs...); err != nil {
		o.Abort(err)
		// The first error names the failed channel; the rest are usually
		// the same cause.
		for _, e := range errs {
			if e != nil {
				return nil, e
			}
		}
	}
	o.wg.Add(1)
	go o.flusher()
	return o, nil
}

// routeTargets checks spec and returns the channels' targets: the one
// target of a forward edge, or every consumer in index order.
func routeTargets(spec OutputSpec) ([]Target, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("exchange: output of job %s edge %d producer %d: %s", spec.Job, spec.Edge, spec.Producer, fmt.Sprintf(format, a...))
	}
	if len(spec.Targets) == 0 {
		return nil, bad("no targets")
	}
	switch spec.Partitioner {
	case jobgraph.PartitionForward:
		if len(spec.Targets) == 1 {
			return spec.Targets, nil
		}
		for _, t := range spec.Targets {
			if t.Consumer == spec.Producer {
				return []Target{t}, nil
			}
		}
		return nil, bad("forward edge without a target for consumer %d", spec.Producer)
	case jobgraph.PartitionHash, jobgraph.PartitionRebalance, jobgraph.PartitionBroadcast:
		n := len(spec.Targets)
		if n > jobgraph.MaxParallelism {
			return nil, bad("%d targets, more than %d", n, jobgraph.MaxParallelism)
		}
		out := make([]Target, n)
		seen := make([]bool, n)
		for _, t := range spec.Targets {
			if t.Consumer < 0 || t.Consumer >= n || seen[t.Consumer] {
				return nil, bad("target consumer %d out of range or repeated (want 0 to %d once each)", t.Consumer, n-1)
			}
			seen[t.Consumer] = true
			out[t.Consumer] = t
		}
		return out, nil
	default:
		return nil, bad("unknown partitioner %v", spec.Partitioner)
	}
}

// interrupt makes ctx ending set a past deadline through set, so a
// blocked read or write returns. The returned func ends the watch and
// reports whether it fired (the deadline is then in the past).
func interrupt(ctx context.Context, set func(time.Time) error) func() bool {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	var mu sync.Mutex
	active, fired := true, false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if active {
			fired = true
			set(time.Unix(1, 0))
		}
	})
	return func() bool {
		stop()
		mu.Lock()
		defer mu.Unlock()
		active = false
		return fired
	}
}

func (c *outChannel) connect(ctx context.Context, t Target) error {
	s := c.o.s
	id := GateID{Job: c.o.spec.Job, Attempt: c.o.spec.Attempt, Edge: c.o.spec.Edge, Consumer: t.Consumer}
	if t.Addr == s.Addr() && t.Addr != "" {
		timer := time.NewTimer(s.cfg.GateWait)
		defer timer.Stop()
		g, _, err := s.waitGateUntil(ctx, id, timer.C)
		if err != nil {
			return c.streamErr(err, "")
		}
		ch, err := g.attach(c.o.spec.Producer, nil)
		if err != nil {
			return err
		}
		c.gate, c.gch = g, ch
		return nil
	}
	d := net.Dialer{KeepAlive: 15 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return c.streamErr(fmt.Errorf("%w: %v", ErrConnectionLost, err), "")
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	conn := raw
	if s.cfg.Encrypt {
		tc := tls.Client(raw, s.tlsCli)
		if err := tc.HandshakeContext(ctx); err != nil {
			return c.handshakeErr(ctx, err)
		}
		conn = tc
	} else {
		done := interrupt(ctx, raw.SetDeadline)
		err := secure.ClientHandshake(raw, s.secret)
		done()
		if err != nil {
			return c.handshakeErr(ctx, err)
		}
	}
	h := hello{version: protocolVersion, id: id, producer: c.o.spec.Producer}
	if _, err := conn.Write(appendFrame(nil, frameHello, h.append(nil))); err != nil {
		return c.handshakeErr(ctx, err)
	}
	// The consumer's Server answers within GateWait.
	raw.SetDeadline(time.Now().Add(s.cfg.GateWait + s.cfg.HandshakeTimeout))
	r := bufio.NewReaderSize(conn, readBufferSize)
	done := interrupt(ctx, raw.SetDeadline)
	typ, payload, err := readFrame(r, maxControlFrame)
	done()
	if ctx.Err() != nil {
		return c.streamErr(ctx.Err(), "")
	}
	if err != nil {
		var oe *net.OpError
		if s.cfg.Encrypt && errors.As(err, &oe) && oe.Op == "remote error" {
			// A TLS alert: TLS 1.3 clients finish their handshake before
			// the server checked their certificate, so its refusal shows
			// here.
			return c.streamErr(fmt.Errorf("%w: the consumer's TaskManager refused our certificate (another deployment secret?): %v", ErrAuthentication, err), "")
		}
		return c.streamErr(readerErr(err), "")
	}
	switch typ {
	case frameAccept:
	case frameRefuse:
		code, msg := byte(0), ""
		if len(payload) > 0 {
			code, msg = payload[0], string(payload[1:])
		}
		switch code {
		case refuseNotOpen:
			return c.streamErr(ErrGateNotOpen, msg)
		case refuseClosed:
			return c.streamErr(ErrConsumerGone, msg)
		default:
			return c.streamErr(ErrRefused, msg)
		}
	default:
		return c.streamErr(fmt.Errorf("%w: frame type %d instead of accept", ErrProtocol, typ), "")
	}
	raw.SetDeadline(time.Time{})
	ok = true
	c.conn, c.r = conn, r
	c.acked, c.dead = make(chan struct{}), make(chan struct{})
	c.o.wg.Add(1)
	go c.ctrlLoop()
	return nil
}

func (c *outChannel) handshakeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return c.streamErr(ctx.Err(), "")
	}
	if errors.Is(err, secure.ErrNotAuthenticated) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// A Server refusing the handshake just hangs up: another secret,
		// or the other encryption setting.
		return c.streamErr(fmt.Errorf("%w (another deployment secret or encryption setting?): %v", ErrAuthentication, err), "")
	}
	return c.streamErr(fmt.Errorf("%w: handshake: %v", ErrConnectionLost, err), "")
}

// ctrlLoop reads what the consumer sends after accepting: ack after our
// end of stream, or cancel.
func (c *outChannel) ctrlLoop() {
	defer c.o.wg.Done()
	typ, payload, err := readFrame(c.r, maxControlFrame)
	switch {
	case err != nil:
		c.setDead(c.streamErr(readerErr(err), ""))
	case typ == frameAck:
		close(c.acked)
	case typ == frameCancel:
		c.setDead(c.streamErr(ErrConsumerGone, string(payload)))
		c.conn.Close() // unblocks a writer
	default:
		c.setDead(c.streamErr(fmt.Errorf("%w: unexpected frame type %d", ErrProtocol, typ), ""))
		c.conn.Close()
	}
}

func (c *outChannel) setDead(err error) {
	c.deadOnce.Do(func() {
		c.deadErr = err
		close(c.dead)
	})
}

// Emit sends r to the consumer(s) the edge's partitioner picks, blocking
// while their buffers are full. A failed channel fails every later Emit
// to it; after a failure the caller should Abort.
func (o *Output) Emit(ctx context.Context, r operator.Record) error {
	if o.state.Load() != outOpen {
		return ErrClosed
	}
	sz := recordSize(r)
	if len(r.Key)+len(r.Value) > MaxRecordBytes {
		return fmt.Errorf("exchange: a record of %d bytes is larger than the %d bytes allowed", len(r.Key)+len(r.Value), MaxRecordBytes)
	}
	n := len(o.chans)
	switch o.spec.Partitioner {
	case jobgraph.PartitionHash:
		return o.chans[jobgraph.SubtaskForKey(r.Key, n)].emit(ctx, r, sz)
	case jobgraph.PartitionRebalance:
		i := (o.rr.Add(1) - 1 + uint64(o.spec.Producer)) % uint64(n)
		return o.chans[i].emit(ctx, r, sz)
	case jobgraph.PartitionBroadcast:
		for _, c := range o.chans {
			if err := c.emit(ctx, r, sz); err != nil {
				return err
			}
		}
		return nil
	default: // forward: one channel
		return o.chans[0].emit(ctx, r, sz)
	}
}

func (c *outChannel) lock(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *outChannel) unlock() { <-c.sem }

func (c *outChannel) emit(ctx context.Context, r operator.Record, sz int) error {
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.unlock()
	if err := c.usable(); err != nil {
		return err
	}
	limit := c.o.s.cfg.BufferBytes
	if len(c.buf) > frameHeader && len(c.buf)-frameHeader+sz > limit {
		if err := c.flushLocked(ctx); err != nil {
			return err
		}
	}
	c.buf = appendRecord(c.buf, r)
	if len(c.buf)-frameHeader >= limit {
		return c.flushLocked(ctx)
	}
	c.pending.Store(true)
	return nil
}

// usable returns the channel's error, noticing a consumer that went away
// before a write runs into it. Under the channel's lock.
func (c *outChannel) usable() error {
	if c.err != nil {
		return c.err
	}
	if c.ended {
		return ErrClosed
	}
	var gone <-chan struct{}
	if c.gate != nil {
		gone = c.gate.done
	} else {
		gone = c.dead
	}
	select {
	case <-gone:
		if c.gate != nil {
			c.err = c.streamErr(ErrConsumerGone, "")
		} else {
			c.err = c.deadErr
		}
		return c.err
	default:
		return nil
	}
}

// flushLocked sends the batch. Under the channel's lock.
func (c *outChannel) flushLocked(ctx context.Context) error {
	if len(c.buf) == frameHeader {
		return nil
	}
	c.pending.Store(false)
	bufBytes := c.o.s.cfg.BufferBytes
	if c.gate != nil {
		body := c.buf[frameHeader:]
		c.buf = make([]byte, frameHeader, frameHeader+bufBytes)
		c.o.s.buffered.Add(int64(len(body)))
		if err := c.gate.push(ctx, c.o.abortCtx.Done(), item{producer: c.o.spec.Producer, body: body}); err != nil {
			c.fail(err)
			return c.err
		}
		return nil
	}
	sealFrame(c.buf, frameData)
	err := c.write(ctx, c.buf)
	if cap(c.buf) > 2*(frameHeader+bufBytes) {
		c.buf = make([]byte, frameHeader, frameHeader+bufBytes)
	} else {
		c.buf = c.buf[:frameHeader]
	}
	return err
}

// fail records the channel's failure. Under the channel's lock.
func (c *outChannel) fail(err error) {
	if c.err != nil {
		return
	}
	var se *StreamError
	if errors.As(err, &se) || errors.Is(err, ErrClosed) {
		c.err = err
	} else {
		c.err = c.streamErr(err, "")
	}
}

// write writes b to a remote channel. Under the channel's lock.
func (c *outChannel) write(ctx context.Context, b []byte) error {
	done := interrupt(ctx, c.conn.SetWriteDeadline)
	_, err := c.conn.Write(b)
	if done() && err == nil {
		c.conn.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	c.broken = true
	c.conn.Close()
	select {
	case <-c.dead:
		if errors.Is(c.deadErr, ErrConsumerGone) {
			c.fail(c.deadErr)
			return c.err
		}
	default:
	}
	if ctx.Err() != nil {
		c.fail(ctx.Err())
	} else if c.o.state.Load() == outAborted {
		c.fail(ErrClosed)
	} else {
		c.fail(fmt.Errorf("%w: %v", ErrConnectionLost, err))
	}
	return c.err
}

func (o *Output) flusher() {
	defer o.wg.Done()
	t := time.NewTicker(o.s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		for _, c := range o.chans {
			// One goroutine per channel with records waiting, so a
			// channel blocked on its consumer delays no other.
			if !c.pending.Load() || !c.flushing.CompareAndSwap(false, true) {
				continue
			}
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				defer c.flushing.Store(false)
				if c.lock(o.abortCtx) != nil {
					return
				}
				defer c.unlock()
				if c.usable() == nil {
					c.flushLocked(o.abortCtx)
				}
			}()
		}
	}
}

func (o *Output) stopFlusher() { o.stopOnce.Do(func() { close(o.stop) }) }

// Close sends what is buffered and the end of stream to every consumer
// and waits for each to acknowledge it. On failure it aborts the output
// and returns the first channel's error.
func (o *Output) Close(ctx context.Context) error {
	if !o.state.CompareAndSwap(outOpen, outClosing) {
		return ErrClosed
	}
	o.stopFlusher()
	// ctx ending aborts the output, which unblocks whatever waits on a
	// consumer (a timed flush holding a channel, a full queue, a write).
	stop := context.AfterFunc(ctx, func() { o.Abort(context.Cause(ctx)) })
	defer stop()
	errs := make([]error, len(o.chans))
	var wg sync.WaitGroup
	for i, c := range o.chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.finish(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			o.Abort(err)
			if ctx.Err() != nil {
				return fmt.Errorf("exchange: closing the output of job %s edge %d producer %d: %w", o.spec.Job, o.spec.Edge, o.spec.Producer, ctx.Err())
			}
			return err
		}
	}
	if !o.state.CompareAndSwap(outClosing, outClosed) {
		// Aborted meanwhile.
		return ErrClosed
	}
	o.release()
	return nil
}

// finish flushes the channel and ends its stream.
func (c *outChannel) finish(ctx context.Context) error {
	if err := c.lock(ctx); err != nil {
		return c.streamErr(err, "")
	}
	err := c.usable()
	if err == nil {
		err = c.flushLocked(ctx)
	}
	if err == nil {
		if c.gate != nil {
			if err = c.gate.push(ctx, c.o.abortCtx.Done(), item{producer: c.o.spec.Producer, end: true}); err != nil {
				c.fail(err)
				err = c.err
			} else {
				c.gate.mu.Lock()
				c.gch.ended = true
				c.gate.mu.Unlock()
			}
		} else {
			err = c.write(ctx, appendFrame(nil, frameEnd, nil))
		}
	}
	c.ended = true
	c.unlock()
	if err != nil || c.gate != nil {
		return err
	}
	select {
	case <-c.acked:
		return nil
	case <-c.dead:
		return c.deadErr
	case <-ctx.Done():
		return c.streamErr(ctx.Err(), "")
	}
}

// release closes the connections and waits for the output's goroutines.
func (o *Output) release() {
	o.cancelAbort()
	for _, c := range o.chans {
		if c.conn != nil {
			c.conn.Close()
		}
	}
	o.wg.Wait()
	o.s.mu.Lock()
	delete(o.s.outputs, o)
	o.s.mu.Unlock()
}

// Abort ends the output with a failure: consumers that have not had their
// end of stream get an error naming ErrProducerFailed and err's text (a
// channel broken mid-frame is just closed: its consumer sees
// ErrConnectionLost). Records not yet sent are dropped. Abort after Close
// returned nil does nothing.
func (o *Output) Abort(err error) {
	for {
		st := o.state.Load()
		if st == outClosed || st == outAborted {
			return
		}
		if o.state.CompareAndSwap(st, outAborted) {
			break
		}
	}
	msg := "producer aborted"
	if err != nil {
		msg = err.Error()
	}
	o.stopFlusher()
	o.cancelAbort() // unblocks local pushes and timed flushes
	var wg sync.WaitGroup
	for _, c := range o.chans {
		switch {
		case c.gate != nil:
			c.gate.channelFailed(c.gch, ErrProducerFailed, msg)
		case c.conn != nil:
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.conn.SetWriteDeadline(time.Now()) // unblocks a writer
				c.lock(context.Background())        // writers were just unblocked
				defer c.unlock()
				if !c.broken && !c.ended {
					c.conn.SetWriteDeadline(time.Now().Add(time.Second))
					c.conn.Write(appendFrame(nil, frameAbort, message(msg)))
				}
				c.ended = true
				c.fail(ErrClosed)
				c.conn.Close()
			}()
		}
	}
	wg.Wait()
	o.release()
}

package exchange

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// A GateID names an input edge of a consumer subtask in a job attempt.
type GateID struct {
	Job      string
	Attempt  int
	Edge     int
	Consumer int
}

func (id GateID) String() string {
	return fmt.Sprintf("job %s attempt %d edge %d consumer %d", id.Job, id.Attempt, id.Edge, id.Consumer)
}

// item is what a channel puts in its gate's queue: a data payload (records
// back to back, see frame.go) or the channel's end of stream.
type item struct {
	producer int
	body     []byte
	end      bool
}

// inChannel is a channel as its gate sees it.
type inChannel struct {
	producer int
	conn     net.Conn // nil for a local channel
	wmu      sync.Mutex
	ended    bool // under Gate.mu
}

// A Gate is a consumer subtask's input edge: the records of all its
// producers, interleaved in arrival order. It implements operator.Input.
type Gate struct {
	s        *Server
	id       GateID
	expected map[int]bool
	items    chan item
	done     chan struct{} // closed by Close
	failed   chan struct{} // closed at the first failed channel

	mu      sync.Mutex
	chans   map[int]*inChannel
	closed  bool
	failErr error

	// The consumer's side, under nmu (Next is for one goroutine; the lock
	// lets Close release the batch being read).
	nmu     sync.Mutex
	cur     []byte
	curProd int
	curLen  int // the batch's size, counted in Server.buffered
	ended   int
	eof     bool
	err     error
}

var _ operator.Input = (*Gate)(nil)

// ID is the gate's id.
func (g *Gate) ID() GateID { return g.id }

func (g *Gate) streamErr(producer int, err error, msg string) *StreamError {
	return &StreamError{Job: g.id.Job, Attempt: g.id.Attempt, Edge: g.id.Edge,
		Producer: producer, Consumer: g.id.Consumer, Err: err, Msg: msg}
}

// attach registers producer's channel; conn is nil for a local one.
func (g *Gate) attach(producer int, conn net.Conn) (*inChannel, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return nil, g.streamErr(producer, ErrConsumerGone, "")
	case !g.expected[producer]:
		return nil, g.streamErr(producer, ErrRefused, "the gate does not expect this producer")
	case g.chans[producer] != nil:
		return nil, g.streamErr(producer, ErrRefused, "the producer is already connected")
	}
	ch := &inChannel{producer: producer, conn: conn}
	g.chans[producer] = ch
	return ch, nil
}

// channelFailed fails the gate for a channel that broke before its end of
// stream. A gate that was closed meanwhile ignores it.
func (g *Gate) channelFailed(ch *inChannel, err error, msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || ch.ended || g.failErr != nil {
		return
	}
	g.failErr = g.streamErr(ch.producer, err, msg)
	close(g.failed)
	g.s.log.Warn("exchange: channel failed", "job", g.id.Job, "attempt", g.id.Attempt, "edge", g.id.Edge,
		"producer", ch.producer, "consumer", g.id.Consumer, "err", g.failErr)
}

// push queues it, blocking while the queue is full; it fails when the
// gate closed, ctx ended or abort was closed first. The item's bytes are counted as
// buffered by the caller before, and uncounted here when not queued.
func (g *Gate) push(ctx context.Context, abort <-chan struct{}, it item) error {
	select {
	case g.items <- it:
		select {
		case <-g.done:
			// Close may have drained the queue before this item landed.
			g.drain()
		default:
		}
		return nil
	case <-g.done:
		g.s.buffered.Add(-int64(len(it.body)))
		return g.streamErr(it.producer, ErrConsumerGone, "")
	case <-ctx.Done():
		g.s.buffered.Add(-int64(len(it.body)))
		return ctx.Err()
	case <-abort:
		g.s.buffered.Add(-int64(len(it.body)))
		return ErrClosed
	}
}

func (g *Gate) drain() {
	for {
		select {
		case it := <-g.items:
			g.s.buffered.Add(-int64(len(it.body)))
		default:
			return
		}
	}
}

// readLoop reads a remote channel's frames into the gate until its end of
// stream, abort or failure. It owns reading ch.conn.
func (g *Gate) readLoop(ch *inChannel, r *bufio.Reader) {
	defer ch.conn.Close()
	ctx := context.Background()
	for {
		typ, payload, err := readFrame(r, MaxFrameBytes)
		if err != nil {
			g.channelFailed(ch, readerErr(err), "")
			return
		}
		switch typ {
		case frameData:
			if err := checkRecords(payload); err != nil {
				g.channelFailed(ch, err, "")
				return
			}
			if len(payload) == 0 {
				continue
			}
			g.s.buffered.Add(int64(len(payload)))
			if g.push(ctx, nil, item{producer: ch.producer, body: payload}) != nil {
				// The gate was closed: drop what the producer still sends
				// until it got our cancel and hung up, so it reads the
				// cancel rather than a reset connection.
				ch.conn.SetReadDeadline(time.Now().Add(cancelLinger))
				io.Copy(io.Discard, r)
				return
			}
		case frameEnd:
			// Ended before it is queued: once the consumer reads the last
			// end, it may Close the gate, which must not cancel this
			// channel.
			g.mu.Lock()
			ch.ended = true
			g.mu.Unlock()
			answer := appendFrame(nil, frameAck, nil)
			if g.push(ctx, nil, item{producer: ch.producer, end: true}) != nil {
				// Closed while the queue was full: the records before the
				// end were not all delivered.
				answer = appendFrame(nil, frameCancel, message("the consumer's gate was closed"))
			}
			ch.wmu.Lock()
			ch.conn.SetWriteDeadline(time.Now().Add(g.s.cfg.HandshakeTimeout))
			ch.conn.Write(answer)
			ch.wmu.Unlock()
			return
		case frameAbort:
			g.channelFailed(ch, ErrProducerFailed, string(payload))
			return
		default:
			g.channelFailed(ch, fmt.Errorf("%w: unexpected frame type %d", ErrProtocol, typ), "")
			return
		}
	}
}

// Next returns the next record of any producer, io.EOF once every
// producer ended its stream, or the first channel's failure (a
// *StreamError), which it returns again from then on. ctx ending returns
// ctx.Err() and leaves the gate usable.
func (g *Gate) Next(ctx context.Context) (operator.Record, error) {
	g.nmu.Lock()
	defer g.nmu.Unlock()
	for {
		if g.err != nil {
			return operator.Record{}, g.err
		}
		if g.eof {
			return operator.Record{}, io.EOF
		}
		select {
		case <-g.failed:
			g.setErr(g.failure())
			continue
		case <-g.done:
			g.setErr(ErrClosed)
			continue
		default:
		}
		if len(g.cur) > 0 {
			rec, rest, err := nextRecord(g.cur)
			if err != nil {
				g.setErr(g.streamErr(g.curProd, err, ""))
				continue
			}
			g.cur = rest
			if len(rest) == 0 {
				g.release()
			}
			// The caller owns what it reads and may keep it: a copy, so
			// a kept record does not pin its whole batch in memory.
			return copyRecord(rec), nil
		}
		if g.ended == len(g.expected) {
			g.eof = true
			continue
		}
		select {
		case it := <-g.items:
			if it.end {
				g.ended++
			} else {
				g.cur, g.curProd = it.body, it.producer
				g.curLen = len(it.body)
			}
		case <-g.failed:
		case <-g.done:
		case <-ctx.Done():
			return operator.Record{}, ctx.Err()
		}
	}
}

func (g *Gate) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failErr
}

// setErr makes err the gate's answer from now on and releases the batch
// being read. Under nmu.
func (g *Gate) setErr(err error) {
	g.err = err
	g.release()
}

func (g *Gate) release() {
	g.s.buffered.Add(-int64(g.curLen))
	g.cur, g.curLen = nil, 0
}

// copyRecord copies r into one allocation, key then value, each capped so
// an append to one cannot overwrite the other.
func copyRecord(r operator.Record) operator.Record {
	nk, nv := len(r.Key), len(r.Value)
	if nk+nv == 0 {
		return operator.Record{}
	}
	b := make([]byte, nk+nv)
	copy(b, r.Key)
	copy(b[nk:], r.Value)
	var out operator.Record
	if nk > 0 {
		out.Key = b[:nk:nk]
	}
	if nv > 0 {
		out.Value = b[nk:]
	}
	return out
}

// cancelLinger is how long a cancelled channel's connection is read (and
// dropped) for its producer to hang up.
const cancelLinger = 5 * time.Second

// Close cancels the gate: producers still sending get ErrConsumerGone, and
// producers that connect later are refused. Closing a gate after io.EOF
// just releases it. Close is idempotent and does not wait for producers.
func (g *Gate) Close() { g.close(false) }

// close cancels the gate; hard closes the connections at once (the Server
// is closing) instead of letting them linger for the cancel to arrive.
func (g *Gate) close(hard bool) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	close(g.done)
	var open []*inChannel
	for _, ch := range g.chans {
		if ch.conn != nil && !ch.ended {
			open = append(open, ch)
		}
	}
	g.mu.Unlock()
	g.s.gateClosed(g.id)
	var wg sync.WaitGroup
	for _, ch := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Tell the producer why, best effort; its reader drops what
			// still comes until the producer hangs up (or cancelLinger).
			ch.conn.SetWriteDeadline(time.Now().Add(time.Second))
			ch.wmu.Lock()
			ch.conn.Write(appendFrame(nil, frameCancel, message("the consumer's gate was closed")))
			ch.wmu.Unlock()
			if hard {
				ch.conn.Close()
			} else {
				ch.conn.SetReadDeadline(time.Now().Add(cancelLinger))
			}
		}()
	}
	wg.Wait()
	g.drain()
	g.nmu.Lock()
	if g.err == nil {
		g.err = ErrClosed
	}
	g.release()
	g.nmu.Unlock()
}

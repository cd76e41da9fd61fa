package exchange

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// The wire format of a channel, after the authentication handshake (TLS or
// secure's plaintext handshake). Every message is a frame:
//
//	uint32 big-endian n (1 <= n <= MaxFrameBytes), then n bytes:
//	  type (1 byte), payload (n-1 bytes)
//
// Producer to consumer: hello (first), data*, then end or abort.
// Consumer to producer: accept or refuse (answering hello), then ack
// (after end) or cancel (the consumer's gate closed).
//
// hello:  uvarint version, uvarint len + job, uvarint attempt, edge,
//
//	producer, consumer
//
// data:   records, back to back: uvarint len + key, uvarint len + value
// refuse: code byte, message (UTF-8, rest of the payload)
// abort, cancel: message (rest of the payload)
// accept, end, ack: empty
const (
	frameHello  byte = 1
	frameAccept byte = 2
	frameRefuse byte = 3
	frameData   byte = 4
	frameEnd    byte = 5
	frameAbort  byte = 6
	frameAck    byte = 7
	frameCancel byte = 8
)

// Refusal codes.
const (
	refuseNotOpen  byte = 1 // the gate did not open within Config.GateWait
	refuseClosed   byte = 2 // the gate is closed (cancelled) or the server is
	refuseUnwanted byte = 3 // producer not on the gate, or connected twice
)

const (
	protocolVersion = 1
	frameHeader     = 5 // length + type
	// MaxFrameBytes bounds a frame (type byte and payload); a decoder
	// refuses a longer one before allocating it.
	MaxFrameBytes = 16<<20 + 64
	// MaxRecordBytes bounds a record's key plus value: a record must fit
	// one frame.
	MaxRecordBytes = 16 << 20
	// maxControlFrame bounds frames other than data.
	maxControlFrame = 8 << 10
	maxJobLen       = 1024
	maxMessage      = 2 << 10
)

var errFrameTooLong = errors.New("frame longer than allowed")

// readFrame reads one frame whose length is at most limit. The payload is
// newly allocated: data payloads go to the consumer, who keeps records
// pointing into it.
func readFrame(r *bufio.Reader, limit int) (typ byte, payload []byte, err error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n < 1 {
		return 0, nil, fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	if n > uint32(limit) {
		return 0, nil, fmt.Errorf("%w: %s (%d bytes, limit %d)", ErrProtocol, errFrameTooLong, n, limit)
	}
	payload = make([]byte, n-1)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[4], payload, nil
}

// appendFrame appends a whole frame.
func appendFrame(b []byte, typ byte, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)+1))
	b = append(b, typ)
	return append(b, payload...)
}

// sealFrame fills the header reserved at the start of buf (frameHeader
// bytes) for a frame of type typ whose payload is the rest of buf.
func sealFrame(buf []byte, typ byte) {
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	buf[4] = typ
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// recordSize is how many bytes r takes in a data payload.
func recordSize(r operator.Record) int {
	return uvarintLen(uint64(len(r.Key))) + len(r.Key) + uvarintLen(uint64(len(r.Value))) + len(r.Value)
}

func appendRecord(b []byte, r operator.Record) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	b = binary.AppendUvarint(b, uint64(len(r.Value)))
	return append(b, r.Value...)
}

// nextRecord decodes the first record of a data payload. The record's
// slices point into b, capped so that appending to one cannot overwrite
// the next; empty keys and values are nil.
func nextRecord(b []byte) (operator.Record, []byte, error) {
	k, b, err := nextBytes(b)
	if err != nil {
		return operator.Record{}, nil, err
	}
	v, b, err := nextBytes(b)
	if err != nil {
		return operator.Record{}, nil, err
	}
	return operator.Record{Key: k, Value: v}, b, nil
}

func nextBytes(b []byte) ([]byte, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, nil, fmt.Errorf("%w: bad length in a record", ErrProtocol)
	}
	b = b[w:]
	if n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: record field of %d bytes, %d left in the frame", ErrProtocol, n, len(b))
	}
	if n == 0 {
		return nil, b, nil
	}
	return b[:n:n], b[n:], nil
}

// checkRecords validates a data payload, so a malformed frame fails its
// channel when it arrives rather than when the consumer reaches it.
func checkRecords(b []byte) error {
	for len(b) > 0 {
		var err error
		if _, b, err = nextRecord(b); err != nil {
			return err
		}
	}
	return nil
}

type hello struct {
	version int
	id      GateID
	// producer is the producer subtask's index on the edge's source.
	producer int
}

func (h hello) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(h.version))
	b = binary.AppendUvarint(b, uint64(len(h.id.Job)))
	b = append(b, h.id.Job...)
	for _, v := range []int{h.id.Attempt, h.id.Edge, h.producer, h.id.Consumer} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func decodeHello(b []byte) (hello, error) {
	var h hello
	next := func() (int, error) {
		v, w := binary.Uvarint(b)
		if w <= 0 || v > 1<<31-1 {
			return 0, fmt.Errorf("%w: bad integer in hello", ErrProtocol)
		}
		b = b[w:]
		return int(v), nil
	}
	var err error
	if h.version, err = next(); err != nil {
		return h, err
	}
	if h.version != protocolVersion {
		return h, fmt.Errorf("%w: protocol version %d, this binary speaks %d", ErrProtocol, h.version, protocolVersion)
	}
	n, err := next()
	if err != nil {
		return h, err
	}
	if n > maxJobLen || n > len(b) {
		return h, fmt.Errorf("%w: bad job id length %d in hello", ErrProtocol, n)
	}
	h.id.Job, b = string(b[:n]), b[n:]
	for _, p := range []*int{&h.id.Attempt, &h.id.Edge, &h.producer, &h.id.Consumer} {
		if *p, err = next(); err != nil {
			return h, err
		}
	}
	if len(b) != 0 {
		return h, fmt.Errorf("%w: %d trailing bytes in hello", ErrProtocol, len(b))
	}
	return h, nil
}

// message truncates a free-text message for a frame.
func message(s string) []byte {
	if len(s) > maxMessage {
		s = s[:maxMessage]
	}
	return []byte(s)
}

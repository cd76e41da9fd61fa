package ipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// The fake server stands in for a Hadoop server where a test needs a fault
// the test bed cannot produce on demand: a silent server, a dropped
// connection, a malformed packet. Where it answers like Hadoop it replays
// bytes recorded from the test bed's ResourceManager (testdata/*.bin,
// written by integration.TestIPCRecord).

// recordedClientID is the client id of the recorded exchanges.
var recordedClientID = []byte("spindle-recorded")

// recordedPackets returns the packets of a recording, each with its
// length.
func recordedPackets(name string) ([][]byte, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name+".bin"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%s: %d trailing bytes", name, len(b))
		}
		n := int(binary.BigEndian.Uint32(b)) + 4
		if n > len(b) {
			return nil, fmt.Errorf("%s: packet of %d bytes, %d left", name, n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

func recorded(t *testing.T, name string) [][]byte {
	t.Helper()
	p, err := recordedPackets(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fakeServer struct {
	t       *testing.T
	ln      net.Listener
	accepts atomic.Int32
	wg      sync.WaitGroup
}

// newFakeServer serves each accepted connection with handle on its own
// goroutine until the test ends.
func newFakeServer(t *testing.T, handle func(s *serverConn)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for i := 0; ; i++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepts.Add(1)
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer nc.Close()
				handle(&serverConn{t: t, nc: nc, r: bufio.NewReader(nc), n: i})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

// serverConn is the server's side of one connection. Its methods report
// failures with t.Error, never t.Fatal: they run on the handler goroutine.
type serverConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
	n  int // 0 for the first connection accepted, 1 for the next, ...

	// unwrap, once set, removes the security layer of incoming packets.
	unwrap func([]byte) ([]byte, error)
	plain  bytes.Buffer // unwrapped bytes not yet parsed
}

// request is one decoded client packet.
type request struct {
	header  *pb.RpcRequestHeaderProto
	method  *pb.RequestHeaderProto        // calls
	body    []byte                        // calls
	context *pb.IpcConnectionContextProto // call id -3
	sasl    *pb.RpcSaslProto              // call id -33
}

func (s *serverConn) readPreamble() []byte {
	p := make([]byte, 7)
	if _, err := io.ReadFull(s.r, p); err != nil {
		s.t.Errorf("server: reading the preamble: %v", err)
		return nil
	}
	return p
}

func (s *serverConn) readRaw() ([]byte, error) {
	if s.unwrap == nil {
		return readPacket(s.r, 1<<20)
	}
	for {
		if s.plain.Len() >= 4 {
			n := int(binary.BigEndian.Uint32(s.plain.Bytes()))
			if s.plain.Len() >= 4+n {
				s.plain.Next(4)
				return bytes.Clone(s.plain.Next(n)), nil
			}
		}
		pkt, err := readPacket(s.r, 1<<20)
		if err != nil {
			return nil, err
		}
		req, err := decodeRequest(pkt)
		if err != nil {
			return nil, err
		}
		if req.sasl == nil || req.sasl.GetState() != pb.RpcSaslProto_WRAP {
			return nil, errors.New("server: a packet outside the security layer")
		}
		plain, err := s.unwrap(req.sasl.GetToken())
		if err != nil {
			return nil, err
		}
		s.plain.Write(plain)
	}
}

// readRequest reads and decodes one packet from the client.
func (s *serverConn) readRequest() *request {
	pkt, err := s.readRaw()
	if err != nil {
		s.t.Errorf("server: reading a request: %v", err)
		return nil
	}
	req, err := decodeRequest(pkt)
	if err != nil {
		s.t.Errorf("server: %v", err)
		return nil
	}
	return req
}

func decodeRequest(pkt []byte) (*request, error) {
	hb, rest, err := consumeDelimited(pkt)
	if err != nil {
		return nil, err
	}
	req := &request{header: &pb.RpcRequestHeaderProto{}}
	if err := proto.Unmarshal(hb, req.header); err != nil {
		return nil, err
	}
	var m proto.Message
	switch id := req.header.GetCallId(); {
	case id == callIDContext:
		req.context = &pb.IpcConnectionContextProto{}
		m = req.context
	case id == callIDSASL:
		req.sasl = &pb.RpcSaslProto{}
		m = req.sasl
	case id >= 0:
		req.method = &pb.RequestHeaderProto{}
		mb, r, err := consumeDelimited(rest)
		if err != nil {
			return nil, err
		}
		if err := proto.Unmarshal(mb, req.method); err != nil {
			return nil, err
		}
		if req.body, rest, err = consumeDelimited(r); err != nil {
			return nil, err
		}
	}
	if m != nil {
		b, r, err := consumeDelimited(rest)
		if err != nil {
			return nil, err
		}
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, err
		}
		rest = r
	}
	if len(rest) > 0 {
		return nil, errors.New("request packet has bytes left over")
	}
	return req, nil
}

// expect reads a request and checks it carries call id id.
func (s *serverConn) expect(id int32) *request {
	req := s.readRequest()
	if req == nil {
		return nil
	}
	if got := req.header.GetCallId(); got != id {
		s.t.Errorf("server: got call id %d, want %d", got, id)
	}
	return req
}

func (s *serverConn) write(b []byte) {
	if _, err := s.nc.Write(b); err != nil {
		s.t.Errorf("server: write: %v", err)
	}
}

// respond writes a successful response to call id, with body as the
// response message (protowire-encoded by the caller; nil is empty).
func (s *serverConn) respond(id int32, clientID, body []byte) {
	if body == nil {
		body = []byte{}
	}
	s.write(responsePacket(s.t, &pb.RpcResponseHeaderProto{
		CallId:              proto.Uint32(uint32(id)),
		Status:              pb.RpcResponseHeaderProto_SUCCESS.Enum(),
		ServerIpcVersionNum: proto.Uint32(9),
		ClientId:            clientID,
	}, body))
}

// responsePacket frames a response header and, when body is not nil, a
// body.
func responsePacket(t *testing.T, h *pb.RpcResponseHeaderProto, body []byte) []byte {
	p, err := appendPacket(nil, body, h)
	if err != nil {
		t.Error(err)
	}
	return p
}

// saslPacket frames a SASL message from the server.
func saslPacket(t *testing.T, m *pb.RpcSaslProto) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Error(err)
	}
	return responsePacket(t, &pb.RpcResponseHeaderProto{
		CallId: proto.Uint32(uint32(int64(callIDSASL) & 0xffffffff)),
		Status: pb.RpcResponseHeaderProto_SUCCESS.Enum(),
	}, b)
}

// varintField encodes a message with one varint field, for response bodies
// a test can tell apart.
func varintField(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// xorMech is a SASL mechanism for tests: the exchange is one INITIATE
// answered by SUCCESS with the token "ok", and its security layer XORs
// every byte with key behind a one-byte marker that Unwrap checks.
type xorMech struct {
	key         byte
	qop         sasl.QOP
	challenge   []byte // what Step was given
	startCalled bool
}

const xorMarker = 0xA5

func (m *xorMech) Mechanism() string { return "GSSAPI" }

func (m *xorMech) Start(ctx context.Context) ([]byte, error) {
	m.startCalled = true
	return []byte("hello"), nil
}

func (m *xorMech) Step(ctx context.Context, challenge []byte) ([]byte, error) {
	m.challenge = bytes.Clone(challenge)
	return []byte("response"), nil
}

func (m *xorMech) Finish(final []byte) error {
	if string(final) != "ok" {
		return errors.New("xorMech: bad final token")
	}
	return nil
}

func (m *xorMech) QOP() sasl.QOP { return m.qop }

func (m *xorMech) Wrap(p []byte) ([]byte, error) { return xorWrap(m.key, p), nil }

func (m *xorMech) Unwrap(p []byte) ([]byte, error) { return xorUnwrap(m.key, p) }

func xorWrap(key byte, p []byte) []byte {
	out := make([]byte, 1, len(p)+1)
	out[0] = xorMarker
	for _, c := range p {
		out = append(out, c^key)
	}
	return out
}

func xorUnwrap(key byte, p []byte) ([]byte, error) {
	if len(p) == 0 || p[0] != xorMarker {
		return nil, errors.New("xor: not a wrapped message")
	}
	out := make([]byte, 0, len(p)-1)
	for _, c := range p[1:] {
		out = append(out, c^key)
	}
	return out, nil
}

// testContext is a context the test's end cancels.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

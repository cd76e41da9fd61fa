package ipctest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl/sasltest"
)

// captures holds bytes the test bed's ResourceManagers sent, copied from
// internal/ipc/testdata (integration.TestIPCRecord wrote them there).
//
//go:embed captures/*.bin
var captures embed.FS

// Capture returns a recorded packet stream by name ("rm-plain-negotiate",
// "rm-kerberos-simple-refused"), each packet with its 4-byte length.
func Capture(name string) []byte {
	b, err := captures.ReadFile("captures/" + name + ".bin")
	if err != nil {
		panic("ipctest: no capture " + name)
	}
	return b
}

// Call ids of the connection's own messages (Hadoop's RpcConstants).
const (
	callIDAuthFailed int32 = -1
	callIDContext    int32 = -3
	callIDPing       int32 = -4
	callIDSASL       int32 = -33
)

// wireID is a call id as a response header carries it: unsigned, so the
// connection's own negative ids go out as 2^32 + id.
func wireID(id int32) uint32 { return uint32(id) }

// maxRequest bounds one request packet, as a server's
// ipc.maximum.data.length does (64 MiB by default).
const maxRequest = 64 << 20

// Option configures a Server.
type Option func(*Server)

// WithTokens makes the server offer TOKEN authentication (the captured
// offer of the plain test bed's RM) and accept a DIGEST-MD5 response for
// any token whose identifier password returns a password for; false
// refuses the token with a FATAL reply of
// org.apache.hadoop.security.token.SecretManager$InvalidToken. password
// is called on connection setup, so a test can roll or revoke tokens while
// the server runs; it must be safe for concurrent use.
func WithTokens(password func(identifier []byte) ([]byte, bool)) Option {
	return func(s *Server) { s.password = password }
}

// RefuseSimple makes the server refuse clients that announce no SASL, with
// the FATAL reply the Kerberos test bed's RM sent to such a client.
func RefuseSimple() Option { return func(s *Server) { s.refuseSimple = true } }

// Server is a fake Hadoop IPC server on loopback.
type Server struct {
	// Addr is the host:port the server listens on (127.0.0.1).
	Addr string

	t            testing.TB
	handler      Handler
	password     func([]byte) ([]byte, bool)
	refuseSimple bool

	ln   net.Listener
	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[*serverConn]struct{}
	accept int
	calls  map[string]int
}

// NewServer starts a server answering calls with h, and closes it when the
// test ends.
func NewServer(t testing.TB, h Handler, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ipctest: %v", err)
	}
	s := &Server{
		Addr: ln.Addr().String(), t: t, handler: h, ln: ln,
		done: make(chan struct{}), conns: map[*serverConn]struct{}{}, calls: map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops listening, closes every connection, ends pending replies and
// waits for the server's goroutines. It is called when the test ends.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.ln.Close()
	s.DropConnections()
	s.wg.Wait()
}

// DropConnections closes every open connection, as a server that restarts
// or fails over does; the server keeps accepting new ones.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
}

// Calls returns how many calls of method the server has read ("" counts
// every call).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != "" {
		return s.calls[method]
	}
	n := 0
	for _, v := range s.calls {
		n += v
	}
	return n
}

// Connections returns how many connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accept
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		c := &serverConn{s: s, nc: nc, r: bufio.NewReader(nc), n: s.accept}
		s.accept++
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			nc.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.calls.Wait()
		}()
	}
}

// serverConn is the server side of one connection.
type serverConn struct {
	s     *Server
	nc    net.Conn
	r     *bufio.Reader
	n     int
	wmu   sync.Mutex // one packet at a time
	calls sync.WaitGroup

	auth    string
	user    string
	tokenID []byte
}

// errorf reports a client's protocol violation, unless the connection was
// closed under it (by the test, a Drop or the server's Close).
func (c *serverConn) errorf(format string, args ...any) {
	select {
	case <-c.s.done:
		return
	default:
	}
	c.s.t.Errorf("ipctest: connection %d: "+format, append([]any{c.n}, args...)...)
}

func (c *serverConn) serve() {
	var pre [7]byte
	if _, err := io.ReadFull(c.r, pre[:]); err != nil {
		return // a client that hung up at once (or a dropped connection)
	}
	if string(pre[:4]) != "hrpc" || pre[4] != 9 {
		c.errorf("preamble % x is not Hadoop IPC version 9", pre)
		return
	}
	switch pre[6] {
	case 0x00:
		if c.s.refuseSimple {
			c.write(Capture("rm-kerberos-simple-refused"))
			return
		}
		c.auth = "SIMPLE"
	case 0xDF:
		if !c.negotiate() {
			return
		}
	default:
		c.errorf("unknown auth protocol %#x in the preamble", pre[6])
		return
	}
	if !c.readContext() {
		return
	}
	for {
		pkt, err := readPacket(c.r)
		if err != nil {
			if !isClosed(err) {
				c.errorf("reading a call: %v", err)
			}
			return
		}
		h, rest, err := requestHeader(pkt)
		if err != nil {
			c.errorf("call header: %v", err)
			return
		}
		switch id := h.GetCallId(); {
		case id == callIDPing:
			continue
		case id < 0:
			c.errorf("unexpected message with call id %d after the handshake", id)
			return
		}
		call, err := c.decodeCall(h, rest)
		if err != nil {
			c.errorf("call %d: %v", h.GetCallId(), err)
			return
		}
		c.s.mu.Lock()
		c.s.calls[call.Method]++
		c.s.mu.Unlock()
		c.calls.Add(1)
		go func() {
			defer c.calls.Done()
			c.answer(call, h, c.s.handler.ServeIPC(call))
		}()
	}
}

// isClosed reports whether a read failed because either side closed the
// connection, which is no fault of the client's.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET)
}

func (c *serverConn) decodeCall(h *pb.RpcRequestHeaderProto, rest []byte) (*Call, error) {
	mb, rest, err := consumeDelimited(rest)
	if err != nil {
		return nil, fmt.Errorf("method header: %w", err)
	}
	mh := &pb.RequestHeaderProto{}
	if err := proto.Unmarshal(mb, mh); err != nil {
		return nil, fmt.Errorf("method header: %w", err)
	}
	body, rest, err := consumeDelimited(rest)
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%d bytes after the request body", len(rest))
	}
	return &Call{
		Method: mh.GetMethodName(), Protocol: mh.GetDeclaringClassProtocolName(),
		ID: h.GetCallId(), RetryCount: h.GetRetryCount(), ClientID: bytes.Clone(h.GetClientId()),
		Body: bytes.Clone(body), Conn: c.n, Auth: c.auth, User: c.user, TokenIdentifier: bytes.Clone(c.tokenID),
	}, nil
}

// answer waits out the reply's delay and writes it.
func (c *serverConn) answer(call *Call, h *pb.RpcRequestHeaderProto, r Reply) {
	if r.delay > 0 {
		t := time.NewTimer(r.delay)
		select {
		case <-t.C:
		case <-c.s.done:
			t.Stop()
			return
		}
	}
	rh := &pb.RpcResponseHeaderProto{
		CallId:              proto.Uint32(wireID(call.ID)),
		Status:              pb.RpcResponseHeaderProto_SUCCESS.Enum(),
		ServerIpcVersionNum: proto.Uint32(9),
		ClientId:            h.GetClientId(),
		RetryCount:          proto.Int32(h.GetRetryCount()),
	}
	switch r.kind {
	case replyNone:
		return
	case replyDrop:
		c.nc.Close()
		return
	case replyRespond:
		var body []byte
		if r.msg != nil {
			var err error
			if body, err = proto.Marshal(r.msg); err != nil {
				c.s.t.Errorf("ipctest: encoding the response to %s: %v", call.Method, err)
				return
			}
		}
		c.write(packet(rh, nonNil(body)))
	case replyThrow, replyFatal:
		rh.Status = pb.RpcResponseHeaderProto_ERROR.Enum()
		if r.kind == replyFatal {
			rh.Status = pb.RpcResponseHeaderProto_FATAL.Enum()
		}
		rh.ExceptionClassName = proto.String(r.class)
		rh.ErrorMsg = proto.String(r.message)
		rh.ErrorDetail = pb.RpcResponseHeaderProto_RpcErrorCodeProto(r.code).Enum()
		c.write(packet(rh, nil))
		if r.kind == replyFatal {
			c.nc.Close()
		}
	}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// negotiate runs the server side of the SASL exchange. It reports whether
// the connection is authenticated (or switched to SIMPLE).
func (c *serverConn) negotiate() bool {
	m, ok := c.readSASL()
	if !ok {
		return false
	}
	if m.GetState() != pb.RpcSaslProto_NEGOTIATE {
		c.errorf("first SASL message is %v, want NEGOTIATE", m.GetState())
		return false
	}
	if c.s.password == nil {
		// A SIMPLE-only Hadoop server answers NEGOTIATE with SUCCESS.
		c.write(saslPacket(&pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()}))
		c.auth = "SIMPLE"
		return true
	}
	offerPkt := Capture("rm-plain-negotiate")
	c.write(offerPkt)
	offer, err := parseSASLResponse(offerPkt[4:])
	if err != nil {
		c.s.t.Errorf("ipctest: the captured offer: %v", err)
		return false
	}
	tokenAuth := offer.GetAuths()[0]

	m, ok = c.readSASL()
	if !ok {
		return false
	}
	if m.GetState() != pb.RpcSaslProto_INITIATE || len(m.GetAuths()) != 1 {
		c.errorf("SASL %v with %d auths after the offer, want INITIATE with one", m.GetState(), len(m.GetAuths()))
		return false
	}
	switch a := m.GetAuths()[0]; a.GetMethod() {
	case "SIMPLE":
		// The client chose SIMPLE from the offer and goes on without
		// waiting for an answer.
		c.auth = "SIMPLE"
		return true
	case "TOKEN":
		if a.GetMechanism() != "DIGEST-MD5" {
			c.errorf("TOKEN with mechanism %q", a.GetMechanism())
			return false
		}
	default:
		c.errorf("INITIATE with method %q, which was not offered", a.GetMethod())
		return false
	}
	ds := &sasltest.DigestServer{
		Challenge: tokenAuth.GetChallenge(),
		DigestURI: tokenAuth.GetProtocol() + "/" + tokenAuth.GetServerId(),
		Password:  c.s.password,
	}
	id, final, err := ds.Verify(m.GetToken())
	if err != nil {
		class := "javax.security.sasl.SaslException"
		msg := "DIGEST-MD5: digest response format violation. Mismatched response."
		if errors.Is(err, sasltest.ErrUnknownToken) {
			// Hadoop's server reports the token its secret manager
			// refused rather than the SASL failure around it.
			class, msg = "org.apache.hadoop.security.token.SecretManager$InvalidToken", "token is not known to this server"
		}
		c.write(packet(&pb.RpcResponseHeaderProto{
			CallId:              proto.Uint32(wireID(callIDAuthFailed)),
			Status:              pb.RpcResponseHeaderProto_FATAL.Enum(),
			ServerIpcVersionNum: proto.Uint32(9),
			ExceptionClassName:  proto.String(class),
			ErrorMsg:            proto.String(msg),
			ErrorDetail:         pb.RpcResponseHeaderProto_FATAL_UNAUTHORIZED.Enum(),
		}, nil))
		return false
	}
	c.write(saslPacket(&pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum(), Token: final}))
	c.auth, c.tokenID = "TOKEN", id
	return true
}

func (c *serverConn) readSASL() (*pb.RpcSaslProto, bool) {
	pkt, err := readPacket(c.r)
	if err != nil {
		if !isClosed(err) {
			c.errorf("reading a SASL message: %v", err)
		}
		return nil, false
	}
	h, rest, err := requestHeader(pkt)
	if err != nil {
		c.errorf("SASL header: %v", err)
		return nil, false
	}
	if h.GetCallId() != callIDSASL {
		c.errorf("call id %d during SASL, want %d", h.GetCallId(), callIDSASL)
		return nil, false
	}
	m := &pb.RpcSaslProto{}
	if err := unmarshalLast(rest, m); err != nil {
		c.errorf("SASL message: %v", err)
		return nil, false
	}
	return m, true
}

func (c *serverConn) readContext() bool {
	pkt, err := readPacket(c.r)
	if err != nil {
		if !isClosed(err) {
			c.errorf("reading the connection context: %v", err)
		}
		return false
	}
	h, rest, err := requestHeader(pkt)
	if err != nil || h.GetCallId() != callIDContext {
		c.errorf("connection context: call id %d, %v", h.GetCallId(), err)
		return false
	}
	ctx := &pb.IpcConnectionContextProto{}
	if err := unmarshalLast(rest, ctx); err != nil {
		c.errorf("connection context: %v", err)
		return false
	}
	c.user = ctx.GetUserInfo().GetEffectiveUser()
	return true
}

func (c *serverConn) write(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.Write(b) // a failed write shows as the client's connection error
}

// readPacket reads one length-prefixed packet, its buffer growing with the
// bytes that arrive.
func readPacket(r io.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(l[:]))
	if n > maxRequest {
		return nil, fmt.Errorf("request packet of %d bytes exceeds %d", n, maxRequest)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

func consumeDelimited(p []byte) (msg, rest []byte, err error) {
	l, n := protowire.ConsumeVarint(p)
	if n < 0 {
		return nil, nil, protowire.ParseError(n)
	}
	p = p[n:]
	if l > uint64(len(p)) {
		return nil, nil, fmt.Errorf("message of %d bytes overruns the %d left", l, len(p))
	}
	return p[:l], p[l:], nil
}

func requestHeader(pkt []byte) (*pb.RpcRequestHeaderProto, []byte, error) {
	hb, rest, err := consumeDelimited(pkt)
	if err != nil {
		return nil, nil, err
	}
	h := &pb.RpcRequestHeaderProto{}
	if err := proto.Unmarshal(hb, h); err != nil {
		return nil, nil, err
	}
	return h, rest, nil
}

// unmarshalLast decodes the one delimited message left in a packet.
func unmarshalLast(rest []byte, m proto.Message) error {
	b, rest, err := consumeDelimited(rest)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%d bytes left over", len(rest))
	}
	return proto.Unmarshal(b, m)
}

// packet frames a response header and, when body is not nil, a body.
func packet(h *pb.RpcResponseHeaderProto, body []byte) []byte {
	hb, err := proto.Marshal(h)
	if err != nil {
		panic(err) // a header built here always encodes
	}
	out := make([]byte, 4, 4+10+len(hb)+len(body))
	out = protowire.AppendBytes(out, hb)
	if body != nil {
		out = protowire.AppendBytes(out, body)
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

func saslPacket(m *pb.RpcSaslProto) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return packet(&pb.RpcResponseHeaderProto{
		CallId:              proto.Uint32(wireID(callIDSASL)),
		Status:              pb.RpcResponseHeaderProto_SUCCESS.Enum(),
		ServerIpcVersionNum: proto.Uint32(9),
		ClientId:            []byte{},
		RetryCount:          proto.Int32(-1),
	}, b)
}

// parseSASLResponse decodes a server's SASL packet (after its length).
func parseSASLResponse(p []byte) (*pb.RpcSaslProto, error) {
	hb, rest, err := consumeDelimited(p)
	if err != nil {
		return nil, err
	}
	h := &pb.RpcResponseHeaderProto{}
	if err := proto.Unmarshal(hb, h); err != nil {
		return nil, err
	}
	m := &pb.RpcSaslProto{}
	return m, unmarshalLast(rest, m)
}

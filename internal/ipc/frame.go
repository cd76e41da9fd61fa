package ipc

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// Call ids the connection uses for its own messages (RpcConstants).
const (
	callIDAuthFailed int32 = -1  // replies to a failed authentication or authorization
	callIDContext    int32 = -3  // the connection context
	callIDPing       int32 = -4  // keepalive; no reply
	callIDSASL       int32 = -33 // SASL exchange and wrapped traffic
)

// The connection preamble: "hrpc", the IPC version, the service class and
// the auth protocol (0 none, 0xDF SASL: -33 as a byte).
const (
	ipcVersion       = 9
	authProtocolNone = 0x00
	authProtocolSASL = 0xDF
)

func preamble(useSASL bool) []byte {
	p := []byte{'h', 'r', 'p', 'c', ipcVersion, 0, authProtocolNone}
	if useSASL {
		p[6] = authProtocolSASL
	}
	return p
}

// DefaultMaxResponseLength bounds the length of one response packet, as
// Hadoop's ipc.maximum.response.length does by default (128 MiB).
const DefaultMaxResponseLength = 128 << 20

// requestHeader builds the header of a request packet. rpcKind and rpcOp
// are always present: the server rejects a header lacking either, and
// proto2 would omit a field left unset even where its value is the default.
func requestHeader(callID int32, clientID []byte, retryCount int32) *pb.RpcRequestHeaderProto {
	return &pb.RpcRequestHeaderProto{
		RpcKind:    pb.RpcKindProto_RPC_PROTOCOL_BUFFER.Enum(),
		RpcOp:      pb.RpcRequestHeaderProto_RPC_FINAL_PACKET.Enum(),
		CallId:     proto.Int32(callID),
		ClientId:   clientID,
		RetryCount: proto.Int32(retryCount),
	}
}

// saslHeader is the header of every SASL message a client sends: call id
// -33, no retry count, and the empty client id Java uses there.
func saslHeader() *pb.RpcRequestHeaderProto {
	return requestHeader(callIDSASL, []byte{}, -1)
}

// appendDelimited appends m's encoding prefixed with its length as a
// varint, as Java's writeDelimitedTo does.
func appendDelimited(dst []byte, m proto.Message) ([]byte, error) {
	opts := proto.MarshalOptions{}
	dst = protowire.AppendVarint(dst, uint64(opts.Size(m)))
	return opts.MarshalAppend(dst, m)
}

// appendPacket appends one packet: a 4-byte big-endian length, then each
// message length-delimited. raw, when not nil, is an already encoded last
// message (a call's request body), appended delimited as well.
func appendPacket(dst []byte, raw []byte, msgs ...proto.Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var err error
	for _, m := range msgs {
		if dst, err = appendDelimited(dst, m); err != nil {
			return nil, err
		}
	}
	if raw != nil {
		dst = protowire.AppendVarint(dst, uint64(len(raw)))
		dst = append(dst, raw...)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

// MaxHandshakePacketLength bounds one packet a server sends before the
// connection is authenticated (its SASL offer, challenges and SUCCESS).
// Those are a few hundred bytes to a few KiB (a Kerberos AP-REP); the
// bound keeps an unauthenticated peer from making the client buffer the
// full MaxResponseLength.
const MaxHandshakePacketLength = 1 << 20

// readChunk is how much of a packet readPacket allocates before the bytes
// arrive: a larger packet's buffer grows with the bytes read, so a length
// prefix alone never costs more than this.
const readChunk = 64 << 10

// readPacket reads one length-prefixed packet and returns the bytes after
// the length.
func readPacket(r io.Reader, maxLen int) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(l[:]))
	if n > int64(maxLen) {
		return nil, protocolErrorf("response packet of %d bytes exceeds the limit of %d", n, maxLen)
	}
	p := make([]byte, 0, min(n, readChunk))
	for int64(len(p)) < n {
		if len(p) == cap(p) {
			// Double, bounded by what is left: growth follows the bytes
			// that actually came.
			p = slices.Grow(p, int(min(int64(cap(p)), n-int64(len(p)))))
		}
		k, err := io.ReadFull(r, p[len(p):min(int64(cap(p)), n)])
		p = p[:len(p)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return p, nil
}

// consumeDelimited splits one varint-delimited message off the front of p.
func consumeDelimited(p []byte) (msg, rest []byte, err error) {
	l, n := protowire.ConsumeVarint(p)
	if n < 0 {
		return nil, nil, protocolErrorf("bad length prefix: %v", protowire.ParseError(n))
	}
	p = p[n:]
	if l > uint64(len(p)) {
		return nil, nil, protocolErrorf("message of %d bytes overruns the %d left in the packet", l, len(p))
	}
	return p[:l], p[l:], nil
}

// response is one decoded response packet.
type response struct {
	header *pb.RpcResponseHeaderProto
	// callID is the header's unsigned call id read back as the signed id
	// the request carried (4294967263 is -33).
	callID int32
	// body is the delimited message after the header, without its length
	// prefix; nil when the packet has none (status ERROR or FATAL).
	body []byte
}

// parseResponse decodes a response packet (the bytes after its length):
// a delimited RpcResponseHeaderProto and, when the status is SUCCESS, one
// delimited message. Like Java's client it rejects bytes left over.
func parseResponse(p []byte) (*response, error) {
	hb, rest, err := consumeDelimited(p)
	if err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	h := &pb.RpcResponseHeaderProto{}
	if err := proto.Unmarshal(hb, h); err != nil {
		return nil, protocolErrorf("response header: %v", err)
	}
	r := &response{header: h, callID: int32(h.GetCallId())}
	if h.GetStatus() == pb.RpcResponseHeaderProto_SUCCESS {
		if r.body, rest, err = consumeDelimited(rest); err != nil {
			return nil, fmt.Errorf("response body: %w", err)
		}
		if r.body == nil {
			r.body = []byte{}
		}
	}
	if len(rest) > 0 {
		return nil, protocolErrorf("response length mismatch: %d bytes left over after call %d", len(rest), r.callID)
	}
	return r, nil
}

// remoteError turns a failed response header into a *RemoteError, filling
// in what the server left out the way Java's client does.
func (r *response) remoteError(method string) *RemoteError {
	h := r.header
	class := h.GetExceptionClassName()
	if h.ExceptionClassName == nil {
		class = "ServerDidNotSetExceptionClassName"
	}
	msg := h.GetErrorMsg()
	if h.ErrorMsg == nil {
		msg = "ServerDidNotSetErrorMsg"
	}
	return newRemoteError(method, class, msg, ErrorCode(h.GetErrorDetail()), h.GetStatus() == pb.RpcResponseHeaderProto_FATAL)
}

// parseSASL decodes a SASL response packet: it must be a successful
// response to call id -33 whose body is an RpcSaslProto. A failed response
// comes back as a *RemoteError; servers report a failed authentication as
// a FATAL reply to call id -1, so the status is checked before the id.
func parseSASL(p []byte) (*pb.RpcSaslProto, error) {
	r, err := parseResponse(p)
	if err != nil {
		return nil, err
	}
	if r.header.GetStatus() != pb.RpcResponseHeaderProto_SUCCESS {
		return nil, r.remoteError("")
	}
	if r.callID != callIDSASL {
		return nil, protocolErrorf("expected a SASL message (call id %d), got call id %d", callIDSASL, r.callID)
	}
	m := &pb.RpcSaslProto{}
	if err := proto.Unmarshal(r.body, m); err != nil {
		return nil, protocolErrorf("SASL message: %v", err)
	}
	return m, nil
}

// unwrapper removes one layer of SASL protection (sasl.Client.Unwrap).
type unwrapper interface {
	Unwrap(p []byte) ([]byte, error)
}

// wrappedReader is the byte stream a server sends once integrity or
// privacy is negotiated: every packet on the wire is a SASL WRAP message
// whose unwrapped token continues the stream of ordinary packets. Java's
// server wraps one whole packet per message, but like Java's client this
// reader does not rely on it.
type wrappedReader struct {
	r      io.Reader // the raw connection
	mech   unwrapper
	maxLen int
	buf    []byte // unwrapped bytes not yet read
}

func (w *wrappedReader) Read(p []byte) (int, error) {
	for len(w.buf) == 0 {
		pkt, err := readPacket(w.r, w.maxLen)
		if err != nil {
			return 0, err
		}
		if w.buf, err = unwrapPacket(pkt, w.mech); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.buf)
	w.buf = w.buf[n:]
	return n, nil
}

// unwrapPacket checks that a raw packet is a SASL WRAP message and returns
// its unwrapped token. A FATAL reply the server did not wrap is returned as
// a *RemoteError.
func unwrapPacket(pkt []byte, mech unwrapper) ([]byte, error) {
	m, err := parseSASL(pkt)
	if err != nil {
		return nil, err
	}
	if m.GetState() != pb.RpcSaslProto_WRAP {
		return nil, protocolErrorf("expected a wrapped packet, got SASL state %v", m.GetState())
	}
	out, err := mech.Unwrap(m.GetToken())
	if err != nil {
		return nil, fmt.Errorf("ipc: unwrapping a response: %w", err)
	}
	return out, nil
}

// wrapChunk bounds the plain bytes put into one outgoing WRAP message.
// Java's client cuts its stream at the negotiated raw send size, which is
// the server's 64 KiB receive buffer less the mechanism's overhead; 32 KiB
// stays below it for every mechanism and QOP. The server reassembles
// packets across WRAP messages.
const wrapChunk = 32 << 10

// wrapPackets turns already framed packets into the WRAP messages that
// carry them once integrity or privacy is negotiated.
func wrapPackets(plain []byte, wrap func([]byte) ([]byte, error)) ([]byte, error) {
	hdr := saslHeader()
	var out []byte
	for len(plain) > 0 {
		n := min(len(plain), wrapChunk)
		tok, err := wrap(plain[:n])
		if err != nil {
			return nil, fmt.Errorf("ipc: wrapping a request: %w", err)
		}
		plain = plain[n:]
		msg := &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: tok}
		if out, err = appendPacket(out, nil, hdr, msg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

package ipc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRequestHeaderEncoding pins the bytes of request headers: rpcKind and
// rpcOp present even at their defaults, the call id zigzag-encoded as a
// sint32, the retry count too.
func TestRequestHeaderEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    *pb.RpcRequestHeaderProto
		want string
	}{
		// 08 02 rpcKind=PROTOCOL_BUFFER, 10 00 rpcOp=FINAL, 18 00 callId 0,
		// 22 00 clientId "", 28 00 retryCount 0.
		{"call 0", requestHeader(0, []byte{}, 0), "0802 1000 1800 2200 2800"},
		// callId -33 -> zigzag 65 (41); retryCount -1 -> 1.
		{"sasl", saslHeader(), "0802 1000 1841 2200 2801"},
		// callId -4 -> 7; clientId "ab".
		{"ping", requestHeader(callIDPing, []byte("ab"), -1), "0802 1000 1807 2202 6162 2801"},
		// callId 2^31-1.
		{"max call id", requestHeader(0x7fffffff, []byte{}, 3), "0802 1000 18feffffff0f 2200 2806"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.h)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
		})
	}
}

// TestAppendPacket checks the framing: a 4-byte big-endian length, then
// each message and the raw body, each prefixed with a varint length.
func TestAppendPacket(t *testing.T) {
	got, err := appendPacket([]byte("prefix"), []byte{0x08, 0x01}, requestHeader(0, []byte{}, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "707265666978 0000000e 0a 0802 1000 1800 2200 2800 02 0801")
	if !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
	// A message encoding to nothing still gets its zero length.
	got, err = appendPacket(nil, []byte{}, &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "00000004 02 1000 00"); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
	// proto2 required fields must be set.
	if _, err := appendPacket(nil, nil, &pb.RpcRequestHeaderProto{}); err == nil {
		t.Error("header without callId and clientId encoded")
	}
}

func TestParseResponse(t *testing.T) {
	okHeader := &pb.RpcResponseHeaderProto{CallId: proto.Uint32(7), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}
	errHeader := &pb.RpcResponseHeaderProto{
		CallId:             proto.Uint32(8),
		Status:             pb.RpcResponseHeaderProto_ERROR.Enum(),
		ExceptionClassName: proto.String("java.io.IOException"),
		ErrorMsg:           proto.String("boom\n\tat X"),
		ErrorDetail:        pb.RpcResponseHeaderProto_ERROR_APPLICATION.Enum(),
	}
	sasl := &pb.RpcResponseHeaderProto{CallId: proto.Uint32(0xffffffdf), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}
	packet := func(h *pb.RpcResponseHeaderProto, body []byte) []byte {
		p, err := appendPacket(nil, body, h)
		if err != nil {
			t.Fatal(err)
		}
		return p[4:]
	}
	for _, tc := range []struct {
		name    string
		pkt     []byte
		want    *response
		wantErr bool
	}{
		{"success", packet(okHeader, []byte{0x08, 0x02}), &response{header: okHeader, callID: 7, body: []byte{0x08, 0x02}}, false},
		{"success empty body", packet(okHeader, []byte{}), &response{header: okHeader, callID: 7, body: []byte{}}, false},
		{"error", packet(errHeader, nil), &response{header: errHeader, callID: 8}, false},
		{"sasl call id", packet(sasl, []byte{}), &response{header: sasl, callID: -33, body: []byte{}}, false},
		{"success without body", packet(okHeader, nil), nil, true},
		{"error with body", packet(errHeader, []byte{}), nil, true},
		{"leftover", append(packet(okHeader, []byte{}), 0), nil, true},
		{"empty", nil, nil, true},
		{"header overruns", []byte{0x05, 0x08}, nil, true},
		{"bad varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, true},
		{"missing status", []byte{0x02, 0x08, 0x01, 0x00}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResponse(tc.pkt)
			if tc.wantErr {
				if err == nil || !errors.Is(err, errProtocol) {
					t.Fatalf("got %v, %v; want a protocol error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(response{}), protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadPacket(t *testing.T) {
	r := bytes.NewReader(mustHex(t, "00000002 0102 00000000 00000003 01"))
	for _, want := range [][]byte{{1, 2}, {}} {
		got, err := readPacket(r, 16)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got % x, %v; want % x", got, err, want)
		}
	}
	if _, err := readPacket(r, 16); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated packet: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := readPacket(r, 16); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	if _, err := readPacket(bytes.NewReader(mustHex(t, "00000011")), 16); !errors.Is(err, errProtocol) {
		t.Errorf("oversized packet: %v, want a protocol error", err)
	}
	if _, err := readPacket(bytes.NewReader(mustHex(t, "ffffffff")), DefaultMaxResponseLength); !errors.Is(err, errProtocol) {
		t.Errorf("negative length: %v, want a protocol error", err)
	}
}

// TestParseSASL replays the recorded offers and refusal.
func TestParseSASL(t *testing.T) {
	m, err := parseSASL(recorded(t, "rm-kerberos-negotiate")[0][4:])
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, a := range m.GetAuths() {
		methods = append(methods, a.GetMethod()+"/"+a.GetMechanism()+"/"+a.GetProtocol()+"/"+a.GetServerId())
	}
	if diff := cmp.Diff([]string{"TOKEN/DIGEST-MD5//default", "KERBEROS/GSSAPI/hadoop/localhost"}, methods); diff != "" {
		t.Errorf("offer (-want +got):\n%s", diff)
	}
	if m.GetState() != pb.RpcSaslProto_NEGOTIATE || !strings.Contains(string(m.GetAuths()[0].GetChallenge()), `qop="auth,auth-int,auth-conf"`) {
		t.Errorf("offer %v", m)
	}

	_, err = parseSASL(recorded(t, "rm-kerberos-simple-refused")[0][4:])
	var re *RemoteError
	if !errors.As(err, &re) || !re.Fatal || re.Class != "org.apache.hadoop.security.AccessControlException" {
		t.Errorf("refusal: %v", err)
	}

	// A successful reply to an ordinary call is not a SASL message.
	p, _ := appendPacket(nil, []byte{}, &pb.RpcResponseHeaderProto{CallId: proto.Uint32(1), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()})
	if _, err := parseSASL(p[4:]); !errors.Is(err, errProtocol) {
		t.Errorf("call id 1: %v, want a protocol error", err)
	}
}

// TestWrapRoundTrip wraps framed packets as the client does and reads them
// back through wrappedReader as the client reads the server's: the same
// packets come out, whatever the chunking.
func TestWrapRoundTrip(t *testing.T) {
	const key = 0x5a
	var plain []byte
	var want [][]byte
	for i, n := range []int{0, 10, wrapChunk - 9, wrapChunk, 2*wrapChunk + 1} {
		p, err := appendPacket(nil, bytes.Repeat([]byte{byte(i)}, n), requestHeader(int32(i), []byte{}, 0))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p[4:])
		plain = append(plain, p...)
	}
	wrapped, err := wrapPackets(plain, func(p []byte) ([]byte, error) { return xorWrap(key, p), nil })
	if err != nil {
		t.Fatal(err)
	}
	// The client's WRAP messages carry request headers; a server's carry
	// response headers. Re-frame them as the server would send them.
	var fromServer []byte
	r := bytes.NewReader(wrapped)
	for {
		pkt, err := readPacket(r, DefaultMaxResponseLength)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		req, err := decodeRequest(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(saslHeader(), req.header, protocmp.Transform()); diff != "" {
			t.Fatalf("WRAP header (-want +got):\n%s", diff)
		}
		if len(req.sasl.GetToken()) > wrapChunk+1 {
			t.Errorf("WRAP token of %d bytes", len(req.sasl.GetToken()))
		}
		fromServer = append(fromServer, saslPacket(t, req.sasl)...)
	}
	wr := &wrappedReader{r: bytes.NewReader(fromServer), mech: &xorMech{key: key}, maxLen: DefaultMaxResponseLength}
	for i, w := range want {
		got, err := readPacket(wr, DefaultMaxResponseLength)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Errorf("packet %d differs", i)
		}
	}
	if _, err := readPacket(wr, DefaultMaxResponseLength); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
}

func TestUnwrapPacketRejects(t *testing.T) {
	mech := &xorMech{key: 1}
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"not WRAP", saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_CHALLENGE.Enum()})},
		{"bad token", saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: []byte{0}})},
		{"FATAL", responsePacket(t, &pb.RpcResponseHeaderProto{
			CallId: proto.Uint32(0xffffffff), Status: pb.RpcResponseHeaderProto_FATAL.Enum(),
			ExceptionClassName: proto.String("X"), ErrorMsg: proto.String("y"),
		}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := unwrapPacket(tc.pkt[4:], mech); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestReadPacketGrowsWithArrivingBytes: a length prefix claiming 100 MiB
// followed by a few bytes costs a buffer of about the bytes that came, not
// of the claim; a packet larger than one read chunk still arrives whole.
func TestReadPacketGrowsWithArrivingBytes(t *testing.T) {
	claim := mustHex(t, "06400000 0102030405") // 100 MiB announced, 5 bytes sent
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := readPacket(bytes.NewReader(claim), DefaultMaxResponseLength)
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Errorf("truncated packet: %v, want io.ErrUnexpectedEOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for a 5-byte remainder of a 100 MiB claim", got)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), (5*readChunk+3)/16+1)
	framed := binary.BigEndian.AppendUint32(nil, uint32(len(big)))
	// One byte per Read, as a slow peer delivers.
	got, err := readPacket(iotest.OneByteReader(bytes.NewReader(append(framed, big...))), DefaultMaxResponseLength)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("packet of %d bytes: got %d bytes, %v", len(big), len(got), err)
	}
}

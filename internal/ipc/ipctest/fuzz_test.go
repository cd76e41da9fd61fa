package ipctest

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// FuzzRequestPacket feeds arbitrary client bytes to the server's request
// decoding (framing, request header, method header and body, SASL and
// context messages): errors, never panics, and a decoded call's body is
// the end of its packet.
func FuzzRequestPacket(f *testing.F) {
	h, _ := proto.Marshal(&pb.RpcRequestHeaderProto{CallId: proto.Int32(0), ClientId: []byte("0123456789abcdef"), RetryCount: proto.Int32(0)})
	mh, _ := proto.Marshal(&pb.RequestHeaderProto{MethodName: proto.String("allocate"), DeclaringClassProtocolName: proto.String("p"), ClientProtocolVersion: proto.Uint64(1)})
	var seed []byte
	for _, b := range [][]byte{h, mh, {0x08, 0x01}} {
		seed = append(seed, byte(len(b)))
		seed = append(seed, b...)
	}
	f.Add(append([]byte{0, 0, 0, byte(len(seed))}, seed...))
	f.Add([]byte{0, 0, 0, 2, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		pkt, err := readPacket(bytes.NewReader(b))
		if err != nil {
			return
		}
		h, rest, err := requestHeader(pkt)
		if err != nil {
			return
		}
		unmarshalLast(rest, &pb.RpcSaslProto{})
		unmarshalLast(rest, &pb.IpcConnectionContextProto{})
		c := &serverConn{}
		call, err := c.decodeCall(h, rest)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(pkt, call.Body) {
			t.Fatalf("body %x is not the end of the packet %x", call.Body, pkt)
		}
	})
}

package ipc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// Fuzz targets for every decoder of bytes a server sends. Seeds are the
// packets recorded from the test bed's RM.

var recordings = []string{"rm-plain-simple-calls", "rm-plain-negotiate", "rm-kerberos-negotiate", "rm-kerberos-simple-refused"}

func addRecordedSeeds(f *testing.F) {
	for _, name := range recordings {
		pkts, err := recordedPackets(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Join(pkts, nil))
	}
}

// FuzzResponseStream feeds a byte stream to the framing and response
// decoding the reader goroutine runs: it must return packets or errors,
// never panic, and never accept a packet with bytes left over.
func FuzzResponseStream(f *testing.F) {
	addRecordedSeeds(f)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			pkt, err := readPacket(r, 1<<16)
			if err != nil {
				return
			}
			resp, err := parseResponse(pkt)
			if err != nil {
				if !errors.Is(err, errProtocol) {
					t.Fatalf("error %v is not a protocol error", err)
				}
				continue
			}
			ok := resp.header.GetStatus() == pb.RpcResponseHeaderProto_SUCCESS
			if ok != (resp.body != nil) {
				t.Fatalf("status %v with body %x", resp.header.GetStatus(), resp.body)
			}
			if uint32(resp.callID) != resp.header.GetCallId() {
				t.Fatalf("call id %d read as %d", resp.header.GetCallId(), resp.callID)
			}
			_ = resp.remoteError("m").Error()
		}
	})
}

// FuzzSASLMessage decodes a SASL reply the way the handshake does and runs
// the client's offer selection on it.
func FuzzSASLMessage(f *testing.F) {
	addRecordedSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pkt, err := readPacket(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		m, err := parseSASL(pkt)
		if err != nil {
			return
		}
		c := &Client{cfg: Config{Auth: Auth{
			Token:    &TokenAuth{NewClient: func(string, string) (sasl.Client, error) { return &xorMech{}, nil }},
			Kerberos: &KerberosAuth{Principal: "a@B", ServerPrincipal: "hadoop/_HOST@B", NewClient: func(string) (sasl.Client, error) { return &xorMech{}, nil }},
		}}, host: "localhost"}
		auth, mech, err := c.selectAuth(context.Background(), m.GetAuths())
		if err == nil && auth == nil {
			t.Fatal("no auth and no error")
		}
		if err == nil && mech == nil && auth.GetMethod() != methodSimple {
			t.Fatalf("method %q without a mechanism", auth.GetMethod())
		}
		if err == nil {
			echo := proto.CloneOf(auth)
			echo.Challenge = nil
			if _, err := appendPacket(nil, nil, saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Auths: []*pb.RpcSaslProto_SaslAuth{echo}}); err != nil {
				t.Fatalf("cannot echo the chosen auth: %v", err)
			}
		}
	})
}

// FuzzWrappedStream reads a stream through the unwrapping reader (with the
// XOR test mechanism) and the framing behind it.
func FuzzWrappedStream(f *testing.F) {
	addRecordedSeeds(f)
	// A recorded response, wrapped as a server would send it.
	if calls, err := recordedPackets("rm-plain-simple-calls"); err == nil {
		var seed []byte
		for _, p := range calls {
			b, err := proto.Marshal(&pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: xorWrap(0x5a, p)})
			if err != nil {
				f.Fatal(err)
			}
			pkt, err := appendPacket(nil, b, &pb.RpcResponseHeaderProto{
				CallId: proto.Uint32(0xffffffdf), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum(),
			})
			if err != nil {
				f.Fatal(err)
			}
			seed = append(seed, pkt...)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		wr := &wrappedReader{r: bytes.NewReader(b), mech: &xorMech{key: 0x5a}, maxLen: 1 << 16}
		for {
			pkt, err := readPacket(wr, 1<<16)
			if err != nil {
				return
			}
			parseResponse(pkt)
		}
	})
}

// FuzzReadPacket checks the growing packet reader against the plain
// definition (a length, then exactly that many bytes) under the
// handshake's limit, with the bytes delivered one at a time and in one
// piece.
func FuzzReadPacket(f *testing.F) {
	addRecordedSeeds(f)
	f.Add([]byte{0x00, 0x10, 0x00, 0x00, 1, 2, 3})                          // 1 MiB announced, 3 bytes sent
	f.Add([]byte{0x00, 0x10, 0x00, 0x01})                                   // just over the limit
	f.Add(append([]byte{0x00, 0x01, 0x00, 0x01}, make([]byte, 1<<16+1)...)) // one byte past a read chunk
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []byte
		wantOK := false
		if len(b) >= 4 {
			n := int64(binary.BigEndian.Uint32(b))
			wantOK = n <= MaxHandshakePacketLength && int64(len(b)-4) >= n
			if wantOK {
				want = b[4 : 4+n]
			}
		}
		for _, r := range []io.Reader{bytes.NewReader(b), iotest.OneByteReader(bytes.NewReader(b))} {
			got, err := readPacket(r, MaxHandshakePacketLength)
			if (err == nil) != wantOK || (wantOK && !bytes.Equal(got, want)) {
				t.Fatalf("readPacket = %d bytes, %v; want ok=%v with %d bytes", len(got), err, wantOK, len(want))
			}
		}
	})
}

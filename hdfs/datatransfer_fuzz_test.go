package hdfs

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// FuzzReadPacket: any bytes from a DataNode give a packet whose parts lie
// within what was read, or an error; never a panic or an allocation
// beyond the limits. A packet read writes back to bytes that read the
// same.
func FuzzReadPacket(f *testing.F) {
	data := randomBytes(700)
	f.Add(appendPacket(nil, packet{offset: 512, seqno: 1, data: data, checksums: writeChecksum.append(nil, data)}))
	f.Add(appendPacket(nil, packet{offset: 1212, seqno: 2, last: true}))
	f.Add([]byte{0, 0, 0, 4, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := readPacket(bytes.NewReader(b), nil)
		if err != nil {
			return
		}
		if len(p.data)+len(p.checksums) > len(b) {
			t.Fatalf("packet of %d+%d bytes from %d", len(p.data), len(p.checksums), len(b))
		}
		writeChecksum.verify(p.data, p.checksums)
		again, _, err := readPacket(bytes.NewReader(appendPacket(nil, p)), nil)
		if err != nil || !bytes.Equal(again.data, p.data) || !bytes.Equal(again.checksums, p.checksums) || again.offset != p.offset || again.seqno != p.seqno || again.last != p.last {
			t.Fatalf("packet %+v read back as %+v, %v", p, again, err)
		}
	})
}

// FuzzBlockOpResponse: a DataNode's answer to an operation, and the
// checksum description in it, decode or fail cleanly.
func FuzzBlockOpResponse(f *testing.F) {
	for _, m := range []*pb.BlockOpResponseProto{
		{Status: pb.Status_SUCCESS.Enum(), ReadOpChecksumInfo: &pb.ReadOpChecksumInfoProto{Checksum: writeChecksum.proto(), ChunkOffset: proto.Uint64(512)}},
		{Status: pb.Status_ERROR_ACCESS_TOKEN.Enum(), Message: proto.String("Block token with block_token_identifier ... is expired")},
		{Status: pb.Status_ERROR.Enum(), FirstBadLink: proto.String("127.0.0.1:9866")},
	} {
		b, _ := appendDelimited(nil, m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := &pb.BlockOpResponseProto{}
		if err := readDelimited(bufio.NewReader(bytes.NewReader(b)), resp); err != nil {
			return
		}
		if cs, err := checksumFromProto(resp.GetReadOpChecksumInfo().GetChecksum()); err == nil {
			cs.verify(b, b)
			cs.size(len(b))
		}
	})
}

// FuzzPipelineAck: a pipeline ack decodes or fails cleanly, and checkAck
// judges whatever decodes.
func FuzzPipelineAck(f *testing.F) {
	for _, m := range []*pb.PipelineAckProto{
		{Seqno: proto.Int64(0), Reply: []pb.Status{pb.Status_SUCCESS, pb.Status_SUCCESS}},
		{Seqno: proto.Int64(-1), Reply: []pb.Status{pb.Status_SUCCESS}},
		{Seqno: proto.Int64(9), Reply: []pb.Status{pb.Status_ERROR_CHECKSUM}, Flag: []uint32{0}},
	} {
		b, _ := appendDelimited(nil, m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ack := &pb.PipelineAckProto{}
		if err := readDelimited(bufio.NewReader(bytes.NewReader(b)), ack); err != nil {
			return
		}
		checkAck(ack, ack.GetSeqno(), len(ack.GetReply()))
	})
}

// FuzzSASLMessage: a DataNode's SASL handshake message decodes to a
// payload or an error, a refusal never passing for success.
func FuzzSASLMessage(f *testing.F) {
	for _, m := range []*pb.DataTransferEncryptorMessageProto{
		saslMessage([]byte(`realm="0",nonce="abc",qop="auth,auth-int,auth-conf",charset=utf-8,cipher="3des,rc4",algorithm=md5-sess`)),
		saslMessage([]byte("rspauth=0123456789abcdef0123456789abcdef")),
		{Status: pb.DataTransferEncryptorMessageProto_ERROR.Enum(), Message: proto.String("Block token is expired."), AccessTokenError: proto.Bool(true)},
	} {
		b, _ := appendDelimited(nil, m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, err := readSASLMessage(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		m := &pb.DataTransferEncryptorMessageProto{}
		if readDelimited(bufio.NewReader(bytes.NewReader(b)), m) != nil || m.GetStatus() != pb.DataTransferEncryptorMessageProto_SUCCESS || !bytes.Equal(m.GetPayload(), payload) {
			t.Fatalf("accepted %x as a SUCCESS carrying %q", b, payload)
		}
	})
}

// xorLayer is a stand-in security layer: it "wraps" by xoring each byte,
// so that FuzzSASLConnRead exercises the framing, not the cipher (package
// sasl fuzzes its own unwrapping).
type xorLayer struct{ sasl.Client }

func (xorLayer) Unwrap(p []byte) ([]byte, error) {
	out := make([]byte, len(p))
	for i, b := range p {
		out[i] = b ^ 0x5a
	}
	return out, nil
}

func (l xorLayer) Wrap(p []byte) ([]byte, error) { return l.Unwrap(p) }

// FuzzSASLConnRead: the length-prefixed wrapped messages of a DataNode
// under a security layer read back as what was wrapped, or fail cleanly.
func FuzzSASLConnRead(f *testing.F) {
	var seed bytes.Buffer
	w := &saslConn{Conn: fakeConn{Writer: &seed}, sc: xorLayer{}}
	w.Write([]byte("a packet under integrity protection"))
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &saslConn{Conn: fakeConn{Reader: bytes.NewReader(b)}, sc: xorLayer{}}
		got, _ := io.ReadAll(r)
		if len(got) > len(b) {
			t.Fatalf("%d bytes read from %d", len(got), len(b))
		}
	})
}

// fakeConn is a net.Conn over a reader or a writer.
type fakeConn struct {
	net.Conn
	io.Reader
	io.Writer
}

func (c fakeConn) Read(p []byte) (int, error)  { return c.Reader.Read(p) }
func (c fakeConn) Write(p []byte) (int, error) { return c.Writer.Write(p) }

package hdfs

import (
	"bufio"
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
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

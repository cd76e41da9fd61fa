package hdfs

import (
	"bufio"
	"bytes"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

// TestPacketRoundTrip: a packet written by appendPacket reads back the
// same, and its checksums verify; a flipped data byte is found in its
// chunk.
func TestPacketRoundTrip(t *testing.T) {
	data := randomBytes(1300)
	in := packet{offset: 1024, seqno: 3, data: data, checksums: writeChecksum.append(nil, data)}
	b := appendPacket(nil, in)
	out, _, err := readPacket(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, cmp.AllowUnexported(packet{})); diff != "" {
		t.Errorf("packet read back differs (-written +read):\n%s", diff)
	}
	if bad, err := writeChecksum.verify(out.data, out.checksums); err != nil || bad != -1 {
		t.Errorf("verify: %d, %v", bad, err)
	}
	out.data[700] ^= 1
	if bad, _ := writeChecksum.verify(out.data, out.checksums); bad != 512 {
		t.Errorf("a flipped byte at 700 reported in the chunk at %d, want 512", bad)
	}
	if _, err := writeChecksum.verify(out.data, out.checksums[4:]); err == nil {
		t.Error("missing checksums accepted")
	}
	last := appendPacket(nil, packet{offset: 2324, seqno: 4, last: true})
	if p, _, err := readPacket(bytes.NewReader(last), nil); err != nil || !p.last || len(p.data) != 0 {
		t.Errorf("the empty last packet: %+v, %v", p, err)
	}
}

// TestChecksumTypes: CRC32 (IEEE) and CRC32C are told apart, and a
// checksum description without a chunk size is refused.
func TestChecksumTypes(t *testing.T) {
	for typ, table := range map[pb.ChecksumTypeProto]*crc32.Table{
		pb.ChecksumTypeProto_CHECKSUM_CRC32:  crc32.IEEETable,
		pb.ChecksumTypeProto_CHECKSUM_CRC32C: writeChecksum.table,
	} {
		cs, err := checksumFromProto(&pb.ChecksumProto{Type: typ.Enum(), BytesPerChecksum: proto.Uint32(512)})
		if err != nil || cs.table != table {
			t.Errorf("%v: %v", typ, err)
		}
		if got := cs.proto().GetType(); got != typ {
			t.Errorf("%v described as %v", typ, got)
		}
	}
	if _, err := checksumFromProto(&pb.ChecksumProto{Type: pb.ChecksumTypeProto_CHECKSUM_CRC32C.Enum(), BytesPerChecksum: proto.Uint32(0)}); err == nil {
		t.Error("0 bytes per checksum accepted")
	}
}

// TestCheckAck: an ack must be for the packet awaited and carry SUCCESS
// from every DataNode of the pipeline.
func TestCheckAck(t *testing.T) {
	ok := pb.Status_SUCCESS
	for _, c := range []struct {
		ack   *pb.PipelineAckProto
		valid bool
	}{
		{&pb.PipelineAckProto{Seqno: proto.Int64(5), Reply: []pb.Status{ok, ok}}, true},
		{&pb.PipelineAckProto{Seqno: proto.Int64(4), Reply: []pb.Status{ok, ok}}, false},
		{&pb.PipelineAckProto{Seqno: proto.Int64(5), Reply: []pb.Status{ok}}, false},
		{&pb.PipelineAckProto{Seqno: proto.Int64(5), Reply: []pb.Status{ok, pb.Status_ERROR_CHECKSUM}}, false},
	} {
		if err := checkAck(c.ack, 5, 2); (err == nil) != c.valid {
			t.Errorf("checkAck(%v): %v, want valid %v", c.ack, err, c.valid)
		}
	}
}

// TestReadDelimitedBound: a message longer than maxMessage is refused
// before anything is allocated for it.
func TestReadDelimitedBound(t *testing.T) {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0x0f} // 2^32-1
	if err := readDelimited(bufio.NewReader(bytes.NewReader(b)), &pb.BlockOpResponseProto{}); err == nil {
		t.Error("a 4 GiB message accepted")
	}
}

package hdfs

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pbc "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

// DataTransferProtocol, spoken with DataNodes: an operation is the version
// (u16), the op code (u8) and a varint-delimited request; the DataNode
// answers with a delimited BlockOpResponseProto, then packets follow.
const (
	dataTransferVersion = 28
	opWriteBlock        = 80
	opReadBlock         = 81
)

// Limits on what a DataNode may send, so that a broken or hostile peer
// cannot make the client allocate without bound.
const (
	maxMessage      = 1 << 20  // one delimited protobuf message
	maxPacketHeader = 1 << 12  // a PacketHeaderProto is about 30 bytes
	maxPacket       = 16 << 20 // Hadoop's PacketReceiver refuses more too
)

// dataTimeout bounds each read and write on a DataNode connection, as
// dfs.client.socket-timeout (60 s) does for Java's client.
const dataTimeout = 60 * time.Second

// ErrDataNode is matched by the errors of reads and writes a DataNode
// refused or broke off (a bad status, a checksum mismatch, a pipeline
// that failed). The error names the DataNode.
var ErrDataNode = errors.New("hdfs: DataNode failure")

// dataNodeError is a DataNode's failure: its address, what it said, and
// whether it refused the block token (worth refetching locations).
type dataNodeError struct {
	addr     string
	msg      string
	badToken bool
	err      error
}

func (e *dataNodeError) Error() string {
	s := "hdfs: DataNode " + e.addr + ": " + e.msg
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *dataNodeError) Is(target error) bool { return target == ErrDataNode }
func (e *dataNodeError) Unwrap() error        { return e.err }

// dataNodeAddr is the transfer address of a DataNode, by IP or, with
// Config.UseDatanodeHostname, by host name.
func (c *Client) dataNodeAddr(dn *pb.DatanodeInfoProto) string {
	id := dn.GetId()
	host := id.GetIpAddr()
	if c.cfg.UseDatanodeHostname && id.GetHostName() != "" {
		host = id.GetHostName()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(id.GetXferPort())))
}

// dataConn is one operation's connection to a DataNode. The connection is
// closed when ctx ends, so no blocked read outlives the caller's context.
type dataConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	stop func() bool
}

// dialDataNode connects to a DataNode for one operation on the block of
// token, running the SASL handshake first when the DataNode expects it.
func (c *Client) dialDataNode(ctx context.Context, addr string, token *pbc.TokenProto) (*dataConn, error) {
	dctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	conn, err := c.dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &dataNodeError{addr: addr, msg: "connect", err: err}
	}
	raw := conn
	if conn, err = c.dataTransferSASL(ctx, raw, addr, token); err != nil {
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &dataNodeError{addr: addr, msg: "SASL handshake", badToken: errors.Is(err, errSASLToken), err: noEOF(err)}
	}
	dc := &dataConn{addr: addr, conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 64<<10)}
	dc.stop = context.AfterFunc(ctx, func() { raw.Close() })
	return dc, nil
}

// noEOF turns a DataNode hanging up (io.EOF) into io.ErrUnexpectedEOF, so
// that no caller takes a failed block read for the end of the file.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w (%v)", io.ErrUnexpectedEOF, err)
	}
	return err
}

func (d *dataConn) close() {
	d.stop()
	d.conn.Close()
}

// deadline bounds the next exchange.
func (d *dataConn) deadline() { d.conn.SetDeadline(time.Now().Add(dataTimeout)) }

// fail wraps err, naming the DataNode; a connection closed by the
// context's end reports the context's error.
func (d *dataConn) fail(ctx context.Context, msg string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var dn *dataNodeError
	if errors.As(err, &dn) {
		return err
	}
	return &dataNodeError{addr: d.addr, msg: msg, err: noEOF(err)}
}

// sendOp writes one operation request and flushes it.
func (d *dataConn) sendOp(op byte, req proto.Message) error {
	b := []byte{dataTransferVersion >> 8, dataTransferVersion & 0xff, op}
	b, err := appendDelimited(b, req)
	if err != nil {
		return err
	}
	d.deadline()
	if _, err := d.w.Write(b); err != nil {
		return err
	}
	return d.w.Flush()
}

func appendDelimited(b []byte, m proto.Message) ([]byte, error) {
	body, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	b = protowire.AppendVarint(b, uint64(len(body)))
	return append(b, body...), nil
}

// readDelimited reads one varint-delimited message of at most maxMessage
// bytes.
func readDelimited(r *bufio.Reader, m proto.Message) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n > maxMessage {
		return fmt.Errorf("message of %d bytes, more than %d", n, maxMessage)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	return proto.Unmarshal(buf, m)
}

// readOpResponse reads a BlockOpResponseProto and turns a status other
// than SUCCESS into an error.
func (d *dataConn) readOpResponse() (*pb.BlockOpResponseProto, error) {
	d.deadline()
	resp := &pb.BlockOpResponseProto{}
	if err := readDelimited(d.r, resp); err != nil {
		return nil, err
	}
	if s := resp.GetStatus(); s != pb.Status_SUCCESS {
		msg := s.String()
		if m := resp.GetMessage(); m != "" {
			msg += ": " + m
		}
		if l := resp.GetFirstBadLink(); l != "" {
			msg += " (first bad link " + l + ")"
		}
		return nil, &dataNodeError{addr: d.addr, msg: msg, badToken: s == pb.Status_ERROR_ACCESS_TOKEN}
	}
	return resp, nil
}

// A packet is one unit of block data: its header, one checksum per chunk
// and the data. On the wire: u32 payload length (4 + checksums + data),
// u16 header length, the PacketHeaderProto, checksums, data.
type packet struct {
	offset    int64 // of the data in the block
	seqno     int64
	last      bool // the empty packet ending a block
	sync      bool
	checksums []byte
	data      []byte
}

// readPacket reads one packet; buf is reused for its body when large
// enough.
func readPacket(r io.Reader, buf []byte) (packet, []byte, error) {
	var head [6]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return packet{}, buf, err
	}
	payload := binary.BigEndian.Uint32(head[:4])
	hlen := int(binary.BigEndian.Uint16(head[4:]))
	if payload < 4 || payload > maxPacket {
		return packet{}, buf, fmt.Errorf("packet payload of %d bytes", payload)
	}
	if hlen > maxPacketHeader {
		return packet{}, buf, fmt.Errorf("packet header of %d bytes", hlen)
	}
	n := hlen + int(payload) - 4
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	body := buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		return packet{}, buf, err
	}
	h := &pb.PacketHeaderProto{}
	if err := proto.Unmarshal(body[:hlen], h); err != nil {
		return packet{}, buf, fmt.Errorf("packet header: %w", err)
	}
	dataLen := int(h.GetDataLen())
	rest := body[hlen:]
	if dataLen < 0 || dataLen > len(rest) {
		return packet{}, buf, fmt.Errorf("packet data of %d bytes in a payload of %d", dataLen, len(rest))
	}
	return packet{
		offset:    h.GetOffsetInBlock(),
		seqno:     h.GetSeqno(),
		last:      h.GetLastPacketInBlock(),
		sync:      h.GetSyncBlock(),
		checksums: rest[:len(rest)-dataLen],
		data:      rest[len(rest)-dataLen:],
	}, buf, nil
}

// appendPacket appends a packet in its wire form.
func appendPacket(b []byte, p packet) []byte {
	h, _ := proto.Marshal(&pb.PacketHeaderProto{
		OffsetInBlock:     proto.Int64(p.offset),
		Seqno:             proto.Int64(p.seqno),
		LastPacketInBlock: proto.Bool(p.last),
		DataLen:           proto.Int32(int32(len(p.data))),
		SyncBlock:         proto.Bool(p.sync),
	})
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(p.checksums)+len(p.data)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(h)))
	b = append(b, h...)
	b = append(b, p.checksums...)
	return append(b, p.data...)
}

// A checksum is how block data is checked: a CRC (or none) per chunk of
// bytesPerChecksum bytes.
type checksum struct {
	table *crc32.Table // nil: CHECKSUM_NULL
	chunk int
}

// The checksum this client writes with: Hadoop's default
// (dfs.checksum.type CRC32C, dfs.bytes-per-checksum 512).
var writeChecksum = checksum{table: crc32.MakeTable(crc32.Castagnoli), chunk: 512}

func checksumFromProto(p *pb.ChecksumProto) (checksum, error) {
	cs := checksum{chunk: int(p.GetBytesPerChecksum())}
	switch p.GetType() {
	case pb.ChecksumTypeProto_CHECKSUM_NULL:
	case pb.ChecksumTypeProto_CHECKSUM_CRC32:
		cs.table = crc32.IEEETable
	case pb.ChecksumTypeProto_CHECKSUM_CRC32C:
		cs.table = writeChecksum.table
	default:
		return checksum{}, fmt.Errorf("unknown checksum type %v", p.GetType())
	}
	if cs.table != nil && (cs.chunk <= 0 || cs.chunk > maxPacket) {
		return checksum{}, fmt.Errorf("%d bytes per checksum", cs.chunk)
	}
	return cs, nil
}

func (cs checksum) proto() *pb.ChecksumProto {
	t := pb.ChecksumTypeProto_CHECKSUM_CRC32C
	if cs.table == crc32.IEEETable {
		t = pb.ChecksumTypeProto_CHECKSUM_CRC32
	}
	return &pb.ChecksumProto{Type: t.Enum(), BytesPerChecksum: proto.Uint32(uint32(cs.chunk))}
}

// size is the length of the checksums of n bytes of data.
func (cs checksum) size(n int) int {
	if cs.table == nil {
		return 0
	}
	return (n + cs.chunk - 1) / cs.chunk * 4
}

// append appends the checksums of data.
func (cs checksum) append(b, data []byte) []byte {
	if cs.table == nil {
		return b
	}
	for len(data) > 0 {
		n := min(cs.chunk, len(data))
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(data[:n], cs.table))
		data = data[n:]
	}
	return b
}

// verify checks data against its checksums and returns the offset in
// data of the first bad chunk, or -1.
func (cs checksum) verify(data, sums []byte) (int, error) {
	if cs.table == nil {
		return -1, nil
	}
	if len(sums) != cs.size(len(data)) {
		return 0, fmt.Errorf("%d bytes of checksums for %d bytes of data in %d-byte chunks", len(sums), len(data), cs.chunk)
	}
	for off := 0; off < len(data); off += cs.chunk {
		n := min(cs.chunk, len(data)-off)
		want := binary.BigEndian.Uint32(sums[off/cs.chunk*4:])
		if crc32.Checksum(data[off:off+n], cs.table) != want {
			return off, nil
		}
	}
	return -1, nil
}

// tokenProto is the wire form of a block token.
func tokenProto(t *pbc.TokenProto) *pbc.TokenProto {
	if t == nil {
		return &pbc.TokenProto{Identifier: []byte{}, Password: []byte{}, Kind: proto.String(""), Service: proto.String("")}
	}
	return t
}

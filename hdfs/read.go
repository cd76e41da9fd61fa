package hdfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/redact"
)

// FileReader reads one HDFS file from its DataNodes: Read and Seek move
// through the file, ReadAt reads anywhere (and may be called
// concurrently with itself, not with Read or Seek). Every block read is
// checked against the checksums the DataNode sends; a replica that fails
// (unreachable, refusing, or sending bad data) is left for the next one,
// and a block token the DataNode refuses makes the reader ask the
// NameNode for fresh locations once.
//
// It needs only the NameNode connection the Client has, so it works with
// Kerberos, simple authentication or delegation tokens alone: DataNodes
// check the block tokens the NameNode hands out with the locations.
type FileReader struct {
	c    *Client
	path string
	// ctx is the context Open was given: io.Reader's methods take none,
	// so the reader keeps Open's (as database/sql's Rows does) and every
	// DataNode and NameNode exchange it makes ends with it.
	ctx  context.Context
	size int64
	name string // the client name DataNodes log

	mu     sync.Mutex // guards blocks
	blocks []*pb.LocatedBlockProto

	off int64      // Read's position
	cur *blockRead // the block Read is in, or nil
	buf []byte     // data of cur not yet returned
}

// Open opens a file for reading. ctx bounds the reader's whole life:
// once it ends, reads fail with its error.
func (c *Client) Open(ctx context.Context, p string) (*FileReader, error) {
	locs, err := c.blockLocations(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	r := &FileReader{c: c, path: p, ctx: ctx, name: newClientName(), size: int64(locs.GetFileLength()), blocks: locs.GetBlocks()}
	if locs.GetUnderConstruction() && !locs.GetIsLastBlockComplete() {
		// The last block is still being written: its length is known
		// only to its DataNodes. Read what is complete.
		if lb := locs.GetLastBlock(); lb != nil {
			r.size = int64(lb.GetOffset())
		}
	}
	return r, nil
}

// blockLocations asks the NameNode where the blocks of p from off on are.
func (c *Client) blockLocations(ctx context.Context, p string, off int64) (*pb.LocatedBlocksProto, error) {
	req := &pb.GetBlockLocationsRequestProto{Src: proto.String(p), Offset: proto.Uint64(uint64(off)), Length: proto.Uint64(1<<63 - 1 - uint64(off))}
	resp := &pb.GetBlockLocationsResponseProto{}
	if err := c.call(ctx, "getBlockLocations", req, resp); err != nil {
		return nil, &PathError{Op: "open", Path: p, Err: err}
	}
	if resp.Locations == nil {
		return nil, &PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return resp.Locations, nil
}

// Size is the file's length when it was opened.
func (r *FileReader) Size() int64 { return r.size }

// Close releases the reader's DataNode connection.
func (r *FileReader) Close() error {
	if r.cur != nil {
		r.cur.close()
		r.cur = nil
	}
	r.buf = nil
	return nil
}

// Read reads the next bytes of the file.
func (r *FileReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.buf) == 0 {
		if r.off >= r.size {
			return 0, io.EOF
		}
		if r.cur != nil && !r.cur.done() {
			data, err := r.cur.next()
			if err == nil {
				r.buf = data
				continue
			}
			// Go on from the same offset with another replica.
			r.c.log.Debug("hdfs: block read failed, trying another replica", "path", r.path, "offset", r.off, "err", err)
			r.cur.exclude(err)
		}
		var excluded map[string]error
		if r.cur != nil {
			excluded = r.cur.excluded
			r.cur.close()
			r.cur = nil
		}
		br, err := r.openBlock(r.off, r.size-r.off, excluded)
		if err != nil {
			return 0, err
		}
		r.cur = br
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.off += int64(n)
	return n, nil
}

// Seek sets where the next Read reads, as io.Seeker does.
func (r *FileReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return r.off, fmt.Errorf("hdfs: seek %s: bad whence %d", r.path, whence)
	}
	if abs < 0 {
		return r.off, fmt.Errorf("hdfs: seek %s: negative position %d", r.path, abs)
	}
	if abs != r.off {
		r.Close()
		r.off = abs
	}
	return abs, nil
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt does, with block reads
// of its own.
func (r *FileReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("hdfs: read %s: negative offset %d", r.path, off)
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		want := min(int64(len(p)-n), r.size-off)
		br, err := r.openBlock(off, want, nil)
		if err != nil {
			return n, err
		}
		for n < len(p) && !br.done() {
			data, err := br.next()
			if err != nil {
				br.exclude(err)
				excluded := br.excluded
				br.close()
				if br, err = r.openBlock(off, want, excluded); err != nil {
					return n, err
				}
				continue
			}
			k := copy(p[n:], data)
			n += k
			off += int64(k)
			want -= int64(k)
		}
		br.close()
	}
	return n, nil
}

// blockAt returns the block holding off, asking the NameNode when the
// locations at hand do not cover it (or refresh is set).
func (r *FileReader) blockAt(off int64, refresh bool) (*pb.LocatedBlockProto, error) {
	r.mu.Lock()
	blocks := r.blocks
	r.mu.Unlock()
	if !refresh {
		for _, b := range blocks {
			start := int64(b.GetOffset())
			if off >= start && off < start+int64(b.GetB().GetNumBytes()) {
				return b, nil
			}
		}
	}
	locs, err := r.c.blockLocations(r.ctx, r.path, off)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.blocks = locs.GetBlocks()
	r.mu.Unlock()
	for _, b := range locs.GetBlocks() {
		start := int64(b.GetOffset())
		if off >= start && off < start+int64(b.GetB().GetNumBytes()) {
			return b, nil
		}
	}
	return nil, &PathError{Op: "read", Path: r.path, Err: fmt.Errorf("the NameNode lists no block at offset %d", off)}
}

// openBlock starts reading up to want bytes at off from the block holding
// it, from the first replica not excluded (by the DataNode's failure)
// that accepts.
func (r *FileReader) openBlock(off, want int64, excluded map[string]error) (*blockRead, error) {
	if excluded == nil {
		excluded = map[string]error{}
	}
	refreshed := false
	var errs []error
	lb, err := r.blockAt(off, false)
	if err != nil {
		return nil, err
	}
	for {
		tokenRefused := false
		for _, dn := range lb.GetLocs() {
			addr := r.c.dataNodeAddr(dn)
			if err, ok := excluded[addr]; ok {
				if !refreshed {
					errs = append(errs, err)
				}
				continue
			}
			start := off - int64(lb.GetOffset())
			n := min(want, int64(lb.GetB().GetNumBytes())-start)
			br, err := r.c.readBlock(r.ctx, addr, lb, start, n, r.name)
			if err == nil {
				br.excluded = excluded
				return br, nil
			}
			if r.ctx.Err() != nil {
				return nil, &PathError{Op: "read", Path: r.path, Err: r.ctx.Err()}
			}
			var dn *dataNodeError
			if errors.As(err, &dn) && dn.badToken {
				tokenRefused = true
			} else {
				excluded[addr] = err
			}
			errs = append(errs, err)
			r.c.log.Debug("hdfs: replica refused a read", "path", r.path, "datanode", addr, "err", err)
		}
		if refreshed {
			break
		}
		// Fresh locations bring fresh block tokens and may list replicas
		// made since; ask once.
		refreshed = true
		if lb, err = r.blockAt(off, true); err != nil {
			return nil, err
		}
		if !tokenRefused && len(lb.GetLocs()) == 0 {
			break
		}
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no DataNode holds the block"))
	}
	return nil, &PathError{Op: "read", Path: r.path, Err: fmt.Errorf("block at offset %d: %w", off, errors.Join(errs...))}
}

// blockRead is one READ_BLOCK operation: packets of a block range from
// one DataNode, checked and trimmed to the range asked for.
type blockRead struct {
	dc       *dataConn
	ctx      context.Context
	cs       checksum
	start    int64 // first byte wanted, in the block
	end      int64 // one past the last byte wanted
	pos      int64 // next byte to return
	buf      []byte
	excluded map[string]error // failed DataNodes and why
	finished bool
}

// readBlock asks a DataNode for n bytes at start of a block.
func (c *Client) readBlock(ctx context.Context, addr string, lb *pb.LocatedBlockProto, start, n int64, clientName string) (*blockRead, error) {
	dc, err := c.dialDataNode(ctx, addr, lb.GetBlockToken())
	if err != nil {
		return nil, err
	}
	req := &pb.OpReadBlockProto{
		Header: &pb.ClientOperationHeaderProto{
			BaseHeader: &pb.BaseHeaderProto{Block: lb.GetB(), Token: tokenProto(lb.GetBlockToken())},
			ClientName: proto.String(clientName),
		},
		Offset:        proto.Uint64(uint64(start)),
		Len:           proto.Uint64(uint64(n)),
		SendChecksums: proto.Bool(true),
	}
	if err := dc.sendOp(opReadBlock, req); err != nil {
		dc.close()
		return nil, dc.fail(ctx, "read request", err)
	}
	resp, err := dc.readOpResponse()
	if err != nil {
		dc.close()
		return nil, dc.fail(ctx, "read response", err)
	}
	info := resp.GetReadOpChecksumInfo()
	cs, err := checksumFromProto(info.GetChecksum())
	if err != nil {
		dc.close()
		return nil, dc.fail(ctx, "read response", err)
	}
	chunkOff := int64(info.GetChunkOffset())
	if chunkOff > start || (cs.table != nil && start-chunkOff >= int64(cs.chunk)) {
		dc.close()
		return nil, dc.fail(ctx, "read response", fmt.Errorf("first chunk at %d for a read at %d", chunkOff, start))
	}
	return &blockRead{dc: dc, ctx: ctx, cs: cs, start: start, end: start + n, pos: chunkOff}, nil
}

func (b *blockRead) done() bool { return b.pos >= b.end }

// exclude marks the block's DataNode as failed for this read.
func (b *blockRead) exclude(err error) {
	if b.excluded != nil {
		b.excluded[b.dc.addr] = err
	}
}

func (b *blockRead) close() {
	if b.dc != nil {
		b.dc.close()
		b.dc = nil
	}
}

// next returns the next checked data of the range; it is valid until the
// following call.
func (b *blockRead) next() ([]byte, error) {
	for {
		b.dc.deadline()
		p, buf, err := readPacket(b.dc.r, b.buf)
		b.buf = buf
		if err != nil {
			return nil, b.dc.fail(b.ctx, "read", err)
		}
		if p.offset != b.pos {
			return nil, b.dc.fail(b.ctx, "read", fmt.Errorf("packet at block offset %d, expected %d", p.offset, b.pos))
		}
		if bad, err := b.cs.verify(p.data, p.checksums); err != nil || bad >= 0 {
			if err == nil {
				err = fmt.Errorf("checksum mismatch at block offset %d", p.offset+int64(bad))
			}
			return nil, b.dc.fail(b.ctx, "read", err)
		}
		if p.last || len(p.data) == 0 {
			if b.pos < b.end {
				return nil, b.dc.fail(b.ctx, "read", fmt.Errorf("block ended at offset %d, before %d", b.pos, b.end))
			}
			continue
		}
		data := p.data
		first := b.pos
		b.pos += int64(len(data))
		if first < b.start {
			data = data[min(b.start-first, int64(len(data))):]
		}
		if b.pos > b.end {
			data = data[:max(0, int64(len(data))-(b.pos-b.end))]
		}
		if b.pos >= b.end {
			b.finish()
		}
		if len(data) > 0 {
			return data, nil
		}
	}
}

// finish tells the DataNode the range arrived intact, which lets it keep
// the connection alive and records that the replica is good.
func (b *blockRead) finish() {
	if b.finished {
		return
	}
	b.finished = true
	msg, _ := appendDelimited(nil, &pb.ClientReadStatusProto{Status: pb.Status_CHECKSUM_OK.Enum()})
	b.dc.deadline()
	b.dc.w.Write(msg)
	b.dc.w.Flush()
}

// String, GoString, Format, LogValue and MarshalJSON show a FileReader as
// its path, never the block tokens or client it holds.
func (r *FileReader) String() string {
	if r == nil {
		return "<nil>"
	}
	return "hdfs.FileReader{" + r.path + "}"
}

func (r *FileReader) GoString() string              { return "&" + r.String() }
func (r *FileReader) Format(f fmt.State, verb rune) { redact.Format(f, verb, r.String(), r.GoString()) }
func (r *FileReader) LogValue() slog.Value          { return slog.StringValue(r.String()) }
func (r *FileReader) MarshalJSON() ([]byte, error)  { return json.Marshal(r.String()) }

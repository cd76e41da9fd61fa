package hdfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/redact"
)

// CreateOptions are the choices Create makes for a new file.
type CreateOptions struct {
	// Perm is the file's permission. Zero means 0644.
	Perm fs.FileMode
	// Overwrite replaces an existing file. False makes Create fail with an
	// error matching fs.ErrExist when the path exists.
	Overwrite bool
	// NoCreateParent makes Create fail when the parent directory is
	// missing. False creates missing parents (as Hadoop's
	// FileSystem.create does).
	NoCreateParent bool
	// Replication is the number of replicas. Zero means Config.Replication,
	// or else the NameNode's default.
	Replication int
	// BlockSize is the size of the file's blocks in bytes, a multiple of
	// 512 (the checksum chunk). Zero means Config.BlockSize, or else the
	// NameNode's default.
	BlockSize int64

	heartbeat time.Duration // tests only: zero means heartbeatInterval
}

// ErrLastBlockNotReplicated: Close wrote every block, but the NameNode
// still did not count enough replicas of the last one when it stopped
// asking (as Java's client gives up after dfs.client.block.write.
// locateFollowingBlock.retries). The data may well be on the DataNodes and
// the file complete soon; the lease the writer held lapses by itself.
var ErrLastBlockNotReplicated = errors.New("hdfs: the NameNode has not seen enough replicas of the last block")

// Packets carry 126 chunks of 512 bytes, what Java's client puts in its
// 64 KiB packets (dfs.client-write-packet-size).
const packetData = 126 * 512

// ackWindow is how many packets may await their acks, as Java's
// dfs.client.write.max-packets-in-flight (80).
const ackWindow = 80

// leaseRenewal is how often an open writer renews its lease; the
// NameNode's soft limit is 60 s.
const leaseRenewal = 20 * time.Second

// FileWriter writes a new HDFS file block by block: it asks the NameNode
// for each block (addBlock), streams it through the DataNode pipeline in
// checksummed packets, and on Close completes the file. Its lease is
// renewed while it is open.
//
// Like FileReader it needs only the NameNode connection, so it works with
// delegation tokens alone. A DataNode failing mid-block fails the write
// (there is no pipeline recovery); one refusing a new block's pipeline is
// left out and the block asked for again. A FileWriter is used by one
// goroutine at a time. Until Close returns nil the file is not complete:
// a reader sees at most its finished blocks. Close or Abort every writer:
// until then (or until Create's context ends) it keeps renewing its lease.
type FileWriter struct {
	c    *Client
	path string
	// ctx is Create's: io.Writer's methods take no context, so the writer
	// keeps Create's and every exchange it makes ends with it.
	ctx       context.Context
	name      string // the client name holding the lease
	fileID    uint64
	blockSize int64
	heartbeat time.Duration

	last *pb.ExtendedBlockProto // the last block written, or nil
	pipe *pipeline              // the block being written, or nil
	buf  []byte                 // data not yet sent, less than a packet
	err  error                  // the first failure; later calls return it

	stopLease func()
	closed    bool
}

// Create creates a file and returns a writer for it. ctx bounds the
// writer's whole life: once it ends, writes fail with its error.
func (c *Client) Create(ctx context.Context, p string, opts CreateOptions) (*FileWriter, error) {
	d, err := c.fileDefaults(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Replication > 0 {
		d.replication = opts.Replication
	}
	if opts.BlockSize > 0 {
		d.blockSize = opts.BlockSize
	}
	if d.blockSize <= 0 || d.blockSize%int64(writeChecksum.chunk) != 0 {
		return nil, &PathError{Op: "create", Path: p, Err: fmt.Errorf("block size %d is not a positive multiple of %d", d.blockSize, writeChecksum.chunk)}
	}
	m := opts.Perm
	if m == 0 {
		m = 0o644
	}
	flag := uint32(0x01) // CREATE
	if opts.Overwrite {
		flag |= 0x02 // OVERWRITE
	}
	name := newClientName()
	req := &pb.CreateRequestProto{
		Src: proto.String(p), Masked: perm(m), ClientName: proto.String(name),
		CreateFlag: proto.Uint32(flag), CreateParent: proto.Bool(!opts.NoCreateParent),
		Replication: proto.Uint32(uint32(d.replication)), BlockSize: proto.Uint64(uint64(d.blockSize)),
	}
	resp := &pb.CreateResponseProto{}
	if err := c.call(ctx, "create", req, resp); err != nil {
		return nil, &PathError{Op: "create", Path: p, Err: err}
	}
	w := &FileWriter{c: c, path: p, ctx: ctx, name: name, fileID: resp.GetFs().GetFileId(), blockSize: d.blockSize, heartbeat: heartbeatInterval}
	if opts.heartbeat > 0 {
		w.heartbeat = opts.heartbeat
	}
	w.stopLease = c.renewLease(ctx, name)
	return w, nil
}

func newClientName() string { return "spindle_" + randomHex(8) }

// renewLease renews the lease of clientName every leaseRenewal until the
// returned func is called or ctx ends.
func (c *Client) renewLease(ctx context.Context, clientName string) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(leaseRenewal)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := c.call(ctx, "renewLease", &pb.RenewLeaseRequestProto{ClientName: proto.String(clientName)}, &pb.RenewLeaseResponseProto{})
			if err != nil && ctx.Err() == nil {
				c.log.Warn("hdfs: renewing a write lease", "client", clientName, "err", err)
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// Write writes p to the file.
func (w *FileWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, &PathError{Op: "write", Path: w.path, Err: fs.ErrClosed}
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if len(w.buf) == 0 && len(p) >= packetData {
			// A whole packet straight from p, without copying.
			k, err := w.send(p)
			n += k
			p = p[k:]
			if err != nil {
				return n, w.fail(err)
			}
			continue
		}
		k := min(len(p), packetData-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		n += k
		if len(w.buf) == packetData {
			// A block's end may cut the packet short: keep the rest.
			sent, err := w.send(w.buf)
			if err != nil {
				return n, w.fail(err)
			}
			w.buf = w.buf[:copy(w.buf, w.buf[sent:])]
		}
	}
	return n, nil
}

func (w *FileWriter) fail(err error) error {
	if w.err == nil {
		if w.ctx.Err() != nil {
			err = w.ctx.Err()
		}
		w.err = &PathError{Op: "write", Path: w.path, Err: err}
		w.closePipe()
	}
	return w.err
}

// send sends one packet of at most packetData bytes from data, cut at
// the block's end, starting a block first when none is open. It returns
// how many bytes it sent.
func (w *FileWriter) send(data []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.pipe == nil {
		pipe, err := w.c.newBlock(w.ctx, w.path, w.name, w.fileID, w.last, w.heartbeat)
		if err != nil {
			return 0, err
		}
		w.pipe = pipe
	}
	k := min(len(data), packetData, int(w.blockSize-w.pipe.written))
	if err := w.pipe.send(data[:k]); err != nil {
		return 0, err
	}
	if w.pipe.written == w.blockSize {
		if err := w.endBlock(); err != nil {
			return k, err
		}
	}
	return k, nil
}

// endBlock ends the block being written and waits for its acks.
func (w *FileWriter) endBlock() error {
	pipe := w.pipe
	w.pipe = nil
	if err := pipe.finish(); err != nil {
		return err
	}
	b := proto.CloneOf(pipe.block.GetB())
	b.NumBytes = proto.Uint64(uint64(pipe.written))
	w.last = b
	return nil
}

func (w *FileWriter) closePipe() {
	if w.pipe != nil {
		w.pipe.abort()
		w.pipe = nil
	}
}

// Close sends what is buffered, ends the last block and completes the
// file. A NameNode that still does not count the last block's replicas
// after about 20 s makes it fail with ErrLastBlockNotReplicated.
func (w *FileWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	defer w.stopLease()
	if w.err != nil {
		return w.err
	}
	for len(w.buf) > 0 {
		k, err := w.send(w.buf)
		if err != nil {
			return w.fail(err)
		}
		w.buf = w.buf[k:]
	}
	if w.pipe != nil {
		if err := w.endBlock(); err != nil {
			return w.fail(err)
		}
	}
	if err := w.c.complete(w.ctx, w.path, w.name, w.fileID, w.last); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Abort stops writing and deletes the file, even after ctx has ended.
func (w *FileWriter) Abort() error {
	if !w.closed {
		w.closed = true
		w.closePipe()
		w.stopLease()
	}
	if w.err == nil {
		w.err = &PathError{Op: "write", Path: w.path, Err: errors.New("aborted")}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	if err := w.c.Remove(rctx, w.path, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// complete closes a file at the NameNode, asking again while it answers
// that the last block lacks replicas. Java's client first waits 400 ms,
// then doubles; but the DataNodes' reports of a block received usually
// reach the NameNode within milliseconds of the pipeline's last ack, so
// this asks again after 10 ms and doubles from there (a short job's every
// output file paid the 400 ms, and then 50 ms), giving up after about as
// long in all as Java (12 calls, 15 s of waiting).
func (c *Client) complete(ctx context.Context, p, clientName string, fileID uint64, last *pb.ExtendedBlockProto) error {
	req := &pb.CompleteRequestProto{Src: proto.String(p), ClientName: proto.String(clientName), Last: last, FileId: proto.Uint64(fileID)}
	delay := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp := &pb.CompleteResponseProto{}
		if err := c.call(ctx, "complete", req, resp); err != nil {
			return &PathError{Op: "close", Path: p, Err: err}
		}
		if resp.GetResult() {
			return nil
		}
		if attempt == 12 {
			return &PathError{Op: "close", Path: p, Err: fmt.Errorf("%w (asked %d times)", ErrLastBlockNotReplicated, attempt)}
		}
		if err := sleep(ctx, delay); err != nil {
			return &PathError{Op: "close", Path: p, Err: err}
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isRemote reports whether err is the NameNode's exception of class.
func isRemote(err error, class string) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Class == class
}

// newBlock asks the NameNode for the next block of a file and sets up
// its pipeline. A DataNode that refuses the pipeline is excluded and the
// block asked for again, up to three times; a NameNode that has not yet
// seen the previous block's replicas (NotReplicatedYetException) is asked
// again after a pause, as Java's client does.
func (c *Client) newBlock(ctx context.Context, p, clientName string, fileID uint64, previous *pb.ExtendedBlockProto, heartbeat time.Duration) (*pipeline, error) {
	var excluded []*pb.DatanodeInfoProto
	var errs []error
	for try := 0; try < 3; try++ {
		lb, err := c.addBlock(ctx, p, clientName, fileID, previous, excluded)
		if err != nil {
			return nil, err
		}
		pipe, bad, err := c.openPipeline(ctx, lb, clientName, heartbeat)
		if err == nil {
			return pipe, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err)
		c.log.Debug("hdfs: a DataNode refused a block pipeline", "path", p, "err", err)
		abandon := &pb.AbandonBlockRequestProto{B: lb.GetB(), Src: proto.String(p), Holder: proto.String(clientName), FileId: proto.Uint64(fileID)}
		if err := c.call(ctx, "abandonBlock", abandon, &pb.AbandonBlockResponseProto{}); err != nil {
			return nil, &PathError{Op: "write", Path: p, Err: err}
		}
		if bad != nil {
			excluded = append(excluded, bad)
		}
	}
	return nil, errors.Join(errs...)
}

func (c *Client) addBlock(ctx context.Context, p, clientName string, fileID uint64, previous *pb.ExtendedBlockProto, excluded []*pb.DatanodeInfoProto) (*pb.LocatedBlockProto, error) {
	req := &pb.AddBlockRequestProto{Src: proto.String(p), ClientName: proto.String(clientName), Previous: previous, ExcludeNodes: excluded, FileId: proto.Uint64(fileID)}
	delay := 400 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp := &pb.AddBlockResponseProto{}
		err := c.call(ctx, "addBlock", req, resp)
		if err == nil {
			return resp.GetBlock(), nil
		}
		if !isRemote(err, "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException") || attempt == 7 {
			return nil, &PathError{Op: "write", Path: p, Err: err}
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// pipeline is one block being written through its DataNodes: packets go
// to the first, which forwards them; acks come back from it, one per
// packet, read by a goroutine of their own.
type pipeline struct {
	dc      *dataConn
	block   *pb.LocatedBlockProto
	written int64 // bytes sent
	seqno   int64
	out     []byte

	acks chan int64 // seqnos sent and not yet acked; closed after the last
	done chan error // the ack reader's result
	mu   sync.Mutex
	err  error // the ack reader's failure, once known

	// wmu serializes the connection's writes between the writer and the
	// heartbeat goroutine, which sends an empty packet whenever the
	// writer has sent nothing for a heartbeat interval, as Java's client
	// does, so that neither the DataNodes nor this client's own
	// deadlines time out a writer that is merely slow.
	wmu       sync.Mutex
	lastSend  time.Time
	stopBeat  chan struct{}
	beatEnded chan struct{}
}

// heartbeatInterval is half the DataNodes' read timeout
// (dfs.client.socket-timeout, 60 s), as Java's client uses.
const heartbeatInterval = 30 * time.Second

// heartbeats sends a heartbeat packet (seqno -1, offset 0, no data) every
// interval in which nothing else was sent, until stopBeat closes.
func (p *pipeline) heartbeats(interval time.Duration) {
	defer close(p.beatEnded)
	t := time.NewTicker(interval / 4)
	defer t.Stop()
	var out []byte
	for {
		select {
		case <-p.stopBeat:
			return
		case <-t.C:
		}
		p.wmu.Lock()
		if time.Since(p.lastSend) >= interval {
			out = appendPacket(out[:0], packet{seqno: -1})
			p.dc.deadline()
			_, err := p.dc.w.Write(out)
			if err == nil {
				err = p.dc.w.Flush()
			}
			p.lastSend = time.Now()
			if err != nil {
				// The writer's next send finds the connection broken.
				p.wmu.Unlock()
				return
			}
		}
		p.wmu.Unlock()
	}
}

// stopHeartbeats ends the heartbeat goroutine and waits for it.
func (p *pipeline) stopHeartbeats() {
	select {
	case <-p.stopBeat:
	default:
		close(p.stopBeat)
	}
	<-p.beatEnded
}

// openPipeline connects to a new block's first DataNode and sets up the
// pipeline. On failure it returns the DataNode to leave out next time.
func (c *Client) openPipeline(ctx context.Context, lb *pb.LocatedBlockProto, clientName string, heartbeat time.Duration) (*pipeline, *pb.DatanodeInfoProto, error) {
	locs := lb.GetLocs()
	if len(locs) == 0 {
		return nil, nil, errors.New("the NameNode gave a block without DataNodes")
	}
	addr := c.dataNodeAddr(locs[0])
	dc, err := c.dialDataNode(ctx, addr, lb.GetBlockToken())
	if err != nil {
		return nil, locs[0], err
	}
	req := &pb.OpWriteBlockProto{
		Header: &pb.ClientOperationHeaderProto{
			BaseHeader: &pb.BaseHeaderProto{Block: lb.GetB(), Token: tokenProto(lb.GetBlockToken())},
			ClientName: proto.String(clientName),
		},
		Targets:               locs[1:],
		Stage:                 pb.OpWriteBlockProto_PIPELINE_SETUP_CREATE.Enum(),
		PipelineSize:          proto.Uint32(uint32(len(locs))),
		MinBytesRcvd:          proto.Uint64(0),
		MaxBytesRcvd:          proto.Uint64(0),
		LatestGenerationStamp: proto.Uint64(lb.GetB().GetGenerationStamp()),
		RequestedChecksum:     writeChecksum.proto(),
	}
	if st := lb.GetStorageTypes(); len(st) == len(locs) {
		req.StorageType = st[0].Enum()
		req.TargetStorageTypes = st[1:]
	}
	if ids := lb.GetStorageIDs(); len(ids) == len(locs) {
		req.StorageId = proto.String(ids[0])
		req.TargetStorageIds = ids[1:]
	}
	if err := dc.sendOp(opWriteBlock, req); err != nil {
		dc.close()
		return nil, locs[0], dc.fail(ctx, "write request", err)
	}
	if _, err := dc.readOpResponse(); err != nil {
		dc.close()
		bad := locs[0]
		var dn *dataNodeError
		if errors.As(err, &dn) {
			for _, l := range locs {
				if link := c.dataNodeAddr(l); dn.msg != "" && containsLink(dn.msg, link) {
					bad = l
				}
			}
		}
		return nil, bad, dc.fail(ctx, "write response", err)
	}
	pipe := &pipeline{dc: dc, block: lb, acks: make(chan int64, ackWindow), done: make(chan error, 1),
		lastSend: time.Now(), stopBeat: make(chan struct{}), beatEnded: make(chan struct{})}
	go pipe.readAcks(ctx, len(locs))
	go pipe.heartbeats(heartbeat)
	return pipe, nil, nil
}

// containsLink reports whether a DataNode's message names link as the
// first bad link of the pipeline.
func containsLink(msg, link string) bool {
	const marker = "(first bad link "
	for i := 0; i+len(marker) <= len(msg); i++ {
		if msg[i:i+len(marker)] == marker {
			rest := msg[i+len(marker):]
			return len(rest) > len(link) && rest[:len(link)] == link && rest[len(link)] == ')'
		}
	}
	return false
}

// send sends one packet of data (nil ends the block).
func (p *pipeline) send(data []byte) error {
	if err := p.failed(); err != nil {
		return err
	}
	pk := packet{offset: p.written, seqno: p.seqno, last: data == nil, data: data}
	pk.checksums = writeChecksum.append(make([]byte, 0, writeChecksum.size(len(data))), data)
	p.out = appendPacket(p.out[:0], pk)
	select {
	case p.acks <- p.seqno:
	case err := <-p.done:
		p.done <- err
		return err
	}
	p.seqno++
	p.wmu.Lock()
	p.dc.deadline()
	_, err := p.dc.w.Write(p.out)
	if err == nil {
		err = p.dc.w.Flush()
	}
	p.lastSend = time.Now()
	p.wmu.Unlock()
	if err != nil {
		return p.writeErr(err)
	}
	p.written += int64(len(data))
	return nil
}

// writeErr prefers the ack reader's account of a failure (a DataNode's
// bad status) over the broken write it caused.
func (p *pipeline) writeErr(err error) error {
	if aerr := p.failed(); aerr != nil {
		return aerr
	}
	return p.dc.fail(context.Background(), "write", err)
}

func (p *pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finish sends the block's last, empty packet and waits for every ack.
func (p *pipeline) finish() error {
	p.stopHeartbeats()
	err := p.send(nil)
	close(p.acks)
	if err == nil {
		err = <-p.done
	} else {
		p.dc.close()
		<-p.done
	}
	p.dc.close()
	return err
}

// abort drops the block's connection and waits for the ack reader.
func (p *pipeline) abort() {
	p.stopHeartbeats()
	p.dc.close()
	close(p.acks)
	<-p.done
}

// readAcks reads one ack per packet sent, in order, and records the
// first failure: an ack for another packet, a DataNode's bad status, or
// a broken connection. After a failure it closes the connection (so the
// writer's next write fails too) and drains the seqnos still sent.
func (p *pipeline) readAcks(ctx context.Context, replicas int) {
	var err error
	for seq := range p.acks {
		if err != nil {
			continue
		}
		err = p.readAck(ctx, seq, replicas)
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			p.dc.conn.Close()
		}
	}
	p.done <- err
}

func (p *pipeline) readAck(ctx context.Context, seq int64, replicas int) error {
	for {
		ack := &pb.PipelineAckProto{}
		// No deadline of its own: the writer's deadlines bound how long
		// a packet may wait, and closing the connection ends this read.
		if err := readDelimited(p.dc.r, ack); err != nil {
			return p.dc.fail(ctx, "ack", err)
		}
		if ack.GetSeqno() == -1 {
			continue // a heartbeat's ack
		}
		if err := checkAck(ack, seq, replicas); err != nil {
			return &dataNodeError{addr: p.dc.addr, msg: "ack", err: err}
		}
		return nil
	}
}

// checkAck checks that ack is the one for packet seq and that every
// DataNode of the pipeline stored it.
func checkAck(ack *pb.PipelineAckProto, seq int64, replicas int) error {
	if ack.GetSeqno() != seq {
		return fmt.Errorf("ack for packet %d, expected %d", ack.GetSeqno(), seq)
	}
	reply := ack.GetReply()
	if len(reply) != replicas {
		return fmt.Errorf("ack of packet %d with %d replies for %d DataNodes", seq, len(reply), replicas)
	}
	for i, s := range reply {
		if s != pb.Status_SUCCESS {
			return fmt.Errorf("DataNode %d of the pipeline answered %v for packet %d", i+1, s, seq)
		}
	}
	return nil
}

// String, GoString, Format, LogValue and MarshalJSON show a FileWriter as
// its path, never the block tokens or client it holds.
func (w *FileWriter) String() string {
	if w == nil {
		return "<nil>"
	}
	return "hdfs.FileWriter{" + w.path + "}"
}

func (w *FileWriter) GoString() string              { return "&" + w.String() }
func (w *FileWriter) Format(f fmt.State, verb rune) { redact.Format(f, verb, w.String(), w.GoString()) }
func (w *FileWriter) LogValue() slog.Value          { return slog.StringValue(w.String()) }
func (w *FileWriter) MarshalJSON() ([]byte, error)  { return json.Marshal(w.String()) }

package hdfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pbc "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/sasl/sasltest"
)

// These tests run the block reader and writer against a fake NameNode
// (ipctest) and fake DataNodes, for the faults the test bed cannot make:
// a replica sending bad data or refusing a block token, a DataNode
// refusing a pipeline, a NameNode that never sees the last block. The
// bytes on the wire are proven against real DataNodes by the integration
// tests (TestHDFSTokensReadWrite).

// fakeDataNode serves READ_BLOCK and WRITE_BLOCK from memory.
type fakeDataNode struct {
	t    *testing.T
	ln   net.Listener
	addr string

	mu           sync.Mutex
	blocks       map[uint64][]byte // by block id
	corrupt      bool              // flip a byte of every packet it sends
	refuseToken  bool              // answer ERROR_ACCESS_TOKEN while set
	refuseWrites bool              // answer ERROR to WRITE_BLOCK
	reads        int
	heartbeats   int
	tokens       []string // block token identifiers it was shown
	peers        map[string]*fakeDataNode
	// saslPassword, when set, makes the DataNode ask for the SASL
	// handshake (DIGEST-MD5 at auth) on block tokens with this password.
	saslPassword []byte
	wg           sync.WaitGroup
}

// set changes the DataNode's behaviour under its lock.
func (d *fakeDataNode) set(f func(d *fakeDataNode)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func newFakeDataNode(t *testing.T) *fakeDataNode {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDataNode{t: t, ln: ln, addr: ln.Addr().String(), blocks: map[uint64][]byte{}}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				defer conn.Close()
				d.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); d.wg.Wait() })
	return d
}

func (d *fakeDataNode) info() *pb.DatanodeInfoProto {
	host, port, _ := net.SplitHostPort(d.addr)
	p, _ := strconv.Atoi(port)
	return &pb.DatanodeInfoProto{Id: &pb.DatanodeIDProto{
		IpAddr: proto.String(host), HostName: proto.String("localhost"), DatanodeUuid: proto.String(d.addr),
		XferPort: proto.Uint32(uint32(p)), InfoPort: proto.Uint32(0), IpcPort: proto.Uint32(0),
	}}
}

func (d *fakeDataNode) serve(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	d.mu.Lock()
	saslPassword := d.saslPassword
	d.mu.Unlock()
	if saslPassword != nil && !d.saslHandshake(conn, r, saslPassword) {
		return
	}
	var head [3]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return
	}
	if binary.BigEndian.Uint16(head[:2]) != dataTransferVersion {
		d.t.Errorf("fake DataNode: version %d", binary.BigEndian.Uint16(head[:2]))
		return
	}
	reply := func(m proto.Message) {
		b, _ := appendDelimited(nil, m)
		conn.Write(b)
	}
	status := func(s pb.Status) *pb.BlockOpResponseProto { return &pb.BlockOpResponseProto{Status: s.Enum()} }
	d.mu.Lock()
	refuseToken, corrupt, refuseWrites := d.refuseToken, d.corrupt, d.refuseWrites
	d.mu.Unlock()
	switch head[2] {
	case opReadBlock:
		req := &pb.OpReadBlockProto{}
		if err := readDelimited(r, req); err != nil {
			d.t.Errorf("fake DataNode: %v", err)
			return
		}
		d.mu.Lock()
		d.reads++
		d.tokens = append(d.tokens, string(req.GetHeader().GetBaseHeader().GetToken().GetIdentifier()))
		data, ok := d.blocks[req.GetHeader().GetBaseHeader().GetBlock().GetBlockId()]
		d.mu.Unlock()
		if refuseToken {
			reply(status(pb.Status_ERROR_ACCESS_TOKEN))
			return
		}
		off, n := int64(req.GetOffset()), int64(req.GetLen())
		if !ok || off+n > int64(len(data)) {
			reply(status(pb.Status_ERROR))
			return
		}
		start := off / 512 * 512
		resp := status(pb.Status_SUCCESS)
		resp.ReadOpChecksumInfo = &pb.ReadOpChecksumInfoProto{Checksum: writeChecksum.proto(), ChunkOffset: proto.Uint64(uint64(start))}
		reply(resp)
		seq := int64(0)
		for pos := start; pos < off+n; seq++ {
			k := min(int64(packetData), int64(len(data))-pos)
			chunk := append([]byte(nil), data[pos:pos+k]...)
			sums := writeChecksum.append(nil, chunk)
			if corrupt {
				chunk[0] ^= 0xff
			}
			conn.Write(appendPacket(nil, packet{offset: pos, seqno: seq, data: chunk, checksums: sums}))
			pos += k
		}
		conn.Write(appendPacket(nil, packet{offset: off + n, seqno: seq, last: true}))
		io.Copy(io.Discard, r)
	case opWriteBlock:
		req := &pb.OpWriteBlockProto{}
		if err := readDelimited(r, req); err != nil {
			d.t.Errorf("fake DataNode: %v", err)
			return
		}
		if refuseWrites {
			reply(&pb.BlockOpResponseProto{Status: pb.Status_ERROR.Enum(), FirstBadLink: proto.String(d.addr)})
			return
		}
		cs, err := checksumFromProto(req.GetRequestedChecksum())
		if err != nil {
			d.t.Errorf("fake DataNode: %v", err)
			return
		}
		reply(status(pb.Status_SUCCESS))
		var block []byte
		var buf []byte
		for {
			var p packet
			p, buf, err = readPacket(r, buf)
			if err != nil {
				// A client that gave up (an aborted write) hangs up
				// mid-block; anything else is a broken packet.
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset by peer") {
					d.t.Errorf("fake DataNode: reading a packet: %v", err)
				}
				return
			}
			if p.seqno == -1 && len(p.data) == 0 && !p.last {
				d.set(func(d *fakeDataNode) { d.heartbeats++ })
				reply(&pb.PipelineAckProto{Seqno: proto.Int64(-1), Reply: make([]pb.Status, req.GetPipelineSize())})
				continue
			}
			if p.offset != int64(len(block)) {
				d.t.Errorf("fake DataNode: packet at %d after %d bytes", p.offset, len(block))
			}
			if bad, err := cs.verify(p.data, p.checksums); err != nil || bad >= 0 {
				d.t.Errorf("fake DataNode: bad checksums: %d, %v", bad, err)
				return
			}
			block = append(block, p.data...)
			if p.last {
				// Finalized before the last packet's ack, as a real
				// DataNode does: a client reading the file once its
				// write is acknowledged finds the block (a run acking
				// first failed such a read). With the replicas the
				// pipeline's other DataNodes would have.
				id := req.GetHeader().GetBaseHeader().GetBlock().GetBlockId()
				d.set(func(d *fakeDataNode) { d.blocks[id] = block })
				for _, target := range req.GetTargets() {
					peer := d.peers[net.JoinHostPort(target.GetId().GetIpAddr(), strconv.Itoa(int(target.GetId().GetXferPort())))]
					peer.set(func(p *fakeDataNode) { p.blocks[id] = block })
				}
			}
			replies := make([]pb.Status, req.GetPipelineSize())
			reply(&pb.PipelineAckProto{Seqno: proto.Int64(p.seqno), Reply: replies})
			if p.last {
				break
			}
		}
	default:
		d.t.Errorf("fake DataNode: op %d", head[2])
	}
}

// saslHandshake is the DataNode's side of the SASL handshake, checking the
// client's DIGEST-MD5 response against the block token's password.
func (d *fakeDataNode) saslHandshake(conn net.Conn, r *bufio.Reader, password []byte) bool {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || binary.BigEndian.Uint32(magic[:]) != saslTransferMagic {
		return false // a client that does not speak SASL: hang up
	}
	send := func(m *pb.DataTransferEncryptorMessageProto) {
		b, _ := appendDelimited(nil, m)
		conn.Write(b)
	}
	if _, err := readSASLMessage(r); err != nil {
		d.t.Errorf("fake DataNode: first SASL message: %v", err)
		return false
	}
	server := &sasltest.DigestServer{
		Challenge: []byte(`realm="0",nonce="bm9uY2Utb2YtdGhlLWZha2UtZGF0YW5vZGU=",qop="auth",charset=utf-8,algorithm=md5-sess`),
		DigestURI: "hdfs/0",
		Password:  func([]byte) ([]byte, bool) { return password, true },
	}
	send(saslMessage(server.Challenge))
	resp, err := readSASLMessage(r)
	if err != nil {
		d.t.Errorf("fake DataNode: SASL response: %v", err)
		return false
	}
	_, final, err := server.Verify(resp)
	if err != nil {
		send(&pb.DataTransferEncryptorMessageProto{Status: pb.DataTransferEncryptorMessageProto_ERROR.Enum(), Message: proto.String(err.Error()), AccessTokenError: proto.Bool(true)})
		return false
	}
	send(saslMessage(final))
	return true
}

// fakeNameNode keeps one file's blocks, placed on its DataNodes in order.
type fakeNameNode struct {
	mu        sync.Mutex
	dns       []*fakeDataNode
	blocks    []*pb.LocatedBlockProto
	size      uint64
	nextID    uint64
	tokenGen  int
	completed bool
	neverDone bool // complete answers false forever
	abandoned int
	excluded  []string
	srv       *ipctest.Server
}

func newFakeNameNode(t *testing.T, dns ...*fakeDataNode) *fakeNameNode {
	n := &fakeNameNode{dns: dns, nextID: 1000}
	peers := map[string]*fakeDataNode{}
	for _, d := range dns {
		peers[d.addr] = d
		d.peers = peers
	}
	status := func() *pb.HdfsFileStatusProto {
		return &pb.HdfsFileStatusProto{
			FileType: pb.HdfsFileStatusProto_IS_FILE.Enum(), Path: []byte{}, Length: proto.Uint64(n.size),
			Permission: &pb.FsPermissionProto{Perm: proto.Uint32(0o644)}, Owner: proto.String("alice"), Group: proto.String("g"),
			ModificationTime: proto.Uint64(0), AccessTime: proto.Uint64(0), FileId: proto.Uint64(7),
		}
	}
	n.srv = ipctest.NewServer(t, ipctest.Methods{
		"create": func(c *ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.CreateResponseProto{Fs: status()})
		},
		"addBlock": func(c *ipctest.Call) ipctest.Reply {
			req := &pb.AddBlockRequestProto{}
			c.Decode(req)
			n.mu.Lock()
			defer n.mu.Unlock()
			if prev := req.GetPrevious(); prev != nil {
				n.blocks[len(n.blocks)-1].B.NumBytes = proto.Uint64(prev.GetNumBytes())
			}
			ex := map[string]bool{}
			for _, e := range req.GetExcludeNodes() {
				ex[e.GetId().GetDatanodeUuid()] = true
				n.excluded = append(n.excluded, e.GetId().GetDatanodeUuid())
			}
			var off uint64
			for _, b := range n.blocks {
				off += b.GetB().GetNumBytes()
			}
			lb := &pb.LocatedBlockProto{
				B:      &pb.ExtendedBlockProto{PoolId: proto.String("bp"), BlockId: proto.Uint64(n.nextID), GenerationStamp: proto.Uint64(1)},
				Offset: proto.Uint64(off), Corrupt: proto.Bool(false),
				BlockToken: &pbc.TokenProto{Identifier: []byte("gen0"), Password: []byte("pw"), Kind: proto.String("HDFS_BLOCK_TOKEN"), Service: proto.String("")},
			}
			n.nextID++
			for _, d := range n.dns {
				if !ex[d.addr] {
					lb.Locs = append(lb.Locs, d.info())
				}
			}
			n.blocks = append(n.blocks, lb)
			return ipctest.Respond(&pb.AddBlockResponseProto{Block: lb})
		},
		"abandonBlock": func(c *ipctest.Call) ipctest.Reply {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.abandoned++
			n.blocks = n.blocks[:len(n.blocks)-1]
			return ipctest.Respond(&pb.AbandonBlockResponseProto{})
		},
		"complete": func(c *ipctest.Call) ipctest.Reply {
			req := &pb.CompleteRequestProto{}
			c.Decode(req)
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.neverDone {
				return ipctest.Respond(&pb.CompleteResponseProto{Result: proto.Bool(false)})
			}
			if last := req.GetLast(); last != nil {
				n.blocks[len(n.blocks)-1].B.NumBytes = proto.Uint64(last.GetNumBytes())
			}
			n.size = 0
			for _, b := range n.blocks {
				n.size += b.GetB().GetNumBytes()
			}
			n.completed = true
			return ipctest.Respond(&pb.CompleteResponseProto{Result: proto.Bool(true)})
		},
		"renewLease": func(c *ipctest.Call) ipctest.Reply { return ipctest.Respond(&pb.RenewLeaseResponseProto{}) },
		"getBlockLocations": func(c *ipctest.Call) ipctest.Reply {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.tokenGen++
			var blocks []*pb.LocatedBlockProto
			for _, b := range n.blocks {
				b = proto.CloneOf(b)
				b.BlockToken.Identifier = []byte("gen" + strconv.Itoa(n.tokenGen))
				blocks = append(blocks, b)
			}
			return ipctest.Respond(&pb.GetBlockLocationsResponseProto{Locations: &pb.LocatedBlocksProto{
				FileLength: proto.Uint64(n.size), Blocks: blocks, UnderConstruction: proto.Bool(false), IsLastBlockComplete: proto.Bool(true),
			}})
		},
		"delete": func(c *ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.DeleteResponseProto{Result: proto.Bool(true)})
		},
	})
	return n
}

func fakeClient(t *testing.T, nn *fakeNameNode, replication int, edit ...func(*Config)) *Client {
	cfg := Config{NameNodes: []string{nn.srv.Addr}, User: "alice", Replication: replication, BlockSize: 4096}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func writeAll(t *testing.T, ctx context.Context, c *Client, data []byte, opts CreateOptions) error {
	t.Helper()
	w, err := c.Create(ctx, "/f", opts)
	if err != nil {
		return err
	}
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 1000)
		if _, err := w.Write(rest[:k]); err != nil {
			return err
		}
		rest = rest[k:]
	}
	return w.Close()
}

// TestBlockWriteRead: a file of several blocks and a partial chunk goes
// through a two-DataNode pipeline and reads back equal, whole and by
// ranges.
func TestBlockWriteRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn1, dn2 := newFakeDataNode(t), newFakeDataNode(t)
	nn := newFakeNameNode(t, dn1, dn2)
	c := fakeClient(t, nn, 2)
	want := randomBytes(3*4096 + 1234)
	if err := writeAll(t, ctx, c, want, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(nn.blocks) != 4 || !nn.completed {
		t.Fatalf("%d blocks, completed %v; want 4, true", len(nn.blocks), nn.completed)
	}
	got, err := c.ReadFile(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	r, err := c.Open(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 5000)
	if n, err := r.ReadAt(buf, 4000); err != nil || !bytes.Equal(buf[:n], want[4000:9000]) {
		t.Errorf("ReadAt across blocks: %d, %v", n, err)
	}
	if _, err := r.Seek(-10, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); err != nil || !bytes.Equal(rest, want[len(want)-10:]) {
		t.Errorf("read after Seek to the end: %q, %v", rest, err)
	}
}

// TestBlockReadFailover: a replica sending corrupt data is left for the
// next one; when every replica fails the error names them and matches
// ErrDataNode.
func TestBlockReadFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn1, dn2 := newFakeDataNode(t), newFakeDataNode(t)
	nn := newFakeNameNode(t, dn1, dn2)
	c := fakeClient(t, nn, 2)
	want := randomBytes(2*4096 + 100)
	if err := writeAll(t, ctx, c, want, CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dn1.set(func(d *fakeDataNode) { d.corrupt = true })
	got, err := c.ReadFile(ctx, "/f")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("with a corrupt first replica: %d bytes, %v", len(got), err)
	}
	dn2.set(func(d *fakeDataNode) {
		if d.reads == 0 {
			t.Error("the second replica was never read")
		}
		d.corrupt = true
	})
	_, err = c.ReadFile(ctx, "/f")
	if !errors.Is(err, ErrDataNode) {
		t.Fatalf("every replica corrupt: %v, want ErrDataNode", err)
	}
	for _, dn := range []*fakeDataNode{dn1, dn2} {
		if !bytes.Contains([]byte(err.Error()), []byte(dn.addr)) {
			t.Errorf("error %q does not name %s", err, dn.addr)
		}
	}
}

// TestBlockReadFreshToken: a DataNode refusing the block token makes the
// reader ask the NameNode again and present the new token.
func TestBlockReadFreshToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn := newFakeDataNode(t)
	nn := newFakeNameNode(t, dn)
	c := fakeClient(t, nn, 1)
	want := randomBytes(100)
	if err := writeAll(t, ctx, c, want, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Open(ctx, "/f") // tokens of generation 1
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dn.set(func(d *fakeDataNode) { d.refuseToken = true })
	buf := make([]byte, 10)
	if _, err := r.ReadAt(buf, 0); !errors.Is(err, ErrDataNode) {
		t.Fatalf("refused token: %v, want ErrDataNode", err)
	}
	dn.mu.Lock()
	tokens := append([]string(nil), dn.tokens...)
	dn.mu.Unlock()
	if len(tokens) != 2 || tokens[0] != "gen1" || tokens[1] != "gen2" {
		t.Errorf("tokens presented %q, want gen1 then the fresh gen2", tokens)
	}
}

// TestBlockWriteExcludesRefusingDataNode: a DataNode refusing a block's
// pipeline makes the writer abandon the block and ask for another without
// it.
func TestBlockWriteExcludesRefusingDataNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad, good := newFakeDataNode(t), newFakeDataNode(t)
	bad.set(func(d *fakeDataNode) { d.refuseWrites = true })
	nn := newFakeNameNode(t, bad, good)
	c := fakeClient(t, nn, 1)
	want := randomBytes(5000)
	if err := writeAll(t, ctx, c, want, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if nn.abandoned != 2 || len(nn.excluded) != 2 || nn.excluded[0] != bad.addr {
		t.Errorf("abandoned %d blocks, excluded %v; want 2 (one per block), %s", nn.abandoned, nn.excluded, bad.addr)
	}
	got, err := c.ReadFile(ctx, "/f")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, %v", len(got), err)
	}
}

// TestBlockWriteLastBlockNotReplicated: a NameNode that never counts the
// last block's replicas makes Close fail with ErrLastBlockNotReplicated
// after its retries, not hang.
func TestBlockWriteLastBlockNotReplicated(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out complete's retries (about 15 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := newFakeDataNode(t)
	nn := newFakeNameNode(t, dn)
	nn.neverDone = true
	c := fakeClient(t, nn, 1)
	err := writeAll(t, ctx, c, randomBytes(10), CreateOptions{})
	if !errors.Is(err, ErrLastBlockNotReplicated) {
		t.Fatalf("Close: %v, want ErrLastBlockNotReplicated", err)
	}
	if got := nn.srv.Calls("complete"); got != 12 {
		t.Errorf("complete asked %d times, want 12", got)
	}
}

// TestCreateOptionsChecked: a block size that is not a multiple of the
// checksum chunk is refused before the NameNode is asked.
func TestCreateOptionsChecked(t *testing.T) {
	nn := newFakeNameNode(t)
	c := fakeClient(t, nn, 1)
	if _, err := c.Create(context.Background(), "/f", CreateOptions{BlockSize: 1000}); err == nil {
		t.Error("block size 1000 accepted")
	}
	if nn.srv.Calls("create") != 0 {
		t.Error("the NameNode was asked")
	}
}

// TestBlockSASLHandshake: with DataTransferProtection set, reads and
// writes authenticate to the DataNodes with DIGEST-MD5 on the block token
// (digest-uri hdfs/0) before any operation; a token the DataNode does not
// accept fails the operation with ErrDataNode.
func TestBlockSASLHandshake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn1, dn2 := newFakeDataNode(t), newFakeDataNode(t)
	for _, d := range []*fakeDataNode{dn1, dn2} {
		d.set(func(d *fakeDataNode) { d.saslPassword = []byte("pw") })
	}
	nn := newFakeNameNode(t, dn1, dn2)
	c := fakeClient(t, nn, 2, func(cfg *Config) { cfg.DataTransferProtection = "authentication" })
	want := randomBytes(2*4096 + 77)
	if err := writeAll(t, ctx, c, want, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(ctx, "/f")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	for _, d := range []*fakeDataNode{dn1, dn2} {
		d.set(func(d *fakeDataNode) { d.saslPassword = []byte("another") })
	}
	if _, err := c.ReadFile(ctx, "/f"); !errors.Is(err, ErrDataNode) || !strings.Contains(err.Error(), "SASL") {
		t.Errorf("a block token the DataNodes refuse: %v, want ErrDataNode naming the SASL handshake", err)
	}
	// Without the protection configured, a client does not start the
	// handshake the DataNode waits for.
	plain := fakeClient(t, nn, 1)
	if b, err := plain.ReadFile(ctx, "/f"); !errors.Is(err, ErrDataNode) || errors.Is(err, io.EOF) {
		t.Errorf("a client without DataTransferProtection from DataNodes asking for SASL: %d bytes, %v; want ErrDataNode, not io.EOF", len(b), err)
	}
}

// TestBlockWriteHeartbeats: a writer that sends nothing for a while keeps
// its pipeline alive with heartbeat packets, whose acks the ack reader
// passes over, and the file is whole.
func TestBlockWriteHeartbeats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn := newFakeDataNode(t)
	nn := newFakeNameNode(t, dn)
	c := fakeClient(t, nn, 1)
	w, err := c.Create(ctx, "/f", CreateOptions{BlockSize: 1 << 20, heartbeat: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := randomBytes(100_000)
	w.Write(want[:70_000]) // one packet sent, the block open
	deadline := time.Now().Add(10 * time.Second)
	for {
		var beats int
		dn.set(func(d *fakeDataNode) { beats = d.heartbeats })
		if beats >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats after 10 s of an idle writer", beats)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Write(want[70_000:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(ctx, "/f")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, %v", len(got), err)
	}
}

// TestBlockWriteCancelLeavesNoGoroutine: cancelling a writer's context
// fails its next write with the context's error; Abort deletes the file;
// and neither the writer (lease renewal, ack reader, heartbeats) nor a
// closed reader leaves a goroutine behind.
func TestBlockWriteCancelLeavesNoGoroutine(t *testing.T) {
	dn := newFakeDataNode(t)
	nn := newFakeNameNode(t, dn)
	c := fakeClient(t, nn, 1)
	// The NameNode connection's goroutines live as long as the client.
	if err := writeAll(t, context.Background(), c, randomBytes(10), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Create(ctx, "/f", CreateOptions{BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(100_000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := w.Write(randomBytes(100_000)); !errors.Is(err, context.Canceled) {
		t.Errorf("write after cancel: %v, want context.Canceled", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if nn.srv.Calls("delete") != 1 {
		t.Errorf("Abort made %d delete calls, want 1", nn.srv.Calls("delete"))
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := writeAll(t, ctx2, c, randomBytes(10_000), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Open(ctx2, "/f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	r.Close()

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

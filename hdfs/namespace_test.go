package hdfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

// silentNameNode is a Dialer whose NameNode reads every request and never
// answers, as a NameNode stuck in a long pause would.
type silentNameNode struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (s *silentNameNode) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	s.mu.Lock()
	s.conns = append(s.conns, client, server)
	s.mu.Unlock()
	go io.Copy(io.Discard, server)
	return client, nil
}

func (s *silentNameNode) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// TestFileDefaultsHoldsNoLockAcrossTheCall: while one caller waits for a
// NameNode that does not answer getServerDefaults, another caller whose
// context ends sooner gets its context's error at once instead of queuing
// behind the first.
func TestFileDefaultsHoldsNoLockAcrossTheCall(t *testing.T) {
	nn := &silentNameNode{}
	defer nn.close()
	c, err := NewClient(Config{User: "alice", NameNodes: []string{"nn.example.com:8020"}, Dialer: nn})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	slowCtx, cancelSlow := context.WithCancel(context.Background())
	slowDone := make(chan error, 1)
	go func() {
		_, err := c.fileDefaults(slowCtx)
		slowDone <- err
	}()
	// Let the first call reach the NameNode before the second starts.
	time.Sleep(200 * time.Millisecond)

	fastCtx, cancelFast := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelFast()
	fastDone := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.fileDefaults(fastCtx)
		fastDone <- err
	}()
	select {
	case err := <-fastDone:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("second caller: %v, want its context's deadline", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("second caller took %v for a 300ms context", took)
		}
	case <-time.After(5 * time.Second):
		t.Error("second caller still waiting 5s after its 300ms context ended: it queued behind the first caller's NameNode call")
	}
	cancelSlow()
	select {
	case err := <-slowDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("first caller: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("first caller did not return after its context was cancelled")
	}
}

// TestFileDefaultsFromConfig: with both set in Config, the NameNode is not
// asked.
func TestFileDefaultsFromConfig(t *testing.T) {
	nn := &silentNameNode{}
	defer nn.close()
	c, err := NewClient(Config{User: "alice", NameNodes: []string{"nn.example.com:8020"}, Dialer: nn, Replication: 2, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d, err := c.fileDefaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d != (serverDefaults{2, 1 << 20}) {
		t.Errorf("fileDefaults = %+v, want Config's {2 1048576}", d)
	}
}

func TestStatusFromProto(t *testing.T) {
	p := &pb.HdfsFileStatusProto{
		FileType: pb.HdfsFileStatusProto_IS_DIR.Enum(), Path: []byte("d"), Length: proto.Uint64(0),
		Permission: &pb.FsPermissionProto{Perm: proto.Uint32(0o1777)}, Owner: proto.String("hdfs"), Group: proto.String("supergroup"),
		ModificationTime: proto.Uint64(1700000000123), AccessTime: proto.Uint64(0),
	}
	s := statusFromProto(p, "d")
	if !s.IsDir() || s.Mode.Perm() != 0o777 || s.Mode&fs.ModeSticky == 0 || s.ModTime.UnixMilli() != 1700000000123 || !s.AccessTime.IsZero() {
		t.Errorf("status %+v", s)
	}
	if got := perm(s.Mode).GetPerm(); got != 0o1777 {
		t.Errorf("perm round trip %o, want 1777", got)
	}
}

// FuzzListingResponse: whatever a NameNode sends as a listing page decodes
// to statuses without panicking, and directories report no size.
func FuzzListingResponse(f *testing.F) {
	page := &pb.GetListingResponseProto{DirList: &pb.DirectoryListingProto{
		RemainingEntries: proto.Uint32(0),
		PartialListing: []*pb.HdfsFileStatusProto{{
			FileType: pb.HdfsFileStatusProto_IS_FILE.Enum(), Path: []byte("abc"), Length: proto.Uint64(42),
			Permission: &pb.FsPermissionProto{Perm: proto.Uint32(0o644)}, Owner: proto.String("alice"), Group: proto.String("g"),
			ModificationTime: proto.Uint64(1), AccessTime: proto.Uint64(2), BlockReplication: proto.Uint32(3),
		}},
	}}
	b, _ := proto.Marshal(page)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := &pb.GetListingResponseProto{}
		if proto.Unmarshal(b, resp) != nil {
			return
		}
		for _, e := range resp.GetDirList().GetPartialListing() {
			s := statusFromProto(e, string(e.GetPath()))
			if s.IsDir() && s.Size != 0 {
				t.Fatalf("directory with size %d", s.Size)
			}
		}
	})
}

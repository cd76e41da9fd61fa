package hdfs

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

func TestArchiveSuffix(t *testing.T) {
	for name, want := range map[string]string{
		"lib.tar.gz": ".tar.gz", "LIB.TGZ": ".tgz", "x.tar": ".tar", "a.zip": ".zip", "app.jar": ".jar",
		"data.gz": "", "README": "", ".jar": "", "tar": "",
	} {
		if got := archiveSuffix(name); got != want {
			t.Errorf("archiveSuffix(%q) = %q, want %q", name, got, want)
		}
	}
}

func testClient(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(Config{User: "alice", NameNodes: []string{"nn.example.com:8020"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"app", "lib.jar", "deps.tar.gz"} {
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "conf"), 0o755)
	c := testClient(t)
	items, err := c.plan([]Dependency{
		{Local: filepath.Join(dir, "app")},
		{Local: filepath.Join(dir, "lib.jar")},
		{Local: filepath.Join(dir, "lib.jar"), Name: "lib-plain.jar", Type: TypeFile},
		{Local: filepath.Join(dir, "deps.tar.gz"), Visibility: VisibilityPublic},
		{Local: filepath.Join(dir, "conf") + "/"},
		{Remote: "hdfs://nn.example.com:8020/shared/flink.tgz"},
		{Remote: "hdfs:///shared/tool", Name: "tool"},
		{Remote: "/shared/x.zip", Type: TypeFile, Visibility: VisibilityApplication},
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Remote string
		Type         ResourceType
		Vis          Visibility
	}
	var got []row
	for _, it := range items {
		got = append(got, row{it.name, it.remote, it.typ, it.vis})
	}
	want := []row{
		{"app", "", TypeFile, VisibilityPrivate},
		{"lib.jar", "", TypeArchive, VisibilityPrivate},
		{"lib-plain.jar", "", TypeFile, VisibilityPrivate},
		{"deps.tar.gz", "", TypeArchive, VisibilityPublic},
		{"conf", "", TypeArchive, VisibilityPrivate},
		{"flink.tgz", "/shared/flink.tgz", TypeArchive, VisibilityPrivate},
		{"tool", "/shared/tool", TypeFile, VisibilityPrivate},
		{"x.zip", "/shared/x.zip", TypeFile, VisibilityApplication},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("x"), 0o644)
	tests := []struct {
		name string
		deps []Dependency
		want string
	}{
		{"neither", []Dependency{{Name: "x"}}, "exactly one"},
		{"both", []Dependency{{Local: f, Remote: "/x"}}, "exactly one"},
		{"missing", []Dependency{{Local: filepath.Join(dir, "nope")}}, "no such file"},
		{"duplicate names", []Dependency{{Local: f}, {Remote: "/a/f"}}, "two dependencies"},
		{"slash in name", []Dependency{{Local: f, Name: "a/b"}}, "want a file name"},
		{"reserved name", []Dependency{{Local: f, Name: ".spindle-manifest.json"}}, "want a file name"},
		{"archive without ending", []Dependency{{Local: f, Type: TypeArchive}}, "must end in"},
		{"directory as file", []Dependency{{Local: dir, Type: TypeFile}}, "shipped as an archive"},
		{"other file system", []Dependency{{Remote: "hdfs://elsewhere:8020/x"}}, "another file system"},
		{"not hdfs", []Dependency{{Remote: "s3a://bucket/x"}}, "hdfs://"},
		{"relative", []Dependency{{Remote: "x/y"}}, "absolute"},
		{"bad visibility", []Dependency{{Local: f, Visibility: 7}}, "unknown"},
	}
	c := testClient(t)
	for _, tt := range tests {
		_, err := c.plan(tt.deps)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTreeHashStable: the same tree hashes the same wherever and whenever
// it is, and any change of content, name or mode changes the hash.
func TestTreeHashStable(t *testing.T) {
	files := map[string]string{"a.txt": "A", "sub/b.txt": "B", "sub/deeper/c": strings.Repeat("c", 5000)}
	hash := func(root string) [32]byte {
		s := &source{local: root, dir: true}
		if err := s.hash(); err != nil {
			t.Fatal(err)
		}
		return s.sum
	}
	one, two := t.TempDir(), t.TempDir()
	writeTree(t, one, files)
	writeTree(t, two, files)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(two, "a.txt"), past, past)
	base := hash(one)
	if hash(two) != base {
		t.Fatal("two copies of a tree with different times hash differently")
	}
	os.WriteFile(filepath.Join(two, "a.txt"), []byte("a"), 0o644)
	if hash(two) == base {
		t.Error("changed content, same hash")
	}
	os.WriteFile(filepath.Join(two, "a.txt"), []byte("A"), 0o755)
	os.Chmod(filepath.Join(two, "a.txt"), 0o755)
	if hash(two) == base {
		t.Error("changed mode, same hash")
	}
	os.Chmod(filepath.Join(two, "a.txt"), 0o644)
	os.Rename(filepath.Join(two, "sub", "b.txt"), filepath.Join(two, "sub", "b2.txt"))
	if hash(two) == base {
		t.Error("renamed file, same hash")
	}
}

// TestTreeArchive: the tar holds relative names, directories first in
// walk order, the files' bytes and modes, and follows links to files.
func TestTreeArchive(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"run.sh": "#!/bin/sh\n", "lib/x.txt": "x"})
	os.Chmod(filepath.Join(root, "run.sh"), 0o755)
	os.Symlink("lib/x.txt", filepath.Join(root, "link"))
	s := &source{local: root, dir: true}
	if err := s.hash(); err != nil {
		t.Fatal(err)
	}
	rc, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != s.size || sha256.Sum256(data) != s.sum {
		t.Fatalf("open gave %d bytes, hash saw %d (or a different sum)", len(data), s.size)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, h.Name+" "+fs.FileMode(h.Mode).String()+" "+string(body))
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v uid %d uname %q leak into the archive", h.Name, h.ModTime, h.Uid, h.Uname)
		}
	}
	want := []string{"lib/ -rwxr-xr-x ", "lib/x.txt -rw-r--r-- x", "link -rw-r--r-- x", "run.sh -rwxr-xr-x #!/bin/sh\n"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("archive (-want +got):\n%s", d)
	}

	os.Symlink(root, filepath.Join(root, "loop"))
	if err := (&source{local: root, dir: true}).hash(); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a link to a directory: err %v", err)
	}
}

// TestVerifyingReader: a file that changed after hashing is caught.
func TestVerifyingReader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("original content"), 0o644)
	s := &source{local: p}
	if err := s.hash(); err != nil {
		t.Fatal(err)
	}
	read := func() error {
		f, err := s.open()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, newVerifyingReader(f, s))
		return err
	}
	if err := read(); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	for _, content := range []string{"original contenT", "original", "original content, and more"} {
		os.WriteFile(p, []byte(content), 0o644)
		if err := read(); !errors.Is(err, ErrChanged) {
			t.Errorf("file changed to %q: err %v, want ErrChanged", content, err)
		}
	}
}

func TestForEach(t *testing.T) {
	var running, peak atomic.Int32
	err := forEach(context.Background(), 20, 3, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	if err != nil || peak.Load() > 3 {
		t.Fatalf("err %v, peak concurrency %d (limit 3)", err, peak.Load())
	}
	boom := errors.New("boom")
	var started atomic.Int32
	err = forEach(context.Background(), 100, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 1 {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, boom) || started.Load() > 4 {
		t.Errorf("err %v after %d started, want boom soon", err, started.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := forEach(ctx, 5, 2, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err %v", err)
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

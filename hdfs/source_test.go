package hdfs

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tarNames hashes the tree at root and returns its archive's entry names.
func tarNames(t *testing.T, root string) []string {
	t.Helper()
	s := &source{local: root, dir: true}
	if err := s.hash(); err != nil {
		t.Fatal(err)
	}
	rc, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestTreeSymlinksStayInside: a link to a file in the tree (relative or
// absolute) is shipped as that file; one leading out of the tree, however
// it gets there, fails the hash naming the link.
func TestTreeSymlinksStayInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "conf")
	writeTree(t, root, map[string]string{"app.conf": "x", "sub/inner.txt": "y"})
	os.WriteFile(filepath.Join(base, "secret"), []byte("s3cr3t"), 0o600)
	os.Symlink("sub/inner.txt", filepath.Join(root, "rel-link"))
	os.Symlink(filepath.Join(root, "app.conf"), filepath.Join(root, "abs-link"))
	os.Symlink("../app.conf", filepath.Join(root, "sub", "up-link"))
	want := []string{"abs-link", "app.conf", "rel-link", "sub/", "sub/inner.txt", "sub/up-link"}
	if d := cmp.Diff(want, tarNames(t, root)); d != "" {
		t.Errorf("archive (-want +got):\n%s", d)
	}

	for name, target := range map[string]string{
		"out-relative": "../secret",
		"out-absolute": filepath.Join(base, "secret"),
		"sub/out-deep": "../../secret",
		"out-system":   "/etc/hostname",
	} {
		link := filepath.Join(root, name)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		err := (&source{local: root, dir: true}).hash()
		if err == nil || !strings.Contains(err.Error(), "outside the shipped directory") || !strings.Contains(err.Error(), link) {
			t.Errorf("link %s -> %s: %v; want a refusal naming the link", name, target, err)
		}
		os.Remove(link)
	}
}

// TestTreeRootLink: a directory given as a link to it ships the tree it
// points to (WalkDir alone would ship an empty archive), and links in it
// are judged against the real tree.
func TestTreeRootLink(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	writeTree(t, real, map[string]string{"a.txt": "A"})
	os.Symlink("a.txt", filepath.Join(real, "alias"))
	link := filepath.Join(base, "link")
	os.Symlink(real, link)
	if d := cmp.Diff([]string{"a.txt", "alias"}, tarNames(t, link)); d != "" {
		t.Errorf("archive (-want +got):\n%s", d)
	}
}

// TestSourcePrivate: hash records the first file or directory of a
// source that others may not read.
func TestSourcePrivate(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) string // returns the source path
		dir   bool
		want  string // relative to root; "" for none
	}{
		{"world-readable file", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"f": "x"})
			return filepath.Join(root, "f")
		}, false, ""},
		{"owner-only file", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"f": "x"})
			os.Chmod(filepath.Join(root, "f"), 0o600)
			return filepath.Join(root, "f")
		}, false, "f"},
		{"readable tree", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"d/a": "a", "d/sub/b": "b"})
			return filepath.Join(root, "d")
		}, true, ""},
		{"tree with an owner-only file", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"d/a": "a", "d/sub/key": "k"})
			os.Chmod(filepath.Join(root, "d/sub/key"), 0o640)
			return filepath.Join(root, "d")
		}, true, "d/sub/key"},
		{"tree with a closed directory", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"d/a": "a", "d/sub/b": "b"})
			os.Chmod(filepath.Join(root, "d/sub"), 0o711)
			return filepath.Join(root, "d")
		}, true, "d/sub"},
		{"closed tree root", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"d/a": "a"})
			os.Chmod(filepath.Join(root, "d"), 0o700)
			return filepath.Join(root, "d")
		}, true, "d"},
		{"tree with a link to an owner-only file", func(t *testing.T, root string) string {
			writeTree(t, root, map[string]string{"d/a": "a", "d/k": "k"})
			os.Chmod(filepath.Join(root, "d/k"), 0o600)
			os.Rename(filepath.Join(root, "d/k"), filepath.Join(root, "d/a2"))
			os.Symlink("a2", filepath.Join(root, "d/link"))
			return filepath.Join(root, "d")
		}, true, "d/a2"},
	}
	for _, tt := range tests {
		root := t.TempDir()
		p := tt.setup(t, root)
		s := &source{local: p, dir: tt.dir}
		if err := s.hash(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := ""
		if tt.want != "" {
			want = filepath.Join(root, tt.want)
		}
		if s.private != want {
			t.Errorf("%s: private = %q, want %q", tt.name, s.private, want)
		}
	}
}

func TestUntraversable(t *testing.T) {
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	writeTree(t, base, map[string]string{"open/f": "x", "closed/inner/f": "y"})
	os.Chmod(filepath.Join(base, "closed"), 0o750)
	os.Symlink(filepath.Join(base, "closed", "inner", "f"), filepath.Join(base, "open", "link"))
	for p, want := range map[string]string{
		filepath.Join(base, "open/f"):         "",
		filepath.Join(base, "closed/inner/f"): filepath.Join(base, "closed"),
		filepath.Join(base, "closed/inner"):   filepath.Join(base, "closed"),
		filepath.Join(base, "open/link"):      filepath.Join(base, "closed"), // where the data really is
	} {
		got, err := untraversable(p)
		if err != nil || got != want {
			t.Errorf("untraversable(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
}

// TestNarrowVisibility: PUBLIC asked of what others may not read locally
// becomes PRIVATE; what they may read stays PUBLIC; other visibilities
// are left alone.
func TestNarrowVisibility(t *testing.T) {
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	writeTree(t, base, map[string]string{"open/lib.jar": "l", "open/key": "k", "closed/lib.jar": "c", "tree/a": "a", "tree/b": "b"})
	os.Chmod(filepath.Join(base, "open/key"), 0o600)
	os.Chmod(filepath.Join(base, "closed"), 0o700)
	os.Chmod(filepath.Join(base, "tree/b"), 0o600)
	t.Cleanup(func() { os.Chmod(filepath.Join(base, "closed"), 0o755) })
	c := testClient(t)
	items, err := c.plan([]Dependency{
		{Local: filepath.Join(base, "open/lib.jar"), Visibility: VisibilityPublic},
		{Local: filepath.Join(base, "open/key"), Visibility: VisibilityPublic},
		{Local: filepath.Join(base, "closed/lib.jar"), Name: "closed.jar", Visibility: VisibilityPublic},
		{Local: filepath.Join(base, "tree"), Visibility: VisibilityPublic},
		{Local: filepath.Join(base, "open/key"), Name: "app-key", Visibility: VisibilityApplication},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := it.src.hash(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.narrowVisibility(items); err != nil {
		t.Fatal(err)
	}
	var got []Visibility
	for _, it := range items {
		got = append(got, it.vis)
	}
	want := []Visibility{VisibilityPublic, VisibilityPrivate, VisibilityPrivate, VisibilityPrivate, VisibilityApplication}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("visibilities (-want +got):\n%s", d)
	}
}

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

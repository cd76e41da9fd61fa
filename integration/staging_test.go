//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// stagingClient is an hdfs.Client for user on the test bed, from its site
// XML, with Kerberos from user's keytab on the Kerberos bed. edit, when
// not nil, adjusts the Config first.
func stagingClient(t *testing.T, tb *testbed.TestBed, user string, edit func(*hdfs.Config)) *hdfs.Client {
	t.Helper()
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := hdfs.ConfigFromHadoopConf(conf)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = user
	if cfg.Kerberos != nil {
		kc, err := tb.KerberosClient(user)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(kc.Destroy)
		cfg.Kerberos.Client = kc
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := hdfs.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testAppID is a fresh application id for staging tests that submit
// nothing: the same form as the RM's, with a cluster timestamp no RM has.
func testAppID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	return fmt.Sprintf("application_%d_%04d", 1000000000000+int64(n), n%10000)
}

// randomFile writes n random bytes to dir/name and returns their sha256.
func randomFile(t *testing.T, dir, name string, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeTarGz packs files (name -> content) into a .tar.gz at p.
func writeTarGz(t *testing.T, p string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStagingUploadAndReadBack: a file, a directory tree and an archive
// are staged with each visibility; every result's size and timestamp are
// the NameNode's, the content reads back byte-identical, the staging
// directory is private (0700), public entries are world-readable, and
// RemoveStaging leaves nothing of the application behind.
func TestStagingUploadAndReadBack(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 3*time.Minute)
	c := stagingClient(t, tb, "alice", nil)
	dir := t.TempDir()
	fileSum := randomFile(t, dir, "data.bin", 3<<20+17)
	randomFile(t, dir, "tree/a.txt", 100)
	randomFile(t, dir, "tree/sub/b.bin", 70000)
	os.MkdirAll(filepath.Join(dir, "tree/empty"), 0o755)
	writeTarGz(t, filepath.Join(dir, "bundle.tgz"), map[string]string{"x/y.txt": "inside the archive\n"})
	pub := randomFile(t, dir, "public.bin", 1000)

	appID := testAppID(t)
	st, err := c.Stage(ctx, appID, []hdfs.Dependency{
		{Local: filepath.Join(dir, "data.bin")},
		{Local: filepath.Join(dir, "tree"), Name: "conf.d"},
		{Local: filepath.Join(dir, "bundle.tgz"), Visibility: hdfs.VisibilityApplication},
		{Local: filepath.Join(dir, "public.bin"), Visibility: hdfs.VisibilityPublic},
	}, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RemoveStaging(context.Background(), appID) })
	want := []struct {
		name string
		typ  hdfs.ResourceType
		vis  hdfs.Visibility
	}{
		{"data.bin", hdfs.TypeFile, hdfs.VisibilityPrivate},
		{"conf.d", hdfs.TypeArchive, hdfs.VisibilityPrivate},
		{"bundle.tgz", hdfs.TypeArchive, hdfs.VisibilityApplication},
		{"public.bin", hdfs.TypeFile, hdfs.VisibilityPublic},
	}
	if len(st.Resources) != len(want) {
		t.Fatalf("%d resources, want %d", len(st.Resources), len(want))
	}
	for i, r := range st.Resources {
		w := want[i]
		if r.Name != w.name || r.Type != w.typ || r.Visibility != w.vis {
			t.Errorf("resource %d: %s %v %v, want %s %v %v", i, r.Name, r.Type, r.Visibility, w.name, w.typ, w.vis)
		}
		if !strings.HasPrefix(r.URL, "hdfs://") || !strings.HasSuffix(r.URL, r.Path) {
			t.Errorf("%s: URL %q does not end in its path %q", r.Name, r.URL, r.Path)
		}
		s, err := c.Stat(ctx, r.Path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Size != r.Size || s.ModTime.UnixMilli() != r.Timestamp {
			t.Errorf("%s: staged size %d timestamp %d, NameNode says %d and %d", r.Name, r.Size, r.Timestamp, s.Size, s.ModTime.UnixMilli())
		}
		if w.vis == hdfs.VisibilityPublic && s.Mode.Perm()&0o004 == 0 {
			t.Errorf("%s: public entry has mode %v", r.Name, s.Mode)
		}
	}
	if !strings.HasSuffix(st.Resources[1].Path, ".tar") || !strings.HasSuffix(st.Resources[2].Path, ".tgz") {
		t.Errorf("archives stored as %s and %s: the NodeManager needs the archive ending", st.Resources[1].Path, st.Resources[2].Path)
	}
	if path.Dir(st.Resources[2].Path) != st.Dir {
		t.Errorf("application resource at %s, not in the staging directory %s", st.Resources[2].Path, st.Dir)
	}
	got, err := c.ReadFile(ctx, st.Resources[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != fileSum || path.Base(st.Resources[0].Path) != fileSum {
		t.Errorf("data.bin read back with sha256 %x, stored as %s, want %s", sum, path.Base(st.Resources[0].Path), fileSum)
	}
	if path.Base(st.Resources[3].Path) != pub {
		t.Errorf("public.bin stored as %s, want its sha256 %s", st.Resources[3].Path, pub)
	}
	// The tree's tar holds the files as they are locally.
	tarBytes, err := c.ReadFile(ctx, st.Resources[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(tarBytes))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "a.txt empty/ sub/ sub/b.bin" {
		t.Errorf("tree archive holds %v", names)
	}
	ds, err := c.Stat(ctx, st.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Mode.Perm() != 0o700 || ds.Owner != "alice" {
		t.Errorf("staging directory %s: mode %v owner %s, want 0700 alice", st.Dir, ds.Mode, ds.Owner)
	}
	if st.UploadedFiles+st.ReusedFiles != 4 {
		t.Errorf("uploaded %d + reused %d files, want 4 in all", st.UploadedFiles, st.ReusedFiles)
	}
	if err := c.RemoveStaging(ctx, appID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, st.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory after RemoveStaging: %v", err)
	}
}

//go:build integration

package integration

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// TestPublicCacheHijackRefused: bob pre-creates alice's directory in a
// public cache root world-writable, before alice's first Stage. Alice's
// Stage with a PUBLIC dependency refuses with ErrUnsafeCache naming the
// directory, and publishes nothing there; once an owner of the root has
// removed it, the same Stage succeeds and makes the directory alice's,
// 0755. Then a root bob made world-writable without the sticky bit is
// refused too, before alice's directory is created in it. Each case has
// its own root, so other tests' /tmp/spindle-cache is untouched.
func TestPublicCacheHijackRefused(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, 2*time.Minute)
	suffix := strings.TrimPrefix(testAppID(t), "application_")
	root := "/tmp/spindle-cache-hijack-" + suffix
	bareRoot := "/tmp/spindle-cache-nosticky-" + suffix
	alice := stagingClient(t, tb, "alice", func(c *hdfs.Config) { c.PublicCacheRoot = root })
	bob := stagingClient(t, tb, "bob", func(c *hdfs.Config) { c.PublicCacheRoot = root })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		alice.Remove(ctx, path.Join(root, "alice"), true)
		for _, r := range []string{root, bareRoot} {
			if err := bob.Remove(ctx, r, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Logf("cleanup %s: %v", r, err)
			}
		}
	})
	if s, err := alice.Stat(ctx, "/"); err == nil {
		t.Logf("/ is owned by %s (the superuser as Stage sees it), mode %v", s.Owner, s.Mode)
	}

	dir := publicTempDir(t)
	randomFile(t, dir, "lib.bin", 4096)
	deps := []hdfs.Dependency{{Local: filepath.Join(dir, "lib.bin"), Visibility: hdfs.VisibilityPublic}}

	// Bob makes the sticky root (as the first user to stage would) and
	// alice's directory in it, world-writable.
	aliceDir := path.Join(root, "alice")
	if err := bob.MkdirAll(ctx, root, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := bob.Chmod(ctx, root, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := bob.MkdirAll(ctx, aliceDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := bob.Chmod(ctx, aliceDir, 0o777); err != nil {
		t.Fatal(err)
	}

	appID := testAppID(t)
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), appID) })
	_, err := alice.Stage(ctx, appID, deps, hdfs.StageOptions{})
	if !errors.Is(err, hdfs.ErrUnsafeCache) || !strings.Contains(err.Error(), aliceDir) || !strings.Contains(err.Error(), "owned by bob") || !strings.Contains(err.Error(), "hdfs dfs -rm -r "+aliceDir) {
		t.Fatalf("alice's Stage into a directory bob made: %v; want ErrUnsafeCache naming %s, its owner and what to do", err, aliceDir)
	}
	t.Logf("refused: %v", err)
	if list, err := bob.ReadDir(ctx, aliceDir); err != nil || len(list) != 0 {
		t.Errorf("%s after the refusal: %v entries, err %v; want it empty", aliceDir, len(list), err)
	}

	// Bob owns the root, so he can take his directory back; then alice's
	// Stage makes her own.
	if err := bob.Remove(ctx, aliceDir, true); err != nil {
		t.Fatal(err)
	}
	st, err := alice.Stage(ctx, appID, deps, hdfs.StageOptions{})
	if err != nil {
		t.Fatalf("Stage once the directory is gone: %v", err)
	}
	if r := st.Resources[0]; r.Visibility != hdfs.VisibilityPublic || path.Dir(r.Path) != aliceDir {
		t.Errorf("staged %+v; want PUBLIC in %s", r, aliceDir)
	}
	if s, err := alice.Stat(ctx, aliceDir); err != nil || s.Owner != "alice" || s.Mode.Perm() != 0o755 {
		t.Errorf("%s: %+v, %v; want alice's, 0755", aliceDir, s, err)
	}

	// A root anyone may write, without the sticky bit.
	if err := bob.MkdirAll(ctx, bareRoot, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := bob.Chmod(ctx, bareRoot, 0o777); err != nil {
		t.Fatal(err)
	}
	alice2 := stagingClient(t, tb, "alice", func(c *hdfs.Config) { c.PublicCacheRoot = bareRoot })
	appID2 := testAppID(t)
	t.Cleanup(func() { alice2.RemoveStaging(context.Background(), appID2) })
	_, err = alice2.Stage(ctx, appID2, deps, hdfs.StageOptions{})
	if !errors.Is(err, hdfs.ErrUnsafeCache) || !strings.Contains(err.Error(), bareRoot) || !strings.Contains(err.Error(), "hdfs dfs -chmod 1777 "+bareRoot) {
		t.Fatalf("alice's Stage under a root without the sticky bit: %v; want ErrUnsafeCache naming %s and how to fix it", err, bareRoot)
	}
	t.Logf("refused: %v", err)
	if _, err := bob.Stat(ctx, path.Join(bareRoot, "alice")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s/alice after the refusal: %v; want it never created", bareRoot, err)
	}
}

// publicTempDir is a t.TempDir that others may traverse, as files staged
// PUBLIC need (t.TempDir and its parent are 0700).
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPublicOnlyAsWideAsLocalModes: dependencies asked to be PUBLIC that
// others may not read locally (a 0600 file, a file in a 0700 directory, a
// tree holding a 0600 file) are staged PRIVATE in the private cache, 0600;
// a world-readable file in a traversable directory is staged PUBLIC.
func TestPublicOnlyAsWideAsLocalModes(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	c := stagingClient(t, tb, "alice", nil)
	dir := publicTempDir(t)
	randomFile(t, dir, "open.bin", 1000)
	randomFile(t, dir, "key.bin", 1001)
	os.Chmod(filepath.Join(dir, "key.bin"), 0o600)
	randomFile(t, dir, "closed/lib.bin", 1002)
	os.Chmod(filepath.Join(dir, "closed"), 0o700)
	randomFile(t, dir, "tree/a.txt", 10)
	randomFile(t, dir, "tree/secret.txt", 11)
	os.Chmod(filepath.Join(dir, "tree/secret.txt"), 0o600)

	appID := testAppID(t)
	t.Cleanup(func() { c.RemoveStaging(context.Background(), appID) })
	st, err := c.Stage(ctx, appID, []hdfs.Dependency{
		{Local: filepath.Join(dir, "open.bin"), Visibility: hdfs.VisibilityPublic},
		{Local: filepath.Join(dir, "key.bin"), Visibility: hdfs.VisibilityPublic},
		{Local: filepath.Join(dir, "closed/lib.bin"), Visibility: hdfs.VisibilityPublic},
		{Local: filepath.Join(dir, "tree"), Visibility: hdfs.VisibilityPublic},
	}, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range st.Resources {
		wantVis, wantDir, wantPerm := hdfs.VisibilityPrivate, "/user/alice/.spindle/cache", fs.FileMode(0o600)
		if i == 0 {
			wantVis, wantDir, wantPerm = hdfs.VisibilityPublic, path.Join(hdfs.DefaultPublicCacheRoot, "alice"), 0o644
		}
		s, err := c.Stat(ctx, r.Path)
		if err != nil {
			t.Fatal(err)
		}
		if r.Visibility != wantVis || path.Dir(r.Path) != wantDir || s.Mode.Perm() != wantPerm {
			t.Errorf("%s: %v at %s, mode %v; want %v in %s, mode %v", r.Name, r.Visibility, r.Path, s.Mode.Perm(), wantVis, wantDir, wantPerm)
		}
	}
}

// superuserClient is an hdfs.Client acting as the HDFS superuser of the
// Kerberos bed: the NameNode's own principal, from the bed's service
// keytab (hadoop.keytab beside the site XML).
func superuserClient(t *testing.T, tb *testbed.TestBed, edit func(*hdfs.Config)) *hdfs.Client {
	t.Helper()
	k := tb.Ready.Kerberos
	kt, err := keytab.Load(filepath.Join(tb.Ready.ConfDir, "hadoop.keytab"))
	if err != nil {
		t.Skipf("no service keytab to act as the superuser: %v", err)
	}
	kcfg, err := krbconfig.Load(k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := strings.Cut(k.ServicePrincipal, "@")
	kc := krbclient.NewWithKeytab(name, k.Realm, kt, kcfg, krbclient.DisablePAFXFAST(true))
	if err := kc.Login(); err != nil {
		t.Fatalf("kerberos login of %s: %v", name, err)
	}
	t.Cleanup(kc.Destroy)
	cfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kerberos.Client = kc
	if edit != nil {
		edit(&cfg)
	}
	return newStagingClient(t, cfg)
}

// TestPublicCacheRootOfSuperuser: a root the superuser made writable by
// all without the sticky bit is refused like anyone's; made 1777 as the
// docs say an administrator should, it serves alice.
func TestPublicCacheRootOfSuperuser(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, 2*time.Minute)
	root := "/tmp/spindle-cache-su-" + strings.TrimPrefix(testAppID(t), "application_")
	su := superuserClient(t, tb, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := su.Remove(ctx, root, true); err != nil {
			t.Logf("cleanup %s: %v", root, err)
		}
	})
	if slash, err := su.Stat(ctx, "/"); err != nil || slash.Owner != su.User() {
		t.Fatalf("/ is %+v, %v; want it owned by the superuser %s", slash, err, su.User())
	}
	if err := su.MkdirAll(ctx, root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := su.Chmod(ctx, root, 0o777); err != nil {
		t.Fatal(err)
	}
	alice := stagingClient(t, tb, "alice", func(c *hdfs.Config) { c.PublicCacheRoot = root })
	dir := publicTempDir(t)
	randomFile(t, dir, "lib.bin", 2048)
	deps := []hdfs.Dependency{{Local: filepath.Join(dir, "lib.bin"), Visibility: hdfs.VisibilityPublic}}
	appID := testAppID(t)
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), appID) })

	_, err := alice.Stage(ctx, appID, deps, hdfs.StageOptions{})
	if !errors.Is(err, hdfs.ErrUnsafeCache) || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "without the sticky bit") {
		t.Fatalf("Stage under the superuser's 0777 root: %v; want ErrUnsafeCache naming %s", err, root)
	}
	if _, err := su.Stat(ctx, path.Join(root, "alice")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s/alice after the refusal: %v; want it never created", root, err)
	}

	if err := su.Chmod(ctx, root, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	st, err := alice.Stage(ctx, appID, deps, hdfs.StageOptions{})
	if err != nil {
		t.Fatalf("Stage under the superuser's 1777 root: %v", err)
	}
	if r := st.Resources[0]; r.Visibility != hdfs.VisibilityPublic || path.Dir(r.Path) != path.Join(root, "alice") {
		t.Errorf("staged %+v; want PUBLIC in %s/alice", r, root)
	}
}

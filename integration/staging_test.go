//go:build integration

package integration

import (
	"archive/tar"
	"bufio"
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
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

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
	dir := publicTempDir(t) // else public.bin is staged PRIVATE
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

// nameNodeCalls reads the NameNode's RPC counters from its JMX servlet:
// calls per method on its RPC port, the client protocol's only. The
// DataNode protocol (which MiniDFSCluster serves on the same port) and
// renewLease (colinmarc/hdfs renews leases on a timer while a client is
// open) are left out.
func nameNodeCalls(t testing.TB, ctx context.Context, tb *testbed.TestBed) map[string]int64 {
	t.Helper()
	port := tb.Ready.NameNode[strings.LastIndexByte(tb.Ready.NameNode, ':')+1:]
	hc, err := tb.HTTPClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	var jmx struct {
		Beans []map[string]any `json:"beans"`
	}
	if err := hc.GetJSON(ctx, tb.Ready.WebHDFS+"/jmx?qry=Hadoop:service=NameNode,name=RpcDetailedActivityForPort"+port, &jmx); err != nil {
		t.Fatal(err)
	}
	if len(jmx.Beans) != 1 {
		t.Fatalf("%d RpcDetailedActivity beans for port %s", len(jmx.Beans), port)
	}
	notClient := map[string]bool{
		"SendHeartbeat": true, "BlockReceivedAndDeleted": true, "BlockReport": true, "CacheReport": true,
		"RegisterDatanode": true, "VersionRequest": true, "ErrorReport": true, "CommitBlockSynchronization": true,
		"RenewLease": true,
	}
	out := map[string]int64{}
	for k, v := range jmx.Beans[0] {
		m, ok := strings.CutSuffix(k, "NumOps")
		if !ok || strings.HasPrefix(m, "Overall") || strings.HasPrefix(m, "Deferred") || notClient[m] {
			continue
		}
		if n, ok := v.(float64); ok && n > 0 {
			out[m] = int64(n)
		}
	}
	return out
}

// callsBetween is after - before, per method and in all.
func callsBetween(before, after map[string]int64) (map[string]int64, int64) {
	d := map[string]int64{}
	var total int64
	for m, n := range after {
		if n -= before[m]; n != 0 {
			d[m] = n
			total += n
		}
	}
	return d, total
}

// withoutCompleteRetries takes from total the complete calls beyond the
// first: a writer repeats complete until the NameNode has heard from the
// DataNode that the file's last block arrived, which depends on the
// DataNode's report timing, not on how many files a redeploy checks (it
// writes one manifest either way).
func withoutCompleteRetries(perMethod map[string]int64, total int64) int64 {
	for m, n := range perMethod {
		if strings.EqualFold(m, "complete") && n > 1 {
			total -= n - 1
		}
	}
	return total
}

// clientCalls sums spindle_hdfs_namenode_calls_total by method from reg.
func clientCalls(t *testing.T, reg *prometheus.Registry) map[string]int64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, mf := range mfs {
		if mf.GetName() != "spindle_hdfs_namenode_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					out[l.GetValue()] = int64(m.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}

// jmxRefresh is how long the NameNode's JMX servlet may serve a cached
// snapshot of its metrics (Hadoop's metrics period, 10 s by default).
const jmxRefresh = 10*time.Second + 500*time.Millisecond

// TestStagingRedeployCalls: redeploying unchanged dependencies uploads
// nothing, and costs the NameNode as many calls for 1,000 files as for 10,
// counted both by the NameNode itself (its JMX RPC counters around each
// Stage call) and by the client's own metrics.
func TestStagingRedeployCalls(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 8*time.Minute)
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	reg := prometheus.NewRegistry()
	c := stagingClient(t, tb, "alice", func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir; cfg.Registerer = reg })
	t.Cleanup(func() { c.Remove(context.Background(), cacheDir, true) })

	local := t.TempDir()
	sets := map[int][]hdfs.Dependency{}
	for _, n := range []int{10, 1000} {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("set%d-file%04d", n, i)
			randomFile(t, local, name, 64+i%200)
			sets[n] = append(sets[n], hdfs.Dependency{Local: filepath.Join(local, name)})
		}
		// The first deployment uploads; both sets are in the cache before
		// anything is measured, so both measurements list the same cache.
		appID := testAppID(t)
		st, err := c.Stage(ctx, appID, sets[n], hdfs.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.RemoveStaging(ctx, appID)
		if st.UploadedFiles != n {
			t.Fatalf("first deployment of %d files uploaded %d", n, st.UploadedFiles)
		}
	}
	// The JMX servlet serves snapshots up to jmxRefresh old: each reading
	// comes jmxRefresh after the Stage call it closes, and opens the next.
	// The NameNode serves the whole cluster meanwhile, so each size is
	// deployed three times, interleaved, and the fewest calls count.
	nameNodeCalls(t, ctx, tb)
	time.Sleep(jmxRefresh)
	before := nameNodeCalls(t, ctx, tb)
	fewest, fewestClient := map[int]int64{}, map[int]int64{}
	var staged []string
	for trial := 0; trial < 6; trial++ {
		n := []int{10, 1000}[trial%2]
		appID := testAppID(t)
		staged = append(staged, appID)
		cBefore := clientCalls(t, reg)
		st, err := c.Stage(ctx, appID, sets[n], hdfs.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cPerMethod, cTotal := callsBetween(cBefore, clientCalls(t, reg))
		cTotal = withoutCompleteRetries(cPerMethod, cTotal)
		time.Sleep(jmxRefresh)
		after := nameNodeCalls(t, ctx, tb)
		if st.UploadedBytes != 0 || st.UploadedFiles != 0 || st.ReusedFiles != n {
			t.Fatalf("redeployment of %d unchanged files uploaded %d files (%d bytes), reused %d", n, st.UploadedFiles, st.UploadedBytes, st.ReusedFiles)
		}
		perMethod, total := callsBetween(before, after)
		total = withoutCompleteRetries(perMethod, total)
		before = after
		t.Logf("redeploy of %4d unchanged files: %d NameNode calls (client counted %d), complete repeats not counted: %v", n, total, cTotal, perMethod)
		if f, ok := fewest[n]; !ok || total < f {
			fewest[n] = total
		}
		if f, ok := fewestClient[n]; !ok || cTotal < f {
			fewestClient[n] = cTotal
		}
	}
	for _, id := range staged {
		c.RemoveStaging(ctx, id)
	}
	t.Logf("fewest NameNode calls per redeploy: %d for 10 files, %d for 1,000 files (client: %d and %d)", fewest[10], fewest[1000], fewestClient[10], fewestClient[1000])
	if fewest[10] == 0 {
		t.Error("the NameNode counted no calls at all: its JMX counters are not being read right")
	}
	if fewest[10] != fewest[1000] || fewestClient[10] != fewestClient[1000] {
		t.Errorf("redeploying 1,000 unchanged files took %d NameNode calls (client %d), 10 took %d (client %d): the count grows with the files",
			fewest[1000], fewestClient[1000], fewest[10], fewestClient[10])
	}
}

// TestStagingConcurrentDeploys: three deployments of the same files at
// once leave one correct cache entry per content (named by its sha256,
// holding exactly those bytes), no temporary files, and each deployment
// with resources whose timestamps the NameNode confirms.
func TestStagingConcurrentDeploys(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 5*time.Minute)
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	local := t.TempDir()
	var deps []hdfs.Dependency
	sums := map[string]bool{}
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("f%02d", i)
		sums[randomFile(t, local, name, (i%4)*700000+i)] = true
		deps = append(deps, hdfs.Dependency{Local: filepath.Join(local, name)})
	}
	const deploys = 3
	clients := make([]*hdfs.Client, deploys)
	for i := range clients {
		clients[i] = stagingClient(t, tb, "alice", func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir; cfg.Concurrency = 3 })
	}
	t.Cleanup(func() { clients[0].Remove(context.Background(), cacheDir, true) })
	results := make([]*hdfs.Staging, deploys)
	errs := make([]error, deploys)
	start := make(chan struct{})
	done := make(chan int)
	for i := range clients {
		go func(i int) {
			<-start
			appID := testAppID(t)
			results[i], errs[i] = clients[i].Stage(ctx, appID, deps, hdfs.StageOptions{})
			done <- i
		}(i)
	}
	close(start)
	uploaded := 0
	for range clients {
		i := <-done
		if errs[i] != nil {
			t.Fatalf("deployment %d: %v", i, errs[i])
		}
		t.Cleanup(func() { clients[0].RemoveStaging(context.Background(), results[i].ApplicationID) })
		uploaded += results[i].UploadedFiles
		for _, r := range results[i].Resources {
			s, err := clients[0].Stat(ctx, r.Path)
			if err != nil {
				t.Fatal(err)
			}
			if s.ModTime.UnixMilli() != r.Timestamp || s.Size != r.Size {
				t.Errorf("deployment %d: %s staged with timestamp %d size %d, NameNode says %d and %d", i, r.Name, r.Timestamp, r.Size, s.ModTime.UnixMilli(), s.Size)
			}
		}
	}
	t.Logf("%d deployments of %d files uploaded %d files in all", deploys, len(deps), uploaded)
	entries, err := clients[0].ReadDir(ctx, cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(sums) {
		t.Errorf("cache holds %d entries, want %d", len(entries), len(sums))
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name, ".") {
			t.Errorf("temporary file %s left in the cache", e.Name)
			continue
		}
		b, err := clients[0].ReadFile(ctx, path.Join(cacheDir, e.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != e.Name || !sums[e.Name] {
			t.Errorf("cache entry %s holds content with sha256 %x", e.Name, sum)
		}
	}
}

// TestStagingCancelLeavesNothing: cancelling a Stage call in the middle of
// an upload returns the context's error and leaves neither the entry nor
// a temporary file in the cache; progress reports were monotonic.
func TestStagingCancelLeavesNothing(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 3*time.Minute)
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	c := stagingClient(t, tb, "alice", func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir })
	t.Cleanup(func() { c.Remove(context.Background(), cacheDir, true) })
	local := t.TempDir()
	randomFile(t, local, "big", 48<<20)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last hdfs.Progress
	monotonic := true
	appID := testAppID(t)
	t.Cleanup(func() { c.RemoveStaging(context.Background(), appID) })
	_, err := c.Stage(sctx, appID, []hdfs.Dependency{{Local: filepath.Join(local, "big")}}, hdfs.StageOptions{
		Progress: func(p hdfs.Progress) {
			if p.BytesDone < last.BytesDone || p.FilesDone < last.FilesDone || p.BytesTotal != 48<<20 || p.FilesTotal != 1 {
				monotonic = false
			}
			last = p
			if p.BytesUploaded >= 8<<20 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stage cancelled mid-upload: err %v, want context.Canceled", err)
	}
	if !monotonic || last.BytesUploaded < 8<<20 || last.BytesUploaded >= 48<<20 {
		t.Errorf("progress: last %+v (monotonic %v)", last, monotonic)
	}
	entries, err := c.ReadDir(ctx, cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("after cancellation the cache holds %s (%d bytes)", e.Name, e.Size)
	}
}

// TestStagingContainerRoundTrip: files, a directory tree and an archive
// staged by Spindle, private and public, arrive byte-identical (the
// archive and the tree unpacked) in the working directory of containers
// on both NodeManagers; the staging directory is gone afterwards.
func TestStagingContainerRoundTrip(t *testing.T) {
	tb := testbed.Get(t)
	dir := publicTempDir(t) // for -ship-public
	fileSum := randomFile(t, dir, "data.bin", 2<<20+3)
	treeA := randomFile(t, dir, "tree/a.bin", 5000)
	treeB := randomFile(t, dir, "tree/sub/deeper/b.bin", 300000)
	pubSum := randomFile(t, dir, "public.bin", 70001)
	pubTree := randomFile(t, dir, "pubtree/x/y.bin", 999)
	writeTarGz(t, filepath.Join(dir, "bundle.tgz"), map[string]string{"inner/z.txt": "from the archive\n"})
	zSum := sha256.Sum256([]byte("from the archive\n"))

	check := strings.Join([]string{
		fileSum + "  data.bin",
		treeA + "  tree/a.bin",
		treeB + "  tree/sub/deeper/b.bin",
		hex.EncodeToString(zSum[:]) + "  bundle.tgz/inner/z.txt",
		pubSum + "  public.bin",
		pubTree + "  pubtree/x/y.bin",
	}, "\n")
	script := "printf '%s\\n' '" + check + "' | sha256sum -c - && test -d tree/sub/deeper && test -d bundle.tgz"
	r := runDshell(t, tb, "-n", "4",
		"-ship", filepath.Join(dir, "data.bin"), "-ship", filepath.Join(dir, "tree"), "-ship", filepath.Join(dir, "bundle.tgz"),
		"-ship-public", filepath.Join(dir, "public.bin"), "-ship-public", filepath.Join(dir, "pubtree"),
		"--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d: staged files missing or different in the containers", r.code)
	}
	if !strings.Contains(r.out, "4 of 4 containers exited 0") {
		t.Error("not every container checked the files")
	}
	checkStagingRemoved(t, tb, r.appID)
}

// TestStagingKerberosIsolation: bob can neither list alice's staging
// directory nor read what she staged in her private cache, and the error
// says it is a permission problem.
func TestStagingKerberosIsolation(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, 2*time.Minute)
	alice := stagingClient(t, tb, "alice", nil)
	bob := stagingClient(t, tb, "bob", nil)
	dir := t.TempDir()
	randomFile(t, dir, "secret.bin", 1000)
	appID := testAppID(t)
	st, err := alice.Stage(ctx, appID, []hdfs.Dependency{
		{Local: filepath.Join(dir, "secret.bin")},
		{Local: filepath.Join(dir, "secret.bin"), Name: "app-copy", Visibility: hdfs.VisibilityApplication},
	}, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), appID) })

	_, err = bob.ReadDir(ctx, st.Dir)
	if err == nil {
		t.Fatalf("bob listed alice's staging directory %s", st.Dir)
	}
	if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, hdfs.ErrAccessControl) || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("bob listing %s: %v; want a permission error", st.Dir, err)
	}
	t.Logf("bob listing alice's staging directory: %v", err)
	for _, r := range st.Resources {
		if _, err := bob.ReadFile(ctx, r.Path); err == nil {
			t.Errorf("bob read alice's %s at %s", r.Name, r.Path)
		} else if !errors.Is(err, fs.ErrPermission) && !strings.Contains(err.Error(), "ermission denied") {
			t.Errorf("bob reading %s: %v; want a permission error", r.Path, err)
		}
	}
	if err := bob.Remove(ctx, st.Dir, true); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("bob removing alice's staging directory: %v; want a permission error", err)
	}
	if _, err := alice.Stat(ctx, st.Dir); err != nil {
		t.Errorf("alice's staging directory after bob's attempts: %v", err)
	}
}

// amLog returns the ApplicationMaster's stderr of appID from the
// NodeManagers' log directories.
func amLog(t *testing.T, tb *testbed.TestBed, appID string) string {
	t.Helper()
	for _, depth := range []string{"*/*/*", "*/*/*/*"} {
		logs, _ := filepath.Glob(filepath.Join(tb.Dir, "work", depth, appID, "container_*_000001", "am.stderr"))
		if len(logs) > 0 {
			b, _ := os.ReadFile(logs[0])
			return string(b)
		}
	}
	t.Fatalf("no am.stderr of %s under %s", appID, tb.Dir)
	return ""
}

// startDshell starts dshell as alice and returns once it has submitted the
// application, with its id; wait waits for it to exit and returns its
// output.
func startDshell(t *testing.T, tb *testbed.TestBed, args ...string) (cmd *exec.Cmd, appID string, wait func() string) {
	t.Helper()
	if k := tb.Ready.Kerberos; k != nil {
		args = append([]string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}, args...)
	}
	cmd = exec.Command(dshellBinary(t), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out strings.Builder
	lines := make(chan string, 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	timeout := time.After(2 * time.Minute)
	re := regexp.MustCompile(`submitted (application_\d+_\d+)`)
	for appID == "" {
		select {
		case l := <-lines:
			if m := re.FindStringSubmatch(l); m != nil {
				appID = m[1]
			}
		case <-done:
			cmd.Wait()
			t.Fatalf("dshell exited before submitting:\n%s", out.String())
		case <-timeout:
			cmd.Process.Kill()
			<-done
			t.Fatalf("dshell did not submit within 2 minutes:\n%s", out.String())
		}
	}
	return cmd, appID, func() string {
		cmd.Wait()
		<-done
		t.Logf("dshell %s:\n%s", strings.Join(args, " "), out.String())
		return out.String()
	}
}

// waitRunning waits until the RM reports the application RUNNING.
func waitRunning(t *testing.T, ctx context.Context, rm *yarn.RMClient, appID string) {
	t.Helper()
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rm.WaitForState(ctx, id, 200*time.Millisecond, func(r yarn.ApplicationReport) bool {
		return r.State == yarn.ApplicationRunning || r.State.IsFinal()
	}); err != nil {
		t.Fatal(err)
	}
}

// TestStagingRemovedWhateverTheOutcome: no staging directory remains after
// an application succeeds or fails (the ApplicationMaster removes it, with
// the application's delegation tokens alone on the Kerberos bed) or is
// killed (the client that saw it end removes it).
func TestStagingRemovedWhateverTheOutcome(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 5*time.Minute)
	for _, tt := range []struct {
		name    string
		command []string
	}{
		{"succeeds", []string{"/bin/true"}},
		{"fails", []string{"sh", "-c", "exit 7"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runDshell(t, tb, append([]string{"-n", "2", "--"}, tt.command...)...)
			if (r.code == 0) != (tt.name == "succeeds") {
				t.Fatalf("exit %d", r.code)
			}
			if !strings.Contains(r.out, "staging directory removed by the ApplicationMaster") {
				t.Errorf("the ApplicationMaster did not remove the staging directory")
			}
			am := amLog(t, tb, r.appID)
			wantAuth := `auth="simple authentication"`
			if tb.Ready.Kerberos != nil {
				wantAuth = `auth="delegation tokens"`
			}
			if !strings.Contains(am, "removed the staging directory") || !strings.Contains(am, wantAuth) {
				t.Errorf("the AM's log does not say it removed the staging directory with %s:\n%s", wantAuth, am)
			}
			checkStagingRemoved(t, tb, r.appID)
		})
	}
	t.Run("killed", func(t *testing.T) {
		rm := rmClient(t, tb, "alice", "")
		_, appID, wait := startDshell(t, tb, "-n", "1", "--", "sleep", "300")
		waitRunning(t, ctx, rm, appID)
		id, _ := yarn.ParseApplicationID(appID)
		if _, err := rm.KillAndWait(ctx, id, "killed by TestStagingRemovedWhateverTheOutcome"); err != nil {
			t.Fatal(err)
		}
		out := wait()
		if !strings.Contains(out, "KILLED") {
			t.Errorf("dshell did not see the application killed")
		}
		checkStagingRemoved(t, tb, appID)
	})
}

// TestStagingSweep: a staging directory left behind by a client that was
// killed (and whose application was then killed, so no AM cleaned up)
// survives a sweep while the application runs and is removed by the sweep
// once it does not; so is that of an application never submitted, but
// only once older than the sweep's minimum age.
func TestStagingSweep(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 5*time.Minute)
	rm := rmClient(t, tb, "alice", "")
	c := stagingClient(t, tb, "alice", nil)

	cmd, appID, wait := startDshell(t, tb, "-n", "1", "--", "sleep", "300")
	waitRunning(t, ctx, rm, appID)
	cmd.Process.Kill()
	wait()
	dir := c.StagingDir(appID)
	if _, err := c.Stat(ctx, dir); err != nil {
		t.Fatalf("the killed client's staging directory: %v", err)
	}

	never := testAppID(t)
	if _, err := c.Stage(ctx, never, nil, hdfs.StageOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RemoveStaging(context.Background(), never) })

	removed, err := c.Sweep(ctx, yarn.RunningCheck(rm), hdfs.SweepOptions{MinAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) > 0 && (slices.Contains(removed, appID) || slices.Contains(removed, never)) {
		t.Errorf("sweep with a minimum age of an hour removed fresh directories: %v", removed)
	}
	removed, err = c.Sweep(ctx, yarn.RunningCheck(rm), hdfs.SweepOptions{MinAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(removed, appID) {
		t.Errorf("sweep removed the staging directory of running %s", appID)
	}
	if !slices.Contains(removed, never) {
		t.Errorf("sweep did not remove the staging directory of never-submitted %s (removed %v)", never, removed)
	}
	id, _ := yarn.ParseApplicationID(appID)
	if _, err := rm.KillAndWait(ctx, id, "killed by TestStagingSweep"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, dir); err != nil {
		t.Fatalf("after the application was killed its staging directory should still be there (nobody cleaned up): %v", err)
	}
	removed, err = c.Sweep(ctx, yarn.RunningCheck(rm), hdfs.SweepOptions{MinAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, appID) {
		t.Errorf("sweep did not remove the staging directory of killed %s (removed %v)", appID, removed)
	}
	if _, err := c.Stat(ctx, dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after the sweep: %v", dir, err)
	}
}

// TestStagingEvict: eviction by age and by size removes what no
// application uses and keeps what a staging directory's manifest names,
// and a later deployment of evicted files uploads them again.
func TestStagingEvict(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 3*time.Minute)
	suffix := strings.TrimPrefix(testAppID(t), "application_")
	root := "/user/alice/.spindle-evict-" + suffix
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	c := stagingClient(t, tb, "alice", func(cfg *hdfs.Config) {
		cfg.StagingRoot = root
		cfg.PublicCacheRoot = "/tmp/spindle-evict-" + suffix
		cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	t.Cleanup(func() {
		c.Remove(context.Background(), root, true)
		c.Remove(context.Background(), "/tmp/spindle-evict-"+suffix, true)
	})
	local := publicTempDir(t) // for the PUBLIC ones
	var used, unused []hdfs.Dependency
	for i := 0; i < 3; i++ {
		randomFile(t, local, fmt.Sprintf("used%d", i), 1000+i)
		randomFile(t, local, fmt.Sprintf("unused%d", i), 2000+i)
		used = append(used, hdfs.Dependency{Local: filepath.Join(local, fmt.Sprintf("used%d", i))})
		unused = append(unused, hdfs.Dependency{Local: filepath.Join(local, fmt.Sprintf("unused%d", i)), Visibility: hdfs.VisibilityPublic})
	}
	running := "application_1_0001"
	stRunning, err := c.Stage(ctx, running, used, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ended := "application_1_0002"
	stEnded, err := c.Stage(ctx, ended, unused, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveStaging(ctx, ended); err != nil {
		t.Fatal(err)
	}

	// Nothing is old yet, and there is no size limit: nothing goes.
	res, err := c.Evict(ctx, hdfs.EvictOptions{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 0 || res.Kept != 6 || res.InUse != 3 {
		t.Fatalf("evicting entries younger than MaxAge: %+v", res)
	}
	// Two hours later, everything is old; only the running application's
	// entries stay.
	clock.Add(int64(2 * time.Hour))
	res, err = c.Evict(ctx, hdfs.EvictOptions{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 3 || res.Kept != 3 || res.InUse != 3 {
		t.Errorf("evicting by age: %+v, want the 3 unused entries removed", res)
	}
	for _, r := range stEnded.Resources {
		if !slices.Contains(res.Removed, r.Path) {
			t.Errorf("unused %s not evicted", r.Path)
		}
	}
	for _, r := range stRunning.Resources {
		if _, err := c.Stat(ctx, r.Path); err != nil {
			t.Errorf("entry %s of the running application: %v", r.Path, err)
		}
	}
	// A size limit below what the running application uses removes none
	// of its entries either.
	res, err = c.Evict(ctx, hdfs.EvictOptions{MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 0 || res.InUse != 3 {
		t.Errorf("evicting by size: %+v, want nothing in use removed", res)
	}
	// Once the application has ended, its entries can go too.
	if err := c.RemoveStaging(ctx, running); err != nil {
		t.Fatal(err)
	}
	res, err = c.Evict(ctx, hdfs.EvictOptions{MaxBytes: 2500})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.KeptBytes > 2500 {
		t.Errorf("evicting to 2500 bytes: %+v, want one entry removed", res)
	}
	// Evicted content is uploaded again when deployed again.
	st, err := c.Stage(ctx, "application_1_0003", unused, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.UploadedFiles != 3 {
		t.Errorf("redeploying evicted files uploaded %d of 3", st.UploadedFiles)
	}
}

// TestStagingDelegationTokens: on the Kerberos bed, DelegationTokens
// returns a token for the default file system and one for each extra
// file system, renewable by the ResourceManager's principal and with
// Hadoop's service; a client holding only such a token (no keytab, as in
// a container) lists and removes a staging directory, but cannot read
// files; a forged token is refused. On the plain bed the NameNode issues
// no tokens and the call says why.
func TestStagingDelegationTokens(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	alice := stagingClient(t, tb, "alice", nil)
	if tb.Ready.Kerberos == nil {
		_, err := alice.DelegationTokens(ctx)
		if err == nil || !errors.Is(err, hdfs.ErrUnauthorized) {
			t.Fatalf("DelegationTokens without Kerberos: %v, want ErrUnauthorized", err)
		}
		return
	}
	nn := strings.TrimPrefix(tb.Ready.NameNode, "hdfs://")
	port := nn[strings.LastIndexByte(nn, ':')+1:]
	toks, err := alice.DelegationTokens(ctx, "hdfs://localhost:"+port)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 {
		t.Fatalf("%d tokens for the default and one extra file system, want 2", len(toks))
	}
	for _, tok := range toks {
		if tok.Kind != hdfs.KindDelegationToken || tok.Service != "127.0.0.1:"+port {
			t.Errorf("token %v: want kind %s, service 127.0.0.1:%s", tok, hdfs.KindDelegationToken, port)
		}
		id, err := tok.DelegationIdentifier()
		if err != nil {
			t.Fatal(err)
		}
		if id.Renewer != "hadoop" || !strings.HasPrefix(id.Owner, "alice") {
			t.Errorf("token identifier %+v: want owner alice, renewer hadoop (the RM principal's short name)", id)
		}
	}

	dir := t.TempDir()
	randomFile(t, dir, "f", 100)
	appID := testAppID(t)
	st, err := alice.Stage(ctx, appID, []hdfs.Dependency{{Local: filepath.Join(dir, "f"), Visibility: hdfs.VisibilityApplication}}, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), appID) })

	tokenOnly := tokenOnlyClient(t, tb, toks[:1], "")
	list, err := tokenOnly.ReadDir(ctx, st.Dir)
	if err != nil {
		t.Fatalf("listing with the delegation token: %v", err)
	}
	if len(list) == 0 {
		t.Error("the staging directory listed empty")
	}
	if b, err := tokenOnly.ReadFile(ctx, st.Resources[0].Path); err != nil || len(b) != 100 {
		t.Errorf("reading with only a token: %d bytes, %v; want the 100 staged", len(b), err)
	}
	if err := tokenOnly.RemoveStaging(ctx, appID); err != nil {
		t.Fatalf("removing the staging directory with the delegation token: %v", err)
	}
	if _, err := alice.Stat(ctx, st.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory after removal with the token: %v", err)
	}

	forged := toks[0]
	forged.Password = bytes.Repeat([]byte{7}, len(forged.Password))
	bad := tokenOnlyClient(t, tb, []hdfs.Token{forged}, "")
	if _, err := bad.Stat(ctx, "/user/alice"); err == nil || !(errors.Is(err, hdfs.ErrUnauthorized) || errors.Is(err, hdfs.ErrInvalidToken)) {
		t.Errorf("a forged token: %v, want an authentication error", err)
	} else {
		t.Logf("forged token refused: %v", err)
	}
}

// TestStagingMetrics: the client's Prometheus metrics count what Stage
// uploaded and reused, the files by outcome, the NameNode calls and the
// Stage calls' durations.
func TestStagingMetrics(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	reg := prometheus.NewRegistry()
	c := stagingClient(t, tb, "alice", func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir; cfg.Registerer = reg })
	t.Cleanup(func() { c.Remove(context.Background(), cacheDir, true) })
	dir := t.TempDir()
	randomFile(t, dir, "a", 5000)
	randomFile(t, dir, "b", 7000)
	for _, deps := range [][]hdfs.Dependency{
		{{Local: filepath.Join(dir, "a")}},
		{{Local: filepath.Join(dir, "a")}, {Local: filepath.Join(dir, "b")}},
	} {
		appID := testAppID(t)
		if _, err := c.Stage(ctx, appID, deps, hdfs.StageOptions{}); err != nil {
			t.Fatal(err)
		}
		c.RemoveStaging(ctx, appID)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"spindle_hdfs_uploaded_bytes_total":             12000,
		"spindle_hdfs_reused_bytes_total":               5000,
		"spindle_hdfs_staged_files_total{uploaded}":     2,
		"spindle_hdfs_staged_files_total{reused}":       1,
		"spindle_hdfs_stage_duration_seconds_count":     2,
		"spindle_hdfs_namenode_calls_total{getListing}": 2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["spindle_hdfs_namenode_calls_total{create}"] < 4 || got["spindle_hdfs_namenode_calls_total{delete}"] < 2 {
		t.Errorf("NameNode calls not counted: %v", got)
	}
}

//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// benchFiles is the benchmark's 1 GiB of dependencies in mixed sizes:
// (count, size) pairs, largest first.
var benchFiles = []struct {
	n    int
	size int64
}{
	{2, 128 << 20}, {9, 32 << 20}, {32, 8 << 20}, {128, 1 << 20}, {1024, 64 << 10}, {2048, 16 << 10},
}

// writeBenchFiles writes the benchmark's files under dir (pseudo-random,
// incompressible bytes) and returns their paths and total size.
func writeBenchFiles(tb testing.TB, dir string) ([]string, int64) {
	tb.Helper()
	rng := rand.NewChaCha8([32]byte{'s', 'p', 'i', 'n', 'd', 'l', 'e'})
	var paths []string
	var total int64
	buf := make([]byte, 1<<20)
	for _, f := range benchFiles {
		for i := 0; i < f.n; i++ {
			p := filepath.Join(dir, fmt.Sprintf("%d", f.size>>10), fmt.Sprintf("f%04d.bin", i))
			os.MkdirAll(filepath.Dir(p), 0o755)
			w, err := os.Create(p)
			if err != nil {
				tb.Fatal(err)
			}
			for left := f.size; left > 0; {
				n := min(left, int64(len(buf)))
				rng.Read(buf[:n])
				w.Write(buf[:n])
				left -= n
			}
			if err := w.Close(); err != nil {
				tb.Fatal(err)
			}
			paths = append(paths, p)
			total += f.size
		}
	}
	return paths, total
}

// benchRow is one line of the benchmark's table.
type benchRow struct {
	what    string
	took    time.Duration
	bytes   int64
	files   int
	nnCalls int64
}

// BenchmarkStagingVersusFsShell uploads 1 GiB in 3,243 files of mixed
// sizes (16 KiB to 128 MiB) to the plain test bed with Spindle's Stage
// (cold, at concurrency 1 and 4, then a redeployment that finds everything
// cached) and with Hadoop's own FsShell -put (hdfs dfs -put, from the test
// bed's classpath, single-threaded and with -t 4), and prints a table of
// wall time, throughput and NameNode calls (from the NameNode's JMX
// counters). Run it alone, once:
//
//	SPINDLE_TESTBED_DIR=/tmp/tb go test -tags integration -run '^$' \
//	  -bench BenchmarkStagingVersusFsShell -benchtime 1x ./integration/
func BenchmarkStagingVersusFsShell(b *testing.B) {
	tb := testbed.RequirePlain(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	classpath, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
	if err != nil {
		b.Fatalf("the test bed's classpath (build it with make testbed-build): %v", err)
	}
	local := b.TempDir()
	paths, total := writeBenchFiles(b, local)
	deps := make([]hdfs.Dependency, len(paths))
	for i, p := range paths {
		deps[i] = hdfs.Dependency{Local: p, Name: fmt.Sprintf("dep%04d", i)}
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	root := "/user/alice/.spindle-bench-" + suffix
	admin := stagingClient(b, tb, "alice", func(cfg *hdfs.Config) { cfg.StagingRoot = root })
	defer admin.Remove(context.Background(), root, true)

	// measure runs f between two readings of the NameNode's counters,
	// each taken jmxRefresh after the activity before it.
	measure := func(what string, files int, f func() error) benchRow {
		nameNodeCalls(b, ctx, tb)
		time.Sleep(jmxRefresh)
		before := nameNodeCalls(b, ctx, tb)
		start := time.Now()
		if err := f(); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		took := time.Since(start)
		time.Sleep(jmxRefresh)
		_, calls := callsBetween(before, nameNodeCalls(b, ctx, tb))
		return benchRow{what: what, took: took, bytes: total, files: files, nnCalls: calls}
	}
	stage := func(concurrency int, cacheDir, appID string) func() error {
		return func() error {
			c := stagingClient(b, tb, "alice", func(cfg *hdfs.Config) {
				cfg.StagingRoot, cfg.PrivateCacheDir, cfg.Concurrency = root, root+"/"+cacheDir, concurrency
			})
			st, err := c.Stage(ctx, appID, deps, hdfs.StageOptions{})
			if err == nil && cacheDir == "cache-c4" && appID == "application_2_0002" && st.UploadedFiles != 0 {
				err = fmt.Errorf("the redeployment uploaded %d files", st.UploadedFiles)
			}
			return err
		}
	}
	fsShell := func(args ...string) func() error {
		return func() error {
			cmd := exec.CommandContext(ctx, "java")
			cmd.Args = append(cmd.Args, strings.Fields(tb.Ready.JavaOpts)...)
			cmd.Args = append(cmd.Args, "-cp", strings.TrimSpace(string(classpath))+":"+tb.Ready.ConfDir, "org.apache.hadoop.fs.FsShell")
			cmd.Args = append(cmd.Args, args...)
			cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=alice")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v\n%s", err, out)
			}
			return nil
		}
	}

	for i := 0; i < b.N; i++ {
		var rows []benchRow
		rows = append(rows, measure("Spindle Stage, cold, concurrency 1", len(deps), stage(1, "cache-c1", "application_1_0001")))
		admin.Remove(ctx, root+"/cache-c1", true)
		rows = append(rows, measure("Spindle Stage, cold, concurrency 4", len(deps), stage(4, "cache-c4", "application_2_0001")))
		rows = append(rows, measure("Spindle Stage, redeploy, all cached", len(deps), stage(4, "cache-c4", "application_2_0002")))
		admin.Remove(ctx, root+"/cache-c4", true)
		rows = append(rows, measure("FsShell -ls (JVM start, for reference)", 0, fsShell("-ls", "/")))
		admin.MkdirAll(ctx, root+"/put", 0o755)
		rows = append(rows, measure("FsShell -put (hdfs dfs -put)", len(deps), fsShell("-put", local, root+"/put/t1")))
		admin.Remove(ctx, root+"/put/t1", true)
		rows = append(rows, measure("FsShell -put -t 4", len(deps), fsShell("-put", "-t", "4", local, root+"/put/t4")))
		admin.Remove(ctx, root+"/put/t4", true)

		fmt.Printf("\n%d files, %.0f MiB, sizes 16 KiB to 128 MiB; plain test bed (1 NameNode, 1 DataNode, replication 1), %s\n\n", len(deps), float64(total)/(1<<20), tb.Ready.HadoopVersion)
		fmt.Printf("| %-40s | %9s | %8s | %14s |\n", "upload", "wall time", "MiB/s", "NameNode calls")
		fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 11), strings.Repeat("-", 10), strings.Repeat("-", 16))
		for _, r := range rows {
			rate := "-"
			if r.files > 0 {
				rate = fmt.Sprintf("%.1f", float64(r.bytes)/(1<<20)/r.took.Seconds())
			}
			fmt.Printf("| %-40s | %8.2fs | %8s | %14d |\n", r.what, r.took.Seconds(), rate, r.nnCalls)
		}
		fmt.Println()
		b.ReportMetric(float64(total)/(1<<20)/rows[1].took.Seconds(), "spindle-c4-MiB/s")
		b.ReportMetric(float64(total)/(1<<20)/rows[4].took.Seconds(), "fsshell-MiB/s")
	}
}

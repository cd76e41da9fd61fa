//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

// BenchmarkRMClusterMetrics compares, on the same test bed in the same run,
// Spindle's RMClient with Hadoop's Java YarnClient calling
// getClusterMetrics: one caller, and 8 concurrent callers sharing one
// client. Both report calls/s; Java's figure excludes JVM start-up and a
// warm-up of 200 calls (Go's benchmark warms up with 200 calls too).
//
//	go test -tags integration -run '^$' -bench RMClusterMetrics -benchtime 3000x ./integration/
func BenchmarkRMClusterMetrics(b *testing.B) {
	tb := testbed.Get(b)
	for _, callers := range []int{1, 8} {
		b.Run(fmt.Sprintf("go/callers=%d", callers), func(b *testing.B) {
			benchGoMetrics(b, tb, callers)
		})
		b.Run(fmt.Sprintf("java/callers=%d", callers), func(b *testing.B) {
			benchJavaMetrics(b, tb, callers)
		})
	}
}

func benchGoMetrics(b *testing.B, tb *testbed.TestBed, callers int) {
	rm := rmClient(b, tb, "alice", "")
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		if _, err := rm.ClusterMetrics(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if _, err := rm.ClusterMetrics(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/secs, "calls/s")
}

func benchJavaMetrics(b *testing.B, tb *testbed.TestBed, callers int) {
	_, file, _, _ := runtime.Caller(0)
	target := filepath.Join(filepath.Dir(file), "testbed", "target")
	cp, err := os.ReadFile(filepath.Join(target, "classpath.txt"))
	if err != nil {
		b.Fatal(err)
	}
	args := strings.Fields(tb.Ready.JavaOpts)
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "-Djava.security.krb5.conf="+k.KRB5Conf)
	}
	args = append(args, "-cp", tb.Ready.ConfDir+":"+filepath.Join(target, "classes")+":"+strings.TrimSpace(string(cp)),
		"io.spindle.testbed.RpcBench", fmt.Sprint(b.N), fmt.Sprint(callers))
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "alice@"+k.Realm, k.Users["alice"])
	}
	cmd := exec.Command("java", args...)
	cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=alice")
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("RpcBench: %v\n%s", err, out)
	}
	var calls, threads int
	var nanos int64
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndex(line, "\n"); i >= 0 {
		line = line[i+1:]
	}
	if _, err := fmt.Sscanf(line, "calls=%d threads=%d nanos=%d", &calls, &threads, &nanos); err != nil {
		b.Fatalf("RpcBench printed %q: %v", line, err)
	}
	b.ReportMetric(float64(calls)/(float64(nanos)/1e9), "calls/s")
}

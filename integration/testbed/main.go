package testbed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The test bed of this test binary, set by Main.
var shared *TestBed

// Main is an integration package's TestMain: it starts one test bed in the
// mode SPINDLE_TESTBED_MODE names (plain, kerberos or ha; default plain),
// with hadoop.rpc.protection from SPINDLE_RPC_PROTECTION and, when
// SPINDLE_TESTBED_MAPREDUCE=1, MapReduce's shuffle service, sets
// HADOOP_CONF_DIR to its configuration, runs the tests and stops it.
//
// SPINDLE_TESTBED_DIR=<dir> uses the test bed already running there (see
// `make testbed`) instead, and leaves it running.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	started := time.Now()
	if dir := os.Getenv("SPINDLE_TESTBED_DIR"); dir != "" {
		shared, err = Attach(ctx, dir)
	} else {
		mode := Mode(strings.ToLower(os.Getenv("SPINDLE_TESTBED_MODE")))
		if mode == "" {
			mode = ModePlain
		}
		opts := Options{RPCProtection: os.Getenv("SPINDLE_RPC_PROTECTION"), MapReduce: os.Getenv("SPINDLE_TESTBED_MAPREDUCE") == "1"}
		switch mode {
		case ModePlain:
		case ModeKerberos:
			opts.Kerberos = true
		case ModeHA:
			opts.HA = true
		default:
			fmt.Fprintf(os.Stderr, "testbed: SPINDLE_TESTBED_MODE=%q: want plain, kerberos or ha\n", mode)
			return 2
		}
		shared, err = Start(ctx, opts)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		return 1
	}
	defer shared.Stop()
	fmt.Fprintf(os.Stderr, "testbed: %s mode, Hadoop %s, ready in %.1f s (Java reported %.1f s); log %s\n",
		shared.Mode(), shared.Ready.HadoopVersion, time.Since(started).Seconds(),
		shared.Ready.StartupSeconds, shared.LogPath())
	os.Setenv("HADOOP_CONF_DIR", shared.Ready.ConfDir)
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- test bed log (last 80 lines of %s) ---\n%s\n", shared.LogPath(), shared.LogTail(80))
	}
	return code
}

// Get returns the test bed Main started. When the test fails, the tail of
// the test bed's log is added to its output.
func Get(t testing.TB) *TestBed {
	t.Helper()
	if shared == nil {
		t.Fatal("testbed: no test bed; call testbed.Main from TestMain")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test bed log (last 40 lines of %s):\n%s", shared.LogPath(), shared.LogTail(40))
		}
	})
	return shared
}

// RequireKerberos skips t unless the test bed runs in Kerberos mode; the
// Kerberos run of the suite executes it.
func RequireKerberos(t testing.TB) *TestBed {
	t.Helper()
	tb := Get(t)
	if tb.Ready.Kerberos == nil {
		t.Skipf("needs the Kerberos test bed (this run: %s)", tb.Mode())
	}
	return tb
}

// RequirePlain skips t unless the test bed runs with simple authentication
// and one ResourceManager.
func RequirePlain(t testing.TB) *TestBed {
	t.Helper()
	tb := Get(t)
	if tb.Ready.Kerberos != nil || tb.Ready.HA {
		t.Skipf("needs the plain test bed (this run: %s)", tb.Mode())
	}
	return tb
}

// RequireHA skips t unless the test bed runs two ResourceManagers.
func RequireHA(t testing.TB) *TestBed {
	t.Helper()
	tb := Get(t)
	if !tb.Ready.HA {
		t.Skipf("needs the HA test bed (this run: %s)", tb.Mode())
	}
	return tb
}

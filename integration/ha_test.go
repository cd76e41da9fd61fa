//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// haClient is what the HA tests need of RMClient and RESTClient alike.
type haClient interface {
	NewApplication(ctx context.Context) (yarn.ApplicationID, yarn.Resource, error)
	Submit(ctx context.Context, s *yarn.ApplicationSubmission) error
	ApplicationReport(ctx context.Context, id yarn.ApplicationID) (yarn.ApplicationReport, error)
	WaitForState(ctx context.Context, id yarn.ApplicationID, interval time.Duration, done func(yarn.ApplicationReport) bool) (yarn.ApplicationReport, error)
	KillAndWait(ctx context.Context, id yarn.ApplicationID, diagnostics string) (yarn.ApplicationReport, error)
	ClusterMetrics(ctx context.Context) (yarn.ClusterMetrics, error)
	CurrentRM() string
	Failovers() int64
	Close() error
}

func newHAClient(t *testing.T, transport string, cfg yarn.Config) haClient {
	t.Helper()
	var c haClient
	var err error
	if transport == "rest" {
		c, err = yarn.NewRESTClient(cfg)
	} else {
		c, err = yarn.NewRMClient(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rmIndex(tb *testbed.TestBed, id string) int {
	return slices.IndexFunc(tb.Ready.ResourceManagers, func(rm testbed.ResourceManager) bool { return rm.ID == id })
}

// failover makes the other RM active and returns how long the test bed
// took.
func failover(t *testing.T, ctx context.Context, tb *testbed.TestBed) string {
	t.Helper()
	start := time.Now()
	msg, err := tb.Control(ctx, "/rm/failover")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s)", msg, time.Since(start).Round(time.Millisecond))
	active, err := tb.ActiveRM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return active.ID
}

// TestHASubmitReportKillAcrossFailover: over RPC and over REST, every step
// of an application's life succeeds with a failover between the calls,
// and the client ends on the active RM.
func TestHASubmitReportKillAcrossFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	for _, transport := range []string{"rpc", "rest"} {
		t.Run(transport, func(t *testing.T) {
			ctx := testContext(t, 4*time.Minute)
			c := newHAClient(t, transport, yarnConfig(t, tb, "alice", ""))
			timed := func(what string, f func() error) {
				t.Helper()
				start := time.Now()
				if err := f(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				t.Logf("%s over %s: %s, on %s", what, transport, time.Since(start).Round(time.Millisecond), c.CurrentRM())
			}
			var id yarn.ApplicationID
			timed("new application", func() (err error) { id, _, err = c.NewApplication(ctx); return err })
			failover(t, ctx, tb)
			timed("submit after failover", func() error {
				return c.Submit(ctx, &yarn.ApplicationSubmission{
					ID: id, Name: "spindle-ha-" + transport, Type: "SPINDLE-HA", MaxAttempts: 1,
					AMResource: yarn.Resource{MemoryMB: 128, VCores: 1},
					AM:         yarn.ContainerLaunchContext{Commands: []string{"sleep 300"}},
				})
			})
			failover(t, ctx, tb)
			timed("report after failover", func() error {
				r, err := c.WaitForState(ctx, id, 100*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State >= yarn.ApplicationAccepted })
				if err == nil && r.State != yarn.ApplicationAccepted {
					err = fmt.Errorf("state %s (%s), want ACCEPTED", r.State, r.Diagnostics)
				}
				return err
			})
			failover(t, ctx, tb)
			timed("kill after failover", func() error {
				r, err := c.KillAndWait(ctx, id, "killed by the HA test")
				if err == nil && r.State != yarn.ApplicationKilled {
					err = fmt.Errorf("state %s after kill", r.State)
				}
				return err
			})
			active := failover(t, ctx, tb)
			timed("final report after failover", func() error {
				r, err := c.ApplicationReport(ctx, id)
				if err == nil && r.State != yarn.ApplicationKilled {
					err = fmt.Errorf("state %s, want KILLED", r.State)
				}
				return err
			})
			if !strings.HasPrefix(c.CurrentRM(), active+" ") {
				t.Errorf("client on %s, active RM is %s", c.CurrentRM(), active)
			}
			if c.Failovers() < 4 {
				t.Errorf("client counted %d failovers, want at least 4", c.Failovers())
			}
		})
	}
}

// TestHADshellAcrossFailover: a dshell job of 8 containers, submitted over
// RPC and over REST, finishes SUCCEEDED although the RMs fail over while
// its ApplicationMaster heartbeats; the AM follows to the new active RM.
func TestHADshellAcrossFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	for _, transport := range []string{"rpc", "rest"} {
		t.Run(transport, func(t *testing.T) {
			ctx := testContext(t, 5*time.Minute)
			rpc := rmClient(t, tb, "alice", "")
			args := []string{"-n", "8", "-name", "spindle-ha-dshell-" + transport}
			if transport == "rest" {
				args = append(args, "-rest")
			}
			args = append(args, "--", "sleep", "8")
			cmd := exec.CommandContext(ctx, dshellBinary(t), args...)
			cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			// Wait until the AM runs and its containers are allocated.
			var id yarn.ApplicationID
			for id.IsZero() {
				apps, err := rpc.Applications(ctx, yarn.ApplicationFilter{Name: "spindle-ha-dshell-" + transport,
					States: []yarn.ApplicationState{yarn.ApplicationRunning}})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range apps {
					if a.Started.After(time.Now().Add(-2 * time.Minute)) {
						id = a.ID
					}
				}
				select {
				case err := <-done:
					t.Fatalf("dshell ended before running: %v\n%s", err, out.String())
				case <-time.After(200 * time.Millisecond):
				}
			}
			time.Sleep(2 * time.Second)
			failoverAt := time.Now()
			failover(t, ctx, tb)

			var err error
			select {
			case err = <-done:
			case <-ctx.Done():
				t.Fatalf("dshell did not finish:\n%s", out.String())
			}
			t.Logf("dshell %s:\n%s", strings.Join(args, " "), out.String())
			if err != nil {
				t.Fatalf("dshell: %v", err)
			}
			for _, want := range []string{"FINISHED / SUCCEEDED", "8 of 8 containers exited 0"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q", want)
				}
			}
			r, err := rpc.ApplicationReport(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Finished.After(failoverAt) {
				t.Errorf("%s finished at %v, before the failover at %v", id, r.Finished, failoverAt)
			}
			// The AM logged following the RMs; its log is in the
			// NodeManager's log directory.
			logs, _ := filepath.Glob(filepath.Join(tb.Dir, "work", "*", "*", "*", id.String(), "container_*_01_000001", "am.stderr"))
			if len(logs) == 0 {
				logs, _ = filepath.Glob(filepath.Join(tb.Dir, "work", "*", "*", "*", "*", id.String(), "container_*_01_000001", "am.stderr"))
			}
			if len(logs) == 0 {
				t.Errorf("no am.stderr of %s under %s", id, tb.Dir)
				return
			}
			amLog, _ := os.ReadFile(logs[0])
			if !bytes.Contains(amLog, []byte("failing over")) {
				t.Errorf("the AM did not fail over (%s):\n%s", logs[0], amLog)
			}
			t.Logf("AM log lines about the RMs:\n%s", grepLines(amLog, "failing over|registering again|finishing"))
		})
	}
}

func grepLines(b []byte, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHAUnreachableAndNoActive: a stopped RM is skipped without an error
// while the other is active, over RPC and REST; with the active RM
// stopped too, calls fail with ErrNoActiveResourceManager naming both RMs
// after the failover timeout. The test bed is restored afterwards.
func TestHAUnreachableAndNoActive(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 4*time.Minute)
	active, err := tb.ActiveRM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := rmIndex(tb, active.ID)
	s := 1 - a
	standbyID := tb.Ready.ResourceManagers[s].ID
	stopped := map[int]bool{}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i := range stopped {
			if _, err := tb.Control(ctx, fmt.Sprintf("/rm/%d/start", i)); err != nil {
				t.Errorf("restoring the test bed: %v", err)
			}
		}
		if _, err := tb.ActiveRM(ctx); err != nil {
			if _, err := tb.Control(ctx, "/rm/failover"); err != nil {
				t.Errorf("restoring the test bed: %v", err)
			}
		}
		// MiniYARNCluster's web apps share one JVM-wide Guice filter
		// pipeline, which the web app started last owns. Owned by a
		// restarted RM, its RMWebAppFilter redirects requests on every
		// port whenever that RM is the standby, the active RM's own
		// included, in a loop. A restarted NodeManager takes the pipeline
		// back, as after the test bed's start.
		for _, op := range []string{"/nm/0/stop", "/nm/0/start"} {
			if _, err := tb.Control(ctx, op); err != nil {
				t.Errorf("restoring the test bed: %v", err)
			}
		}
		if err := tb.WaitHealthy(ctx); err != nil {
			t.Errorf("test bed not healthy after the test: %v", err)
		}
	})
	control := func(path string) {
		t.Helper()
		msg, err := tb.Control(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(msg)
	}

	// The stopped standby first in the list: every client meets it.
	cfg := yarnConfig(t, tb, "alice", "")
	slices.SortFunc(cfg.ResourceManagers, func(x, y yarn.RMAddress) int {
		if x.ID == standbyID {
			return -1
		}
		if y.ID == standbyID {
			return 1
		}
		return 0
	})
	cfg.FailoverTimeout = 5 * time.Second

	control(fmt.Sprintf("/rm/%d/stop", s))
	stopped[s] = true
	for _, transport := range []string{"rpc", "rest"} {
		c := newHAClient(t, transport, cfg)
		start := time.Now()
		m, err := c.ClusterMetrics(ctx)
		if err != nil {
			t.Fatalf("%s with %s stopped: %v", transport, standbyID, err)
		}
		t.Logf("%s: metrics past the stopped %s in %s, from %s", transport, standbyID, time.Since(start).Round(time.Millisecond), c.CurrentRM())
		if m.NodeManagers != 2 || !strings.HasPrefix(c.CurrentRM(), active.ID+" ") || c.Failovers() != 1 {
			t.Errorf("%s: %+v from %s after %d failovers, want 2 NodeManagers from %s after 1", transport, m, c.CurrentRM(), c.Failovers(), active.ID)
		}
	}
	control(fmt.Sprintf("/rm/%d/start", s))
	delete(stopped, s)

	// Now the active one goes, without a failover: the restarted RM stays
	// a standby.
	control(fmt.Sprintf("/rm/%d/stop", a))
	stopped[a] = true
	for _, transport := range []string{"rpc", "rest"} {
		c := newHAClient(t, transport, cfg)
		start := time.Now()
		_, err := c.ClusterMetrics(ctx)
		took := time.Since(start)
		t.Logf("%s with no active RM: after %s: %v", transport, took.Round(time.Millisecond), err)
		if !errors.Is(err, yarn.ErrNoActiveResourceManager) {
			t.Fatalf("%s: %v, want ErrNoActiveResourceManager", transport, err)
		}
		for _, rm := range tb.Ready.ResourceManagers {
			if !strings.Contains(err.Error(), rm.ID) {
				t.Errorf("%s: error does not name %s: %v", transport, rm.ID, err)
			}
		}
		if took < cfg.FailoverTimeout-time.Second || took > cfg.FailoverTimeout+5*time.Second {
			t.Errorf("%s: gave up after %s, want about the failover timeout %s", transport, took, cfg.FailoverTimeout)
		}
	}
}

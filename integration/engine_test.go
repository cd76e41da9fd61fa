//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

// engineBed is an unmanaged ApplicationMaster (running in the test) with
// an engine over it, and a watch on the RM's own count of the attempt's
// containers.
type engineBed struct {
	t          *testing.T
	rm         *yarn.RMClient
	am         *yarn.AMClient
	nm         *yarn.NMClient
	app        yarn.ApplicationID
	registered time.Time
	watch      *rmWatch
}

func newEngineBed(t *testing.T, tb *testbed.TestBed) *engineBed {
	t.Helper()
	rm, am, app := unmanagedAM(t, tb, "")
	b := &engineBed{t: t, rm: rm, am: am, app: app, registered: time.Now()}
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nm.Close() })
	b.nm = nm
	b.watch = watchRM(t, rm, yarn.ApplicationAttemptID{Application: app, Attempt: 1})
	return b
}

// engine builds an engine over the bed's clients running cmd in each
// container.
func (b *engineBed) engine(cfg engine.Config, cmd string) *engine.Engine {
	b.t.Helper()
	cfg.AM, cfg.NM = b.am, b.nm
	cfg.LaunchContext = func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
		return yarn.ContainerLaunchContext{Commands: []string{cmd, "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"}}, nil
	}
	cfg.Logger = slog.New(slog.NewTextHandler(testLogWriter{b.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e, err := engine.New(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	return e
}

// finish unregisters the application and waits for its final state.
func (b *engineBed) finish(ctx context.Context, status yarn.FinalStatus, diag string) yarn.ApplicationReport {
	b.t.Helper()
	if err := b.am.Finish(ctx, yarn.AMUnregistration{FinalStatus: status, Diagnostics: diag}); err != nil {
		b.t.Fatal(err)
	}
	r, err := b.rm.WaitForState(ctx, b.app, 100*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State.IsFinal() })
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rmWatch polls the RM's list of the attempt's live containers (the RM's
// count, not the engine's) and checks it against the bound the test allows
// at that moment.
type rmWatch struct {
	mu         sync.Mutex
	bound      int
	maxLive    int
	live       int
	polls      int
	seen       map[yarn.ContainerID]bool
	last       []yarn.ContainerReport
	violations []string
	stop       func()
}

func watchRM(t *testing.T, rm *yarn.RMClient, attempt yarn.ApplicationAttemptID) *rmWatch {
	w := &rmWatch{seen: map[yarn.ContainerID]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.stop = func() { cancel(); <-done }
	t.Cleanup(w.stop)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			before := w.allowed()
			reps, err := rm.Containers(ctx, attempt)
			after := w.allowed()
			if err == nil {
				w.mu.Lock()
				w.polls++
				w.live, w.last = len(reps), reps
				w.maxLive = max(w.maxLive, len(reps))
				for _, r := range reps {
					w.seen[r.ID] = true
				}
				if bound := max(before, after); len(reps) > bound {
					w.violations = append(w.violations, fmt.Sprintf("%s: the RM holds %d containers for the attempt, more than the %d asked",
						time.Now().Format("15:04:05.000"), len(reps), bound))
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// byNode counts the live containers of the last poll by node.
func (w *rmWatch) byNode() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, r := range w.last {
		out[r.NodeID.String()]++
	}
	return out
}

func (w *rmWatch) allowed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bound
}

// allow sets how many live containers the RM may hold from now on.
func (w *rmWatch) allow(n int) {
	w.mu.Lock()
	w.bound = n
	w.mu.Unlock()
}

func (w *rmWatch) snapshot() (live, maxLive, distinct, polls int, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.live, w.maxLive, len(w.seen), w.polls, append([]string(nil), w.violations...)
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, ctx context.Context, what string, d time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(d)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("not reached within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func profileStatus(e *engine.Engine, name string) engine.ProfileStatus {
	for _, p := range e.Status().Profiles {
		if p.Name == name {
			return p
		}
	}
	return engine.ProfileStatus{}
}

func smallProfile(name string, target int) engine.Profile {
	return engine.Profile{Name: name, Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, Target: target}
}

// TestEngine64Containers: 64 containers of `sleep 30` asked at once all
// run, and the RM never holds more containers for the attempt than the 64
// asked for (counted from the RM's container reports), nor allocates more
// than 64 in all; the engine released no excess.
//
// Plain bed only: negotiation does not depend on authentication, and an
// unmanaged AM gets no token on the Kerberos bed (see TestAMClientUnmanaged).
func TestEngine64Containers(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("negotiation is the same in every mode; proven on the plain bed")
	}
	ctx := testContext(t, 3*time.Minute)
	b := newEngineBed(t, tb)
	const n = 64
	b.watch.allow(n)
	e := b.engine(engine.Config{Profiles: []engine.Profile{smallProfile("sleep", n)}, MaxConcurrentStarts: 32}, "sleep 30")
	var (
		mu      sync.Mutex
		started = map[yarn.ContainerID]bool{}
		allRun  time.Time
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{OnStarted: func(c yarn.Container, _ string) {
			mu.Lock()
			defer mu.Unlock()
			started[c.ID] = true
			if len(started) == n {
				allRun = time.Now()
			}
		}})
	}()
	waitFor(t, ctx, "64 containers allocated", 2*time.Minute, func() bool { return e.Status().Allocated >= n })
	allocated := time.Since(b.registered)
	waitFor(t, ctx, "64 containers running", 2*time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !allRun.IsZero()
	})
	waitFor(t, ctx, "the RM listing 64 containers", 30*time.Second, func() bool {
		live, _, _, _, _ := b.watch.snapshot()
		return live == n
	})
	time.Sleep(time.Second) // a few more heartbeats and RM polls: nothing more may come
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	b.watch.stop()
	live, maxLive, distinct, polls, violations := b.watch.snapshot()
	s := e.Status()
	t.Logf("registered → 64 allocated: %s, → 64 started: %s; RM polls %d, max live %d, distinct containers %d; engine allocated %d, excess %d",
		allocated.Round(time.Millisecond), allRun.Sub(b.registered).Round(time.Millisecond), polls, maxLive, distinct, s.Allocated, s.Excess)
	for _, v := range violations {
		t.Error(v)
	}
	if maxLive != n || live != n || distinct != n {
		t.Errorf("the RM held at most %d (now %d, %d distinct) containers, want exactly %d", maxLive, live, distinct, n)
	}
	if s.Allocated != n || s.Excess != 0 || s.Profiles[0].Running != n {
		t.Errorf("engine status %+v, want %d allocated and running, no excess", s, n)
	}
	if r := b.finish(ctx, yarn.FinalSucceeded, "64 containers ran"); r.FinalStatus != yarn.FinalSucceeded {
		t.Errorf("application ended %s/%s", r.State, r.FinalStatus)
	}
}

// TestEngineScale: the target moves 16 → 48 → 8 → 32 while containers
// run; each is reached, the RM never holds more containers than the
// larger of the old and new targets while moving nor more than the target
// once there, and 16 + 32 + 24 = 72 containers are allocated in all.
func TestEngineScale(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("negotiation is the same in every mode; proven on the plain bed")
	}
	ctx := testContext(t, 4*time.Minute)
	b := newEngineBed(t, tb)
	b.watch.allow(16)
	e := b.engine(engine.Config{Profiles: []engine.Profile{smallProfile("sleep", 16)}, MaxConcurrentStarts: 32}, "sleep 600")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx, engine.Callbacks{}) }()
	prev := 0
	for _, target := range []int{16, 48, 8, 32} {
		b.watch.allow(max(prev, target))
		if err := e.SetTarget("sleep", target); err != nil {
			t.Fatal(err)
		}
		took := waitFor(t, ctx, fmt.Sprintf("target %d", target), 2*time.Minute, func() bool {
			live, _, _, _, _ := b.watch.snapshot()
			p := profileStatus(e, "sleep")
			return p.Running == target && p.Starting == 0 && p.Releasing == 0 && live == target
		})
		b.watch.allow(target)
		time.Sleep(500 * time.Millisecond) // it must stay there
		live, _, _, _, _ := b.watch.snapshot()
		if p := profileStatus(e, "sleep"); p.Running != target || live != target {
			t.Errorf("target %d left: engine %+v, RM %d", target, p, live)
		}
		t.Logf("%d → %d: reached in %s", prev, target, took.Round(time.Millisecond))
		prev = target
	}
	// Progress reaches the RM with the next heartbeats.
	e.SetProgress(0.25)
	waitFor(t, ctx, "progress 0.25 in the application report", 30*time.Second, func() bool {
		r, err := b.rm.ApplicationReport(ctx, b.app)
		return err == nil && r.Progress == 0.25
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	b.watch.stop()
	_, maxLive, distinct, polls, violations := b.watch.snapshot()
	s := e.Status()
	t.Logf("RM polls %d, max live %d, distinct containers %d; engine allocated %d, excess %d", polls, maxLive, distinct, s.Allocated, s.Excess)
	for _, v := range violations {
		t.Error(v)
	}
	if s.Allocated != 72 || s.Excess != 0 {
		t.Errorf("engine allocated %d with %d excess, want 72 and none", s.Allocated, s.Excess)
	}
	b.finish(ctx, yarn.FinalSucceeded, "scaled")
}

// TestEngineFailureBudget: a command that always fails uses up a budget
// of 3: Run ends with the BudgetError naming the budget and the exit
// status, and the application, finished with that message, fails with it.
func TestEngineFailureBudget(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("negotiation is the same in every mode; proven on the plain bed")
	}
	ctx := testContext(t, 3*time.Minute)
	b := newEngineBed(t, tb)
	b.watch.allow(2)
	e := b.engine(engine.Config{Profiles: []engine.Profile{smallProfile("failing", 2)}, MaxFailures: 3}, "exit 3")
	var (
		mu      sync.Mutex
		counted int
	)
	start := time.Now()
	err := e.Run(ctx, engine.Callbacks{OnCompleted: func(c engine.Completion) {
		mu.Lock()
		defer mu.Unlock()
		if c.Counted {
			counted++
		}
	}})
	var be *engine.BudgetError
	if !errors.As(err, &be) || !errors.Is(err, engine.ErrBudgetExhausted) {
		t.Fatalf("Run returned %v, want the budget error", err)
	}
	t.Logf("Run ended after %s: %v", time.Since(start).Round(time.Millisecond), err)
	for _, want := range []string{"failure budget exhausted", "MaxFailures 3", "exit status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(be.Failures) != 3 {
		t.Errorf("the budget error lists %d failures, want 3", len(be.Failures))
	}
	mu.Lock()
	if counted < 3 {
		t.Errorf("OnCompleted saw %d counted failures, want at least 3", counted)
	}
	mu.Unlock()
	_, _, _, _, violations := b.watch.snapshot()
	for _, v := range violations {
		t.Error(v)
	}
	r := b.finish(ctx, yarn.FinalFailed, err.Error())
	if r.FinalStatus != yarn.FinalFailed || !strings.Contains(r.Diagnostics, "MaxFailures 3") {
		t.Errorf("application ended %s/%s with %q", r.State, r.FinalStatus, r.Diagnostics)
	}
}

// TestEngineHAFailover: the active ResourceManager fails over while the
// engine is allocating (the target just raised from 8 to 40): the AMClient
// registers again, the engine resends its asks, and the target is reached
// with the RM (the new active one) never holding more containers for the
// attempt than 40.
func TestEngineHAFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 4*time.Minute)
	b := newEngineBed(t, tb)
	b.watch.allow(8)
	e := b.engine(engine.Config{Profiles: []engine.Profile{smallProfile("sleep", 8)}, MaxConcurrentStarts: 32}, "sleep 600")
	var (
		mu      sync.Mutex
		resyncs int
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{OnResync: func() { mu.Lock(); resyncs++; mu.Unlock() }})
	}()
	waitFor(t, ctx, "8 running", 2*time.Minute, func() bool { return profileStatus(e, "sleep").Running == 8 })
	b.watch.allow(40)
	if err := e.SetTarget("sleep", 40); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the raise sent", 30*time.Second, func() bool { return profileStatus(e, "sleep").Outstanding > 0 })
	before := e.Status()
	failover(t, ctx, tb)
	t.Logf("the failover began with %d allocated and %d outstanding", before.Allocated, before.Profiles[0].Outstanding)
	took := waitFor(t, ctx, "40 running after the failover", 2*time.Minute, func() bool {
		live, _, _, _, _ := b.watch.snapshot()
		p := profileStatus(e, "sleep")
		return p.Running == 40 && p.Starting == 0 && live == 40
	})
	time.Sleep(time.Second)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	b.watch.stop()
	live, maxLive, distinct, polls, violations := b.watch.snapshot()
	s := e.Status()
	mu.Lock()
	t.Logf("40 running %s after the failover; AM resyncs %d (OnResync %d), failovers %d; RM polls %d, live %d, max live %d, distinct %d; engine allocated %d, excess %d",
		took.Round(time.Millisecond), b.am.Resyncs(), resyncs, b.am.Failovers(), polls, live, maxLive, distinct, s.Allocated, s.Excess)
	mu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if live != 40 || s.Profiles[0].Running != 40 {
		t.Errorf("after the failover the RM holds %d and the engine runs %d, want 40", live, s.Profiles[0].Running)
	}
	if s.Excess != 0 {
		t.Errorf("%d containers beyond the target were allocated", s.Excess)
	}
	// The RM may list more distinct containers than the engine received:
	// those the old active RM allocated and lost before handing them over.
	b.finish(ctx, yarn.FinalSucceeded, "failed over")
}

// TestEngineNodeLost: a NodeManager stops while the engine keeps 16
// containers running; once the RM learns it is gone (the bed's NodeManager
// unregisters as it stops; a crashed one would expire after 10 s), its
// containers come back ABORTED and are replaced on the other node, none
// counted as a failure, the RM never holding more than 16.
//
// Plain bed only, and it stops a NodeManager: run it on a bed of its own,
// never a shared one. The NodeManager is started again afterwards.
func TestEngineNodeLost(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("node loss is handled the same in every mode; proven on the plain bed")
	}
	if os.Getenv("SPINDLE_TESTBED_DIR") != "" {
		t.Skip("stops a NodeManager: runs only on a test bed of its own, not one named by SPINDLE_TESTBED_DIR that others may share")
	}
	ctx := testContext(t, 4*time.Minute)
	b := newEngineBed(t, tb)
	const n = 16
	b.watch.allow(n)
	e := b.engine(engine.Config{Profiles: []engine.Profile{smallProfile("sleep", n)}}, "sleep 600")
	var (
		mu                     sync.Mutex
		causes                 = map[engine.Cause]int{}
		firstLost, lastStarted time.Time
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{
			OnCompleted: func(c engine.Completion) {
				mu.Lock()
				causes[c.Cause]++
				if firstLost.IsZero() {
					firstLost = time.Now()
				}
				mu.Unlock()
			},
			OnStarted: func(yarn.Container, string) { mu.Lock(); lastStarted = time.Now(); mu.Unlock() },
		})
	}()
	lost, other := tb.Ready.NodeManagerAddresses[0], tb.Ready.NodeManagerAddresses[1]
	waitFor(t, ctx, "16 running on both nodes", 2*time.Minute, func() bool {
		by := b.watch.byNode()
		return profileStatus(e, "sleep").Running == n && by[lost]+by[other] == n
	})
	onLost := b.watch.byNode()[lost]
	if onLost == 0 {
		t.Fatalf("no container on %s: %v", lost, b.watch.byNode())
	}
	stopped := time.Now()
	if _, err := tb.Control(ctx, "/nm/0/stop"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := tb.Control(cctx, "/nm/0/start"); err != nil {
			t.Errorf("starting the NodeManager again: %v", err)
		}
	})
	waitFor(t, ctx, "16 running on the other node", 2*time.Minute, func() bool {
		by := b.watch.byNode()
		p := profileStatus(e, "sleep")
		return p.Running == n && p.Starting == 0 && by[other] == n && by[lost] == 0
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	b.watch.stop()
	_, maxLive, distinct, _, violations := b.watch.snapshot()
	s := e.Status()
	mu.Lock()
	t.Logf("%d containers on %s; the RM reported the first lost %s after the stop began; the last replacement started %s after that, on %s; ended by cause %v; RM max live %d, distinct %d; engine allocated %d, failed %d",
		onLost, lost, firstLost.Sub(stopped).Round(time.Millisecond), lastStarted.Sub(firstLost).Round(time.Millisecond), other,
		causes, maxLive, distinct, s.Allocated, s.Profiles[0].Failed)
	if causes[engine.CauseAborted] != onLost {
		t.Errorf("%d containers ended ABORTED, want the %d on the lost node", causes[engine.CauseAborted], onLost)
	}
	mu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if s.Profiles[0].Failed != 0 || s.Allocated != n+onLost || s.Excess != 0 {
		t.Errorf("engine %+v, want %d allocated (16 + the lost), none failed or excess", s, n+onLost)
	}
	b.finish(ctx, yarn.FinalSucceeded, "node lost")
}

// TestEngineAttemptAdoption: an ApplicationMaster on the engine
// (integration/cmd/engineam), submitted keeping containers across
// attempts, runs 8 containers and, once the RM holds all 8 RUNNING (its
// log says so), exits without unregistering (the test's SIGUSR1 tells it to); the second
// attempt adopts all 8 (the same container ids the RM listed for the
// first attempt), allocates none, and succeeds.
//
// The wait matters: the RM keeps across a failed attempt only the
// containers it holds as RUNNING and kills those a NodeManager has
// started but not yet reported (its next heartbeat), so an attempt that
// crashes in that gap loses them and the next one allocates again
// ("adopted 7, allocated 1" in 1 run of 6 when the AM exited on its own
// as soon as its starts returned).
//
// Plain bed only: adoption does not depend on authentication.
func TestEngineAttemptAdoption(t *testing.T) {
	testEngineAMAdoption(t, false)
}

// TestEngineAttemptAdoptionAfterKill: as TestEngineAttemptAdoption, but
// attempt 1 does not exit on its own: while it heartbeats with its 8
// containers running, the test kills its process with SIGKILL (exit 137,
// no unregistration, no clean-up). Attempt 2 registers, gets the 8
// through its registration, adopts each through Config.Adopt, counts
// each once (adopted 8, running 8), allocates none and restarts none (the
// ids it runs are those the RM listed for attempt 1).
//
// Plain bed only; the kill hits the test's own ApplicationMaster, not the
// bed.
func TestEngineAttemptAdoptionAfterKill(t *testing.T) {
	testEngineAMAdoption(t, true)
}

// rmRunning counts the containers of ids the RM holds RUNNING, and says how
// it knows. The RM's container reports say RUNNING for every container
// not yet completed, so they cannot tell; its log can: the RM logs each
// container's move from ACQUIRED to RUNNING, made when a NodeManager's
// heartbeat reports the container started. The bed's log is read for
// those lines from offset from, where this test's part begins. A bed started outside the tests may keep no
// log where the tests look; then the NodeManagers are given 2 s (20 of
// their heartbeats) from since to report them.
func rmRunning(t *testing.T, tb *testbed.TestBed, from int64, ids map[string]bool, since time.Time) (int, string) {
	t.Helper()
	f, err := os.Open(tb.LogPath())
	if err != nil {
		if time.Since(since) < 2*time.Second {
			return 0, ""
		}
		return len(ids), "no bed log, 2 s after the AM started them"
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for id := range ids {
		if bytes.Contains(b, []byte(id+" Container Transitioned from ACQUIRED to RUNNING")) {
			held++
		}
	}
	return held, "from the RM's log"
}

func testEngineAMAdoption(t *testing.T, kill bool) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("adoption is the same in every mode; proven on the plain bed")
	}
	ctx := testContext(t, 4*time.Minute)
	dir := t.TempDir()
	bin := filepath.Join(dir, "engineam")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/spindle-yarn/spindle/integration/cmd/engineam").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	rm := rmClient(t, tb, "alice", "")
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	pidFile := filepath.Join(dir, "attempt1.pid")
	// The NodeManagers run on this machine as this user, so the AM writes
	// where the test reads.
	env := map[string]string{"ENGINEAM_CONF_DIR": tb.Ready.ConfDir, "ENGINEAM_CONTAINERS": strconv.Itoa(n),
		"ENGINEAM_PID_FILE": pidFile}
	crash, crashName := syscall.SIGUSR1, "SIGUSR1 (it exits with status 3 without unregistering)"
	if kill {
		env["ENGINEAM_ADOPT_CALLBACK"] = "1"
		crash, crashName = syscall.SIGKILL, "SIGKILL"
	}
	sub := &yarn.ApplicationSubmission{
		ID: id, Name: t.Name(), Queue: "default", Type: "SPINDLE-TEST", MaxAttempts: 2, KeepContainersAcrossAttempts: true,
		AMResource: yarn.Resource{MemoryMB: 128, VCores: 1},
		AM: yarn.ContainerLaunchContext{
			// The NodeManagers run on this machine, so they localize the
			// binary straight from the local file system.
			LocalResources: map[string]yarn.LocalResource{"engineam": {URL: "file://" + bin, Size: st.Size(),
				Timestamp: st.ModTime().UnixMilli(), Type: yarn.LocalResourceFile, Visibility: yarn.VisibilityApplication}},
			Environment: env,
			Commands:    []string{"./engineam", "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"},
		},
	}
	var logFrom int64 // where this test's part of the bed's log begins
	if st, err := os.Stat(tb.LogPath()); err == nil {
		logFrom = st.Size()
	}
	if err := rm.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if r, err := rm.ApplicationReport(kctx, id); err == nil && !r.State.IsFinal() {
			rm.KillAndWait(kctx, id, "test cleanup")
		}
	})
	// The first attempt's workers, as the RM lists them (not its AM).
	first := yarn.ApplicationAttemptID{Application: id, Attempt: 1}
	firstIDs := map[string]bool{}
	killed := false
	var pidSeen time.Time
	var final yarn.ApplicationReport
	for {
		if reps, err := rm.Containers(ctx, first); err == nil {
			for _, r := range reps {
				if r.ID.Sequence() != 1 {
					firstIDs[r.ID.String()] = true
				}
			}
		}
		if !killed {
			if b, err := os.ReadFile(pidFile); err == nil {
				if pidSeen.IsZero() {
					pidSeen = time.Now()
				}
				pid, err := strconv.Atoi(string(b))
				if err != nil {
					t.Fatalf("pid file %q: %v", b, err)
				}
				// Only once the RM holds all of them RUNNING: it kills the
				// rest when the attempt fails.
				if held, how := rmRunning(t, tb, logFrom, firstIDs, pidSeen); held == n {
					if err := syscall.Kill(pid, crash); err != nil {
						t.Fatalf("signalling attempt 1's ApplicationMaster (pid %d): %v", pid, err)
					}
					killed = true
					t.Logf("attempt 1's ApplicationMaster (pid %d) sent %s, %d workers listed, all RUNNING at the RM (%s) %.2f s after the AM had started them all",
						pid, crashName, len(firstIDs), how, time.Since(pidSeen).Seconds())
				}
			}
		}
		r, err := rm.ApplicationReport(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.IsFinal() {
			final = r
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("application %s is still %s", id, r.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s ended %s/%s: %s", id, final.State, final.FinalStatus, final.Diagnostics)
	if !killed {
		t.Fatalf("attempt 1 was never ended by the test (pid file seen: %v)", !pidSeen.IsZero())
	}
	if kill {
		attempts, err := rm.ApplicationAttempts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range attempts {
			t.Logf("attempt %d: %s: %s", a.ID.Attempt, a.State, a.Diagnostics)
			if a.ID.Attempt == 1 && !strings.Contains(a.Diagnostics, "137") {
				t.Errorf("attempt 1's diagnostics do not tell of exit code 137 (SIGKILL): %q", a.Diagnostics)
			}
		}
		if len(attempts) != 2 {
			t.Errorf("%d attempts, want 2", len(attempts))
		}
	}
	if final.FinalStatus != yarn.FinalSucceeded {
		t.Fatalf("application %s/%s, want SUCCEEDED from the second attempt", final.State, final.FinalStatus)
	}
	want := fmt.Sprintf("attempt 2: adopted %d, allocated 0, running %d; adopted ", n, n)
	i := strings.Index(final.Diagnostics, want)
	if i < 0 {
		t.Fatalf("diagnostics %q lack %q", final.Diagnostics, want)
	}
	rest := strings.Fields(final.Diagnostics[i+len(want):])
	adopted := strings.Split(rest[0], ",")
	if len(firstIDs) != n {
		t.Errorf("the RM listed %d workers for the first attempt, want %d: %v", len(firstIDs), n, firstIDs)
	}
	for _, c := range adopted {
		if !firstIDs[c] {
			t.Errorf("adopted %s, which the RM never listed for the first attempt", c)
		}
	}
	if len(adopted) != n {
		t.Errorf("adopted %d containers, want %d", len(adopted), n)
	}
	if kill {
		// Config.Adopt decided each (at least once: a container the RM
		// reports again is asked about again, and still counted once).
		var calls int
		if len(rest) < 4 || rest[1] != "adopt" || rest[2] != "calls" {
			t.Fatalf("diagnostics %q lack the count of Config.Adopt calls", final.Diagnostics)
		}
		if calls, err = strconv.Atoi(rest[3]); err != nil || calls < n {
			t.Errorf("Config.Adopt called %q times, want at least %d", rest[3], n)
		}
	}
}

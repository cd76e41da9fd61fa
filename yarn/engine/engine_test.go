package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/yarn"
)

// TestNoReinflation: containers the RM allocated between two heartbeats
// are not asked for again by the second (YARN-1902): the engine sends a
// profile's total only when it changes, so the RM's own count, lowered at
// each allocation, stays in charge, and exactly the target is allocated.
func TestNoReinflation(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 10)}})
	req := h.mustBeat(nil)
	if n, ok := anyAsk(req, 1); !ok || n != 10 {
		t.Fatalf("first heartbeat asks %d (present %v), want 10", n, ok)
	}
	for _, batch := range []int{4, 3, 2, 1} {
		h.rm.schedule(batch) // between heartbeats: allocated, not yet handed over
		req := h.mustBeat(nil)
		if n, ok := anyAsk(req, 1); ok {
			t.Fatalf("a heartbeat after %d unseen allocations sent the total again (%d): the RM would allocate them twice", batch, n)
		}
	}
	h.settle("10 running", func() bool { return h.profile("w").Running == 10 })
	if got := h.rm.allocated[1]; got != 10 {
		t.Errorf("the RM allocated %d containers for a target of 10", got)
	}
	if s := h.e.Status(); s.Excess != 0 || s.Allocated != 10 {
		t.Errorf("status %+v, want 10 allocated and no excess", s)
	}
	if h.rm.asks[1] != 0 {
		t.Errorf("the RM still holds an ask of %d", h.rm.asks[1])
	}
}

// TestRaiseWaitsForOutstanding: a target raised while containers are
// outstanding is not sent until they arrived, since the RM may have
// allocated some that the engine has not seen; a new total would ask for
// those again. Exactly the new target is allocated.
func TestRaiseWaitsForOutstanding(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 4)}})
	h.mustBeat(nil)
	h.rm.schedule(2) // allocated, not yet handed over
	if err := h.e.SetTarget("w", 6); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, ok := anyAsk(h.mustBeat(nil), 1); ok {
			t.Fatalf("raised the total to %d with containers outstanding", n)
		}
	}
	h.rm.schedule(2)
	h.mustBeat(nil)
	var raised []int
	for range 2 {
		if n, ok := anyAsk(h.mustBeat(nil), 1); ok {
			raised = append(raised, n)
		}
	}
	if !slices.Equal(raised, []int{2}) {
		t.Fatalf("raises sent %v, want [2] once the 4 outstanding arrived", raised)
	}
	h.settle("6 running", func() bool { h.rm.schedule(10); return h.profile("w").Running == 6 })
	if got, s := h.rm.allocated[1], h.e.Status(); got != 6 || s.Excess != 0 {
		t.Errorf("allocated %d (excess %d), want exactly 6", got, s.Excess)
	}
}

// TestAsksNeverExceedMissing drives two profiles through random target
// changes, allocations in random batches and containers ending for random
// causes, and checks every ask the engine sends against what the RM knows
// the engine holds: an ask never exceeds target − held. In the end, with
// the targets left alone, the RM holds exactly the targets and no asks.
func TestAsksNeverExceedMissing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := newHarness(t, Config{Profiles: []Profile{small("a", 5), small("b", 3)}, MaxFailures: -1, NodeFailures: -1})
	targets := map[int64][2]int{1: {5, 5}, 2: {3, 3}} // previous and current target by request id
	check := func(req yarn.AllocateRequest) {
		// The request may have been built before the last SetTarget, so
		// either target is allowed.
		for id, tg := range targets {
			n, ok := anyAsk(req, id)
			if !ok {
				continue
			}
			unseen := 0
			for _, c := range h.rm.unpulled {
				if c.AllocationRequestID == id {
					unseen++
				}
			}
			held := h.rm.liveFor(id) - unseen
			if limit := max(tg[0], tg[1]) - held; n > max(limit, 0) {
				t.Fatalf("profile %d: asked %d with %d held and target %v", id, n, held, tg)
			}
		}
	}
	for range 400 {
		switch rng.IntN(6) {
		case 0:
			id := int64(1 + rng.IntN(2))
			n := rng.IntN(12)
			if err := h.e.SetTarget(map[int64]string{1: "a", 2: "b"}[id], n); err != nil {
				t.Fatal(err)
			}
			targets[id] = [2]int{targets[id][1], n}
		case 1:
			if live := h.rm.liveIDs(); len(live) > 0 {
				exit := []int32{0, 1, yarn.ExitPreempted, yarn.ExitKilledExceededPMem, yarn.ExitDisksFailed}[rng.IntN(5)]
				h.rm.finish(live[rng.IntN(len(live))], exit)
			}
		default:
			h.rm.schedule(rng.IntN(5))
		}
		req := h.take()
		h.rm.apply(req)
		check(req)
		h.answer(h.rm.pull())
		for id, tg := range targets {
			targets[id] = [2]int{tg[1], tg[1]}
		}
	}
	want := map[int64]int{1: targets[1][1], 2: targets[2][1]}
	h.settle("the targets", func() bool {
		h.rm.schedule(100)
		return h.rm.liveFor(1) == want[1] && h.rm.liveFor(2) == want[2] && h.rm.asks[1] == 0 && h.rm.asks[2] == 0 &&
			len(h.rm.unpulled) == 0 && h.profile("a").Running == want[1] && h.profile("b").Running == want[2]
	})
	s := h.e.Status()
	t.Logf("allocated %d, excess released %d (allocations racing a changed total)", s.Allocated, s.Excess)
}

// TestExcessReleasedAtOnce: containers beyond the target, or for no
// profile, go back in the very next heartbeat and are counted.
func TestExcessReleasedAtOnce(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}})
	h.mustBeat(nil)
	var extra []yarn.ContainerID
	h.mustBeat(func() {
		h.rm.schedule(2)
		extra = append(extra, h.rm.give(1, h.rm.nodes[0]).ID) // the RM overshoots
		h.rm.shapes[99] = h.rm.shapes[1]
		extra = append(extra, h.rm.give(99, h.rm.nodes[1]).ID) // an id nobody asked with
	})
	req := h.mustBeat(nil)
	if diff := cmp.Diff(extra, req.Release); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	if s := h.e.Status(); s.Excess != 2 || s.Allocated != 4 || s.Profiles[0].Excess != 1 {
		t.Errorf("status %+v, want 4 allocated, 2 excess (1 of profile w)", s)
	}
	h.settle("2 running", func() bool { return h.profile("w").Running == 2 })
}

// TestScaleDownOrder: lowering a target releases containers not yet being
// started first, then those being started, then running ones, newest
// first within each group.
func TestScaleDownOrder(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 6)}, MaxConcurrentStarts: 2})
	hold := make(chan struct{})
	defer close(hold)
	h.nm.mu.Lock()
	h.nm.hold[3], h.nm.hold[4] = hold, hold
	h.nm.mu.Unlock()
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(6) })
	h.settle("1 and 2 running, 3 and 4 starting", func() bool {
		p := h.profile("w")
		return p.Running == 2 && p.Starting == 4 && h.nm.count() == 2
	})
	if err := h.e.SetTarget("w", 1); err != nil {
		t.Fatal(err)
	}
	var released []int64
	for range 3 { // the first request may have been built before SetTarget
		for _, id := range h.mustBeat(nil).Release {
			released = append(released, id.ID)
		}
	}
	if diff := cmp.Diff([]int64{6, 5, 4, 3, 2}, released); diff != "" {
		t.Errorf("release order by container sequence (-want +got):\n%s", diff)
	}
	p := h.profile("w")
	if p.Running != 1 || p.Outstanding != 0 {
		t.Errorf("profile after scale-down: %+v", p)
	}
}

// TestStartFailureReleasesAndAsksAgain: a container the NodeManager
// refuses to start is released and replaced.
func TestStartFailureReleasesAndAsksAgain(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}})
	h.nm.fail = func(c yarn.Container) error {
		if c.ID.ID == 1 {
			return errors.New("scripted refusal")
		}
		return nil
	}
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(2) })
	h.settle("2 running after a replacement", func() bool {
		h.rm.schedule(1)
		return h.profile("w").Running == 2
	})
	if got := h.rm.allocated[1]; got != 3 {
		t.Errorf("the RM allocated %d containers, want 3 (2 + 1 replacement)", got)
	}
	if !slices.ContainsFunc(h.rm.released, func(id yarn.ContainerID) bool { return id.ID == 1 }) {
		t.Errorf("container 1 was not released; released %v", h.rm.released)
	}
	h.eventually("OnStartFailed called for container 1", func() bool {
		return len(h.startFails) == 1 && h.startFails[0].ID == 1
	})
	if p := h.profile("w"); p.StartFailed != 1 || p.Failed != 1 {
		t.Errorf("profile %+v, want one failed start counted", p)
	}
}

// TestBudget: containers the cluster takes away (preempted, aborted) never
// count; the application's own failures do, and the third ends Run with a
// BudgetError naming the budget.
func TestBudget(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}, MaxFailures: 3, NodeFailures: -1})
	h.mustBeat(nil)
	endAll := func(exit int32) {
		h.rm.schedule(10)
		h.mustBeat(nil)
		for _, id := range h.rm.liveIDs() {
			h.rm.finish(id, exit)
		}
	}
	for range 3 {
		endAll(yarn.ExitPreempted)
		endAll(yarn.ExitAborted)
	}
	h.mustBeat(nil)
	if p := h.profile("w"); p.Failed != 0 {
		t.Fatalf("preemptions counted as failures: %+v", p)
	}
	var err error
	for range 10 {
		h.rm.schedule(10)
		if _, err = h.beat(nil); err != nil {
			break
		}
		for _, id := range h.rm.liveIDs() {
			h.rm.finish(id, 7)
		}
	}
	err = h.runErr()
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("Run returned %v, want a BudgetError", err)
	}
	if be.MaxFailures != 3 || len(be.Failures) != 3 {
		t.Errorf("budget error %+v", be)
	}
	for _, want := range []string{"failure budget exhausted", "MaxFailures 3", "exit status 7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestBudgetWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := budget{max: 3, validity: time.Minute}
	for _, at := range []time.Duration{0, 10 * time.Second, 70 * time.Second, 75 * time.Second} {
		if err := b.add(Failure{At: t0.Add(at)}, 0); err != nil {
			t.Fatalf("failure at +%s exhausted a budget of 3 per minute: %v", at, err)
		}
	}
	if err := b.add(Failure{At: t0.Add(80 * time.Second)}, 0); err == nil {
		t.Fatal("three failures within a minute did not exhaust the budget")
	}
	derived := budget{}
	for i := range 4 {
		err := derived.add(Failure{At: t0}, 5)
		if (err != nil) != false {
			t.Fatalf("failure %d exhausted a derived budget of 5: %v", i+1, err)
		}
	}
	if err := derived.add(Failure{At: t0}, 5); err == nil {
		t.Fatal("the fifth failure did not exhaust a derived budget of 5")
	}
	unlimited := budget{max: -1}
	for range 100 {
		if err := unlimited.add(Failure{At: t0}, 3); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		exit   int32
		cause  Cause
		counts bool
	}{
		{0, CauseSucceeded, false},
		{1, CauseFailed, true},
		{137, CauseFailed, true},
		{yarn.ExitInvalid, CauseFailed, true},
		{yarn.ExitAborted, CauseAborted, false},
		{yarn.ExitDisksFailed, CauseDisksFailed, false},
		{yarn.ExitPreempted, CausePreempted, false},
		{yarn.ExitKilledExceededVMem, CauseExceededMemory, true},
		{yarn.ExitKilledExceededPMem, CauseExceededMemory, true},
		{yarn.ExitKilledByAppMaster, CauseKilledByAppMaster, false},
		{yarn.ExitKilledByResourceManager, CauseKilledByResourceManager, false},
		{yarn.ExitKilledAfterAppCompletion, CauseKilledAfterAppCompletion, false},
		{yarn.ExitKilledByContainerScheduler, CauseKilledByContainerScheduler, false},
		{yarn.ExitKilledForExcessLogs, CauseExcessLogs, true},
	} {
		c := Classify(tc.exit)
		if c != tc.cause || c.CountsAgainstBudget() != tc.counts {
			t.Errorf("exit %d: %s (counts %v), want %s (counts %v)", tc.exit, c, c.CountsAgainstBudget(), tc.cause, tc.counts)
		}
	}
}

func TestExclusions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	x := newExclusions(2, time.Minute, time.Hour, 0.5)
	for i, h := range []string{"h1", "h2", "h3", "h4"} {
		x.seen(yarn.NodeID{Host: h, Port: int32(i)})
	}
	if x.fail("h1", t0, 4) {
		t.Fatal("excluded after one failure")
	}
	if x.fail("h2", t0.Add(2*time.Minute), 4) || x.fail("h2", t0.Add(4*time.Minute), 4) {
		t.Fatal("failures two minutes apart excluded a host with a one-minute window")
	}
	if !x.fail("h1", t0.Add(30*time.Second), 4) {
		t.Fatal("two failures within the window did not exclude h1")
	}
	if !x.fail("h2", t0.Add(4*time.Minute+time.Second), 4) {
		t.Fatal("h2 not excluded")
	}
	x.fail("h3", t0.Add(5*time.Minute), 4)
	if x.fail("h3", t0.Add(5*time.Minute), 4) {
		t.Fatal("h3 excluded: 3 of 4 nodes is more than half the cluster")
	}
	adds, removes := x.take()
	if diff := cmp.Diff([]string{"h1", "h2"}, adds); diff != "" || removes != nil {
		t.Fatalf("blacklist changes: adds (-want +got) %s, removes %v", diff, removes)
	}
	if back := x.readmit(t0.Add(61 * time.Minute)); !slices.Equal(back, []string{"h1"}) {
		t.Fatalf("readmitted %v after an hour, want h1", back)
	}
	if _, removes := x.take(); !slices.Equal(removes, []string{"h1"}) {
		t.Fatalf("removals %v", removes)
	}
	// Two NodeManagers on one host are two nodes of the cluster.
	y := newExclusions(1, time.Minute, time.Hour, 0.5)
	y.seen(yarn.NodeID{Host: "localhost", Port: 1})
	y.seen(yarn.NodeID{Host: "localhost", Port: 2})
	if y.fail("localhost", t0, 2) {
		t.Fatal("excluded the host of every NodeManager of the cluster")
	}
}

// TestExclusionThroughBlacklist: a host where containers keep failing is
// put on the RM's blacklist, no longer gets containers, and comes back
// after the timeout.
func TestExclusionThroughBlacklist(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 4)}, MaxFailures: -1, NodeFailures: 2,
		ExclusionTimeout: 30 * time.Minute}, "h1", "h2", "h3", "h4")
	h.mustBeat(nil)
	var adds []string
	for range 20 {
		h.rm.schedule(10)
		req := h.mustBeat(nil)
		adds = append(adds, req.BlacklistAdditions...)
		if len(adds) > 0 {
			break
		}
		for _, id := range h.rm.liveIDs() {
			if h.nodeOf(id) == "h1" {
				h.rm.finish(id, 1)
			}
		}
	}
	if !slices.Equal(adds, []string{"h1"}) {
		t.Fatalf("blacklist additions %v, want [h1]", adds)
	}
	h.rm.schedule(10)
	h.settle("4 running", func() bool { h.rm.schedule(10); return h.profile("w").Running == 4 })
	for id := range h.rm.live {
		if h.nodeOf(id) == "h1" {
			t.Errorf("container %s on the excluded host", id)
		}
	}
	if got := h.e.Status().Excluded; !slices.Equal(got, []string{"h1"}) {
		t.Errorf("Status.Excluded %v", got)
	}
	h.clock.advance(31 * time.Minute)
	var removed []string
	for range 2 { // the first request may have been built before the clock moved
		removed = append(removed, h.mustBeat(nil).BlacklistRemovals...)
	}
	if !slices.Equal(removed, []string{"h1"}) {
		t.Errorf("after the timeout the heartbeats removed %v, want [h1]", removed)
	}
}

// nodeOf returns the host of a container the fake RM allocated.
func (h *harness) nodeOf(id yarn.ContainerID) string {
	for _, c := range h.rm.all {
		if c.ID == id {
			return c.NodeID.Host
		}
	}
	return ""
}

// TestHeartbeatFastSlow: heartbeats come at the fast interval while asks
// are outstanding and at the slow one once the target runs.
func TestHeartbeatFastSlow(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}, FastHeartbeat: 100 * time.Millisecond,
		SlowHeartbeat: 5 * time.Second})
	h.mustBeat(nil)
	h.mustBeat(nil) // nothing allocated yet
	if d := h.clock.lastInterval(); d != 100*time.Millisecond {
		t.Errorf("interval with 2 outstanding: %s, want the fast 100ms", d)
	}
	h.mustBeat(func() { h.rm.schedule(2) })
	h.settle("2 running", func() bool { return h.profile("w").Running == 2 })
	h.mustBeat(nil)
	h.mustBeat(nil)
	if d := h.clock.lastInterval(); d != 5*time.Second {
		t.Errorf("interval with the target running: %s, want the slow 5s", d)
	}
	if err := h.e.SetTarget("w", 3); err != nil {
		t.Fatal(err)
	}
	req := h.mustBeat(nil)
	req = h.mustBeat(nil)
	if d := h.clock.lastInterval(); d != 100*time.Millisecond {
		t.Errorf("interval after raising the target: %s, want the fast 100ms (last request %+v)", d, req.Asks)
	}
	h.mustBeat(func() { h.rm.schedule(1) })
	h.settle("3 running", func() bool { return h.profile("w").Running == 3 })
	h.mustBeat(nil)
	if d := h.clock.lastInterval(); d != 5*time.Second {
		t.Errorf("interval with 3 running: %s, want the slow 5s", d)
	}
	if err := h.e.SetTarget("w", 1); err != nil {
		t.Fatal(err)
	}
	for req = h.take(); len(req.Release) == 0; req = h.take() {
		h.rm.apply(req)
		h.answer(h.rm.pull())
	}
	h.rm.apply(req)
	h.answer(yarn.AllocateResponse{}) // the completions come later
	h.take()
	if d := h.clock.lastInterval(); d != 100*time.Millisecond {
		t.Errorf("interval with releases not yet seen ended: %s, want the fast 100ms", d)
	}
	h.answer(h.rm.pull())
	h.mustBeat(nil)
	h.mustBeat(nil)
	if d := h.clock.lastInterval(); d != 5*time.Second {
		t.Errorf("interval once the released containers ended: %s, want the slow 5s", d)
	}
}

// TestResyncResendsEverything: after the RM forgot the attempt, the next
// heartbeat carries every profile's total, the whole blacklist and the
// releases not yet seen completed.
func TestResyncResendsEverything(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2), small("idle", 0)}, MaxFailures: -1, NodeFailures: 1},
		"h1", "h2", "h3", "h4")
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(2) })
	h.settle("2 running", func() bool { return h.profile("w").Running == 2 })
	first := h.rm.liveIDs()[0] // on h1
	h.rm.finish(first, 1)
	var extra yarn.ContainerID
	h.mustBeat(func() { extra = h.rm.give(1, h.rm.nodes[2]).ID })
	req := h.take()
	if n, _ := anyAsk(req, 1); n != 1 || !slices.Equal(req.BlacklistAdditions, []string{"h1"}) || !slices.Equal(req.Release, []yarn.ContainerID{extra}) {
		t.Fatalf("before the resync: asks %+v, blacklist %v, release %v", req.Asks, req.BlacklistAdditions, req.Release)
	}
	h.answer(yarn.AllocateResponse{Command: yarn.AMResync})
	req = h.take()
	if n, ok := anyAsk(req, 1); !ok || n != 1 {
		t.Errorf("after the resync the ask for w is %d (sent %v), want 1", n, ok)
	}
	if n, ok := anyAsk(req, 2); !ok || n != 0 {
		t.Errorf("after the resync the ask for idle is %d (sent %v), want 0 resent", n, ok)
	}
	if !slices.Equal(req.BlacklistAdditions, []string{"h1"}) {
		t.Errorf("after the resync the blacklist sent is %v, want [h1]", req.BlacklistAdditions)
	}
	if !slices.Equal(req.Release, []yarn.ContainerID{extra}) {
		t.Errorf("after the resync the releases sent are %v, want %v", req.Release, extra)
	}
	h.answer(yarn.AllocateResponse{})
	h.eventually("OnResync called", func() bool { return h.resyncs == 1 })
}

func TestPreemptionReachesCaller(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 1)}})
	h.take()
	msg := yarn.PreemptionMessage{Strict: []yarn.ContainerID{{ID: 5}}}
	h.answer(yarn.AllocateResponse{Preemption: &msg})
	h.settle("preemption delivered", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.preemptions) == 1
	})
	if diff := cmp.Diff(msg, h.preemptions[0]); diff != "" {
		t.Error(diff)
	}
}

// TestRunOnce: a RunOnce profile's containers that exit 0 are not
// replaced; a failed one is; Run returns nil when all succeeded.
func TestRunOnce(t *testing.T) {
	p := small("batch", 3)
	p.RunOnce = true
	h := newHarness(t, Config{Profiles: []Profile{p}})
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(3) })
	h.settle("3 running", func() bool { return h.profile("batch").Running == 3 })
	ids := h.rm.liveIDs()
	h.rm.finish(ids[0], 0)
	h.rm.finish(ids[1], 2)
	h.rm.finish(ids[2], 0)
	h.mustBeat(nil)
	req := h.mustBeat(nil)
	if n, _ := anyAsk(req, 1); n != 1 {
		t.Fatalf("asks %+v, want 1 replacement for the failed container", req.Asks)
	}
	h.mustBeat(func() { h.rm.schedule(1) })
	h.settle("the replacement running", func() bool { return h.profile("batch").Running == 1 })
	h.rm.finish(h.rm.liveIDs()[0], 0)
	if err := h.runErr(); err != nil {
		t.Fatalf("Run returned %v, want nil once the batch succeeded", err)
	}
	if got := h.rm.allocated[1]; got != 4 {
		t.Errorf("allocated %d, want 4", got)
	}
}

func TestProfileRows(t *testing.T) {
	p := Profile{Name: "gpu", Resource: yarn.Resource{MemoryMB: 512, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1}},
		Priority: 3, Nodes: []string{"h1", "h1"}, Racks: []string{"/r2"}, StrictLocality: true,
		ExecutionType: yarn.ExecutionOpportunistic, EnforceExecutionType: true}
	rows := p.rows(7, 4, func(h string) string { return "/r1" })
	base := yarn.ResourceRequest{Priority: 3, Resource: p.Resource, NumContainers: 4, ExecutionType: yarn.ExecutionOpportunistic,
		EnforceExecutionType: true, AllocationRequestID: 7}
	want := []yarn.ResourceRequest{base, base, base, base}
	want[0].ResourceName = "h1"
	want[1].ResourceName = "/r2"                               // named: a place containers may go, so relaxed
	want[2].ResourceName, want[2].StrictLocality = "/r1", true // inferred from h1
	want[3].ResourceName, want[3].StrictLocality = "*", true
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// A rack named alone, strictly: the rack relaxes, ANY does not (a
	// strict rack row would never be served).
	rackOnly := Profile{Name: "r", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Racks: []string{"/r2"}, StrictLocality: true}
	rows = rackOnly.rows(2, 1, nil)
	if len(rows) != 2 || rows[0].ResourceName != "/r2" || rows[0].StrictLocality || rows[1].ResourceName != "*" || !rows[1].StrictLocality {
		t.Errorf("rack-only strict rows %+v, want a relaxed /r2 row and a strict ANY row", rows)
	}
	labeled := Profile{Name: "l", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NodeLabel: "gpu", StrictLocality: true}
	rows = labeled.rows(1, 2, nil)
	if len(rows) != 1 || rows[0].NodeLabel != "gpu" || rows[0].StrictLocality || rows[0].ResourceName != "*" {
		t.Errorf("labelled rows %+v, want one relaxed ANY row with the label", rows)
	}
	labeled.Nodes = []string{"h1"}
	if err := labeled.validate(); err == nil {
		t.Error("a node label with nodes was accepted")
	}
}

// TestMatchWithoutID: without an allocation request id a container goes
// to the profile that named its node, else one that still misses
// containers.
func TestMatchWithoutID(t *testing.T) {
	local := small("local", 1)
	local.Nodes = []string{"h2"}
	e, err := New(Config{AM: newFakeRM(t), NM: &fakeNM{}, LaunchContext: func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
		return yarn.ContainerLaunchContext{}, nil
	}, Profiles: []Profile{small("any", 1), local, {Name: "big", Resource: yarn.Resource{MemoryMB: 4096, VCores: 1}, Priority: 1, Target: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	c := yarn.Container{NodeID: yarn.NodeID{Host: "h2"}, Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, AllocationRequestID: -1}
	if p := e.match(c); p == nil || p.Name != "local" {
		t.Errorf("container on h2 matched %v, want local", p)
	}
	c.NodeID.Host = "h9"
	if p := e.match(c); p == nil || p.Name != "any" {
		t.Errorf("container on h9 matched %v, want any (first that fits)", p)
	}
	c.Priority = 2
	if p := e.match(c); p != nil {
		t.Errorf("container of another priority matched %s", p.Name)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, Config{Profiles: []Profile{small("w", 3)}, Registerer: reg})
	h.mustBeat(nil)
	h.clock.advance(1500 * time.Millisecond)
	h.mustBeat(func() { h.rm.schedule(3) })
	h.settle("3 running", func() bool { return h.profile("w").Running == 3 })
	h.rm.finish(h.rm.liveIDs()[0], yarn.ExitPreempted)
	h.mustBeat(nil)
	h.mustBeat(nil)
	got := gather(t, reg)
	for name, want := range map[string]float64{
		"spindle_engine_containers_allocated_total":                3,
		`spindle_engine_containers_running{profile="w"}`:           2,
		`spindle_engine_containers_outstanding{profile="w"}`:       1,
		`spindle_engine_containers_ended_total{cause="preempted"}`: 1,
		"spindle_engine_allocation_latency_seconds_count":          3,
		"spindle_engine_allocation_latency_seconds_sum":            4.5,
		"spindle_engine_nodes_excluded":                            0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

// gather flattens a registry's metrics into name{labels} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func TestNewRefusesBadConfig(t *testing.T) {
	lc := func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
		return yarn.ContainerLaunchContext{}, nil
	}
	ok := Config{AM: newFakeRM(t), NM: &fakeNM{}, LaunchContext: lc}
	for name, mod := range map[string]func(*Config){
		"no AM":            func(c *Config) { c.AM = nil },
		"no NM":            func(c *Config) { c.NM = nil },
		"no launch":        func(c *Config) { c.LaunchContext = nil },
		"fraction":         func(c *Config) { c.MaxExcludedFraction = 2 },
		"duplicate":        func(c *Config) { c.Profiles = []Profile{small("a", 1), small("a", 2)} },
		"no memory":        func(c *Config) { c.Profiles = []Profile{{Name: "a", Resource: yarn.Resource{VCores: 1}}} },
		"negative target":  func(c *Config) { c.Profiles = []Profile{small("a", -1)} },
		"negative timeout": func(c *Config) { c.ExclusionTimeout = -time.Second },
		"too big": func(c *Config) {
			c.MaxCapability = yarn.Resource{MemoryMB: 8192, VCores: 4, Custom: map[string]int64{"yarn.io/gpu": 1}}
			c.Profiles = []Profile{{Name: "a", Resource: yarn.Resource{MemoryMB: 1024, VCores: 1, Custom: map[string]int64{"yarn.io/gpu": 2}}}}
		},
		"too much memory": func(c *Config) {
			c.MaxCapability = yarn.Resource{MemoryMB: 8192, VCores: 4}
			c.Profiles = []Profile{{Name: "a", Resource: yarn.Resource{MemoryMB: 8193, VCores: 1}}}
		},
	} {
		cfg := ok
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	e, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetTarget("nope", 1); err == nil {
		t.Error("SetTarget of an unknown profile accepted")
	}
	if err := e.Run(canceled(), Callbacks{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a canceled context: %v", err)
	}
	if err := e.Run(context.Background(), Callbacks{}); err == nil {
		t.Error("a second Run was accepted")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestRaiseAfterDrift: when outstanding containers never arrive (the RM's
// count and the engine's drifted apart), a deferred raise goes out after
// ten slow heartbeats all the same.
func TestRaiseAfterDrift(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}, SlowHeartbeat: time.Second})
	h.mustBeat(nil)
	h.rm.asks[1] = 0 // the RM forgot the ask without telling
	if err := h.e.SetTarget("w", 3); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if n, ok := anyAsk(h.mustBeat(nil), 1); ok {
			t.Fatalf("raised to %d at once with 2 outstanding", n)
		}
	}
	h.clock.advance(11 * time.Second)
	var raised []int
	for range 2 {
		if n, ok := anyAsk(h.mustBeat(nil), 1); ok {
			raised = append(raised, n)
		}
	}
	if !slices.Equal(raised, []int{3}) {
		t.Fatalf("after ten slow heartbeats without an allocation the raises sent are %v, want [3]", raised)
	}
}

// TestRelease: the caller releases a container of its choice; the target
// drops with it, so nothing replaces it.
func TestRelease(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 3)}})
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(3) })
	h.settle("3 running", func() bool { return h.profile("w").Running == 3 })
	victim := h.rm.liveIDs()[1]
	if err := h.e.Release(victim); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Release(victim); err == nil {
		t.Error("a container released twice")
	}
	var released []yarn.ContainerID
	for range 3 {
		req := h.mustBeat(nil)
		released = append(released, req.Release...)
		if n, ok := anyAsk(req, 1); ok && n > 0 {
			t.Errorf("asked for %d after the caller's release", n)
		}
	}
	if !slices.Equal(released, []yarn.ContainerID{victim}) {
		t.Errorf("released %v, want %v", released, victim)
	}
	if p := h.profile("w"); p.Target != 2 || p.Running != 2 || p.Releasing != 0 {
		t.Errorf("profile %+v, want target 2 and 2 running", p)
	}
}

// TestAdopt: containers of an earlier attempt count toward their
// profile's target (so only the rest is asked for), a container no
// profile claims is released, and a container reported again after
// registration is not counted twice.
func TestAdopt(t *testing.T) {
	prev := yarn.ApplicationAttemptID{Application: yarn.ApplicationID{ClusterTimestamp: 1700000000000, ID: 1}, Attempt: 1}
	old := func(seq, reqID int64) yarn.Container {
		return yarn.Container{ID: yarn.ContainerID{Attempt: prev, ID: 1000 + seq}, NodeID: yarn.NodeID{Host: "h1", Port: 8041},
			Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, AllocationRequestID: reqID}
	}
	h := newHarnessSetup(t, Config{Profiles: []Profile{small("w", 3)}}, func(e *Engine) {
		if kept := e.Adopt([]yarn.Container{old(1, 1), old(2, 1), old(3, 7)}); kept != 2 {
			t.Errorf("kept %d, want 2", kept)
		}
	})
	req := h.take()
	if n, _ := anyAsk(req, 1); n != 1 || !slices.Equal(req.Release, []yarn.ContainerID{old(3, 7).ID}) {
		t.Fatalf("first heartbeat asks %+v and releases %v; want 1 asked and the unclaimed container released", req.Asks, req.Release)
	}
	h.rm.apply(req)
	resp := h.rm.pull()
	resp.ContainersFromPreviousAttempts = []yarn.Container{old(1, 1)} // reported again
	h.answer(resp)
	h.settle("3 running", func() bool { h.rm.schedule(5); return h.profile("w").Running == 3 })
	if p := h.profile("w"); p.Adopted != 2 || p.Allocated != 1 || h.rm.allocated[1] != 1 {
		t.Errorf("profile %+v, RM allocated %d; want 2 adopted and 1 allocated", p, h.rm.allocated[1])
	}
}

// TestAdoptDecides: Config.Adopt picks each surviving container's profile
// or refuses it; it may call the engine's methods.
func TestAdoptDecides(t *testing.T) {
	var e *Engine
	prev := yarn.ApplicationAttemptID{Application: yarn.ApplicationID{ClusterTimestamp: 1700000000000, ID: 1}, Attempt: 1}
	cfg := Config{Profiles: []Profile{small("a", 2), small("b", 2)}, Adopt: func(c yarn.Container) (string, bool) {
		e.Status() // would deadlock if called with the engine locked
		switch c.ID.ID {
		case 1:
			return "b", true
		case 2:
			return "nope", true // no such profile: released
		}
		return "", false
	}}
	h := newHarnessSetup(t, cfg, func(en *Engine) {
		e = en
		cs := []yarn.Container{{ID: yarn.ContainerID{Attempt: prev, ID: 1}}, {ID: yarn.ContainerID{Attempt: prev, ID: 2}},
			{ID: yarn.ContainerID{Attempt: prev, ID: 3}}}
		if kept := en.Adopt(cs); kept != 1 {
			t.Errorf("kept %d, want 1", kept)
		}
	})
	req := h.take()
	if a, _ := anyAsk(req, 1); a != 2 {
		t.Errorf("asked %d for a, want 2", a)
	}
	if b, _ := anyAsk(req, 2); b != 1 {
		t.Errorf("asked %d for b, want 1 (one adopted)", b)
	}
	if len(req.Release) != 2 {
		t.Errorf("released %v, want the two refused", req.Release)
	}
	h.answer(yarn.AllocateResponse{})
}

// TestRunLeavesNoGoroutines: when Run returns, its start calls (even one
// stuck in a NodeManager) and its dispatcher have ended.
func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHarness(t, Config{Profiles: []Profile{small("w", 4)}})
	stuck := make(chan struct{}) // never closed: the start ends with Run's context
	h.nm.mu.Lock()
	h.nm.hold[2] = stuck
	h.nm.mu.Unlock()
	h.mustBeat(nil)
	h.mustBeat(func() { h.rm.schedule(4) })
	h.settle("3 running, 1 stuck starting", func() bool { p := h.profile("w"); return p.Running == 3 && p.Starting == 1 })
	h.stop()
	if err := <-h.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	h.done <- nil // for the cleanup
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Run returned:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRefusedStartsExcludeNode: a NodeManager that refuses every start is
// excluded after NodeFailures refusals; the work lands elsewhere. A
// launch context the caller fails to build blames no node.
func TestRefusedStartsExcludeNode(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 6)}, MaxFailures: -1, NodeFailures: 2}, "h1", "h2", "h3", "h4")
	h.nm.fail = func(c yarn.Container) error {
		if c.NodeID.Host == "h1" {
			return errors.New("scripted: NodeManager on h1 refuses")
		}
		return nil
	}
	h.settle("6 running off h1", func() bool {
		h.rm.schedule(1) // one at a time, round robin: h1 comes up again and again
		return h.profile("w").Running == 6 && slices.Equal(h.e.Status().Excluded, []string{"h1"})
	})
	if !h.rm.blacklist["h1"] {
		t.Error("h1 is not on the RM's blacklist")
	}
	if p := h.profile("w"); p.StartFailed != 2 {
		t.Errorf("profile %+v, want 2 refused starts before the exclusion", p)
	}

	bad := newHarness(t, Config{Profiles: []Profile{small("w", 1)}, MaxFailures: 3, NodeFailures: 1,
		LaunchContext: func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
			return yarn.ContainerLaunchContext{}, errors.New("scripted: no launch context")
		}}, "h1", "h2", "h3", "h4")
	for {
		bad.rm.schedule(1)
		if _, err := bad.beat(nil); err != nil {
			break
		}
	}
	err := bad.runErr()
	if !errors.Is(err, ErrBudgetExhausted) || !strings.Contains(err.Error(), "launch context") {
		t.Errorf("Run returned %v, want the budget exhausted by launch context failures", err)
	}
	if ex := bad.e.Status().Excluded; len(ex) != 0 {
		t.Errorf("hosts %v excluded for the caller's launch context failures", ex)
	}
}

// TestRunEnds: Run returns ErrShutdown when the RM orders a shutdown, and
// a heartbeat's error, wrapped, when the AMClient gives up (at once with
// HeartbeatRetryFor negative; TestHeartbeatRetried for the default).
func TestRunEnds(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 1)}})
	h.take()
	h.answer(yarn.AllocateResponse{Command: yarn.AMShutdown})
	if err := h.runErr(); !errors.Is(err, ErrShutdown) {
		t.Errorf("after AM_SHUTDOWN Run returned %v", err)
	}

	h = newHarness(t, Config{Profiles: []Profile{small("w", 1)}, HeartbeatRetryFor: -1})
	h.take()
	boom := &yarn.OpError{Op: "allocate", Err: yarn.ErrNoActiveResourceManager}
	h.rm.resps <- fakeAnswer{err: boom}
	err := h.runErr()
	if !errors.Is(err, yarn.ErrNoActiveResourceManager) || !strings.Contains(err.Error(), "engine: heartbeat") {
		t.Errorf("after a failed heartbeat Run returned %v", err)
	}
}

// TestHeartbeatRetried: a heartbeat the RM answers with an error (as one
// going standby mid-call does) is sent again, backing off, and the engine
// goes on when one succeeds; failing for HeartbeatRetryFor ends Run with
// the error.
func TestHeartbeatRetried(t *testing.T) {
	h := newHarness(t, Config{Profiles: []Profile{small("w", 2)}, HeartbeatRetryFor: 30 * time.Second})
	h.take()
	boom := &yarn.OpError{Op: "allocate", Err: errors.New("YarnRuntimeException: java.lang.InterruptedException")}
	h.rm.resps <- fakeAnswer{err: boom}
	h.clock.advance(time.Second)
	req := h.take() // sent again
	if n := req.Asks; len(n) == 0 {
		t.Fatalf("the retried heartbeat asks for nothing: %+v", req)
	}
	h.rm.apply(req)
	h.answer(h.rm.pull())
	h.rm.schedule(2)
	h.mustBeat(nil)
	h.settle("2 running", func() bool { return h.profile("w").Running == 2 })

	// Failing for longer than HeartbeatRetryFor ends Run.
	h.take()
	h.rm.resps <- fakeAnswer{err: boom}
	for i := 0; ; i++ {
		h.clock.advance(10 * time.Second)
		select {
		case err := <-h.done:
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), "engine: heartbeat") {
				t.Fatalf("Run returned %v", err)
			}
			h.done <- err
			return
		case <-h.rm.reqs:
			h.rm.resps <- fakeAnswer{err: boom}
		case <-time.After(10 * time.Second):
			t.Fatal("no heartbeat and no end")
		}
		if i > 10 {
			t.Fatal("Run kept retrying past HeartbeatRetryFor")
		}
	}
}

package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// fakeRM is a scripted ResourceManager with YARN's ask semantics: an ask
// row replaces the outstanding count of its allocation request id; the
// scheduler (schedule, run by the test between heartbeats, as NodeManager
// heartbeats run between AM heartbeats) lowers that count with each
// container it allocates; an allocate applies the asks first and then
// hands over the containers allocated since the last one, as the RM does.
//
// Allocate hands each request to the test and waits for the test's
// answer, so a test runs the engine heartbeat by heartbeat.
type fakeRM struct {
	t      testing.TB
	reqs   chan yarn.AllocateRequest
	resps  chan fakeAnswer
	app    yarn.ApplicationAttemptID
	nodes  []yarn.NodeID
	asks   map[int64]int
	shapes map[int64]yarn.ResourceRequest
	// live are containers allocated and neither released nor completed,
	// by allocation request id.
	live      map[yarn.ContainerID]int64
	unpulled  []yarn.Container
	completed []yarn.ContainerStatus
	blacklist map[string]bool
	seq       int64
	// allocated counts all containers ever allocated, by request id.
	allocated map[int64]int
	// spread are the request ids under node anti-affinity to themselves.
	spread   map[int64]bool
	released []yarn.ContainerID
	all      []yarn.Container
	nextNode int
}

type fakeAnswer struct {
	resp yarn.AllocateResponse
	err  error
}

func newFakeRM(t testing.TB, nodes ...string) *fakeRM {
	rm := &fakeRM{t: t, reqs: make(chan yarn.AllocateRequest), resps: make(chan fakeAnswer),
		app:  yarn.ApplicationAttemptID{Application: yarn.ApplicationID{ClusterTimestamp: 1700000000000, ID: 1}, Attempt: 1},
		asks: map[int64]int{}, shapes: map[int64]yarn.ResourceRequest{}, live: map[yarn.ContainerID]int64{},
		blacklist: map[string]bool{}, allocated: map[int64]int{}, spread: map[int64]bool{}}
	if len(nodes) == 0 {
		nodes = []string{"h1", "h2"}
	}
	for i, h := range nodes {
		rm.nodes = append(rm.nodes, yarn.NodeID{Host: h, Port: int32(8041 + i)})
	}
	return rm
}

func (rm *fakeRM) Allocate(ctx context.Context, req yarn.AllocateRequest) (yarn.AllocateResponse, error) {
	select {
	case rm.reqs <- req:
	case <-ctx.Done():
		return yarn.AllocateResponse{}, ctx.Err()
	}
	select {
	case a := <-rm.resps:
		return a.resp, a.err
	case <-ctx.Done():
		return yarn.AllocateResponse{}, ctx.Err()
	}
}

// apply takes in a request as the RM does: asks replace counts, releases
// end containers (reported at the next pull), blacklist deltas apply.
func (rm *fakeRM) apply(req yarn.AllocateRequest) {
	for _, a := range req.Asks {
		if a.ResourceName == yarn.AnyResourceName {
			rm.asks[a.AllocationRequestID] = int(a.NumContainers)
			rm.shapes[a.AllocationRequestID] = a
		}
	}
	for _, r := range req.SchedulingRequests {
		// As the "scheduler" placement-constraint handler: a total too.
		rm.asks[r.AllocationRequestID] = int(r.NumAllocations)
		rm.shapes[r.AllocationRequestID] = yarn.ResourceRequest{Priority: r.Priority, Resource: r.Resource,
			ExecutionType: r.ExecutionType, AllocationRequestID: r.AllocationRequestID}
		if c := r.Constraint; c != nil && c.Scope == yarn.ScopeNode && c.MaxCardinality == 0 {
			rm.spread[r.AllocationRequestID] = true
		}
	}
	for _, id := range req.Release {
		rm.released = append(rm.released, id)
		if _, ok := rm.live[id]; ok {
			delete(rm.live, id)
			rm.completed = append(rm.completed, yarn.ContainerStatus{ID: id, State: yarn.ContainerComplete,
				ExitStatus: yarn.ExitAborted, Diagnostics: "Container released by application"})
		}
	}
	for _, h := range req.BlacklistAdditions {
		rm.blacklist[h] = true
	}
	for _, h := range req.BlacklistRemovals {
		delete(rm.blacklist, h)
	}
}

// schedule allocates up to n containers for the outstanding asks, lowest
// request id first, on nodes not blacklisted, round robin.
func (rm *fakeRM) schedule(n int) int {
	done := 0
	ids := make([]int64, 0, len(rm.asks))
	for id := range rm.asks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for rm.asks[id] > 0 && done < n {
			node, ok := rm.pickNode(id)
			if !ok {
				break
			}
			rm.asks[id]--
			rm.give(id, node)
			done++
		}
	}
	return done
}

// give allocates one container for request id on node, whether asked
// or not.
func (rm *fakeRM) give(id int64, node yarn.NodeID) yarn.Container {
	rm.seq++
	s := rm.shapes[id]
	c := yarn.Container{ID: yarn.ContainerID{Attempt: rm.app, ID: rm.seq}, NodeID: node, Resource: s.Resource,
		Priority: s.Priority, ExecutionType: s.ExecutionType, AllocationRequestID: id, Token: &yarn.Token{}}
	rm.live[c.ID] = id
	rm.allocated[id]++
	rm.unpulled = append(rm.unpulled, c)
	rm.all = append(rm.all, c)
	return c
}

// pickNode picks a node for request id: round robin over the nodes not
// blacklisted and, for a request under anti-affinity, holding none of
// its containers.
func (rm *fakeRM) pickNode(id int64) (yarn.NodeID, bool) {
	taken := map[yarn.NodeID]bool{}
	if rm.spread[id] {
		for _, c := range rm.all {
			if _, live := rm.live[c.ID]; live && c.AllocationRequestID == id {
				taken[c.NodeID] = true
			}
		}
	}
	for range rm.nodes {
		n := rm.nodes[rm.nextNode%len(rm.nodes)]
		rm.nextNode++
		if !rm.blacklist[n.Host] && !taken[n] {
			return n, true
		}
	}
	return yarn.NodeID{}, false
}

// finish ends a live container with an exit status (reported at the next
// pull).
func (rm *fakeRM) finish(id yarn.ContainerID, exit int32) {
	if _, ok := rm.live[id]; !ok {
		rm.t.Fatalf("finish: container %s is not live", id)
	}
	delete(rm.live, id)
	rm.completed = append(rm.completed, yarn.ContainerStatus{ID: id, State: yarn.ContainerComplete, ExitStatus: exit,
		Diagnostics: "scripted"})
}

func (rm *fakeRM) pull() yarn.AllocateResponse {
	resp := yarn.AllocateResponse{Allocated: rm.unpulled, Completed: rm.completed, NumClusterNodes: int32(len(rm.nodes))}
	rm.unpulled, rm.completed = nil, nil
	return resp
}

// liveFor counts the RM's live containers of one request id.
func (rm *fakeRM) liveFor(id int64) int {
	n := 0
	for _, v := range rm.live {
		if v == id {
			n++
		}
	}
	return n
}

func (rm *fakeRM) liveIDs() []yarn.ContainerID {
	var out []yarn.ContainerID
	for id := range rm.live {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b yarn.ContainerID) int { return int(a.ID - b.ID) })
	return out
}

// fakeNM starts containers instantly unless told to fail or hold them.
type fakeNM struct {
	mu      sync.Mutex
	fail    func(yarn.Container) error
	hold    map[int64]chan struct{} // container sequence → released by closing
	started []yarn.ContainerID
}

func (nm *fakeNM) Start(ctx context.Context, c yarn.Container, clc yarn.ContainerLaunchContext) error {
	nm.mu.Lock()
	ch := nm.hold[c.ID.ID]
	fail := nm.fail
	nm.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(c); err != nil {
			return err
		}
	}
	nm.mu.Lock()
	nm.started = append(nm.started, c.ID)
	nm.mu.Unlock()
	return nil
}

func (nm *fakeNM) count() int {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	return len(nm.started)
}

// fakeClock's time moves only when the test says; After fires at once (the
// fake RM paces the engine) and records the interval asked for.
type fakeClock struct {
	mu        sync.Mutex
	now       time.Time
	intervals []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.intervals = append(c.intervals, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) lastInterval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.intervals) == 0 {
		return 0
	}
	return c.intervals[len(c.intervals)-1]
}

// harness runs an Engine against a fakeRM and fakeNM.
type harness struct {
	t     testing.TB
	rm    *fakeRM
	nm    *fakeNM
	clock *fakeClock
	e     *Engine
	done  chan error
	stop  context.CancelFunc

	mu          sync.Mutex
	completions []Completion
	startFails  []yarn.ContainerID
	preemptions []yarn.PreemptionMessage
	excluded    []string
	resyncs     int
}

func newHarness(t testing.TB, cfg Config, nodes ...string) *harness {
	t.Helper()
	return newHarnessSetup(t, cfg, nil, nodes...)
}

// newHarnessSetup is newHarness calling setup, if not nil, before Run.
func newHarnessSetup(t testing.TB, cfg Config, setup func(*Engine), nodes ...string) *harness {
	t.Helper()
	h := &harness{t: t, rm: newFakeRM(t, nodes...), nm: &fakeNM{hold: map[int64]chan struct{}{}},
		clock: &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, done: make(chan error, 1)}
	cfg.AM, cfg.Clock = h.rm, h.clock
	if cfg.NM == nil {
		cfg.NM = h.nm
	}
	if cfg.LaunchContext == nil {
		cfg.LaunchContext = func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
			return yarn.ContainerLaunchContext{Commands: []string{"true"}}, nil
		}
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	if setup != nil {
		setup(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	cb := Callbacks{
		OnCompleted: func(c Completion) { h.mu.Lock(); h.completions = append(h.completions, c); h.mu.Unlock() },
		OnStartFailed: func(c yarn.Container, _ string, _ error) {
			h.mu.Lock()
			h.startFails = append(h.startFails, c.ID)
			h.mu.Unlock()
		},
		OnPreemption: func(m yarn.PreemptionMessage) { h.mu.Lock(); h.preemptions = append(h.preemptions, m); h.mu.Unlock() },
		OnExcluded:   func(host string, _ time.Time) { h.mu.Lock(); h.excluded = append(h.excluded, host); h.mu.Unlock() },
		OnResync:     func() { h.mu.Lock(); h.resyncs++; h.mu.Unlock() },
	}
	go func() { h.done <- e.Run(ctx, cb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return h
}

var errRunEnded = errors.New("Run ended")

// beat lets the engine make one heartbeat: it takes the request, applies
// it at the fake RM, and answers with what the RM has for the engine.
// between, if not nil, runs after the asks are applied and before the
// answer is pulled. It returns the request, or errRunEnded (with Run's
// error in h.runErr) when Run returned instead.
func (h *harness) beat(between func()) (yarn.AllocateRequest, error) {
	h.t.Helper()
	select {
	case req := <-h.rm.reqs:
		h.rm.apply(req)
		if between != nil {
			between()
		}
		h.rm.resps <- fakeAnswer{resp: h.rm.pull()}
		return req, nil
	case err := <-h.done:
		h.done <- err
		return yarn.AllocateRequest{}, errRunEnded
	case <-time.After(10 * time.Second):
		h.t.Fatal("no heartbeat within 10 s")
	}
	return yarn.AllocateRequest{}, nil
}

// take returns the engine's next request without answering it.
func (h *harness) take() yarn.AllocateRequest {
	h.t.Helper()
	select {
	case req := <-h.rm.reqs:
		return req
	case <-time.After(10 * time.Second):
		h.t.Fatal("no heartbeat within 10 s")
	}
	return yarn.AllocateRequest{}
}

// answer answers the request taken with resp.
func (h *harness) answer(resp yarn.AllocateResponse) { h.rm.resps <- fakeAnswer{resp: resp} }

// mustBeat is beat for tests in which Run must not end.
func (h *harness) mustBeat(between func()) yarn.AllocateRequest {
	h.t.Helper()
	req, err := h.beat(between)
	if err != nil {
		h.t.Fatalf("Run returned: %v", <-h.done)
	}
	return req
}

// settle beats until cond holds (start calls run on their own goroutines,
// so their outcome shows a few heartbeats later) or fails the test.
func (h *harness) settle(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("never reached: %s; status %+v", what, h.e.Status())
		}
		h.mustBeat(nil)
		time.Sleep(time.Millisecond)
	}
}

// eventually waits until cond, called with h.mu held, holds: callbacks
// run on the engine's dispatcher, after the heartbeat that caused them.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		ok := cond()
		h.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// runErr waits for Run to return and returns its error.
func (h *harness) runErr() error {
	h.t.Helper()
	for {
		_, err := h.beat(nil)
		if errors.Is(err, errRunEnded) {
			err := <-h.done
			h.done <- err
			return err
		}
	}
}

func (h *harness) profile(name string) ProfileStatus {
	for _, p := range h.e.Status().Profiles {
		if p.Name == name {
			return p
		}
	}
	h.t.Fatalf("no profile %q", name)
	return ProfileStatus{}
}

// anyAsk returns the ANY row's count for a request id in req, if present.
func anyAsk(req yarn.AllocateRequest, id int64) (int, bool) {
	for _, a := range req.Asks {
		if a.ResourceName == yarn.AnyResourceName && a.AllocationRequestID == id {
			return int(a.NumContainers), true
		}
	}
	return 0, false
}

func small(name string, target int) Profile {
	return Profile{Name: name, Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, Target: target}
}

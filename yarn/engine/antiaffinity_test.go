package engine

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/yarn"
)

// schedReq returns the SchedulingRequest for id in req, if any.
func schedReq(req yarn.AllocateRequest, id int64) (yarn.SchedulingRequest, bool) {
	for _, r := range req.SchedulingRequests {
		if r.AllocationRequestID == id {
			return r, true
		}
	}
	return yarn.SchedulingRequest{}, false
}

// TestAntiAffinity: an AntiAffinity profile is asked for with one
// SchedulingRequest (its own tag, node anti-affinity to that tag) and no
// ResourceRequest rows, as a total sent only when it changes; on three
// nodes four containers get three, one per node, and the fourth stays
// outstanding; lowering the target cancels the outstanding one and
// releases one container; a resync resends the request.
func TestAntiAffinity(t *testing.T) {
	spread := small("spread", 4)
	spread.AntiAffinity = true
	h := newHarness(t, Config{Profiles: []Profile{spread, small("plain", 1)}}, "h1", "h2", "h3")
	req := h.mustBeat(nil)
	want := yarn.SchedulingRequest{AllocationRequestID: 1, Priority: 1, AllocationTags: []string{"spread"}, NumAllocations: 4,
		Resource: spread.Resource, Constraint: &yarn.PlacementConstraint{Scope: yarn.ScopeNode, TargetTags: []string{"spread"}}}
	if diff := cmp.Diff([]yarn.SchedulingRequest{want}, req.SchedulingRequests); diff != "" {
		t.Errorf("scheduling requests (-want +got):\n%s", diff)
	}
	if _, ok := anyAsk(req, 1); ok {
		t.Errorf("the anti-affinity profile was also asked for with ResourceRequests: %+v", req.Asks)
	}
	if n, ok := anyAsk(req, 2); !ok || n != 1 {
		t.Errorf("the plain profile's ANY row asks %d (sent %v), want 1", n, ok)
	}
	for range 3 {
		req := h.mustBeat(func() { h.rm.schedule(10) })
		if r, ok := schedReq(req, 1); ok {
			t.Fatalf("the total was sent again (%d) though unchanged", r.NumAllocations)
		}
	}
	h.settle("3 running", func() bool { return h.profile("spread").Running == 3 })
	nodes := map[string]bool{}
	for _, c := range h.rm.all {
		if c.AllocationRequestID == 1 {
			nodes[c.NodeID.Host] = true
		}
	}
	if h.rm.allocated[1] != 3 || len(nodes) != 3 {
		t.Errorf("the RM allocated %d spread containers on nodes %v, want 3, one on each", h.rm.allocated[1], nodes)
	}
	if p := h.profile("spread"); p.Outstanding != 1 {
		t.Errorf("profile %+v: want the fourth outstanding", p)
	}

	if err := h.e.SetTarget("spread", 2); err != nil {
		t.Fatal(err)
	}
	// The heartbeat already waiting at the RM was built before the change.
	var totals []int32
	var released []yarn.ContainerID
	for range 2 {
		req := h.mustBeat(nil)
		if r, ok := schedReq(req, 1); ok {
			totals = append(totals, r.NumAllocations)
		}
		released = append(released, req.Release...)
	}
	if !slices.Equal(totals, []int32{0}) || len(released) != 1 {
		t.Errorf("after lowering the target to 2 the totals sent are %v and the releases %v; want [0] and one container", totals, released)
	}
	h.settle("2 running", func() bool { return h.profile("spread").Running == 2 && h.profile("spread").Releasing == 0 })

	h.rm.finish(h.rm.liveIDs()[0], 1) // lost one: asked for again
	var resent []int32
	for range 4 {
		if r, ok := schedReq(h.mustBeat(nil), 1); ok {
			resent = append(resent, r.NumAllocations)
		}
	}
	if !slices.Equal(resent, []int32{1}) {
		t.Errorf("after a failure the totals sent were %v, want [1]", resent)
	}
	h.take()
	h.answer(yarn.AllocateResponse{Command: yarn.AMResync})
	req = h.take()
	if r, ok := schedReq(req, 1); !ok || r.NumAllocations != 1 {
		t.Errorf("after the resync the request is %+v (sent %v), want the total of 1 resent", r, ok)
	}
	h.answer(yarn.AllocateResponse{})
}

// TestAntiAffinityNothingWanted: an anti-affinity profile with target 0
// sends no SchedulingRequest until it wants containers.
func TestAntiAffinityNothingWanted(t *testing.T) {
	spread := small("spread", 0)
	spread.AntiAffinity = true
	h := newHarness(t, Config{Profiles: []Profile{spread}})
	for range 2 {
		if req := h.mustBeat(nil); len(req.SchedulingRequests) != 0 || len(req.Asks) != 0 {
			t.Fatalf("with nothing wanted the heartbeat carries %+v and %+v", req.SchedulingRequests, req.Asks)
		}
	}
	if err := h.e.SetTarget("spread", 2); err != nil {
		t.Fatal(err)
	}
	if r, ok := schedReq(h.mustBeat(nil), 1); !ok || r.NumAllocations != 2 {
		t.Errorf("after raising the target to 2 the request is %+v (sent %v)", r, ok)
	}
}

func TestAntiAffinityRefused(t *testing.T) {
	for name, mod := range map[string]func(*Profile){
		"label":         func(p *Profile) { p.NodeLabel = "fast" },
		"nodes":         func(p *Profile) { p.Nodes = []string{"h1"} },
		"racks":         func(p *Profile) { p.Racks = []string{"/r1"} },
		"opportunistic": func(p *Profile) { p.ExecutionType = yarn.ExecutionOpportunistic },
		"tag":           func(p *Profile) { p.Name = "a/b" },
		"space":         func(p *Profile) { p.Name = "a b" },
	} {
		p := small("spread", 1)
		p.AntiAffinity = true
		mod(&p)
		if err := p.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := small("spread-1.x_y", 1)
	p.AntiAffinity = true
	if err := p.validate(); err != nil {
		t.Error(err)
	}
}

// TestAddTarget: AddTarget changes the target by a delta under the
// engine's lock (concurrent calls add up), stops at zero, and refuses an
// unknown profile.
func TestAddTarget(t *testing.T) {
	// From 100, the 50 cuts cannot reach the floor in any order.
	h := newHarness(t, Config{Profiles: []Profile{small("w", 100)}})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := 1
			if i%2 == 0 {
				d = -1
			}
			if _, err := h.e.AddTarget("w", d); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := h.e.AddTarget("w", 0); err != nil || n != 100 {
		t.Errorf("after 50 raises and 50 cuts the target is %d (%v), want 100", n, err)
	}
	if n, err := h.e.AddTarget("w", 3); err != nil || n != 103 {
		t.Errorf("AddTarget(+3) = %d, %v; want 103", n, err)
	}
	if n, err := h.e.AddTarget("w", -1000); err != nil || n != 0 {
		t.Errorf("AddTarget(-1000) = %d, %v; want 0", n, err)
	}
	if _, err := h.e.AddTarget("nope", 1); err == nil {
		t.Error("AddTarget of an unknown profile accepted")
	}
	last := -1
	for range 3 { // the first may have been built before the changes
		if n, ok := anyAsk(h.mustBeat(nil), 1); ok {
			last = n
		}
	}
	if last != 0 {
		t.Errorf("the last total sent is %d, want 0 for a target of 0", last)
	}
}

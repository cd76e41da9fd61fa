//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

// startProfilesBed starts a test bed of the test's own with
// testbed.Options.Profiles: three NodeManagers the RM tells apart by host,
// each on a rack of its own, yarn.io/gpu 2 on each, the exclusive label
// "fast" on the last, OPPORTUNISTIC containers allowed. It first checks,
// from the RM's node reports, that the bed is what ready.json says.
func startProfilesBed(t *testing.T, ctx context.Context) *testbed.TestBed {
	t.Helper()
	started := time.Now()
	tb, err := testbed.Start(ctx, testbed.Options{Profiles: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("profiles bed log (last 60 lines of %s):\n%s", tb.LogPath(), tb.LogTail(60))
		}
	})
	t.Logf("profiles bed ready in %.1f s", time.Since(started).Seconds())
	p := tb.Ready.Profiles
	if p == nil || len(p.Nodes) != 3 || len(tb.Ready.NodeManagerAddresses) != 3 {
		t.Fatalf("ready.json describes no profiles bed of 3 nodes: %+v, %v", p, tb.Ready.NodeManagerAddresses)
	}
	rm := rmClient(t, tb, "alice", "")
	nodes, err := rm.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]yarn.NodeReport{}
	for _, n := range nodes {
		byHost[n.ID.Host] = n
	}
	for i, want := range p.Nodes {
		n, ok := byHost[want.Host]
		if !ok {
			t.Fatalf("the RM lists no node on %s: %v", want.Host, nodes)
		}
		if n.ID.String() != tb.Ready.NodeManagerAddresses[i] {
			t.Errorf("node %d is %s, ready.json says %s", i, n.ID, tb.Ready.NodeManagerAddresses[i])
		}
		var wantLabels []string
		if want.Label != "" {
			wantLabels = []string{want.Label}
		}
		if n.Rack != want.Rack || !slices.Equal(n.Labels, wantLabels) || n.Capability.Custom[p.ResourceType] != p.ResourcePerNode {
			t.Errorf("the RM reports node %s on rack %q with labels %v and %s %d; want %q, %v, %d",
				n.ID, n.Rack, n.Labels, p.ResourceType, n.Capability.Custom[p.ResourceType], want.Rack, wantLabels, p.ResourcePerNode)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return tb
}

// TestEngineProfiles: on a bed of its own (see startProfilesBed) one
// engine runs five profiles at once, and the RM's container reports show
// each honoured:
//
//   - gpu: 1 yarn.io/gpu each, 4 (all the unlabelled nodes have), then 5:
//     every report carries the GPU, the RM holds exactly 4 (at most 2 per
//     node) and the fifth stays outstanding;
//   - label: node label "fast": all on the labelled node, and no
//     unlabelled container ever runs there;
//   - node: strictly node 1 (its node row, and its rack and ANY rows not
//     relaxed): all there;
//   - rack: strictly node 0's rack, named alone (its rack row relaxed,
//     the ANY row not): all on node 0, the rack's only node;
//   - opportunistic: execution type OPPORTUNISTIC in every report, and
//     GUARANTEED in every other profile's.
//
// Anti-affinity is proven below, through the AMClient and through an
// engine profile.
//
// exclusion: a batch of 8 whose command fails only where NM_HOST is node
// 0 (containers of 3000 MB, so each node holds two at a time and both
// get work): node 0 is excluded through the RM's blacklist after 3
// failures there, the RM allocates nothing more on it, the 8 succeed on
// node 1, and the application SUCCEEDS.
//
// anti-affinity (through the AMClient): a SchedulingRequest for 3 containers tagged "spread",
// none on a node already holding one: the RM places one on each of the 2
// unlabelled nodes, each carrying the tag, and never a third.
//
// engine-anti-affinity: an engine profile with AntiAffinity, target 2 (the
// unlabelled nodes): two containers, on two distinct nodes by the RM's
// reports, each carrying the profile's tag; raised to 3, the third stays
// outstanding and the RM never holds a third; lowered to 1, the RM holds 1.
//
// dshell-anti-affinity: dshell -n 2 -anti-affinity runs its two
// containers (sleep 4) at the same time on the two unlabelled nodes, one
// each, by the RM's reports polled while they run, and succeeds.
//
// Plain runs only (the bed's authentication does not matter); it starts a
// second bed, about 15-40 s and 1.5 GB, for itself.
func TestEngineProfiles(t *testing.T) {
	if testbed.Get(t).Mode() != testbed.ModePlain {
		t.Skip("starts a profiles bed of its own; run once, in the plain run")
	}
	tb := startProfilesBed(t, testContext(t, 10*time.Minute))
	t.Run("honoured", func(t *testing.T) { testProfilesHonoured(t, tb) })
	t.Run("exclusion", func(t *testing.T) { testNodeExclusion(t, tb) })
	t.Run("anti-affinity", func(t *testing.T) { testAntiAffinity(t, tb) })
	t.Run("engine-anti-affinity", func(t *testing.T) { testEngineAntiAffinity(t, tb) })
	t.Run("dshell-anti-affinity", func(t *testing.T) { testDshellAntiAffinity(t, tb) })
}

func testProfilesHonoured(t *testing.T, tb *testbed.TestBed) {
	ctx := testContext(t, 5*time.Minute)
	p := tb.Ready.Profiles
	n0, n1, labelled := p.Nodes[0], p.Nodes[1], p.Nodes[2]
	rackOf := map[string]string{}
	for _, n := range p.Nodes {
		rackOf[n.Host] = n.Rack
	}

	b := newEngineBed(t, tb)
	res := yarn.Resource{MemoryMB: 64, VCores: 1}
	gpuRes := yarn.Resource{MemoryMB: 64, VCores: 1, Custom: map[string]int64{p.ResourceType: 1}}
	gpuCapacity := int(2 * p.ResourcePerNode) // the unlabelled nodes'
	// The GPU profile comes last in priority: once it asks beyond the
	// GPUs, the scheduler reserves nodes for it, and a reserved node
	// serves no lower priority.
	profiles := []engine.Profile{
		{Name: "node", Resource: res, Priority: 1, Nodes: []string{n1.Host}, StrictLocality: true, Target: 3},
		{Name: "rack", Resource: res, Priority: 2, Racks: []string{n0.Rack}, StrictLocality: true, Target: 3},
		{Name: "label", Resource: res, Priority: 3, NodeLabel: labelled.Label, Target: 3},
		{Name: "opportunistic", Resource: res, Priority: 4, ExecutionType: yarn.ExecutionOpportunistic, EnforceExecutionType: true, Target: 3},
		{Name: "gpu", Resource: gpuRes, Priority: 5, Target: gpuCapacity},
	}
	b.watch.allow(3 + 3 + 3 + 3 + gpuCapacity)
	e := b.engine(engine.Config{
		Profiles: profiles,
		RackOf:   func(h string) string { return rackOf[h] },
	}, "sleep 600")

	var (
		mu        sync.Mutex
		profileOf = map[yarn.ContainerID]string{}
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{OnStarted: func(c yarn.Container, profile string) {
			mu.Lock()
			profileOf[c.ID] = profile
			mu.Unlock()
		}})
	}()
	want := map[string]int{"gpu": gpuCapacity, "label": 3, "node": 3, "rack": 3, "opportunistic": 3}
	took := waitFor(t, ctx, "every profile running", 3*time.Minute, func() bool {
		for name, n := range want {
			if ps := profileStatus(e, name); ps.Running != n || ps.Starting != 0 {
				return false
			}
		}
		return true
	})
	// One GPU more than the unlabelled nodes have: many NodeManager
	// heartbeats (100 ms) later it must still be unmet.
	if err := e.SetTarget("gpu", gpuCapacity+1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the GPU raise sent", 30*time.Second, func() bool { return profileStatus(e, "gpu").Outstanding == 1 })
	time.Sleep(3 * time.Second)
	reps, err := b.rm.Containers(ctx, yarn.ApplicationAttemptID{Application: b.app, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	t.Logf("every profile running %s after the engine started", took.Round(time.Millisecond))

	mu.Lock()
	defer mu.Unlock()
	got := map[string][]yarn.ContainerReport{}
	for _, r := range reps {
		name, ok := profileOf[r.ID]
		if !ok {
			t.Errorf("the RM lists container %s on %s, which the engine never started", r.ID, r.NodeID)
			continue
		}
		got[name] = append(got[name], r)
	}
	for name, n := range want {
		if len(got[name]) != n {
			t.Errorf("the RM holds %d containers of profile %s, want %d", len(got[name]), name, n)
		}
	}
	if ps := profileStatus(e, "gpu"); ps.Outstanding != 1 {
		t.Errorf("gpu profile %+v: want 1 outstanding, the ask beyond the cluster's GPUs", ps)
	}
	perNode := map[string]int64{}
	for name, rs := range got {
		for _, r := range rs {
			where := fmt.Sprintf("%s container %s on %s", name, r.ID, r.NodeID)
			gpus := r.Resource.Custom[p.ResourceType]
			perNode[r.NodeID.Host] += gpus
			switch {
			case name == "gpu" && gpus != 1:
				t.Errorf("%s has %d %s, want 1", where, gpus, p.ResourceType)
			case name != "gpu" && gpus != 0:
				t.Errorf("%s has %d %s, want none", where, gpus, p.ResourceType)
			}
			if name == "label" && r.NodeID.Host != labelled.Host {
				t.Errorf("%s, want the labelled node %s", where, labelled.Host)
			}
			if name != "label" && name != "opportunistic" && r.NodeID.Host == labelled.Host {
				t.Errorf("%s: an unlabelled ask ran on the exclusively labelled node", where)
			}
			if name == "node" && r.NodeID.Host != n1.Host {
				t.Errorf("%s, want strictly %s", where, n1.Host)
			}
			if name == "rack" && r.NodeID.Host != n0.Host {
				t.Errorf("%s, want strictly rack %s (only %s)", where, n0.Rack, n0.Host)
			}
			wantType := yarn.ExecutionGuaranteed
			if name == "opportunistic" {
				wantType = yarn.ExecutionOpportunistic
			}
			if r.ExecutionType != wantType {
				t.Errorf("%s is %s, want %s", where, r.ExecutionType, wantType)
			}
		}
	}
	for host, gpus := range perNode {
		if gpus > p.ResourcePerNode {
			t.Errorf("%d %s allocated on %s, which has %d", gpus, p.ResourceType, host, p.ResourcePerNode)
		}
	}
	t.Logf("%s in use per node: %v", p.ResourceType, perNode)
	for name, rs := range got {
		var where []string
		for _, r := range rs {
			where = append(where, r.NodeID.Host+"/"+r.ExecutionType.String())
		}
		t.Logf("%s: %v", name, where)
	}
	b.finish(ctx, yarn.FinalSucceeded, "profiles honoured")
}

func testNodeExclusion(t *testing.T, tb *testbed.TestBed) {
	ctx := testContext(t, 5*time.Minute)
	p := tb.Ready.Profiles
	bad, good := p.Nodes[0].Host, p.Nodes[1].Host
	b := newEngineBed(t, tb)
	const n = 8
	b.watch.allow(4) // two per unlabelled node
	work := engine.Profile{Name: "work", Resource: yarn.Resource{MemoryMB: 3000, VCores: 1}, Priority: 1, RunOnce: true, Target: n}
	e := b.engine(engine.Config{Profiles: []engine.Profile{work}, MaxFailures: -1},
		fmt.Sprintf(`if [ "$NM_HOST" = %s ]; then exit 7; fi; sleep 2`, bad))
	var (
		mu         sync.Mutex
		excluded   []string
		excludedAt time.Time
		okOn       = map[string]int{}
		failedOn   = map[string]int{}
		lateOnBad  []string
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{
			OnExcluded: func(host string, _ time.Time) {
				mu.Lock()
				defer mu.Unlock()
				excluded = append(excluded, host)
				if excludedAt.IsZero() {
					excludedAt = time.Now()
				}
			},
			OnCompleted: func(c engine.Completion) {
				mu.Lock()
				defer mu.Unlock()
				if c.Status.ExitStatus == 0 {
					okOn[c.Container.NodeID.Host]++
				} else {
					failedOn[c.Container.NodeID.Host]++
				}
			},
		})
	}()
	// From the RM's side: once the exclusion has reached it (a heartbeat
	// or two after the engine decided it), it places nothing more on the
	// excluded node.
	attempt := yarn.ApplicationAttemptID{Application: b.app, Attempt: 1}
	waitFor(t, ctx, "8 containers succeeded", 3*time.Minute, func() bool {
		if reps, err := b.rm.Containers(ctx, attempt); err == nil {
			mu.Lock()
			for _, r := range reps {
				if r.NodeID.Host == bad && !excludedAt.IsZero() && r.Created.After(excludedAt.Add(2*time.Second)) {
					lateOnBad = append(lateOnBad, fmt.Sprintf("%s created %s", r.ID, r.Created.Format("15:04:05.000")))
				}
			}
			mu.Unlock()
		}
		return profileStatus(e, "work").Succeeded == n
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	s := e.Status()
	t.Logf("excluded %v; succeeded by node %v, failed by node %v; engine status %+v", excluded, okOn, failedOn, s)
	if !slices.Equal(excluded, []string{bad}) || !slices.Equal(s.Excluded, []string{bad}) {
		t.Errorf("excluded %v (status %v), want just %s", excluded, s.Excluded, bad)
	}
	if okOn[good] != n || len(okOn) != 1 {
		t.Errorf("succeeded by node %v, want all %d on %s", okOn, n, good)
	}
	if failedOn[bad] < 3 || len(failedOn) != 1 {
		t.Errorf("failed by node %v, want at least 3, all on %s", failedOn, bad)
	}
	for _, l := range lateOnBad {
		t.Errorf("the RM placed a container on the excluded %s after the exclusion: %s", bad, l)
	}
	if r := b.finish(ctx, yarn.FinalSucceeded, "8 ran, node 0 excluded"); r.FinalStatus != yarn.FinalSucceeded {
		t.Errorf("application ended %s/%s", r.State, r.FinalStatus)
	}
}

func testAntiAffinity(t *testing.T, tb *testbed.TestBed) {
	ctx := testContext(t, 3*time.Minute)
	rm, am, app := unmanagedAM(t, tb, "")
	req := yarn.AllocateRequest{SchedulingRequests: []yarn.SchedulingRequest{{
		AllocationRequestID: 1, Priority: 1, AllocationTags: []string{"spread"},
		NumAllocations: 3, Resource: yarn.Resource{MemoryMB: 64, VCores: 1},
		Constraint: yarn.AntiAffinity(yarn.ScopeNode, "spread"),
	}}}
	var got []yarn.Container
	var second time.Time
	deadline := time.Now().Add(2 * time.Minute)
	// Until two have come, and then for 3 s more (30 NodeManager
	// heartbeats) in which the third must not.
	for second.IsZero() || time.Since(second) < 3*time.Second {
		if time.Now().After(deadline) {
			t.Fatalf("within 2 minutes the RM allocated %d containers, want 2", len(got))
		}
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req = yarn.AllocateRequest{}
		got = append(got, resp.Allocated...)
		if len(got) >= 2 && second.IsZero() {
			second = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	nodes := map[string]bool{}
	for _, c := range got {
		nodes[c.NodeID.Host] = true
		if !slices.Equal(c.AllocationTags, []string{"spread"}) || c.AllocationRequestID != 1 {
			t.Errorf("container %s on %s has tags %v and request id %d, want [spread] and 1", c.ID, c.NodeID, c.AllocationTags, c.AllocationRequestID)
		}
	}
	reps, err := rm.Containers(ctx, yarn.ApplicationAttemptID{Application: app, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	rmNodes := map[string]int{}
	for _, r := range reps {
		rmNodes[r.NodeID.Host]++
	}
	t.Logf("allocated %d, on %v; the RM holds %d, by node %v", len(got), nodes, len(reps), rmNodes)
	if len(got) != 2 || len(nodes) != 2 {
		t.Errorf("allocated %d containers on %d nodes, want 2 on 2", len(got), len(nodes))
	}
	if len(reps) != 2 || len(rmNodes) != 2 {
		t.Errorf("the RM holds %d containers on nodes %v, want one on each of 2", len(reps), rmNodes)
	}
	if err := am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded}); err != nil {
		t.Fatal(err)
	}
}

func testEngineAntiAffinity(t *testing.T, tb *testbed.TestBed) {
	ctx := testContext(t, 3*time.Minute)
	labelled := tb.Ready.Profiles.Nodes[2].Host
	b := newEngineBed(t, tb)
	const n = 2 // the unlabelled nodes
	b.watch.allow(n)
	spread := engine.Profile{Name: "spread", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, Priority: 1, AntiAffinity: true, Target: n}
	e := b.engine(engine.Config{Profiles: []engine.Profile{spread}}, "sleep 600")
	var (
		mu      sync.Mutex
		started []yarn.Container
	)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(runCtx, engine.Callbacks{OnStarted: func(c yarn.Container, _ string) {
			mu.Lock()
			started = append(started, c)
			mu.Unlock()
		}})
	}()
	took := waitFor(t, ctx, "2 running", 2*time.Minute, func() bool { return profileStatus(e, "spread").Running == n })
	attempt := yarn.ApplicationAttemptID{Application: b.app, Attempt: 1}
	reps, err := b.rm.Containers(ctx, attempt)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]int{}
	for _, r := range reps {
		hosts[r.NodeID.Host]++
	}
	t.Logf("%d running after %s; the RM holds %d, by host %v", n, took.Round(time.Millisecond), len(reps), hosts)
	if len(reps) != n || len(hosts) != n || hosts[labelled] != 0 {
		t.Errorf("the RM holds %d containers on hosts %v, want %d on %d distinct unlabelled hosts", len(reps), hosts, n, n)
	}
	mu.Lock()
	for _, c := range started {
		if !slices.Equal(c.AllocationTags, []string{engine.AllocationTag("spread")}) {
			t.Errorf("container %s on %s carries tags %v, want [%s]", c.ID, c.NodeID, c.AllocationTags, engine.AllocationTag("spread"))
		}
	}
	mu.Unlock()

	// One more than there are nodes to take it: it must stay outstanding
	// through many NodeManager heartbeats (100 ms).
	if _, err := e.AddTarget("spread", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the raise sent", 30*time.Second, func() bool { return profileStatus(e, "spread").Outstanding == 1 })
	time.Sleep(3 * time.Second)
	if ps := profileStatus(e, "spread"); ps.Running != n || ps.Outstanding != 1 || ps.Allocated != n {
		t.Errorf("after asking for a third: %+v, want %d running, 1 outstanding, %d allocated in all", ps, n, n)
	}
	if err := e.SetTarget("spread", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the RM holds 1", time.Minute, func() bool {
		live, _, _, _, _ := b.watch.snapshot()
		return live == 1 && profileStatus(e, "spread").Running == 1
	})
	b.watch.allow(1)
	// Nothing may come for the cancelled third now the target is 1.
	time.Sleep(2 * time.Second)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	live, maxLive, distinct, polls, violations := b.watch.snapshot()
	s := e.Status()
	t.Logf("the RM's count over %d polls: max %d live, %d distinct, %d live at the end; engine status %+v", polls, maxLive, distinct, live, s)
	for _, v := range violations {
		t.Error(v)
	}
	if maxLive != n || distinct != n || live != 1 || s.Allocated != n || s.Excess != 0 {
		t.Errorf("the RM held at most %d (%d distinct, %d at the end), the engine was allocated %d (%d excess); want %d, %d, 1, %d, 0",
			maxLive, distinct, live, s.Allocated, s.Excess, n, n, n)
	}
	b.finish(ctx, yarn.FinalSucceeded, "anti-affinity")
}

func testDshellAntiAffinity(t *testing.T, tb *testbed.TestBed) {
	ctx := testContext(t, 4*time.Minute)
	rm := rmClient(t, tb, "alice", "")
	name := fmt.Sprintf("dshell anti-affinity %d", time.Now().UnixNano())
	done := make(chan dshellRun, 1)
	go func() {
		done <- runDshell(t, tb, "-n", "2", "-memory", "64", "-anti-affinity", "-name", name, "--", "sleep", "4")
	}()
	// The workers (not the AM, sequence 1) by host, from the RM's reports
	// while the application runs.
	hosts := map[string]map[string]bool{}
	var r dshellRun
	for r.out == "" && r.code == 0 {
		select {
		case r = <-done:
			continue
		case <-ctx.Done():
			t.Fatal("dshell did not end")
		case <-time.After(100 * time.Millisecond):
		}
		apps, err := rm.Applications(ctx, yarn.ApplicationFilter{Name: name})
		if err != nil || len(apps) != 1 {
			continue
		}
		reps, err := rm.Containers(ctx, yarn.ApplicationAttemptID{Application: apps[0].ID, Attempt: 1})
		if err != nil {
			continue
		}
		for _, c := range reps {
			if c.ID.Sequence() != 1 {
				if hosts[c.NodeID.Host] == nil {
					hosts[c.NodeID.Host] = map[string]bool{}
				}
				hosts[c.NodeID.Host][c.ID.String()] = true
			}
		}
	}
	t.Logf("workers by host: %v", hosts)
	if r.code != 0 || !strings.Contains(r.out, "2 of 2 containers exited 0") {
		t.Fatalf("dshell exit %d; want 0 and both containers exited 0", r.code)
	}
	if len(hosts) != 2 || hosts[tb.Ready.Profiles.Nodes[2].Host] != nil {
		t.Errorf("workers ran on hosts %v, want the 2 unlabelled ones", hosts)
	}
	for h, ids := range hosts {
		if len(ids) != 1 {
			t.Errorf("%d workers on %s, want 1", len(ids), h)
		}
	}
}

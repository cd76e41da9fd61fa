//go:build integration

package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// unmanagedAM submits an unmanaged application (its AM runs here, in the
// test) and returns an AMClient registered for it, authenticated with the
// AMRMToken from the application report. Each of amOpts may change the
// AMClient's config.
func unmanagedAM(t testing.TB, tb *testbed.TestBed, prot string, amOpts ...func(*yarn.AMConfig)) (*yarn.RMClient, *yarn.AMClient, yarn.ApplicationID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := yarnConfig(t, tb, "alice", prot)
	rm, err := yarn.NewRMClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub := &yarn.ApplicationSubmission{
		ID: id, Name: t.Name(), Queue: "default", Type: "SPINDLE-TEST", Unmanaged: true,
		AMResource: yarn.Resource{MemoryMB: 64, VCores: 1}, MaxAttempts: 1,
	}
	if err := rm.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kctx, kcancel := context.WithTimeout(context.Background(), time.Minute)
		defer kcancel()
		if r, err := rm.ApplicationReport(kctx, id); err == nil && !r.State.IsFinal() {
			rm.KillAndWait(kctx, id, "test cleanup")
		}
	})
	r, err := rm.WaitForState(ctx, id, 50*time.Millisecond, func(r yarn.ApplicationReport) bool {
		return r.AMRMToken != nil || r.State.IsFinal()
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.AMRMToken == nil {
		t.Fatalf("unmanaged application %s is %s without an AMRMToken", id, r.State)
	}
	amCfg := yarn.AMConfig{ResourceManagers: cfg.ResourceManagers, Token: *r.AMRMToken, RPCProtection: cfg.RPCProtection}
	for _, o := range amOpts {
		o(&amCfg)
	}
	am, err := yarn.NewAMClient(amCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { am.Close() })
	if _, err := am.Register(ctx, yarn.AMRegistration{Host: "localhost"}); err != nil {
		t.Fatal(err)
	}
	return rm, am, id
}

// TestAMClientUnmanaged: an unmanaged AM registers with its AMRMToken,
// gets containers (with NMTokens for their nodes), releases them,
// unregisters, and the application ends SUCCEEDED.
//
// Not on Kerberos: Hadoop's ClientRMService hands an unmanaged AM's token
// only to a caller whose full user name (callerUGI.getUserName(), there
// "alice@EXAMPLE.COM") equals the application's user ("alice"), so a
// Kerberos client never receives it. The Kerberos AM path is proven by
// TestDshellTrue, whose AM runs in a container at each protection level.
func TestAMClientUnmanaged(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Ready.Kerberos != nil {
		t.Skip("Hadoop withholds an unmanaged AM's token from Kerberos clients (see the comment)")
	}
	for _, prot := range protections(tb) {
		t.Run("protection="+prot, func(t *testing.T) {
			ctx := testContext(t, 2*time.Minute)
			rm, am, id := unmanagedAM(t, tb, prot)
			ask := []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: 4}}
			req := yarn.AllocateRequest{Asks: ask}
			var got []yarn.Container
			for len(got) < 4 {
				resp, err := am.Allocate(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				req = yarn.AllocateRequest{}
				got = append(got, resp.Allocated...)
				time.Sleep(50 * time.Millisecond)
			}
			for _, c := range got {
				if c.Token == nil {
					t.Errorf("container %s has no container token", c.ID)
				}
				if _, ok := am.NMToken(c.NodeID); !ok {
					t.Errorf("no NMToken for node %s of container %s", c.NodeID, c.ID)
				}
				if c.ID.Attempt.Application != id {
					t.Errorf("container %s belongs to another application than %s", c.ID, id)
				}
			}
			release := yarn.AllocateRequest{}
			for _, c := range got {
				release.Release = append(release.Release, c.ID)
			}
			if _, err := am.Allocate(ctx, release); err != nil {
				t.Fatal(err)
			}
			if err := am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded, Diagnostics: "unmanaged test done"}); err != nil {
				t.Fatal(err)
			}
			r, err := rm.WaitForState(ctx, id, 50*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State.IsFinal() })
			if err != nil {
				t.Fatal(err)
			}
			if r.FinalStatus != yarn.FinalSucceeded || r.Diagnostics != "unmanaged test done" {
				t.Fatalf("final %s/%s %q, want FINISHED/SUCCEEDED with our diagnostics", r.State, r.FinalStatus, r.Diagnostics)
			}
		})
	}
}

// TestAMClientConcurrentAllocate: heartbeats from several goroutines at
// once are serialized by the AMClient, so the RM never sees a response id
// twice (it would answer the repeat with its last response again, handing
// out the same containers twice, or refuse an id that went backwards):
// every container arrives exactly once and no heartbeat fails. (Unmanaged
// AM, so plain and HA beds; see TestAMClientUnmanaged.)
func TestAMClientConcurrentAllocate(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Ready.Kerberos != nil {
		t.Skip("Hadoop withholds an unmanaged AM's token from Kerberos clients (see TestAMClientUnmanaged)")
	}
	ctx := testContext(t, 2*time.Minute)
	_, am, _ := unmanagedAM(t, tb, "")
	const want = 8
	ask := []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: want}}
	if _, err := am.Allocate(ctx, yarn.AllocateRequest{Asks: ask}); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[yarn.ContainerID]int{}
		all  []yarn.ContainerID
	)
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(all)
	}
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for total() < want && time.Now().Before(deadline) && !t.Failed() {
				resp, err := am.Allocate(ctx, yarn.AllocateRequest{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range resp.Allocated {
					seen[c.ID]++
					all = append(all, c.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, n := range seen {
		if n > 1 {
			t.Errorf("container %s allocated %d times", id, n)
		}
	}
	if len(seen) != want {
		t.Errorf("%d distinct containers, want %d", len(seen), want)
	}
	release := yarn.AllocateRequest{Asks: []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}}}}
	for id := range seen {
		release.Release = append(release.Release, id)
	}
	if _, err := am.Allocate(ctx, release); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAMAllocate measures containers allocated per second through
// the AM client: each round asks for 16 containers of 64 MB, heartbeats
// until all arrive, and releases them.
func BenchmarkAMAllocate(b *testing.B) {
	tb := testbed.Get(b)
	if tb.Ready.Kerberos != nil {
		b.Skip("unmanaged AMs get no token on Kerberos (see TestAMClientUnmanaged)")
	}
	ctx := context.Background()
	_, am, _ := unmanagedAM(b, tb, "")
	const perRound = 16
	ask := func(n int32) []yarn.ResourceRequest {
		return []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: n}}
	}
	heartbeats, containers := 0, 0
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := yarn.AllocateRequest{Asks: ask(perRound)}
		var got []yarn.ContainerID
		for len(got) < perRound {
			resp, err := am.Allocate(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			heartbeats++
			req = yarn.AllocateRequest{}
			for _, c := range resp.Allocated {
				got = append(got, c.ID)
			}
			if len(got) < perRound {
				time.Sleep(10 * time.Millisecond)
			}
		}
		containers += len(got)
		if _, err := am.Allocate(ctx, yarn.AllocateRequest{Release: got, Asks: ask(0)}); err != nil {
			b.Fatal(err)
		}
		heartbeats++
	}
	b.StopTimer()
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(containers)/secs, "containers/s")
	b.ReportMetric(float64(heartbeats)/secs, "heartbeats/s")
}

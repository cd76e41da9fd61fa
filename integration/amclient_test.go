//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// unmanagedAM submits an unmanaged application (its AM runs here, in the
// test) and returns an AMClient registered for it, authenticated with the
// AMRMToken from the application report.
func unmanagedAM(t testing.TB, tb *testbed.TestBed, prot string) (*yarn.RMClient, *yarn.AMClient, yarn.ApplicationID) {
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
	am, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: cfg.ResourceManagers, Token: *r.AMRMToken, RPCProtection: cfg.RPCProtection})
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

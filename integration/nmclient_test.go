//go:build integration

package integration

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestNMClientStartStatusStop: through the NM client, a container is
// started on the node the RM chose, reports RUNNING, is stopped, and the RM
// then reports it completed. (Unmanaged AM, so plain and HA beds; see
// TestAMClientUnmanaged.)
func TestNMClientStartStatusStop(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Ready.Kerberos != nil {
		t.Skip("Hadoop withholds an unmanaged AM's token from Kerberos clients (see TestAMClientUnmanaged)")
	}
	ctx := testContext(t, 2*time.Minute)
	_, am, _ := unmanagedAM(t, tb, "")
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken})
	if err != nil {
		t.Fatal(err)
	}
	defer nm.Close()

	req := yarn.AllocateRequest{Asks: []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: 1}}}
	var c yarn.Container
	for c.ID.IsZero() {
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req = yarn.AllocateRequest{}
		if len(resp.Allocated) > 0 {
			c = resp.Allocated[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := nm.Start(ctx, c, yarn.ContainerLaunchContext{Commands: []string{"sleep 60 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := nm.Status(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == yarn.ContainerRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is %v, not RUNNING, after a minute", c.ID, st.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := nm.Stop(ctx, c); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := am.Allocate(ctx, yarn.AllocateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.Completed {
			if s.ID == c.ID {
				if s.ExitStatus == 0 {
					t.Errorf("stopped container exited 0; want the kill status")
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the RM never reported stopped container %s completed", c.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNMClientConcurrentContainers: one NMClient starts, inspects and stops
// several containers at once (calls sharing each node's connection, run
// with -race), and the RM reports every one of them completed.
func TestNMClientConcurrentContainers(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Ready.Kerberos != nil {
		t.Skip("Hadoop withholds an unmanaged AM's token from Kerberos clients (see TestAMClientUnmanaged)")
	}
	ctx := testContext(t, 2*time.Minute)
	_, am, _ := unmanagedAM(t, tb, "")
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken})
	if err != nil {
		t.Fatal(err)
	}
	defer nm.Close()

	const n = 4
	req := yarn.AllocateRequest{Asks: []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: n}}}
	var ctrs []yarn.Container
	for len(ctrs) < n {
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req = yarn.AllocateRequest{}
		ctrs = append(ctrs, resp.Allocated...)
		time.Sleep(50 * time.Millisecond)
	}
	each := func(f func(c yarn.Container) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(ctrs))
		for i, c := range ctrs {
			wg.Go(func() { errs[i] = f(c) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	clc := yarn.ContainerLaunchContext{Commands: []string{"sleep 60 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"}}
	each(func(c yarn.Container) error { return nm.Start(ctx, c, clc) })
	each(func(c yarn.Container) error {
		for {
			st, err := nm.Status(ctx, c)
			if err != nil || st.State == yarn.ContainerRunning {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	each(func(c yarn.Container) error { return nm.Stop(ctx, c) })

	done := map[yarn.ContainerID]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(done) < len(ctrs) {
		resp, err := am.Allocate(ctx, yarn.AllocateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.Completed {
			done[s.ID] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("the RM reported %d of %d stopped containers completed", len(done), len(ctrs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range ctrs {
		if !done[c.ID] {
			t.Errorf("container %s never reported completed", c.ID)
		}
	}
}

// TestRMClientDelegationToken: on the Kerberos bed, alice obtains an RM
// delegation token naming her as owner and the RM's principal as renewer.
func TestRMClientDelegationToken(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, time.Minute)
	rm := rmClient(t, tb, "alice", "")
	tok, err := rm.DelegationToken(ctx, "hadoop")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind != "RM_DELEGATION_TOKEN" || len(tok.Password) == 0 {
		t.Fatalf("token kind %q, %d password bytes", tok.Kind, len(tok.Password))
	}
	id, err := tok.DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if id.Owner != "alice@EXAMPLE.COM" && id.Owner != "alice" {
		t.Errorf("owner %q, want alice", id.Owner)
	}
	if id.Renewer != "hadoop" {
		t.Errorf("renewer %q, want hadoop", id.Renewer)
	}
}

//go:build integration

package integration

import (
	"errors"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestRMClientClusterQueries: metrics, nodes and queues over Hadoop RPC, at
// every protection level the bed offers.
func TestRMClientClusterQueries(t *testing.T) {
	tb := testbed.Get(t)
	for _, prot := range protections(tb) {
		t.Run("protection="+prot, func(t *testing.T) {
			ctx := testContext(t, time.Minute)
			rm := rmClient(t, tb, "alice", prot)
			m, err := rm.ClusterMetrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.NodeManagers != 2 {
				t.Errorf("NodeManagers = %d, want 2", m.NodeManagers)
			}
			nodes, err := rm.Nodes(ctx, yarn.NodeRunning)
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != 2 {
				t.Fatalf("%d RUNNING nodes, want 2: %+v", len(nodes), nodes)
			}
			for _, n := range nodes {
				if n.Capability.MemoryMB != 8192 || n.Capability.VCores != 16 {
					t.Errorf("node %s capability %+v, want 8192 MB / 16 vcores", n.ID, n.Capability)
				}
			}
			q, err := rm.Queue(ctx, "batch", yarn.QueueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if q.Name != "batch" || q.Capacity < 0.19 || q.Capacity > 0.21 {
				t.Errorf("queue batch: name %q capacity %v, want batch 0.2", q.Name, q.Capacity)
			}
		})
	}
}

// TestRMClientSubmitReportKill: an application whose AM is a plain shell
// command is submitted and accepted (it never registers, so it never
// reaches RUNNING), is killed and reports KILLED; an unknown application
// gives ErrApplicationNotFound.
func TestRMClientSubmitReportKill(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	rm := rmClient(t, tb, "alice", "")

	id, max, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if max.MemoryMB < 1024 {
		t.Errorf("maximum capability %+v, want at least 1024 MB", max)
	}
	sub := &yarn.ApplicationSubmission{
		ID:          id,
		Name:        "spindle-rmclient-kill",
		Queue:       "default",
		Type:        "SPINDLE-TEST",
		Tags:        []string{"spindle-test"},
		AMResource:  yarn.Resource{MemoryMB: 128, VCores: 1},
		MaxAttempts: 1,
		AM: yarn.ContainerLaunchContext{
			Commands:    []string{"sleep 120 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
			Environment: map[string]string{"SPINDLE_TEST": "1"},
		},
	}
	if err := rm.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	r, err := rm.WaitForState(ctx, id, 100*time.Millisecond, func(r yarn.ApplicationReport) bool {
		return r.State >= yarn.ApplicationAccepted
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != yarn.ApplicationAccepted {
		t.Fatalf("state %s (%s), want ACCEPTED", r.State, r.Diagnostics)
	}
	if r.Name != sub.Name || (r.Queue != "default" && r.Queue != "root.default") || r.Type != "SPINDLE-TEST" {
		t.Errorf("report name %q queue %q type %q", r.Name, r.Queue, r.Type)
	}
	apps, err := rm.Applications(ctx, yarn.ApplicationFilter{Types: []string{"SPINDLE-TEST"}, States: []yarn.ApplicationState{yarn.ApplicationAccepted}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range apps {
		found = found || a.ID == id
	}
	if !found {
		t.Errorf("Applications(type SPINDLE-TEST, ACCEPTED) does not list %s", id)
	}
	final, err := rm.KillAndWait(ctx, id, "killed by TestRMClientSubmitReportKill")
	if err != nil {
		t.Fatal(err)
	}
	if final.State != yarn.ApplicationKilled {
		t.Fatalf("after kill: %s, want KILLED", final.State)
	}

	_, err = rm.ApplicationReport(ctx, yarn.ApplicationID{ClusterTimestamp: 1, ID: 999999})
	if !errors.Is(err, yarn.ErrApplicationNotFound) {
		t.Fatalf("report of an unknown application: %v, want ErrApplicationNotFound", err)
	}
}

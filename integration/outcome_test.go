//go:build integration

package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestQueuesListedAndUnknownRefused lists the bed's queues (root, default
// and batch from its capacity-scheduler.xml) flattened through both
// clients, and asks for a queue that does not exist.
func TestQueuesListedAndUnknownRefused(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, time.Minute)
	for name, rm := range rmClients(t, tb) {
		t.Run(name, func(t *testing.T) {
			qs, err := rm.Queues(ctx)
			if err != nil {
				t.Fatal(err)
			}
			paths := map[string]bool{}
			for _, q := range qs {
				if len(q.Children) != 0 {
					t.Errorf("queue %s has %d children in a flat list", q.Path, len(q.Children))
				}
				paths[q.Path] = true
			}
			for _, want := range []string{"root", "root.default", "root.batch"} {
				if !paths[want] {
					t.Errorf("Queues lists %v, want %s among them", paths, want)
				}
			}
			if len(qs) == 0 || qs[0].Path != "root" {
				t.Errorf("Queues does not start at root: %+v", qs)
			}
			q, err := rm.Queue(ctx, "batch", yarn.QueueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if q.Name != "batch" || q.Capacity < 0.19 || q.Capacity > 0.21 {
				t.Errorf("Queue(batch) = name %q capacity %v, want batch at 0.2", q.Name, q.Capacity)
			}
			_, err = rm.Queue(ctx, "nosuch", yarn.QueueOptions{})
			if !errors.Is(err, yarn.ErrQueueNotFound) || !strings.Contains(err.Error(), "nosuch") {
				t.Errorf("Queue(nosuch) = %v, want ErrQueueNotFound naming it", err)
			}
		})
	}
}

// TestWaitForCompletionReportsAMExitStatus runs an ApplicationMaster that
// exits 7 without registering and one that exits 0 without registering
// (YARN fails both), and reads their exit statuses from the outcome.
func TestWaitForCompletionReportsAMExitStatus(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	for name, rm := range rmClients(t, tb) {
		for _, code := range []int{7, 0} {
			t.Run(name+"/exit"+string(rune('0'+code)), func(t *testing.T) {
				id, _, err := rm.NewApplication(ctx)
				if err != nil {
					t.Fatal(err)
				}
				err = rm.Submit(ctx, &yarn.ApplicationSubmission{
					ID: id, Name: "spindle-outcome", Queue: "default", Type: "SPINDLE-TEST",
					AMResource: yarn.Resource{MemoryMB: 128, VCores: 1}, MaxAttempts: 1,
					AM: yarn.ContainerLaunchContext{Commands: []string{"exit " + string(rune('0'+code))}},
				})
				if err != nil {
					t.Fatal(err)
				}
				c, err := rm.WaitForCompletion(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if c.Report.State != yarn.ApplicationFailed || c.Succeeded() {
					t.Errorf("state %s final %s, want FAILED for an AM that never registered", c.Report.State, c.Report.FinalStatus)
				}
				if !c.AMExitKnown || c.AMExitStatus != code {
					t.Errorf("AM exit status %d (known %v), want %d; diagnostics: %s", c.AMExitStatus, c.AMExitKnown, code, c.Report.Diagnostics)
				}
			})
		}
	}
}

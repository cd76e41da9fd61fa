package jobmanager_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
)

// crash takes a TaskManager away without telling the JobManager, as a
// process killed by its NodeManager: the JobManager sees its connection
// break first.
func (p *pool) crash(id string) {
	p.mu.Lock()
	c, ok := p.live[id]
	delete(p.live, id)
	p.mu.Unlock()
	if ok {
		c()
	}
}

// TestLostTaskManagerRootCause: a job fails for good when the TaskManager
// running its subtasks dies. The JobManager sees the broken connection
// first; the root cause waits for why the container ended (YARN's exit
// status, reported later) and names every subtask the TaskManager ran,
// in graph order.
func TestLostTaskManagerRootCause(t *testing.T) {
	jm, p := newRuntime(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &jobgraph.JobGraph{ID: "hog", Restart: jobgraph.RestartStrategy{},
		Vertices: []jobgraph.Vertex{
			{ID: "first", Operator: "test.block", Parallelism: 2},
			{ID: "second", Operator: "test.block", Parallelism: 1},
		}}
	done := make(chan error, 1)
	go func() { _, err := jm.Run(ctx, g); done <- err }()
	waitFor(t, func() bool { st := jm.Jobs(); return len(st) == 1 && st[0].Subtasks.Running == 3 })
	id := p.ids()[0]
	p.crash(id)
	// The broken connection is seen...
	waitFor(t, func() bool { return jm.TaskManagers() == 0 })
	// ...and the container's end a heartbeat later.
	time.Sleep(300 * time.Millisecond)
	const exit = "its container ended (exceeded_memory, exit status -104): running beyond the 'PHYSICAL' memory limit"
	jm.TaskManagerLost(id, exit)
	err := <-done
	var je *jobmanager.JobError
	if !errors.As(err, &je) || je.Result.State != jobmanager.StateFailed {
		t.Fatalf("err = %v, want the job failed", err)
	}
	want := `vertex "first" subtasks 0, 1 of 2, vertex "second" subtask 0/1 (attempt 0): TaskManager ` + id + " was lost: " + exit
	if je.Result.RootCause != want {
		t.Errorf("root cause\n%q, want\n%q", je.Result.RootCause, want)
	}
	if st := jm.Jobs(); st[0].RootCause != want {
		t.Errorf("the job's status has root cause %q", st[0].RootCause)
	}
}

// TestLostTaskManagerCauseNotReported: when YARN never says why the
// container ended, the job fails anyway, a bounded wait later, with what
// the JobManager saw as its cause.
func TestLostTaskManagerCauseNotReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the 10 s bound")
	}
	jm, p := newRuntime(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &jobgraph.JobGraph{ID: "silent", Vertices: []jobgraph.Vertex{{ID: "block", Operator: "test.block", Parallelism: 1}}}
	done := make(chan error, 1)
	began := time.Now()
	go func() { _, err := jm.Run(ctx, g); done <- err }()
	waitFor(t, func() bool { st := jm.Jobs(); return len(st) == 1 && st[0].Subtasks.Running == 1 })
	p.crash(p.ids()[0])
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not fail within 30 s of its TaskManager's loss")
	}
	var je *jobmanager.JobError
	// What the JobManager saw first: the subtask cancelled unasked, or the
	// broken connection.
	if !errors.As(err, &je) || !strings.Contains(je.Result.RootCause, `vertex "block" subtask 0/1 (attempt 0): TaskManager container_`) ||
		!strings.Contains(je.Result.RootCause, "its connection to the JobManager broke") && !strings.Contains(je.Result.RootCause, "cancelled its subtasks unasked") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("failed %s after it started", time.Since(began).Round(time.Millisecond))
}

// TestUnaskedCancelIsLoss: a TaskManager reporting a subtask cancelled
// that the JobManager never asked to cancel is stopping (its process got
// SIGTERM from its NodeManager): the JobManager counts it lost at once,
// so the job fails instead of waiting for the cancelled subtask forever,
// and the root cause takes the container's exit when YARN reports it.
func TestUnaskedCancelIsLoss(t *testing.T) {
	jm, p := newRuntime(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &jobgraph.JobGraph{ID: "term", Vertices: []jobgraph.Vertex{{ID: "block", Operator: "test.block", Parallelism: 2}}}
	done := make(chan error, 1)
	go func() { _, err := jm.Run(ctx, g); done <- err }()
	waitFor(t, func() bool { st := jm.Jobs(); return len(st) == 1 && st[0].Subtasks.Running == 2 })
	id := p.ids()[0]
	for i := range 2 {
		u := control.TaskUpdate{Attempt: control.Attempt{Job: "term"}, Vertex: "block", Index: i, State: control.TaskCanceled}
		if err := jm.Update(id, []control.TaskUpdate{u}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return jm.TaskManagers() == 0 })
	const exit = "its container ended (exceeded_memory, exit status -104): killed"
	jm.TaskManagerLost(id, exit)
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not end within 30 s of its subtasks' unasked cancel")
	}
	var je *jobmanager.JobError
	if !errors.As(err, &je) || je.Result.State != jobmanager.StateFailed {
		t.Fatalf("err = %v, want the job failed", err)
	}
	want := `vertex "block" subtasks 0, 1 of 2 (attempt 0): TaskManager ` + id + " was lost: " + exit
	if je.Result.RootCause != want {
		t.Errorf("root cause\n%q, want\n%q", je.Result.RootCause, want)
	}
}

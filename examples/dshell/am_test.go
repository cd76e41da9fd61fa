package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

func TestSummarize(t *testing.T) {
	st := amStatus{Completed: 4, Failed: 2, Containers: []containerResult{
		{ID: "container_1_0001_01_000003", Node: "nm1:1", State: stateFailed, ExitStatus: 3,
			Diagnostics: "Exception from container-launch.\nLast 4096 bytes of stderr :\nboom\nline two\n\n[2026] more"},
		{ID: "container_1_0001_01_000002", Node: "nm2:1", State: stateSucceeded},
		{ID: "container_1_0001_01_000004", Node: "nm1:1", State: stateFailedToStart, ExitStatus: -1000, Diagnostics: "refused"},
		{ID: "container_1_0001_01_000005", Node: "nm2:1", State: stateLost, Cause: "preempted", ExitStatus: -102},
		{ID: "container_1_0001_01_000006", Node: "nm2:1", State: stateReleased, ExitStatus: -100},
	}}
	want := strings.Join([]string{
		"2 of 3 containers exited 0",
		"  container_1_0001_01_000003 on nm1:1: exit status 3: stderr: boom | line two",
		"  container_1_0001_01_000004 on nm1:1: failed to start: refused",
		"  container_1_0001_01_000005 on nm2:1: preempted (exit status -102), run again elsewhere",
	}, "\n")
	if diff := cmp.Diff(want, summarize(st, 3)); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
}

// A container whose start failed is released by the engine; its release
// reported later must not hide the failure.
func TestAMStateStartFailedThenReleased(t *testing.T) {
	st := newAMState(1)
	c := yarn.Container{ID: yarn.ContainerID{ID: 2}, NodeID: yarn.NodeID{Host: "nm1", Port: 1}}
	st.startFailed(c, errors.New("refused"))
	st.completed(engine.Completion{Container: c, Profile: shellProfile, Released: true,
		Status: yarn.ContainerStatus{ID: c.ID, ExitStatus: yarn.ExitAborted}, Cause: engine.CauseAborted})
	got := st.snapshot()
	if got.Completed != 1 || got.Failed != 1 || len(got.Containers) != 1 || got.Containers[0].State != stateFailedToStart {
		t.Errorf("status %+v, want one container failed to start", got)
	}
	if s := summarize(got, 1); !strings.Contains(s, "failed to start: refused") {
		t.Errorf("summary %q does not name the refused start", s)
	}
}

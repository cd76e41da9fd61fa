package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

package modes

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/modes/internal/control"
)

func TestWriteJobs(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	now := t0.Add(3 * time.Minute)
	long := "subtask tokenize[1] on container_1764480000000_0042_01_000002: " + strings.Repeat("x", 100)
	jobs := []control.JobStatus{
		{ID: "job-1", Name: "wordcount", State: "finished", Subtasks: control.SubtaskCounts{Finished: 4, Total: 4},
			Started: t0, Ended: t0.Add(2345 * time.Millisecond)},
		{ID: "job-2", Name: "wc\tbad\nname", State: "failed", Attempt: 3, Subtasks: control.SubtaskCounts{Total: 4},
			RootCause: long, Started: t0.Add(time.Second), Ended: t0.Add(92*time.Second + 600*time.Millisecond)},
		{ID: "job-3", Name: "probe", State: "running", Attempt: 1, Subtasks: control.SubtaskCounts{Running: 1, Finished: 1, Total: 2},
			Started: t0.Add(time.Minute)},
		// A canceled job's root cause is not shown: it did not fail.
		{ID: "job-4", Name: "", State: "canceled", RootCause: "cancelled by a client", Started: t0, Ended: t0.Add(time.Second)},
		{ID: "job-5", Name: "queued", State: "created"},
	}
	var b bytes.Buffer
	if err := writeJobs(&b, jobs, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	var got [][]string
	for _, l := range lines[1:] {
		// Columns are two spaces apart at least; the root cause holds single
		// spaces.
		var cols []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		got = append(got, cols)
	}
	cause := shortText(long, rootCauseWidth)
	want := [][]string{
		{"job-1", "wordcount", "finished", "1", "0/4/4", "2026-11-30T13:00:00Z", "2.3s", "-"},
		{"job-2", "wc bad name", "failed", "4", "0/0/4", "2026-11-30T13:00:01Z", "1m32s", cause},
		{"job-3", "probe", "running", "2", "1/1/2", "2026-11-30T13:01:00Z", "2m0s", "-"},
		{"job-4", "-", "canceled", "1", "0/0/0", "2026-11-30T13:00:00Z", "1s", "-"},
		{"job-5", "queued", "created", "1", "0/0/0", "-", "-", "-"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "JOB NAME STATE ATTEMPT SUBTASKS RUN/DONE/ALL STARTED DURATION ROOT CAUSE" {
		t.Errorf("header %q", lines[0])
	}
	if n := len([]rune(cause)); n != rootCauseWidth || !strings.HasPrefix(cause, "subtask tokenize[1] on container_") || !strings.HasSuffix(cause, "…") {
		t.Errorf("shortened root cause %q (%d runes)", cause, n)
	}
	// Every row's columns start where the header's do.
	for _, l := range lines[1:] {
		if i := strings.Index(lines[0], "STATE"); l[i-1] != ' ' || l[i] == ' ' {
			t.Errorf("row %q is not aligned with the header", l)
		}
	}
}

func TestShortText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven runes", 11, "eleven run…"},
		{"  a\tb\r\nc  ", 10, "a b c"},
		{"ctl\x1b[31m", 20, "ctl?[31m"},
		{"ééééé", 3, "éé…"},
	} {
		if got := shortText(tc.in, tc.n); got != tc.want {
			t.Errorf("shortText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

package yarn

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAMExitStatus(t *testing.T) {
	for _, tc := range []struct {
		diag   string
		status int
		ok     bool
	}{
		{"AM Container for appattempt_1_0001_000001 exited with  exitCode: 7\nFailing this attempt.", 7, true},
		{"Application application_1_0001 failed 2 times due to AM Container for appattempt_1_0001_000001 exited with  exitCode: 1\n... AM Container for appattempt_1_0001_000002 exited with  exitCode: -104\n", -104, true},
		{"Application killed by user.", 0, false},
		{"", 0, false},
		{"exitCode: 99999999999999999999", 0, false},
	} {
		s, ok := AMExitStatus(tc.diag)
		if s != tc.status || ok != tc.ok {
			t.Errorf("AMExitStatus(%q) = %d, %v; want %d, %v", tc.diag, s, ok, tc.status, tc.ok)
		}
	}
}

func TestQueuesFlattensTheTree(t *testing.T) {
	tree := QueueInfo{Name: "root", Path: "root", Children: []QueueInfo{
		{Name: "default", Path: "root.default"},
		{Name: "eng", Children: []QueueInfo{{Name: "etl"}}},
	}}
	var asked []string
	info := func(_ context.Context, q string, children, recursive bool) (QueueInfo, error) {
		asked = append(asked, q)
		if q != "root" || !children || !recursive {
			t.Errorf("QueueInfo(%q, %v, %v), want root with children recursively", q, children, recursive)
		}
		return tree, nil
	}
	got, err := queues(context.Background(), info)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueInfo{
		{Name: "root", Path: "root"},
		{Name: "default", Path: "root.default"},
		{Name: "eng", Path: "root.eng"},
		{Name: "etl", Path: "root.eng.etl"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("queues (-want +got):\n%s", d)
	}
}

func TestQueueUnknown(t *testing.T) {
	info := func(context.Context, string, bool, bool) (QueueInfo, error) { return QueueInfo{}, nil }
	if _, err := queue(context.Background(), info, "nosuch", QueueOptions{}); !errors.Is(err, ErrQueueNotFound) {
		t.Errorf("queue(nosuch) = %v, want ErrQueueNotFound", err)
	}
	if _, err := queue(context.Background(), info, "", QueueOptions{}); !errors.Is(err, ErrQueueNotFound) {
		t.Errorf("queue(\"\") = %v, want ErrQueueNotFound", err)
	}
	// Recursive means nothing without Children.
	info = func(_ context.Context, _ string, children, recursive bool) (QueueInfo, error) {
		if recursive && !children {
			t.Error("recursive without children")
		}
		return QueueInfo{Name: "a"}, nil
	}
	if _, err := queue(context.Background(), info, "a", QueueOptions{Recursive: true}); err != nil {
		t.Fatal(err)
	}
}

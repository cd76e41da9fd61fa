package jobgraph

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The key groups of a few keys are pinned: producers and consumers in
// different processes must agree on them.
func TestKeyGroupPinned(t *testing.T) {
	got := map[string]int{}
	for _, k := range []string{"", "a", "the", "wörd", "hadoop"} {
		got[k] = KeyGroup([]byte(k))
	}
	// Computed independently: FNV-1a 64, then the murmur3 fmix64 finalizer,
	// modulo KeyGroups.
	want := map[string]int{"": 10534, "a": 20059, "the": 31537, "wörd": 5777, "hadoop": 27418}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key groups changed (-pinned +got):\n%s", diff)
	}
}

func TestSubtaskForKey(t *testing.T) {
	for _, p := range []int{1, 2, 7, 16, MaxParallelism} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			const keys = 50000
			counts := make([]int, p)
			owner := map[int]int{} // key group -> subtask
			for i := range keys {
				k := []byte(fmt.Sprintf("word-%d", i))
				s := SubtaskForKey(k, p)
				if s < 0 || s >= p {
					t.Fatalf("SubtaskForKey(%q, %d) = %d", k, p, s)
				}
				if o, ok := owner[KeyGroup(k)]; ok && o != s {
					t.Fatalf("key group %d goes to subtasks %d and %d", KeyGroup(k), o, s)
				}
				owner[KeyGroup(k)] = s
				counts[s]++
			}
			if p > 16 {
				return // too few keys per subtask to judge the spread
			}
			for s, n := range counts {
				if want := keys / p; n < want*9/10 || n > want*11/10 {
					t.Errorf("subtask %d of %d got %d keys, want %d ± 10%%", s, p, n, want)
				}
			}
		})
	}
}

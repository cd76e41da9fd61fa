package jobmanager_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

var (
	runsMu sync.Mutex
	runs   = map[string][]int{} // "job/vertex/index" -> attempts it ran in
)

func init() {
	// test.region records each run; subtask 0 fails in attempt 0, the
	// others take a while, so that they are running when it fails.
	operator.Register("test.region", func(ctx context.Context, t *operator.Task) error {
		key := fmt.Sprintf("%s/%s/%d", t.Job, t.Vertex, t.Index)
		runsMu.Lock()
		runs[key] = append(runs[key], t.Attempt)
		runsMu.Unlock()
		if t.Vertex == "src" && t.Index == 0 && t.Attempt == 0 {
			time.Sleep(50 * time.Millisecond)
			return errors.New("region 0 fails")
		}
		if t.Vertex == "src" {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			return t.Emit(ctx, operator.Record{Key: []byte("k"), Value: []byte("v")})
		}
		return t.ForEach(ctx, func(operator.Record) error { return nil })
	})
}

// A failure restarts only the failed subtask's pipelined region: in a
// graph of forward edges each index is a region of its own, and the
// other region runs its first attempt to the end.
func TestRegionFailover(t *testing.T) {
	jm, _ := newRuntime(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &jobgraph.JobGraph{ID: "regions", Restart: jobgraph.FixedDelay(1, 10*time.Millisecond),
		Vertices: []jobgraph.Vertex{
			{ID: "src", Operator: "test.region", Parallelism: 2},
			{ID: "dst", Operator: "test.region", Parallelism: 2},
		},
		Edges: []jobgraph.Edge{{Source: "src", Target: "dst", Partitioner: jobgraph.PartitionForward}},
	}
	r, err := jm.Run(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (one restart)", r.Attempts)
	}
	runsMu.Lock()
	defer runsMu.Unlock()
	for key, want := range map[string][]int{
		"regions/src/0": {0, 1}, "regions/dst/0": {0, 1}, // the failed region, twice
		"regions/src/1": {0}, "regions/dst/1": {0}, // the other, once
	} {
		if got := runs[key]; !slices.Equal(got, want) {
			t.Errorf("%s ran in attempts %v, want %v", key, got, want)
		}
	}
}

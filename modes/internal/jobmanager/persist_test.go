package jobmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
)

// memStore is a JobStore in memory.
type memStore struct {
	mu   sync.Mutex
	jobs map[string][]byte
}

func (s *memStore) Save(id string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[id] = b
	return nil
}

func (s *memStore) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, id)
	return nil
}

func (s *memStore) Load() (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.jobs), nil
}

func (s *memStore) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jobIDs(s.jobs)
}

func jobIDs(m map[string][]byte) []string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	return out
}

// TestSessionPersistsJobs: a session stores each job it runs while it
// runs and forgets it when it ends; a session of the next attempt runs the
// stored jobs again under their ids, and numbers new jobs after them.
func TestSessionPersistsJobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stamp := time.Now().UnixNano()
	// An earlier attempt left job-7 running.
	store := &memStore{jobs: map[string][]byte{}}
	g, err := jobgraph.Encode(countGraph("", 5000, 2, jobgraph.RestartStrategy{}))
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf("job-%d", 7+stamp%1000*10) // unique across -count runs: sinks outlive a run
	b, _ := json.Marshal(jobmanager.SubmitRequest{Graph: g, Identity: "alice"})
	store.Save(old, b)

	_, p := newSession(t, 2, jobmanager.SessionConfig{MinTaskManagers: 1, MaxTaskManagers: 2, Store: store})
	deadline := time.Now().Add(30 * time.Second)
	for len(sinkOf(old, 0)) == 0 || len(store.ids()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stored job %s did not run to its end (store holds %v)", old, store.ids())
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkCounts(t, sinkOf(old, 0), want(5000))

	// A new job is numbered after it, stored while it runs, forgotten
	// once cancelled.
	cc := control.NewClient(p.jmAddr, p.client)
	defer cc.Close()
	blocked, _ := jobgraph.Encode(&jobgraph.JobGraph{Vertices: []jobgraph.Vertex{{ID: "b", Operator: "test.block", Parallelism: 1}}})
	var resp jobmanager.SubmitResponse
	if err := cc.Do(ctx, http.MethodPost, "/v1/jobs", jobmanager.SubmitRequest{Graph: blocked, Identity: "alice"}, &resp); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("job-%d", 7+stamp%1000*10+1); resp.ID != want {
		t.Errorf("the next job is %s, want %s", resp.ID, want)
	}
	if ids := store.ids(); len(ids) != 1 || ids[0] != resp.ID {
		t.Errorf("while %s runs the store holds %v", resp.ID, ids)
	}
	if err := cc.Cancel(ctx, resp.ID); err != nil {
		t.Fatal(err)
	}
	for len(store.ids()) > 0 {
		if ctx.Err() != nil {
			t.Fatalf("the cancelled job stays stored: %v", store.ids())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

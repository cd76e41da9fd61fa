package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/spindle-yarn/spindle/yarn"
)

// gatedNM holds every start until gate closes, counting the starts in
// flight, in all and by host, and their peaks.
type gatedNM struct {
	gate chan struct{}

	mu                sync.Mutex
	total, maxTotal   int
	byHost, maxByHost map[string]int
}

func newGatedNM() *gatedNM {
	return &gatedNM{gate: make(chan struct{}), byHost: map[string]int{}, maxByHost: map[string]int{}}
}

func (nm *gatedNM) Start(ctx context.Context, c yarn.Container, _ yarn.ContainerLaunchContext) error {
	h := c.NodeID.Host
	nm.mu.Lock()
	nm.total++
	nm.byHost[h]++
	nm.maxTotal = max(nm.maxTotal, nm.total)
	nm.maxByHost[h] = max(nm.maxByHost[h], nm.byHost[h])
	nm.mu.Unlock()
	defer func() {
		nm.mu.Lock()
		nm.total--
		nm.byHost[h]--
		nm.mu.Unlock()
	}()
	select {
	case <-nm.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (nm *gatedNM) inFlight() int {
	nm.mu.Lock()
	defer nm.mu.Unlock()
	return nm.total
}

// TestStartBounds: start calls in flight stay within MaxStartsPerNode on
// each node and MaxConcurrentStarts in all, and every node gets its
// share (round robin) rather than the first node's queue going first.
func TestStartBounds(t *testing.T) {
	for _, tt := range []struct {
		name            string
		global, perNode int
		wantInFlight    int
		wantPerNode     int
	}{
		{"per node", 100, 3, 9, 3},
		{"global", 5, 3, 5, 2}, // 5 over 3 nodes round robin: 2, 2, 1
	} {
		t.Run(tt.name, func(t *testing.T) {
			nm := newGatedNM()
			h := newHarness(t, Config{Profiles: []Profile{small("w", 30)}, NM: nm,
				MaxConcurrentStarts: tt.global, MaxStartsPerNode: tt.perNode}, "h1", "h2", "h3")
			h.mustBeat(nil)
			h.mustBeat(func() { h.rm.schedule(30) })
			h.settle("starts in flight", func() bool { return nm.inFlight() == tt.wantInFlight })
			for range 3 {
				h.mustBeat(nil) // nothing more may start meanwhile
			}
			nm.mu.Lock()
			maxTotal, perHost := nm.maxTotal, nm.maxByHost
			nm.mu.Unlock()
			if maxTotal != tt.wantInFlight {
				t.Errorf("%d starts in flight at most, want %d", maxTotal, tt.wantInFlight)
			}
			for _, host := range []string{"h1", "h2", "h3"} {
				if perHost[host] > tt.wantPerNode || perHost[host] == 0 {
					t.Errorf("%s had %d starts in flight at most, want 1..%d (all: %v)", host, perHost[host], tt.wantPerNode, perHost)
				}
			}
			close(nm.gate)
			h.settle("30 running", func() bool { return h.profile("w").Running == 30 })
		})
	}
}

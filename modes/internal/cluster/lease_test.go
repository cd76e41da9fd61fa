package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestClientLease: heartbeats keep the lease; silence as long as the
// timeout expires it, once, with the silence measured.
func TestClientLease(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	expired := make(chan time.Duration, 2)
	l := newClientLease(10*time.Second, clock.now, func(s time.Duration) { expired <- s })
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.watch(ctx, tick)
	}()

	// Heartbeats every 6 s for a minute: never expired.
	srv := httptest.NewServer(http.HandlerFunc(l.serveHTTP))
	defer srv.Close()
	// A bound on each heartbeat, so a hang fails here, not at the
	// binary's timeout.
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	for range 10 {
		clock.add(6 * time.Second)
		resp, err := hc.Post(srv.URL, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("heartbeat answered %d", resp.StatusCode)
		}
		tick <- clock.now()
	}
	select {
	case s := <-expired:
		t.Fatalf("the lease expired after %s although heartbeats came every 6 s", s)
	default:
	}

	// 9 s of silence: kept; 11 s: expired.
	clock.add(9 * time.Second)
	tick <- clock.now()
	select {
	case s := <-expired:
		t.Fatalf("the lease expired after %s of silence, below its 10 s", s)
	default:
	}
	clock.add(2 * time.Second)
	tick <- clock.now()
	select {
	case s := <-expired:
		if s != 11*time.Second {
			t.Errorf("expired after a silence of %s, want 11s", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lease did not expire after 11 s of silence")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watch went on after the lease expired")
	}
}

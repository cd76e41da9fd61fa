package yarn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// stuckDialer holds every dial to one address until release is closed,
// ignoring the dial's context as a misbehaving dialer might, so that
// closing the IPC client of that address waits as long; dials to other
// addresses are refused at once.
type stuckDialer struct {
	stuck   string
	entered chan struct{} // receives once per dial to stuck
	release chan struct{}
}

func (d *stuckDialer) DialContext(_ context.Context, _, addr string) (net.Conn, error) {
	if addr != d.stuck {
		return nil, errors.New("connection refused (test dialer)")
	}
	d.entered <- struct{}{}
	<-d.release
	return nil, errors.New("released (test dialer)")
}

// nmTokenSource hands out one NMToken per node; roll replaces a node's.
type nmTokenSource struct {
	mu     sync.Mutex
	tokens map[NodeID]Token
	serial int
}

func (s *nmTokenSource) roll(n NodeID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	s.tokens[n] = Token{Kind: KindNMToken, Identifier: fmt.Appendf(nil, "nm-token-%d", s.serial), Password: []byte("pw")}
}

func (s *nmTokenSource) get(n NodeID) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[n]
	return t, ok
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the client:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNMClientNoLockAcrossClose: when a node's NMToken changes while a call
// to it is still dialing, the next call to that node replaces the
// connection without closing the busy one under the client's lock, so a
// call to another node is not held up; the first call returns when its
// context ends, and the replaced connection is closed once nothing uses it.
func TestNMClientNoLockAcrossClose(t *testing.T) {
	before := runtime.NumGoroutine()
	stuck := NodeID{Host: "stuck.invalid", Port: 1}
	other := NodeID{Host: "other.invalid", Port: 2}
	d := &stuckDialer{stuck: stuck.Addr(), entered: make(chan struct{}, 4), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(d.release)
		}
	}
	defer release()
	toks := &nmTokenSource{tokens: map[NodeID]Token{}}
	toks.roll(stuck)
	toks.roll(other)
	nm, err := NewNMClient(NMConfig{NMTokens: toks.get, Dialer: d})
	if err != nil {
		t.Fatal(err)
	}
	ctrOn := func(n NodeID) Container { return Container{ID: testCID, NodeID: n} }

	// A call to the stuck node, dialing until its context ends.
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	done1 := make(chan error, 1)
	go func() {
		_, err := nm.Status(ctx1, ctrOn(stuck))
		done1 <- err
	}()
	<-d.entered

	// The RM rolls the node's NMToken: the next call replaces the
	// connection (and dials again, getting stuck too, until its short
	// context ends).
	toks.roll(stuck)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	done2 := make(chan error, 1)
	go func() {
		_, err := nm.Status(ctx2, ctrOn(stuck))
		done2 <- err
	}()
	select {
	case err := <-done2:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call on the replacing connection: %v, want its deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call after the NMToken changed is stuck: the busy connection was closed under the lock")
	}

	// Another node is not held up by anything of the stuck node's.
	ctx3, cancel3 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel3()
	done3 := make(chan error, 1)
	go func() {
		_, err := nm.Status(ctx3, ctrOn(other))
		done3 <- err
	}()
	select {
	case err := <-done3:
		if err == nil {
			t.Fatal("call to a node whose dials are refused succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call to another node waited for the stuck node")
	}

	// The first call returns when its context ends, without waiting for
	// its (now replaced) connection to close.
	cancel1()
	select {
	case err := <-done1:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first call: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first call did not return after its context ended")
	}

	release()
	if err := nm.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

// TestNMClientConcurrentTokenRolls: calls to several nodes from many
// goroutines while their NMTokens roll, then Close; run with -race, it
// finds unguarded state, and every replaced connection is closed.
func TestNMClientConcurrentTokenRolls(t *testing.T) {
	before := runtime.NumGoroutine()
	nodes := []NodeID{{"a.invalid", 1}, {"b.invalid", 2}, {"c.invalid", 3}}
	toks := &nmTokenSource{tokens: map[NodeID]Token{}}
	for _, n := range nodes {
		toks.roll(n)
	}
	d := &stuckDialer{stuck: "none", release: make(chan struct{})} // refuses every dial
	nm, err := NewNMClient(NMConfig{NMTokens: toks.get, Dialer: d})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				n := nodes[(g+i)%len(nodes)]
				if i%5 == g%5 {
					toks.roll(n)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				if _, err := nm.Status(ctx, Container{ID: testCID, NodeID: n}); err == nil {
					t.Error("a call to a refusing node succeeded")
				}
				cancel()
			}
		})
	}
	wg.Wait()
	if err := nm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := nm.Status(context.Background(), Container{ID: testCID, NodeID: nodes[0]}); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
	waitGoroutines(t, before)
}

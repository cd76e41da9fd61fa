package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
)

func TestNewChecksConfig(t *testing.T) {
	newClient := func(Target, *ipc.Identity) (*ipc.Client, error) { return nil, errors.New("unused") }
	if _, err := New(Config{NewClient: newClient}); err == nil {
		t.Error("New accepted no targets")
	}
	if _, err := New(Config{Targets: []Target{{Addr: "h:1"}}}); err == nil {
		t.Error("New accepted no NewClient")
	}
	ts := []Target{{ID: "rm1", Addr: "h:1"}}
	s, err := New(Config{Targets: ts, NewClient: newClient})
	if err != nil {
		t.Fatal(err)
	}
	ts[0].Addr = "changed"
	if s.Current().String() != "rm1 (h:1)" || s.cfg.Timeout != 60*time.Second || len(s.ClientID()) != 16 {
		t.Errorf("Current %s, Timeout %s, client id %x", s.Current(), s.cfg.Timeout, s.ClientID())
	}
	s.Close()
	if _, err := s.client(0); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestNoActiveError(t *testing.T) {
	sentinel := errors.New("yarn: no active ResourceManager")
	last := errors.New("connection refused")
	e := &NoActiveError{Service: "ResourceManager", Elapsed: 1500 * time.Millisecond,
		Tried: []string{"rm1 (a:1): standby", "rm2 (b:1): connection refused"}, Last: last, is: sentinel}
	want := "yarn: no active ResourceManager after 1.5s; tried rm1 (a:1): standby; rm2 (b:1): connection refused"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, sentinel) || !errors.Is(e, last) {
		t.Error("does not match the sentinel and the last error")
	}
	e.is = nil
	if !strings.HasPrefix(e.Error(), "no active ResourceManager after") {
		t.Errorf("without a sentinel: %q", e.Error())
	}
}

// fakeServer is an ipctest server that answers every call alike and
// records each call's method, client id, call id and retry count.
type fakeServer struct {
	Addr string

	mu    sync.Mutex
	calls []seen
}

// seen is one call a fakeServer received.
type seen struct {
	Method, ClientID string
	ID, Retry        int32
}

func serve(t *testing.T, r ipctest.Reply) *fakeServer {
	f := &fakeServer{}
	f.Addr = ipctest.NewServer(t, ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
		f.mu.Lock()
		f.calls = append(f.calls, seen{Method: c.Method, ClientID: string(c.ClientID), ID: c.ID, Retry: c.RetryCount})
		f.mu.Unlock()
		return r
	})).Addr
	return f
}

func (f *fakeServer) Calls() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.calls...)
}

// standby is a standby's answer to every call.
var standby = ipctest.Throw("org.apache.hadoop.ipc.StandbyException", "Operation category READ is not supported in state standby")

var errNoActiveTest = errors.New("no active test server")

// newSet makes a Set over addrs whose clients repeat nothing by themselves
// (MaxRetries -1), so each server sees exactly the copies the Set sends.
func newSet(t *testing.T, addrs []string, idempotent map[string]bool, edit func(*Config)) (*Set, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var ts []Target
	for i, a := range addrs {
		ts = append(ts, Target{ID: string(rune('a' + i)), Addr: a})
	}
	cfg := Config{
		Service: "TestServer",
		Targets: ts,
		NewClient: func(tg Target, id *ipc.Identity) (*ipc.Client, error) {
			return ipc.New(ipc.Config{
				Addr: tg.Addr, Protocol: "test.Protocol", Auth: ipc.Auth{User: "alice"},
				Idempotent: idempotent, Identity: id, MaxRetries: -1,
			})
		},
		Timeout:     5 * time.Second,
		Backoff:     10 * time.Millisecond,
		Metrics:     NewMetrics(reg, "test", "TestServer"),
		ErrNoActive: errNoActiveTest,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

func setContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSetFailsOverIdempotentCall: the first server drops the connection
// under an idempotent call; the Set sends it to the second with the same
// client id and call id and retry count 1, counts one failover, and the
// next call goes on from the same call id sequence.
func TestSetFailsOverIdempotentCall(t *testing.T) {
	a := serve(t, ipctest.Drop())
	b := serve(t, ipctest.Reply{})
	s, reg := newSet(t, []string{a.Addr, b.Addr}, map[string]bool{"rename2": true}, nil)
	ctx := setContext(t)
	for range 2 {
		if err := s.Call(ctx, "rename2", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	id := string(s.ClientID())
	wantA := []seen{{Method: "rename2", ClientID: id, ID: 0, Retry: 0}}
	wantB := []seen{
		{Method: "rename2", ClientID: id, ID: 0, Retry: 1},
		{Method: "rename2", ClientID: id, ID: 1, Retry: 0},
	}
	if got := a.Calls(); !equalCalls(got, wantA) {
		t.Errorf("first server got %+v, want %+v", got, wantA)
	}
	if got := b.Calls(); !equalCalls(got, wantB) {
		t.Errorf("second server got %+v, want %+v", got, wantB)
	}
	if s.Failovers() != 1 || s.Current().Addr != b.Addr {
		t.Errorf("%d failovers, on %s; want 1, on %s", s.Failovers(), s.Current(), b.Addr)
	}
	if got := counterValue(t, reg, "spindle_test_failovers_total"); got != 1 {
		t.Errorf("failovers_total %v, want 1", got)
	}
}

// TestSetKeepsMaybeExecutedCall: the first server drops the connection
// under a non-idempotent call, which it may have executed. The Set returns
// the error and never sends the call to the second server.
func TestSetKeepsMaybeExecutedCall(t *testing.T) {
	a := serve(t, ipctest.Drop())
	b := serve(t, ipctest.Reply{})
	s, _ := newSet(t, []string{a.Addr, b.Addr}, map[string]bool{"getFileInfo": true}, nil)
	err := s.Call(setContext(t), "getDelegationToken", &emptypb.Empty{}, &emptypb.Empty{})
	var ce *ipc.ConnError
	if !errors.As(err, &ce) || errors.Is(err, errNoActiveTest) {
		t.Fatalf("got %v, want the first server's *ConnError", err)
	}
	if n := len(a.Calls()); n != 1 {
		t.Errorf("first server got %d copies, want 1", n)
	}
	if got := b.Calls(); len(got) != 0 {
		t.Errorf("a maybe-executed non-idempotent call went to the second server: %+v", got)
	}
	if s.Failovers() != 0 {
		t.Errorf("%d failovers, want 0", s.Failovers())
	}
}

// TestSetFailsOverNeverExecutedCall: a non-idempotent call goes to the
// next server when the first provably did not run it: a standby refused
// it (the next server sees retry count 1), or the dial failed (retry
// count 0: no copy reached a server).
func TestSetFailsOverNeverExecutedCall(t *testing.T) {
	for _, tt := range []struct {
		name      string
		standby   bool
		wantRetry int32
	}{{"standby", true, 1}, {"refused", false, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			addrA := refusedAddr(t)
			if tt.standby {
				addrA = serve(t, standby).Addr
			}
			b := serve(t, ipctest.Reply{})
			s, _ := newSet(t, []string{addrA, b.Addr}, nil, nil)
			if err := s.Call(setContext(t), "allocate", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				t.Fatal(err)
			}
			want := []seen{{Method: "allocate", ClientID: string(s.ClientID()), ID: 0, Retry: tt.wantRetry}}
			if got := b.Calls(); !equalCalls(got, want) {
				t.Errorf("second server got %+v, want %+v", got, want)
			}
			if s.Failovers() != 1 {
				t.Errorf("%d failovers, want 1", s.Failovers())
			}
		})
	}
}

// TestSetNoActive: with every server a standby, a call fails after the
// timeout with a *NoActiveError that names each server, matches the
// sentinel and the standby error, and is counted as no_active.
func TestSetNoActive(t *testing.T) {
	a := serve(t, standby)
	b := serve(t, standby)
	const timeout = 400 * time.Millisecond
	s, reg := newSet(t, []string{a.Addr, b.Addr}, nil, func(c *Config) { c.Timeout = timeout })
	start := time.Now()
	err := s.Call(setContext(t), "submitApplication", &emptypb.Empty{}, &emptypb.Empty{})
	took := time.Since(start)
	var nae *NoActiveError
	if !errors.As(err, &nae) || !errors.Is(err, errNoActiveTest) || !errors.Is(err, ipc.ErrStandby) {
		t.Fatalf("got %v, want a *NoActiveError matching the sentinel and ErrStandby", err)
	}
	for _, srv := range []string{a.Addr, b.Addr} {
		if !strings.Contains(err.Error(), srv) {
			t.Errorf("error does not name %s: %v", srv, err)
		}
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("gave up after %s, want just over %s", took, timeout)
	}
	// One call id throughout, its retry count going up by one a copy.
	calls := append(a.Calls(), b.Calls()...)
	retries := map[int32]bool{}
	for _, c := range calls {
		if c.ID != 0 || retries[c.Retry] {
			t.Errorf("copy %+v: want call id 0 and a retry count not seen before", c)
		}
		retries[c.Retry] = true
	}
	if len(calls) < 4 || s.Failovers() < 3 {
		t.Errorf("%d copies, %d failovers: want several rounds", len(calls), s.Failovers())
	}
	if got := counterValue(t, reg, "spindle_test_requests_total", "submitApplication", "no_active"); got != 1 {
		t.Errorf("requests_total{no_active} %v, want 1", got)
	}
}

// TestSetLoneTarget: alone, an unreachable server fails the call at once
// unless RetryAlone asks to wait for it.
func TestSetLoneTarget(t *testing.T) {
	addr := refusedAddr(t)
	s, _ := newSet(t, []string{addr}, nil, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	start := time.Now()
	err := s.Call(setContext(t), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if err == nil || errors.Is(err, errNoActiveTest) || time.Since(start) > 200*time.Millisecond {
		t.Errorf("alone: %v after %s, want the dial error at once", err, time.Since(start))
	}
	s, _ = newSet(t, []string{addr}, nil, func(c *Config) { c.Timeout = 300 * time.Millisecond; c.RetryAlone = true })
	start = time.Now()
	err = s.Call(setContext(t), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if !errors.Is(err, errNoActiveTest) || time.Since(start) < 300*time.Millisecond {
		t.Errorf("RetryAlone: %v after %s, want no active after the timeout", err, time.Since(start))
	}
}

func equalCalls(a, b []seen) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// counterValue returns the counter name with label values from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := len(m.GetLabel()) == len(labels)
			for i, l := range m.GetLabel() {
				match = match && l.GetValue() == labels[i]
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v in the registry", name, labels)
	return 0
}

// TestSetReset: Reset closes the clients under a call in progress; a call
// that may be repeated is asked again of the same server on a new
// connection, with its call id and the next retry count, and counts no
// failover. One that may have run is not.
func TestSetReset(t *testing.T) {
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprint("idempotent=", idempotent), func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			arrived := make(chan struct{}, 2)
			srv := ipctest.NewServer(t, ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("conn=%d id=%d retry=%d", c.Conn, c.ID, c.RetryCount))
				mu.Unlock()
				arrived <- struct{}{}
				if c.Conn == 0 {
					return ipctest.NoReply()
				}
				return ipctest.Reply{}
			}))
			s, _ := newSet(t, []string{srv.Addr}, map[string]bool{"m": idempotent}, nil)
			done := make(chan error, 1)
			go func() { done <- s.Call(setContext(t), "m", &emptypb.Empty{}, &emptypb.Empty{}) }()
			<-arrived
			s.Reset()
			err := <-done
			mu.Lock()
			defer mu.Unlock()
			if !idempotent {
				if !errors.Is(err, ipc.ErrClosed) || len(seen) != 1 {
					t.Errorf("got %v after %q, want ErrClosed after one copy", err, seen)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"conn=0 id=0 retry=0", "conn=1 id=0 retry=1"}
			if !slices.Equal(seen, want) || s.Failovers() != 0 {
				t.Errorf("copies %q, %d failovers; want %q, 0", seen, s.Failovers(), want)
			}
		})
	}
}

// TestRounds: no wait within a round, a doubling wait after each, false
// once the timeout has passed (after one last round at the deadline), and
// ctx's error when ctx ends during a wait.
func TestRounds(t *testing.T) {
	start := time.Now()
	r := NewRounds(2, 250*time.Millisecond, 40*time.Millisecond, 80*time.Millisecond)
	var waits []time.Duration
	for i := 0; ; i++ {
		before := time.Now()
		more, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		if d := time.Since(before); i%2 == 0 && d > 20*time.Millisecond {
			t.Errorf("try %d: waited %s within a round", i, d)
		} else if i%2 == 1 {
			waits = append(waits, d.Round(10*time.Millisecond))
		}
		if i > 100 {
			t.Fatal("Rounds never ended")
		}
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("ended after %s, want just over 250ms", took)
	}
	if len(waits) < 3 || waits[0] < 40*time.Millisecond || waits[1] < 80*time.Millisecond || waits[2] < 80*time.Millisecond {
		t.Errorf("waits %v, want 40ms, then 80ms (capped)", waits)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = NewRounds(1, time.Minute, time.Second, 0)
	if more, err := r.Next(ctx); more || err != context.Canceled {
		t.Errorf("with ctx cancelled: %v, %v", more, err)
	}
}

package ipc_test

// The failover.Set tests live here, beside the fake server they need
// (lent by fakeserver_export_test.go), because package failover imports
// ipc and so its tests cannot reach package ipc's test files.

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spindle-yarn/spindle/internal/failover"
	"github.com/spindle-yarn/spindle/internal/ipc"
)

var errNoActiveTest = errors.New("no active test server")

// newSet makes a Set over addrs whose clients repeat nothing by themselves
// (MaxRetries -1), so each server sees exactly the copies the Set sends.
func newSet(t *testing.T, addrs []string, idempotent map[string]bool, edit func(*failover.Config)) (*failover.Set, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var ts []failover.Target
	for i, a := range addrs {
		ts = append(ts, failover.Target{ID: string(rune('a' + i)), Addr: a})
	}
	cfg := failover.Config{
		Service: "TestServer",
		Targets: ts,
		NewClient: func(tg failover.Target, id *ipc.Identity) (*ipc.Client, error) {
			return ipc.New(ipc.Config{
				Addr: tg.Addr, Protocol: "test.Protocol", Auth: ipc.Auth{User: "alice"},
				Idempotent: idempotent, Identity: id, MaxRetries: -1,
			})
		},
		Timeout:     5 * time.Second,
		Backoff:     10 * time.Millisecond,
		Metrics:     failover.NewMetrics(reg, "test", "TestServer"),
		ErrNoActive: errNoActiveTest,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := failover.New(cfg)
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
	a := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerDrop })
	b := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerOK })
	s, reg := newSet(t, []string{a.Addr(), b.Addr()}, map[string]bool{"rename2": true}, nil)
	ctx := setContext(t)
	for range 2 {
		if err := s.Call(ctx, "rename2", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	id := string(s.ClientID())
	wantA := []ipc.FakeCall{{Method: "rename2", ClientID: id, CallID: 0, RetryCount: 0}}
	wantB := []ipc.FakeCall{
		{Method: "rename2", ClientID: id, CallID: 0, RetryCount: 1},
		{Method: "rename2", ClientID: id, CallID: 1, RetryCount: 0},
	}
	if got := a.Calls(); !equalCalls(got, wantA) {
		t.Errorf("first server got %+v, want %+v", got, wantA)
	}
	if got := b.Calls(); !equalCalls(got, wantB) {
		t.Errorf("second server got %+v, want %+v", got, wantB)
	}
	if s.Failovers() != 1 || s.Current().Addr != b.Addr() {
		t.Errorf("%d failovers, on %s; want 1, on %s", s.Failovers(), s.Current(), b.Addr())
	}
	if got := counterValue(t, reg, "spindle_test_failovers_total"); got != 1 {
		t.Errorf("failovers_total %v, want 1", got)
	}
}

// TestSetKeepsMaybeExecutedCall: the first server drops the connection
// under a non-idempotent call, which it may have executed. The Set returns
// the error and never sends the call to the second server.
func TestSetKeepsMaybeExecutedCall(t *testing.T) {
	a := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerDrop })
	b := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerOK })
	s, _ := newSet(t, []string{a.Addr(), b.Addr()}, map[string]bool{"getFileInfo": true}, nil)
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
				addrA = ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerStandby }).Addr()
			}
			b := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerOK })
			s, _ := newSet(t, []string{addrA, b.Addr()}, nil, nil)
			if err := s.Call(setContext(t), "allocate", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				t.Fatal(err)
			}
			want := []ipc.FakeCall{{Method: "allocate", ClientID: string(s.ClientID()), CallID: 0, RetryCount: tt.wantRetry}}
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
	a := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerStandby })
	b := ipc.NewFakeServer(t, func(ipc.FakeCall) ipc.FakeAnswer { return ipc.AnswerStandby })
	const timeout = 400 * time.Millisecond
	s, reg := newSet(t, []string{a.Addr(), b.Addr()}, nil, func(c *failover.Config) { c.Timeout = timeout })
	start := time.Now()
	err := s.Call(setContext(t), "submitApplication", &emptypb.Empty{}, &emptypb.Empty{})
	took := time.Since(start)
	var nae *failover.NoActiveError
	if !errors.As(err, &nae) || !errors.Is(err, errNoActiveTest) || !errors.Is(err, ipc.ErrStandby) {
		t.Fatalf("got %v, want a *NoActiveError matching the sentinel and ErrStandby", err)
	}
	for _, srv := range []string{a.Addr(), b.Addr()} {
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
		if c.CallID != 0 || retries[c.RetryCount] {
			t.Errorf("copy %+v: want call id 0 and a retry count not seen before", c)
		}
		retries[c.RetryCount] = true
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
	s, _ := newSet(t, []string{addr}, nil, func(c *failover.Config) { c.Timeout = 300 * time.Millisecond })
	start := time.Now()
	err := s.Call(setContext(t), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if err == nil || errors.Is(err, errNoActiveTest) || time.Since(start) > 200*time.Millisecond {
		t.Errorf("alone: %v after %s, want the dial error at once", err, time.Since(start))
	}
	s, _ = newSet(t, []string{addr}, nil, func(c *failover.Config) { c.Timeout = 300 * time.Millisecond; c.RetryAlone = true })
	start = time.Now()
	err = s.Call(setContext(t), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if !errors.Is(err, errNoActiveTest) || time.Since(start) < 300*time.Millisecond {
		t.Errorf("RetryAlone: %v after %s, want no active after the timeout", err, time.Since(start))
	}
}

func equalCalls(a, b []ipc.FakeCall) bool {
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

package ipc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
)

func TestIsFailover(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"standby", &RemoteError{Class: "org.apache.hadoop.ipc.StandbyException"}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection lost", &ConnError{Addr: "rm:8032", Op: "read", Err: errors.New("EOF")}, true},
		{"bad credentials", &ConnError{Addr: "rm:8032", Op: "sasl", Err: ErrUnauthorized}, false},
		{"invalid token", &RemoteError{Class: "org.apache.hadoop.security.token.SecretManager$InvalidToken"}, false},
		{"application error", &RemoteError{Class: "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"}, false},
		{"client closed", &ConnError{Addr: "rm:8032", Op: "close", Err: ErrClosed}, false},
		{"call timed out", fmt.Errorf("ipc: m: %w", ErrCallTimeout), true},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsFailover(tt.err); got != tt.want {
			t.Errorf("%s: IsFailover(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestCallTimeout: a server that takes a call and then only reads (pings
// included) never answers; without a context deadline the call ends after
// Config.CallTimeout with ErrCallTimeout, while a context deadline, even
// a longer one, replaces that bound.
func TestCallTimeout(t *testing.T) {
	var calls, pings atomic.Int32
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		for {
			pkt, err := s.readRaw()
			if err != nil {
				return // the client closed the connection
			}
			req, err := decodeRequest(pkt)
			if err != nil {
				t.Errorf("server: %v", err)
				return
			}
			if req.header.GetCallId() == callIDPing {
				pings.Add(1)
			} else {
				calls.Add(1)
			}
		}
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.CallTimeout = 300 * time.Millisecond
		cfg.PingInterval = 50 * time.Millisecond
	})
	start := time.Now()
	err := c.Call(context.Background(), "m", &emptypb.Empty{}, &emptypb.Empty{})
	took := time.Since(start)
	if !errors.Is(err, ErrCallTimeout) || !IsFailover(err) {
		t.Fatalf("got %v, want ErrCallTimeout (a failover error)", err)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %s, want about 300ms", took)
	}
	if pings.Load() == 0 {
		t.Error("no pings while the call waited")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = c.Call(ctx, "m", &emptypb.Empty{}, &emptypb.Empty{})
	if err != context.DeadlineExceeded || time.Since(start) < 700*time.Millisecond {
		t.Errorf("with a context deadline: %v after %s, want context.DeadlineExceeded after 700ms", err, time.Since(start))
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("server saw %d calls, want 2", n)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a timed-out call leaves the connection open", n)
	}
}

func TestCallTimeoutDefault(t *testing.T) {
	for _, tt := range []struct{ set, want time.Duration }{
		{0, DefaultCallTimeout}, {time.Second, time.Second}, {-1, -1},
	} {
		c := newTestClient(t, "127.0.0.1:1", func(cfg *Config) { cfg.CallTimeout = tt.set })
		if c.cfg.CallTimeout != tt.want {
			t.Errorf("CallTimeout %s gives %s, want %s", tt.set, c.cfg.CallTimeout, tt.want)
		}
	}
	if DefaultCallTimeout != 120*time.Second {
		t.Errorf("DefaultCallTimeout %s, want Hadoop's ipc.client.rpc-timeout.ms default, 120s", DefaultCallTimeout)
	}
}

// TestCallAcrossClients: Clients sharing an Identity number calls from one
// sequence under one client id; a Call sent to a second Client keeps its
// call id and its retry count goes on. Whether it may go there depends on
// what the first server may have done with it.
func TestCallAcrossClients(t *testing.T) {
	id := mustIdentity(t)
	tests := []struct {
		name       string
		first      ipctest.Reply // ignored when refused
		refused    bool          // the first server cannot be dialed
		idempotent bool
		wantMay    bool
		wantRetry  int32 // the retry count the second server sees
	}{
		{"dropped, idempotent", ipctest.Drop(), false, true, true, 1},
		{"dropped, not idempotent", ipctest.Drop(), false, false, false, 1},
		{"standby, not idempotent", ipctest.Throw("org.apache.hadoop.ipc.StandbyException", "standby"), false, false, true, 1},
		{"refused, not idempotent", ipctest.Reply{}, true, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []*ipctest.Call
			record := func(r ipctest.Reply) ipctest.Handler {
				return ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
					mu.Lock()
					seen = append(seen, c)
					mu.Unlock()
					return r
				})
			}
			a := ipctest.NewServer(t, record(tt.first))
			b := ipctest.NewServer(t, record(ipctest.Reply{}))
			if tt.refused {
				a.Close()
			}
			edit := func(cfg *Config) {
				cfg.Identity = id
				cfg.MaxRetries = -1
				cfg.Idempotent = map[string]bool{"m": tt.idempotent}
			}
			ca := newTestClient(t, a.Addr, edit)
			cb := newTestClient(t, b.Addr, edit)
			ctx := testContext(t, 10*time.Second)
			call := &Call{Method: "m"}
			err := ca.Do(ctx, call, &emptypb.Empty{}, &emptypb.Empty{})
			if err == nil {
				t.Fatal("first server: no error")
			}
			if got := call.MayFailover(err); got != tt.wantMay {
				t.Fatalf("MayFailover(%v) = %v, want %v", err, got, tt.wantMay)
			}
			if !tt.wantMay {
				return
			}
			if err := cb.Do(ctx, call, &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if n := len(seen); n != 1+int(tt.wantRetry) {
				t.Fatalf("servers saw %d copies, want %d", n, 1+tt.wantRetry)
			}
			for i, c := range seen {
				if c.ID != call.ID() || string(c.ClientID) != string(id.ClientID()) || c.RetryCount != int32(i) {
					t.Errorf("copy %d: call id %d, client id %x, retry count %d; want %d, %x, %d",
						i, c.ID, c.ClientID, c.RetryCount, call.ID(), id.ClientID(), i)
				}
			}
		})
	}
	// The Clients drew every call id from the one sequence.
	if next := id.nextCallID(); next != int32(len(tests)) {
		t.Errorf("next call id %d, want %d", next, len(tests))
	}
}

func TestCallOfAnotherIdentity(t *testing.T) {
	srv := ipctest.NewServer(t, ipctest.HandlerFunc(func(*ipctest.Call) ipctest.Reply { return ipctest.Reply{} }))
	ca := newTestClient(t, srv.Addr, nil)
	cb := newTestClient(t, srv.Addr, nil)
	ctx := testContext(t, 10*time.Second)
	call := &Call{Method: "m"}
	if err := ca.Do(ctx, call, &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := cb.Do(ctx, call, &emptypb.Empty{}, &emptypb.Empty{}); err == nil {
		t.Error("a call numbered by one Identity was sent by a Client of another")
	}
	if _, err := New(Config{Addr: "h:1", Protocol: "p", Auth: Auth{User: "u"}, ClientID: make([]byte, 16), Identity: mustIdentity(t)}); err == nil {
		t.Error("New accepted a ClientID that is not the Identity's")
	}
}

func mustIdentity(t *testing.T) *Identity {
	id, err := NewIdentity(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

package ipc

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
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
	srv := NewFakeServer(t, func(FakeCall) FakeAnswer { return AnswerNothing })
	c := newTestClient(t, srv.Addr(), func(cfg *Config) {
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
	if srv.Pings() == 0 {
		t.Error("no pings while the call waited: the server was not shown alive")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = c.Call(ctx, "m", &emptypb.Empty{}, &emptypb.Empty{})
	if err != context.DeadlineExceeded || time.Since(start) < 700*time.Millisecond {
		t.Errorf("with a context deadline: %v after %s, want context.DeadlineExceeded after 700ms", err, time.Since(start))
	}
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("server saw %d calls, want 2", n)
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
	id, err := NewIdentity(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		first      FakeAnswer // or a refused dial when refused
		refused    bool
		idempotent bool
		wantMay    bool
		wantRetry  int32 // the retry count the second server sees
	}{
		{"dropped, idempotent", AnswerDrop, false, true, true, 1},
		{"dropped, not idempotent", AnswerDrop, false, false, false, 1},
		{"standby, not idempotent", AnswerStandby, false, false, true, 1},
		{"refused, not idempotent", 0, true, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewFakeServer(t, func(FakeCall) FakeAnswer { return tt.first })
			b := NewFakeServer(t, func(FakeCall) FakeAnswer { return AnswerOK })
			addrA := a.Addr()
			if tt.refused {
				a.f.ln.Close()
				a.f.wg.Wait()
			}
			edit := func(cfg *Config) {
				cfg.Identity = id
				cfg.MaxRetries = -1
				cfg.Idempotent = map[string]bool{"m": tt.idempotent}
			}
			ca := newTestClient(t, addrA, edit)
			cb := newTestClient(t, b.Addr(), edit)
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
			calls := append(a.Calls(), b.Calls()...)
			if n := len(calls); n != 1+int(tt.wantRetry) {
				t.Fatalf("servers saw %d copies: %+v", n, calls)
			}
			got := calls[len(calls)-1]
			want := FakeCall{Method: "m", ClientID: string(id.ClientID()), CallID: call.ID(), RetryCount: tt.wantRetry}
			if got != want {
				t.Errorf("second server got %+v, want %+v", got, want)
			}
			if len(calls) == 2 && (calls[0].CallID != got.CallID || calls[0].ClientID != got.ClientID || calls[0].RetryCount != 0) {
				t.Errorf("first server got %+v, second %+v: want one client id and call id, retry 0 then 1", calls[0], got)
			}
		})
	}
	// The Clients drew every call id from the one sequence.
	if next := id.nextCallID(); next != int32(len(tests)) {
		t.Errorf("next call id %d, want %d", next, len(tests))
	}
}

func TestCallOfAnotherIdentity(t *testing.T) {
	srv := NewFakeServer(t, func(FakeCall) FakeAnswer { return AnswerOK })
	ca := newTestClient(t, srv.Addr(), nil)
	cb := newTestClient(t, srv.Addr(), nil)
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

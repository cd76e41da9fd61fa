package yarn_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/yarn"
)

// Unit tests of AMClient against fake ResourceManagers (package ipctest):
// the RM's side of the faults an AM must survive, which the test bed
// produces only slowly or not at all. Every call authenticates with the
// AMRMToken over SASL DIGEST-MD5, as against a real RM.

const (
	notRegistered = "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException"
	standby       = "org.apache.hadoop.ipc.StandbyException"
)

// tokenStore holds the AMRMTokens a fake RM accepts; safe for concurrent
// use.
type tokenStore struct {
	mu        sync.Mutex
	passwords map[string][]byte
}

func newTokenStore(ts ...yarn.Token) *tokenStore {
	s := &tokenStore{passwords: map[string][]byte{}}
	for _, t := range ts {
		s.passwords[string(t.Identifier)] = t.Password
	}
	return s
}

func (s *tokenStore) password(id []byte) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passwords[string(id)]
	return p, ok
}

func amrmToken(n byte) yarn.Token {
	return yarn.Token{
		Identifier: []byte{'a', 'm', 'r', 'm', '-', n},
		Password:   []byte{'s', 'e', 'c', 'r', 'e', 't', '-', n},
		Kind:       yarn.KindAMRMToken,
	}
}

func newAMClient(t *testing.T, tok yarn.Token, rms ...yarn.RMAddress) *yarn.AMClient {
	t.Helper()
	c, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: rms, Token: tok, FailoverTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAMClientResyncAfterNotRegistered: an RM that has forgotten the
// attempt answers allocate with ApplicationMasterNotRegisteredException;
// Allocate registers again with the last registration and returns
// AMResync, and the next heartbeat starts again at response id 0.
func TestAMClientResyncAfterNotRegistered(t *testing.T) {
	tok := amrmToken(1)
	var mu sync.Mutex
	var registrations []*pb.RegisterApplicationMasterRequestProto
	var responseIDs []int32
	forgotten := true
	srv := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(c *ipctest.Call) ipctest.Reply {
			req := &pb.RegisterApplicationMasterRequestProto{}
			if err := c.Decode(req); err != nil {
				t.Error(err)
			}
			if !bytes.Equal(c.TokenIdentifier, tok.Identifier) {
				t.Errorf("register authenticated with %q, want the AMRMToken", c.TokenIdentifier)
			}
			mu.Lock()
			defer mu.Unlock()
			registrations = append(registrations, req)
			if len(registrations) == 2 {
				forgotten = false
			}
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{Queue: proto.String("default")})
		},
		"allocate": func(c *ipctest.Call) ipctest.Reply {
			req := &pb.AllocateRequestProto{}
			if err := c.Decode(req); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			responseIDs = append(responseIDs, req.GetResponseId())
			if forgotten && len(responseIDs) > 1 {
				return ipctest.Throw(notRegistered, "Application Master is trying to allocate before registering for: appattempt_1_0001_000001")
			}
			return ipctest.Respond(&pb.AllocateResponseProto{ResponseId: proto.Int32(req.GetResponseId() + 1)})
		},
	}, ipctest.WithTokens(newTokenStore(tok).password))

	c := newAMClient(t, tok, yarn.RMAddress{Scheduler: srv.Addr})
	ctx := testCtx(t)
	reg := yarn.AMRegistration{Host: "am-host", RPCPort: 4242, TrackingURL: "http://am-host:8080"}
	if _, err := c.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Allocate(ctx, yarn.AllocateRequest{}); err != nil || r.Command != 0 || r.ResponseID != 1 {
		t.Fatalf("first allocate: %+v, %v", r, err)
	}
	r, err := c.Allocate(ctx, yarn.AllocateRequest{})
	if err != nil {
		t.Fatalf("allocate to an RM that forgot the attempt: %v", err)
	}
	if r.Command != yarn.AMResync {
		t.Errorf("command %v, want AMResync", r.Command)
	}
	if c.Resyncs() != 1 {
		t.Errorf("Resyncs() = %d, want 1", c.Resyncs())
	}
	if r, err := c.Allocate(ctx, yarn.AllocateRequest{}); err != nil || r.Command != 0 {
		t.Fatalf("allocate after the resync: %+v, %v", r, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(registrations) != 2 || !proto.Equal(registrations[0], registrations[1]) ||
		registrations[1].GetHost() != "am-host" || registrations[1].GetRpcPort() != 4242 {
		t.Errorf("registrations %v: want the same one twice", registrations)
	}
	if want := []int32{0, 1, 0}; !equalInt32s(responseIDs, want) {
		t.Errorf("allocate response ids %v, want %v (back to 0 after registering again)", responseIDs, want)
	}
}

func equalInt32s(a, b []int32) bool {
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

// TestAMClientFinishRetriesUntilUnregistered: the RM acknowledges an
// unregistration only on the third finishApplicationMaster (as it does
// while the attempt's state is being saved); Finish repeats until
// isUnregistered is true. A Finish meeting an RM that forgot the attempt
// registers again first.
func TestAMClientFinishRetriesUntilUnregistered(t *testing.T) {
	tok := amrmToken(1)
	var finishes, registers atomic.Int32
	srv := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(*ipctest.Call) ipctest.Reply {
			registers.Add(1)
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
		},
		"finishApplicationMaster": func(c *ipctest.Call) ipctest.Reply {
			req := &pb.FinishApplicationMasterRequestProto{}
			if err := c.Decode(req); err != nil {
				t.Error(err)
			}
			if req.GetDiagnostics() != "all done" {
				t.Errorf("diagnostics %q", req.GetDiagnostics())
			}
			switch finishes.Add(1) {
			case 1:
				return ipctest.Throw(notRegistered, "not registered")
			case 2, 3:
				return ipctest.Respond(&pb.FinishApplicationMasterResponseProto{IsUnregistered: proto.Bool(false)})
			}
			return ipctest.Respond(&pb.FinishApplicationMasterResponseProto{IsUnregistered: proto.Bool(true)})
		},
	}, ipctest.WithTokens(newTokenStore(tok).password))

	c := newAMClient(t, tok, yarn.RMAddress{Scheduler: srv.Addr})
	ctx := testCtx(t)
	if _, err := c.Register(ctx, yarn.AMRegistration{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded, Diagnostics: "all done"}); err != nil {
		t.Fatal(err)
	}
	if n := finishes.Load(); n != 4 {
		t.Errorf("%d finishApplicationMaster calls, want 4", n)
	}
	if n := registers.Load(); n != 2 {
		t.Errorf("%d registrations, want 2 (one more after not registered)", n)
	}

	// A Finish the RM never acknowledges ends with its context.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	srv2 := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(*ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
		},
		"finishApplicationMaster": func(*ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.FinishApplicationMasterResponseProto{IsUnregistered: proto.Bool(false)})
		},
	}, ipctest.WithTokens(newTokenStore(tok).password))
	c2 := newAMClient(t, tok, yarn.RMAddress{Scheduler: srv2.Addr})
	if _, err := c2.Register(ctx, yarn.AMRegistration{}); err != nil {
		t.Fatal(err)
	}
	err := c2.Finish(short, yarn.AMUnregistration{FinalStatus: yarn.FinalFailed})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Finish never acknowledged: %v, want DeadlineExceeded", err)
	}
	if n := srv2.Calls("finishApplicationMaster"); n < 2 {
		t.Errorf("%d finishApplicationMaster calls in 300ms, want it repeated", n)
	}
}

// TestAMClientNMTokenCache: NMTokens from allocate responses are cached
// by node, a newer one replacing the older.
func TestAMClientNMTokenCache(t *testing.T) {
	tok := amrmToken(1)
	node := &pb.NodeIdProto{Host: proto.String("nm1.example.com"), Port: proto.Int32(45454)}
	nmToken := func(n byte) *pb.NMTokenProto {
		return &pb.NMTokenProto{NodeId: node, Token: &hadoopcommon.TokenProto{
			Identifier: []byte{'n', 'm', n}, Password: []byte{'p', n}, Kind: proto.String("NMToken"), Service: proto.String("nm1.example.com:45454"),
		}}
	}
	var allocs atomic.Int32
	srv := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(*ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
		},
		"allocate": func(*ipctest.Call) ipctest.Reply {
			n := allocs.Add(1)
			resp := &pb.AllocateResponseProto{ResponseId: proto.Int32(n)}
			if n <= 2 {
				resp.NmTokens = []*pb.NMTokenProto{nmToken(byte('0' + n))}
			}
			return ipctest.Respond(resp)
		},
	}, ipctest.WithTokens(newTokenStore(tok).password))
	c := newAMClient(t, tok, yarn.RMAddress{Scheduler: srv.Addr})
	ctx := testCtx(t)
	if _, err := c.Register(ctx, yarn.AMRegistration{}); err != nil {
		t.Fatal(err)
	}
	id := yarn.NodeID{Host: "nm1.example.com", Port: 45454}
	if _, ok := c.NMToken(id); ok {
		t.Fatal("NMToken before any allocate")
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Allocate(ctx, yarn.AllocateRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := c.NMToken(id)
	if !ok || string(got.Identifier) != "nm2" || string(got.Password) != "p2" {
		t.Errorf("NMToken = %q/%q, %v; want the newer nm2", got.Identifier, got.Password, ok)
	}
}

// TestAMClientFailover: the first RM is a standby; the AM's calls go to
// the second, and the failover is counted.
func TestAMClientFailover(t *testing.T) {
	tok := amrmToken(1)
	tokens := newTokenStore(tok)
	standbyRM := ipctest.NewServer(t, ipctest.HandlerFunc(func(*ipctest.Call) ipctest.Reply {
		return ipctest.Throw(standby, "Operation category WRITE is not supported in state standby")
	}), ipctest.WithTokens(tokens.password))
	activeRM := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(*ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
		},
	}, ipctest.WithTokens(tokens.password))
	c := newAMClient(t, tok,
		yarn.RMAddress{ID: "rm1", Scheduler: standbyRM.Addr},
		yarn.RMAddress{ID: "rm2", Scheduler: activeRM.Addr})
	if _, err := c.Register(testCtx(t), yarn.AMRegistration{}); err != nil {
		t.Fatal(err)
	}
	if c.Failovers() != 1 || standbyRM.Calls("registerApplicationMaster") != 1 || activeRM.Calls("registerApplicationMaster") != 1 {
		t.Errorf("failovers %d, standby saw %d, active %d; want 1, 1, 1",
			c.Failovers(), standbyRM.Calls("registerApplicationMaster"), activeRM.Calls("registerApplicationMaster"))
	}
}

// TestAMClientAMRMTokenRollover: the RM rolls its master key and hands
// out a new AMRMToken in an allocate response, then forgets the old key
// and drops its connections (a restart); the AM's next connection
// authenticates with the new token.
func TestAMClientAMRMTokenRollover(t *testing.T) {
	oldTok, newTok := amrmToken(1), amrmToken(2)
	tokens := newTokenStore(oldTok)
	var allocs atomic.Int32
	var lastID atomic.Value
	srv := ipctest.NewServer(t, ipctest.Methods{
		"registerApplicationMaster": func(c *ipctest.Call) ipctest.Reply {
			lastID.Store(string(c.TokenIdentifier))
			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
		},
		"allocate": func(c *ipctest.Call) ipctest.Reply {
			lastID.Store(string(c.TokenIdentifier))
			resp := &pb.AllocateResponseProto{ResponseId: proto.Int32(allocs.Add(1))}
			if allocs.Load() == 1 {
				tokens.mu.Lock()
				tokens.passwords[string(newTok.Identifier)] = newTok.Password
				tokens.mu.Unlock()
				resp.AmRmToken = &hadoopcommon.TokenProto{Identifier: newTok.Identifier, Password: newTok.Password,
					Kind: proto.String(yarn.KindAMRMToken), Service: proto.String("")}
			}
			return ipctest.Respond(resp)
		},
	}, ipctest.WithTokens(tokens.password))
	c := newAMClient(t, oldTok, yarn.RMAddress{Scheduler: srv.Addr})
	ctx := testCtx(t)
	if _, err := c.Register(ctx, yarn.AMRegistration{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Allocate(ctx, yarn.AllocateRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := c.Token(); !bytes.Equal(got.Identifier, newTok.Identifier) {
		t.Fatalf("Token() = %q after the roll, want %q", got.Identifier, newTok.Identifier)
	}
	tokens.mu.Lock()
	delete(tokens.passwords, string(oldTok.Identifier))
	tokens.mu.Unlock()
	srv.DropConnections()
	// registerApplicationMaster is idempotent, so it is repeated on a new
	// connection even if the client wrote it into the dropped one (an
	// allocate there would fail as maybe sent, which is not under test).
	if _, err := c.Register(ctx, yarn.AMRegistration{}); err != nil {
		t.Fatalf("register after the roll and a reconnect: %v", err)
	}
	if got := lastID.Load(); got != string(newTok.Identifier) {
		t.Errorf("reconnected with token %q, want the rolled %q", got, newTok.Identifier)
	}
	if _, err := c.Allocate(ctx, yarn.AllocateRequest{}); err != nil {
		t.Fatalf("allocate on the new connection: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

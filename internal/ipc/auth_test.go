package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// credentialSets are the SASL credentials a client can hold.
var credentialSets = []struct {
	name string
	auth func() Auth
}{
	{"token", func() Auth {
		return Auth{Token: &TokenAuth{NewClient: func(string, string) (sasl.Client, error) { return &xorMech{}, nil }}}
	}},
	{"Kerberos", func() Auth {
		return Auth{Kerberos: &KerberosAuth{Principal: "alice@EXAMPLE.COM", ServerPrincipal: "hadoop/localhost@EXAMPLE.COM",
			NewClient: func(string) (sasl.Client, error) { return &xorMech{}, nil }}}
	}},
	{"Kerberos and token", func() Auth {
		a := Auth{Kerberos: &KerberosAuth{Principal: "alice@EXAMPLE.COM", ServerPrincipal: "hadoop/localhost@EXAMPLE.COM",
			NewClient: func(string) (sasl.Client, error) { return &xorMech{}, nil }}}
		a.Token = &TokenAuth{NewClient: func(string, string) (sasl.Client, error) { return &xorMech{}, nil }}
		return a
	}},
}

// TestSimpleDowngradeRefused: a client holding any SASL credential refuses
// a server that wants SIMPLE, whether it answers NEGOTIATE with SUCCESS (a
// SIMPLE-only Hadoop server) or offers only SIMPLE, and sends nothing after
// its NEGOTIATE: no connection context, no call. The error names the
// server and the option. Without the option set, no call ever reaches the
// server unauthenticated.
func TestSimpleDowngradeRefused(t *testing.T) {
	answers := map[string]*pb.RpcSaslProto{
		"SUCCESS to NEGOTIATE": {State: pb.RpcSaslProto_SUCCESS.Enum()},
		"offer of SIMPLE only": {State: pb.RpcSaslProto_NEGOTIATE.Enum(), Auths: []*pb.RpcSaslProto_SaslAuth{
			{Method: proto.String(methodSimple), Mechanism: proto.String("")}}},
	}
	for _, creds := range credentialSets {
		for answerName, answer := range answers {
			t.Run(creds.name+"/"+answerName, func(t *testing.T) {
				after := make(chan []byte, 1)
				srv := newFakeServer(t, func(s *serverConn) {
					s.readPreamble()
					s.expect(callIDSASL)
					s.write(saslPacket(t, answer))
					// Whatever the client sends next, until it hangs up.
					s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
					var b [512]byte
					n, _ := s.r.Read(b[:])
					after <- b[:n]
				})
				c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.Auth = creds.auth() })
				err := c.Call(testContext(t, 10*time.Second), "startContainers", &emptypb.Empty{}, &emptypb.Empty{})
				var fe *SimpleFallbackError
				if !errors.As(err, &fe) || !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("got %v, want a *SimpleFallbackError matching ErrUnauthorized", err)
				}
				if fe.Addr != srv.addr() || fe.Credentials != creds.name {
					t.Errorf("error names server %q and credentials %q, want %q and %q", fe.Addr, fe.Credentials, srv.addr(), creds.name)
				}
				for _, s := range []string{srv.addr(), "ipc.client.fallback-to-simple-auth-allowed"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if b := <-after; len(b) > 0 {
					t.Errorf("client sent %d bytes after refusing SIMPLE: % x", len(b), b)
				}
				if n := srv.accepts.Load(); n != 1 {
					t.Errorf("%d connections; a refused downgrade must not be retried", n)
				}
			})
		}
	}
}

// TestSimpleDowngradeReplayedOffer replays the plain test bed RM's offer
// (TOKEN, then SIMPLE) to a client holding only Kerberos: it has no token,
// so SIMPLE is the only method it could use, and it refuses.
func TestSimpleDowngradeReplayedOffer(t *testing.T) {
	offer := recorded(t, "rm-plain-negotiate")[0]
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(offer)
		s.readRaw()
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.Auth = credentialSets[1].auth() })
	err := c.Call(testContext(t, 10*time.Second), "getClusterMetrics", &emptypb.Empty{}, &emptypb.Empty{})
	var fe *SimpleFallbackError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *SimpleFallbackError", err)
	}
}

// TestSimpleFallbackAllowed: with the option set, a token client follows a
// server's SUCCESS to SIMPLE and its call goes through, as Hadoop's client
// does with ipc.client.fallback-to-simple-auth-allowed=true.
func TestSimpleFallbackAllowed(t *testing.T) {
	var ctxReq *request
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()}))
		ctxReq = s.expect(callIDContext)
		call := s.expect(0)
		s.respond(0, call.header.GetClientId(), nil)
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = credentialSets[0].auth()
		cfg.Auth.User = "alice"
		cfg.Auth.AllowSimpleFallback = true
	})
	if err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	srv.ln.Close()
	srv.wg.Wait()
	if got := ctxReq.context.GetUserInfo().GetEffectiveUser(); got != "alice" {
		t.Errorf("effective user %q, want alice", got)
	}
}

// TestEmptyServerPrincipalFailsClosed: a Kerberos Auth without the
// server's principal is refused when the Client is made, and the principal
// check refuses an empty expectation should one get that far.
func TestEmptyServerPrincipalFailsClosed(t *testing.T) {
	for _, p := range []string{"", "  "} {
		_, err := New(Config{Addr: "localhost:1", Protocol: testProtocol, Auth: Auth{Kerberos: &KerberosAuth{
			Principal: "alice@EXAMPLE.COM", ServerPrincipal: p,
			NewClient: func(string) (sasl.Client, error) { return &xorMech{}, nil },
		}}})
		if err == nil || !strings.Contains(err.Error(), "ServerPrincipal is empty") {
			t.Errorf("ServerPrincipal %q: New returned %v, want an error naming ServerPrincipal", p, err)
		}
	}
	if err := checkServerPrincipal(testContext(t, time.Second), "", "hadoop/localhost", "localhost"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("empty expected principal: %v, want ErrUnauthorized", err)
	}
}

// TestHandshakePacketCap: during the handshake, a packet announced larger
// than MaxHandshakePacketLength fails the connection at once, before its
// bytes come, although MaxResponseLength would allow it.
func TestHandshakePacketCap(t *testing.T) {
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(binary.BigEndian.AppendUint32(nil, MaxHandshakePacketLength+1))
		s.readRaw() // hold the connection open until the client hangs up
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = credentialSets[0].auth()
		cfg.ConnectTimeout = 5 * time.Second
	})
	start := time.Now()
	err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if !errors.Is(err, errProtocol) || !strings.Contains(err.Error(), fmt.Sprint(MaxHandshakePacketLength)) {
		t.Errorf("got %v, want a protocol error naming the limit", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %v: the client waited for the bytes", d)
	}
}

// TestSimpleFromOfferSendsInitiate: a client allowed to fall back that
// picks SIMPLE from the plain test bed RM's offer names it in an INITIATE
// (the RM refuses a connection context in its place, as
// integration.TestIPCSimpleDowngradeRefused shows) and then sends the
// context and its call without waiting for an answer.
func TestSimpleFromOfferSendsInitiate(t *testing.T) {
	offer := recorded(t, "rm-plain-negotiate")[0]
	var initiate, ctxReq *request
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(offer)
		initiate = s.expect(callIDSASL)
		ctxReq = s.expect(callIDContext)
		call := s.expect(0)
		s.respond(0, call.header.GetClientId(), nil)
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = credentialSets[1].auth()
		cfg.Auth.AllowSimpleFallback = true
	})
	if err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	srv.ln.Close()
	srv.wg.Wait()
	want := &pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Auths: []*pb.RpcSaslProto_SaslAuth{
		{Method: proto.String(methodSimple), Mechanism: proto.String("")}}}
	if initiate == nil || !proto.Equal(initiate.sasl, want) {
		t.Errorf("after the offer the client sent %v, want %v", initiate, want)
	}
	if got := ctxReq.context.GetUserInfo().GetEffectiveUser(); got != "alice@EXAMPLE.COM" {
		t.Errorf("SIMPLE context names %q, want the principal", got)
	}
}

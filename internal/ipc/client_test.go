package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

const testProtocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"

func newTestClient(t *testing.T, addr string, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{Addr: addr, Protocol: testProtocol, Auth: Auth{User: "alice"}, RetryBackoff: time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fieldOf reads varint field num from the unknown fields of resp.
func fieldOf(resp *emptypb.Empty, num protowire.Number) (uint64, bool) {
	b := resp.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, _ := protowire.ConsumeVarint(b)
			return v, true
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return 0, false
		}
		b = b[l:]
	}
	return 0, false
}

// TestReplaySimpleCalls checks the bytes of a SIMPLE connection against
// what Hadoop expects and replays the RM's recorded answers: metrics for
// call 0 and RpcNoSuchMethodException for call 1.
func TestReplaySimpleCalls(t *testing.T) {
	answers := recorded(t, "rm-plain-simple-calls")
	var preamble []byte
	var ctxReq, call0, call1 *request
	srv := newFakeServer(t, func(s *serverConn) {
		preamble = s.readPreamble()
		ctxReq = s.expect(callIDContext)
		call0 = s.expect(0)
		s.write(answers[0])
		call1 = s.expect(1)
		s.write(answers[1])
		s.readRaw() // until the client closes
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.ClientID = recordedClientID })
	ctx := testContext(t, 10*time.Second)

	var resp emptypb.Empty
	if err := c.Call(ctx, "getClusterMetrics", &emptypb.Empty{}, &resp); err != nil {
		t.Fatal(err)
	}
	metrics, err := bytesFieldOf(resp.ProtoReflect().GetUnknown(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if nms, _ := protowire.ConsumeVarint(metrics[1:]); metrics[0] != 0x08 || nms != 2 {
		t.Errorf("cluster_metrics %x: want num_node_managers 2", metrics)
	}

	err = c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{})
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("noSuchMethod: %v, want a *RemoteError", err)
	}
	wantMsg := "Unknown method noSuchMethod called on org.apache.hadoop.yarn.api.ApplicationClientProtocolPB protocol."
	if re.Class != "org.apache.hadoop.ipc.RpcNoSuchMethodException" || re.Message != wantMsg ||
		re.Code != ErrorNoSuchMethod || re.Fatal || re.Method != "noSuchMethod" ||
		!strings.Contains(re.FullMessage, "\tat org.apache.hadoop.ipc.") {
		t.Errorf("noSuchMethod: %#v", re)
	}
	c.Close()
	srv.ln.Close()
	srv.wg.Wait()

	if string(preamble) != "hrpc\x09\x00\x00" {
		t.Errorf("preamble %q", preamble)
	}
	want := &request{
		header: requestHeader(callIDContext, recordedClientID, -1),
		context: &pb.IpcConnectionContextProto{
			UserInfo: &pb.UserInformationProto{EffectiveUser: proto.String("alice")},
			Protocol: proto.String(testProtocol),
		},
	}
	if diff := cmp.Diff(want, ctxReq, cmp.AllowUnexported(request{}), protocmp.Transform()); diff != "" {
		t.Errorf("connection context (-want +got):\n%s", diff)
	}
	for i, got := range []*request{call0, call1} {
		method := []string{"getClusterMetrics", "noSuchMethod"}[i]
		want := &request{
			header: requestHeader(int32(i), recordedClientID, 0),
			method: &pb.RequestHeaderProto{
				MethodName:                 proto.String(method),
				DeclaringClassProtocolName: proto.String(testProtocol),
				ClientProtocolVersion:      proto.Uint64(1),
			},
			body: []byte{},
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(request{}), protocmp.Transform()); diff != "" {
			t.Errorf("call %d (-want +got):\n%s", i, diff)
		}
		// Presence, which cmp does not distinguish from the default value.
		if got != nil && (got.header.RpcKind == nil || got.header.RpcOp == nil) {
			t.Errorf("call %d: rpcKind or rpcOp absent", i)
		}
	}
}

func bytesFieldOf(b []byte, num protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, protowire.ParseError(l)
			}
			return v, nil
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil, fmt.Errorf("no field %d", num)
}

// TestReplayFatalRefusal replays the Kerberos RM's refusal of a SIMPLE
// client: a FATAL reply to call id -1 that fails the call, is not repeated,
// and matches ErrUnauthorized and ErrAccessControl.
func TestReplayFatalRefusal(t *testing.T) {
	refusal := recorded(t, "rm-kerberos-simple-refused")
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		s.expect(0)
		s.write(refusal[0])
	})
	c := newTestClient(t, srv.addr(), nil)
	err := c.Call(testContext(t, 10*time.Second), "getClusterMetrics", &emptypb.Empty{}, &emptypb.Empty{})
	var ce *ConnError
	var re *RemoteError
	if !errors.As(err, &ce) || !errors.As(err, &re) {
		t.Fatalf("got %v, want a *ConnError around a *RemoteError", err)
	}
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, ErrAccessControl) {
		t.Errorf("%v does not match ErrUnauthorized and ErrAccessControl", err)
	}
	if !re.Fatal || re.Code != FatalUnauthorized || re.Message != "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]" {
		t.Errorf("remote error %#v", re)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a refusal is not retried", n)
	}
}

// TestReplaySASLTokenOffer replays the plain RM's SASL offer (TOKEN with a
// DIGEST-MD5 challenge, then SIMPLE) to a TOKEN client: the mechanism
// answers the offered challenge in INITIATE, which echoes the TOKEN auth
// without it; the exchange ends with SUCCESS at auth, and the connection
// context names no user.
func TestReplaySASLTokenOffer(t *testing.T) {
	offer := recorded(t, "rm-plain-negotiate")
	mech := &xorMech{qop: sasl.Auth}
	var protocol, serverID string
	var negotiate, initiate, ctxReq, call *request
	srv := newFakeServer(t, func(s *serverConn) {
		if p := s.readPreamble(); string(p) != "hrpc\x09\x00\xdf" {
			t.Errorf("preamble %q", p)
		}
		negotiate = s.expect(callIDSASL)
		s.write(offer[0])
		initiate = s.expect(callIDSASL)
		s.write(saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum(), Token: []byte("ok")}))
		ctxReq = s.expect(callIDContext)
		call = s.expect(0)
		s.respond(0, call.header.GetClientId(), varintField(1, 7))
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = Auth{Token: &TokenAuth{NewClient: func(p, s string) (sasl.Client, error) {
			protocol, serverID = p, s
			return mech, nil
		}}}
	})
	var resp emptypb.Empty
	if err := c.Call(testContext(t, 10*time.Second), "getClusterMetrics", &emptypb.Empty{}, &resp); err != nil {
		t.Fatal(err)
	}
	if v, _ := fieldOf(&resp, 1); v != 7 {
		t.Errorf("response field 1 = %d, want 7", v)
	}
	c.Close()
	srv.ln.Close()
	srv.wg.Wait()

	if protocol != "" || serverID != "default" {
		t.Errorf("TOKEN mechanism for protocol %q serverId %q, want \"\" and \"default\"", protocol, serverID)
	}
	if diff := cmp.Diff(&pb.RpcSaslProto{State: pb.RpcSaslProto_NEGOTIATE.Enum()}, negotiate.sasl, protocmp.Transform()); diff != "" {
		t.Errorf("NEGOTIATE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(saslHeader(), negotiate.header, protocmp.Transform()); diff != "" {
		t.Errorf("SASL header (-want +got):\n%s", diff)
	}
	offered, err := parseSASL(offer[0][4:])
	if err != nil {
		t.Fatal(err)
	}
	tokenAuth := offered.GetAuths()[0]
	if !strings.HasPrefix(string(mech.challenge), `realm="default",nonce=`) || string(mech.challenge) != string(tokenAuth.GetChallenge()) {
		t.Errorf("mechanism got challenge %q, want the offered %q", mech.challenge, tokenAuth.GetChallenge())
	}
	echo := proto.CloneOf(tokenAuth)
	echo.Challenge = nil
	want := &pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Token: []byte("response"), Auths: []*pb.RpcSaslProto_SaslAuth{echo}}
	if diff := cmp.Diff(want, initiate.sasl, protocmp.Transform()); diff != "" {
		t.Errorf("INITIATE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&pb.UserInformationProto{}, ctxReq.context.GetUserInfo(), protocmp.Transform()); diff != "" {
		t.Errorf("TOKEN connection context names a user (-want +got):\n%s", diff)
	}
}

// kerberosOffer is the offer of the recorded Kerberos RM.
func kerberosOffer(t *testing.T) []byte { return recorded(t, "rm-kerberos-negotiate")[0] }

// TestKerberosServerPrincipal checks the principal the recorded Kerberos RM
// advertises (hadoop/localhost) against the configured one.
func TestKerberosServerPrincipal(t *testing.T) {
	for _, tc := range []struct {
		expected string
		wantErr  bool
	}{
		{"hadoop/_HOST@EXAMPLE.COM", false},
		{"hadoop/localhost@EXAMPLE.COM", false},
		{"hadoop/LOCALHOST", false},
		{"rm/_HOST@EXAMPLE.COM", true},
		{"hadoop/otherhost@EXAMPLE.COM", true},
	} {
		t.Run(tc.expected, func(t *testing.T) {
			offer := kerberosOffer(t)
			var spn string
			srv := newFakeServer(t, func(s *serverConn) {
				s.readPreamble()
				s.expect(callIDSASL)
				s.write(offer)
				s.readRaw()
			})
			_, port, _ := net.SplitHostPort(srv.addr())
			c := newTestClient(t, "localhost:"+port, func(cfg *Config) {
				cfg.Auth = Auth{Kerberos: &KerberosAuth{
					Principal:       "alice@EXAMPLE.COM",
					ServerPrincipal: tc.expected,
					NewClient: func(s string) (sasl.Client, error) {
						spn = s
						return nil, errors.New("stop here")
					},
				}}
			})
			err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
			if err == nil {
				t.Fatal("call succeeded")
			}
			if got := errors.Is(err, ErrUnauthorized); got != tc.wantErr {
				t.Errorf("%v: matches ErrUnauthorized = %v, want %v", err, got, tc.wantErr)
			}
			if !tc.wantErr && spn != "hadoop/localhost" {
				t.Errorf("mechanism for %q, want hadoop/localhost", spn)
			}
		})
	}
}

// TestWrappedSession runs a connection whose (test) mechanism negotiates
// integrity: the context and every call travel wrapped, large packets in
// several WRAP messages, and wrapped responses are unwrapped.
func TestWrappedSession(t *testing.T) {
	const key = 0x3c
	mech := &xorMech{key: key, qop: sasl.AuthInt}
	big := strings.Repeat("x", 3*wrapChunk+17)
	var ctxReq *request
	var wrapsSeen int
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(kerberosOffer(t))
		s.expect(callIDSASL)
		s.write(saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum(), Token: []byte("ok")}))
		s.unwrap = func(p []byte) ([]byte, error) {
			wrapsSeen++
			return xorUnwrap(key, p)
		}
		ctxReq = s.expect(callIDContext)
		for i := int32(0); i < 2; i++ {
			call := s.expect(i)
			if call == nil {
				return
			}
			var in emptypb.Empty
			proto.Unmarshal(call.body, &in)
			body := varintField(1, uint64(len(in.ProtoReflect().GetUnknown())))
			resp := responsePacket(t, &pb.RpcResponseHeaderProto{
				CallId: proto.Uint32(uint32(i)),
				Status: pb.RpcResponseHeaderProto_SUCCESS.Enum(),
			}, body)
			s.write(saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: xorWrap(key, resp)}))
		}
		s.readRaw()
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = Auth{Kerberos: &KerberosAuth{
			Principal:       "alice@EXAMPLE.COM",
			ServerPrincipal: "hadoop/localhost@EXAMPLE.COM",
			NewClient:       func(string) (sasl.Client, error) { return mech, nil },
		}}
	})
	ctx := testContext(t, 10*time.Second)
	for _, payload := range []string{"small", big} {
		req := &emptypb.Empty{}
		req.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte(payload)))
		var resp emptypb.Empty
		if err := c.Call(ctx, "echoLength", req, &resp); err != nil {
			t.Fatal(err)
		}
		want := uint64(len(req.ProtoReflect().GetUnknown()))
		if v, _ := fieldOf(&resp, 1); v != want {
			t.Errorf("server saw %d request bytes, want %d", v, want)
		}
	}
	c.Close()
	srv.ln.Close()
	srv.wg.Wait()
	if !mech.startCalled {
		t.Error("Start not called")
	}
	if ctxReq.context.GetUserInfo().GetEffectiveUser() != "alice@EXAMPLE.COM" {
		t.Errorf("KERBEROS context %v, want effectiveUser alice@EXAMPLE.COM", ctxReq.context)
	}
	// Context, small call, and the big call in four chunks.
	if wrapsSeen != 6 {
		t.Errorf("%d WRAP messages, want 6", wrapsSeen)
	}
}

// TestSimpleFallback: a server answering NEGOTIATE with SUCCESS switches
// the client to SIMPLE, which a Kerberos client refuses unless allowed.
func TestSimpleFallback(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			var ctxReq *request
			srv := newFakeServer(t, func(s *serverConn) {
				s.readPreamble()
				s.expect(callIDSASL)
				s.write(saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()}))
				if !allow {
					return
				}
				ctxReq = s.expect(callIDContext)
				call := s.expect(0)
				s.respond(0, call.header.GetClientId(), nil)
			})
			c := newTestClient(t, srv.addr(), func(cfg *Config) {
				cfg.Auth = Auth{AllowSimpleFallback: allow, Kerberos: &KerberosAuth{
					Principal:       "alice@EXAMPLE.COM",
					ServerPrincipal: "hadoop/localhost@EXAMPLE.COM",
					NewClient:       func(string) (sasl.Client, error) { return nil, errors.New("not offered") },
				}}
			})
			err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
			if allow {
				if err != nil {
					t.Fatal(err)
				}
				srv.ln.Close()
				srv.wg.Wait()
				if got := ctxReq.context.GetUserInfo().GetEffectiveUser(); got != "alice@EXAMPLE.COM" {
					t.Errorf("effective user %q", got)
				}
				return
			}
			if !errors.Is(err, ErrUnauthorized) {
				t.Errorf("got %v, want ErrUnauthorized", err)
			}
		})
	}
}

// TestSASLFailureSurfacesServerMessage: a FATAL reply during SASL (call id
// -1) fails the call with the server's message.
func TestSASLFailureSurfacesServerMessage(t *testing.T) {
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDSASL)
		s.write(kerberosOffer(t))
		s.expect(callIDSASL)
		s.write(responsePacket(t, &pb.RpcResponseHeaderProto{
			CallId:             proto.Uint32(uint32(int64(callIDAuthFailed) & 0xffffffff)),
			Status:             pb.RpcResponseHeaderProto_FATAL.Enum(),
			ExceptionClassName: proto.String("javax.security.sasl.SaslException"),
			ErrorMsg:           proto.String("GSS initiate failed [Caused by GSSException: Defective token detected]"),
			ErrorDetail:        pb.RpcResponseHeaderProto_FATAL_UNAUTHORIZED.Enum(),
		}, nil))
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) {
		cfg.Auth = Auth{Kerberos: &KerberosAuth{
			Principal:       "alice@EXAMPLE.COM",
			ServerPrincipal: "hadoop/localhost@EXAMPLE.COM",
			NewClient:       func(string) (sasl.Client, error) { return &xorMech{qop: sasl.Auth}, nil },
		}}
	})
	err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "GSS initiate failed") {
		t.Errorf("got %v, want ErrUnauthorized with the server's message", err)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestPing: while a call waits on a silent server, the client pings it.
func TestPing(t *testing.T) {
	var pings atomic.Int32
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		call := s.expect(0)
		for pings.Load() < 2 {
			req := s.readRequest()
			if req == nil {
				return
			}
			if diff := cmp.Diff(requestHeader(callIDPing, call.header.GetClientId(), -1), req.header, protocmp.Transform()); diff != "" {
				t.Errorf("ping header (-want +got):\n%s", diff)
			}
			pings.Add(1)
		}
		s.respond(0, nil, nil)
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.PingInterval = 20 * time.Millisecond })
	if err := c.Call(testContext(t, 10*time.Second), "slow", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if pings.Load() < 2 {
		t.Errorf("%d pings, want 2", pings.Load())
	}
}

// TestCancelKeepsConnection: a call whose context ends returns promptly;
// its late response is dropped and the next call uses the same connection.
func TestCancelKeepsConnection(t *testing.T) {
	release := make(chan struct{})
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		s.expect(0)
		<-release
		s.respond(0, nil, varintField(1, 100)) // late
		s.expect(1)
		s.respond(1, nil, varintField(1, 101))
		s.readRaw()
	})
	c := newTestClient(t, srv.addr(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, "slow", &emptypb.Empty{}, &emptypb.Empty{})
	if err != context.DeadlineExceeded {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled call returned after %v", d)
	}
	close(release)
	var resp emptypb.Empty
	if err := c.Call(testContext(t, 10*time.Second), "next", &emptypb.Empty{}, &resp); err != nil {
		t.Fatal(err)
	}
	if v, _ := fieldOf(&resp, 1); v != 101 {
		t.Errorf("next call got %d, want 101", v)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestRetryAfterConnectionLoss: the server takes a call and drops the
// connection. An idempotent call is repeated on a new connection with the
// same client id and call id and retry count 1; another is not.
func TestRetryAfterConnectionLoss(t *testing.T) {
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprint("idempotent=", idempotent), func(t *testing.T) {
			var first, second *request
			srv := newFakeServer(t, func(s *serverConn) {
				s.readPreamble()
				s.expect(callIDContext)
				if s.n == 0 {
					first = s.expect(0)
					return // drops the connection
				}
				second = s.expect(0)
				s.respond(0, nil, nil)
				s.readRaw()
			})
			c := newTestClient(t, srv.addr(), func(cfg *Config) {
				cfg.Idempotent = map[string]bool{"m": idempotent}
			})
			err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
			c.Close()
			srv.ln.Close()
			srv.wg.Wait()
			if !idempotent {
				var ce *ConnError
				if !errors.As(err, &ce) || srv.accepts.Load() != 1 {
					t.Fatalf("got %v after %d connections, want a *ConnError after 1", err, srv.accepts.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if first == nil || second == nil {
				t.Fatal("server did not see both attempts")
			}
			want := requestHeader(0, first.header.GetClientId(), 1)
			if diff := cmp.Diff(want, second.header, protocmp.Transform()); diff != "" {
				t.Errorf("repeated call header (-want +got):\n%s", diff)
			}
			if first.header.GetRetryCount() != 0 {
				t.Errorf("first attempt retry count %d", first.header.GetRetryCount())
			}
		})
	}
}

// flakyDialer fails its first fails dials.
type flakyDialer struct {
	fails atomic.Int32
	dials atomic.Int32
}

func (d *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	if d.fails.Add(-1) >= 0 {
		return nil, errors.New("connection refused (test)")
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// TestRetryNeverSent: a non-idempotent call is repeated when it provably
// never reached the server: the dial failed, or the connection was found
// closed by the server before the call was written.
func TestRetryNeverSent(t *testing.T) {
	var first *request
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		call := s.expect(int32(s.n))
		if call == nil {
			return
		}
		if s.n == 0 {
			first = call
		}
		s.respond(call.header.GetCallId(), nil, nil)
		// Hadoop closes connections it finds idle; this one closes at once.
	})
	d := &flakyDialer{}
	d.fails.Store(2)
	c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.Dialer = d })
	ctx := testContext(t, 10*time.Second)
	if err := c.Call(ctx, "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if n := d.dials.Load(); n != 3 {
		t.Errorf("%d dials, want 3", n)
	}
	if first.header.GetRetryCount() != 0 {
		t.Errorf("retry count %d after failed dials, want 0: the server never saw the call", first.header.GetRetryCount())
	}
	// Wait until the client has seen the server close the connection.
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.cur.alive()
	})
	if err := c.Call(ctx, "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatalf("call after the server closed the idle connection: %v", err)
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleTimeout: a connection no call used for IdleTimeout is closed and
// the next call dials again.
func TestIdleTimeout(t *testing.T) {
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		call := s.readRequest()
		if call == nil {
			return
		}
		s.respond(call.header.GetCallId(), nil, nil)
		s.readRaw() // until the client closes the connection
	})
	c := newTestClient(t, srv.addr(), func(cfg *Config) { cfg.IdleTimeout = 20 * time.Millisecond })
	ctx := testContext(t, 10*time.Second)
	for i := 0; i < 2; i++ {
		if i == 1 {
			waitFor(t, func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return !c.cur.alive()
			})
		}
		if err := c.Call(ctx, "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestConcurrentCallsOutOfOrder: calls sharing a connection each get their
// own response when the server answers in reverse order.
func TestConcurrentCallsOutOfOrder(t *testing.T) {
	const n = 16
	srv := newFakeServer(t, func(s *serverConn) {
		s.readPreamble()
		s.expect(callIDContext)
		var calls []*request
		for len(calls) < n {
			req := s.readRequest()
			if req == nil {
				return
			}
			calls = append(calls, req)
		}
		for i := n - 1; i >= 0; i-- {
			var in emptypb.Empty
			proto.Unmarshal(calls[i].body, &in)
			v, _ := fieldOf(&in, 1)
			s.respond(calls[i].header.GetCallId(), nil, varintField(1, v*10))
		}
		s.readRaw()
	})
	c := newTestClient(t, srv.addr(), nil)
	ctx := testContext(t, 10*time.Second)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			req := &emptypb.Empty{}
			req.ProtoReflect().SetUnknown(varintField(1, uint64(i)))
			var resp emptypb.Empty
			if err := c.Call(ctx, "times10", req, &resp); err != nil {
				t.Error(err)
				return
			}
			if v, _ := fieldOf(&resp, 1); v != uint64(i*10) {
				t.Errorf("call %d got %d", i, v)
			}
		})
	}
	wg.Wait()
	if got := srv.accepts.Load(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

// TestMalformedResponses: a response the client cannot frame kills the
// connection with a protocol error and is not repeated.
func TestMalformedResponses(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkt  func(t *testing.T) []byte
	}{
		{"leftover bytes", func(t *testing.T) []byte {
			p := responsePacket(t, &pb.RpcResponseHeaderProto{CallId: proto.Uint32(0), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}, []byte{})
			p = append(p, 0x00)
			p[3]++
			return p
		}},
		{"body overruns packet", func(t *testing.T) []byte {
			p := responsePacket(t, &pb.RpcResponseHeaderProto{CallId: proto.Uint32(0), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}, []byte{})
			p[len(p)-1] = 5
			return p
		}},
		{"oversized", func(t *testing.T) []byte { return []byte{0x7f, 0xff, 0xff, 0xff} }},
		{"unexpected SASL", func(t *testing.T) []byte {
			return saslPacket(t, &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum()})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, func(s *serverConn) {
				s.readPreamble()
				s.expect(callIDContext)
				s.expect(0)
				s.write(tc.pkt(t))
				s.readRaw()
			})
			c := newTestClient(t, srv.addr(), func(cfg *Config) {
				cfg.Idempotent = map[string]bool{"m": true}
				cfg.MaxResponseLength = 1 << 20
			})
			err := c.Call(testContext(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
			if !errors.Is(err, errProtocol) {
				t.Errorf("got %v, want a protocol error", err)
			}
			if n := srv.accepts.Load(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
		})
	}
}

// TestCloseLeavesNoGoroutines: Close fails a waiting call with ErrClosed,
// interrupts a handshake in progress, and waits for every goroutine.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := newFakeServer(t, func(s *serverConn) {
		// Silent: a call waits, a handshake hangs, until the client closes.
		s.readPreamble()
		for {
			if _, err := s.readRaw(); err != nil {
				return
			}
		}
	})
	before := runtime.NumGoroutine()
	for i, useSASL := range []bool{false, true} {
		cfg := Config{Addr: srv.addr(), Protocol: testProtocol, Auth: Auth{User: "alice"}}
		if useSASL {
			cfg.Auth.Token = &TokenAuth{NewClient: func(string, string) (sasl.Client, error) { return &xorMech{}, nil }}
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- c.Call(context.Background(), "m", &emptypb.Empty{}, &emptypb.Empty{}) }()
		waitFor(t, func() bool { return srv.accepts.Load() == int32(i+1) })
		time.Sleep(20 * time.Millisecond)
		c.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("sasl=%v: call during Close: %v, want ErrClosed", useSASL, err)
		}
		if err := c.Call(context.Background(), "m", &emptypb.Empty{}, &emptypb.Empty{}); !errors.Is(err, ErrClosed) {
			t.Errorf("call after Close: %v, want ErrClosed", err)
		}
	}
	// The server's handlers end when the clients close their connections.
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

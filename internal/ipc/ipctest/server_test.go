package ipctest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

const protocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"

func client(t *testing.T, addr string, edit func(*ipc.Config)) *ipc.Client {
	t.Helper()
	cfg := ipc.Config{Addr: addr, Protocol: protocol, Auth: ipc.Auth{User: "alice"}, RetryBackoff: time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	c, err := ipc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// number is an Empty carrying a varint in field 1, so tests need no
// generated messages.
func number(v uint64) *emptypb.Empty {
	m := &emptypb.Empty{}
	m.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v))
	return m
}

func numberOf(m *emptypb.Empty) uint64 {
	b := m.ProtoReflect().GetUnknown()
	if _, _, n := protowire.ConsumeTag(b); n > 0 {
		v, _ := protowire.ConsumeVarint(b[n:])
		return v
	}
	return 0
}

// TestSimpleCalls: a SIMPLE client's calls reach the handler with their
// method, protocol, user and body; unknown methods fail as Hadoop fails
// them; calls are counted.
func TestSimpleCalls(t *testing.T) {
	var mu sync.Mutex
	var seen []*ipctest.Call
	srv := ipctest.NewServer(t, ipctest.Methods{
		"double": func(c *ipctest.Call) ipctest.Reply {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
			var in emptypb.Empty
			if err := c.Decode(&in); err != nil {
				t.Error(err)
			}
			return ipctest.Respond(number(2 * numberOf(&in)))
		},
	})
	c := client(t, srv.Addr, nil)
	ctx := ctxFor(t, 10*time.Second)
	for i := uint64(1); i <= 3; i++ {
		var out emptypb.Empty
		if err := c.Call(ctx, "double", number(i), &out); err != nil {
			t.Fatal(err)
		}
		if got := numberOf(&out); got != 2*i {
			t.Errorf("double(%d) = %d", i, got)
		}
	}
	err := c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{})
	var re *ipc.RemoteError
	if !errors.As(err, &re) || re.Class != "org.apache.hadoop.ipc.RpcNoSuchMethodException" || re.Code != ipc.ErrorNoSuchMethod ||
		re.Message != "Unknown method noSuchMethod called on "+protocol+" protocol." {
		t.Errorf("unknown method: %v", err)
	}
	if srv.Calls("double") != 3 || srv.Calls("noSuchMethod") != 1 || srv.Calls("") != 4 || srv.Connections() != 1 {
		t.Errorf("counted %d double, %d noSuchMethod, %d in all, %d connections; want 3, 1, 4, 1",
			srv.Calls("double"), srv.Calls("noSuchMethod"), srv.Calls(""), srv.Connections())
	}
	mu.Lock()
	defer mu.Unlock()
	first := seen[0]
	if first.Protocol != protocol || first.User != "alice" || first.Auth != "SIMPLE" || first.Conn != 0 ||
		!bytes.Equal(first.ClientID, c.ClientID()) || first.RetryCount != 0 || first.TokenIdentifier != nil {
		t.Errorf("call %+v", first)
	}
}

// recordingDialer keeps what the server sent on each connection.
type recordingDialer struct {
	mu   sync.Mutex
	read []*bytes.Buffer
}

type recordingConn struct {
	net.Conn
	d   *recordingDialer
	buf *bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.mu.Lock()
	c.buf.Write(p[:n])
	c.d.mu.Unlock()
	return n, err
}

func (d *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b := &bytes.Buffer{}
	d.read = append(d.read, b)
	return &recordingConn{Conn: nc, d: d, buf: b}, nil
}

func (d *recordingDialer) packets(t *testing.T, conn int) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return splitPackets(t, d.read[conn].Bytes())
}

func splitPackets(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) >= 4 {
		n := 4 + int(binary.BigEndian.Uint32(b))
		if n > len(b) {
			t.Fatalf("truncated packet")
		}
		out = append(out, b[4:n])
		b = b[n:]
	}
	return out
}

func responseHeader(t *testing.T, pkt []byte) *pb.RpcResponseHeaderProto {
	t.Helper()
	l, n := protowire.ConsumeVarint(pkt)
	h := &pb.RpcResponseHeaderProto{}
	if n < 0 || proto.Unmarshal(pkt[n:n+int(l)], h) != nil {
		t.Fatalf("bad response header in % x", pkt)
	}
	return h
}

// TestResponsesMatchCapture: the response headers the fake server writes
// for a successful call and for an unknown method carry the fields the
// plain test bed's RM wrote in integration.TestIPCRecord (the message of
// the exception aside, whose Java stack trace is not reproduced).
func TestResponsesMatchCapture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "rm-plain-simple-calls.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := splitPackets(t, b)
	srv := ipctest.NewServer(t, ipctest.Methods{
		"getClusterMetrics": func(*ipctest.Call) ipctest.Reply { return ipctest.Respond(nil) },
	})
	d := &recordingDialer{}
	c := client(t, srv.Addr, func(cfg *ipc.Config) {
		cfg.Dialer = d
		cfg.ClientID = []byte("spindle-recorded")
	})
	ctx := ctxFor(t, 10*time.Second)
	if err := c.Call(ctx, "getClusterMetrics", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{}); err == nil {
		t.Fatal("noSuchMethod succeeded")
	}
	got := d.packets(t, 0)
	if len(got) != 2 {
		t.Fatalf("%d packets, want 2", len(got))
	}
	firstLine := protocmp.FilterField(&pb.RpcResponseHeaderProto{}, "errorMsg", cmp.Transformer("firstLine", func(s string) string {
		first, _, _ := strings.Cut(s, "\n")
		return first
	}))
	for i := range got {
		if diff := cmp.Diff(responseHeader(t, want[i]), responseHeader(t, got[i]), protocmp.Transform(), firstLine); diff != "" {
			t.Errorf("response %d header (-real RM +fake):\n%s", i, diff)
		}
	}
}

// tokenAuth authenticates with a token through package sasl's DIGEST-MD5
// client, as yarn and hdfs do.
func tokenAuth(id, password []byte) ipc.Auth {
	return ipc.Auth{Token: &ipc.TokenAuth{NewClient: func(protocol, serverID string) (sasl.Client, error) {
		return sasl.NewDigestMD5(sasl.DigestConfig{Identifier: id, Password: password, Protocol: protocol, ServerID: serverID})
	}}}
}

// TestTokenAuth: with WithTokens, a token client authenticates through the
// captured offer and DIGEST-MD5; the call names the token it came with. A
// wrong password or an unknown token is refused with FATAL_UNAUTHORIZED.
func TestTokenAuth(t *testing.T) {
	passwords := map[string]string{"token-1": "secret-1"}
	srv := ipctest.NewServer(t, ipctest.Methods{
		"m": func(*ipctest.Call) ipctest.Reply { return ipctest.Respond(nil) },
	}, ipctest.WithTokens(func(id []byte) ([]byte, bool) {
		p, ok := passwords[string(id)]
		return []byte(p), ok
	}))
	var got *ipctest.Call
	srv2 := ipctest.NewServer(t, ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
		got = c
		return ipctest.Respond(nil)
	}), ipctest.WithTokens(func(id []byte) ([]byte, bool) { return []byte("secret-1"), string(id) == "token-1" }))
	c := client(t, srv2.Addr, func(cfg *ipc.Config) { cfg.Auth = tokenAuth([]byte("token-1"), []byte("secret-1")) })
	if err := c.Call(ctxFor(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if got.Auth != "TOKEN" || string(got.TokenIdentifier) != "token-1" || got.User != "" {
		t.Errorf("call authenticated as %s with token %q, user %q", got.Auth, got.TokenIdentifier, got.User)
	}

	for name, auth := range map[string]ipc.Auth{
		"wrong password": tokenAuth([]byte("token-1"), []byte("guess")),
		"unknown token":  tokenAuth([]byte("token-2"), []byte("secret-1")),
	} {
		c := client(t, srv.Addr, func(cfg *ipc.Config) { cfg.Auth = auth })
		err := c.Call(ctxFor(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
		var re *ipc.RemoteError
		if !errors.Is(err, ipc.ErrUnauthorized) || !errors.As(err, &re) || !re.Fatal {
			t.Errorf("%s: %v, want a FATAL ErrUnauthorized", name, err)
			continue
		}
		if name == "unknown token" && re.Class != "org.apache.hadoop.security.token.SecretManager$InvalidToken" {
			t.Errorf("%s: class %s, want SecretManager$InvalidToken", name, re.Class)
		}
	}
	if n := srv.Calls(""); n != 0 {
		t.Errorf("%d calls reached the handler without authenticating", n)
	}
}

// TestSimpleOnlyServer: without WithTokens a SASL client meets a
// SIMPLE-only server, which a token client refuses unless allowed.
func TestSimpleOnlyServer(t *testing.T) {
	srv := ipctest.NewServer(t, ipctest.HandlerFunc(func(*ipctest.Call) ipctest.Reply { return ipctest.Respond(nil) }))
	for _, allow := range []bool{false, true} {
		c := client(t, srv.Addr, func(cfg *ipc.Config) {
			cfg.Auth = tokenAuth([]byte("t"), []byte("p"))
			cfg.Auth.User = "alice"
			cfg.Auth.AllowSimpleFallback = allow
		})
		err := c.Call(ctxFor(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
		var fe *ipc.SimpleFallbackError
		if allow && err != nil {
			t.Errorf("fallback allowed: %v", err)
		}
		if !allow && !errors.As(err, &fe) {
			t.Errorf("fallback refused: %v, want a *ipc.SimpleFallbackError", err)
		}
	}
	if n := srv.Calls(""); n != 1 {
		t.Errorf("%d calls reached the server, want the allowed one", n)
	}
}

// TestRefuseSimple replays the Kerberos RM's refusal of a SIMPLE client.
func TestRefuseSimple(t *testing.T) {
	srv := ipctest.NewServer(t, ipctest.Methods{}, ipctest.RefuseSimple())
	c := client(t, srv.Addr, nil)
	err := c.Call(ctxFor(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{})
	if !errors.Is(err, ipc.ErrUnauthorized) || !strings.Contains(err.Error(), "SIMPLE authentication is not enabled") {
		t.Errorf("got %v, want the RM's refusal", err)
	}
}

// TestFaults: a dropped connection fails a non-idempotent call and is
// survived by an idempotent one on a new connection; a delayed answer
// outlives a short context; DropConnections makes the next call dial
// again; NoReply leaves the call to its context.
func TestFaults(t *testing.T) {
	var attempts sync.Map
	srv := ipctest.NewServer(t, ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
		n, _ := attempts.LoadOrStore(c.Method, new(int))
		*n.(*int)++
		switch c.Method {
		case "dropOnce", "idempotentDropOnce":
			if *n.(*int) == 1 {
				return ipctest.Drop()
			}
		case "slow":
			return ipctest.Respond(nil).After(time.Second)
		case "silent":
			return ipctest.NoReply()
		case "throwLate":
			return ipctest.Throw("java.io.IOException", "late").After(20 * time.Millisecond)
		}
		return ipctest.Respond(nil)
	}))
	c := client(t, srv.Addr, func(cfg *ipc.Config) { cfg.Idempotent = map[string]bool{"idempotentDropOnce": true, "ok": true} })
	ctx := ctxFor(t, 10*time.Second)

	var ce *ipc.ConnError
	if err := c.Call(ctx, "dropOnce", &emptypb.Empty{}, &emptypb.Empty{}); !errors.As(err, &ce) {
		t.Errorf("non-idempotent call on a dropped connection: %v, want a *ipc.ConnError", err)
	}
	if err := c.Call(ctx, "idempotentDropOnce", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Errorf("idempotent call on a dropped connection: %v", err)
	}
	if n := srv.Connections(); n != 3 {
		t.Errorf("%d connections after two drops, want 3", n)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := c.Call(short, "slow", &emptypb.Empty{}, &emptypb.Empty{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow call: %v, want DeadlineExceeded", err)
	}
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	err = c.Call(short, "silent", &emptypb.Empty{}, &emptypb.Empty{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent call: %v, want DeadlineExceeded", err)
	}
	var re *ipc.RemoteError
	if err := c.Call(ctx, "throwLate", &emptypb.Empty{}, &emptypb.Empty{}); !errors.As(err, &re) || re.Message != "late" {
		t.Errorf("delayed exception: %v", err)
	}

	// The client may write before it notices the drop: "ok" is
	// idempotent, so it is repeated on a new connection either way.
	srv.DropConnections()
	if err := c.Call(ctx, "ok", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Errorf("call after DropConnections: %v", err)
	}
	if n := srv.Connections(); n != 4 {
		t.Errorf("%d connections after DropConnections, want 4", n)
	}
}

// TestCapturesMatchTestdata: the captures the package embeds are those
// internal/ipc/testdata holds, so re-recording there shows up here.
func TestCapturesMatchTestdata(t *testing.T) {
	for _, name := range []string{"rm-plain-negotiate", "rm-kerberos-simple-refused"} {
		want, err := os.ReadFile(filepath.Join("..", "testdata", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ipctest.Capture(name), want) {
			t.Errorf("captures/%s.bin differs from ../testdata/%s.bin; copy it over", name, name)
		}
	}
}

// TestSimpleFromOffer: a client without a token that may fall back picks
// SIMPLE from the captured offer, and the server takes its INITIATE as the
// real RM does.
func TestSimpleFromOffer(t *testing.T) {
	var got *ipctest.Call
	srv := ipctest.NewServer(t, ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
		got = c
		return ipctest.Respond(nil)
	}), ipctest.WithTokens(func([]byte) ([]byte, bool) { return nil, false }))
	c := client(t, srv.Addr, func(cfg *ipc.Config) {
		cfg.Auth = ipc.Auth{User: "alice", AllowSimpleFallback: true, Kerberos: &ipc.KerberosAuth{
			Principal: "alice@EXAMPLE.COM", ServerPrincipal: "rm/_HOST@EXAMPLE.COM",
			NewClient: func(string) (sasl.Client, error) { return nil, errors.New("not offered") },
		}}
	})
	if err := c.Call(ctxFor(t, 10*time.Second), "m", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if got.Auth != "SIMPLE" || got.User != "alice" {
		t.Errorf("call as %s user %q, want SIMPLE alice", got.Auth, got.User)
	}
}

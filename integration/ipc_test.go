//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

const applicationClientProtocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"

// newRMClient is an ApplicationClientProtocol client of the test bed's
// (active) RM with SIMPLE authentication as the current user, plus edit's
// changes.
func newRMClient(t testing.TB, tb *testbed.TestBed, edit func(*ipc.Config)) *ipc.Client {
	t.Helper()
	rm := tb.Ready.ResourceManagers[0]
	if tb.Ready.HA {
		var err error
		if rm, err = tb.ActiveRM(testContext(t, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ipc.Config{
		Addr:     rm.RPC,
		Protocol: applicationClientProtocol,
		Auth:     ipc.Auth{User: currentUser(t)},
	}
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

// numNodeManagers reads GetClusterMetricsResponseProto{cluster_metrics=1:
// YarnClusterMetricsProto{num_node_managers=1}} from the unknown fields of
// an Empty: this test does not depend on the YARN protos.
func numNodeManagers(resp *emptypb.Empty) (int64, error) {
	metrics, err := bytesField(resp.ProtoReflect().GetUnknown(), 1)
	if err != nil {
		return 0, fmt.Errorf("cluster_metrics: %w", err)
	}
	b := metrics
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			return int64(v), nil
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return 0, errors.New("no num_node_managers")
}

// bytesField returns the first length-delimited field num of an encoded
// message.
func bytesField(b []byte, num protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		fn, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if fn == num && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			return v, nil
		}
		n = protowire.ConsumeFieldValue(fn, typ, b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil, fmt.Errorf("no field %d", num)
}

func getClusterMetrics(ctx context.Context, c *ipc.Client) (int64, error) {
	var resp emptypb.Empty
	if err := c.Call(ctx, "getClusterMetrics", &emptypb.Empty{}, &resp); err != nil {
		return 0, err
	}
	return numNodeManagers(&resp)
}

// TestIPCGetClusterMetrics: a SIMPLE client calls the RM's
// ApplicationClientProtocol and reads both NodeManagers from the reply.
func TestIPCGetClusterMetrics(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	c := newRMClient(t, tb, nil)
	n, err := getClusterMetrics(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(tb.Ready.NodeManagers) {
		t.Errorf("num_node_managers = %d, want %d", n, tb.Ready.NodeManagers)
	}
}

// recordingDialer dials TCP and keeps, per connection, the bytes the
// server sent.
type recordingDialer struct {
	mu    sync.Mutex
	conns []*recordedConn
}

type recordedConn struct {
	net.Conn
	mu   sync.Mutex
	read bytes.Buffer
}

func (c *recordedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (d *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	rc := &recordedConn{Conn: nc}
	d.mu.Lock()
	d.conns = append(d.conns, rc)
	d.mu.Unlock()
	return rc, nil
}

// received returns what the server sent on the i-th connection.
func (d *recordingDialer) received(i int) []byte {
	d.mu.Lock()
	c := d.conns[i]
	d.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.read.Bytes())
}

func (d *recordingDialer) dials() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// recordClientID is the client id of recorded exchanges; package ipc's
// unit tests replay them with the same id.
var recordClientID = []byte("spindle-recorded")

// TestIPCRecord writes what the test bed's RM sends, byte for byte, to
// $SPINDLE_IPC_RECORD/<name>.bin for package ipc's unit tests to replay
// (internal/ipc/testdata): SIMPLE calls and an error on the plain test bed;
// the SASL offers of both test beds; the FATAL refusal of a SIMPLE client by
// the Kerberos test bed.
func TestIPCRecord(t *testing.T) {
	dir := os.Getenv("SPINDLE_IPC_RECORD")
	if dir == "" {
		t.Skip("set SPINDLE_IPC_RECORD=<dir> to record")
	}
	tb := testbed.Get(t)
	ctx := testContext(t, time.Minute)
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s.bin: %d bytes", name, len(b))
	}
	// A TOKEN client whose mechanism refuses to start: the connection
	// ends right after the server's offer.
	d := &recordingDialer{}
	c := newRMClient(t, tb, func(cfg *ipc.Config) {
		cfg.Dialer = d
		cfg.Auth.Token = &ipc.TokenAuth{NewClient: func(string, string) (sasl.Client, error) {
			return nil, errors.New("recording the offer only")
		}}
	})
	if _, err := getClusterMetrics(ctx, c); err == nil {
		t.Fatal("TOKEN client without a mechanism succeeded")
	}
	write("rm-"+string(tb.Mode())+"-negotiate", d.received(0))

	d = &recordingDialer{}
	c = newRMClient(t, tb, func(cfg *ipc.Config) {
		cfg.Dialer = d
		cfg.ClientID = recordClientID
	})
	if tb.Ready.Kerberos != nil {
		_, err := getClusterMetrics(ctx, c)
		if !errors.Is(err, ipc.ErrUnauthorized) {
			t.Fatalf("SIMPLE call to the Kerberos RM: %v, want ErrUnauthorized", err)
		}
		write("rm-kerberos-simple-refused", d.received(0))
		return
	}
	if _, err := getClusterMetrics(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{}); err == nil {
		t.Fatal("noSuchMethod succeeded")
	}
	write("rm-plain-simple-calls", d.received(0))
}

// countingDialer counts dials.
type countingDialer struct{ n atomic.Int32 }

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// TestIPCConcurrentCalls: 8 goroutines make 50 calls each over one
// connection; Close leaves no goroutine behind.
func TestIPCConcurrentCalls(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, 2*time.Minute)
	d := &countingDialer{}
	before := runtime.NumGoroutine()
	c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Dialer = d })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				n, err := getClusterMetrics(ctx, c)
				if err != nil {
					t.Error(err)
					return
				}
				if n != int64(tb.Ready.NodeManagers) {
					t.Errorf("num_node_managers = %d", n)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := d.n.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before the client", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIPCUnknownMethod: the RM answers an unknown method with
// RpcNoSuchMethodException (ERROR_NO_SUCH_METHOD) and keeps the connection.
func TestIPCUnknownMethod(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	d := &countingDialer{}
	c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Dialer = d })
	err := c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{})
	var re *ipc.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *ipc.RemoteError", err)
	}
	if re.Class != "org.apache.hadoop.ipc.RpcNoSuchMethodException" || re.Code != ipc.ErrorNoSuchMethod || re.Fatal ||
		re.Message != "Unknown method noSuchMethod called on "+applicationClientProtocol+" protocol." {
		t.Errorf("remote error %+v", re)
	}
	if _, err := getClusterMetrics(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := d.n.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// proxy forwards TCP connections to a server. It can drop them all, as a
// server closing its connections does, and hold back what the server sends,
// as a slow server or network does.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	held  chan struct{} // while not nil, server-to-client bytes wait for it
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.release()
		p.drop()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(server, client)
			server.Close()
		}()
		go func() {
			defer p.wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					p.mu.Lock()
					held := p.held
					p.mu.Unlock()
					if held != nil {
						<-held
					}
					if _, err := client.Write(buf[:n]); err != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			client.Close()
		}()
	}
}

// drop closes every connection on both sides.
func (p *proxy) drop() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// hold stops the server's bytes from reaching the client until release.
func (p *proxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

// TestIPCReconnect: when the server side drops the connection, the next
// call, even of a method not marked idempotent, dials again; a call that
// was waiting when the connection dropped is repeated, with the same call
// id and retry count 1, only when its method is idempotent.
func TestIPCReconnect(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)

	t.Run("idle", func(t *testing.T) {
		p := newProxy(t, tb.Ready.ResourceManagers[0].RPC)
		d := &countingDialer{}
		c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Addr = p.addr(); cfg.Dialer = d })
		if _, err := getClusterMetrics(ctx, c); err != nil {
			t.Fatal(err)
		}
		p.drop()
		time.Sleep(100 * time.Millisecond) // the client reads EOF
		if _, err := getClusterMetrics(ctx, c); err != nil {
			t.Fatalf("call after the connection dropped: %v", err)
		}
		if n := d.n.Load(); n != 2 {
			t.Errorf("%d connections, want 2", n)
		}
	})

	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprint("in flight, idempotent=", idempotent), func(t *testing.T) {
			p := newProxy(t, tb.Ready.ResourceManagers[0].RPC)
			d := &countingDialer{}
			c := newRMClient(t, tb, func(cfg *ipc.Config) {
				cfg.Addr = p.addr()
				cfg.Dialer = d
				cfg.Idempotent = map[string]bool{"getClusterMetrics": idempotent}
			})
			if _, err := getClusterMetrics(ctx, c); err != nil {
				t.Fatal(err)
			}
			p.hold()
			errc := make(chan error, 1)
			go func() {
				_, err := getClusterMetrics(ctx, c)
				errc <- err
			}()
			time.Sleep(200 * time.Millisecond) // the call is on the wire
			p.drop()
			p.release()
			err := <-errc
			if idempotent {
				if err != nil {
					t.Fatalf("idempotent call was not repeated: %v", err)
				}
				if n := d.n.Load(); n != 2 {
					t.Errorf("%d connections, want 2", n)
				}
				return
			}
			var ce *ipc.ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("non-idempotent call: %v, want a *ipc.ConnError", err)
			}
			if n := d.n.Load(); n != 1 {
				t.Errorf("%d connections, want 1: the call must not be repeated", n)
			}
		})
	}
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.msgs == nil {
		h.msgs = map[string]int{}
	}
	h.msgs[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msgs[msg]
}

// TestIPCCancelAndPing: a call the server is slow to answer (its reply held
// back on the way) pings the server, which takes the pings in stride; a
// call whose context ends returns promptly and leaves the connection in
// use.
func TestIPCCancelAndPing(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	p := newProxy(t, tb.Ready.ResourceManagers[0].RPC)
	d := &countingDialer{}
	logs := &countingHandler{}
	c := newRMClient(t, tb, func(cfg *ipc.Config) {
		cfg.Addr = p.addr()
		cfg.Dialer = d
		cfg.PingInterval = 50 * time.Millisecond
		cfg.Logger = slog.New(logs)
	})
	if _, err := getClusterMetrics(ctx, c); err != nil {
		t.Fatal(err)
	}

	p.hold()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := getClusterMetrics(short, c)
	if err != context.DeadlineExceeded {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned %v after the deadline", d)
	}

	errc := make(chan error, 1)
	go func() {
		_, err := getClusterMetrics(ctx, c)
		errc <- err
	}()
	time.Sleep(400 * time.Millisecond)
	p.release()
	if err := <-errc; err != nil {
		t.Fatalf("call after pings: %v", err)
	}
	if _, err := getClusterMetrics(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := logs.count("ipc: ping"); n < 2 {
		t.Errorf("%d pings, want several", n)
	}
	if n := d.n.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

const clientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// nameNodeAddr is the NameNode's RPC host:port.
func nameNodeAddr(t testing.TB, tb *testbed.TestBed) string {
	u, err := url.Parse(tb.Ready.NameNode)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// getServerDefaults calls ClientProtocol.getServerDefaults and returns
// FsServerDefaultsProto's blockSize (1) and replication (4).
func getServerDefaults(ctx context.Context, c *ipc.Client) (blockSize, replication uint64, err error) {
	var resp emptypb.Empty
	if err := c.Call(ctx, "getServerDefaults", &emptypb.Empty{}, &resp); err != nil {
		return 0, 0, err
	}
	defaults, err := bytesField(resp.ProtoReflect().GetUnknown(), 1)
	if err != nil {
		return 0, 0, err
	}
	for b := defaults; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == 1 || num == 4) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, 0, protowire.ParseError(n)
			}
			if num == 1 {
				blockSize = v
			} else {
				replication = v
			}
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return 0, 0, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return blockSize, replication, nil
}

// TestIPCNameNode calls the NameNode's ClientProtocol.
func TestIPCNameNode(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	c, err := ipc.New(ipc.Config{Addr: nameNodeAddr(t, tb), Protocol: clientProtocol, Auth: ipc.Auth{User: currentUser(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs, repl, err := getServerDefaults(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if bs == 0 || repl == 0 {
		t.Errorf("blockSize %d replication %d", bs, repl)
	}
}

// kerberosAuth authenticates as user with GSSAPI at qop.
func kerberosAuth(t testing.TB, tb *testbed.TestBed, user string, qop sasl.QOP) ipc.Auth {
	t.Helper()
	kc, err := tb.KerberosClient(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Destroy)
	k := tb.Ready.Kerberos
	_, realm, _ := strings.Cut(k.ServicePrincipal, "@")
	svc, _, _ := strings.Cut(k.ServicePrincipal, "/")
	return ipc.Auth{Kerberos: &ipc.KerberosAuth{
		Principal:       user + "@" + k.Realm,
		ServerPrincipal: svc + "/_HOST@" + realm,
		NewClient: func(spn string) (sasl.Client, error) {
			return sasl.NewGSSAPI(sasl.GSSAPIConfig{Client: kc, ServicePrincipal: spn, Protection: []sasl.QOP{qop}})
		},
	}}
}

// responseCallIDs lists the call ids of the packets a server sent, and
// reports whether text appears anywhere in its bytes.
func responseCallIDs(t testing.TB, b []byte) []int32 {
	var ids []int32
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if 4+n > len(b) {
			t.Fatalf("truncated packet")
		}
		pkt := b[4 : 4+n]
		b = b[4+n:]
		hl, k := protowire.ConsumeVarint(pkt)
		if k < 0 {
			t.Fatal(protowire.ParseError(k))
		}
		h := pkt[k : k+int(hl)]
		num, typ, k := protowire.ConsumeTag(h)
		if num != 1 || typ != protowire.VarintType {
			t.Fatalf("response header does not start with callId")
		}
		id, _ := protowire.ConsumeVarint(h[k:])
		ids = append(ids, int32(uint32(id)))
	}
	return ids
}

var allQOPs = []sasl.QOP{sasl.Auth, sasl.AuthInt, sasl.AuthConf}

// TestIPCKerberos: alice authenticates to the RM with GSSAPI at each
// protection level (the test bed offers all three; the client picks). At
// integrity and privacy every response comes wrapped (call id -33); at
// privacy the server's error text does not appear on the wire. Concurrent
// calls share the wrapped connection.
func TestIPCKerberos(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, 2*time.Minute)
	for _, qop := range allQOPs {
		t.Run(string(qop), func(t *testing.T) {
			d := &recordingDialer{}
			c := newRMClient(t, tb, func(cfg *ipc.Config) {
				cfg.Auth = kerberosAuth(t, tb, "alice", qop)
				cfg.Dialer = d
			})
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Go(func() {
					for i := 0; i < 25; i++ {
						n, err := getClusterMetrics(ctx, c)
						if err != nil {
							t.Error(err)
							return
						}
						if n != int64(tb.Ready.NodeManagers) {
							t.Errorf("num_node_managers = %d", n)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := c.Call(ctx, "noSuchMethod", &emptypb.Empty{}, &emptypb.Empty{}); !strings.Contains(fmt.Sprint(err), "RpcNoSuchMethodException") {
				t.Errorf("noSuchMethod: %v", err)
			}
			if n := d.dials(); n != 1 {
				t.Fatalf("%d connections, want 1", n)
			}
			received := d.received(0)
			ids := responseCallIDs(t, received)
			// The SASL exchange: NEGOTIATE, the AP-REP CHALLENGE, the
			// security layer CHALLENGE, SUCCESS; then 101 responses.
			if len(ids) != 4+101 {
				t.Fatalf("%d packets from the server, want 105", len(ids))
			}
			wrapped := 0
			for _, id := range ids[4:] {
				if id == -33 {
					wrapped++
				}
			}
			if want := map[sasl.QOP]int{sasl.Auth: 0, sasl.AuthInt: 101, sasl.AuthConf: 101}[qop]; wrapped != want {
				t.Errorf("%d wrapped responses, want %d", wrapped, want)
			}
			plainText := bytes.Contains(received, []byte("RpcNoSuchMethodException"))
			if plainText != (qop != sasl.AuthConf) {
				t.Errorf("error text readable on the wire: %v", plainText)
			}
		})
	}
}

// TestIPCKerberosNameNode: the NameNode, dialed by IP address, with its
// principal checked through _HOST, at privacy.
func TestIPCKerberosNameNode(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, time.Minute)
	c, err := ipc.New(ipc.Config{Addr: nameNodeAddr(t, tb), Protocol: clientProtocol, Auth: kerberosAuth(t, tb, "bob", sasl.AuthConf)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if bs, _, err := getServerDefaults(ctx, c); err != nil || bs == 0 {
		t.Fatalf("getServerDefaults: blockSize %d, %v", bs, err)
	}
}

// TestIPCKerberosRefusals: the Kerberos RM refuses a client without
// credentials with the server's reason; a client expecting another server
// principal refuses the server.
func TestIPCKerberosRefusals(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, time.Minute)

	c := newRMClient(t, tb, nil) // SIMPLE, no credentials
	_, err := getClusterMetrics(ctx, c)
	var re *ipc.RemoteError
	if !errors.Is(err, ipc.ErrUnauthorized) || !errors.As(err, &re) ||
		re.Message != "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]" {
		t.Errorf("client without credentials: %v", err)
	}

	c = newRMClient(t, tb, func(cfg *ipc.Config) {
		cfg.Auth = kerberosAuth(t, tb, "alice", sasl.Auth)
		cfg.Auth.Kerberos.ServerPrincipal = "rm/_HOST@" + tb.Ready.Kerberos.Realm
	})
	_, err = getClusterMetrics(ctx, c)
	if !errors.Is(err, ipc.ErrUnauthorized) || !strings.Contains(err.Error(), `server has Kerberos principal "hadoop/localhost", expected "rm/localhost"`) {
		t.Errorf("unexpected server principal: %v", err)
	}
}

// rmDelegationToken asks the RM for a delegation token over c.
func rmDelegationToken(ctx context.Context, c *ipc.Client, renewer string) (*hadoopcommon.TokenProto, error) {
	var resp hadoopcommon.GetDelegationTokenResponseProto
	err := c.Call(ctx, "getDelegationToken", &hadoopcommon.GetDelegationTokenRequestProto{Renewer: &renewer}, &resp)
	if err != nil {
		return nil, err
	}
	if resp.GetToken() == nil {
		return nil, errors.New("no token in the response")
	}
	return resp.GetToken(), nil
}

// tokenAuth authenticates with tok (DIGEST-MD5) at qop.
func tokenAuth(tok *hadoopcommon.TokenProto, qop sasl.QOP) ipc.Auth {
	return ipc.Auth{Token: &ipc.TokenAuth{NewClient: func(protocol, serverID string) (sasl.Client, error) {
		return sasl.NewDigestMD5(sasl.DigestConfig{
			Identifier: tok.GetIdentifier(), Password: tok.GetPassword(),
			Protocol: protocol, ServerID: serverID, Protection: []sasl.QOP{qop},
		})
	}}}
}

// TestIPCToken: a client gets an RM delegation token, then another
// authenticates with it (TOKEN, DIGEST-MD5) and calls the RM: at
// authentication on the plain test bed, at every protection level on the
// Kerberos one. A token with a wrong password is refused.
func TestIPCToken(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	qops := []sasl.QOP{sasl.Auth}
	issuer := newRMClient(t, tb, nil)
	if tb.Ready.Kerberos != nil {
		qops = allQOPs
		issuer = newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Auth = kerberosAuth(t, tb, "alice", sasl.AuthConf) })
	}
	tok, err := rmDelegationToken(ctx, issuer, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if tok.GetKind() != "RM_DELEGATION_TOKEN" {
		t.Errorf("token kind %q", tok.GetKind())
	}
	for _, qop := range qops {
		t.Run(string(qop), func(t *testing.T) {
			c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Auth = tokenAuth(tok, qop) })
			for i := 0; i < 3; i++ {
				if n, err := getClusterMetrics(ctx, c); err != nil || n != int64(tb.Ready.NodeManagers) {
					t.Fatalf("num_node_managers %d, %v", n, err)
				}
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		bad := proto.CloneOf(tok)
		bad.Password = bytes.Clone(bad.Password)
		bad.Password[0] ^= 0xff
		c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Auth = tokenAuth(bad, sasl.Auth) })
		_, err := getClusterMetrics(ctx, c)
		if !errors.Is(err, ipc.ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
		t.Logf("refusal: %v", err)
	})
}

// TestIPCStandby: a standby RM refuses client connections outright, and
// its admin service answers refreshQueues with StandbyException, which
// matches ErrStandby.
func TestIPCStandby(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, time.Minute)
	active, err := tb.ActiveRM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var standby testbed.ResourceManager
	for _, rm := range tb.Ready.ResourceManagers {
		if rm.ID != active.ID {
			standby = rm
		}
	}
	c := newRMClient(t, tb, func(cfg *ipc.Config) { cfg.Addr = standby.RPC; cfg.MaxRetries = -1 })
	_, err = getClusterMetrics(ctx, c)
	var ce *ipc.ConnError
	if !errors.As(err, &ce) || ce.Op != "dial" {
		t.Errorf("client protocol on the standby: %v, want a dial error", err)
	}

	admin := newRMClient(t, tb, func(cfg *ipc.Config) {
		cfg.Addr = standby.Admin
		cfg.Protocol = "org.apache.hadoop.yarn.server.api.ResourceManagerAdministrationProtocolPB"
	})
	err = admin.Call(ctx, "refreshQueues", &emptypb.Empty{}, &emptypb.Empty{})
	var re *ipc.RemoteError
	if !errors.Is(err, ipc.ErrStandby) || !errors.As(err, &re) || re.Class != "org.apache.hadoop.ipc.StandbyException" {
		t.Errorf("refreshQueues on the standby: %v, want ErrStandby", err)
	}
	t.Logf("standby: %v", err)
}

// BenchmarkIPCGetClusterMetrics measures calls per second to the RM over
// one connection, from 1 and from 8 concurrent callers: SIMPLE on the plain
// test bed, GSSAPI at authentication and at privacy on the Kerberos one.
func BenchmarkIPCGetClusterMetrics(b *testing.B) {
	tb := testbed.Get(b)
	auths := map[string]func(testing.TB) ipc.Auth{
		"simple": func(t testing.TB) ipc.Auth { return ipc.Auth{User: currentUser(t)} },
	}
	if tb.Ready.Kerberos != nil {
		auths = map[string]func(testing.TB) ipc.Auth{
			"kerberos-auth":      func(t testing.TB) ipc.Auth { return kerberosAuth(t, tb, "alice", sasl.Auth) },
			"kerberos-auth-conf": func(t testing.TB) ipc.Auth { return kerberosAuth(t, tb, "alice", sasl.AuthConf) },
		}
	}
	for name, auth := range auths {
		for _, callers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/callers=%d", name, callers), func(b *testing.B) {
				ctx := testContext(b, 10*time.Minute)
				d := &countingDialer{}
				c := newRMClient(b, tb, func(cfg *ipc.Config) { cfg.Auth = auth(b); cfg.Dialer = d })
				if _, err := getClusterMetrics(ctx, c); err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for g := 0; g < callers; g++ {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if _, err := getClusterMetrics(ctx, c); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
				if n := d.n.Load(); n != 1 {
					b.Errorf("%d connections, want 1", n)
				}
			})
		}
	}
}

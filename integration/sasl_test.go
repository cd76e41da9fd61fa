//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/sasl"
	"github.com/spindle-yarn/spindle/internal/sasl/sasltest"
)

// These tests authenticate Spindle's SASL clients against the JDK's own
// SaslServer, the implementation Hadoop's IPC server runs, hosted by
// SaslPeer.java on a loopback socket, and exchange wrapped messages both
// ways at every protection level. With SPINDLE_SASL_RECORD=<dir> they also
// write the exchanges as transcripts that package sasl's unit tests
// replay (internal/sasl/testdata).

// saslPeer is a running SaslPeer.
type saslPeer struct {
	addr string
}

var (
	saslPeerOnce    sync.Once
	saslPeerClasses string
	saslPeerErr     error
)

// startSASLPeer compiles SaslPeer.java (JDK classes only) once per version
// of its source, into a directory under os.TempDir named after its hash,
// and starts a peer for this test.
func startSASLPeer(t *testing.T, tb *testbed.TestBed) *saslPeer {
	t.Helper()
	saslPeerOnce.Do(func() { saslPeerClasses, saslPeerErr = compileSASLPeer() })
	if saslPeerErr != nil {
		t.Fatal(saslPeerErr)
	}
	args := []string{"-cp", saslPeerClasses}
	var peerArgs []string
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "-Djava.security.krb5.conf="+k.KRB5Conf)
		peerArgs = []string{filepath.Join(tb.Ready.ConfDir, "hadoop.keytab"), k.ServicePrincipal}
	}
	args = append(args, "io.spindle.testbed.SaslPeer")
	args = append(args, peerArgs...)
	cmd := exec.Command("java", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the peer exits when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("SaslPeer stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("SaslPeer did not start: %v\n%s", err, stderr.String())
	}
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTENING ")
	if !ok {
		t.Fatalf("SaslPeer said %q", line)
	}
	return &saslPeer{addr: net.JoinHostPort("127.0.0.1", port)}
}

func compileSASLPeer() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "testbed", "src", "main", "java", "io", "spindle", "testbed", "SaslPeer.java")
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	dir := filepath.Join(os.TempDir(), "spindle-saslpeer-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "io", "spindle", "testbed", "SaslPeer.class")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "spindle-saslpeer-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.Command("javac", "-d", tmp, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac %s: %v\n%s", src, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // another test binary got there first
		}
		return "", err
	}
	return dir, nil
}

// peerConn is one connection to the peer.
type peerConn struct {
	t *testing.T
	c net.Conn
}

func (p *saslPeer) dial(t *testing.T, conf map[string]string) *peerConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	t.Cleanup(func() { c.Close() })
	pc := &peerConn{t: t, c: c}
	var b strings.Builder
	for k, v := range conf {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	pc.send([]byte(b.String()))
	return pc
}

func (pc *peerConn) send(b []byte) {
	pc.t.Helper()
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	if _, err := pc.c.Write(append(frame, b...)); err != nil {
		pc.t.Fatal(err)
	}
}

// recv returns the type and payload of the peer's next frame.
func (pc *peerConn) recv() (byte, []byte) {
	pc.t.Helper()
	var n [4]byte
	if _, err := io.ReadFull(pc.c, n[:]); err != nil {
		pc.t.Fatalf("reading from SaslPeer: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(pc.c, b); err != nil {
		pc.t.Fatalf("reading from SaslPeer: %v", err)
	}
	if len(b) == 0 {
		pc.t.Fatal("empty frame from SaslPeer")
	}
	return b[0], b[1:]
}

// authenticate runs the exchange and returns the peer's view of the QOP
// and authorization id, or the peer's error message.
func (pc *peerConn) authenticate(ctx context.Context, c sasl.Client, tr *sasltest.Transcript) (qop, authz, peerErr string, err error) {
	pc.t.Helper()
	start, err := c.Start(ctx)
	if err != nil {
		return "", "", "", err
	}
	tr.Start = start
	if c.Mechanism() == "GSSAPI" {
		pc.send(start)
	}
	for {
		typ, payload := pc.recv()
		switch typ {
		case 'C':
			resp, err := c.Step(ctx, payload)
			if err != nil {
				return "", "", "", err
			}
			tr.Steps = append(tr.Steps, sasltest.Step{Challenge: payload, Response: resp})
			pc.send(resp)
		case 'S':
			tr.Final = payload
			if err := c.Finish(payload); err != nil {
				return "", "", "", err
			}
			typ, payload = pc.recv()
			if typ != 'Q' {
				pc.t.Fatalf("SaslPeer sent %q after SUCCESS, want Q", typ)
			}
			q, a, _ := strings.Cut(string(payload), "\n")
			tr.QOP = string(c.QOP())
			return q, a, "", nil
		case 'E':
			return "", "", string(payload), nil
		default:
			pc.t.Fatalf("SaslPeer sent frame type %q", typ)
		}
	}
}

// messageSizes exercise block boundaries of DES (8) and the AES-CTS
// confounder; the large one is past the 65536 maxbuf, which Hadoop does
// not enforce either. It comes last so that recordings can stop before it.
var messageSizes = []int{1, 7, 8, 9, 15, 16, 17, 31, 100, 1000, 70000}

const recordMaxMessage = 4096

// exchangeMessages sends wrapped messages of every size and checks the
// peer's wrapped answers.
func (pc *peerConn) exchangeMessages(c sasl.Client, tr *sasltest.Transcript) {
	pc.t.Helper()
	wrap := c.QOP() != sasl.Auth
	if !wrap {
		if _, err := c.Wrap([]byte("x")); !errors.Is(err, sasl.ErrNoSecurityLayer) {
			pc.t.Errorf("Wrap at auth: %v, want ErrNoSecurityLayer", err)
		}
	}
	recording := true
	for i, n := range messageSizes {
		plain := make([]byte, n)
		for j := range plain {
			plain[j] = byte(i*31 + j)
		}
		wire := plain
		if wrap {
			var err error
			if wire, err = c.Wrap(plain); err != nil {
				pc.t.Fatalf("Wrap(%d bytes): %v", n, err)
			}
			if bytes.Contains(wire, plain[:min(n, 16)]) && c.QOP() == sasl.AuthConf && n >= 8 {
				pc.t.Errorf("sealed message of %d bytes contains its plaintext", n)
			}
		}
		pc.send(append([]byte{'M'}, wire...))
		typ, reply := pc.recv()
		if typ == 'E' {
			pc.t.Fatalf("peer could not unwrap our %d-byte message: %s", n, reply)
		}
		if typ != 'M' {
			pc.t.Fatalf("peer sent %q", typ)
		}
		got := reply
		if wrap {
			var err error
			if got, err = c.Unwrap(reply); err != nil {
				pc.t.Fatalf("Unwrap(reply to %d bytes): %v", n, err)
			}
		}
		want := make([]byte, 0, n+8)
		for j := n - 1; j >= 0; j-- {
			want = append(want, plain[j])
		}
		want = append(want, "|"+strconv.Itoa(n)...)
		if !bytes.Equal(got, want) {
			pc.t.Fatalf("reply to %d bytes: got %d bytes %.40x, want %d bytes %.40x", n, len(got), got, len(want), want)
		}
		if n > recordMaxMessage {
			recording = false
		}
		if recording && wrap {
			tr.Messages = append(tr.Messages,
				sasltest.Message{FromClient: true, Plain: plain, Wire: wire},
				sasltest.Message{FromClient: false, Plain: got, Wire: reply})
		}
	}
	pc.send([]byte{'X'})
}

func saveTranscript(t *testing.T, name string, tr *sasltest.Transcript) {
	dir := os.Getenv("SPINDLE_SASL_RECORD")
	if dir == "" {
		return
	}
	if err := tr.Save(filepath.Join(dir, name+".json")); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", name)
}

// TestSASLDigestMD5JavaPeer: DIGEST-MD5 with a Hadoop-style token against
// the JDK's DigestMD5Server, configured as Hadoop's SaslRpcServer does, at
// every QOP and with each auth-conf cipher.
func TestSASLDigestMD5JavaPeer(t *testing.T) {
	tb := testbed.Get(t)
	peer := startSASLPeer(t, tb)
	identifier := []byte("\x00\x05alice\x00\x04yarn\x8a\x01\x95\x00token-identifier")
	password := []byte{0x9e, 0x10, 0x7f, 0x00, 0xff, 0x42, 0x13, 0x37, 0xc0, 0xde, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a}
	all := "auth,auth-int,auth-conf"
	cases := []struct {
		name       string
		serverQOP  string
		ciphers    string // cut the challenge's cipher list down to this
		protection []sasl.QOP
		wantQOP    sasl.QOP
		wantCipher string
	}{
		{"auth", all, "", []sasl.QOP{sasl.Auth}, sasl.Auth, ""},
		{"auth-int", all, "", []sasl.QOP{sasl.AuthInt}, sasl.AuthInt, ""},
		{"auth-conf", all, "", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "3des"},
		{"auth-conf-3des", all, "3des", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "3des"},
		{"auth-conf-rc4", all, "rc4", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "rc4"},
		{"auth-conf-des", all, "des", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "des"},
		{"auth-conf-rc4-56", all, "rc4-56", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "rc4-56"},
		{"auth-conf-rc4-40", all, "rc4-40", []sasl.QOP{sasl.AuthConf}, sasl.AuthConf, "rc4-40"},
		{"preference", "auth,auth-int", "", []sasl.QOP{sasl.AuthConf, sasl.AuthInt, sasl.Auth}, sasl.AuthInt, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &sasltest.Recorder{R: rand.Reader}
			tr := &sasltest.Transcript{
				Note:       "recorded by integration/sasl_test.go against the JDK DigestMD5Server (SaslPeer.java)",
				Mechanism:  "DIGEST-MD5",
				Identifier: identifier, Password: password,
				Protocol: "", ServerID: "default",
				Cipher: tc.ciphers,
			}
			for _, q := range tc.protection {
				tr.Protection = append(tr.Protection, string(q))
			}
			c, err := sasl.NewDigestMD5(sasl.DigestConfig{
				Identifier: identifier, Password: password,
				Protocol: "", ServerID: "default",
				Protection: tc.protection, Rand: rec,
			})
			if err != nil {
				t.Fatal(err)
			}
			conf := map[string]string{
				"mech": "DIGEST-MD5", "qop": tc.serverQOP,
				"user":     b64(identifier),
				"password": b64(password),
			}
			if tc.ciphers != "" {
				conf["ciphers"] = tc.ciphers
			}
			pc := peer.dial(t, conf)
			qop, authz, peerErr, err := pc.authenticate(testContext(t, 2*time.Minute), c, tr)
			if err != nil || peerErr != "" {
				t.Fatalf("authenticate: %v; peer: %s", err, peerErr)
			}
			if qop != string(tc.wantQOP) || c.QOP() != tc.wantQOP {
				t.Fatalf("QOP: peer %q, client %q, want %q", qop, c.QOP(), tc.wantQOP)
			}
			if authz != b64(identifier) {
				t.Errorf("peer's authorization id %q, want %q", authz, b64(identifier))
			}
			resp := string(tr.Steps[0].Response)
			if tc.wantCipher != "" && !strings.Contains(resp, `cipher="`+tc.wantCipher+`"`) {
				t.Errorf("response %q does not choose cipher %s", resp, tc.wantCipher)
			}
			pc.exchangeMessages(c, tr)
			tr.Rand = rec.Bytes()
			saveTranscript(t, "digest-"+tc.name, tr)
		})
	}

	t.Run("wrong-password", func(t *testing.T) {
		c, err := sasl.NewDigestMD5(sasl.DigestConfig{
			Identifier: identifier, Password: []byte("not the password"), ServerID: "default",
			Protection: []sasl.QOP{sasl.Auth},
		})
		if err != nil {
			t.Fatal(err)
		}
		pc := peer.dial(t, map[string]string{"mech": "DIGEST-MD5", "qop": all, "user": b64(identifier), "password": b64(password)})
		_, _, peerErr, err := pc.authenticate(testContext(t, 2*time.Minute), c, &sasltest.Transcript{})
		if err != nil || !strings.Contains(peerErr, "DIGEST-MD5") {
			t.Fatalf("got client error %v, peer error %q; want the peer to refuse the response", err, peerErr)
		}
		t.Logf("peer refused: %s", peerErr)
	})

	t.Run("no-common-qop", func(t *testing.T) {
		c, err := sasl.NewDigestMD5(sasl.DigestConfig{
			Identifier: identifier, Password: password, ServerID: "default",
			Protection: []sasl.QOP{sasl.AuthConf},
		})
		if err != nil {
			t.Fatal(err)
		}
		pc := peer.dial(t, map[string]string{"mech": "DIGEST-MD5", "qop": "auth", "user": b64(identifier), "password": b64(password)})
		_, _, _, err = pc.authenticate(testContext(t, 2*time.Minute), c, &sasltest.Transcript{})
		if !errors.Is(err, sasl.ErrNoCommonQOP) {
			t.Fatalf("got %v, want ErrNoCommonQOP", err)
		}
	})
}

// TestSASLGSSAPIJavaPeer: GSSAPI with alice's ticket for hadoop/localhost
// against the JDK's GssKrb5Server logged in from the test bed's service
// keytab, with and without mutual authentication and with an acceptor
// subkey, at every QOP.
func TestSASLGSSAPIJavaPeer(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	peer := startSASLPeer(t, tb)
	krb, err := tb.KerberosClient("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(krb.Destroy)
	spn, _, _ := strings.Cut(tb.Ready.Kerberos.ServicePrincipal, "@")
	all := "auth,auth-int,auth-conf"
	cases := []struct {
		name           string
		serverQOP      string
		protection     []sasl.QOP
		noMutual       bool
		acceptorSubkey bool
		wantQOP        sasl.QOP
	}{
		{"auth", all, []sasl.QOP{sasl.Auth}, false, false, sasl.Auth},
		{"auth-int", all, []sasl.QOP{sasl.AuthInt}, false, false, sasl.AuthInt},
		{"auth-conf", all, []sasl.QOP{sasl.AuthConf}, false, false, sasl.AuthConf},
		{"auth-int-nomutual", all, []sasl.QOP{sasl.AuthInt}, true, false, sasl.AuthInt},
		{"auth-conf-nomutual", all, []sasl.QOP{sasl.AuthConf}, true, false, sasl.AuthConf},
		{"auth-int-acceptor-subkey", all, []sasl.QOP{sasl.AuthInt}, false, true, sasl.AuthInt},
		{"auth-conf-acceptor-subkey", all, []sasl.QOP{sasl.AuthConf}, false, true, sasl.AuthConf},
		{"preference", "auth,auth-int", []sasl.QOP{sasl.AuthConf, sasl.AuthInt}, false, false, sasl.AuthInt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &sasltest.Recorder{R: rand.Reader}
			var clock time.Time
			c, err := sasl.NewGSSAPI(sasl.GSSAPIConfig{
				Client: krb, ServicePrincipal: spn,
				Protection: tc.protection, NoMutualAuth: tc.noMutual,
				Rand: rec,
				Now:  func() time.Time { clock = time.Now(); return clock },
			})
			if err != nil {
				t.Fatal(err)
			}
			tr := &sasltest.Transcript{
				Note:             "recorded by integration/sasl_test.go against the JDK GssKrb5Server (SaslPeer.java) and the test bed's MiniKdc",
				Mechanism:        "GSSAPI",
				ServicePrincipal: spn,
				Mutual:           !tc.noMutual,
			}
			for _, q := range tc.protection {
				tr.Protection = append(tr.Protection, string(q))
			}
			conf := map[string]string{"mech": "GSSAPI", "qop": tc.serverQOP}
			if tc.acceptorSubkey {
				conf["acceptorSubkey"] = "true"
			}
			pc := peer.dial(t, conf)
			qop, authz, peerErr, err := pc.authenticate(testContext(t, 2*time.Minute), c, tr)
			if err != nil || peerErr != "" {
				t.Fatalf("authenticate: %v; peer: %s", err, peerErr)
			}
			if qop != string(tc.wantQOP) || c.QOP() != tc.wantQOP {
				t.Fatalf("QOP: peer %q, client %q, want %q", qop, c.QOP(), tc.wantQOP)
			}
			if want := "alice@" + tb.Ready.Kerberos.Realm; authz != want {
				t.Errorf("peer's authorization id %q, want %q", authz, want)
			}
			wantSteps := 2
			if tc.noMutual {
				wantSteps = 1
			}
			if len(tr.Steps) != wantSteps {
				t.Errorf("%d challenges, want %d", len(tr.Steps), wantSteps)
			}
			pc.exchangeMessages(c, tr)

			_, key, err := krb.GetServiceTicket(spn) // cached: the key of the exchange
			if err != nil {
				t.Fatal(err)
			}
			tr.Rand, tr.Now = rec.Bytes(), clock
			tr.SessionKeyType, tr.SessionKey = key.KeyType, key.KeyValue
			saveTranscript(t, "gssapi-"+tc.name, tr)
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

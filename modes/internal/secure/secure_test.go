package secure

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func mustSecret(t *testing.T) []byte {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSecret(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	if len(a) != SecretSize || len(b) != SecretSize {
		t.Fatalf("sizes %d, %d, want %d", len(a), len(b), SecretSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, _, err := TLSConfigs(make([]byte, MinSecretSize-1)); err == nil {
		t.Fatal("TLSConfigs took a short secret")
	}
	if _, _, err := TLSConfigs(nil); err == nil {
		t.Fatal("TLSConfigs took an empty secret")
	}
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	if err := ClientHandshake(c, []byte("short")); err == nil {
		t.Fatal("ClientHandshake took a short secret")
	}
}

// tlsPair runs one TLS connection over loopback with the given configs and
// returns the server's and the client's results: the handshake error, or
// the error of an echo exchange after it.
func tlsPair(t *testing.T, srv, cli *tls.Config) (srvErr, cliErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, srv)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(tc, buf); err != nil {
			done <- err
			return
		}
		_, err = tc.Write(buf)
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, cli)
	cliErr = tc.Handshake()
	if cliErr == nil {
		// In TLS 1.3 the client finishes its handshake before the server
		// has checked the client's certificate: a refusal shows on the
		// first read.
		if _, cliErr = tc.Write([]byte("ping")); cliErr == nil {
			buf := make([]byte, 4)
			if _, cliErr = io.ReadFull(tc, buf); cliErr == nil && string(buf) != "ping" {
				cliErr = errors.New("echo mismatch")
			}
		}
	}
	tc.Close()
	return <-done, cliErr
}

func TestTLSSameSecretConnects(t *testing.T) {
	secret := mustSecret(t)
	srv, cli, err := TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	// Separately derived configs (another container) interoperate.
	srv2, cli2, err := TLSConfigs(bytes.Clone(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name     string
		srv, cli *tls.Config
	}{{"same", srv, cli}, {"server-from-other-derivation", srv2, cli}, {"client-from-other-derivation", srv, cli2}} {
		if se, ce := tlsPair(t, p.srv, p.cli); se != nil || ce != nil {
			t.Errorf("%s: server %v, client %v", p.name, se, ce)
		}
	}
}

func TestTLSDifferentSecretRefused(t *testing.T) {
	srvA, cliA, err := TLSConfigs(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	srvB, cliB, err := TLSConfigs(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	// Server A, client B: the client refuses A's certificate first.
	se, ce := tlsPair(t, srvA, cliB)
	if !errors.Is(ce, ErrNotAuthenticated) {
		t.Errorf("server A, client B: client error %v, want ErrNotAuthenticated", ce)
	}
	if se == nil {
		t.Error("server A, client B: server saw no error")
	}
	// A client that skips the pin check (an attacker's) is still refused
	// by the server, which checks the client's certificate.
	evil := cliB.Clone()
	evil.VerifyPeerCertificate = nil
	se, ce = tlsPair(t, srvA, evil)
	if !errors.Is(se, ErrNotAuthenticated) {
		t.Errorf("server A, pin-less client B: server error %v, want ErrNotAuthenticated", se)
	}
	if ce == nil {
		t.Error("server A, pin-less client B: client saw no error")
	}
	// Reverse: server B, client A.
	se, ce = tlsPair(t, srvB, cliA)
	if !errors.Is(ce, ErrNotAuthenticated) || se == nil {
		t.Errorf("server B, client A: server %v, client %v", se, ce)
	}
}

func TestTLSClientWithoutCertRefused(t *testing.T) {
	srv, _, err := TLSConfigs(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	bare := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	se, ce := tlsPair(t, srv, bare)
	if se == nil || ce == nil {
		t.Fatalf("client without certificate: server %v, client %v; want both to fail", se, ce)
	}
}

func TestTLSOnly13(t *testing.T) {
	srv, _, err := TLSConfigs(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	old := &tls.Config{MaxVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if se, _ := tlsPair(t, srv, old); se == nil {
		t.Fatal("server accepted TLS 1.2")
	}
}

func handshakePair(cs, ss []byte) (cliErr, srvErr error) {
	c, s := net.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ServerHandshake(s, ss)
		s.Close() // a refusing server closes without the accept byte
		done <- err
	}()
	cliErr = ClientHandshake(c, cs)
	c.Close()
	return cliErr, <-done
}

func TestHandshake(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	if ce, se := handshakePair(a, bytes.Clone(a)); ce != nil || se != nil {
		t.Fatalf("same secret: client %v, server %v", ce, se)
	}
	ce, se := handshakePair(a, b)
	if !errors.Is(ce, ErrNotAuthenticated) {
		t.Errorf("different secrets: client error %v, want ErrNotAuthenticated", ce)
	}
	if se == nil {
		t.Error("different secrets: server saw no error")
	}
}

// A client that skips the check of the server's proof (an attacker
// replaying whatever it gets) still cannot make the server accept it.
func TestHandshakeServerChecksClient(t *testing.T) {
	secret := mustSecret(t)
	c, s := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServerHandshake(s, secret); s.Close() }()
	hello := append([]byte(HandshakeMagic), make([]byte, nonceSize)...)
	c.Write(hello)
	resp := make([]byte, nonceSize+32)
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	// Reflect the server's own proof back.
	c.Write(resp[nonceSize:])
	var b [1]byte
	if _, err := c.Read(b[:]); err == nil {
		t.Fatal("server sent an accept byte to a client with a forged proof")
	}
	if err := <-done; !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("server: %v, want ErrNotAuthenticated", err)
	}
}

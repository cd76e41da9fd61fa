package secure

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// certOptionalPair handshakes cli against srv over loopback and returns
// the number of certificates the server saw and both ends' errors (the
// client's after a read, since a TLS 1.3 client learns of a refusal of
// its certificate only then).
func certOptionalPair(t *testing.T, srv, cli *tls.Config) (peerCerts int, srvErr, cliErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		n   int
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- res{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, srv)
		if err := tc.Handshake(); err != nil {
			done <- res{err: err}
			return
		}
		_, err = tc.Write([]byte("ok"))
		done <- res{n: len(tc.ConnectionState().PeerCertificates), err: err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, cli)
	if cliErr = tc.Handshake(); cliErr == nil {
		_, cliErr = tc.Read(make([]byte, 2))
	}
	r := <-done
	return r.n, r.err, cliErr
}

func TestServerTLSConfigCertOptional(t *testing.T) {
	secret := mustSecret(t)
	srv, err := ServerTLSConfigCertOptional(secret)
	if err != nil {
		t.Fatal(err)
	}
	_, cli, err := TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	n, se, ce := certOptionalPair(t, srv, cli)
	if se != nil || ce != nil || n != 1 {
		t.Errorf("secret holder: server %v, client %v, %d peer certificates; want a connection with 1", se, ce, n)
	}

	bare := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	n, se, ce = certOptionalPair(t, srv, bare)
	if se != nil || ce != nil || n != 0 {
		t.Errorf("client without certificate: server %v, client %v, %d peer certificates; want a connection with none", se, ce, n)
	}

	// A certificate on another key is still refused in the handshake.
	_, other, err := TLSConfigs(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	other = other.Clone()
	other.VerifyPeerCertificate = nil // an attacker's client skips its own pin check
	_, se, ce = certOptionalPair(t, srv, other)
	if !errors.Is(se, ErrNotAuthenticated) || ce == nil {
		t.Errorf("client of another secret: server %v, client %v; want ErrNotAuthenticated and a failed client", se, ce)
	}

	// The strict configuration is unchanged.
	strict, _, err := TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	if strict.ClientAuth != tls.RequireAnyClientCert {
		t.Errorf("TLSConfigs' server ClientAuth = %v, want RequireAnyClientCert", strict.ClientAuth)
	}
	if _, err := ServerTLSConfigCertOptional([]byte("short")); err == nil {
		t.Error("ServerTLSConfigCertOptional took a short secret")
	}
}

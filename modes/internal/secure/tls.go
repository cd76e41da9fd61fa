package secure

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// TLSConfigs returns the server and client TLS configurations of a
// deployment: TLS 1.3 only, each end presenting a self-signed certificate
// on an ed25519 key derived from secret (HKDF-SHA256), each requiring the
// other's and accepting it only when its public key is that derived key.
// No hostname or CA is involved: the pin is the whole of the trust, so a
// certificate's names and dates do not matter (the dates span 2000 to
// 2200 so no clock skew can reject it).
//
// Session resumption is off on both ends: a resumed TLS 1.3 session skips
// the certificate check that the pin relies on.
//
// The returned configurations are new on every call; the caller may set
// further fields (NextProtos, ...) but must keep the verification ones.
func TLSConfigs(secret []byte) (server, client *tls.Config, err error) {
	seed, err := derive(secret, infoTLSKey, ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "spindle deployment"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	// ed25519 signatures are deterministic, so the rand argument is not
	// used for the signature; the serial number is fixed.
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, fmt.Errorf("secure: creating the deployment certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	verify := func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		return checkPin(rawCerts, pub)
	}
	server = &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.RequireAnyClientCert,
		VerifyPeerCertificate:  verify,
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// The chain and hostname checks are replaced by the pin check
		// below; TLS itself still makes the peer prove it holds the
		// certificate's private key (CertificateVerify).
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: verify,
		ClientSessionCache:    nil,
	}
	return server, client, nil
}

func checkPin(rawCerts [][]byte, want ed25519.PublicKey) error {
	if len(rawCerts) == 0 {
		return fmt.Errorf("%w: no certificate", ErrNotAuthenticated)
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return fmt.Errorf("%w: unreadable certificate: %v", ErrNotAuthenticated, err)
	}
	got, ok := leaf.PublicKey.(ed25519.PublicKey)
	if !ok || !bytes.Equal(got, want) {
		return fmt.Errorf("%w: certificate key is not the deployment's", ErrNotAuthenticated)
	}
	return nil
}

// ServerTLSConfigCertOptional is TLSConfigs' server configuration, except
// that a client may also connect without a certificate: a certificate it
// does present must still carry the deployment's pinned key (the
// handshake fails otherwise). A connection's
// tls.ConnectionState.PeerCertificates is therefore non-empty exactly when
// the client proved it holds the secret; a server using this
// configuration must authenticate the other requests itself (package
// clienttoam does, with YARN's ClientToAMToken).
//
// RequestClientCert, not VerifyClientCertIfGiven: the latter would also
// check the certificate's chain against CAs, which a self-signed
// deployment certificate never passes; the pin replaces the chain.
func ServerTLSConfigCertOptional(secret []byte) (*tls.Config, error) {
	server, _, err := TLSConfigs(secret)
	if err != nil {
		return nil, err
	}
	pinned := server.VerifyPeerCertificate
	server.ClientAuth = tls.RequestClientCert
	server.VerifyPeerCertificate = func(rawCerts [][]byte, chains [][]*x509.Certificate) error {
		if len(rawCerts) == 0 {
			return nil
		}
		return pinned(rawCerts, chains)
	}
	return server, nil
}

// Package sasl implements the client side of the SASL mechanisms Hadoop IPC
// uses: GSSAPI (Kerberos v5, RFC 4752) and DIGEST-MD5 (RFC 2831, with Hadoop
// tokens), at the three protection levels hadoop.rpc.protection names.
//
// The Hadoop-specific exchange (RpcSaslProto NEGOTIATE/INITIATE/CHALLENGE/
// RESPONSE/SUCCESS/WRAP) lives in package ipc; this package only turns
// challenges into responses and, once the exchange is complete, wraps and
// unwraps the bytes of the negotiated security layer.
//
// A Client is used by one connection at a time and is not safe for
// concurrent use, with one exception for the clients of this package: once
// Finish has succeeded, Wrap and Unwrap may run concurrently with each
// other (a connection's writer and reader), as each direction keeps its own
// sequence number and cipher state; neither may run concurrently with
// itself. After Unwrap fails, every later Unwrap fails too: a message was
// lost, forged or reordered, and the cipher state cannot recover.
//
// Errors wrap the sentinels in errors.go (ErrNoCommonQOP, ErrServerAuth,
// ErrMalformed, ErrIntegrity, ErrSequence, ErrNoSecurityLayer, ErrState);
// match them with errors.Is.
package sasl

import (
	"context"
	"fmt"
	"strings"
)

// QOP is a SASL quality of protection.
type QOP string

// The three protection levels, in Hadoop's names: authentication,
// integrity and privacy.
const (
	Auth     QOP = "auth"      // authentication only; no security layer
	AuthInt  QOP = "auth-int"  // integrity: every message is signed
	AuthConf QOP = "auth-conf" // privacy: every message is signed and encrypted
)

// ParseProtection turns a hadoop.rpc.protection value ("authentication",
// "integrity", "privacy", or a comma-separated list of them, in order of
// preference) into QOPs. An empty value means authentication.
func ParseProtection(v string) ([]QOP, error) {
	if strings.TrimSpace(v) == "" {
		return []QOP{Auth}, nil
	}
	var out []QOP
	for _, p := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "authentication":
			out = append(out, Auth)
		case "integrity":
			out = append(out, AuthInt)
		case "privacy":
			out = append(out, AuthConf)
		default:
			return nil, fmt.Errorf("sasl: hadoop.rpc.protection %q: %q is not one of authentication, integrity, privacy", v, p)
		}
	}
	return out, nil
}

// Client is one SASL authentication exchange and, after it, its security
// layer.
type Client interface {
	// Mechanism is the SASL mechanism name: "GSSAPI" or "DIGEST-MD5".
	Mechanism() string
	// Start returns the initial response, sent with INITIATE. It may be
	// empty (DIGEST-MD5 answers a challenge the server sent with NEGOTIATE
	// through Step instead).
	Start(ctx context.Context) ([]byte, error)
	// Step answers one server challenge.
	Step(ctx context.Context, challenge []byte) ([]byte, error)
	// Finish takes the token carried by the server's SUCCESS message (empty
	// for some mechanisms) and verifies it, e.g. DIGEST-MD5's rspauth.
	Finish(final []byte) error
	// QOP is the negotiated protection; valid after Finish.
	QOP() QOP
	// Wrap protects one outgoing message at the negotiated QOP. With Auth
	// it returns an error: there is no security layer to wrap with.
	Wrap(p []byte) ([]byte, error)
	// Unwrap checks (and for AuthConf decrypts) one incoming message.
	Unwrap(p []byte) ([]byte, error)
}

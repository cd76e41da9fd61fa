// Package secure holds the security primitives every connection of a
// Spindle deployment uses: the deployment secret (32 random bytes the
// client creates and every container of the deployment reads from its
// Hadoop credentials), mutual TLS pinned on a key derived from it, and a
// challenge-response handshake for connections that authenticate but do
// not encrypt.
//
// Only holders of the secret can talk to each other: both TLS ends present
// a certificate on the key derived from the secret and each checks that
// the peer's key is that key; the plaintext handshake proves, both ways,
// knowledge of a MAC key derived from the secret, over fresh nonces.
//
// Nothing here logs, and no error carries the secret or anything derived
// from it.
package secure

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// SecretSize is the size of a secret NewSecret returns.
const SecretSize = 32

// MinSecretSize is the smallest secret the functions here accept, so that
// an empty or truncated secret fails loudly instead of authenticating
// everyone who holds the same nothing.
const MinSecretSize = 16

// ErrNotAuthenticated means the peer did not prove it holds the
// deployment secret (or refused our proof).
var ErrNotAuthenticated = errors.New("secure: the peer did not prove it holds the deployment secret")

// NewSecret returns a new deployment secret of SecretSize random bytes.
func NewSecret() ([]byte, error) {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("secure: reading random bytes: %w", err)
	}
	return b, nil
}

// HKDF info strings: each key derived from the secret has its own, so no
// two uses share a key. Changing one breaks compatibility between
// binaries of a deployment (they all run the same binary, so that is
// only a concern within one build).
const (
	infoTLSKey  = "spindle deployment tls ed25519 key v1"
	infoAuthMAC = "spindle deployment handshake hmac-sha256 key v1"
)

func derive(secret []byte, info string, n int) ([]byte, error) {
	if len(secret) < MinSecretSize {
		// The length is no secret; the bytes are.
		return nil, fmt.Errorf("secure: the deployment secret has %d bytes, need at least %d", len(secret), MinSecretSize)
	}
	return hkdf.Key(sha256.New, secret, nil, info, n)
}

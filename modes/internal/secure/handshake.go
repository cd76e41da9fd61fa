package secure

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// The plaintext handshake authenticates both ends of a connection that
// then carries data unencrypted (the data exchange with encryption off).
// Flow, after which the connection is the caller's:
//
//	client -> server: HandshakeMagic, client nonce (32 bytes)
//	server -> client: server nonce (32), HMAC(k, "server" | nc | ns)
//	client -> server: HMAC(k, "client" | nc | ns)
//	server -> client: one byte 1 (accepted)
//
// k is derived from the secret with HKDF-SHA256 and its own info string;
// the MACs are HMAC-SHA256. Fresh nonces on both sides stop replays, the
// role labels stop reflecting one side's proof back at it. A server that
// rejects the client's proof closes the connection without the accept
// byte.
//
// It authenticates the start of the connection only: what follows has no
// integrity protection, so an attacker who can rewrite packets in flight
// could change data after the handshake. That is the trade the caller
// makes by turning encryption off (TLS gives integrity as well).

// HandshakeMagic opens a plaintext handshake. Its first byte is not 0x16
// (a TLS handshake record), so a server can tell the two apart from the
// first byte.
const HandshakeMagic = "SPA1"

const nonceSize = 32

// ClientHandshake runs the client side of the plaintext handshake on rw.
// It returns an error wrapping ErrNotAuthenticated when the server's proof
// is wrong or the server refused ours; other errors are I/O errors.
func ClientHandshake(rw io.ReadWriter, secret []byte) error {
	k, err := derive(secret, infoAuthMAC, sha256.Size)
	if err != nil {
		return err
	}
	hello := make([]byte, len(HandshakeMagic)+nonceSize)
	copy(hello, HandshakeMagic)
	nc := hello[len(HandshakeMagic):]
	if _, err := rand.Read(nc); err != nil {
		return fmt.Errorf("secure: reading random bytes: %w", err)
	}
	if _, err := rw.Write(hello); err != nil {
		return fmt.Errorf("secure: handshake: %w", err)
	}
	resp := make([]byte, nonceSize+sha256.Size)
	if _, err := io.ReadFull(rw, resp); err != nil {
		return handshakeReadErr(err)
	}
	ns, proof := resp[:nonceSize], resp[nonceSize:]
	if !hmac.Equal(proof, mac(k, "server", nc, ns)) {
		return fmt.Errorf("%w: the server's proof is wrong", ErrNotAuthenticated)
	}
	if _, err := rw.Write(mac(k, "client", nc, ns)); err != nil {
		return fmt.Errorf("secure: handshake: %w", err)
	}
	var ok [1]byte
	if _, err := io.ReadFull(rw, ok[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: the server refused our proof", ErrNotAuthenticated)
		}
		return fmt.Errorf("secure: handshake: %w", err)
	}
	if ok[0] != 1 {
		return fmt.Errorf("%w: the server refused our proof", ErrNotAuthenticated)
	}
	return nil
}

// ServerHandshake runs the server side of the plaintext handshake on rw.
// On an error wrapping ErrNotAuthenticated the caller should close the
// connection without writing anything more.
func ServerHandshake(rw io.ReadWriter, secret []byte) error {
	k, err := derive(secret, infoAuthMAC, sha256.Size)
	if err != nil {
		return err
	}
	hello := make([]byte, len(HandshakeMagic)+nonceSize)
	if _, err := io.ReadFull(rw, hello); err != nil {
		return handshakeReadErr(err)
	}
	if !bytes.Equal(hello[:len(HandshakeMagic)], []byte(HandshakeMagic)) {
		return fmt.Errorf("%w: not a Spindle handshake", ErrNotAuthenticated)
	}
	nc := hello[len(HandshakeMagic):]
	resp := make([]byte, nonceSize, nonceSize+sha256.Size)
	if _, err := rand.Read(resp); err != nil {
		return fmt.Errorf("secure: reading random bytes: %w", err)
	}
	ns := resp[:nonceSize]
	resp = append(resp, mac(k, "server", nc, ns)...)
	if _, err := rw.Write(resp); err != nil {
		return fmt.Errorf("secure: handshake: %w", err)
	}
	proof := make([]byte, sha256.Size)
	if _, err := io.ReadFull(rw, proof); err != nil {
		return handshakeReadErr(err)
	}
	if !hmac.Equal(proof, mac(k, "client", nc, ns)) {
		return fmt.Errorf("%w: the client's proof is wrong", ErrNotAuthenticated)
	}
	if _, err := rw.Write([]byte{1}); err != nil {
		return fmt.Errorf("secure: handshake: %w", err)
	}
	return nil
}

func mac(k []byte, role string, nc, ns []byte) []byte {
	h := hmac.New(sha256.New, k)
	h.Write([]byte(role))
	h.Write(nc)
	h.Write(ns)
	return h.Sum(nil)
}

func handshakeReadErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the peer closed the connection during the handshake", ErrNotAuthenticated)
	}
	return fmt.Errorf("secure: handshake: %w", err)
}

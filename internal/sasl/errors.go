package sasl

import "errors"

// Errors returned by the mechanisms, wrapped with what was being done; match
// them with errors.Is.
var (
	// ErrNoCommonQOP means the server offers none of the protection levels
	// the client accepts (nor, for DIGEST-MD5 auth-conf, a cipher the
	// client supports).
	ErrNoCommonQOP = errors.New("sasl: no protection level in common with the server")
	// ErrServerAuth means the server failed to prove its identity: a wrong
	// DIGEST-MD5 rspauth, or a Kerberos AP-REP that does not answer our
	// AP-REQ. It also wraps a KRB-ERROR the server sent instead of an
	// AP-REP.
	ErrServerAuth = errors.New("sasl: server authentication failed")
	// ErrMalformed means the server sent bytes that are not a well-formed
	// challenge, token or wrapped message.
	ErrMalformed = errors.New("sasl: malformed message from server")
	// ErrIntegrity means a wrapped message failed its integrity check: it
	// was altered, or protected with another key.
	ErrIntegrity = errors.New("sasl: message integrity check failed")
	// ErrSequence means a wrapped message carried an unexpected sequence
	// number: a message was lost, replayed or reordered.
	ErrSequence = errors.New("sasl: message out of sequence")
	// ErrNoSecurityLayer is returned by Wrap and Unwrap when the negotiated
	// protection is Auth, which has no security layer.
	ErrNoSecurityLayer = errors.New("sasl: no security layer negotiated")
	// ErrState means a method was called out of order, e.g. Wrap before
	// Finish or Step after the exchange completed.
	ErrState = errors.New("sasl: call out of order")
)

package ipc

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Sentinels for the conditions callers act on. A *RemoteError matches one
// through errors.Is when the server named the corresponding Java exception
// class; ErrUnauthorized also matches any failure to authenticate. The
// public yarn and hdfs packages re-export these values, so they must stay
// comparable by identity: never wrap or copy them.
var (
	// ErrStandby: the server is a standby in an HA pair
	// (org.apache.hadoop.ipc.StandbyException). Fail over to another
	// server; the call was not executed.
	ErrStandby = errors.New("server is in standby state")

	// ErrRetriable: the server asks for the call to be repeated later
	// (org.apache.hadoop.ipc.RetriableException), e.g. a NameNode still in
	// startup safe mode.
	ErrRetriable = errors.New("server asks to retry the call")

	// ErrInvalidToken: a token was refused, typically expired or cancelled
	// (org.apache.hadoop.security.token.SecretManager$InvalidToken).
	ErrInvalidToken = errors.New("invalid token")

	// ErrAccessControl: the caller is not allowed to do this
	// (org.apache.hadoop.security.AccessControlException).
	ErrAccessControl = errors.New("access denied")

	// ErrUnauthorized: the connection could not authenticate. The server
	// refused it (a FATAL reply with FATAL_UNAUTHORIZED, usually during
	// SASL), or the client had no credentials for any method the server
	// offered, or the server's Kerberos principal was not the expected one.
	ErrUnauthorized = errors.New("authentication failed")
)

// javaClasses maps the Java exception classes every Hadoop server may send
// to the sentinels above. Exceptions of one service (YARN's
// ApplicationNotFoundException, ...) are that client package's to map.
var javaClasses = map[string]error{
	"org.apache.hadoop.ipc.StandbyException":                      ErrStandby,
	"org.apache.hadoop.ipc.RetriableException":                    ErrRetriable,
	"org.apache.hadoop.security.token.SecretManager$InvalidToken": ErrInvalidToken,
	"org.apache.hadoop.security.AccessControlException":           ErrAccessControl,
	// A subclass of AccessControlException: the user may not use the protocol.
	"org.apache.hadoop.security.authorize.AuthorizationException": ErrAccessControl,
}

// ErrorCode is the detail code of a failed call (RpcErrorCodeProto). Codes
// below 10 come with status ERROR (the connection stays open), the others
// with status FATAL (the server closes the connection).
type ErrorCode int32

// The error codes Hadoop servers send.
const (
	ErrorApplication              ErrorCode = 1  // the method threw an exception
	ErrorNoSuchMethod             ErrorCode = 2  // the protocol has no such method
	ErrorNoSuchProtocol           ErrorCode = 3  // the server does not serve the protocol
	ErrorRPCServer                ErrorCode = 4  // the server failed around the call
	ErrorSerializingResponse      ErrorCode = 5  // the server could not encode the response
	ErrorRPCVersionMismatch       ErrorCode = 6  // the protocol version does not match
	FatalUnknown                  ErrorCode = 10 // unclassified fatal error
	FatalUnsupportedSerialization ErrorCode = 11 // unknown rpcKind
	FatalInvalidRPCHeader         ErrorCode = 12 // the request header is missing fields
	FatalDeserializingRequest     ErrorCode = 13 // the request could not be decoded
	FatalVersionMismatch          ErrorCode = 14 // the connection preamble has another version
	FatalUnauthorized             ErrorCode = 15 // authentication or authorization failed
)

var errorCodeNames = map[ErrorCode]string{
	ErrorApplication:              "ERROR_APPLICATION",
	ErrorNoSuchMethod:             "ERROR_NO_SUCH_METHOD",
	ErrorNoSuchProtocol:           "ERROR_NO_SUCH_PROTOCOL",
	ErrorRPCServer:                "ERROR_RPC_SERVER",
	ErrorSerializingResponse:      "ERROR_SERIALIZING_RESPONSE",
	ErrorRPCVersionMismatch:       "ERROR_RPC_VERSION_MISMATCH",
	FatalUnknown:                  "FATAL_UNKNOWN",
	FatalUnsupportedSerialization: "FATAL_UNSUPPORTED_SERIALIZATION",
	FatalInvalidRPCHeader:         "FATAL_INVALID_RPC_HEADER",
	FatalDeserializingRequest:     "FATAL_DESERIALIZING_REQUEST",
	FatalVersionMismatch:          "FATAL_VERSION_MISMATCH",
	FatalUnauthorized:             "FATAL_UNAUTHORIZED",
}

func (c ErrorCode) String() string {
	if s, ok := errorCodeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("ErrorCode(%d)", int32(c))
}

// RemoteError is an exception the server reported for a call, or (Fatal)
// for the whole connection.
type RemoteError struct {
	// Method is the method called; empty for a connection-level error.
	Method string
	// Class is the Java exception class, e.g.
	// "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException".
	Class string
	// Message is the first line of the server's error message.
	Message string
	// FullMessage is the server's whole error message, often a Java stack
	// trace.
	FullMessage string
	// Code is the server's error detail; 0 when it sent none.
	Code ErrorCode
	// Fatal reports status FATAL: the server closed the connection and
	// every call on it failed.
	Fatal bool
}

func (e *RemoteError) Error() string {
	var b strings.Builder
	b.WriteString("ipc: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(": ")
	}
	b.WriteString(e.Class)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	return b.String()
}

// Is matches the sentinel for e's Java class, and ErrUnauthorized for a
// FATAL_UNAUTHORIZED reply.
func (e *RemoteError) Is(target error) bool {
	if target == ErrUnauthorized && e.Code == FatalUnauthorized {
		return true
	}
	s, ok := javaClasses[e.Class]
	return ok && s == target
}

func newRemoteError(method, class, msg string, code ErrorCode, fatal bool) *RemoteError {
	first, _, _ := strings.Cut(msg, "\n")
	return &RemoteError{
		Method:      method,
		Class:       class,
		Message:     strings.TrimSpace(first),
		FullMessage: msg,
		Code:        code,
		Fatal:       fatal,
	}
}

// ConnError reports that the connection a call needed failed: it could not
// be dialed, the handshake or authentication failed, the server closed it
// (Err is then a *RemoteError with Fatal set if the server said why), or
// reading or writing it failed. errors.Is and errors.As see through it to
// Err.
type ConnError struct {
	Addr string // the server address
	Op   string // "dial", "handshake", "sasl", "read" or "write"
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("ipc: connection to %s: %s: %v", e.Addr, e.Op, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// ErrCallTimeout: a call whose context had no deadline got no answer
// within Config.CallTimeout. The server may have executed it.
var ErrCallTimeout = errors.New("ipc: call timed out")

// ErrClosed is returned by calls on a Client after Close.
var ErrClosed = errors.New("ipc: client closed")

// errProtocol marks a response that breaks the IPC framing; the connection
// carrying it is unusable.
var errProtocol = errors.New("ipc: protocol violation")

func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProtocol}, args...)...)
}

// IsFailover reports whether a call's error means "try another server of
// the same service" (another ResourceManager or NameNode of an HA pair):
// the server is a standby, or it could not be reached, dropped the
// connection or left the call unanswered (ErrCallTimeout). Refused
// credentials are not: every server refuses them alike. Whether the call
// may be sent again is Call.MayFailover's question.
func IsFailover(err error) bool {
	if errors.Is(err, ErrStandby) || errors.Is(err, ErrCallTimeout) {
		return true
	}
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrAccessControl) ||
		errors.Is(err, ErrClosed) {
		return false // and a closed Client is closed for every server
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// ServiceError is an exception a Hadoop service reported, as packages yarn
// and hdfs present it (each names it RemoteError): the Java class, the
// first line of its message and the server that answered. errors.Is
// matches it against the sentinels its package mapped the class to, and,
// through the transport's error it wraps, against the sentinels above.
type ServiceError struct {
	// Class is the Java exception class, e.g.
	// "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException".
	Class string
	// Message is the first line of the exception's message.
	Message string
	// Server names the service that answered, e.g. "rm1 (rm.example.com:8032)".
	Server string

	cause     error            // the transport's error
	sentinels map[string]error // class -> the client package's sentinel
}

// NewServiceError makes the error a client package returns for class,
// matching the sentinels it maps classes to and wrapping cause.
func NewServiceError(class, message, server string, cause error, sentinels map[string]error) *ServiceError {
	return &ServiceError{Class: class, Message: message, Server: server, cause: cause, sentinels: sentinels}
}

func (e *ServiceError) Error() string {
	short := e.Class
	if i := strings.LastIndexByte(short, '.'); i >= 0 {
		short = short[i+1:]
	}
	if e.Server != "" {
		return fmt.Sprintf("%s: %s: %s", e.Server, short, e.Message)
	}
	return short + ": " + e.Message
}

// Is matches the sentinel the client package mapped e's class to.
func (e *ServiceError) Is(target error) bool {
	s, ok := e.sentinels[e.Class]
	return ok && s == target
}

// Unwrap gives errors.Is and errors.As the transport's error.
func (e *ServiceError) Unwrap() error { return e.cause }

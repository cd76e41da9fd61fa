package ipctest

import (
	"time"

	"google.golang.org/protobuf/proto"
)

// Call is one call a client made.
type Call struct {
	// Method is the method name, e.g. "allocate".
	Method string
	// Protocol is the protocol the call declares, e.g.
	// "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB".
	Protocol string
	// ID, RetryCount and ClientID are the request header's.
	ID         int32
	RetryCount int32
	ClientID   []byte
	// Body is the encoded request message; Decode unmarshals it.
	Body []byte

	// Conn numbers the connection the call came on: 0 for the first
	// connection the server accepted, 1 for the next, ...
	Conn int
	// Auth is how the connection authenticated: "SIMPLE" or "TOKEN".
	Auth string
	// User is the effective user the connection context named (empty
	// under TOKEN, where the token names the user).
	User string
	// TokenIdentifier is the identifier of the token the connection
	// authenticated with under TOKEN; nil otherwise.
	TokenIdentifier []byte
}

// Decode unmarshals the request message into m.
func (c *Call) Decode(m proto.Message) error { return proto.Unmarshal(c.Body, m) }

// Reply is what the server does with a call. Make one with Respond, Throw,
// Fatal, Drop or NoReply; After delays it. The zero Reply responds with an
// empty message.
type Reply struct {
	kind    replyKind
	msg     proto.Message
	class   string
	message string
	code    ErrorCode
	delay   time.Duration
}

type replyKind int

const (
	replyRespond replyKind = iota
	replyThrow
	replyFatal
	replyDrop
	replyNone
)

// ErrorCode is the RpcErrorCodeProto a RemoteException carries.
type ErrorCode int32

// The error codes a Throw or Fatal reply uses most.
const (
	ErrorApplication  ErrorCode = 1  // ERROR_APPLICATION: the method threw
	ErrorNoSuchMethod ErrorCode = 2  // ERROR_NO_SUCH_METHOD
	FatalUnknown      ErrorCode = 10 // FATAL_UNKNOWN
	FatalUnauthorized ErrorCode = 15 // FATAL_UNAUTHORIZED
)

// Respond answers the call with m (nil: an empty message).
func Respond(m proto.Message) Reply { return Reply{kind: replyRespond, msg: m} }

// Throw answers the call with a RemoteException of the Java class (e.g.
// "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException")
// and message, status ERROR and code ERROR_APPLICATION, as a method that
// threw. The connection stays open.
func Throw(class, message string) Reply {
	return Reply{kind: replyThrow, class: class, message: message, code: ErrorApplication}
}

// ThrowCode is Throw with another error code.
func ThrowCode(class, message string, code ErrorCode) Reply {
	return Reply{kind: replyThrow, class: class, message: message, code: code}
}

// Fatal answers the call with a FATAL reply (code FATAL_UNKNOWN) and closes
// the connection, as a server that gives up on it does.
func Fatal(class, message string) Reply {
	return Reply{kind: replyFatal, class: class, message: message, code: FatalUnknown}
}

// Drop closes the connection without answering: the call, and every other
// call waiting on the connection, fails with a connection error.
func Drop() Reply { return Reply{kind: replyDrop} }

// NoReply never answers: the call waits until its context ends, its
// connection dies or the server closes.
func NoReply() Reply { return Reply{kind: replyNone} }

// After delays the reply by d (the server's Close cuts the wait short).
func (r Reply) After(d time.Duration) Reply {
	r.delay = d
	return r
}

// Handler answers calls. ServeIPC runs on its own goroutine for every call
// and must be safe for concurrent use.
type Handler interface {
	ServeIPC(c *Call) Reply
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(c *Call) Reply

// ServeIPC calls f(c).
func (f HandlerFunc) ServeIPC(c *Call) Reply { return f(c) }

// Methods routes calls by method name. A method missing from the map is
// answered as Hadoop answers an unknown method: an
// org.apache.hadoop.ipc.RpcNoSuchMethodException with code
// ERROR_NO_SUCH_METHOD.
type Methods map[string]func(c *Call) Reply

// ServeIPC calls the function for c.Method.
func (m Methods) ServeIPC(c *Call) Reply {
	if f, ok := m[c.Method]; ok {
		return f(c)
	}
	return ThrowCode("org.apache.hadoop.ipc.RpcNoSuchMethodException",
		"Unknown method "+c.Method+" called on "+c.Protocol+" protocol.", ErrorNoSuchMethod)
}

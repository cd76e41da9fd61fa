package ipc

import (
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// This file lends the fake server to the external tests of package
// ipc_test (failoverset_test.go), which drive failover.Set and so cannot
// be in package ipc: failover imports ipc.

// FakeCall is a call a FakeServer received.
type FakeCall struct {
	Method     string
	ClientID   string // the 16 bytes, as a string for comparing
	CallID     int32
	RetryCount int32
}

// FakeAnswer is what a FakeServer does with a call.
type FakeAnswer int

const (
	AnswerOK      FakeAnswer = iota // an empty successful response
	AnswerStandby                   // a standby NameNode's or RM's StandbyException
	AnswerDrop                      // close the connection without answering
	AnswerNothing                   // never answer; keep reading (pings)
)

// FakeServer is a server that answers each call as its answer func says,
// and records the calls.
type FakeServer struct {
	f *fakeServer

	mu    sync.Mutex
	calls []FakeCall
	pings int
}

// NewFakeServer starts a FakeServer that the test's end stops.
func NewFakeServer(t *testing.T, answer func(FakeCall) FakeAnswer) *FakeServer {
	fs := &FakeServer{}
	fs.f = newFakeServer(t, func(s *serverConn) {
		if s.readPreamble() == nil || s.expect(callIDContext) == nil {
			return
		}
		for {
			pkt, err := s.readRaw()
			if err != nil {
				return // the client closed the connection
			}
			req, err := decodeRequest(pkt)
			if err != nil {
				t.Errorf("fake server: %v", err)
				return
			}
			h := req.header
			if h.GetCallId() == callIDPing {
				fs.mu.Lock()
				fs.pings++
				fs.mu.Unlock()
				continue
			}
			call := FakeCall{Method: req.method.GetMethodName(), ClientID: string(h.GetClientId()),
				CallID: h.GetCallId(), RetryCount: h.GetRetryCount()}
			fs.mu.Lock()
			fs.calls = append(fs.calls, call)
			fs.mu.Unlock()
			switch answer(call) {
			case AnswerOK:
				s.respond(call.CallID, h.GetClientId(), nil)
			case AnswerStandby:
				s.write(responsePacket(t, &pb.RpcResponseHeaderProto{
					CallId:              proto.Uint32(uint32(call.CallID)),
					Status:              pb.RpcResponseHeaderProto_ERROR.Enum(),
					ServerIpcVersionNum: proto.Uint32(9),
					ExceptionClassName:  proto.String("org.apache.hadoop.ipc.StandbyException"),
					ErrorMsg:            proto.String("Operation category READ is not supported in state standby"),
					ErrorDetail:         pb.RpcResponseHeaderProto_ERROR_APPLICATION.Enum(),
					ClientId:            h.GetClientId(),
				}, nil))
			case AnswerDrop:
				return
			case AnswerNothing:
			}
		}
	})
	return fs
}

// Addr is the server's host:port.
func (s *FakeServer) Addr() string { return s.f.addr() }

// Calls returns the calls received so far.
func (s *FakeServer) Calls() []FakeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FakeCall(nil), s.calls...)
}

// Pings counts the pings received.
func (s *FakeServer) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// Package ipctest runs fake Hadoop IPC servers for unit tests, in the
// spirit of net/http/httptest: a test starts a Server on loopback with a
// Handler, points a client at Server.Addr, and decides per call what the
// "ResourceManager" or "NodeManager" answers.
//
//	srv := ipctest.NewServer(t, ipctest.Methods{
//		"registerApplicationMaster": func(c *ipctest.Call) ipctest.Reply {
//			return ipctest.Respond(&pb.RegisterApplicationMasterResponseProto{})
//		},
//		"allocate": func(c *ipctest.Call) ipctest.Reply {
//			return ipctest.Throw("org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException", "not registered")
//		},
//	}, ipctest.WithTokens(passwords))
//
// # What it speaks
//
// The server side of Hadoop IPC version 9 as Hadoop 3 frames it: the
// connection preamble; for a client announcing SASL, the negotiation; the
// connection context; then calls (RpcRequestHeaderProto,
// RequestHeaderProto and the request message) answered with an
// RpcResponseHeaderProto and, on success, the response message. Pings are
// read and ignored. The Java side is reproduced, not imagined: the SASL
// offer a token client receives is the one captured from the test bed's
// ResourceManager (captures/rm-plain-negotiate.bin, TOKEN with its
// DIGEST-MD5 challenge, then SIMPLE), the refusal of a SIMPLE client under
// RefuseSimple is the Kerberos test bed's FATAL reply byte for byte, and
// responses and RemoteExceptions carry the header fields the real server
// sends (checked against integration.TestIPCRecord's captures). To record
// new captures, run integration.TestIPCRecord with SPINDLE_IPC_RECORD set
// against the plain test bed, write them to internal/ipc/testdata and copy
// the embedded ones here (TestCapturesMatchTestdata checks they agree).
//
// Authentication:
//
//   - A client announcing no SASL (SIMPLE) is accepted and its connection
//     context names the user (Call.User), unless RefuseSimple.
//   - A SASL client gets, without WithTokens, the answer of a SIMPLE-only
//     Hadoop server (SUCCESS to NEGOTIATE), which a client holding
//     credentials must refuse (ipc.SimpleFallbackError); with WithTokens,
//     the captured offer, and its DIGEST-MD5 response is checked against
//     the token passwords (sasltest.DigestServer, protection "auth" only: no
//     integrity or privacy layer). A refused token gets a FATAL
//     FATAL_UNAUTHORIZED reply, as Hadoop sends; a client that picks SIMPLE
//     from the offer goes on as SIMPLE.
//
// # Faults
//
// A Reply can be a response, a RemoteException (Throw), a FATAL reply that
// closes the connection (Fatal), a dropped connection (Drop), or silence
// (NoReply); After delays any of them. Server.DropConnections closes every
// open connection, as a restarting server does. Server.Calls counts calls
// by method, Server.Connections counts accepted connections.
//
// # Lifecycle and concurrency
//
// NewServer listens at once and closes the server when the test ends
// (t.Cleanup), waiting for its goroutines; Close does the same earlier. The
// handler runs on its own goroutine for every call, so calls on one
// connection are answered out of order when their handlers take different
// times, as Hadoop's handler threads do: a Handler must be safe for
// concurrent use, and must return (reply NoReply rather than block), since
// Close waits for it. Server methods are safe for concurrent use. Problems in
// what a client sent (bad framing, an unexpected message) are reported
// with t.Errorf and end the connection.
package ipctest

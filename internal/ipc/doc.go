// Package ipc is a client of Hadoop IPC, the RPC protocol of the
// ResourceManager, the NodeManagers, the NameNode and every other Hadoop
// daemon, speaking protobuf calls (ProtobufRpcEngine2) as Hadoop 3 does.
//
// # Use
//
// A Client calls one protocol on one server as one identity:
//
//	c, err := ipc.New(ipc.Config{
//		Addr:     "rm.example.com:8032",
//		Protocol: "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB",
//		Auth:     ipc.Auth{User: "alice"},
//	})
//	...
//	defer c.Close()
//	err = c.Call(ctx, "getClusterMetrics", req, resp)
//
// Auth selects SIMPLE authentication (a user name), KERBEROS (SASL GSSAPI)
// or TOKEN (SASL DIGEST-MD5, e.g. an AMRMToken or a delegation token); the
// caller supplies the SASL mechanisms of package sasl through factories, and
// their protection level decides whether the connection is signed or
// encrypted. A client holding Kerberos or Token credentials never lets a
// server talk it down to SIMPLE unless Auth.AllowSimpleFallback says so
// (*SimpleFallbackError), and a Kerberos client needs the server's
// principal. Until authentication succeeds no packet larger than
// MaxHandshakePacketLength is read, and no buffer is allocated beyond the
// bytes that arrived.
//
// Package ipctest runs fake servers for unit tests of clients built on
// this one.
//
// # Lifecycle and concurrency
//
// A Client is safe for concurrent use. It dials lazily, keeps one
// connection that all concurrent calls share (a reader goroutine matches
// responses to calls by call id; writes are serialized), sends pings while
// calls wait on a silent server, closes the connection after IdleTimeout
// without calls, and dials again when the next call comes or when the
// server closed the connection. Close cancels the dial in progress, closes
// the connection, fails waiting calls and waits for every goroutine.
//
// # Errors
//
// Call returns ctx.Err() when its context ends first; the connection
// survives. An exception the server threw for the call is a *RemoteError
// carrying the Java class and message; errors.Is matches it against the
// sentinels in errors.go (ErrStandby, ErrInvalidToken, ...); the client
// packages map their services' own exception classes. A connection that could not be set up or
// died is a *ConnError, wrapping a *RemoteError when the server closed it
// with a FATAL reply, as it does when authentication fails
// (ErrUnauthorized).
//
// A call that failed with its connection is repeated on a new one, with
// the same client id and call id and an incremented retry count (so the
// NameNode's retry cache can recognize it), when Config.Idempotent says
// the method may be repeated or when no byte of it was written. A call
// whose context has no deadline gives up after Config.CallTimeout
// (ErrCallTimeout).
//
// # Failover sets
//
// The Clients of the servers of one HA service share an Identity (one
// client id, one call id sequence), and a Call carries one logical call
// from one Client to the next with its call id and retry count;
// Call.MayFailover says whether it may go to another server at all.
// Package failover builds on these.
package ipc

// Package failover calls one Hadoop IPC protocol on whichever server of an
// HA set is active: the ResourceManagers of a YARN cluster (package yarn)
// or the NameNodes of an HDFS nameservice (package hdfs). It is the one
// place that decides when to try the next server, how long to keep trying,
// how to wait between rounds, and what to count and log.
//
// # Use
//
// A Set holds one ipc.Client per server, made on first use by
// Config.NewClient with the Set's ipc.Identity, so that every server knows
// the Set by one client id. Set.Call sends a call to the current server
// and moves on to the next when the answer is a standby's or the server
// cannot be reached, for at most Config.Timeout, backing off after every
// full round of servers. One ipc.Call carries the call across servers: it
// keeps its call id and its retry count goes on, so a server's retry cache
// (a NameNode's, which its standby learns from the edit log) recognizes a
// repeated rename2 or delete.
//
// A call the server may have executed is sent to another server only if
// its method may be repeated (the ipc.Config.Idempotent table, which
// mirrors Hadoop's @Idempotent and, where the server keeps a retry cache,
// @AtMostOnce). Otherwise the caller gets the error: a call that provably
// never reached a server (the dial failed, or a standby refused it) is
// safe to send again, a "maybe sent" one is not.
//
// It lives here rather than in package ipc because it is policy over
// several connections (timeouts, metrics, logs), while ipc is the wire
// protocol of one; ipc keeps what only it can know, whether a call may
// have reached a server (ipc.Call.MayFailover).
//
// # Lifecycle and concurrency
//
// A Set is safe for concurrent use. Concurrent calls share the current
// server; the first to find it failed moves every call on, and the others'
// failures of the same server count no second failover. Reset closes the
// clients (the next call dials with what NewClient gives then, e.g. a
// rolled token); Close closes them for good.
//
// # Errors
//
// Call returns ctx.Err() when the context ends. An error that does not
// allow failing over is returned through Config.ServerError, which names
// the server. When no server answered within Timeout, the error is a
// *NoActiveError naming each server tried with its last error; it matches
// Config.ErrNoActive and the last server's error with errors.Is.
package failover

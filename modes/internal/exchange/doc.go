// Package exchange moves records between the subtasks of a running job:
// pipelined, partitioned streams from every producer subtask of an edge
// to its consumer subtasks, with bounded buffering so a slow consumer
// slows its producers down instead of growing memory.
//
// # Lifecycle
//
// Each TaskManager runs one Server (NewServer, then Serve on its
// listener). A consumer subtask opens a Gate per input edge (OpenGate)
// and reads it with Next until io.EOF; a producer subtask opens an Output
// per output edge (OpenOutput), Emits records and ends with Close (end of
// stream to every consumer, acknowledged) or Abort (consumers see an
// error, not EOF). Closing a Gate early cancels it: its producers' Emit
// and Close fail with ErrConsumerGone. Server.Close closes everything.
//
// Subtasks deploy in any order: a producer's connection that arrives
// before the consumer opened its gate is held (Config.GateWait) until the
// gate opens. OpenOutput returns once every consumer accepted the channel.
//
// # Channels and transport
//
// A channel is the stream of one producer subtask to one consumer subtask
// on one edge. When both ends are on the same Server (the target's address
// is the Server's Addr) the channel is in-process: the producer hands its
// batches to the gate, no socket. Otherwise it is a TCP connection of its
// own to the consumer's Server, one per channel (not multiplexed: each
// channel gets TCP's flow control for free, at the cost of
// producers x consumers connections per edge and a handshake each).
//
// Every connection is authenticated with the deployment secret before
// anything else. With Config.Encrypt it is mutual TLS 1.3 pinned on the
// secret (package secure) and all records are encrypted. Without, it is
// secure's HMAC challenge-response handshake both ways, then plaintext:
// only holders of the secret can open a channel, but the records travel
// unencrypted and without integrity protection. A Server serves one of
// the two (it tells them apart by the first byte and refuses the other),
// so every TaskManager of a deployment must use the same setting.
//
// # Buffering and backpressure
//
// A producer fills a batch per channel of up to Config.BufferBytes and
// sends it when full, every Config.FlushInterval, and at Close. A gate
// queues at most Config.Credits batches (whole gate), plus the one batch
// each channel's reader holds while it waits for room: when the queue is
// full the readers stop reading their sockets, TCP's window closes and
// the producer's Emit blocks (a local producer blocks on the queue
// directly). So the records a TaskManager buffers for a stalled consumer
// are bounded by about (Credits + producers) x BufferBytes per gate,
// whatever the producers send, plus the kernel's socket buffers.
// Server.BufferedBytes reports the current figure. Each remote channel
// also costs a 4 KiB read buffer, TLS's record buffers when encrypting,
// and on the producer's side a batch of BufferBytes per channel.
//
// Records handed to Emit are encoded (copied) into the batch at once, so
// the caller may reuse its slices after Emit returns even on the local
// path; each record Next returns is a copy of its own, so keeping one does
// not pin its batch.
//
// # Concurrency and errors
//
// Server, Output and Gate methods are safe for concurrent use; Next is
// meant for one goroutine (the consumer subtask's). A failed channel is
// reported as a *StreamError naming the job, attempt, edge, producer and
// consumer, wrapping a sentinel (ErrProducerFailed, ErrConnectionLost,
// ErrConsumerGone, ErrGateNotOpen, ErrRefused, ErrAuthentication,
// ErrProtocol) for errors.Is. Neither the secret nor records appear in
// errors or logs.
package exchange

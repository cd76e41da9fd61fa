package exchange

import (
	"errors"
	"fmt"
)

// Sentinels, found with errors.Is through a *StreamError.
var (
	// ErrProducerFailed: the producer aborted its output (its subtask
	// failed or was cancelled); StreamError.Msg carries its reason.
	ErrProducerFailed = errors.New("producer failed")
	// ErrConnectionLost: a channel's connection broke before its end of
	// stream.
	ErrConnectionLost = errors.New("connection lost")
	// ErrConsumerGone: the consumer's gate was closed (the consumer was
	// cancelled) before the producer finished.
	ErrConsumerGone = errors.New("consumer gone")
	// ErrGateNotOpen: the consumer did not open its gate within
	// Config.GateWait of the producer's connection.
	ErrGateNotOpen = errors.New("consumer gate not open in time")
	// ErrRefused: the consumer's gate does not expect this producer, or
	// it is already connected.
	ErrRefused = errors.New("channel refused")
	// ErrAuthentication: the peer did not prove it holds the deployment
	// secret, or refused our proof.
	ErrAuthentication = errors.New("authentication failed")
	// ErrProtocol: the peer sent bytes that are not this protocol.
	ErrProtocol = errors.New("exchange protocol error")
	// ErrClosed: the Server, Gate or Output is closed.
	ErrClosed = errors.New("exchange: closed")
)

// A StreamError is the failure of one channel: the records of one
// producer subtask to one consumer subtask on one edge of a job attempt.
type StreamError struct {
	Job                string
	Attempt, Edge      int
	Producer, Consumer int
	// Err is (or wraps) one of the sentinels above.
	Err error
	// Msg is the peer's reason (an aborting producer's error text or a
	// refusal), empty when none came.
	Msg string
}

func (e *StreamError) Error() string {
	s := fmt.Sprintf("exchange: job %s attempt %d edge %d, producer %d -> consumer %d: %v",
		e.Job, e.Attempt, e.Edge, e.Producer, e.Consumer, e.Err)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func (e *StreamError) Unwrap() error { return e.Err }

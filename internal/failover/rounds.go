package failover

import (
	"context"
	"time"
)

// Rounds paces a call that tries n servers in turn: it waits after every
// full round of them, not between them, doubling the wait from Backoff up
// to MaxBackoff, and allows one last round at the deadline. Set.Call uses
// it; a client with its own transport (yarn's REST client) can too. A
// Rounds is for one call.
type Rounds struct {
	n          int
	deadline   time.Time
	backoff    time.Duration
	maxBackoff time.Duration
	tries      int
}

// NewRounds starts pacing a call over n servers that may take timeout.
// Zero backoff means 100 ms, zero maxBackoff 2 s.
func NewRounds(n int, timeout, backoff, maxBackoff time.Duration) *Rounds {
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	if maxBackoff <= 0 {
		maxBackoff = 2 * time.Second
	}
	return &Rounds{n: max(n, 1), deadline: time.Now().Add(timeout), backoff: backoff, maxBackoff: maxBackoff}
}

// Next is called after each failed try. At the end of a round it waits,
// and it reports false once the deadline has passed; it returns ctx's
// error if ctx ends while it waits.
func (r *Rounds) Next(ctx context.Context) (bool, error) {
	r.tries++
	if r.tries%r.n != 0 {
		return true, nil
	}
	remaining := time.Until(r.deadline)
	if remaining <= 0 {
		return false, nil
	}
	t := time.NewTimer(min(r.backoff, remaining))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
	}
	r.backoff = min(r.backoff*2, r.maxBackoff)
	return true, nil
}

package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/launch"
)

// clientLease ties an attached deployment to its client
// (launch.ClusterSpec.ClientLeaseMS): the client POSTs a heartbeat to
// launch.HeartbeatPath while it follows the application; when none came
// for the lease's timeout, the client was killed or cut off, and expired
// is called once. The lease runs from the JobManager's registration, so a
// client killed right after submitting is noticed one timeout after the
// JobManager starts.
type clientLease struct {
	timeout time.Duration
	now     func() time.Time
	expired func(silence time.Duration)

	mu   sync.Mutex
	last time.Time
}

func newClientLease(timeout time.Duration, now func() time.Time, expired func(time.Duration)) *clientLease {
	return &clientLease{timeout: timeout, now: now, expired: expired, last: now()}
}

// touch records a heartbeat.
func (l *clientLease) touch() {
	l.mu.Lock()
	l.last = l.now()
	l.mu.Unlock()
}

// silence is how long no heartbeat had come at t.
func (l *clientLease) silence(t time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return t.Sub(l.last)
}

// serveHTTP answers the client's heartbeat (the control server's
// middleware has checked the deployment secret).
func (l *clientLease) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	l.touch()
	w.WriteHeader(http.StatusNoContent)
}

// watch checks the lease every tick until ctx ends or it expires. The
// silence is measured at the tick's time (a ticker's is the moment it
// fired), so a check says what held when it was due, however late the
// goroutine runs.
func (l *clientLease) watch(ctx context.Context, tick <-chan time.Time) {
	for {
		var at time.Time
		select {
		case <-ctx.Done():
			return
		case at = <-tick:
		}
		if s := l.silence(at); s >= l.timeout {
			l.expired(s)
			return
		}
	}
}

// startClientLease starts the lease of an attached deployment: the
// heartbeat endpoint joins the control server's handler h, and an expired
// lease stops the application FAILED with a diagnostic saying why. It
// returns h unchanged for a detached deployment.
func (a *AppMaster) startClientLease(h http.Handler) http.Handler {
	if a.Spec.ClientLeaseMS <= 0 {
		return h
	}
	timeout := time.Duration(a.Spec.ClientLeaseMS) * time.Millisecond
	l := newClientLease(timeout, time.Now, func(silence time.Duration) {
		a.log.Warn("the attached client stopped heartbeating; ending the application", "silence", silence.Round(time.Millisecond), "lease", timeout)
		a.stop("FAILED", fmt.Sprintf("the attached client sent no heartbeat for %s (lease %s): it was killed or lost its connection, so the application ended with it; deploy with -d for an application that outlives its client",
			silence.Round(time.Second), timeout))
	})
	ctx, cancel := context.WithCancel(context.Background())
	a.stopLease = cancel
	ticker := time.NewTicker(max(timeout/8, 100*time.Millisecond))
	go func() {
		defer ticker.Stop()
		l.watch(ctx, ticker.C)
	}()
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST "+launch.HeartbeatPath, l.serveHTTP)
	return mux
}

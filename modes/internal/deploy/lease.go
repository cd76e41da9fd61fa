package deploy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

// DefaultClientLease is how long the JobManager of an attached deployment
// waits for a heartbeat of its client before it ends the application
// (Request.ClientLease), unless -D client.heartbeat.timeout=MS sets
// another.
const DefaultClientLease = 60 * time.Second

// ClientLeaseKey is the -D key of the client lease in milliseconds (the
// key Flink uses for its attached clients' heartbeat timeout); 0 turns
// the lease off.
const ClientLeaseKey = "client.heartbeat.timeout"

// leaseKeeper heartbeats the JobManager of an attached deployment while
// Follow runs (launch.HeartbeatPath, with the deployment secret), four
// times per lease, so that a client killed mid-way takes its application
// with it one lease later.
type leaseKeeper struct {
	every time.Duration
	log   func(msg string, args ...any)

	mu   sync.Mutex
	addr string
	wake chan struct{}
}

// keepLease starts the heartbeats when d is an attached deployment with a
// lease; the returned report feeds it the application's reports (the
// JobManager's address appears once it registered) and stop ends it.
func (d *Deployment) keepLease(ctx context.Context) (report func(yarn.ApplicationReport), stop func()) {
	if d.attached || d.Spec == nil || d.Spec.ClientLeaseMS <= 0 || len(d.Secret) == 0 {
		return func(yarn.ApplicationReport) {}, func() {}
	}
	lease := time.Duration(d.Spec.ClientLeaseMS) * time.Millisecond
	k := &leaseKeeper{every: max(lease/4, 50*time.Millisecond), log: d.log.Debug, wake: make(chan struct{}, 1)}
	_, clientTLS, err := secure.TLSConfigs(d.Secret)
	if err != nil {
		d.log.Warn("no heartbeats to the JobManager: the deployment secret gives no TLS configuration", "err", err)
		return func(yarn.ApplicationReport) {}, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.run(ctx, clientTLS)
	}()
	return k.report, func() {
		cancel()
		<-done
	}
}

// report notes the JobManager's control address from a report.
func (k *leaseKeeper) report(r yarn.ApplicationReport) {
	if r.State != yarn.ApplicationRunning || r.RPCPort <= 0 || r.Host == "" || r.Host == "N/A" {
		return
	}
	addr := net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort)))
	k.mu.Lock()
	changed := addr != k.addr
	k.addr = addr
	k.mu.Unlock()
	if changed {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
}

func (k *leaseKeeper) run(ctx context.Context, clientTLS *tls.Config) {
	tick := time.NewTicker(k.every)
	defer tick.Stop()
	var cc *control.Client
	var ccAddr string
	defer func() {
		if cc != nil {
			cc.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-k.wake:
		}
		k.mu.Lock()
		addr := k.addr
		k.mu.Unlock()
		if addr == "" {
			continue
		}
		if addr != ccAddr {
			if cc != nil {
				cc.Close()
			}
			cc, ccAddr = control.NewClient(addr, clientTLS), addr
		}
		hctx, cancel := context.WithTimeout(ctx, k.every)
		err := cc.Do(hctx, http.MethodPost, launch.HeartbeatPath, nil, nil)
		cancel()
		if err != nil && ctx.Err() == nil {
			k.log("heartbeat to the JobManager", "addr", addr, "err", err)
		}
	}
}

// ClientLeaseFrom is the client lease of an attached deployment with the
// -D overrides config: DefaultClientLease, or ClientLeaseKey's
// milliseconds (0: none).
func ClientLeaseFrom(config map[string]string) (time.Duration, error) {
	v, ok := config[ClientLeaseKey]
	if !ok {
		return DefaultClientLease, nil
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("-D %s=%s: give the milliseconds an attached application waits for its client's heartbeat before it ends, e.g. -D %s=60000 (0: it outlives its client)", ClientLeaseKey, v, ClientLeaseKey)
	}
	if ms > 0 && ms < 1000 {
		return 0, fmt.Errorf("-D %s=%s: at least 1000 ms, so that a slow network does not end the application; 0 turns the lease off", ClientLeaseKey, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

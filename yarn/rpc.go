package yarn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/metrics"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// rpcAuth is the IPC identity of a client built from cfg: Kerberos when
// configured, else simple authentication as cfg.User (or the OS user).
func rpcAuth(cfg *Config) (ipc.Auth, error) {
	prot, err := sasl.ParseProtection(cfg.RPCProtection)
	if err != nil {
		return ipc.Auth{}, err
	}
	a := ipc.Auth{User: cfg.User, ProxyUser: cfg.ProxyUser}
	if k := cfg.Kerberos; k != nil {
		kc := k.Client
		principal := kc.Credentials.UserName() + "@" + kc.Credentials.Realm()
		a.Kerberos = &ipc.KerberosAuth{
			Principal:       principal,
			ServerPrincipal: k.ServerPrincipal,
			NewClient: func(spn string) (sasl.Client, error) {
				return sasl.NewGSSAPI(sasl.GSSAPIConfig{Client: kc, ServicePrincipal: spn, Protection: prot})
			},
		}
		return a, nil
	}
	if a.User == "" {
		u, err := user.Current()
		if err != nil {
			return ipc.Auth{}, fmt.Errorf("yarn: Config.User is empty and the OS user is unknown: %w", err)
		}
		a.User = u.Username
	}
	return a, nil
}

// tokenAuth is the IPC identity of a Hadoop token (AMRMToken, NMToken):
// SASL DIGEST-MD5 at one of the protection levels prot allows.
func tokenAuth(t Token, prot []sasl.QOP) ipc.Auth {
	return ipc.Auth{Token: &ipc.TokenAuth{
		NewClient: func(protocol, serverID string) (sasl.Client, error) {
			return sasl.NewDigestMD5(sasl.DigestConfig{
				Identifier: t.Identifier, Password: t.Password,
				Protocol: protocol, ServerID: serverID, Protection: prot,
			})
		},
	}}
}

// rmTarget is one ResourceManager endpoint of an rmSet.
type rmTarget struct {
	id, addr string
}

func (t rmTarget) String() string {
	if t.id == "" {
		return t.addr
	}
	return t.id + " (" + t.addr + ")"
}

// rmSet calls one protocol on whichever of several ResourceManagers is
// active, failing over on standby replies and unreachable RMs, with
// backoff, for at most timeout. Safe for concurrent use.
type rmSet struct {
	targets   []rmTarget
	newClient func(addr string) (*ipc.Client, error)
	timeout   time.Duration
	log       *slog.Logger
	metrics   *rpcMetrics

	mu      sync.Mutex
	clients []*ipc.Client
	current int
	closed  bool

	failovers atomic.Int64
}

func newRMSet(targets []rmTarget, timeout time.Duration, log *slog.Logger, m *rpcMetrics, newClient func(addr string) (*ipc.Client, error)) *rmSet {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &rmSet{
		targets: targets, newClient: newClient, timeout: timeout, log: log, metrics: m,
		clients: make([]*ipc.Client, len(targets)),
	}
}

// client returns the IPC client of target i, making it on first use.
func (s *rmSet) client(i int) (*ipc.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.clients[i] == nil {
		c, err := s.newClient(s.targets[i].addr)
		if err != nil {
			return nil, err
		}
		s.clients[i] = c
	}
	return s.clients[i], nil
}

// reset drops target i's client (e.g. after its token changed), so the
// next call dials again.
func (s *rmSet) resetAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.clients {
		if c != nil {
			c.Close()
			s.clients[i] = nil
		}
	}
}

func (s *rmSet) currentIndex() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// advance moves past target from, unless another call already did.
func (s *rmSet) advance(from int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == from && len(s.targets) > 1 {
		s.current = (from + 1) % len(s.targets)
		s.failovers.Add(1)
		if s.metrics != nil {
			s.metrics.failovers.Inc()
		}
		if s.log != nil {
			s.log.Info("yarn: failing over", "from", s.targets[from].String(), "to", s.targets[s.current].String())
		}
	}
}

// Current names the ResourceManager calls go to now.
func (s *rmSet) Current() string { return s.targets[s.currentIndex()].String() }

// call invokes method on the active RM.
func (s *rmSet) call(ctx context.Context, method string, req, resp proto.Message) error {
	start := time.Now()
	deadline := start.Add(s.timeout)
	backoff := 100 * time.Millisecond
	var tried []string
	var last error
	for attempt := 0; ; attempt++ {
		i := s.currentIndex()
		c, err := s.client(i)
		if err == nil {
			err = c.Call(ctx, method, req, resp)
		}
		if err == nil {
			s.observe(method, "ok", start)
			return nil
		}
		if ctx.Err() != nil {
			s.observe(method, "canceled", start)
			return ctx.Err()
		}
		if !ipc.IsFailover(err) {
			s.observe(method, "error", start)
			return remoteError(err, s.targets[i].String())
		}
		last = err
		tried = appendOnce(tried, s.targets[i].String()+": "+shortErr(err))
		s.advance(i)
		// Wait after every full round of RMs, not between them.
		if (attempt+1)%len(s.targets) == 0 {
			if time.Now().Add(backoff).After(deadline) {
				break
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				s.observe(method, "canceled", start)
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(backoff*2, 2*time.Second)
		}
	}
	s.observe(method, "no_active_rm", start)
	return fmt.Errorf("%w after %s; tried %s: %w", ErrNoActiveResourceManager,
		time.Since(start).Round(time.Millisecond), strings.Join(tried, "; "), last)
}

func (s *rmSet) observe(method, outcome string, start time.Time) {
	if s.metrics == nil {
		return
	}
	s.metrics.requests.WithLabelValues(method, outcome).Inc()
	s.metrics.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

func (s *rmSet) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for i, c := range s.clients {
		if c != nil {
			errs = append(errs, c.Close())
			s.clients[i] = nil
		}
	}
	return errors.Join(errs...)
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// rpcMetrics are the Prometheus metrics of one kind of client.
type rpcMetrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	failovers prometheus.Counter
}

// newRPCMetrics registers the metrics of subsystem ("rm", "am", "nm") on
// reg; nil reg means no metrics. Clients sharing a registerer share the
// metrics.
func newRPCMetrics(reg prometheus.Registerer, subsystem string) *rpcMetrics {
	if reg == nil {
		return nil
	}
	m := &rpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "requests_total",
			Help: "Calls by method and outcome (ok, error, canceled, no_active_rm).",
		}, []string{"method", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "request_duration_seconds",
			Help:    "Call latency, failovers and retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
		failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "failovers_total",
			Help: "Switches from one ResourceManager to another.",
		}),
	}
	m.requests = metrics.Register(reg, m.requests)
	m.latency = metrics.Register(reg, m.latency)
	m.failovers = metrics.Register(reg, m.failovers)
	return m
}

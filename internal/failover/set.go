package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

// Target is one server of a Set.
type Target struct {
	// ID is the server's name in the configuration ("rm1", "nn2"); may be
	// empty.
	ID string
	// Addr is its RPC address, host:port.
	Addr string
}

// String is "id (addr)", or addr without an id.
func (t Target) String() string {
	if t.ID == "" {
		return t.Addr
	}
	return t.ID + " (" + t.Addr + ")"
}

// Config configures a Set. Service, Targets and NewClient are required.
type Config struct {
	// Service names what the targets are, for logs, metrics and errors:
	// "ResourceManager", "NameNode".
	Service string

	// Targets are the servers, tried in order from the first.
	Targets []Target

	// NewClient makes the IPC client of one target. It must pass id as
	// ipc.Config.Identity, so that all targets know the Set by one client
	// id and a call keeps its call id from one to the next. It is called
	// on a target's first use and again after Reset.
	NewClient func(t Target, id *ipc.Identity) (*ipc.Client, error)

	// Timeout bounds how long a call keeps trying servers that are
	// standbys or unreachable. 0 means 60 s.
	Timeout time.Duration

	// Backoff is the wait after the first full round of servers failed;
	// it doubles after each further round up to MaxBackoff. 0 means
	// 100 ms; MaxBackoff 0 means 2 s.
	Backoff, MaxBackoff time.Duration

	// RetryAlone makes a Set of one target try it again on connection
	// failures until Timeout, as YARN clients wait for a restarting RM.
	// False fails such a call at once (the IPC client has already retried
	// its connection), as an HDFS client does with one NameNode. Either
	// way a lone standby is asked again until Timeout: it may become
	// active.
	RetryAlone bool

	// Identity is the client id and call id sequence of the Set. Nil
	// means a new random one.
	Identity *ipc.Identity

	// Logger receives a record of every failover (Info) and of every call
	// failed over (Debug). Nil means silent.
	Logger *slog.Logger

	// Metrics counts calls, their latency and failovers. Nil means none.
	Metrics *Metrics

	// ErrClosed is what calls return after Close. Nil means ipc.ErrClosed.
	ErrClosed error

	// ErrNoActive is the sentinel a *NoActiveError matches, e.g.
	// yarn.ErrNoActiveResourceManager; its text starts the error's
	// message. Nil means none ("no active <Service>").
	ErrNoActive error

	// ServerError turns an error a server returned into the caller's
	// (yarn and hdfs make their RemoteError, naming the server). Nil
	// returns it as it is.
	ServerError func(err error, server string) error
}

// Set calls one protocol on whichever of its servers is active. It is
// safe for concurrent use.
type Set struct {
	cfg Config
	log *slog.Logger
	id  *ipc.Identity

	mu      sync.Mutex
	clients []*ipc.Client
	current int
	closed  bool

	failovers atomic.Int64
}

// New checks cfg and returns a Set. It does not dial.
func New(cfg Config) (*Set, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("failover: Config.Targets is empty")
	}
	if cfg.NewClient == nil {
		return nil, errors.New("failover: Config.NewClient is nil")
	}
	cfg.Targets = append([]Target(nil), cfg.Targets...)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.ErrClosed == nil {
		cfg.ErrClosed = ipc.ErrClosed
	}
	s := &Set{cfg: cfg, log: cfg.Logger, id: cfg.Identity, clients: make([]*ipc.Client, len(cfg.Targets))}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.id == nil {
		var err error
		if s.id, err = ipc.NewIdentity(nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ClientID is the client id every server knows the Set by.
func (s *Set) ClientID() []byte { return s.id.ClientID() }

// Current is the server calls go to now.
func (s *Set) Current() Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Targets[s.current]
}

// Failovers counts the Set's switches from one server to another.
func (s *Set) Failovers() int64 { return s.failovers.Load() }

// client returns the IPC client of target i, making it on first use.
func (s *Set) client(i int) (*ipc.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.cfg.ErrClosed
	}
	if s.clients[i] == nil {
		c, err := s.cfg.NewClient(s.cfg.Targets[i], s.id)
		if err != nil {
			return nil, err
		}
		s.clients[i] = c
	}
	return s.clients[i], nil
}

func (s *Set) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Set) currentIndex() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// advance moves past target from, unless another call already did.
func (s *Set) advance(from int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != from || len(s.cfg.Targets) < 2 {
		return
	}
	s.current = (from + 1) % len(s.cfg.Targets)
	s.failovers.Add(1)
	if m := s.cfg.Metrics; m != nil && m.Failovers != nil {
		m.Failovers.Inc()
	}
	s.log.Info("failing over", "service", s.cfg.Service,
		"from", s.cfg.Targets[from].String(), "to", s.cfg.Targets[s.current].String())
}

// Call invokes method on the active server, failing over as the package
// doc describes.
func (s *Set) Call(ctx context.Context, method string, req, resp proto.Message) error {
	start := time.Now()
	rounds := NewRounds(len(s.cfg.Targets), s.cfg.Timeout, s.cfg.Backoff, s.cfg.MaxBackoff)
	call := &ipc.Call{Method: method}
	var tried triedList
	for {
		i := s.currentIndex()
		server := s.cfg.Targets[i].String()
		c, err := s.client(i)
		if err == nil {
			err = c.Do(ctx, call, req, resp)
		}
		if err == nil {
			s.observe(method, "ok", start)
			return nil
		}
		if ctx.Err() != nil {
			s.observe(method, "canceled", start)
			return ctx.Err()
		}
		// A client Reset closed under the call: ask the server again with
		// the new client, if the call may be repeated.
		reset := errors.Is(err, ipc.ErrClosed) && !s.isClosed() && call.MayRepeat()
		alone := len(s.cfg.Targets) == 1 && !s.cfg.RetryAlone && !errors.Is(err, ipc.ErrStandby)
		if !reset && (!call.MayFailover(err) || alone) {
			s.observe(method, "error", start)
			return s.serverError(err, server)
		}
		tried.add(server, err)
		if !reset {
			s.log.Debug("call failed over", "service", s.cfg.Service, "server", server, "method", method,
				"call_id", call.ID(), "retry_count", call.RetryCount(), "error", err)
			s.advance(i)
		}
		more, err := rounds.Next(ctx)
		if err != nil {
			s.observe(method, "canceled", start)
			return err
		}
		if !more {
			break
		}
	}
	s.observe(method, "no_active", start)
	return &NoActiveError{
		Service: s.cfg.Service,
		Elapsed: time.Since(start),
		Tried:   tried.lines(),
		Last:    s.serverError(tried.lastErr, tried.lastServer),
		is:      s.cfg.ErrNoActive,
	}
}

func (s *Set) serverError(err error, server string) error {
	if s.cfg.ServerError == nil {
		return err
	}
	return s.cfg.ServerError(err, server)
}

func (s *Set) observe(method, outcome string, start time.Time) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	if m.Requests != nil {
		m.Requests.WithLabelValues(method, outcome).Inc()
	}
	if m.Latency != nil {
		m.Latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
	}
}

// Reset closes the servers' clients; the next call makes new ones with
// NewClient (e.g. with a token the server rolled). Calls in progress on
// them are asked again of the new ones if they may be repeated.
func (s *Set) Reset() {
	s.mu.Lock()
	clients := s.clients
	s.clients = make([]*ipc.Client, len(s.cfg.Targets))
	s.mu.Unlock()
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
}

// Close closes the servers' clients; calls in progress fail and later
// ones return Config.ErrClosed.
func (s *Set) Close() error {
	s.mu.Lock()
	s.closed = true
	clients := s.clients
	s.clients = make([]*ipc.Client, len(s.cfg.Targets))
	s.mu.Unlock()
	var errs []error
	for _, c := range clients {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// triedList is the servers a call tried, in order, each with its last
// error.
type triedList struct {
	servers    []string
	errs       map[string]error
	lastServer string
	lastErr    error
}

func (l *triedList) add(server string, err error) {
	if l.errs == nil {
		l.errs = map[string]error{}
	}
	if _, ok := l.errs[server]; !ok {
		l.servers = append(l.servers, server)
	}
	l.errs[server] = err
	l.lastServer, l.lastErr = server, err
}

func (l *triedList) lines() []string {
	out := make([]string, len(l.servers))
	for i, s := range l.servers {
		msg, _, _ := strings.Cut(l.errs[s].Error(), "\n")
		out[i] = s + ": " + msg
	}
	return out
}

// NoActiveError reports that no server of a Set answered as the active
// one within its Timeout. It matches Config.ErrNoActive and the last
// server's error with errors.Is.
type NoActiveError struct {
	Service string        // "ResourceManager", "NameNode"
	Elapsed time.Duration // how long the call tried
	Tried   []string      // each server tried, "server: its last error"
	Last    error         // the last server's error

	is error
}

func (e *NoActiveError) Error() string {
	head := "no active " + e.Service
	if e.is != nil {
		head = e.is.Error()
	}
	return fmt.Sprintf("%s after %s; tried %s", head, e.Elapsed.Round(time.Millisecond), strings.Join(e.Tried, "; "))
}

func (e *NoActiveError) Unwrap() []error {
	if e.is == nil {
		return []error{e.Last}
	}
	return []error{e.is, e.Last}
}

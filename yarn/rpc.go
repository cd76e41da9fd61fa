package yarn

import (
	"context"
	"fmt"
	"log/slog"
	"os/user"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/failover"
	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// rpcAuth is the IPC identity of a client built from cfg: Kerberos when
// configured, else simple authentication as cfg.User (or the OS user).
func rpcAuth(cfg *Config) (ipc.Auth, error) {
	prot, err := sasl.ParseProtection(cfg.RPCProtection)
	if err != nil {
		return ipc.Auth{}, err
	}
	a := ipc.Auth{User: cfg.User, ProxyUser: cfg.ProxyUser, AllowSimpleFallback: cfg.AllowSimpleFallback}
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

// rmSet calls one protocol on whichever of several ResourceManagers is
// active: a failover.Set whose errors are this package's. Safe for
// concurrent use.
type rmSet struct {
	set *failover.Set
}

// newRMSet makes the set of targets, each reached through a client
// newClient makes; timeout bounds a call's failovers (0 means 60 s).
// However newClient numbers its clients' calls, the set gives all of
// them one client id and one call id sequence.
func newRMSet(targets []rmTarget, timeout time.Duration, log *slog.Logger, m *rpcMetrics, newClient func(addr string) (*ipc.Client, error)) *rmSet {
	var ts []failover.Target
	for _, t := range targets {
		ts = append(ts, failover.Target{ID: t.id, Addr: t.addr})
	}
	var fm *failover.Metrics
	if m != nil {
		fm = &failover.Metrics{Requests: m.requests, Latency: m.latency, Failovers: m.failovers}
	}
	set, err := failover.New(failover.Config{
		Service: "ResourceManager",
		Targets: ts,
		NewClient: func(t failover.Target, id *ipc.Identity) (*ipc.Client, error) {
			c, err := newClient(t.Addr)
			if err != nil {
				return nil, err
			}
			defer c.Close() // never dialed
			return c.WithIdentity(id)
		},
		Timeout:     timeout,
		RetryAlone:  true, // a lone RM may be restarting
		Logger:      log,
		Metrics:     fm,
		ErrClosed:   ErrClosed,
		ErrNoActive: ErrNoActiveResourceManager,
		ServerError: remoteError,
	})
	if err != nil {
		// Only for no targets or no newClient, which the callers rule out.
		panic("yarn: " + err.Error())
	}
	return &rmSet{set: set}
}

// Failovers counts switches from one RM to another.
func (s *rmSet) Failovers() int64 { return s.set.Failovers() }

// Current names the ResourceManager calls go to now.
func (s *rmSet) Current() string { return s.set.Current().String() }

// call invokes method on the active RM.
func (s *rmSet) call(ctx context.Context, method string, req, resp proto.Message) error {
	return s.set.Call(ctx, method, req, resp)
}

func (s *rmSet) close() error { return s.set.Close() }

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

// newRPCMetrics registers the metrics of subsystem ("rm", "am", "nm",
// "rest") on reg; nil reg means no metrics. Clients sharing a registerer
// share the metrics.
func newRPCMetrics(reg prometheus.Registerer, subsystem string) *rpcMetrics {
	m := failover.NewMetrics(reg, subsystem, "ResourceManager")
	if m == nil {
		return nil
	}
	return &rpcMetrics{requests: m.Requests, latency: m.Latency, failovers: m.Failovers}
}

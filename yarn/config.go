package yarn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
	"github.com/spindle-yarn/spindle/internal/siteconf"
)

// Config configures a ResourceManager client. Build one by hand or with
// ConfigFromHadoopConf from a cluster's site XML. New* functions validate
// it and keep their own copy; a Config is never modified by them.
type Config struct {
	// ResourceManagers lists the cluster's ResourceManagers: one, or with
	// high availability every RM of the cluster in the order they are
	// tried. Required.
	ResourceManagers []RMAddress

	// User is the user the client acts as under simple authentication.
	// Empty means the user running this process. Ignored with Kerberos,
	// where the principal names the user.
	User string

	// ProxyUser, when set, is the user calls are made for; the
	// authenticated user must be allowed to impersonate it
	// (hadoop.proxyuser.<user>.hosts/groups on the cluster).
	ProxyUser string

	// Kerberos authenticates with Kerberos when set. Nil means simple
	// authentication.
	Kerberos *KerberosConfig

	// RPCProtection is hadoop.rpc.protection: "authentication",
	// "integrity" or "privacy", or a comma-separated list in order of
	// preference. Empty means "authentication".
	RPCProtection string

	// FailoverTimeout bounds how long a call keeps trying ResourceManagers
	// that are standbys or unreachable before it fails with
	// ErrNoActiveResourceManager. Zero means 60 seconds.
	FailoverTimeout time.Duration

	// AllowSimpleFallback lets a Kerberos client accept a ResourceManager
	// that asks to fall back to SIMPLE authentication, which sends calls
	// unauthenticated (ipc.client.fallback-to-simple-auth-allowed). False
	// refuses such a server with an error matching ErrUnauthorized.
	AllowSimpleFallback bool

	// Logger receives debug records of connections, failovers and retries.
	// Nil means silent.
	Logger *slog.Logger

	// Registerer receives the client's Prometheus metrics. Nil means no
	// metrics.
	Registerer prometheus.Registerer

	// Dialer opens connections. Nil means a net.Dialer.
	Dialer Dialer
}

// Dialer opens network connections; *net.Dialer is one. It is the same
// type in packages yarn and hdfs, so one dialer serves both.
type Dialer = ipc.Dialer

// RMAddress is where one ResourceManager listens.
type RMAddress struct {
	// ID is the RM's id in yarn.resourcemanager.ha.rm-ids ("rm1"); empty
	// without high availability.
	ID string
	// RPC is yarn.resourcemanager.address, host:port of the client
	// protocol (ApplicationClientProtocol).
	RPC string
	// Scheduler is yarn.resourcemanager.scheduler.address, host:port of
	// the ApplicationMaster protocol.
	Scheduler string
	// Web is the base URL of the web UI and REST API, e.g.
	// "http://rm:8088". Empty means the REST API is not used.
	Web string
}

// KerberosConfig holds what Kerberos authentication needs: the
// logged-in client and the ResourceManager's principals. It is the same
// type as hdfs.KerberosConfig, where ServerPrincipal is the NameNode's.
type KerberosConfig = ipc.KerberosConfig

// ErrConfig is matched by every error a Config's validation returns.
var ErrConfig = errors.New("yarn: invalid configuration")

type configError struct{ msg string }

func (e *configError) Error() string        { return "yarn: invalid configuration: " + e.msg }
func (e *configError) Is(target error) bool { return target == ErrConfig }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if len(c.ResourceManagers) == 0 {
		return configErrorf("no ResourceManagers; set Config.ResourceManagers or yarn.resourcemanager.address")
	}
	seen := map[string]bool{}
	for i, rm := range c.ResourceManagers {
		if rm.RPC == "" && rm.Web == "" {
			return configErrorf("ResourceManagers[%d] (%q) has neither an RPC nor a Web address", i, rm.ID)
		}
		if rm.RPC != "" {
			if _, _, err := net.SplitHostPort(rm.RPC); err != nil {
				return configErrorf("ResourceManagers[%d].RPC %q: want host:port", i, rm.RPC)
			}
		}
		if len(c.ResourceManagers) > 1 {
			if rm.ID == "" || seen[rm.ID] {
				return configErrorf("ResourceManagers[%d]: with several RMs each needs a distinct ID (yarn.resourcemanager.ha.rm-ids)", i)
			}
			seen[rm.ID] = true
		}
	}
	if c.Kerberos != nil && c.Kerberos.Client == nil {
		return configErrorf("Kerberos.Client is nil; log in with gokrb5 first, or set Kerberos to nil for simple authentication")
	}
	if _, err := sasl.ParseProtection(c.RPCProtection); err != nil {
		return configErrorf("RPCProtection: %v", err)
	}
	return nil
}

// ConfigFromHadoopConf builds a Config from the properties of a cluster's
// core-site.xml and yarn-site.xml (LoadConfig reads them from a
// directory). It reads the RM addresses, with high
// availability (yarn.resourcemanager.ha.enabled, ha.rm-ids and the
// per-id keys) or without, yarn.resourcemanager.principal,
// hadoop.rpc.protection and ipc.client.fallback-to-simple-auth-allowed,
// expanding ${property} references as Hadoop does.
//
// Under Kerberos (hadoop.security.authentication=kerberos) the returned
// Config has Kerberos.ServerPrincipal set but no Client: log in and set
// Kerberos.Client before use.
func ConfigFromHadoopConf(conf map[string]string) (Config, error) {
	get := func(key string) string { return siteconf.Get(conf, key) }
	var cfg Config
	https := strings.EqualFold(get("yarn.http.policy"), "HTTPS_ONLY")

	address := func(key, suffix string, port int) string {
		if v := get(key + suffix); v != "" {
			return v
		}
		host := get("yarn.resourcemanager.hostname" + suffix)
		if host == "" {
			host = get("yarn.resourcemanager.hostname")
		}
		if host == "" {
			return ""
		}
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	rmFor := func(id string) RMAddress {
		suffix := ""
		if id != "" {
			suffix = "." + id
		}
		rm := RMAddress{
			ID:        id,
			RPC:       address("yarn.resourcemanager.address", suffix, 8032),
			Scheduler: address("yarn.resourcemanager.scheduler.address", suffix, 8030),
		}
		if https {
			if w := address("yarn.resourcemanager.webapp.https.address", suffix, 8090); w != "" {
				rm.Web = "https://" + w
			}
		} else if w := address("yarn.resourcemanager.webapp.address", suffix, 8088); w != "" {
			rm.Web = "http://" + w
		}
		return rm
	}

	if strings.EqualFold(get("yarn.resourcemanager.ha.enabled"), "true") {
		ids := siteconf.SplitList(get("yarn.resourcemanager.ha.rm-ids"))
		if len(ids) == 0 {
			return Config{}, configErrorf("yarn.resourcemanager.ha.enabled is true but yarn.resourcemanager.ha.rm-ids is empty")
		}
		for _, id := range ids {
			cfg.ResourceManagers = append(cfg.ResourceManagers, rmFor(id))
		}
	} else {
		cfg.ResourceManagers = []RMAddress{rmFor("")}
	}
	for i, rm := range cfg.ResourceManagers {
		if rm.RPC == "" {
			return Config{}, configErrorf("no address for ResourceManager %q: set yarn.resourcemanager.address or yarn.resourcemanager.hostname (with .<rm-id> under HA)", rm.ID)
		}
		// A wildcard bind address is not somewhere a client can connect.
		host, port, _ := net.SplitHostPort(rm.RPC)
		if host == "0.0.0.0" {
			return Config{}, configErrorf("ResourceManager %q address %s is a wildcard; set yarn.resourcemanager.hostname", rm.ID, rm.RPC)
		}
		_ = port
		cfg.ResourceManagers[i] = rm
	}

	cfg.RPCProtection = get("hadoop.rpc.protection")
	cfg.AllowSimpleFallback = strings.EqualFold(strings.TrimSpace(get("ipc.client.fallback-to-simple-auth-allowed")), "true")
	if strings.EqualFold(get("hadoop.security.authentication"), "kerberos") {
		cfg.Kerberos = &KerberosConfig{
			ServerPrincipal: get("yarn.resourcemanager.principal"),
			HTTPPrincipal:   get("yarn.resourcemanager.webapp.spnego-principal"),
		}
	}
	return cfg, nil
}

package hdfs

import (
	"log/slog"
	"net"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
	"github.com/spindle-yarn/spindle/internal/siteconf"
)

// DefaultPublicCacheRoot is where PUBLIC cache entries go when
// Config.PublicCacheRoot is empty: each user's entries in
// <root>/<user>, a directory only that user writes.
//
// It lies under /tmp because a NodeManager localizes a PUBLIC resource only
// if every directory above it is world-executable, and on a real cluster
// home directories are often 0700; /tmp is world-writable (1777) on HDFS
// as Hadoop installs it. The root itself is created 1777 on first use, so
// every user can add their own directory beneath it but not touch anyone
// else's.
const DefaultPublicCacheRoot = "/tmp/spindle-cache"

// Config configures a Client. Build one by hand or with
// ConfigFromHadoopConf from a cluster's site XML. NewClient validates it
// and keeps its own copy; a Config is never modified.
type Config struct {
	// NameNodes lists the RPC addresses (host:port) of the file system's
	// NameNodes: one, or under high availability every NameNode of the
	// nameservice, tried in order. Required.
	NameNodes []string

	// NameService is the logical name of an HA nameservice
	// (dfs.nameservices); URLs then read hdfs://<NameService>/path and
	// delegation tokens carry the service "ha-hdfs:<NameService>". Empty
	// without HA: URLs name NameNodes[0] and tokens its resolved ip:port.
	NameService string

	// NameServices maps other HA nameservices the configuration defines to
	// their NameNodes' RPC addresses, so that DelegationTokens can resolve
	// hdfs://<nameservice> URIs. Nil means none.
	NameServices map[string][]string

	// User is the user under simple authentication, and the user whose
	// home holds the default StagingRoot. Empty means the Kerberos
	// principal's short name with Kerberos, else the user running this
	// process. With only Tokens, User (or StagingRoot) must be set.
	User string

	// ProxyUser, when set, is the user calls are made for, and whose home
	// holds the default StagingRoot: the authenticated user (the Kerberos
	// principal, or User under simple authentication) must be allowed to
	// impersonate it (hadoop.proxyuser.<user>.hosts/groups on the
	// cluster). Ignored with only Tokens, whose token names its user.
	ProxyUser string

	// Kerberos authenticates with Kerberos when set. Nil means simple
	// authentication, or Tokens.
	Kerberos *KerberosConfig

	// Tokens are HDFS delegation tokens to authenticate with when Kerberos
	// is nil, as inside a YARN container: the one whose service names this
	// file system ("ip:port" of a NameNode or "ha-hdfs:<NameService>") is
	// used, else the first of kind HDFS_DELEGATION_TOKEN. A client holding
	// only tokens does everything one with Kerberos does but obtain
	// delegation tokens: the DataNodes admit it on block tokens.
	Tokens []Token

	// RPCProtection is hadoop.rpc.protection: "authentication",
	// "integrity" or "privacy", or a comma-separated list in order of
	// preference. Empty means "authentication".
	RPCProtection string

	// AllowSimpleFallback lets a client with Kerberos or Tokens accept a
	// NameNode that asks to fall back to SIMPLE authentication, which
	// sends calls unauthenticated (ipc.client.fallback-to-simple-auth-allowed).
	// False refuses such a NameNode with an error matching
	// ErrUnauthorized.
	AllowSimpleFallback bool

	// DataTransferProtection is the protection of block transfers to and
	// from DataNodes: "", "authentication", "integrity" or "privacy" (from
	// dfs.data.transfer.protection and dfs.encrypt.data.transfer). Empty
	// means no SASL handshake with DataNodes, as on clusters without
	// dfs.data.transfer.protection; set, DataNodes on unprivileged ports
	// are authenticated to with the block token at this level.
	DataTransferProtection string

	// UseDatanodeHostname connects to DataNodes by host name rather than
	// IP address (dfs.client.use.datanode.hostname).
	UseDatanodeHostname bool

	// StagingRoot holds one staging directory per application,
	// <StagingRoot>/<application id>. Empty means /user/<User>/.spindle.
	StagingRoot string

	// PrivateCacheDir holds content-addressed entries shared by the user's
	// applications and localized with PRIVATE visibility. Empty means
	// <StagingRoot>/cache.
	PrivateCacheDir string

	// PublicCacheRoot holds content-addressed entries localized with
	// PUBLIC visibility, once per node for every application: this user's
	// in <PublicCacheRoot>/<User>. Empty means DefaultPublicCacheRoot.
	// Every directory above it must be world-executable.
	PublicCacheRoot string

	// Replication of uploaded files. Zero means the NameNode's default
	// (its dfs.replication).
	Replication int

	// BlockSize of uploaded files in bytes. Zero means the NameNode's
	// default (its dfs.blocksize).
	BlockSize int64

	// Concurrency is how many files are hashed, and how many uploaded, at
	// once. Zero means 4.
	Concurrency int

	// FailoverTimeout bounds how long a namespace call keeps trying
	// NameNodes that are standbys or unreachable, trying each in turn and
	// backing off after every round, before it fails with an error
	// matching ErrNoActiveNameNode. A lone NameNode that cannot be reached
	// fails the call at once; a lone standby is asked again until the
	// timeout. Zero means 60 seconds; negative is invalid.
	FailoverTimeout time.Duration

	// TokenRenewer is the user allowed to renew the delegation tokens
	// DelegationTokens obtains: the short name of the ResourceManager's
	// principal ("rm/_HOST@REALM" gives "rm"), so that the RM keeps them
	// alive for the application. Empty makes DelegationTokens fail.
	TokenRenewer string

	// Logger receives debug records of uploads, cache hits, cleanup and
	// NameNode failovers. Nil means silent.
	Logger *slog.Logger

	// Registerer receives the client's Prometheus metrics. Nil means no
	// metrics.
	Registerer prometheus.Registerer

	// Dialer opens connections to NameNodes and DataNodes. Nil means a
	// net.Dialer.
	Dialer Dialer

	// Now is the clock for the ages Sweep and Evict compare. Nil means
	// time.Now.
	Now func() time.Time
}

// Dialer opens network connections; *net.Dialer is one. It is the same
// type in packages yarn and hdfs, so one dialer serves both.
type Dialer = ipc.Dialer

// KerberosConfig holds what Kerberos authentication needs: the
// logged-in client and the NameNode's principal
// (dfs.namenode.kerberos.principal) as ServerPrincipal; HTTPPrincipal is
// not used here. It is the same type as yarn.KerberosConfig.
type KerberosConfig = ipc.KerberosConfig

func (c *Config) validate() error {
	if len(c.NameNodes) == 0 {
		return configErrorf("no NameNodes; set Config.NameNodes or fs.defaultFS")
	}
	for i, nn := range c.NameNodes {
		if _, _, err := net.SplitHostPort(nn); err != nil {
			return configErrorf("NameNodes[%d] %q: want host:port", i, nn)
		}
	}
	if k := c.Kerberos; k != nil {
		if k.Client == nil || k.Client.Credentials == nil {
			return configErrorf("Kerberos.Client is nil or not logged in; log in with gokrb5 first, or set Kerberos to nil")
		}
	}
	if c.Kerberos == nil && len(c.Tokens) > 0 && c.User == "" && (c.StagingRoot == "" || c.PrivateCacheDir == "") {
		return configErrorf("with only Tokens, set User (or StagingRoot and PrivateCacheDir): a token does not tell whose home the staging directory is in")
	}
	if _, err := sasl.ParseProtection(c.RPCProtection); err != nil {
		return configErrorf("RPCProtection: %v", err)
	}
	switch c.DataTransferProtection {
	case "", "authentication", "integrity", "privacy":
	default:
		return configErrorf("DataTransferProtection %q: want authentication, integrity or privacy", c.DataTransferProtection)
	}
	for _, p := range []struct{ name, v string }{{"StagingRoot", c.StagingRoot}, {"PrivateCacheDir", c.PrivateCacheDir}, {"PublicCacheRoot", c.PublicCacheRoot}} {
		if p.v != "" && !path.IsAbs(p.v) {
			return configErrorf("%s %q is not an absolute path", p.name, p.v)
		}
	}
	if c.Replication < 0 || c.BlockSize < 0 || c.Concurrency < 0 || c.FailoverTimeout < 0 {
		return configErrorf("Replication, BlockSize, Concurrency and FailoverTimeout may not be negative")
	}
	return nil
}

// ConfigFromHadoopConf builds a Config from the properties of a cluster's
// core-site.xml and hdfs-site.xml (LoadConfig reads them from a directory;
// yarn-site.xml adds the token renewer), expanding ${property} references
// as Hadoop does. It
// reads fs.defaultFS with its HA nameservice (dfs.nameservices,
// dfs.ha.namenodes.<ns>, dfs.namenode.rpc-address.<ns>.<id>),
// hadoop.security.authentication, dfs.namenode.kerberos.principal,
// hadoop.rpc.protection, ipc.client.fallback-to-simple-auth-allowed,
// dfs.data.transfer.protection, dfs.encrypt.data.transfer,
// dfs.client.use.datanode.hostname and
// yarn.resourcemanager.principal (for TokenRenewer).
//
// Under Kerberos the returned Config has Kerberos.ServerPrincipal set but no
// Client: log in and set Kerberos.Client before use.
func ConfigFromHadoopConf(conf map[string]string) (Config, error) {
	get := func(key string) string { return siteconf.Get(conf, key) }
	var cfg Config
	nameservices := map[string][]string{}
	for _, ns := range siteconf.SplitList(get("dfs.nameservices")) {
		var addrs []string
		for _, id := range siteconf.SplitList(get("dfs.ha.namenodes." + ns)) {
			if a := get("dfs.namenode.rpc-address." + ns + "." + id); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) > 0 {
			nameservices[ns] = addrs
		}
	}

	defaultFS := get("fs.defaultFS")
	if defaultFS == "" {
		defaultFS = get("fs.default.name")
	}
	if defaultFS == "" {
		return Config{}, configErrorf("fs.defaultFS is not set")
	}
	u, err := url.Parse(defaultFS)
	if err != nil || u.Scheme != "hdfs" || u.Host == "" {
		return Config{}, configErrorf("fs.defaultFS %q is not an hdfs://host[:port] URI", defaultFS)
	}
	if addrs, ok := nameservices[u.Host]; ok {
		cfg.NameService = u.Host
		cfg.NameNodes = addrs
		delete(nameservices, u.Host)
	} else {
		cfg.NameNodes = []string{withDefaultPort(u.Host)}
	}
	if len(nameservices) > 0 {
		cfg.NameServices = nameservices
	}

	if strings.EqualFold(get("hadoop.security.authentication"), "kerberos") {
		cfg.Kerberos = &KerberosConfig{ServerPrincipal: get("dfs.namenode.kerberos.principal")}
	}
	cfg.RPCProtection = get("hadoop.rpc.protection")
	cfg.AllowSimpleFallback = strings.EqualFold(strings.TrimSpace(get("ipc.client.fallback-to-simple-auth-allowed")), "true")
	// The strongest level listed, as colinmarc/hdfs reads it.
	levels := siteconf.SplitList(strings.ToLower(get("dfs.data.transfer.protection")))
	sort.Strings(levels) // authentication < integrity < privacy
	for _, l := range levels {
		switch l {
		case "authentication", "integrity", "privacy":
			cfg.DataTransferProtection = l
		}
	}
	if strings.EqualFold(get("dfs.encrypt.data.transfer"), "true") {
		cfg.DataTransferProtection = "privacy"
	}
	cfg.UseDatanodeHostname = strings.EqualFold(get("dfs.client.use.datanode.hostname"), "true")
	if p := get("yarn.resourcemanager.principal"); p != "" {
		cfg.TokenRenewer = ShortName(p)
	}
	return cfg, nil
}

// withDefaultPort adds the NameNode's default RPC port, 8020, to a host
// without one.
func withDefaultPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "8020")
}

// ShortName is the first component of a Kerberos principal:
// "rm/host@REALM" gives "rm", "alice@REALM" gives "alice". It is what
// Hadoop's default auth_to_local rules map a principal to, and what a
// delegation token's renewer names.
func ShortName(principal string) string {
	p := principal
	if i := strings.IndexAny(p, "/@"); i >= 0 {
		p = p[:i]
	}
	return p
}

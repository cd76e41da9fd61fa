package hdfs

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os/user"
	"path"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/failover"
	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// The NameNode's client protocol, as Hadoop IPC names it.
const clientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// idempotent lists the ClientProtocol methods this package calls that may
// be repeated after a connection failure, on the same NameNode or another:
// Hadoop's @Idempotent ones, and its @AtMostOnce ones (delete, rename2),
// which the NameNode's retry cache recognizes by client id and call id and
// answers without running twice. getDelegationToken, @Idempotent in
// Hadoop, is left out: every call mints a token, so one a NameNode may
// have executed is not sent again.
var idempotent = map[string]bool{
	"getFileInfo":       true,
	"getListing":        true,
	"mkdirs":            true,
	"setPermission":     true,
	"getServerDefaults": true,
	"delete":            true, // @AtMostOnce
	"rename2":           true, // @AtMostOnce
	"getBlockLocations": true,
	"addBlock":          true,
	"abandonBlock":      true,
	"complete":          true,
	"renewLease":        true,
	// Renewing twice moves the expiry to the same place (@Idempotent).
	"renewDelegationToken": true,
	"create":               true, // @AtMostOnce
}

// Client stages files in one HDFS file system and manages what it staged,
// and reads and writes its files (Open, Create). NameNode calls go through
// Spindle's own Hadoop IPC client, so they take a context, report the
// NameNode's exceptions as *RemoteError, and work with delegation tokens
// alone; file data goes through the package's own DataNode client, which
// needs only the block tokens the NameNode hands out.
//
// A Client is safe for concurrent use. Close it to release its
// connections.
type Client struct {
	cfg       Config
	user      string
	authority string // the host part of hdfs:// URLs
	log       *slog.Logger
	metrics   *metrics
	now       func() time.Time
	dialer    Dialer
	nn        *namenodes

	defaultsMu sync.Mutex
	defaults   *serverDefaults

	// tokensMu guards tokens, Config.Tokens until SetTokens replaces
	// them; a new NameNode connection picks its token from them.
	tokensMu sync.Mutex
	tokens   []Token
}

// NewClient validates cfg and returns a Client. It does not connect: the
// first call does.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.NameNodes = append([]string(nil), cfg.NameNodes...)
	cfg.Tokens = append([]Token(nil), cfg.Tokens...)
	c := &Client{cfg: cfg, log: cfg.Logger, now: cfg.Now, dialer: cfg.Dialer, metrics: newMetrics(cfg.Registerer), tokens: cfg.Tokens}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.dialer == nil {
		c.dialer = &net.Dialer{}
	}
	if c.cfg.Concurrency == 0 {
		c.cfg.Concurrency = 4
	}
	c.authority = cfg.NameService
	if c.authority == "" {
		c.authority = cfg.NameNodes[0]
	}
	switch {
	case cfg.ProxyUser != "" && (cfg.Kerberos != nil || len(cfg.Tokens) == 0):
		c.user = cfg.ProxyUser
	case cfg.User != "":
		c.user = cfg.User
	case cfg.Kerberos != nil:
		c.user = ShortName(cfg.Kerberos.Client.Credentials.UserName())
	case len(cfg.Tokens) == 0:
		u, err := user.Current()
		if err != nil {
			return nil, configErrorf("Config.User is empty and the OS user is unknown: %v", err)
		}
		c.user = u.Username
	}
	if c.cfg.StagingRoot == "" {
		c.cfg.StagingRoot = path.Join("/user", c.user, ".spindle")
	}
	if c.cfg.PrivateCacheDir == "" {
		c.cfg.PrivateCacheDir = path.Join(c.cfg.StagingRoot, "cache")
	}
	if c.cfg.PublicCacheRoot == "" {
		c.cfg.PublicCacheRoot = DefaultPublicCacheRoot
	}
	for _, p := range []*string{&c.cfg.StagingRoot, &c.cfg.PrivateCacheDir, &c.cfg.PublicCacheRoot} {
		*p = path.Clean(*p)
	}
	c.nn = c.namenodes(c.cfg.NameNodes)
	return c, nil
}

// Close releases the client's connections. Calls in progress fail.
func (c *Client) Close() error { return c.nn.close() }

// User is the user whose staging directories and caches the client
// manages.
func (c *Client) User() string { return c.user }

// StagingDir is the staging directory of an application:
// <StagingRoot>/<appID>.
func (c *Client) StagingDir(appID string) string { return path.Join(c.cfg.StagingRoot, appID) }

// URL is the hdfs:// URL of an absolute path in this file system, as
// LocalResources and Hadoop tools name it.
func (c *Client) URL(p string) string { return "hdfs://" + c.authority + p }

// newIPC makes the IPC client of one NameNode, numbering its calls from
// id, which the NameNodes of one file system share.
func (c *Client) newIPC(addr string, id *ipc.Identity) (*ipc.Client, error) {
	prot, err := sasl.ParseProtection(c.cfg.RPCProtection)
	if err != nil {
		return nil, err
	}
	auth := ipc.Auth{User: c.user}
	if p := c.cfg.ProxyUser; p != "" {
		// c.user is the proxy user; the real user is Config.User, else
		// the OS user under simple authentication, else the principal.
		auth = ipc.Auth{User: c.cfg.User, ProxyUser: p}
		if auth.User == "" && c.cfg.Kerberos == nil {
			u, err := user.Current()
			if err != nil {
				return nil, configErrorf("Config.User is empty and the OS user is unknown: %v", err)
			}
			auth.User = u.Username
		}
	}
	switch {
	case c.cfg.Kerberos != nil:
		kc := c.cfg.Kerberos.Client
		auth.User = ""
		auth.Kerberos = &ipc.KerberosAuth{
			Principal:       kc.Credentials.UserName() + "@" + kc.Credentials.Realm(),
			ServerPrincipal: c.cfg.Kerberos.ServerPrincipal,
			NewClient: func(spn string) (sasl.Client, error) {
				return sasl.NewGSSAPI(sasl.GSSAPIConfig{Client: kc, ServicePrincipal: spn, Protection: prot})
			},
		}
	case len(c.cfg.Tokens) > 0:
		t, ok := pickToken(c.Tokens(), addr, c.cfg.NameService)
		if !ok {
			return nil, configErrorf("no %s among Config.Tokens", KindDelegationToken)
		}
		// User is the SIMPLE identity should AllowSimpleFallback let a
		// NameNode switch to it; TOKEN itself ignores it.
		auth = ipc.Auth{User: c.user, Token: &ipc.TokenAuth{
			NewClient: func(protocol, serverID string) (sasl.Client, error) {
				return sasl.NewDigestMD5(sasl.DigestConfig{
					Identifier: t.Identifier, Password: t.Password,
					Protocol: protocol, ServerID: serverID, Protection: prot,
				})
			},
		}}
	}
	auth.AllowSimpleFallback = c.cfg.AllowSimpleFallback
	return ipc.New(ipc.Config{
		Addr: addr, Protocol: clientProtocol, Auth: auth,
		Idempotent: idempotent, Identity: id, Dialer: c.dialer, Logger: c.log,
	})
}

// call invokes a ClientProtocol method on the active NameNode. A
// delegation token refused names the token presented (see
// refusedTokenError).
func (c *Client) call(ctx context.Context, method string, req, resp proto.Message) error {
	err := c.nn.call(ctx, method, req, resp)
	if err != nil && c.cfg.Kerberos == nil && len(c.cfg.Tokens) > 0 && errors.Is(err, ErrInvalidToken) {
		return c.refusedTokenError(err)
	}
	return err
}

// ErrNoActiveNameNode: none of a file system's NameNodes answered as the
// active one within Config.FailoverTimeout. The error names each NameNode
// with its last error, and also matches that of the last one tried.
var ErrNoActiveNameNode = errors.New("hdfs: no active NameNode")

// namenodes calls ClientProtocol on whichever of a file system's NameNodes
// is active: a failover.Set whose errors are this package's.
type namenodes struct {
	targets []string
	set     *failover.Set
	metrics *metrics
}

// namenodes makes the failover set of one file system's NameNodes.
func (c *Client) namenodes(addrs []string) *namenodes {
	var ts []failover.Target
	for _, a := range addrs {
		ts = append(ts, failover.Target{Addr: a})
	}
	set, err := failover.New(failover.Config{
		Service: "NameNode",
		Targets: ts,
		NewClient: func(t failover.Target, id *ipc.Identity) (*ipc.Client, error) {
			return c.newIPC(t.Addr, id)
		},
		Timeout:     c.cfg.FailoverTimeout,
		Logger:      c.log,
		Metrics:     failover.NewMetrics(c.cfg.Registerer, "hdfs_namenode", "NameNode"),
		ErrClosed:   ErrClosed,
		ErrNoActive: ErrNoActiveNameNode,
		ServerError: remoteError,
	})
	if err != nil {
		// Only for no NameNodes, which validate and DelegationTokens rule
		// out.
		panic("hdfs: " + err.Error())
	}
	return &namenodes{targets: addrs, set: set, metrics: c.metrics}
}

func (n *namenodes) String() string { return strings.Join(n.targets, ",") }

func (n *namenodes) call(ctx context.Context, method string, req, resp proto.Message) error {
	if n.metrics != nil {
		n.metrics.calls.WithLabelValues(method).Inc()
	}
	return n.set.Call(ctx, method, req, resp)
}

func (n *namenodes) close() error { return n.set.Close() }

// CurrentNameNode is the NameNode the client's calls go to now.
func (c *Client) CurrentNameNode() string { return c.nn.set.Current().String() }

// Failovers counts the client's switches from one NameNode of its file
// system to another (DelegationTokens' calls to other file systems
// included only in the failovers metric).
func (c *Client) Failovers() int64 { return c.nn.set.Failovers() }

// NameNodes are the RPC addresses of the file system's NameNodes.
func (c *Client) NameNodes() []string { return append([]string(nil), c.cfg.NameNodes...) }

// NameService is the HA nameservice, or "" without HA.
func (c *Client) NameService() string { return c.cfg.NameService }

// StagingRoot is the directory holding the staging directories.
func (c *Client) StagingRoot() string { return c.cfg.StagingRoot }

package hdfs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/user"
	"path"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// The NameNode's client protocol, as Hadoop IPC names it.
const clientProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// idempotent lists the ClientProtocol methods this package calls that may
// be repeated after a connection failure: Hadoop's @Idempotent ones, and
// its @AtMostOnce ones (delete, rename2), which the NameNode's retry cache
// recognizes by client id and call id and answers without running twice.
var idempotent = map[string]bool{
	"getFileInfo": true, "getListing": true, "mkdirs": true, "setPermission": true,
	"getServerDefaults": true, "getDelegationToken": true,
	"delete": true, "rename2": true,
}

// Client stages files in one HDFS file system and manages what it staged.
// Namespace operations (stat, list, mkdir, rename, delete, delegation
// tokens) go through Spindle's own Hadoop IPC client, so they take a
// context, report the NameNode's exceptions as *RemoteError, and work with
// delegation tokens alone; file data goes through colinmarc/hdfs.
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
}

// NewClient validates cfg and returns a Client. It does not connect: the
// first call does.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.NameNodes = append([]string(nil), cfg.NameNodes...)
	cfg.Tokens = append([]Token(nil), cfg.Tokens...)
	c := &Client{cfg: cfg, log: cfg.Logger, now: cfg.Now, dialer: cfg.Dialer, metrics: newMetrics(cfg.Registerer)}
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
	c.nn = newNamenodes(cfg.NameNodes, c.newIPC, c.log, c.metrics)
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

// newIPC makes the IPC client of one NameNode.
func (c *Client) newIPC(addr string) (*ipc.Client, error) {
	prot, err := sasl.ParseProtection(c.cfg.RPCProtection)
	if err != nil {
		return nil, err
	}
	auth := ipc.Auth{User: c.user}
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
		t, ok := pickToken(c.cfg.Tokens, addr, c.cfg.NameService)
		if !ok {
			return nil, configErrorf("no %s among Config.Tokens", KindDelegationToken)
		}
		auth = ipc.Auth{Token: &ipc.TokenAuth{
			NewClient: func(protocol, serverID string) (sasl.Client, error) {
				return sasl.NewDigestMD5(sasl.DigestConfig{
					Identifier: t.Identifier, Password: t.Password,
					Protocol: protocol, ServerID: serverID, Protection: prot,
				})
			},
		}}
	}
	return ipc.New(ipc.Config{
		Addr: addr, Protocol: clientProtocol, Auth: auth,
		Idempotent: idempotent, Dialer: c.dialer, Logger: c.log,
	})
}

// call invokes a ClientProtocol method on the active NameNode.
func (c *Client) call(ctx context.Context, method string, req, resp proto.Message) error {
	return c.nn.call(ctx, method, req, resp)
}

// namenodes calls ClientProtocol on whichever of a file system's NameNodes
// is active, failing over on standby replies and unreachable NameNodes.
type namenodes struct {
	targets   []string
	newClient func(addr string) (*ipc.Client, error)
	log       *slog.Logger
	metrics   *metrics

	mu      sync.Mutex
	clients []*ipc.Client
	current int
	closed  bool
}

func newNamenodes(targets []string, newClient func(string) (*ipc.Client, error), log *slog.Logger, m *metrics) *namenodes {
	return &namenodes{targets: targets, newClient: newClient, log: log, metrics: m, clients: make([]*ipc.Client, len(targets))}
}

func (n *namenodes) String() string { return strings.Join(n.targets, ",") }

func (n *namenodes) client(i int) (*ipc.Client, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if n.clients[i] == nil {
		c, err := n.newClient(n.targets[i])
		if err != nil {
			return nil, err
		}
		n.clients[i] = c
	}
	return n.clients[i], nil
}

func (n *namenodes) currentIndex() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.current
}

func (n *namenodes) advance(from int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.current == from && len(n.targets) > 1 {
		n.current = (from + 1) % len(n.targets)
		n.log.Info("hdfs: failing over", "from", n.targets[from], "to", n.targets[n.current])
	}
}

// failoverTimeout bounds how long a call keeps trying NameNodes that are
// standbys or unreachable.
const failoverTimeout = 60 * time.Second

func (n *namenodes) call(ctx context.Context, method string, req, resp proto.Message) error {
	if n.metrics != nil {
		n.metrics.calls.WithLabelValues(method).Inc()
	}
	deadline := time.Now().Add(failoverTimeout)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		i := n.currentIndex()
		c, err := n.client(i)
		if err == nil {
			err = c.Call(ctx, method, req, resp)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !ipc.IsFailover(err) || len(n.targets) == 1 && !errors.Is(err, ErrStandby) {
			return remoteError(err, n.targets[i])
		}
		n.advance(i)
		if (attempt+1)%len(n.targets) == 0 {
			if time.Now().Add(backoff).After(deadline) {
				return fmt.Errorf("hdfs: no active NameNode among %s: %w", n, remoteError(err, n.targets[i]))
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff = min(backoff*2, 2*time.Second)
		}
	}
}

func (n *namenodes) close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	var errs []error
	for i, c := range n.clients {
		if c != nil {
			errs = append(errs, c.Close())
			n.clients[i] = nil
		}
	}
	return errors.Join(errs...)
}

// NameNodes are the RPC addresses of the file system's NameNodes.
func (c *Client) NameNodes() []string { return append([]string(nil), c.cfg.NameNodes...) }

// NameService is the HA nameservice, or "" without HA.
func (c *Client) NameService() string { return c.cfg.NameService }

// StagingRoot is the directory holding the staging directories.
func (c *Client) StagingRoot() string { return c.cfg.StagingRoot }

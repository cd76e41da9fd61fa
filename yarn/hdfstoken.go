package yarn

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// The NameNode's client protocol, as Hadoop IPC names it.
const clientNamenodeProtocol = "org.apache.hadoop.hdfs.protocol.ClientProtocol"

// HDFSTokenConfig says where and as whom to obtain an HDFS delegation
// token.
type HDFSTokenConfig struct {
	// NameNode is the NameNode's RPC address, host:port (fs.defaultFS
	// without the scheme). Required.
	NameNode string
	// Kerberos authenticates the request; NameNodes issue delegation
	// tokens only to Kerberos-authenticated users. ServerPrincipal is
	// dfs.namenode.kerberos.principal. Required.
	Kerberos *KerberosConfig
	// Renewer is the short name of the user allowed to renew the token:
	// the ResourceManager's principal's (yarn.resourcemanager.principal
	// "rm/_HOST@REALM" gives "rm"), so that the RM keeps it alive for the
	// application. Required.
	Renewer string
	// Service is the token's service, how Hadoop clients find the token
	// for a NameNode: "ip:port" of the NameNode, or "ha-hdfs:<nameservice>".
	// Empty means NameNode's address resolved to ip:port.
	Service string
	// RPCProtection is hadoop.rpc.protection. Empty means "authentication".
	RPCProtection string
	// Dialer opens the connection; nil means a net.Dialer.
	Dialer Dialer
}

// HDFSDelegationToken obtains a delegation token from a NameNode over
// Hadoop RPC (ClientNamenodeProtocol.getDelegationToken). Put it in an
// application's credentials: NodeManagers localize the application's
// private resources with it, and containers reach HDFS with it, without a
// keytab.
func HDFSDelegationToken(ctx context.Context, cfg HDFSTokenConfig) (Token, error) {
	if cfg.NameNode == "" || cfg.Kerberos == nil || cfg.Kerberos.Client == nil || cfg.Renewer == "" {
		return Token{}, configErrorf("HDFSTokenConfig needs NameNode, Kerberos with a logged-in Client, and Renewer")
	}
	rc := Config{Kerberos: cfg.Kerberos, RPCProtection: cfg.RPCProtection}
	auth, err := rpcAuth(&rc)
	if err != nil {
		return Token{}, err
	}
	c, err := ipc.New(ipc.Config{Addr: cfg.NameNode, Protocol: clientNamenodeProtocol, Auth: auth, Dialer: cfg.Dialer})
	if err != nil {
		return Token{}, err
	}
	defer c.Close()
	req := &hadoopcommon.GetDelegationTokenRequestProto{Renewer: proto.String(cfg.Renewer)}
	resp := &hadoopcommon.GetDelegationTokenResponseProto{}
	if err := c.Call(ctx, "getDelegationToken", req, resp); err != nil {
		return Token{}, &OpError{Op: "HDFS delegation token", ID: cfg.NameNode, Err: remoteError(err, "NameNode "+cfg.NameNode)}
	}
	if resp.GetToken() == nil {
		return Token{}, &OpError{Op: "HDFS delegation token", ID: cfg.NameNode, Err: fmt.Errorf("the NameNode returned no token")}
	}
	t := tokenFromProto(resp.GetToken())
	t.Service = cfg.Service
	if t.Service == "" {
		if t.Service, err = tokenService(ctx, cfg.NameNode); err != nil {
			return Token{}, err
		}
	}
	return t, nil
}

// tokenService is Hadoop's default token service for an address: the
// resolved IP and the port.
func tokenService(ctx context.Context, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("yarn: resolving %s for the token service: %v", host, err)
	}
	ip := ips[0].IP
	for _, a := range ips {
		if a.IP.To4() != nil {
			ip = a.IP
			break
		}
	}
	return net.JoinHostPort(ip.String(), port), nil
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

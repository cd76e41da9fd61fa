package yarn

import (
	"context"

	"github.com/spindle-yarn/spindle/hdfs"
)

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
// keytab. It is hdfs.Client.DelegationTokens for one NameNode; use that
// for HA nameservices and several file systems.
func HDFSDelegationToken(ctx context.Context, cfg HDFSTokenConfig) (Token, error) {
	if cfg.NameNode == "" || cfg.Kerberos == nil || cfg.Kerberos.Client == nil || cfg.Renewer == "" {
		return Token{}, configErrorf("HDFSTokenConfig needs NameNode, Kerberos with a logged-in Client, and Renewer")
	}
	c, err := hdfs.NewClient(hdfs.Config{
		NameNodes:     []string{cfg.NameNode},
		Kerberos:      &hdfs.KerberosConfig{Client: cfg.Kerberos.Client, ServerPrincipal: cfg.Kerberos.ServerPrincipal},
		RPCProtection: cfg.RPCProtection,
		TokenRenewer:  cfg.Renewer,
		Dialer:        cfg.Dialer,
	})
	if err != nil {
		return Token{}, err
	}
	defer c.Close()
	toks, err := c.DelegationTokens(ctx)
	if err != nil {
		return Token{}, &OpError{Op: "HDFS delegation token", ID: cfg.NameNode, Err: err}
	}
	t := Token(toks[0])
	if cfg.Service != "" {
		t.Service = cfg.Service
	}
	return t, nil
}

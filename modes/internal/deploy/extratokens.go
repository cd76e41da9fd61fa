package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// extraTokens adds what req asks beyond the default file system's tokens:
// a ResourceManager delegation token, whose renewer is the RM (so YARN
// renews it while the application runs), and the delegation tokens of the
// other file systems of req.AccessFS, obtained as the deploying user with
// the RM as renewer, as the default file system's are.
func (d *Deployment) extraTokens(ctx context.Context, req *Request, ycfg yarn.Config, creds *yarn.Credentials) error {
	if req.RMToken {
		renewer := hdfs.ShortName(ycfg.Kerberos.ServerPrincipal)
		tok, err := d.RM.DelegationToken(ctx, renewer)
		if err != nil {
			return fmt.Errorf("a ResourceManager delegation token (-rm-token): %w", err)
		}
		// The RM leaves the service empty; it must name the
		// ResourceManagers (resolved ip:port, comma-joined under HA), as
		// Hadoop's ClientRMProxy.getRMDelegationTokenService sets it, or
		// the RM cannot renew it and refuses the application.
		if tok.Service == "" {
			if tok.Service, err = rmTokenService(ctx, ycfg); err != nil {
				return fmt.Errorf("a ResourceManager delegation token (-rm-token): %w", err)
			}
		}
		creds.AddToken(tok.Service, tok)
		d.log.Info("added a ResourceManager delegation token", "service", tok.Service)
	}
	if len(req.AccessFS) == 0 {
		return nil
	}
	_, base, err := configs(req)
	if err != nil {
		return err
	}
	for _, uri := range req.AccessFS {
		cfg, err := fileSystemConfig(base, uri)
		if err != nil {
			return err
		}
		c, err := hdfs.NewClient(cfg)
		if err != nil {
			return fmt.Errorf("-access-fs %s: %w", uri, err)
		}
		toks, err := c.DelegationTokens(ctx)
		c.Close()
		if err != nil {
			return fmt.Errorf("-access-fs %s: its delegation tokens: %w", uri, err)
		}
		for _, tok := range toks {
			creds.AddToken(tok.Service, tok)
			d.log.Info("added a delegation token of another file system", "fs", uri, "service", tok.Service)
		}
	}
	return nil
}

// accessNameServices are the NameNodes, from base's site files, of the
// file systems of uris named by nameservice (hdfs://NAMESERVICE), for the
// JobManager to obtain their tokens; nil when none is.
func accessNameServices(base hdfs.Config, uris []string) map[string][]string {
	var out map[string][]string
	for _, uri := range uris {
		auth, _ := strings.CutPrefix(uri, "hdfs://")
		nns, ok := base.NameServices[auth]
		if !ok && auth != "" && auth == base.NameService {
			nns, ok = base.NameNodes, true
		}
		if ok {
			if out == nil {
				out = map[string][]string{}
			}
			out[auth] = nns
		}
	}
	return out
}

// fileSystemConfig is base pointed at the file system uri:
// hdfs://NAMESERVICE of base's configuration, or hdfs://host:port.
func fileSystemConfig(base hdfs.Config, uri string) (hdfs.Config, error) {
	auth, ok := strings.CutPrefix(uri, "hdfs://")
	if !ok || auth == "" || strings.Contains(auth, "/") {
		return base, fmt.Errorf("-access-fs %q: write hdfs://host:port or hdfs://NAMESERVICE", uri)
	}
	cfg := base
	if nns, ok := base.NameServices[auth]; ok {
		cfg.NameNodes, cfg.NameService = nns, auth
		return cfg, nil
	}
	if auth == base.NameService {
		return cfg, nil
	}
	if !strings.Contains(auth, ":") {
		return base, fmt.Errorf("-access-fs %s: %q is neither a nameservice of the configuration (dfs.nameservices) nor host:port", uri, auth)
	}
	cfg.NameNodes, cfg.NameService = []string{auth}, ""
	return cfg, nil
}

// rmTokenService is the service of an RM delegation token: every
// ResourceManager's client address as resolved ip:port, comma-joined.
func rmTokenService(ctx context.Context, ycfg yarn.Config) (string, error) {
	var out []string
	for _, rm := range ycfg.ResourceManagers {
		host, port, err := net.SplitHostPort(rm.RPC)
		if err != nil {
			return "", fmt.Errorf("ResourceManager address %q: %w", rm.RPC, err)
		}
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(ips) == 0 {
			return "", fmt.Errorf("resolving the ResourceManager %s: %v", host, err)
		}
		ip := ips[0].IP
		for _, a := range ips {
			if a.IP.To4() != nil {
				ip = a.IP
				break
			}
		}
		out = append(out, net.JoinHostPort(ip.String(), port))
	}
	if len(out) == 0 {
		return "", errors.New("the configuration names no ResourceManager")
	}
	return strings.Join(out, ","), nil
}

package hdfs

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/token"
)

// KindDelegationToken is the kind of a NameNode delegation token.
const KindDelegationToken = token.KindHDFSDelegationToken

// Token is a Hadoop security token: an identifier the NameNode can check,
// the password derived from it (the secret), the kind and the service
// ("ip:port" or "ha-hdfs:<nameservice>") that tells clients which file
// system it is for. It is the same type as yarn.Token.
//
// String, GoString, Format, LogValue and MarshalJSON never show the
// password, only its length; a delegation token's identifier shows as its
// owner, renewer and dates.
type Token = token.Token

// DelegationTokens obtains a delegation token for this client's file
// system and one for each of extraFileSystems ("hdfs://host:port", or
// "hdfs://<nameservice>" for a nameservice in Config.NameServices), with
// Config.TokenRenewer as renewer. Each token's service is what Hadoop
// clients look tokens up by: "ha-hdfs:<nameservice>" for an HA
// nameservice, else the NameNode's resolved ip:port.
//
// Put them in an application's credentials: NodeManagers localize its
// PRIVATE and APPLICATION resources with them, and its containers reach
// HDFS with them (a Client with Config.Tokens), without a keytab.
// NameNodes issue delegation tokens only to Kerberos-authenticated users.
func (c *Client) DelegationTokens(ctx context.Context, extraFileSystems ...string) ([]Token, error) {
	if c.cfg.Kerberos == nil {
		return nil, &PathError{Op: "delegation token", Path: c.authority, Err: fmt.Errorf("%w: NameNodes issue delegation tokens only over Kerberos", ErrUnauthorized)}
	}
	if c.cfg.TokenRenewer == "" {
		return nil, configErrorf("Config.TokenRenewer is empty; set it to the ResourceManager principal's short name")
	}
	tok, err := c.delegationToken(ctx, c.nn, c.cfg.NameService)
	if err != nil {
		return nil, err
	}
	out := []Token{tok}
	for _, fsURI := range extraFileSystems {
		u, err := url.Parse(fsURI)
		if err != nil || u.Scheme != "hdfs" || u.Host == "" {
			return nil, configErrorf("extra file system %q is not an hdfs://host[:port] URI", fsURI)
		}
		addrs, ns := c.cfg.NameServices[u.Host], u.Host
		if len(addrs) == 0 {
			addrs, ns = []string{withDefaultPort(u.Host)}, ""
		}
		other := c.namenodes(addrs)
		tok, err := c.delegationToken(ctx, other, ns)
		other.close()
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, nil
}

// delegationToken asks one file system's NameNodes for a token.
func (c *Client) delegationToken(ctx context.Context, nn *namenodes, nameservice string) (Token, error) {
	req := &hadoopcommon.GetDelegationTokenRequestProto{Renewer: proto.String(c.cfg.TokenRenewer)}
	resp := &hadoopcommon.GetDelegationTokenResponseProto{}
	if err := nn.call(ctx, "getDelegationToken", req, resp); err != nil {
		return Token{}, &PathError{Op: "delegation token", Path: nn.String(), Err: err}
	}
	p := resp.GetToken()
	if p == nil {
		return Token{}, &PathError{Op: "delegation token", Path: nn.String(), Err: fmt.Errorf("the NameNode returned no token")}
	}
	t := Token{
		Identifier: append([]byte(nil), p.GetIdentifier()...),
		Password:   append([]byte(nil), p.GetPassword()...),
		Kind:       p.GetKind(),
	}
	if nameservice != "" {
		t.Service = "ha-hdfs:" + nameservice
		return t, nil
	}
	svc, err := tokenService(ctx, nn.targets[0])
	if err != nil {
		return Token{}, &PathError{Op: "delegation token", Path: nn.targets[0], Err: err}
	}
	t.Service = svc
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
		return "", fmt.Errorf("resolving %s for the token service: %v", host, err)
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

// pickToken chooses among tokens the one for the NameNode at addr: by
// service ("ha-hdfs:<nameservice>", the address itself or its resolved
// ip:port), else the first HDFS delegation token.
func pickToken(tokens []Token, addr, nameservice string) (Token, bool) {
	want := map[string]bool{addr: true}
	if nameservice != "" {
		want["ha-hdfs:"+nameservice] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if svc, err := tokenService(ctx, addr); err == nil {
		want[svc] = true
	}
	var first *Token
	for i, t := range tokens {
		if t.Kind != KindDelegationToken {
			continue
		}
		if want[t.Service] {
			return t, true
		}
		if first == nil {
			first = &tokens[i]
		}
	}
	if first != nil {
		return *first, true
	}
	return Token{}, false
}

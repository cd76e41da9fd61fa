package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spindle-yarn/spindle/internal/sasl"
)

// Auth is the identity a Client's connections present. At least one of
// User, Kerberos and Token must be set.
//
// A client with Kerberos or Token credentials negotiates SASL and uses the
// first method in the server's list it has credentials for (servers list
// TOKEN first); a client with only a User connects with SIMPLE
// authentication and no SASL exchange.
type Auth struct {
	// User is the user name for SIMPLE authentication. It is also the user
	// sent if a SASL server tells the client to use SIMPLE (see
	// AllowSimpleFallback); empty then means Kerberos.Principal.
	User string

	// ProxyUser, when set, is the user the calls act for. The authenticated
	// identity (User under SIMPLE, the Kerberos principal under KERBEROS)
	// is then the real user, which the server must allow to impersonate
	// (hadoop.proxyuser.*). It is ignored with TOKEN, whose token names
	// its own user.
	ProxyUser string

	// Kerberos enables KERBEROS (SASL GSSAPI) authentication.
	Kerberos *KerberosAuth

	// Token enables TOKEN (SASL DIGEST-MD5) authentication.
	Token *TokenAuth

	// AllowSimpleFallback lets a client holding Kerberos or Token
	// credentials accept a server that answers SASL negotiation with "use
	// SIMPLE" (a SUCCESS to NEGOTIATE, or SIMPLE chosen from its offer). It
	// is false by default, as Hadoop's
	// ipc.client.fallback-to-simple-auth-allowed: under SIMPLE the calls
	// travel unauthenticated and unprotected whatever protection was
	// configured, so a server that will not authenticate is not trusted
	// with a client's calls (an NM's StartContainers carries container
	// tokens). Refusal is a *SimpleFallbackError. A client with only a User
	// never negotiates and is unaffected.
	AllowSimpleFallback bool
}

// SimpleFallbackError reports that a server asked a client holding SASL
// credentials to fall back to SIMPLE authentication, and the client
// refused because Auth.AllowSimpleFallback is false. It matches
// ErrUnauthorized. The client sent nothing after its SASL NEGOTIATE.
type SimpleFallbackError struct {
	Addr string // the server
	// Credentials names what the client holds: "Kerberos", "token" or
	// "Kerberos and token".
	Credentials string
}

func (e *SimpleFallbackError) Error() string {
	return fmt.Sprintf("server %s asks to fall back to SIMPLE authentication, which would send calls unauthenticated; "+
		"this client holds %s credentials and does not allow the fallback "+
		"(set ipc.client.fallback-to-simple-auth-allowed=true only for a cluster that really runs without security)",
		e.Addr, e.Credentials)
}

// Is matches ErrUnauthorized.
func (e *SimpleFallbackError) Is(target error) bool { return target == ErrUnauthorized }

// credentialNames says which SASL credentials a holds, for errors.
func (a *Auth) credentialNames() string {
	switch {
	case a.Kerberos != nil && a.Token != nil:
		return "Kerberos and token"
	case a.Kerberos != nil:
		return "Kerberos"
	default:
		return "token"
	}
}

// errNoServerPrincipal is why a Kerberos Auth without a ServerPrincipal is
// refused: with no expected principal, any service the KDC has a key for
// (a host a DNS or routing attacker points the client at) would pass.
var errNoServerPrincipal = errors.New("auth: Kerberos.ServerPrincipal is empty; set it to the principal the server must have, " +
	"as the cluster configures it (yarn.resourcemanager.principal, dfs.namenode.kerberos.principal), e.g. \"rm/_HOST@EXAMPLE.COM\"")

// KerberosAuth holds what KERBEROS authentication needs.
type KerberosAuth struct {
	// Principal is the client's principal, user@REALM. It is sent as the
	// effective user of the connection.
	Principal string

	// ServerPrincipal is the principal the server must have, as Hadoop's
	// configuration writes it (yarn.resourcemanager.principal,
	// dfs.namenode.kerberos.principal): "rm/_HOST@REALM", where _HOST
	// stands for the lower-cased host name the client dials (an IP address
	// is looked up first). The realm is not compared. The server
	// advertises its principal as protocol/serverId in the SASL
	// negotiation; a mismatch fails the connection with ErrUnauthorized.
	// Required: empty is refused by New, rather than trusting whatever
	// principal a server advertises.
	ServerPrincipal string

	// NewClient starts a GSSAPI exchange with the service principal
	// "service/host" (no realm) that the server advertised and
	// ServerPrincipal approved. It is called once per connection.
	NewClient func(servicePrincipal string) (sasl.Client, error)
}

// TokenAuth holds what TOKEN authentication needs.
type TokenAuth struct {
	// NewClient starts a DIGEST-MD5 exchange with the token for this
	// server. protocol and serverID are what the server advertised
	// (Hadoop's token servers send "" and "default": the digest-uri is
	// protocol + "/" + serverID). It is called for every new connection,
	// so a caller whose token is replaced (an AMRMToken rolled by the RM)
	// can hand out the newest one; the open connection stays
	// authenticated with the token it started with.
	NewClient func(protocol, serverID string) (sasl.Client, error)
}

func (a *Auth) validate() error {
	if a.User == "" && a.Kerberos == nil && a.Token == nil {
		return errors.New("auth: no User, Kerberos or Token")
	}
	if k := a.Kerberos; k != nil {
		if k.Principal == "" {
			return errors.New("auth: Kerberos.Principal is empty")
		}
		if strings.TrimSpace(k.ServerPrincipal) == "" {
			return errNoServerPrincipal
		}
		if k.NewClient == nil {
			return errors.New("auth: Kerberos.NewClient is nil")
		}
	}
	if t := a.Token; t != nil && t.NewClient == nil {
		return errors.New("auth: Token.NewClient is nil")
	}
	return nil
}

// useSASL reports whether connections start a SASL exchange. As in Java's
// client, only credentials beyond a user name need one.
func (a *Auth) useSASL() bool { return a.Kerberos != nil || a.Token != nil }

// simpleUser is the user a SIMPLE connection claims to be.
func (a *Auth) simpleUser() string {
	if a.User != "" {
		return a.User
	}
	if a.Kerberos != nil {
		return a.Kerberos.Principal
	}
	return ""
}

// Authentication methods as Hadoop's SaslRpcServer.AuthMethod names them.
const (
	methodSimple   = "SIMPLE"
	methodKerberos = "KERBEROS"
	methodToken    = "TOKEN"
)

// mechanisms pairs each method with the SASL mechanism it must advertise.
var mechanisms = map[string]string{
	methodSimple:   "",
	methodKerberos: "GSSAPI",
	methodToken:    "DIGEST-MD5",
}

// checkServerPrincipal compares the principal the server advertised with
// the expected one, host being the dialed host.
func checkServerPrincipal(ctx context.Context, expected, advertised, host string) error {
	if strings.TrimSpace(expected) == "" {
		// New refuses this; fail closed should a Client be built otherwise.
		return fmt.Errorf("%w: %w", ErrUnauthorized, errNoServerPrincipal)
	}
	want, _, _ := strings.Cut(expected, "@")
	if strings.Contains(want, "_HOST") {
		want = strings.ReplaceAll(want, "_HOST", canonicalHost(ctx, host))
	}
	svc, h, ok := strings.Cut(want, "/")
	asvc, ah, aok := strings.Cut(advertised, "/")
	if !ok || !aok || svc != asvc || !strings.EqualFold(h, ah) {
		return fmt.Errorf("%w: server has Kerberos principal %q, expected %q: make the client's configuration name the server's principal (yarn.resourcemanager.principal, dfs.namenode.kerberos.principal), or check that the address reaches the intended server", ErrUnauthorized, advertised, want)
	}
	return nil
}

// canonicalHost is the host name _HOST stands for: the dialed name in
// lower case, or for an IP address its first reverse-lookup name.
func canonicalHost(ctx context.Context, host string) string {
	if net.ParseIP(host) != nil {
		if names, err := net.DefaultResolver.LookupAddr(ctx, host); err == nil && len(names) > 0 {
			return strings.ToLower(strings.TrimSuffix(names[0], "."))
		}
	}
	return strings.ToLower(host)
}

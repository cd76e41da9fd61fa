package yarn

import (
	"context"

	krbclient "github.com/jcmturner/gokrb5/v8/client"

	"github.com/spindle-yarn/spindle/internal/identity"
)

// Identity is a Kerberos login and the user calls are made for: a keytab
// login (LoginKeytab), the user's ticket cache (LoginTicketCache), or a
// gokrb5 client the caller logged in (IdentityFromClient), with an
// optional proxy user (WithProxyUser). It is the same type as
// hdfs.Identity, so one login serves the ResourceManager and HDFS clients
// of a deployment, and a process can hold one per user it deploys for.
// Config.WithIdentity puts it into a Config.
//
// Close destroys a login LoginKeytab or LoginTicketCache made (clients
// using it then fail), and leaves a caller's gokrb5 client alone.
type Identity = identity.Identity

// LoginError is a failed Kerberos login; its message says what to do. It
// matches ErrLogin and one of the sentinels below.
type LoginError = identity.LoginError

// Errors of a Kerberos login, matched with errors.Is. They are the same
// values as hdfs's.
var (
	ErrLogin            = identity.ErrLogin            // every login failure
	ErrNoTicketCache    = identity.ErrNoTicketCache    // no ticket cache, or no TGT in it: kinit
	ErrTicketExpired    = identity.ErrTicketExpired    // the cache's TGT expired: kinit again
	ErrKeytabPrincipal  = identity.ErrKeytabPrincipal  // the keytab holds no key for the principal
	ErrKeytabRejected   = identity.ErrKeytabRejected   // the KDC refused the keytab's key: a stale keytab
	ErrClockSkew        = identity.ErrClockSkew        // clocks differ more than clockskew: sync the clock
	ErrUnknownPrincipal = identity.ErrUnknownPrincipal // the KDC does not know the principal (or realm)
	ErrKDCUnreachable   = identity.ErrKDCUnreachable   // no KDC answered, or krb5.conf names none
	ErrKrb5Conf         = identity.ErrKrb5Conf         // krb5.conf unreadable or lacking a default realm
)

// LoginKeytab logs principal ("alice@REALM", "svc/host@REALM", or without
// "@REALM" for krb5.conf's default realm) in with its key from the keytab
// at keytabPath. krb5Conf is the krb5.conf path; "" means $KRB5_CONFIG,
// else /etc/krb5.conf. The TGT is renewed in the background until Close.
func LoginKeytab(ctx context.Context, principal, keytabPath, krb5Conf string) (*Identity, error) {
	return identity.LoginKeytab(ctx, principal, keytabPath, krb5Conf)
}

// LoginTicketCache logs in from the ticket cache kinit left: path, else
// $KRB5CCNAME, else /tmp/krb5cc_<uid>. krb5Conf as for LoginKeytab. It
// contacts no KDC; the cache's TGT must be valid and is not renewed, so
// run kinit again before it expires and log in anew.
func LoginTicketCache(path, krb5Conf string) (*Identity, error) {
	return identity.LoginTicketCache(path, krb5Conf)
}

// IdentityFromClient wraps a logged-in gokrb5 client; the caller keeps
// owning it.
func IdentityFromClient(kc *krbclient.Client) (*Identity, error) {
	return identity.FromClient(kc)
}

// WithIdentity returns a copy of c that authenticates as id: Kerberos with
// id's client, keeping c.Kerberos's principals (which ConfigFromHadoopConf
// sets; with a nil c.Kerberos, set ServerPrincipal before use), User as
// id's short name and ProxyUser as id's proxy user. c is not modified.
func (c Config) WithIdentity(id *Identity) Config {
	k := KerberosConfig{}
	if c.Kerberos != nil {
		k = *c.Kerberos
	}
	k.Client = id.Client()
	c.Kerberos = &k
	c.User = id.ShortName()
	c.ProxyUser = id.ProxyUser()
	return c
}

// Package identity is the Kerberos identity every Spindle client and
// deployment authenticates with: a login from a keytab, from the user's
// ticket cache, or a gokrb5 client the caller logged in, with an optional
// proxy user the calls are made for. Packages yarn and hdfs expose it as
// yarn.Identity and hdfs.Identity (one type), so one login serves both.
//
// Lifecycle: a login made here (LoginKeytab, LoginTicketCache) is owned by
// the Identity, and Close destroys it, stopping gokrb5's TGT renewal; an
// Identity from FromClient leaves the caller's client alone. An Identity
// is safe for concurrent use and never changes after it is made;
// WithProxyUser returns a new one sharing the login.
//
// Errors: every login failure is a *LoginError that says what to do and
// matches one of the sentinels (ErrNoTicketCache, ErrTicketExpired,
// ErrKeytabPrincipal, ErrKeytabRejected, ErrClockSkew, ErrKDCUnreachable,
// ErrUnknownPrincipal, ErrKrb5Conf) with errors.Is. No key, password or
// ticket ever appears in one.
package identity

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Identity is a Kerberos login and the user calls are made for.
type Identity struct {
	login     *login
	proxyUser string
}

// login is the gokrb5 client shared by an Identity and those
// WithProxyUser derives from it.
type login struct {
	client    *krbclient.Client
	principal string // name@REALM
	owned     bool
	closeOnce sync.Once
}

// DefaultKrb5Conf is the krb5.conf path used when none is given and
// KRB5_CONFIG is unset.
const DefaultKrb5Conf = "/etc/krb5.conf"

// Krb5ConfPath is the krb5.conf a login reads: path, else $KRB5_CONFIG,
// else DefaultKrb5Conf.
func Krb5ConfPath(path string) string {
	if path != "" {
		return path
	}
	if p := os.Getenv("KRB5_CONFIG"); p != "" {
		// KRB5_CONFIG may list several files; gokrb5 reads one, the first.
		p, _, _ = strings.Cut(p, ":")
		return p
	}
	return DefaultKrb5Conf
}

// TicketCachePath is the ticket cache a login reads: path, else
// $KRB5CCNAME, else /tmp/krb5cc_<uid> as MIT Kerberos does. A "FILE:"
// prefix is dropped; other cache types (DIR:, KEYRING:, KCM:, API:) are
// reported as an error matching ErrNoTicketCache, since only files can be
// read.
func TicketCachePath(path string) (string, error) {
	if path == "" {
		path = os.Getenv("KRB5CCNAME")
	}
	if path == "" {
		return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), nil
	}
	if typ, rest, ok := strings.Cut(path, ":"); ok && !strings.Contains(typ, "/") {
		if strings.EqualFold(typ, "FILE") {
			return rest, nil
		}
		return "", &LoginError{Op: "ticket cache login", Kind: ErrNoTicketCache,
			Msg: fmt.Sprintf("ticket cache %q is of type %s, and only FILE caches can be read: run `KRB5CCNAME=FILE:/tmp/krb5cc_$(id -u) kinit` and use that cache, or give a keytab", path, typ)}
	}
	return path, nil
}

func loadKrb5Conf(op, path string) (*krbconfig.Config, string, error) {
	path = Krb5ConfPath(path)
	conf, err := krbconfig.Load(path)
	if err != nil {
		return nil, path, &LoginError{Op: op, Kind: ErrKrb5Conf, Err: err,
			Msg: fmt.Sprintf("cannot read Kerberos configuration %s: point KRB5_CONFIG at the cluster's krb5.conf", path)}
	}
	return conf, path, nil
}

// settings are the gokrb5 client settings every login uses: no FAST
// armour, which Hadoop's KDCs (MIT, Active Directory, Kerby) do not need
// and gokrb5 cannot do without an armour ticket.
var settings = []func(*krbclient.Settings){krbclient.DisablePAFXFAST(true)}

// LoginKeytab logs principal in with a key from the keytab file at
// keytabPath, asking the KDC for a TGT. principal is "name@REALM" or
// "service/host@REALM"; without "@REALM" the krb5.conf default_realm is
// used. krb5Conf is the krb5.conf path ("" means $KRB5_CONFIG, else
// /etc/krb5.conf). gokrb5 renews the TGT in the background until Close.
//
// If ctx ends first the call returns ctx's error; the KDC exchange,
// which gokrb5 does not let be cancelled, finishes in the background and
// its login is destroyed.
func LoginKeytab(ctx context.Context, principal, keytabPath, krb5Conf string) (*Identity, error) {
	const op = "keytab login"
	conf, confPath, err := loadKrb5Conf(op, krb5Conf)
	if err != nil {
		return nil, err
	}
	name, realm, _ := strings.Cut(principal, "@")
	if realm == "" {
		realm = conf.LibDefaults.DefaultRealm
	}
	full := name + "@" + realm
	if name == "" || realm == "" {
		return nil, &LoginError{Op: op, Principal: principal, Kind: ErrKrb5Conf,
			Msg: fmt.Sprintf("principal %q has no realm and %s sets no default_realm: give the principal as name@REALM", principal, confPath)}
	}
	kt, err := keytab.Load(keytabPath)
	if err != nil {
		return nil, &LoginError{Op: op, Principal: full, Kind: ErrKeytabPrincipal, Err: err,
			Msg: fmt.Sprintf("cannot read keytab %s: check the path and that this user may read it", keytabPath)}
	}
	if !keytabHolds(kt, name, realm) {
		return nil, &LoginError{Op: op, Principal: full, Kind: ErrKeytabPrincipal,
			Msg: fmt.Sprintf("keytab %s has no key for %s; it holds %s: give one of those as the principal, or the keytab of %s", keytabPath, full, listPrincipals(kt), full)}
	}
	kc := krbclient.NewWithKeytab(name, realm, kt, conf, settings...)
	done := make(chan error, 1)
	go func() { done <- kc.Login() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		go func() { <-done; kc.Destroy() }()
		return nil, fmt.Errorf("kerberos: %s of %s: %w", op, full, ctx.Err())
	}
	if err != nil {
		kc.Destroy()
		return nil, classify(op, full, confPath, conf, realm, err)
	}
	return &Identity{login: &login{client: kc, principal: full, owned: true}}, nil
}

// LoginTicketCache logs in from the ticket cache a kinit left: the file at
// path, else $KRB5CCNAME, else /tmp/krb5cc_<uid>. It talks to no KDC; the
// cache's TGT must still be valid, and service tickets are then obtained
// with it. gokrb5 cannot renew a TGT read from a cache: when it expires,
// run kinit again and log in anew.
func LoginTicketCache(path, krb5Conf string) (*Identity, error) {
	const op = "ticket cache login"
	cc, err := TicketCachePath(path)
	if err != nil {
		return nil, err
	}
	conf, _, err := loadKrb5Conf(op, krb5Conf)
	if err != nil {
		return nil, err
	}
	ccache, err := credentials.LoadCCache(cc)
	if err != nil {
		msg := fmt.Sprintf("cannot read ticket cache %s: run `kinit <principal>` first, or give a keytab and principal", cc)
		if os.IsNotExist(err) {
			msg = fmt.Sprintf("no ticket cache at %s: run `kinit <principal>` first (or set KRB5CCNAME to the cache kinit wrote), or give a keytab and principal", cc)
		}
		return nil, &LoginError{Op: op, Kind: ErrNoTicketCache, Err: err, Msg: msg}
	}
	full := ccache.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + ccache.DefaultPrincipal.Realm
	tgt, ok := ccache.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", ccache.DefaultPrincipal.Realm}})
	if !ok {
		return nil, &LoginError{Op: op, Principal: full, Kind: ErrNoTicketCache,
			Msg: fmt.Sprintf("ticket cache %s holds no ticket-granting ticket for %s: run `kinit %s` again", cc, full, full)}
	}
	if now := time.Now(); !tgt.EndTime.After(now) {
		msg := fmt.Sprintf("the ticket of %s in %s expired at %s: run `kinit %s` again", full, cc, tgt.EndTime.UTC().Format(time.RFC3339), full)
		if tgt.RenewTill.After(now) {
			msg += fmt.Sprintf(" (or `kinit -R`, renewable until %s)", tgt.RenewTill.UTC().Format(time.RFC3339))
		}
		return nil, &LoginError{Op: op, Principal: full, Kind: ErrTicketExpired, Msg: msg}
	}
	kc, err := krbclient.NewFromCCache(ccache, conf, settings...)
	if err != nil {
		return nil, &LoginError{Op: op, Principal: full, Kind: ErrNoTicketCache, Err: err,
			Msg: fmt.Sprintf("ticket cache %s cannot be used: run `kinit %s` again", cc, full)}
	}
	return &Identity{login: &login{client: kc, principal: full, owned: true}}, nil
}

// FromClient wraps a gokrb5 client the caller logged in and keeps owning:
// Close leaves it alone.
func FromClient(kc *krbclient.Client) (*Identity, error) {
	if kc == nil || kc.Credentials == nil || kc.Credentials.UserName() == "" {
		return nil, &LoginError{Op: "login", Kind: ErrKrb5Conf,
			Msg: "the gokrb5 client is nil or has no principal: log it in first (client.NewWithKeytab(...).Login())"}
	}
	full := kc.Credentials.UserName() + "@" + kc.Credentials.Realm()
	return &Identity{login: &login{client: kc, principal: full}}, nil
}

// WithProxyUser returns an Identity sharing id's login whose calls are
// made for user: the principal authenticates and the cluster must let it
// impersonate user (hadoop.proxyuser.<short name>.hosts and .groups or
// .users). Empty user means the principal itself.
func (id *Identity) WithProxyUser(user string) *Identity {
	return &Identity{login: id.login, proxyUser: user}
}

// Client is the logged-in gokrb5 client, for Config.Kerberos.Client.
func (id *Identity) Client() *krbclient.Client { return id.login.client }

// Principal is the authenticated principal, "name@REALM".
func (id *Identity) Principal() string { return id.login.principal }

// ShortName is the principal's first component ("alice@R" and
// "alice/host@R" give "alice"), the user Hadoop's default auth_to_local
// rules map it to.
func (id *Identity) ShortName() string {
	p := id.login.principal
	if i := strings.IndexAny(p, "/@"); i >= 0 {
		p = p[:i]
	}
	return p
}

// ProxyUser is the user calls are made for, or "" for the principal itself.
func (id *Identity) ProxyUser() string { return id.proxyUser }

// User is whom calls act for: the proxy user when set, else ShortName.
// Applications, staging directories and tokens belong to this user.
func (id *Identity) User() string {
	if id.proxyUser != "" {
		return id.proxyUser
	}
	return id.ShortName()
}

// Close destroys a login LoginKeytab or LoginTicketCache made, stopping
// its TGT renewal, for id and every Identity sharing it; clients using it
// then fail. It leaves a FromClient login alone. Close is idempotent.
func (id *Identity) Close() error {
	l := id.login
	if l.owned {
		l.closeOnce.Do(l.client.Destroy)
	}
	return nil
}

// String names the principal and proxy user; it holds no secret.
func (id *Identity) String() string {
	if id.proxyUser != "" {
		return id.login.principal + " as " + id.proxyUser
	}
	return id.login.principal
}

func keytabHolds(kt *keytab.Keytab, name, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && strings.Join(e.Principal.Components, "/") == name {
			return true
		}
	}
	return false
}

func listPrincipals(kt *keytab.Keytab) string {
	var out []string
	seen := map[string]bool{}
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return "no principals"
	}
	return strings.Join(out, ", ")
}

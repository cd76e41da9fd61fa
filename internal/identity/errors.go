package identity

import (
	"errors"
	"fmt"
	"strings"

	krbconfig "github.com/jcmturner/gokrb5/v8/config"
)

// Sentinels a *LoginError matches with errors.Is. Every LoginError also
// matches ErrLogin.
var (
	// ErrLogin is matched by every login failure.
	ErrLogin = errors.New("kerberos login failed")
	// ErrNoTicketCache: there is no readable ticket cache, or it holds no
	// TGT. Run kinit, or log in with a keytab.
	ErrNoTicketCache = errors.New("kerberos: no ticket cache")
	// ErrTicketExpired: the ticket cache's TGT has expired. Run kinit again.
	ErrTicketExpired = errors.New("kerberos: ticket expired")
	// ErrKeytabPrincipal: the keytab cannot be read or holds no key for the
	// principal; the message lists the principals it holds.
	ErrKeytabPrincipal = errors.New("kerberos: keytab has no key for the principal")
	// ErrKeytabRejected: the KDC refused the keytab's key (a stale keytab
	// after the principal's key changed).
	ErrKeytabRejected = errors.New("kerberos: KDC rejected the keytab's key")
	// ErrClockSkew: this machine's clock and the KDC's differ by more than
	// krb5.conf's clockskew (KRB_AP_ERR_SKEW). Synchronise the clock.
	ErrClockSkew = errors.New("kerberos: clock skew too great")
	// ErrUnknownPrincipal: the KDC does not know the principal
	// (KDC_ERR_C_PRINCIPAL_UNKNOWN, or a wrong realm).
	ErrUnknownPrincipal = errors.New("kerberos: principal unknown to the KDC")
	// ErrKDCUnreachable: no KDC of the realm answered, or krb5.conf names
	// none for it.
	ErrKDCUnreachable = errors.New("kerberos: KDC unreachable")
	// ErrKrb5Conf: the krb5.conf cannot be read or lacks what the login
	// needs (a default realm), or the given client is not logged in.
	ErrKrb5Conf = errors.New("kerberos: configuration")
)

// LoginError is a failed Kerberos login. Msg says what went wrong and
// what to do; Kind is the sentinel it matches; Err is gokrb5's error,
// when there is one.
type LoginError struct {
	Op        string // "keytab login", "ticket cache login"
	Principal string // "name@REALM", when known
	Kind      error
	Msg       string
	Err       error
}

func (e *LoginError) Error() string {
	s := "kerberos: " + e.Op
	if e.Principal != "" {
		s += " of " + e.Principal
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Is matches ErrLogin and the error's Kind.
func (e *LoginError) Is(target error) bool { return target == ErrLogin || target == e.Kind }

func (e *LoginError) Unwrap() error { return e.Err }

// classify turns a gokrb5 login error into a LoginError. gokrb5 folds the
// KDC's KRB_ERROR into the text of its own error type (krberror.Krberror
// keeps strings, not the code), so the text is all there is to go on: the
// KDC's error names (errorcode.Lookup's "KRB_AP_ERR_SKEW", ...) and
// gokrb5's own fixed messages.
func classify(op, principal, confPath string, conf *krbconfig.Config, realm string, err error) error {
	s := err.Error()
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	kdcs := kdcList(conf, realm)
	e := &LoginError{Op: op, Principal: principal, Err: err}
	switch {
	case has("KRB_AP_ERR_SKEW", "clock skew with KDC too large"):
		e.Kind = ErrClockSkew
		e.Msg = fmt.Sprintf("this machine's clock and that of the KDC of %s (%s) differ by more than %v, the clockskew allowed: synchronise this machine's clock (NTP) and log in again", realm, kdcs, conf.LibDefaults.Clockskew)
	case has("KDC_ERR_C_PRINCIPAL_UNKNOWN", "KDC_ERR_WRONG_REALM"):
		e.Kind = ErrUnknownPrincipal
		e.Msg = fmt.Sprintf("the KDC of %s (%s, from %s) does not know %s: check the principal's name and realm", realm, kdcs, confPath, principal)
	case has("KDC_ERR_PREAUTH_FAILED", "KRB_AP_ERR_BAD_INTEGRITY", "keytab incorrect", "matching key not found", "Decrypting_Error"):
		e.Kind = ErrKeytabRejected
		e.Msg = fmt.Sprintf("the KDC of %s (%s) refused the keytab's key for %s: the keytab is out of date (the principal's key changed since it was exported); export a new one", realm, kdcs, principal)
	case has("does not have any defined KDCs", "no KDCs defined"):
		e.Kind = ErrKDCUnreachable
		e.Msg = fmt.Sprintf("%s names no KDC for realm %s: add one under [realms] (%s = { kdc = host:88 }), or give the principal with the realm the cluster uses", confPath, realm, realm)
	case has("Networking_Error", "communicate with KDC", "communication error with KDC", "error sending to KDC"):
		e.Kind = ErrKDCUnreachable
		e.Msg = fmt.Sprintf("no KDC of realm %s answered at %s (from %s): check that the KDC runs and is reachable, and that the realm is the cluster's", realm, kdcs, confPath)
	default:
		e.Kind = ErrLogin
		e.Msg = fmt.Sprintf("the KDC of %s (%s) refused the login", realm, kdcs)
	}
	return e
}

// kdcList names the KDCs krb5.conf gives for realm.
func kdcList(conf *krbconfig.Config, realm string) string {
	for _, r := range conf.Realms {
		if r.Realm == realm && len(r.KDC) > 0 {
			return "kdc " + strings.Join(r.KDC, ", ")
		}
	}
	if conf.LibDefaults.DNSLookupKDC {
		return "KDCs from DNS"
	}
	return "no kdc in krb5.conf"
}

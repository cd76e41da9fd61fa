package cluster

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// RenewFractionKey is the -D setting of the fraction of the tokens'
// lifetime after which a JobManager with a shipped keytab obtains new ones.
const RenewFractionKey = "spindle.token.renew-fraction"

// noKeytabHint is what the JobManager's expiry warnings tell to configure.
func noKeytabHint(spec *launch.ClusterSpec) string {
	return "to run longer, deploy with -ship-keytab (with -keytab and -principal) so the JobManager obtains fresh tokens, " +
		"or keep the client that deployed it attached (it pushes fresh ones), or push them with `" + cmp.Or(spec.Program, "PROG") +
		" credentials push -id " + spec.AppID + "` more often than the tokens' renewal interval"
}

// renewFraction is -D RenewFractionKey of config, 0 (the default) when
// not set.
func renewFraction(config map[string]string) (float64, error) {
	v, ok := config[RenewFractionKey]
	if !ok {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0 && f < 1) {
		return 0, fmt.Errorf("-D %s=%s: the fraction of the tokens' lifetime is a number between 0 and 1, e.g. 0.75", RenewFractionKey, v)
	}
	return f, nil
}

// tokenKeeper is the ApplicationMaster's part in keeping the application's
// HDFS delegation tokens alive: the renewer, its Kerberos login and
// client when a keytab was shipped, and the newest tokens for containers
// started later.
type tokenKeeper struct {
	r      *tokens.Renewer
	id     *hdfs.Identity
	kfs    *hdfs.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// startTokens starts the renewer of the application's HDFS delegation
// tokens, if it has any (a Kerberos cluster): with a shipped keytab it
// logs in and re-obtains them, else it warns before they expire.
func (a *AppMaster) startTokens(ctx context.Context) error {
	held := yarn.HDFSTokens(a.creds)
	if len(held) == 0 {
		return nil
	}
	fraction, err := renewFraction(a.Spec.Config)
	if err != nil {
		return err
	}
	k := &tokenKeeper{done: make(chan struct{})}
	cfg := tokens.Config{Tokens: held, Fraction: fraction, Hint: noKeytabHint(a.Spec), Logger: a.log.With("component", "tokens"), Push: a.pushTokens,
		Notice: func(text string) { a.JM.SetWarning("tokens", text) }}
	if ks := a.Spec.Keytab; ks != nil {
		if err := k.login(ctx, a.Spec, ks); err != nil {
			return err
		}
		// The other file systems' (-access-fs) come fresh too.
		cfg.Obtain = func(ctx context.Context) ([]hdfs.Token, error) {
			return k.kfs.DelegationTokens(ctx, a.Spec.HDFS.AccessFS...)
		}
		cfg.Renew = k.kfs.RenewDelegationToken
		cfg.Renewer = a.Spec.HDFS.User
	}
	r, err := tokens.New(cfg)
	if err != nil {
		k.close()
		return err
	}
	k.r = r
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	go func() {
		defer close(k.done)
		r.Run(rctx)
	}()
	a.tokens = k
	if cfg.Obtain != nil {
		a.log.Info("keeping the HDFS delegation tokens alive with the shipped keytab", "principal", a.Spec.Keytab.Principal,
			"access_fs", strings.Join(a.Spec.HDFS.AccessFS, ","))
	}
	return nil
}

// login logs in with the shipped keytab and makes the Kerberos HDFS client
// that obtains and renews tokens, as the application's user (impersonated
// when the keytab's principal is a proxy-user service).
func (k *tokenKeeper) login(ctx context.Context, spec *launch.ClusterSpec, ks *launch.KeytabSpec) error {
	id, err := tokens.LoginShipped(ctx, ks.Principal, launch.KeytabResource, launch.Krb5ConfResource)
	if err != nil {
		return err
	}
	k.id = id
	k.kfs, err = tokens.ObtainingClient(id, spec.HDFS.User, hdfs.Config{
		NameNodes: spec.HDFS.NameNodes, NameService: spec.HDFS.NameService, StagingRoot: spec.HDFS.StagingRoot,
		RPCProtection: spec.RPCProtection, Kerberos: &hdfs.KerberosConfig{ServerPrincipal: ks.NameNodePrincipal},
		NameServices: spec.HDFS.NameServices,
	})
	if err != nil {
		k.close()
		return err
	}
	return nil
}

func (k *tokenKeeper) close() {
	if k.cancel != nil {
		k.cancel()
		<-k.done
	}
	if k.kfs != nil {
		k.kfs.Close()
	}
	if k.id != nil {
		k.id.Close()
	}
}

// pushTokens hands fresh tokens to the TaskManagers (through the
// JobManager), to the AM's own HDFS client, and to containers started
// later.
func (a *AppMaster) pushTokens(_ context.Context, toks []hdfs.Token) error {
	c, b, err := tokensCredentials(toks)
	if err != nil {
		return err
	}
	a.tokensMu.Lock()
	a.newest = c
	a.tokensMu.Unlock()
	a.JM.PushCredentials(b)
	a.fsMu.Lock()
	fs := a.fs
	if fs == nil {
		// The client HDFS makes later starts from these.
		a.creds = a.withNewestTokens(yarn.ContainerLaunchContext{Credentials: a.creds}).Credentials
	}
	a.fsMu.Unlock()
	if fs != nil {
		if err := fs.SetTokens(toks); err != nil {
			return fmt.Errorf("the JobManager's HDFS client: %w", err)
		}
	}
	return nil
}

// tokensCredentials are toks as credentials, and those in Hadoop's
// token storage format.
func tokensCredentials(toks []hdfs.Token) (*yarn.Credentials, []byte, error) {
	c := &yarn.Credentials{}
	for _, t := range toks {
		c.AddToken(t.Service, yarn.Token(t))
	}
	b, err := c.MarshalBinary()
	return c, b, err
}

// withNewestTokens is l with the newest pushed HDFS tokens in place of
// the original ones, so a TaskManager started late localizes its files
// and reaches HDFS with live tokens.
func (a *AppMaster) withNewestTokens(l yarn.ContainerLaunchContext) yarn.ContainerLaunchContext {
	a.tokensMu.Lock()
	newest := a.newest
	a.tokensMu.Unlock()
	if newest == nil || l.Credentials == nil {
		return l
	}
	c := &yarn.Credentials{}
	for alias, t := range l.Credentials.Tokens() {
		if t.Kind != yarn.KindHDFSDelegationToken {
			c.AddToken(alias, t)
		}
	}
	for alias, t := range newest.Tokens() {
		c.AddToken(alias, t)
	}
	for alias, s := range l.Credentials.Secrets() {
		c.AddSecret(alias, s)
	}
	l.Credentials = c
	return l
}

// withExpiryHint adds to the diagnostics of a failed application which of
// its HDFS delegation tokens died and what to configure, so that the
// client's last lines say it, not only the JobManager's log.
func (a *AppMaster) withExpiryHint(diag string) string {
	k := a.tokens
	if k == nil || k.r == nil {
		return diag
	}
	dead := k.r.Expired()
	if len(dead) == 0 {
		return diag
	}
	return strings.TrimRight(diag, "\n") + "\nThe application's " + strings.Join(dead, ", ") + " expired: nothing renewed or replaced it; " + noKeytabHint(a.Spec)
}

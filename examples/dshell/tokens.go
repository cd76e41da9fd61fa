package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/yarn"
)

// amTokens is the ApplicationMaster's part in keeping the application's
// HDFS delegation tokens alive (a Kerberos cluster): with the keytab
// shipped (-ship-keytab) a tokens.Renewer logged in with it obtains fresh
// tokens at 0.75 of their lifetime and renews them between; they replace
// the old ones in the launch contexts of containers started from then on
// (which localize their files with them) and in the AM's removal of the
// staging directory. Running containers keep the tokens they started
// with: a shell command cannot be handed new ones. Without a keytab the
// Renewer warns in the AM's log before the tokens' max date.
type amTokens struct {
	log *slog.Logger

	mu    sync.Mutex
	creds *yarn.Credentials // the workers' launch credentials

	r      *tokens.Renewer // nil without HDFS tokens
	id     *hdfs.Identity
	kfs    *hdfs.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// startTokens starts keeping the HDFS delegation tokens among creds (the
// AM's) alive; workerCreds are the workers' launch credentials, which it
// keeps up to date.
func startTokens(ctx context.Context, spec *jobSpec, creds, workerCreds *yarn.Credentials, log *slog.Logger) (*amTokens, error) {
	t := &amTokens{log: log.With("component", "tokens"), creds: workerCreds}
	held := yarn.HDFSTokens(creds)
	if len(held) == 0 {
		return t, nil
	}
	cfg := tokens.Config{
		Tokens: held, Logger: t.log, Push: t.replace,
		Hint: "to run longer, run dshell with -ship-keytab (with -keytab and -principal): its ApplicationMaster then obtains fresh tokens",
	}
	if ks := spec.Keytab; ks != nil {
		id, err := tokens.LoginShipped(ctx, ks.Principal, keytabResource, krb5ConfResource)
		if err != nil {
			return nil, err
		}
		t.id = id
		// With -proxy-user, the login impersonates the application's
		// user; the user renews what it obtains.
		t.kfs, err = tokens.ObtainingClient(id, spec.HDFS.User, hdfs.Config{
			NameNodes: spec.HDFS.NameNodes, NameService: spec.HDFS.NameService, StagingRoot: spec.HDFS.StagingRoot,
			RPCProtection: spec.RPCProtection, Kerberos: &hdfs.KerberosConfig{ServerPrincipal: ks.NameNodePrincipal}, Logger: log,
		})
		if err != nil {
			t.close()
			return nil, err
		}
		kfs := t.kfs
		cfg.Obtain = func(ctx context.Context) ([]hdfs.Token, error) { return kfs.DelegationTokens(ctx) }
		cfg.Renew, cfg.Renewer = kfs.RenewDelegationToken, spec.HDFS.User
	}
	r, err := tokens.New(cfg)
	if err != nil {
		t.close()
		return nil, err
	}
	t.r = r
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel, t.done = cancel, make(chan struct{})
	go func() {
		defer close(t.done)
		r.Run(rctx)
	}()
	if t.kfs != nil {
		t.log.Info("keeping the HDFS delegation tokens alive with the shipped keytab", "principal", spec.Keytab.Principal)
	}
	return t, nil
}

// replace puts fresh tokens in the workers' launch credentials in place of
// the HDFS delegation tokens there.
func (t *amTokens) replace(_ context.Context, toks []hdfs.Token) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &yarn.Credentials{}
	for alias, tok := range t.creds.Tokens() {
		if tok.Kind != yarn.KindHDFSDelegationToken {
			c.AddToken(alias, tok)
		}
	}
	for _, tok := range toks {
		c.AddToken(tok.Service, yarn.Token(tok))
	}
	t.creds = c
	return nil
}

// launchCredentials are the credentials a container starting now gets.
func (t *amTokens) launchCredentials() *yarn.Credentials {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.creds
}

// hdfsTokens are the newest HDFS delegation tokens.
func (t *amTokens) hdfsTokens() []hdfs.Token {
	if t.r != nil {
		return t.r.Tokens()
	}
	return yarn.HDFSTokens(t.launchCredentials())
}

func (t *amTokens) close() {
	if t.cancel != nil {
		t.cancel()
		<-t.done
	}
	if t.kfs != nil {
		t.kfs.Close()
	}
	if t.id != nil {
		t.id.Close()
	}
}

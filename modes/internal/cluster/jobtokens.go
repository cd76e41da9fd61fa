package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/yarn"
)

// A session's job carries HDFS delegation tokens of its own user. Its
// client keeps them alive while it follows the job (modes'
// keepJobCredentials). In the session, a jobTokens keeps them too:
//
//   - With the session's keytab shipped, for jobs whose tokens the
//     session's principal could obtain itself: the jobs it submitted as
//     itself or, as a proxy-user service, for others (the tokens' real
//     user is the principal). It logs in once (the ApplicationMaster's
//     login), obtains fresh tokens as the job's user at the renew
//     fraction of their lifetime and switches the job to them, and renews
//     them meanwhile (they name the job's user as renewer). A user who
//     submitted with a login of their own never gets tokens the session's
//     principal obtained: nothing the session holds may act as them.
//   - Otherwise it only watches: it warns ahead of the max date, and a
//     job that failed on a dead token gets a root cause saying which and
//     what to configure.

// keepJobTokens is the session's jobmanager.SessionConfig.KeepJobTokens.
func (a *AppMaster) keepJobTokens(ctx context.Context, job string, creds []byte, replace func(context.Context, []byte) error) (jobmanager.JobTokenKeeper, error) {
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(creds); err != nil {
		return nil, fmt.Errorf("the job's credentials: %w", err)
	}
	held := yarn.HDFSTokens(c)
	if len(held) == 0 {
		return nil, errors.New("the job's credentials hold no HDFS delegation token")
	}
	di, err := held[0].DelegationIdentifier()
	if err != nil {
		return nil, fmt.Errorf("the job's token: %w", err)
	}
	fraction, err := renewFraction(a.Spec.Config)
	if err != nil {
		return nil, err
	}
	owner := hdfs.ShortName(di.Owner)
	log := a.log.With("component", "tokens", "job", job)
	k := &jobTokens{job: job, done: make(chan struct{}), hint: jobNoKeytabHint(cmp.Or(a.Spec.Program, "PROG"), a.Spec.AppID, job)}
	cfg := tokens.Config{
		Tokens: held, Fraction: fraction, Hint: k.hint, Logger: log,

		Push: func(ctx context.Context, toks []hdfs.Token) error {
			_, b, err := tokensCredentials(toks)
			if err != nil {
				return err
			}
			return replace(ctx, b)
		},
	}
	if login := a.keytabLogin(); login != nil && (owner == login.ShortName() || di.RealUser != "" && hdfs.ShortName(di.RealUser) == login.ShortName()) {
		ks := a.Spec.Keytab
		// The job's user renews them, as its client does.
		k.kfs, err = tokens.ObtainingClient(login, owner, hdfs.Config{
			NameNodes: a.Spec.HDFS.NameNodes, NameService: a.Spec.HDFS.NameService, StagingRoot: a.Spec.HDFS.StagingRoot,
			RPCProtection: a.Spec.RPCProtection, Kerberos: &hdfs.KerberosConfig{ServerPrincipal: ks.NameNodePrincipal},
		})
		if err != nil {
			return nil, fmt.Errorf("the HDFS client obtaining the job's tokens: %w", err)
		}
		kfs := k.kfs
		cfg.Obtain = func(ctx context.Context) ([]hdfs.Token, error) { return kfs.DelegationTokens(ctx) }
		cfg.Renew, cfg.Renewer = kfs.RenewDelegationToken, owner
		k.obtains = true
	}
	if jm := a.JM; jm != nil {
		// Warnings of this job's tokens show on the tracking page while
		// it runs.
		cfg.Notice = func(text string) {
			if text != "" {
				text = "job " + job + ": " + text
			}
			jm.SetWarning("tokens/"+job, text)
		}
		k.unwarn = func() { jm.SetWarning("tokens/"+job, "") }
	}
	k.r, err = tokens.New(cfg)
	if err != nil {
		k.close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	go func() {
		defer close(k.done)
		k.r.Run(rctx)
	}()
	if k.obtains {
		log.Info("keeping the job's HDFS delegation tokens alive with the session's keytab", "user", owner, "principal", a.Spec.Keytab.Principal)
	} else {
		log.Info("the job's HDFS delegation tokens are its client's to keep alive: the session's keytab may not obtain them", "user", owner)
	}
	return k, nil
}

// keytabLogin is the ApplicationMaster's login with the shipped keytab,
// nil without one.
func (a *AppMaster) keytabLogin() *hdfs.Identity {
	if a.tokens == nil {
		return nil
	}
	return a.tokens.id
}

// jobNoKeytabHint is what a session job's expiry warnings and root cause
// tell to configure.
func jobNoKeytabHint(prog, appID, job string) string {
	return "to run longer, keep the job's client attached (it renews the job's tokens and pushes fresh ones), push them with `" + prog +
		" credentials push -id " + appID + " -job " + job + "` more often than the tokens' renewal interval, " +
		"or submit the job as the session's principal, or through it with -proxy-user, to a session started with -ship-keytab (its JobManager then obtains them)"
}

// jobTokens keeps one session job's tokens (jobmanager.JobTokenKeeper).
type jobTokens struct {
	job     string
	hint    string
	r       *tokens.Renewer
	kfs     *hdfs.Client // nil: it only watches
	obtains bool
	unwarn  func()
	cancel  context.CancelFunc
	done    chan struct{}
}

func (k *jobTokens) Pushed(toks []hdfs.Token) {
	// The JobManager checked them (tokens.CheckPushed): Update cannot
	// refuse them.
	_ = k.r.Update(toks)
}

// Explain names the job's dead token in the root cause of its failure:
// past its max date (known here), or refused by the NameNode (the HDFS
// client's "the token refused" in the cause, for a token that died at the
// end of a renewal period nobody renewed) when nothing here obtains
// tokens.
func (k *jobTokens) Explain(cause string) string {
	var what string
	if dead := k.r.Expired(); len(dead) > 0 {
		what = strings.Join(dead, ", ") + " expired"
	} else if !k.obtains && strings.Contains(cause, "the token refused: ") {
		what = "HDFS delegation token was refused by the NameNode as expired (not renewed in time)"
	} else {
		return cause
	}
	return strings.TrimRight(cause, "\n") + "\nJob " + k.job + "'s " + what + ": nothing renewed or replaced it; " + k.hint
}

func (k *jobTokens) Stop() {
	k.close()
	if k.unwarn != nil {
		k.unwarn() // the job ended: its tokens matter no more
	}
}

func (k *jobTokens) close() {
	if k.cancel != nil {
		k.cancel()
		<-k.done
		k.cancel = nil
	}
	if k.kfs != nil {
		k.kfs.Close()
		k.kfs = nil
	}
}

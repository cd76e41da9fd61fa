package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/yarn"
)

// A session's job carries HDFS delegation tokens of its own user (its
// proxy user, with -proxy-user), obtained by its client, which nothing
// in the session renews or replaces. While the client follows the job,
// it keeps them alive as the attached client of an application does
// (deploy's credentialsPusher): a tokens.Renewer logged in as the job's
// user renews them (they name that user as renewer, jobUserRenewer) and
// obtains fresh ones at 0.75 of their lifetime, which it pushes to the
// job alone (control.JobCredentialsPath). -D spindle.client.push-credentials=false
// turns this off.

// jobUser is the short name of the user a session job of req acts as on
// HDFS, who renews the job's tokens.
func jobUser(req deploy.Request) string {
	if req.Identity == nil {
		return cmp.Or(req.ProxyUser, req.User)
	}
	return cmp.Or(req.ProxyUser, hdfs.ShortName(req.Identity.Principal()))
}

// jobHDFSConfig is the HDFS configuration of req's job user, obtaining
// tokens that name that user as renewer, so that its client can renew
// them (the NameNode lets only the named renewer renew).
func jobHDFSConfig(req deploy.Request) (hdfs.Config, error) {
	_, hcfg, err := deploy.ClientConfigs(req)
	if err != nil {
		return hcfg, err
	}
	if hcfg.Kerberos != nil {
		hcfg.TokenRenewer = jobUser(req)
	}
	return hcfg, nil
}

// syncWriter serialises writes of the follower and the pusher.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// keepJobCredentials starts pushing fresh tokens to job (which carries
// creds, its own credentials) over cc, printing each push and failure to
// out, until the returned stop is called. Without own credentials (a
// cluster without Kerberos), or with pushes turned off, it does nothing.
func keepJobCredentials(ctx context.Context, cc *control.Client, job string, req deploy.Request, creds []byte, out io.Writer) (stop func()) {
	if len(creds) == 0 || req.Identity == nil ||
		strings.EqualFold(strings.TrimSpace(req.Config[deploy.PushCredentialsKey]), "false") {
		return func() {}
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(creds); err != nil {
		say("job %s: pushing no fresh HDFS delegation tokens: %v", job, err)
		return func() {}
	}
	hcfg, err := jobHDFSConfig(req)
	if err != nil {
		say("job %s: pushing no fresh HDFS delegation tokens: %v", job, err)
		return func() {}
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		say("job %s: pushing no fresh HDFS delegation tokens: %v", job, err)
		return func() {}
	}
	fraction, _ := strconv.ParseFloat(req.Config["spindle.token.renew-fraction"], 64)
	if !(fraction > 0 && fraction < 1) {
		fraction = 0
	}
	log := cmp.Or(req.Logger, slog.New(slog.DiscardHandler)).With("component", "credentials", "job", job)
	r, err := tokens.New(tokens.Config{
		Tokens: yarn.HDFSTokens(c), Renew: fs.RenewDelegationToken, Renewer: jobUser(req), Fraction: fraction,
		Obtain: func(ctx context.Context) ([]hdfs.Token, error) {
			toks, err := fs.DelegationTokens(ctx)
			if err != nil {
				say("job %s: obtaining fresh HDFS delegation tokens to push failed (will retry; a login from the ticket cache needs a fresh kinit once its ticket expired): %v", job, err)
			}
			return toks, err
		},
		Push: func(ctx context.Context, toks []hdfs.Token) error {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			n, err := pushJobCredentials(pctx, cc, job, toks)
			if ce := (*control.Error)(nil); errors.As(err, &ce) && ce.Status == http.StatusConflict && strings.Contains(ce.Message, "ended") {
				return err // the job ended as the push went: no failure to report
			}
			if err != nil {
				say("job %s: pushing fresh HDFS delegation tokens failed (will retry): %v", job, err)
				return err
			}
			say("job %s: pushed %d fresh HDFS delegation tokens to the session (%s)", job, n, describeJobTokens(toks))
			return nil
		},
		RetryInterval: 30 * time.Second, Logger: log,
	})
	if err != nil {
		fs.Close()
		say("job %s: pushing no fresh HDFS delegation tokens: %v", job, err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
		fs.Close()
	}
}

// pushJobCredentials posts toks to the session's job over cc and returns
// how many tokens the job switched to.
func pushJobCredentials(ctx context.Context, cc *control.Client, job string, toks []hdfs.Token) (int, error) {
	c := &yarn.Credentials{}
	for _, t := range toks {
		c.AddToken(t.Service, yarn.Token(t))
	}
	b, err := c.MarshalBinary()
	if err != nil {
		return 0, err
	}
	var ans tokens.PushAnswer
	if err := cc.Do(ctx, http.MethodPost, control.JobCredentialsPath(job), control.CredentialsUpdate{Tokens: b}, &ans); err != nil {
		return 0, err
	}
	return ans.Tokens, nil
}

// describeJobTokens names tokens for the user: sequence numbers, owners
// and max dates, no passwords.
func describeJobTokens(toks []hdfs.Token) string {
	var parts []string
	for _, t := range toks {
		id, err := t.DelegationIdentifier()
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s sequence number %d of %s, max date %s", t.Kind, id.SequenceNumber, id.Owner,
			id.MaxDate.UTC().Format(time.RFC3339)))
	}
	return strings.Join(parts, "; ")
}

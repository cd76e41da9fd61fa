// Package tokens keeps a long-running application's HDFS delegation tokens
// alive: the ApplicationMaster's renewer of section 4 of the design notes.
//
// A Renewer holds the application's current tokens. With a Kerberos login
// (a keytab shipped to the ApplicationMaster, Config.Obtain) it obtains
// fresh tokens at Config.Fraction (0.75) of the current ones' lifetime,
// from issue date to max date, and hands them to Config.Push, which sends
// them to every TaskManager; tokens whose renewer is the login itself
// (Config.Renewer) it renews before they expire, at the same fraction of
// each renewal period, when that comes before the next re-obtain. Tokens
// the client obtained name the ResourceManager as renewer: the
// ResourceManager renews those until their max date.
//
// Without a login (Config.Obtain nil) a Renewer can neither renew nor
// re-obtain: it logs a warning at WarnFraction (0.9) of each token's
// lifetime naming the token and what to configure, and an error once the
// token died, unless Update brought newer tokens (pushed by a client)
// first.
//
// # Lifecycle and concurrency
//
// Run blocks until its context ends; Update and Tokens may be called from
// any goroutine while it runs. Tokens are logged through their redacted
// formatting (owner, renewer, dates), never their passwords.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
)

// minGap separates two actions of Run.
const minGap = 100 * time.Millisecond

// Defaults.
const (
	// DefaultFraction of a token's lifetime after which a Renewer with a
	// login obtains new ones (Spark's and Flink's 0.75).
	DefaultFraction = 0.75
	// DefaultWarnFraction of a token's lifetime after which a Renewer
	// without a login warns that it will expire.
	DefaultWarnFraction = 0.9
)

// Config configures a Renewer.
type Config struct {
	// Tokens are the application's HDFS delegation tokens now (others are
	// ignored). Required.
	Tokens []hdfs.Token
	// Obtain gets fresh tokens with the application's Kerberos login. Nil
	// means no login: the Renewer only warns ahead of expiry.
	Obtain func(ctx context.Context) ([]hdfs.Token, error)
	// Renew renews a token (hdfs.Client.RenewDelegationToken) and returns
	// its new expiry. Nil means tokens are not renewed.
	Renew func(ctx context.Context, t hdfs.Token) (time.Time, error)
	// Renewer is the short name Renew renews as: only tokens naming it as
	// renewer are renewed. Empty means none is.
	Renewer string
	// Push delivers tokens Obtain got to the application's containers;
	// nil means nobody but Tokens' callers needs them.
	Push func(ctx context.Context, toks []hdfs.Token) error
	// Fraction of a lifetime (issue to max date, or one renewal period)
	// after which tokens are re-obtained (or renewed). Zero means
	// DefaultFraction; it must be in (0, 1).
	Fraction float64
	// WarnFraction of a lifetime after which a Renewer without Obtain
	// warns. Zero means DefaultWarnFraction; it must be in (0, 1).
	WarnFraction float64
	// Hint says, in the warnings of a Renewer without Obtain, what to
	// configure. Empty means a generic text.
	Hint string
	// RetryInterval is the longest wait before trying a failed Obtain or
	// Renew again (shorter when the tokens are about to expire). Zero
	// means one minute.
	RetryInterval time.Duration
	// Notice, when set, is told each warning and expiry message as it is
	// logged (for a tracking page), and "" once fresh tokens (pushed by
	// Update, or obtained) replaced the ones it was about.
	Notice func(text string)
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Renewer keeps an application's tokens alive; see the package doc.
type Renewer struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	held    []*held
	changed chan struct{} // closed and replaced by Update
	stats   Stats
}

// held is one token with what is known of its life.
type held struct {
	tok          hdfs.Token
	name         string // kind, sequence number, owner and service, for messages
	issue, max   time.Time
	expiry       time.Time // of the current renewal period; zero when unknown
	renewedAt    time.Time // start of the current renewal period
	renewable    bool
	warned, dead bool
}

// Stats counts what a Renewer did.
type Stats struct {
	// Obtained counts successful re-obtains, Renewed successful renewals,
	// Warned the expiry warnings and Failures the failed attempts.
	Obtained, Renewed, Warned, Failures int
	// LastObtain and LastRenew are when the last ones succeeded.
	LastObtain, LastRenew time.Time
}

// New checks cfg and returns a Renewer of its tokens.
func New(cfg Config) (*Renewer, error) {
	if cfg.Fraction == 0 {
		cfg.Fraction = DefaultFraction
	}
	if cfg.WarnFraction == 0 {
		cfg.WarnFraction = DefaultWarnFraction
	}
	if !(cfg.Fraction > 0 && cfg.Fraction < 1) {
		return nil, fmt.Errorf("tokens: the renew fraction %v is not between 0 and 1", cfg.Fraction)
	}
	if !(cfg.WarnFraction > 0 && cfg.WarnFraction < 1) {
		return nil, fmt.Errorf("tokens: the warn fraction %v is not between 0 and 1", cfg.WarnFraction)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = time.Minute
	}
	if cfg.Hint == "" {
		cfg.Hint = "give the application a Kerberos login that renews them, or push fresh tokens to it"
	}
	r := &Renewer{cfg: cfg, log: cfg.Logger, changed: make(chan struct{})}
	hs, err := r.hold(cfg.Tokens)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, errors.New("tokens: no HDFS delegation token to keep alive")
	}
	r.held = hs
	return r, nil
}

// hold decodes the HDFS delegation tokens among toks.
func (r *Renewer) hold(toks []hdfs.Token) ([]*held, error) {
	var out []*held
	for _, t := range toks {
		if t.Kind != hdfs.KindDelegationToken {
			continue
		}
		id, err := t.DelegationIdentifier()
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, &held{
			tok: t, name: fmt.Sprintf("%s sequence number %d of %s (service %s)", t.Kind, id.SequenceNumber, id.Owner, t.Service), issue: id.IssueDate, max: id.MaxDate, renewedAt: id.IssueDate,
			renewable: r.cfg.Renew != nil && r.cfg.Renewer != "" && id.Renewer == r.cfg.Renewer,
		})
	}
	return out, nil
}

// Tokens are the tokens held now.
func (r *Renewer) Tokens() []hdfs.Token {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]hdfs.Token, len(r.held))
	for i, h := range r.held {
		out[i] = h.tok
	}
	return out
}

// Stats reports what the Renewer did so far.
func (r *Renewer) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Expired names the held tokens past their max date, dead with nothing
// replacing them, each with the time it died.
func (r *Renewer) Expired() []string {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, h := range r.held {
		if !now.Before(h.max) {
			out = append(out, fmt.Sprintf("%s (died at %s)", h.name, fmtTime(h.max)))
		}
	}
	return out
}

// Update replaces the tokens held with toks (fresh ones a client pushed),
// which Run then watches instead.
func (r *Renewer) Update(toks []hdfs.Token) error {
	hs, err := r.hold(toks)
	if err != nil {
		return err
	}
	if len(hs) == 0 {
		return errors.New("tokens: no HDFS delegation token among the new tokens")
	}
	r.mu.Lock()
	r.held = hs
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	r.notice("")
	return nil
}

// notice tells Config.Notice text.
func (r *Renewer) notice(text string) {
	if r.cfg.Notice != nil {
		r.cfg.Notice(text)
	}
}

// at is the point at fraction f of the way from a to b.
func at(a, b time.Time, f float64) time.Time {
	return a.Add(time.Duration(float64(b.Sub(a)) * f))
}

// The actions of a step.
type action int

const (
	actNone action = iota
	actObtain
	actRenew
	actWarn
	actDead
)

// plan says what to do next, when, and to which token; mu is held.
func (r *Renewer) plan() (time.Time, action, *held) {
	var when time.Time
	act, target := actNone, (*held)(nil)
	consider := func(t time.Time, a action, h *held) {
		if when.IsZero() || t.Before(when) {
			when, act, target = t, a, h
		}
	}
	for _, h := range r.held {
		if r.cfg.Obtain != nil {
			consider(at(h.issue, h.max, r.cfg.Fraction), actObtain, h)
			if h.renewable && !h.expiry.IsZero() && h.expiry.Before(h.max) {
				consider(at(h.renewedAt, h.expiry, r.cfg.Fraction), actRenew, h)
			}
			continue
		}
		switch {
		case !h.warned:
			consider(at(h.issue, h.max, r.cfg.WarnFraction), actWarn, h)
		case !h.dead:
			consider(h.max, actDead, h)
		}
	}
	return when, act, target
}

// Run keeps the tokens alive (or warns) until ctx ends, and returns
// ctx's error.
func (r *Renewer) Run(ctx context.Context) error {
	var retryAt, last time.Time
	for {
		r.mu.Lock()
		when, act, h := r.plan()
		changed := r.changed
		r.mu.Unlock()
		if retryAt.After(when) {
			when = retryAt
		}
		// Never two actions closer than minGap, whatever a NameNode
		// answers (a token issued already past its renewal point).
		if floor := last.Add(minGap); floor.After(when) {
			when = floor
		}
		if act == actNone {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-changed:
				continue
			}
		}
		if d := when.Sub(r.cfg.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-changed:
				t.Stop()
				retryAt = time.Time{}
				continue
			case <-t.C:
			}
		}
		last = r.cfg.Now()
		var err error
		switch act {
		case actObtain:
			err = r.obtain(ctx)
		case actRenew:
			if err = r.renew(ctx, h); err != nil && ctx.Err() == nil {
				// The token will die at its expiry: replace it now.
				r.log.Warn("renewing failed; obtaining fresh tokens instead", "err", err)
				err = r.obtain(ctx)
			}
		case actWarn:
			r.warn(h)
		case actDead:
			r.expired(h)
		}
		if err == nil {
			retryAt = time.Time{}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retryAt = r.retryAt()
		r.mu.Lock()
		r.stats.Failures++
		r.mu.Unlock()
		r.log.Warn("keeping the HDFS delegation tokens alive failed; trying again", "err", err, "retry_at", retryAt.UTC().Format(time.RFC3339))
	}
}

// retryAt is when to try again after a failure: after RetryInterval, or
// sooner, a tenth of the time left until the first token dies.
func (r *Renewer) retryAt() time.Time {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := r.cfg.RetryInterval
	for _, h := range r.held {
		end := h.max
		if !h.expiry.IsZero() && h.expiry.Before(end) {
			end = h.expiry
		}
		wait = min(wait, max(end.Sub(now)/10, 100*time.Millisecond))
	}
	return now.Add(wait)
}

// obtain gets fresh tokens, renews those it may once to learn their
// renewal period, pushes them and holds them.
func (r *Renewer) obtain(ctx context.Context) error {
	toks, err := r.cfg.Obtain(ctx)
	if err != nil {
		return fmt.Errorf("obtaining fresh HDFS delegation tokens: %w", err)
	}
	hs, err := r.hold(toks)
	if err != nil {
		return err
	}
	if len(hs) == 0 {
		return errors.New("obtaining fresh HDFS delegation tokens: none was returned")
	}
	for _, h := range hs {
		if !h.renewable {
			continue
		}
		now := r.cfg.Now()
		exp, err := r.cfg.Renew(ctx, h.tok)
		if err != nil {
			// Unknown period: the token is re-obtained by its max date.
			r.log.Warn("renewing a fresh HDFS delegation token", "token", h.tok, "err", err)
			continue
		}
		h.expiry, h.renewedAt = exp, now
	}
	if r.cfg.Push != nil {
		if err := r.cfg.Push(ctx, toks); err != nil {
			return fmt.Errorf("pushing fresh HDFS delegation tokens: %w", err)
		}
	}
	r.notice("")
	r.mu.Lock()
	r.held = hs
	r.stats.Obtained++
	r.stats.LastObtain = r.cfg.Now()
	next, _, _ := r.plan()
	r.mu.Unlock()
	for _, h := range hs {
		r.log.Info("obtained a fresh HDFS delegation token and pushed it", "token", h.tok,
			"expires", fmtTime(h.expiry), "max_date", fmtTime(h.max), "next_action", fmtTime(next))
	}
	return nil
}

// renew renews one token it is the renewer of.
func (r *Renewer) renew(ctx context.Context, h *held) error {
	now := r.cfg.Now()
	exp, err := r.cfg.Renew(ctx, h.tok)
	if err != nil {
		return fmt.Errorf("renewing HDFS delegation token %s: %w", h.name, err)
	}
	if !exp.After(now) {
		return fmt.Errorf("renewing HDFS delegation token %s: the NameNode answered an expiry in the past (%s)", h.name, fmtTime(exp))
	}
	r.mu.Lock()
	h.expiry, h.renewedAt = exp, now
	r.stats.Renewed++
	r.stats.LastRenew = now
	r.mu.Unlock()
	r.log.Info("renewed an HDFS delegation token", "token", h.tok, "expires", fmtTime(exp), "max_date", fmtTime(h.max))
	return nil
}

func (r *Renewer) warn(h *held) {
	r.mu.Lock()
	h.warned = true
	r.stats.Warned++
	r.mu.Unlock()
	msg := fmt.Sprintf("HDFS delegation token %s expires at %s (its max lifetime) and nothing renews or replaces it: "+
		"after that the application cannot reach HDFS; %s", h.name, fmtTime(h.max), r.cfg.Hint)
	r.log.Warn(msg, "token", h.tok, "max_date", fmtTime(h.max))
	r.notice(msg)
}

func (r *Renewer) expired(h *held) {
	r.mu.Lock()
	h.dead = true
	r.mu.Unlock()
	msg := fmt.Sprintf("HDFS delegation token %s expired at %s: new HDFS connections of the application fail; %s",
		h.name, fmtTime(h.max), r.cfg.Hint)
	r.log.Error(msg, "token", h.tok)
	r.notice(msg)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

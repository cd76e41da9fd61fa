package deploy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

// PushCredentialsKey is the -D setting that, at false, stops an attached
// client from pushing fresh HDFS delegation tokens to its application
// (deployed without -ship-keytab), whose tokens then die at their max
// lifetime.
const PushCredentialsKey = "spindle.client.push-credentials"

// renewFractionKey is the JobManager's -D setting of the fraction of the
// tokens' lifetime after which fresh ones are obtained
// (cluster.RenewFractionKey); the attached client's pushes follow it too.
const renewFractionKey = "spindle.token.renew-fraction"

// credentialsPusher keeps the HDFS delegation tokens of an attached
// deployment without a shipped keytab alive while Follow runs: a
// tokens.Renewer logged in as the client's user obtains fresh tokens at
// 0.75 of the current ones' lifetime and pushes them to the JobManager
// (tokens.PushPath, with the deployment secret), which switches itself
// and its TaskManagers to them. The fresh tokens name the client's user
// as renewer (the ResourceManager renews only the tokens of the
// submission), so the same Renewer renews them while Follow runs;
// pushed tokens outlive their client by one renewal interval at most.
//
// A JobManager of a later attempt starts from the tokens of the
// submission, which may have died: when the JobManager's address changes,
// the last tokens pushed go to the new one at once.
type credentialsPusher struct {
	fs        *hdfs.Client
	accessFS  []string // -access-fs: their tokens are pushed too
	clientTLS *tls.Config
	moved     chan struct{} // the JobManager's address changed

	// pushMu orders pushes, so that a JobManager never gets older tokens
	// after newer ones; last are the tokens last pushed.
	pushMu sync.Mutex
	last   []hdfs.Token

	mu     sync.Mutex
	addr   string
	cc     *control.Client
	ccAddr string
	news   []string
}

// keepCredentials starts the pushes when d is a deployment this client
// made on a Kerberos cluster without -ship-keytab; report feeds it the
// application's reports (the JobManager's address), news returns the
// lines to print since the last call, and stop ends it.
func (d *Deployment) keepCredentials(ctx context.Context) (report func(yarn.ApplicationReport), news func() []string, stop func()) {
	none := func() (func(yarn.ApplicationReport), func() []string, func()) {
		return func(yarn.ApplicationReport) {}, func() []string { return nil }, func() {}
	}
	if d.attached || d.Spec == nil || d.Spec.Keytab != nil || len(d.tokens) == 0 || len(d.Secret) == 0 ||
		strings.EqualFold(strings.TrimSpace(d.Spec.Config[PushCredentialsKey]), "false") {
		return none()
	}
	_, clientTLS, err := secure.TLSConfigs(d.Secret)
	if err != nil {
		d.log.Warn("pushing no credentials: the deployment secret gives no TLS configuration", "err", err)
		return none()
	}
	fs, err := d.renewerClient()
	if err != nil {
		d.log.Warn("pushing no credentials", "err", err)
		return none()
	}
	p := &credentialsPusher{fs: fs, accessFS: d.Spec.HDFS.AccessFS, clientTLS: clientTLS, moved: make(chan struct{}, 1)}
	fraction, _ := strconv.ParseFloat(d.Spec.Config[renewFractionKey], 64)
	if !(fraction > 0 && fraction < 1) {
		fraction = 0
	}
	r, err := tokens.New(tokens.Config{
		Tokens: d.tokens, Obtain: p.obtain, Renew: fs.RenewDelegationToken,
		Renewer: hdfs.ShortName(d.HDFS.User()), Push: p.push, Fraction: fraction,
		RetryInterval: 30 * time.Second, Logger: d.log.With("component", "credentials"),
	})
	if err != nil {
		fs.Close()
		d.log.Warn("pushing no credentials", "err", err)
		return none()
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		p.followMoves(ctx)
	}()
	return p.report, p.takeNews, func() {
		cancel()
		wg.Wait()
		p.mu.Lock()
		if p.cc != nil {
			p.cc.Close()
		}
		p.mu.Unlock()
		fs.Close()
	}
}

// renewerClient is an HDFS client of d's user that obtains tokens naming
// that user as renewer, so that this client can renew them (the
// NameNode lets only the named renewer renew).
func (d *Deployment) renewerClient() (*hdfs.Client, error) {
	cfg := d.hdfsConfig
	if cfg.Kerberos == nil {
		return nil, errors.New("fresh HDFS delegation tokens need a Kerberos login; the cluster does not use Kerberos")
	}
	cfg.TokenRenewer = hdfs.ShortName(d.HDFS.User())
	return hdfs.NewClient(cfg)
}

// report notes the JobManager's control address from a report.
func (p *credentialsPusher) report(r yarn.ApplicationReport) {
	if r.State != yarn.ApplicationRunning || r.RPCPort <= 0 || r.Host == "" || r.Host == "N/A" {
		return
	}
	addr := net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort)))
	p.mu.Lock()
	moved := p.addr != "" && p.addr != addr
	p.addr = addr
	p.mu.Unlock()
	if moved {
		select {
		case p.moved <- struct{}{}:
		default:
		}
	}
}

// followMoves pushes the last tokens pushed to each new JobManager (a new
// attempt's), trying every few seconds for a minute, until ctx ends.
func (p *credentialsPusher) followMoves(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.moved:
		}
		for range 12 {
			if p.repush(ctx) == nil {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-p.moved:
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// repush sends the tokens last pushed again (to the JobManager known
// now); nothing when none were pushed yet.
func (p *credentialsPusher) repush(ctx context.Context) error {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	if p.last == nil {
		return nil
	}
	return p.send(ctx, p.last)
}

func (p *credentialsPusher) takeNews() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.news
	p.news = nil
	return n
}

func (p *credentialsPusher) say(s string) {
	p.mu.Lock()
	p.news = append(p.news, s)
	p.mu.Unlock()
}

// obtain is the Renewer's Obtain; a failure (an expired ticket cache,
// say) is printed, so the user learns it before the tokens die.
func (p *credentialsPusher) obtain(ctx context.Context) ([]hdfs.Token, error) {
	toks, err := p.fs.DelegationTokens(ctx, p.accessFS...)
	if err != nil {
		p.say(fmt.Sprintf("obtaining fresh HDFS delegation tokens to push failed (will retry; a login from the ticket cache needs a fresh kinit once its ticket expired): %v", err))
	}
	return toks, err
}

// push is the Renewer's Push: it posts toks to the JobManager.
func (p *credentialsPusher) push(ctx context.Context, toks []hdfs.Token) error {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	if err := p.send(ctx, toks); err != nil {
		return err
	}
	p.last = toks
	return nil
}

// send posts toks to the JobManager known now; pushMu is held.
func (p *credentialsPusher) send(ctx context.Context, toks []hdfs.Token) error {
	p.mu.Lock()
	if p.addr != p.ccAddr {
		if p.cc != nil {
			p.cc.Close()
		}
		p.cc, p.ccAddr = control.NewClient(p.addr, p.clientTLS), p.addr
	}
	cc, addr := p.cc, p.addr
	p.mu.Unlock()
	if addr == "" {
		err := errors.New("the JobManager has not registered yet")
		p.say("pushing fresh HDFS delegation tokens failed (will retry): " + err.Error())
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := PushCredentials(pctx, cc, toks)
	if err != nil {
		p.say(fmt.Sprintf("pushing fresh HDFS delegation tokens to the JobManager at %s failed (will retry): %v", addr, err))
		return err
	}
	p.say(fmt.Sprintf("pushed %d fresh HDFS delegation tokens to the JobManager (%s)", n, describeTokens(toks)))
	return nil
}

// PushCredentials posts toks to the JobManager cc speaks to
// (tokens.PushPath) and returns how many it switched to.
func PushCredentials(ctx context.Context, cc *control.Client, toks []hdfs.Token) (int, error) {
	c := &yarn.Credentials{}
	for _, t := range toks {
		c.AddToken(t.Service, yarn.Token(t))
	}
	b, err := c.MarshalBinary()
	if err != nil {
		return 0, err
	}
	var ans tokens.PushAnswer
	if err := cc.Do(ctx, http.MethodPost, tokens.PushPath, control.CredentialsUpdate{Tokens: b}, &ans); err != nil {
		return 0, err
	}
	return ans.Tokens, nil
}

// FreshTokens obtains fresh HDFS delegation tokens of d's user, naming
// that user as renewer, and renews them once: the expiry returned is
// when the first of them dies unless renewed again (a renewal interval
// from now, a day by default), and when a push must come by.
func (d *Deployment) FreshTokens(ctx context.Context, accessFS ...string) ([]hdfs.Token, time.Time, error) {
	fs, err := d.renewerClient()
	if err != nil {
		return nil, time.Time{}, err
	}
	defer fs.Close()
	toks, err := fs.DelegationTokens(ctx, accessFS...)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("obtaining HDFS delegation tokens: %w", err)
	}
	var first time.Time
	for _, t := range toks {
		exp, err := fs.RenewDelegationToken(ctx, t)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("renewing a fresh HDFS delegation token to learn its expiry: %w", err)
		}
		if first.IsZero() || exp.Before(first) {
			first = exp
		}
	}
	return toks, first, nil
}

// describeTokens names tokens for the user: sequence numbers and max
// dates, no passwords.
func describeTokens(toks []hdfs.Token) string {
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

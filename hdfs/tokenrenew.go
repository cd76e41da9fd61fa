package hdfs

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
)

// RenewDelegationToken renews a delegation token of this client's file
// system and returns its new expiry: the NameNode moves it to now plus
// the renew interval (dfs.namenode.delegation.token.renew-interval), but
// never past the token's max date. NameNodes renew only for a
// Kerberos-authenticated caller whose short name is the token's renewer
// (for tokens DelegationTokens obtained, Config.TokenRenewer); an expired
// or cancelled token fails with an error matching ErrInvalidToken.
//
// A token whose renewer is the ResourceManager is renewed by the
// ResourceManager for the application it was submitted with; an
// application that wants to renew its own tokens obtains them with itself
// as renewer.
func (c *Client) RenewDelegationToken(ctx context.Context, t Token) (time.Time, error) {
	if c.cfg.Kerberos == nil {
		return time.Time{}, &PathError{Op: "renew delegation token", Path: c.authority, Err: fmt.Errorf("%w: NameNodes renew delegation tokens only over Kerberos", ErrUnauthorized)}
	}
	if t.Kind != KindDelegationToken {
		return time.Time{}, configErrorf("renewing a token of kind %q: only %s tokens are renewed by NameNodes", t.Kind, KindDelegationToken)
	}
	req := &hadoopcommon.RenewDelegationTokenRequestProto{Token: &hadoopcommon.TokenProto{
		Identifier: t.Identifier, Password: t.Password,
		Kind: proto.String(t.Kind), Service: proto.String(t.Service),
	}}
	resp := &hadoopcommon.RenewDelegationTokenResponseProto{}
	if err := c.call(ctx, "renewDelegationToken", req, resp); err != nil {
		return time.Time{}, &PathError{Op: "renew delegation token", Path: c.authority, Err: err}
	}
	return time.UnixMilli(int64(resp.GetNewExpiryTime())), nil
}

// SetTokens replaces the delegation tokens a client made with
// Config.Tokens authenticates with (fresh ones, obtained by whoever holds
// a Kerberos login, before the old ones expire). The client's NameNode
// connections are closed, so the next call connects, and authenticates,
// with the new tokens; calls in progress are sent again if they may be
// repeated. DataNode transfers in progress are not affected: they use
// block tokens. SetTokens is safe to call while other calls run.
//
// It fails, changing nothing, for a client that authenticates with
// Kerberos or simple authentication (it has no tokens to replace), and
// when tokens hold no HDFS delegation token.
func (c *Client) SetTokens(tokens []Token) error {
	if c.cfg.Kerberos != nil || len(c.cfg.Tokens) == 0 {
		return configErrorf("SetTokens: the client does not authenticate with delegation tokens (Config.Tokens)")
	}
	n := 0
	for _, t := range tokens {
		if t.Kind == KindDelegationToken {
			n++
		}
	}
	if n == 0 {
		return configErrorf("SetTokens: no %s among the %d tokens", KindDelegationToken, len(tokens))
	}
	c.tokensMu.Lock()
	c.tokens = append([]Token(nil), tokens...)
	c.tokensMu.Unlock()
	c.nn.set.Reset()
	return nil
}

// Tokens are the delegation tokens the client authenticates with now:
// Config.Tokens, or those of the last SetTokens.
func (c *Client) Tokens() []Token {
	c.tokensMu.Lock()
	defer c.tokensMu.Unlock()
	return append([]Token(nil), c.tokens...)
}

// refusedTokenError adds to a NameNode's refusal of the client's delegation
// token (whose message, "Token has expired", names none) which token that
// was and its max date, so that a long-running application's failure says
// which token died. It keeps matching ErrInvalidToken.
func (c *Client) refusedTokenError(err error) error {
	t, ok := pickToken(c.Tokens(), c.nn.set.Current().Addr, c.cfg.NameService)
	if !ok {
		return err
	}
	id, derr := t.DelegationIdentifier()
	if derr != nil {
		return err
	}
	return fmt.Errorf("%w (the token refused: %s sequence number %d of %s for %s, issued %s, max date %s)", err,
		t.Kind, id.SequenceNumber, id.Owner, t.Service,
		id.IssueDate.UTC().Format(time.RFC3339), id.MaxDate.UTC().Format(time.RFC3339))
}

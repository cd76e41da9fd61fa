//go:build integration

package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// TestHDFSTokenRenewAndReplace: a token alice obtains with herself as
// renewer she can renew (the expiry moves forward, never past its max
// date); one whose renewer is the ResourceManager she cannot; and a
// token-only client's tokens replaced at run time are what its next calls
// authenticate with (a forged password fails, the real token works again).
func TestHDFSTokenRenewAndReplace(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	self := stagingClient(t, tb, "alice", func(c *hdfs.Config) { c.TokenRenewer = "alice" })
	toks, err := self.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := toks[0].DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if id.Renewer != "alice" {
		t.Fatalf("renewer %q, want alice", id.Renewer)
	}
	exp, err := self.RenewDelegationToken(ctx, toks[0])
	if err != nil {
		t.Fatalf("renewing alice's own token: %v", err)
	}
	if !exp.After(time.Now()) || exp.After(id.MaxDate) {
		t.Fatalf("new expiry %v: want in the future and not after the max date %v", exp, id.MaxDate)
	}
	t.Logf("renewed: issued %v, expires %v, max %v", id.IssueDate, exp, id.MaxDate)

	rmToks, err := stagingClient(t, tb, "alice", nil).DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.RenewDelegationToken(ctx, rmToks[0]); err == nil {
		t.Fatal("alice renewed a token whose renewer is the ResourceManager")
	} else {
		t.Logf("renewing the RM's token: %v", err)
	}

	// A token-only client: the token works; a forged one, swapped in,
	// is what the next call presents; the real one again works.
	c := tokenOnlyClient(t, tb, toks, "")
	if _, err := c.Stat(ctx, "/user/alice"); err != nil {
		t.Fatal(err)
	}
	if got := c.Tokens(); len(got) != len(toks) {
		t.Fatalf("Tokens() = %d tokens, want %d", len(got), len(toks))
	}
	forged := toks[0]
	forged.Password = append([]byte(nil), forged.Password...)
	forged.Password[0] ^= 0xff
	if err := c.SetTokens([]hdfs.Token{forged}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "/user/alice"); err == nil {
		t.Fatal("a call after SetTokens with a forged token succeeded: the old connection or token was used")
	} else if !errors.Is(err, hdfs.ErrUnauthorized) && !errors.Is(err, hdfs.ErrInvalidToken) {
		t.Fatalf("forged token: %v, want ErrUnauthorized or ErrInvalidToken", err)
	}
	fresh, err := self.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTokens(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "/user/alice"); err != nil {
		t.Fatalf("after SetTokens with a fresh token: %v", err)
	}
	if err := self.SetTokens(fresh); err == nil {
		t.Fatal("SetTokens on a Kerberos client succeeded")
	}
	if err := c.SetTokens(nil); err == nil {
		t.Fatal("SetTokens without a delegation token succeeded")
	}
}

package tokens

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// PushPath is the JobManager's control endpoint to which a client (the
// attached client while it follows, or `PROG credentials push`) POSTs
// fresh credentials of an application deployed without a shipped
// keytab: a control.CredentialsUpdate holding Hadoop's token storage
// format. It needs the deployment secret or the owner's ClientToAMToken.
const PushPath = "/v1/credentials"

// PushAnswer is the JobManager's answer to an accepted push.
type PushAnswer struct {
	// Tokens is how many HDFS delegation tokens it switched to.
	Tokens int `json:"tokens"`
}

// MaxPushBytes bounds the credentials a push may carry.
const MaxPushBytes = 1 << 20

// ErrRefused is matched (errors.Is) by the errors of CheckPushed about
// what the tokens are, as opposed to bytes that do not decode.
var ErrRefused = errors.New("refused")

// CheckPushed decodes pushed credentials (Hadoop's token storage format)
// and returns their HDFS delegation tokens, when they can stand in for
// held, the application's current ones: every token is one of owner's
// (short name, whatever realm or real user) and still alive at now,
// every service is one the application holds a token for, and every
// service it holds a token for gets one. Other kinds of tokens are
// ignored. Errors name tokens by their redacted formatting, never their
// passwords.
func CheckPushed(b []byte, owner string, held []hdfs.Token, now time.Time) ([]hdfs.Token, error) {
	if len(b) > MaxPushBytes {
		return nil, fmt.Errorf("%w: the pushed credentials are %d bytes, more than %d", ErrRefused, len(b), MaxPushBytes)
	}
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decoding the pushed credentials: %w", err)
	}
	toks := yarn.HDFSTokens(c)
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: the pushed credentials hold no %s (%d tokens of other kinds)", ErrRefused, hdfs.KindDelegationToken, c.NumTokens())
	}
	var want []string
	for _, t := range held {
		if t.Kind == hdfs.KindDelegationToken && !slices.Contains(want, t.Service) {
			want = append(want, t.Service)
		}
	}
	owner = hdfs.ShortName(owner)
	var got []string
	for _, t := range toks {
		id, err := t.DelegationIdentifier()
		if err != nil {
			return nil, fmt.Errorf("decoding a pushed token: %w", err)
		}
		if o := hdfs.ShortName(id.Owner); o != owner {
			return nil, fmt.Errorf("%w: pushed token %v belongs to %s, the application's tokens are %s's", ErrRefused, t, o, owner)
		}
		if !id.MaxDate.After(now) {
			return nil, fmt.Errorf("%w: pushed token %v died at its max date %s", ErrRefused, t, fmtTime(id.MaxDate))
		}
		if !slices.Contains(want, t.Service) {
			return nil, fmt.Errorf("%w: pushed token %v is for service %s; the application holds tokens for %s only", ErrRefused, t, t.Service, strings.Join(want, ", "))
		}
		got = append(got, t.Service)
	}
	for _, s := range want {
		if !slices.Contains(got, s) {
			return nil, fmt.Errorf("%w: the pushed credentials hold no token for %s, which the application reads with one", ErrRefused, s)
		}
	}
	return toks, nil
}

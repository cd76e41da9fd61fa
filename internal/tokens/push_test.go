package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/yarn"
)

// pushToken is an HDFS delegation token of owner for service, dying at max.
func pushToken(owner, service string, issue, max time.Time) hdfs.Token {
	b := []byte{0}
	for _, s := range []string{owner, "alice", ""} {
		b = writable.AppendText(b, s)
	}
	b = writable.AppendVLong(b, issue.UnixMilli())
	b = writable.AppendVLong(b, max.UnixMilli())
	b = writable.AppendVInt(b, 7)
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte("PASSWORD-SECRET"), Kind: hdfs.KindDelegationToken, Service: service}
}

func credentialBytes(t testing.TB, toks ...yarn.Token) []byte {
	t.Helper()
	c := &yarn.Credentials{}
	for _, tok := range toks {
		c.AddToken(tok.Service+"/"+tok.Kind, tok)
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckPushed: pushed tokens stand in for the held ones only when they
// are HDFS delegation tokens of the application's user, alive, for the
// same NameNodes, all of them; refusals say why and show no password.
func TestCheckPushed(t *testing.T) {
	now := time.Now()
	const nn1, nn2 = "10.0.0.1:8020", "10.0.0.2:8020"
	old := func(svc string) hdfs.Token { return pushToken("alice", svc, now.Add(-time.Hour), now.Add(time.Minute)) }
	fresh := func(owner, svc string) yarn.Token {
		return yarn.Token(pushToken(owner, svc, now, now.Add(time.Hour)))
	}
	other := yarn.Token{Kind: "RM_DELEGATION_TOKEN", Service: "rm:8032", Identifier: []byte{1}, Password: []byte("PASSWORD-SECRET")}
	held := []hdfs.Token{old(nn1), old(nn2)}
	for _, c := range []struct {
		name    string
		b       []byte
		owner   string
		want    int
		wantErr string
		refused bool
	}{
		{name: "both NameNodes", b: credentialBytes(t, fresh("alice", nn1), fresh("alice", nn2)), owner: "alice", want: 2},
		{name: "a full principal as owner", b: credentialBytes(t, fresh("alice@EXAMPLE.COM", nn1), fresh("alice/host@EXAMPLE.COM", nn2), other), owner: "alice@EXAMPLE.COM", want: 2},
		{name: "another user's", b: credentialBytes(t, fresh("alice", nn1), fresh("bob@EXAMPLE.COM", nn2)), owner: "alice", wantErr: "belongs to bob, the application's tokens are alice's", refused: true},
		{name: "a NameNode missing", b: credentialBytes(t, fresh("alice", nn1)), owner: "alice", wantErr: "no token for 10.0.0.2:8020", refused: true},
		{name: "another NameNode", b: credentialBytes(t, fresh("alice", nn1), fresh("alice", nn2), fresh("alice", "elsewhere:8020")), owner: "alice", wantErr: "is for service elsewhere:8020", refused: true},
		{name: "dead", b: credentialBytes(t, yarn.Token(pushToken("alice", nn1, now.Add(-2*time.Hour), now.Add(-time.Second))), fresh("alice", nn2)), owner: "alice", wantErr: "died at its max date", refused: true},
		{name: "no HDFS token", b: credentialBytes(t, other), owner: "alice", wantErr: "hold no HDFS_DELEGATION_TOKEN (1 tokens of other kinds)", refused: true},
		{name: "garbage", b: []byte("HDTS\x00garbage"), owner: "alice", wantErr: "decoding the pushed credentials"},
		{name: "too big", b: make([]byte, MaxPushBytes+1), owner: "alice", wantErr: "more than", refused: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := CheckPushed(c.b, c.owner, held, now)
			if c.wantErr == "" {
				if err != nil || len(got) != c.want {
					t.Fatalf("CheckPushed = %d tokens, %v; want %d", len(got), err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("CheckPushed error %v; want one saying %q", err, c.wantErr)
			}
			if errors.Is(err, ErrRefused) != c.refused {
				t.Errorf("errors.Is(%v, ErrRefused) = %v, want %v", err, !c.refused, c.refused)
			}
			if strings.Contains(err.Error(), "PASSWORD-SECRET") {
				t.Errorf("the error shows a password: %v", err)
			}
		})
	}
}

// FuzzCheckPushed: whatever bytes a client pushes, CheckPushed returns
// tokens or an error, and the tokens it returns are alice's and for the
// held service.
func FuzzCheckPushed(f *testing.F) {
	now := time.UnixMilli(1_700_000_000_000)
	held := []hdfs.Token{pushToken("alice", "nn:8020", now.Add(-time.Hour), now.Add(time.Hour))}
	f.Add(credentialBytes(f, yarn.Token(pushToken("alice", "nn:8020", now, now.Add(time.Hour)))))
	f.Add(credentialBytes(f, yarn.Token(pushToken("bob", "nn:8020", now, now.Add(time.Hour)))))
	f.Add([]byte("HDTS\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		toks, err := CheckPushed(b, "alice", held, now)
		if err != nil {
			return
		}
		for _, tok := range toks {
			id, err := tok.DelegationIdentifier()
			if err != nil || hdfs.ShortName(id.Owner) != "alice" || tok.Service != "nn:8020" || !id.MaxDate.After(now) {
				t.Fatalf("accepted %v (%+v, %v)", tok, id, err)
			}
		}
	})
}

package taskmanager

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/yarn"
)

func testToken(owner string, seq int32) hdfs.Token {
	now := time.Now()
	b := []byte{0}
	for _, s := range []string{owner, owner, ""} {
		b = writable.AppendText(b, s)
	}
	b = writable.AppendVLong(b, now.UnixMilli())
	b = writable.AppendVLong(b, now.Add(time.Hour).UnixMilli())
	b = writable.AppendVInt(b, seq)
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte("PASSWORD-SECRET"), Kind: hdfs.KindDelegationToken, Service: "127.0.0.1:1"}
}

func testCreds(t *testing.T, tok hdfs.Token) []byte {
	c := &yarn.Credentials{}
	c.AddToken(tok.Service, tok)
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seqHeld(t *testing.T, c *hdfs.Client) string {
	id, err := c.Tokens()[0].DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	return id.Owner + "/" + string(rune('0'+id.SequenceNumber))
}

// TestJobCredentialsSwitchOneJob: a job's pushed credentials switch that
// job's client (made already, or made now from them), never another
// job's; bad bytes are logged without a password and change nothing.
func TestJobCredentialsSwitchOneJob(t *testing.T) {
	var logs bytes.Buffer
	made := 0
	tm := &TaskManager{jobFS: map[string]*hdfs.Client{}, log: slog.New(slog.NewTextHandler(&logs, nil)), cfg: Config{
		JobHDFS: func(b []byte) (*hdfs.Client, error) {
			made++
			c := &yarn.Credentials{}
			if err := c.UnmarshalBinary(b); err != nil {
				return nil, err
			}
			return hdfs.NewClient(hdfs.Config{NameNodes: []string{"127.0.0.1:1"}, User: "x", Tokens: yarn.HDFSTokens(c)})
		},
	}}
	defer tm.forgetAll()
	alice, err := tm.jobHDFS("a", testCreds(t, testToken("alice", 1)))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := tm.jobHDFS("b", testCreds(t, testToken("bob", 1)))
	if err != nil {
		t.Fatal(err)
	}
	tm.updateJobCredentials(&control.JobCredentials{Job: "a", Tokens: testCreds(t, testToken("alice", 2))})
	if got := seqHeld(t, alice); got != "alice/2" {
		t.Errorf("alice's job's client holds %s, want alice/2", got)
	}
	if got := seqHeld(t, bob); got != "bob/1" {
		t.Errorf("bob's job's client holds %s, want bob/1 (untouched)", got)
	}
	// A job whose subtasks did not use HDFS yet: its client is made now
	// from the pushed tokens, and its subtasks get that one.
	tm.updateJobCredentials(&control.JobCredentials{Job: "c", Tokens: testCreds(t, testToken("carol", 3))})
	c, err := tm.jobHDFS("c", testCreds(t, testToken("carol", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := seqHeld(t, c); got != "carol/3" || made != 3 {
		t.Errorf("carol's job's client holds %s (%d clients made), want carol/3 (3)", got, made)
	}
	tm.updateJobCredentials(&control.JobCredentials{Job: "a", Tokens: []byte("PASSWORD-SECRET garbage")})
	if got := seqHeld(t, alice); got != "alice/2" {
		t.Errorf("after bad bytes, alice's job's client holds %s, want alice/2", got)
	}
	out := logs.String()
	if strings.Count(out, "a job's HDFS access switched to a new delegation token") != 2 || !strings.Contains(out, "owner=alice") ||
		!strings.Contains(out, "switching a job to its pushed credentials") || strings.Contains(out, "PASSWORD-SECRET") {
		t.Errorf("log:\n%s", out)
	}
}

func TestJobCredentialsFormatting(t *testing.T) {
	u := control.JobCredentials{Job: "j1", Tokens: []byte("PASSWORD-SECRET")}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "u", u, "p", &u)
	for _, s := range []string{u.String(), logs.String()} {
		if strings.Contains(s, "PASSWORD") || !strings.Contains(s, "j1") {
			t.Errorf("%q", s)
		}
	}
}

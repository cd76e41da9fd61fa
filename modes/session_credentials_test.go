package modes

import (
	"bytes"
	"context"
	"testing"

	"github.com/spindle-yarn/spindle/modes/internal/deploy"
)

// TestJobUser: a session job's tokens are its proxy user's when it has
// one, else the submitter's.
func TestJobUser(t *testing.T) {
	for _, c := range []struct {
		req  deploy.Request
		want string
	}{
		{deploy.Request{User: "alice"}, "alice"},
		{deploy.Request{User: "svc", ProxyUser: "bob"}, "bob"},
	} {
		if got := jobUser(c.req); got != c.want {
			t.Errorf("%+v: %q, want %q", c.req, got, c.want)
		}
	}
}

// TestKeepJobCredentialsOff: a job without credentials of its own (no
// Kerberos), or with pushes turned off, gets no pusher and no output.
func TestKeepJobCredentialsOff(t *testing.T) {
	var out bytes.Buffer
	for _, c := range []struct {
		req   deploy.Request
		creds []byte
	}{
		{deploy.Request{User: "alice"}, nil},
		{deploy.Request{User: "alice", Config: map[string]string{deploy.PushCredentialsKey: "false"}}, []byte{1}},
	} {
		stop := keepJobCredentials(context.Background(), nil, "job-1", c.req, c.creds, &out)
		stop()
	}
	if out.Len() != 0 {
		t.Errorf("output: %q", out.String())
	}
}

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

type nopPool struct{}

func (nopPool) SetTaskManagers(int) error { return nil }
func (nopPool) Release(string) error      { return nil }

// delegationToken is an HDFS delegation token of owner for nn:8020.
func delegationToken(owner string, seq int32, issue time.Time, password string) hdfs.Token {
	b := []byte{0}
	for _, s := range []string{owner, "rm", ""} {
		b = writable.AppendText(b, s)
	}
	b = writable.AppendVLong(b, issue.UnixMilli())
	b = writable.AppendVLong(b, issue.Add(time.Hour).UnixMilli())
	b = writable.AppendVInt(b, seq)
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte(password), Kind: hdfs.KindDelegationToken, Service: "nn:8020"}
}

func credentialsOf(toks ...hdfs.Token) *yarn.Credentials {
	c := &yarn.Credentials{}
	for _, t := range toks {
		c.AddToken(t.Service, yarn.Token(t))
	}
	return c
}

// TestCredentialsEndpoint: a push of the owner's fresh tokens reaches the
// renewer, the TaskManagers and the JobManager's own HDFS client (made
// later from them); a ClientToAMToken user other than the owner, another
// user's tokens and undecodable bodies are refused without a trace, and
// an application without tokens says there is nothing to replace. No
// password reaches the log.
func TestCredentialsEndpoint(t *testing.T) {
	now := time.Now()
	held := delegationToken("alice", 1, now.Add(-time.Minute), "OLD-PASSWORD")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	jm, err := jobmanager.New(jobmanager.Config{Pool: nopPool{}, TaskManager: jobgraph.TaskManagerSpec{Slots: 1}, PollTimeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := jm.Register(control.RegisterRequest{ID: "tm1", DataAddr: "127.0.0.1:1", Slots: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := tokens.New(tokens.Config{Tokens: []hdfs.Token{held}})
	if err != nil {
		t.Fatal(err)
	}
	a := &AppMaster{
		Spec: &launch.ClusterSpec{AppID: "application_1700000000000_0001", HDFS: launch.HDFSSpec{User: "alice"}},
		JM:   jm, log: log, creds: credentialsOf(held), tokens: &tokenKeeper{r: r},
	}
	h := a.withCredentialsEndpoint(http.NotFoundHandler())
	push := func(caller *clienttoam.Caller, body []byte) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, tokens.PushPath, bytes.NewReader(body))
		if caller != nil {
			req = req.WithContext(clienttoam.WithCaller(req.Context(), *caller))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, strings.TrimSpace(string(b))
	}
	update := func(toks ...hdfs.Token) []byte {
		b, err := credentialsOf(toks...).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(control.CredentialsUpdate{Tokens: b})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	heldNow := func() int32 {
		id, err := r.Tokens()[0].DelegationIdentifier()
		if err != nil {
			t.Fatal(err)
		}
		return id.SequenceNumber
	}

	fresh := delegationToken("alice@EXAMPLE.COM", 2, now, "NEW-PASSWORD")
	if code, msg := push(&clienttoam.Caller{User: "carol"}, update(fresh)); code != http.StatusForbidden || !strings.Contains(msg, "only its owner") {
		t.Errorf("carol (MODIFY ACL, not the owner) pushed: %d %q; want 403", code, msg)
	}
	if code, msg := push(nil, update(delegationToken("bob", 3, now, "BOB-PASSWORD"))); code != http.StatusBadRequest || !strings.Contains(msg, "belongs to bob") {
		t.Errorf("bob's token: %d %q; want 400 naming bob", code, msg)
	}
	if code, msg := push(nil, []byte(`{"tokens":"bm90IGNyZWRlbnRpYWxz"}`)); code != http.StatusBadRequest || !strings.Contains(msg, "decoding the pushed credentials") {
		t.Errorf("garbage: %d %q; want 400", code, msg)
	}
	if code, _ := push(nil, []byte(`{`)); code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d; want 400", code)
	}
	if seq := heldNow(); seq != 1 {
		t.Fatalf("a refused push replaced the held token: now sequence number %d", seq)
	}
	cs, err := jm.Commands(context.Background(), "tm1", 0)
	if err != nil || len(cs) != 0 {
		t.Fatalf("the TaskManager got %d commands (%v) from refused pushes", len(cs), err)
	}

	code, msg := push(&clienttoam.Caller{User: "alice", Owner: true}, update(fresh))
	var ans tokens.PushAnswer
	if code != http.StatusOK || json.Unmarshal([]byte(msg), &ans) != nil || ans.Tokens != 1 {
		t.Fatalf("the owner's push: %d %q; want 200 with 1 token", code, msg)
	}
	if seq := heldNow(); seq != 2 {
		t.Errorf("the renewer holds sequence number %d, want the pushed 2", seq)
	}
	cs, err = jm.Commands(context.Background(), "tm1", 0)
	if err != nil || len(cs) != 1 || cs[0].Credentials == nil {
		t.Fatalf("the TaskManager's commands after the push: %v %v; want one credentials update", cs, err)
	}
	var got yarn.Credentials
	if err := got.UnmarshalBinary(cs[0].Credentials.Tokens); err != nil || len(yarn.HDFSTokens(&got)) != 1 || string(yarn.HDFSTokens(&got)[0].Password) != "NEW-PASSWORD" {
		t.Errorf("the TaskManager's credentials update does not hold the pushed token (%v)", err)
	}
	// The JobManager's HDFS client, not made yet, starts from them.
	if toks := yarn.HDFSTokens(a.creds); len(toks) != 1 || string(toks[0].Password) != "NEW-PASSWORD" {
		t.Errorf("the JobManager's credentials for its HDFS client hold %d tokens, not the pushed one", len(toks))
	}
	// A TaskManager started later gets them too.
	l := a.withNewestTokens(yarn.ContainerLaunchContext{Credentials: credentialsOf(held)})
	if toks := yarn.HDFSTokens(l.Credentials); len(toks) != 1 || string(toks[0].Password) != "NEW-PASSWORD" {
		t.Errorf("a later TaskManager's launch context holds %d tokens, not the pushed one", len(toks))
	}

	a.tokens = nil
	if code, msg := push(nil, update(fresh)); code != http.StatusConflict || !strings.Contains(msg, "nothing to replace") {
		t.Errorf("an application without tokens: %d %q; want 409", code, msg)
	}
	for _, secret := range []string{"OLD-PASSWORD", "NEW-PASSWORD", "BOB-PASSWORD"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a token password:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "a client pushed a fresh HDFS delegation token") {
		t.Errorf("the log does not say the application switched:\n%s", logs.String())
	}
}

// TestExpiryHint: a failed application whose token died says so and what
// to configure in its diagnostics; one whose tokens live does not.
func TestExpiryHint(t *testing.T) {
	spec := &launch.ClusterSpec{AppID: "application_1700000000000_0002", Name: "nightly", Program: "wc"}
	alive, err := tokens.New(tokens.Config{Tokens: []hdfs.Token{delegationToken("alice", 5, time.Now(), "P")}})
	if err != nil {
		t.Fatal(err)
	}
	a := &AppMaster{Spec: spec, tokens: &tokenKeeper{r: alive}}
	if got := a.withExpiryHint("job failed: x\n"); got != "job failed: x\n" {
		t.Errorf("live tokens: %q", got)
	}
	dead, err := tokens.New(tokens.Config{Tokens: []hdfs.Token{delegationToken("alice", 6, time.Now().Add(-2*time.Hour), "P")}})
	if err != nil {
		t.Fatal(err)
	}
	a.tokens = &tokenKeeper{r: dead}
	got := a.withExpiryHint("job failed: x\n")
	for _, want := range []string{"job failed: x\nThe application's HDFS_DELEGATION_TOKEN sequence number 6 of alice", "-ship-keytab", "wc credentials push -id application_1700000000000_0002"} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostics %q lack %q", got, want)
		}
	}
}

package deploy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

func testToken(seq int32) hdfs.Token {
	b := []byte{0}
	for _, s := range []string{"alice", "alice", ""} {
		b = writable.AppendText(b, s)
	}
	now := time.Now()
	b = writable.AppendVLong(b, now.UnixMilli())
	b = writable.AppendVLong(b, now.Add(time.Hour).UnixMilli())
	b = writable.AppendVInt(b, seq)
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte("PASSWORD-SECRET"), Kind: hdfs.KindDelegationToken, Service: "nn:8020"}
}

// TestCredentialsPusher: a push waits for the JobManager's address, then
// posts the tokens in Hadoop's format over the deployment's mutual TLS;
// refusals and successes become lines Follow prints, without passwords.
func TestCredentialsPusher(t *testing.T) {
	secret, err := secure.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, clientTLS, err := secure.TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []hdfs.Token
	refuse := false
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != tokens.PushPath {
			http.NotFound(w, r)
			return
		}
		var u control.CredentialsUpdate
		c := &yarn.Credentials{}
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil || c.UnmarshalBinary(u.Tokens) != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			http.Error(w, "pushed token belongs to bob", http.StatusBadRequest)
			return
		}
		got = yarn.HDFSTokens(c)
		json.NewEncoder(w).Encode(tokens.PushAnswer{Tokens: len(got)})
	}))
	srv.TLS = serverTLS
	srv.StartTLS()
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	portN, _ := strconv.Atoi(port)

	p := &credentialsPusher{clientTLS: clientTLS}
	ctx := context.Background()
	if err := p.push(ctx, []hdfs.Token{testToken(1)}); err == nil || !strings.Contains(err.Error(), "not registered yet") {
		t.Fatalf("push before the JobManager registered: %v", err)
	}
	p.report(yarn.ApplicationReport{State: yarn.ApplicationRunning, Host: host, RPCPort: int32(portN)})
	if err := p.push(ctx, []hdfs.Token{testToken(2)}); err != nil {
		t.Fatalf("push: %v", err)
	}
	mu.Lock()
	if len(got) != 1 || string(got[0].Password) != "PASSWORD-SECRET" || got[0].Service != "nn:8020" {
		t.Errorf("the JobManager got %v", got)
	}
	refuse = true
	mu.Unlock()
	if err := p.push(ctx, []hdfs.Token{testToken(3)}); err == nil || !strings.Contains(err.Error(), "belongs to bob") {
		t.Errorf("a refused push: %v", err)
	}
	news := strings.Join(p.takeNews(), "\n")
	for _, want := range []string{"not registered yet", "pushed 1 fresh HDFS delegation tokens to the JobManager (HDFS_DELEGATION_TOKEN sequence number 2 of alice", "failed (will retry)"} {
		if !strings.Contains(news, want) {
			t.Errorf("the lines printed lack %q:\n%s", want, news)
		}
	}
	if strings.Contains(news, "PASSWORD-SECRET") {
		t.Errorf("a password in the lines printed:\n%s", news)
	}
	if len(p.takeNews()) != 0 {
		t.Error("takeNews returned the same lines twice")
	}
}

// TestKeepCredentialsOnlyWhenNeeded: no pusher for a shipped keytab, a
// deployment without tokens, one made by Attach, or -D
// spindle.client.push-credentials=false.
func TestKeepCredentialsOnlyWhenNeeded(t *testing.T) {
	secret, _ := secure.NewSecret()
	base := func() *Deployment {
		return &Deployment{Secret: secret, Spec: &launch.ClusterSpec{Config: map[string]string{}}, tokens: []hdfs.Token{testToken(1)},
			log: slog.New(slog.DiscardHandler)}
	}
	for name, d := range map[string]*Deployment{
		"keytab shipped": func() *Deployment { d := base(); d.Spec.Keytab = &launch.KeytabSpec{Principal: "alice"}; return d }(),
		"no tokens":      func() *Deployment { d := base(); d.tokens = nil; return d }(),
		"attached":       func() *Deployment { d := base(); d.attached = true; return d }(),
		"turned off":     func() *Deployment { d := base(); d.Spec.Config[PushCredentialsKey] = "false"; return d }(),
		// No Kerberos configuration: no client to obtain tokens with.
		"no kerberos": base(),
	} {
		report, news, stop := d.keepCredentials(context.Background())
		report(yarn.ApplicationReport{})
		if n := news(); n != nil {
			t.Errorf("%s: news %q", name, n)
		}
		stop()
	}
}

// fakeJobManager serves tokens.PushPath over the deployment's TLS and
// records the sequence numbers pushed to it.
func fakeJobManager(t *testing.T, serverTLS *tls.Config) (report yarn.ApplicationReport, pushed func() []int32) {
	t.Helper()
	var mu sync.Mutex
	var seqs []int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u control.CredentialsUpdate
		c := &yarn.Credentials{}
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil || c.UnmarshalBinary(u.Tokens) != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		toks := yarn.HDFSTokens(c)
		mu.Lock()
		for _, tok := range toks {
			id, _ := tok.DelegationIdentifier()
			seqs = append(seqs, id.SequenceNumber)
		}
		mu.Unlock()
		json.NewEncoder(w).Encode(tokens.PushAnswer{Tokens: len(toks)})
	}))
	srv.TLS = serverTLS
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	portN, _ := strconv.Atoi(port)
	return yarn.ApplicationReport{State: yarn.ApplicationRunning, Host: host, RPCPort: int32(portN)}, func() []int32 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seqs)
	}
}

// TestCredentialsPusherFollowsNewAttempt: the JobManager of a new attempt
// (a new address) gets the tokens last pushed at once; before any push
// there is nothing to send it.
func TestCredentialsPusherFollowsNewAttempt(t *testing.T) {
	secret, _ := secure.NewSecret()
	serverTLS, clientTLS, err := secure.TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	first, firstGot := fakeJobManager(t, serverTLS)
	second, secondGot := fakeJobManager(t, serverTLS)
	third, thirdGot := fakeJobManager(t, serverTLS)
	p := &credentialsPusher{clientTLS: clientTLS, moved: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.followMoves(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	p.report(first)
	p.report(second) // moved before any push: nothing to send
	if err := p.push(ctx, []hdfs.Token{testToken(7)}); err != nil {
		t.Fatal(err)
	}
	p.report(third)
	deadline := time.Now().Add(10 * time.Second)
	for len(thirdGot()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The move to second may be handled after the push, which then goes
	// to second or third twice: harmless.
	only7 := func(got []int32) bool {
		return len(got) > 0 && !slices.ContainsFunc(got, func(s int32) bool { return s != 7 })
	}
	if got := thirdGot(); !only7(got) {
		t.Errorf("the new attempt's JobManager got %v, want the last pushed, 7", got)
	}
	if got := secondGot(); !only7(got) {
		t.Errorf("the JobManager at the time of the push got %v, want 7", got)
	}
	if got := firstGot(); len(got) != 0 {
		t.Errorf("the first JobManager got %v before any push", got)
	}
}

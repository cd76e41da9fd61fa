package jobmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/yarn"
)

const testNN = "127.0.0.1:1"

// jobToken is an HDFS delegation token of owner with sequence number seq,
// issued now and dying after life.
func jobToken(owner string, seq int, life time.Duration) hdfs.Token {
	now := time.Now()
	b := []byte{0}
	for _, s := range []string{owner, owner, ""} {
		b = writable.AppendText(b, s)
	}
	b = writable.AppendVLong(b, now.UnixMilli())
	b = writable.AppendVLong(b, now.Add(life).UnixMilli())
	b = writable.AppendVInt(b, int32(seq))
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte("PASSWORD-SECRET"), Kind: hdfs.KindDelegationToken, Service: testNN}
}

func credsOf(t *testing.T, toks ...hdfs.Token) []byte {
	t.Helper()
	c := &yarn.Credentials{}
	for _, tok := range toks {
		c.AddToken(tok.Service, tok)
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seqOf(t *testing.T, tok hdfs.Token) (string, int) {
	t.Helper()
	id, err := tok.DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	return id.Owner, int(id.SequenceNumber)
}

func tokenClient(t *testing.T, creds []byte) (*hdfs.Client, error) {
	c := &yarn.Credentials{}
	if err := c.UnmarshalBinary(creds); err != nil {
		return nil, err
	}
	toks := yarn.HDFSTokens(c)
	owner, _ := seqOf(t, toks[0])
	return hdfs.NewClient(hdfs.Config{NameNodes: []string{testNN}, User: owner, Tokens: toks})
}

// TestJobCredentialsReplaced: in a session running a job of alice's and
// one of bob's at once, each with credentials of its own, tokens pushed
// for alice's job switch that job's HDFS client in the JobManager and in
// the TaskManager serving it; bob's job's client and TaskManager are not
// touched. Pushes of another
// user's tokens, of dead ones, for other NameNodes, by a ClientToAMToken
// user who is neither the job's nor the session's owner, or to an
// unknown or ended job are refused.
func TestJobCredentialsReplaced(t *testing.T) {
	jm, p := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 4})
	// What each TaskManager's job clients hold: TaskManager → job clients.
	var mu sync.Mutex
	tmClients := map[string][]*hdfs.Client{}
	p.mu.Lock()
	p.jobHDFS = func(id string, creds []byte) (*hdfs.Client, error) {
		c, err := tokenClient(t, creds)
		if err == nil {
			mu.Lock()
			tmClients[id] = append(tmClients[id], c)
			mu.Unlock()
		}
		return c, err
	}
	p.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jmClients := map[string]*hdfs.Client{}
	var wg sync.WaitGroup
	for _, user := range []string{"alice", "bob"} {
		creds := credsOf(t, jobToken(user, 1, time.Hour))
		c, err := tokenClient(t, creds)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		jmClients[user] = c
		g := &jobgraph.JobGraph{ID: "job-" + user, Vertices: []jobgraph.Vertex{{ID: "b", Operator: "test.block", Parallelism: 1}}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			jm.RunWith(ctx, g, jobmanager.RunOptions{Identity: user, Credentials: creds,
				HDFS: func(context.Context) (*hdfs.Client, error) { return c, nil }})
		}()
	}
	defer wg.Wait()
	running := func(id string) bool {
		for _, st := range jm.Jobs() {
			if st.ID == id && st.Subtasks.Running == 1 {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !running("job-alice") || !running("job-bob") {
		if time.Now().After(deadline) {
			t.Fatalf("the jobs did not start: %+v", jm.Jobs())
		}
		time.Sleep(20 * time.Millisecond)
	}

	h := jm.Handler()
	push := func(job string, caller *clienttoam.Caller, creds []byte) (int, string) {
		body, _ := json.Marshal(control.CredentialsUpdate{Tokens: creds})
		req := httptest.NewRequest(http.MethodPost, control.JobCredentialsPath(job), bytes.NewReader(body))
		if caller != nil {
			req = req.WithContext(clienttoam.WithCaller(req.Context(), *caller))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	otherNN := jobToken("alice", 9, time.Hour)
	otherNN.Service = "10.9.9.9:8020"
	for _, c := range []struct {
		name   string
		job    string
		caller *clienttoam.Caller
		creds  []byte
		status int
		says   string
	}{
		{"bob's tokens to alice's job", "job-alice", nil, credsOf(t, jobToken("bob", 7, time.Hour)), http.StatusBadRequest, "belongs to bob"},
		{"dead tokens", "job-alice", nil, credsOf(t, jobToken("alice", 7, -time.Second)), http.StatusBadRequest, "died at its max date"},
		{"another NameNode", "job-alice", nil, credsOf(t, otherNN), http.StatusBadRequest, "is for service 10.9.9.9:8020"},
		{"bob's ClientToAMToken", "job-alice", &clienttoam.Caller{User: "bob"}, credsOf(t, jobToken("alice", 7, time.Hour)), http.StatusForbidden, "may not push credentials to job job-alice"},
		{"unknown job", "job-carol", nil, credsOf(t, jobToken("alice", 7, time.Hour)), http.StatusNotFound, "no such job"},
		{"not credentials", "job-alice", nil, []byte("garbage"), http.StatusBadRequest, "decoding the pushed credentials"},
	} {
		code, body := push(c.job, c.caller, c.creds)
		if code != c.status || !strings.Contains(body, c.says) || strings.Contains(body, "PASSWORD-SECRET") {
			t.Errorf("%s: %d %q; want %d saying %q", c.name, code, body, c.status, c.says)
		}
	}
	// alice herself (a ClientToAMToken), then the secret's holder.
	for i, caller := range []*clienttoam.Caller{{User: "alice@EXAMPLE.COM"}, nil} {
		seq := 2 + i
		if code, body := push("job-alice", caller, credsOf(t, jobToken("alice", seq, time.Hour))); code != http.StatusOK || !strings.Contains(body, `"tokens":1`) {
			t.Fatalf("push %d: %d %s", seq, code, body)
		}
		if _, s := seqOf(t, jmClients["alice"].Tokens()[0]); s != seq {
			t.Errorf("push %d: alice's job's client in the JobManager holds token %d", seq, s)
		}
	}
	if _, s := seqOf(t, jmClients["bob"].Tokens()[0]); s != 1 {
		t.Errorf("bob's job's client in the JobManager holds token %d, want its own 1", s)
	}
	// The TaskManagers: alice's gets the last push, bob's nothing.
	tokensOf := func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for id, cs := range tmClients {
			var parts []string
			for _, c := range cs {
				o, s := seqOf(t, c.Tokens()[0])
				parts = append(parts, fmt.Sprintf("%s/%d", o, s))
			}
			out[id] = strings.Join(parts, ",")
		}
		return out
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		got := tokensOf()
		var vals []string
		for _, v := range got {
			vals = append(vals, v)
		}
		if len(got) == 1 && vals[0] == "alice/3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TaskManagers' job clients: %v; want one TaskManager (alice's) holding alice/3", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// After the job ended, pushes are refused.
	cancel()
	wg.Wait()
	if code, body := push("job-alice", nil, credsOf(t, jobToken("alice", 5, time.Hour))); code != http.StatusConflict || !strings.Contains(body, "ended") {
		t.Errorf("push to an ended job: %d %q", code, body)
	}
}

// TestJobCredentialsStored: a pushed job's stored submission (for the
// next ApplicationMaster attempt) carries the fresh credentials, so that
// a JobManager of that attempt runs it with them; the job's end removes
// it as before.
func TestJobCredentialsStored(t *testing.T) {
	store := &memStore{jobs: map[string][]byte{}}
	jm, _ := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 2, Store: store})
	g, err := jobgraph.Encode(&jobgraph.JobGraph{Vertices: []jobgraph.Vertex{{ID: "b", Operator: "test.block", Parallelism: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	h := jm.Handler()
	post := func(path string, v any) (int, string) {
		body, _ := json.Marshal(v)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	code, body := post("/v1/jobs", jobmanager.SubmitRequest{Graph: g, Identity: "alice", Credentials: credsOf(t, jobToken("alice", 1, time.Hour))})
	var resp jobmanager.SubmitResponse
	if code != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil {
		t.Fatalf("submit: %d %s", code, body)
	}
	storedSeq := func() int {
		b, err := store.Load()
		if err != nil || b[resp.ID] == nil {
			return 0
		}
		var req jobmanager.SubmitRequest
		if err := json.Unmarshal(b[resp.ID], &req); err != nil {
			t.Fatal(err)
		}
		c := &yarn.Credentials{}
		if err := c.UnmarshalBinary(req.Credentials); err != nil {
			t.Fatal(err)
		}
		_, s := seqOf(t, yarn.HDFSTokens(c)[0])
		return s
	}
	if s := storedSeq(); s != 1 {
		t.Fatalf("stored submission holds token %d, want 1", s)
	}
	if code, body := post(control.JobCredentialsPath(resp.ID), control.CredentialsUpdate{Tokens: credsOf(t, jobToken("alice", 2, time.Hour))}); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, body)
	}
	if s := storedSeq(); s != 2 {
		t.Errorf("after the push, the stored submission holds token %d, want 2", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := jm.Cancel(resp.ID); err != nil {
		t.Fatal(err)
	}
	for storedSeq() != 0 {
		if ctx.Err() != nil {
			t.Fatal("the cancelled job's submission stayed stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package jobmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/operator"
)

func init() {
	// test.tokenfail fails as a task whose HDFS token died does.
	operator.Register("test.tokenfail", func(ctx context.Context, t *operator.Task) error {
		return errors.New("reading /in: token expired (the token refused: HDFS_DELEGATION_TOKEN sequence number 1 of alice)")
	})
}

// fakeKeeper records what a session tells a job's token keeper.
type fakeKeeper struct {
	job     string
	creds   []byte
	replace func(context.Context, []byte) error

	mu      sync.Mutex
	pushed  []int // sequence numbers of pushed tokens
	stopped bool
}

func (k *fakeKeeper) Pushed(toks []hdfs.Token) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range toks {
		id, _ := t.DelegationIdentifier()
		k.pushed = append(k.pushed, int(id.SequenceNumber))
	}
}

func (k *fakeKeeper) Explain(cause string) string {
	return cause + "\nEXPLAINED BY THE KEEPER of " + k.job
}

func (k *fakeKeeper) Stop() {
	k.mu.Lock()
	k.stopped = true
	k.mu.Unlock()
}

func (k *fakeKeeper) state() ([]int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]int(nil), k.pushed...), k.stopped
}

// TestSessionJobTokenKeeper: a session starts SessionConfig.KeepJobTokens
// for each submitted job that carries credentials, with the job's id and
// credentials: tokens the keeper obtains (replace) switch the job's client
// in the JobManager, without being reported back to it as pushed; tokens a
// client pushes reach it (Pushed); it stops when the job ends; a failed
// job's root cause is what its Explain makes of the failure. A job without
// credentials of its own gets no keeper.
func TestSessionJobTokenKeeper(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keepers := make(chan *fakeKeeper, 4)
	clients := map[string]*hdfs.Client{} // by the job's first token's sequence number
	var cmu sync.Mutex
	_, p := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 2,
		JobHDFS: func(b []byte) (func(context.Context) (*hdfs.Client, error), func(), error) {
			c, err := tokenClient(t, b)
			if err != nil {
				return nil, nil, err
			}
			cmu.Lock()
			_, seq := seqOf(t, c.Tokens()[0])
			clients[string(rune('0'+seq))] = c
			cmu.Unlock()
			return func(context.Context) (*hdfs.Client, error) { return c, nil }, func() { c.Close() }, nil
		},
		KeepJobTokens: func(ctx context.Context, job string, creds []byte, replace func(context.Context, []byte) error) (jobmanager.JobTokenKeeper, error) {
			k := &fakeKeeper{job: job, creds: creds, replace: replace}
			keepers <- k
			return k, nil
		},
	})
	cc := control.NewClient(p.jmAddr, p.client)
	defer cc.Close()
	submit := func(op string, creds []byte) string {
		g, err := jobgraph.Encode(&jobgraph.JobGraph{Vertices: []jobgraph.Vertex{{ID: "v", Operator: op, Parallelism: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		var resp jobmanager.SubmitResponse
		if err := cc.Do(ctx, http.MethodPost, "/v1/jobs", jobmanager.SubmitRequest{Graph: g, Identity: "alice", Credentials: creds}, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.ID
	}

	// A job without credentials: no keeper.
	plain := submit("test.block", nil)
	if err := cc.Cancel(ctx, plain); err != nil {
		t.Fatal(err)
	}

	creds := credsOf(t, jobToken("alice", 1, time.Hour))
	id := submit("test.block", creds)
	var k *fakeKeeper
	select {
	case k = <-keepers:
	case <-ctx.Done():
		t.Fatal("no keeper started for a job with credentials")
	}
	if k.job != id || !bytes.Equal(k.creds, creds) {
		t.Errorf("keeper started for job %q with %d bytes of credentials; want %s with the job's %d", k.job, len(k.creds), id, len(creds))
	}
	// The keeper obtained fresh tokens: the job switches to them.
	if err := k.replace(ctx, credsOf(t, jobToken("alice", 2, time.Hour))); err != nil {
		t.Fatalf("replace: %v", err)
	}
	cmu.Lock()
	c := clients["1"]
	cmu.Unlock()
	if _, s := seqOf(t, c.Tokens()[0]); s != 2 {
		t.Errorf("after the keeper's replace the job's client holds token %d, want 2", s)
	}
	// A client pushes: the keeper hears of it, and only of that.
	body, _ := json.Marshal(control.CredentialsUpdate{Tokens: credsOf(t, jobToken("alice", 3, time.Hour))})
	rec := httptest.NewRecorder()
	p.jm.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, control.JobCredentialsPath(id), bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	if pushed, stopped := k.state(); len(pushed) != 1 || pushed[0] != 3 || stopped {
		t.Errorf("the keeper heard of pushes %v (stopped %v); want [3], running", pushed, stopped)
	}
	if err := cc.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, stopped := k.state(); !stopped; _, stopped = k.state() {
		if ctx.Err() != nil {
			t.Fatal("the keeper was not stopped when its job ended")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A job failing on a dead token: its root cause is the keeper's.
	failing := submit("test.tokenfail", credsOf(t, jobToken("alice", 4, time.Hour)))
	k = <-keepers
	for {
		var st *control.JobStatus
		for _, s := range p.jm.Jobs() {
			if s.ID == failing {
				st = &s
			}
		}
		if st != nil && st.State == jobmanager.StateFailed {
			if !strings.Contains(st.RootCause, "the token refused") || !strings.HasSuffix(st.RootCause, "EXPLAINED BY THE KEEPER of "+failing) {
				t.Errorf("root cause %q: want the failure, then the keeper's explanation", st.RootCause)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("job %s did not fail: %+v", failing, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case extra := <-keepers:
		t.Errorf("a keeper started for job %s too", extra.job)
	default:
	}
}

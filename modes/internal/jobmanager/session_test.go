package jobmanager_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
)

// newSession is newRuntime with a session's JobManager, serving until
// the test ends.
func newSession(t *testing.T, slots int, sc jobmanager.SessionConfig) (*jobmanager.JobManager, *pool) {
	t.Helper()
	secret, err := secure.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	server, client, err := secure.TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	p := &pool{t: t, jmAddr: ln.Addr().String(), secret: secret, client: client, slots: slots, live: map[string]context.CancelFunc{}}
	jm, err := jobmanager.New(jobmanager.Config{
		TaskManager: jobgraph.TaskManagerSpec{Slots: slots}, Pool: p, Session: &sc, Logger: testLogger(t),
		PollTimeout: 2 * time.Second, CancelTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.jm = jm
	srv := &http.Server{Handler: jm.Handler()}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { jm.RunSession(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		jm.Close()
		p.mu.Lock()
		for _, c := range p.live {
			c()
		}
		p.mu.Unlock()
		p.wg.Wait()
		srv.Close()
	})
	return jm, p
}

func (p *pool) startedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

func run(t *testing.T, jm *jobmanager.JobManager, id, identity string, par int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := jm.RunWith(ctx, countGraph(id, 5000, par, jobgraph.RestartStrategy{}), jobmanager.RunOptions{Identity: identity})
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	checkCounts(t, sinkOf(id, 0), want(5000))
	if r.State != jobmanager.StateFinished {
		t.Fatalf("job %s: %s", id, r.State)
	}
}

// Jobs of one identity reuse the TaskManagers the session keeps; a job of
// another identity gets TaskManagers of its own.
func TestSessionReusesTaskManagersPerIdentity(t *testing.T) {
	jm, p := newSession(t, 2, jobmanager.SessionConfig{MinTaskManagers: 1, MaxTaskManagers: 4})
	run(t, jm, "s-a1", "alice", 2)
	run(t, jm, "s-a2", "alice", 2)
	if n := p.startedCount(); n != 1 {
		t.Fatalf("two jobs of alice started %d TaskManagers, want the session's one", n)
	}
	run(t, jm, "s-b1", "bob", 2)
	if n := p.startedCount(); n != 2 {
		t.Fatalf("bob's job after alice's: %d TaskManagers started, want 2 (bob never runs in alice's)", n)
	}
	run(t, jm, "s-a3", "alice", 2)
	if n := p.startedCount(); n != 2 {
		t.Fatalf("alice's third job: %d TaskManagers started, want 2 (hers reused)", n)
	}
}

// At the session's maximum, a job of another identity takes the place of
// an idle TaskManager, which is released; jobs beyond capacity wait and
// run in turn.
func TestSessionCapacity(t *testing.T) {
	jm, p := newSession(t, 2, jobmanager.SessionConfig{MinTaskManagers: 0, MaxTaskManagers: 1})
	run(t, jm, "c-a1", "alice", 2)
	run(t, jm, "c-b1", "bob", 2)
	if n := p.startedCount(); n != 2 {
		t.Fatalf("%d TaskManagers started, want 2", n)
	}
	if ids := p.ids(); len(ids) != 1 {
		t.Fatalf("%d TaskManagers held, want 1 (the maximum)", len(ids))
	}
	// Two jobs at once with room for one: both finish, one after the other.
	var wg sync.WaitGroup
	for _, id := range []string{"c-b2", "c-b3"} {
		wg.Add(1)
		go func() { defer wg.Done(); run(t, jm, id, "bob", 2) }()
	}
	wg.Wait()
	if n := p.startedCount(); n != 2 {
		t.Fatalf("%d TaskManagers started, want still 2", n)
	}
}

// A job larger than the per-job quota is refused up front.
func TestSessionQuota(t *testing.T) {
	jm, _ := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 4, MaxTaskManagersPerJob: 2})
	_, err := jm.RunWith(context.Background(), countGraph("q", 10, 3, jobgraph.RestartStrategy{}), jobmanager.RunOptions{})
	if !errors.Is(err, jobmanager.ErrQuota) {
		t.Fatalf("err = %v, want ErrQuota", err)
	}
}

// Idle TaskManagers beyond the minimum go after the idle timeout.
func TestSessionIdleTimeout(t *testing.T) {
	jm, p := newSession(t, 2, jobmanager.SessionConfig{MinTaskManagers: 0, MaxTaskManagers: 2, IdleTimeout: 300 * time.Millisecond})
	run(t, jm, "i-1", "alice", 2)
	waitFor(t, func() bool { return len(p.ids()) == 0 })
}

func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// Two jobs submitted one right after the other to a session with room
// for both run at once: the TaskManager the session asked for on the
// first job's behalf goes to the first job, never to the second, which
// would leave the first waiting for the second to end (it asked for its
// TaskManager already). Several rounds, since which job's wait wakes
// first when the TaskManager registers is chance.
func TestSessionQueueOrder(t *testing.T) {
	for round := range 4 {
		jm, _ := newSession(t, 1, jobmanager.SessionConfig{MinTaskManagers: 0, MaxTaskManagers: 4})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i, id := range []string{"first", "second"} {
			g := &jobgraph.JobGraph{ID: id, Vertices: []jobgraph.Vertex{{ID: "block", Operator: "test.block", Parallelism: 1}}}
			wg.Add(1)
			go func() { defer wg.Done(); jm.RunWith(ctx, g, jobmanager.RunOptions{Identity: "alice"}) }()
			waitFor(t, func() bool { return len(jm.Jobs()) == i+1 })
		}
		waitFor(t, func() bool {
			st := jm.Jobs()
			return st[0].Subtasks.Running == 1 && st[1].Subtasks.Running == 1
		})
		cancel()
		wg.Wait()
		t.Logf("round %d: both jobs ran at once", round)
	}
}

package jobmanager_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
)

// TestRuntimeTaskManagersMoveToNewJobManager: a JobManager dies while its
// job runs on two TaskManagers; a second one (the next attempt's) starts
// at another address, which the TaskManagers' Rediscover reports. They
// cancel the dead JobManager's subtasks, register with the new one, and
// run its job: no TaskManager is started for it.
func TestRuntimeTaskManagersMoveToNewJobManager(t *testing.T) {
	secret, err := secure.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	server, client, err := secure.TLSConfigs(secret)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(p *pool) (*jobmanager.JobManager, *http.Server, string) {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
		if err != nil {
			t.Fatal(err)
		}
		jm, err := jobmanager.New(jobmanager.Config{TaskManager: jobgraph.TaskManagerSpec{Slots: 2}, Pool: p,
			PollTimeout: 2 * time.Second, CancelTimeout: 10 * time.Second, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: jm.Handler()}
		go srv.Serve(ln)
		return jm, srv, ln.Addr().String()
	}
	var next atomic.Value
	next.Store("")
	p := &pool{t: t, secret: secret, client: client, slots: 2, live: map[string]context.CancelFunc{},
		rediscover: func(context.Context) (string, error) { return next.Load().(string), nil }}
	jm1, srv1, addr1 := serve(p)
	p.jmAddr, p.jm = addr1, jm1
	t.Cleanup(func() {
		p.mu.Lock()
		for _, c := range p.live {
			c()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	blocked := &jobgraph.JobGraph{ID: "blocked", Vertices: []jobgraph.Vertex{{ID: "b", Operator: "test.block", Parallelism: 4}}}
	ctx1, cancel1 := context.WithCancel(ctx)
	done1 := make(chan struct{})
	go func() {
		defer close(done1)
		jm1.Run(ctx1, blocked)
	}()
	for len(p.ids()) < 2 || len(jm1.Jobs()) == 0 || jm1.Jobs()[0].Subtasks.Running < 4 {
		if ctx.Err() != nil {
			t.Fatal("the first JobManager's job never ran on two TaskManagers")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The first JobManager dies with its server; the second one starts.
	srv1.Close()
	cancel1()
	defer func() {
		<-done1 // it winds down its job (the cancel timeout) meanwhile
		jm1.Close()
	}()
	jm2, srv2, addr2 := serve(p)
	defer srv2.Close()
	defer jm2.Close()
	p.mu.Lock()
	p.jm = jm2
	p.mu.Unlock()
	next.Store(addr2)

	job := fmt.Sprintf("moved-%d", time.Now().UnixNano()) // sinks outlive a run (-count)
	r, err := jm2.Run(ctx, countGraph(job, 50_000, 4, jobgraph.RestartStrategy{}))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != jobmanager.StateFinished {
		t.Fatalf("result %+v", r)
	}
	checkCounts(t, sinkOf(job, 0), want(50_000))
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if started != 2 {
		t.Errorf("%d TaskManagers started in all, want the 2 the first JobManager had", started)
	}
}

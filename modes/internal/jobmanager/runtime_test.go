package jobmanager_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/exchange"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/internal/taskmanager"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// The runtime tests run a JobManager and TaskManagers in this process,
// speaking the real control protocol over mutual TLS and the real data
// exchange over loopback; only YARN is replaced, by a pool that starts
// TaskManagers as goroutines. The bed's tests (integration/) prove the same
// in YARN containers.

var (
	sinkMu sync.Mutex
	sinks  = map[string]map[string]int64{} // job -> key -> count
	fails  sync.Map                        // job -> remaining failures
)

func init() {
	operator.Register("test.gen", func(ctx context.Context, t *operator.Task) error {
		n, _ := strconv.Atoi(t.Config["records"])
		for i := t.Index; i < n; i += t.Parallelism {
			if v, ok := fails.Load(t.Job); ok && i == n/2 {
				if left := v.(*int64); *left > 0 {
					*left--
					return errors.New("injected failure")
				}
			}
			k := fmt.Sprintf("k%d", i%17)
			if err := t.Emit(ctx, operator.Record{Key: []byte(k), Value: []byte("1")}); err != nil {
				return err
			}
		}
		return nil
	})
	operator.Register("test.count", func(ctx context.Context, t *operator.Task) error {
		m := map[string]int64{}
		if err := t.ForEach(ctx, func(r operator.Record) error { m[string(r.Key)]++; return nil }); err != nil {
			return err
		}
		for k, v := range m {
			if err := t.Emit(ctx, operator.Record{Key: []byte(k), Value: []byte(strconv.FormatInt(v, 10))}); err != nil {
				return err
			}
		}
		return nil
	})
	operator.Register("test.sink", func(ctx context.Context, t *operator.Task) error {
		got := map[string]int64{}
		if err := t.ForEach(ctx, func(r operator.Record) error {
			n, err := strconv.ParseInt(string(r.Value), 10, 64)
			got[string(r.Key)] += n
			return err
		}); err != nil {
			return err
		}
		sinkMu.Lock()
		defer sinkMu.Unlock()
		key := t.Job + "/" + strconv.Itoa(t.Attempt)
		if sinks[key] == nil {
			sinks[key] = map[string]int64{}
		}
		for k, v := range got {
			sinks[key][k] += v
		}
		return nil
	})
	operator.Register("test.block", func(ctx context.Context, t *operator.Task) error {
		<-ctx.Done()
		return ctx.Err()
	})
}

// pool starts TaskManagers as goroutines.
type pool struct {
	t         *testing.T
	jmAddr    string
	secret    []byte
	client    *tls.Config
	slots     int
	mu        sync.Mutex
	n         int
	live      map[string]context.CancelFunc
	started   int
	jm        *jobmanager.JobManager
	wg        sync.WaitGroup
	killAfter map[string]bool
	// onCredentials, when set, receives the credentials pushed to each
	// TaskManager.
	onCredentials func(id string, creds []byte) error
	// rediscover, when set, is the TaskManagers' Config.Rediscover.
	rediscover func(ctx context.Context) (string, error)
	// jobHDFS, when set, is the TaskManagers' Config.JobHDFS.
	jobHDFS func(id string, creds []byte) (*hdfs.Client, error)
}

func (p *pool) SetTaskManagers(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	for len(p.live) < n {
		p.startLocked()
	}
	return nil
}

func (p *pool) startLocked() {
	p.started++
	id := fmt.Sprintf("container_%d", p.started)
	ctx, cancel := context.WithCancel(context.Background())
	p.live[id] = cancel
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Error(err)
		return
	}
	ex, err := exchange.NewServer(exchange.Config{Secret: p.secret, AdvertiseAddr: ln.Addr().String()})
	if err != nil {
		p.t.Error(err)
		return
	}
	go ex.Serve(ln)
	cc := control.NewClient(p.jmAddr, p.client)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer ex.Close()
		defer cc.Close()
		cfg := taskmanager.Config{ID: id, Host: "127.0.0.1", Slots: p.slots, Control: cc, Exchange: ex}
		if f := p.onCredentials; f != nil {
			cfg.Credentials = func(b []byte) error { return f(id, b) }
		}
		if p.rediscover != nil {
			cfg.Rediscover, cfg.RediscoverInterval = p.rediscover, 100*time.Millisecond
		}
		if f := p.jobHDFS; f != nil {
			cfg.JobHDFS = func(b []byte) (*hdfs.Client, error) { return f(id, b) }
		}
		err := taskmanager.Run(ctx, cfg)
		if ctx.Err() == nil {
			// Ended on its own (shutdown): the pool forgets it.
			p.mu.Lock()
			delete(p.live, id)
			p.mu.Unlock()
			if err != nil {
				p.t.Logf("TaskManager %s: %v", id, err)
			}
		}
	}()
}

func (p *pool) Release(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.live[id]; ok {
		c()
		delete(p.live, id)
		p.n--
	}
	return nil
}

// kill takes a TaskManager away, as a NodeManager losing its container,
// and starts a replacement, as the engine does.
func (p *pool) kill(id string) {
	p.mu.Lock()
	c, ok := p.live[id]
	delete(p.live, id)
	p.mu.Unlock()
	if ok {
		c()
		p.jm.TaskManagerLost(id, "killed by the test")
		p.mu.Lock()
		for len(p.live) < p.n {
			p.startLocked()
		}
		p.mu.Unlock()
	}
}

func (p *pool) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id := range p.live {
		out = append(out, id)
	}
	return out
}

func newRuntime(t *testing.T, slots int) (*jobmanager.JobManager, *pool) {
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
		TaskManager: jobgraph.TaskManagerSpec{Slots: slots}, Pool: p,
		PollTimeout: 2 * time.Second, CancelTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.jm = jm
	srv := &http.Server{Handler: jm.Handler(), ErrorLog: nil}
	go srv.Serve(ln)
	t.Cleanup(func() {
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

func countGraph(id string, records, par int, restart jobgraph.RestartStrategy) *jobgraph.JobGraph {
	return &jobgraph.JobGraph{
		ID: id, Restart: restart,
		Config: map[string]string{"records": strconv.Itoa(records)},
		Vertices: []jobgraph.Vertex{
			{ID: "gen", Operator: "test.gen", Parallelism: par},
			{ID: "count", Operator: "test.count", Parallelism: par},
			{ID: "sink", Operator: "test.sink", Parallelism: 1},
		},
		Edges: []jobgraph.Edge{
			{Source: "gen", Target: "count", Partitioner: jobgraph.PartitionHash},
			{Source: "count", Target: "sink", Partitioner: jobgraph.PartitionRebalance},
		},
	}
}

func want(records int) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i < records; i++ {
		m[fmt.Sprintf("k%d", i%17)]++
	}
	return m
}

func sinkOf(job string, attempt int) map[string]int64 {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	return sinks[job+"/"+strconv.Itoa(attempt)]
}

func checkCounts(t *testing.T, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %s: got %d, want %d", k, got[k], v)
		}
	}
}

func TestRuntimeRunsJob(t *testing.T) {
	jm, p := newRuntime(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := jm.Run(ctx, countGraph("ok", 100_000, 4, jobgraph.RestartStrategy{}))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != jobmanager.StateFinished || r.Attempts != 1 {
		t.Fatalf("result %+v", r)
	}
	checkCounts(t, sinkOf("ok", 0), want(100_000))
	// 100,000 generated, and the 17 keys counted, each by one count subtask.
	if got := r.Counters[jobmanager.CounterRecordsOut]; got != 100_000+17 {
		t.Errorf("records-out = %d, want %d", got, 100_000+17)
	}
	if got := r.Counters[jobmanager.CounterRecordsIn]; got != 100_000+17 {
		t.Errorf("records-in = %d, want %d", got, 100_000+17)
	}
	// The job's TaskManagers were given back.
	deadline := time.Now().Add(10 * time.Second)
	for len(p.ids()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ids := p.ids(); len(ids) > 0 {
		t.Errorf("TaskManagers still held after the job: %v", ids)
	}
}

func TestRuntimeRestartsFailedJob(t *testing.T) {
	jm, _ := newRuntime(t, 2)
	left := int64(1)
	fails.Store("flaky", &left)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := jm.Run(ctx, countGraph("flaky", 10_000, 2, jobgraph.FixedDelay(2, 10*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", r.Attempts)
	}
	checkCounts(t, sinkOf("flaky", 1), want(10_000))
}

func TestRuntimeFailsWithRootCause(t *testing.T) {
	jm, _ := newRuntime(t, 2)
	left := int64(100)
	fails.Store("doomed", &left)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := jm.Run(ctx, countGraph("doomed", 1000, 2, jobgraph.FixedDelay(1, 10*time.Millisecond)))
	var je *jobmanager.JobError
	if !errors.As(err, &je) {
		t.Fatalf("err = %v, want a *JobError", err)
	}
	if r.State != jobmanager.StateFailed || r.Attempts != 2 {
		t.Fatalf("result %+v", r)
	}
	for _, want := range []string{`vertex "gen"`, "injected failure", "TaskManager container_"} {
		if !contains(r.RootCause, want) {
			t.Errorf("root cause %q lacks %q", r.RootCause, want)
		}
	}
}

func TestRuntimeReplacesLostTaskManager(t *testing.T) {
	jm, p := newRuntime(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := &jobgraph.JobGraph{ID: "lost", Restart: jobgraph.FixedDelay(1, 10*time.Millisecond),
		Vertices: []jobgraph.Vertex{{ID: "block", Operator: "test.block", Parallelism: 2}}}
	done := make(chan error, 1)
	go func() { _, err := jm.Run(ctx, g); done <- err }()
	// Wait for both subtasks to run, then take a TaskManager away.
	waitFor(t, func() bool { st := jm.Jobs(); return len(st) == 1 && st[0].Subtasks.Running == 2 })
	p.kill(p.ids()[0])
	waitFor(t, func() bool { st := jm.Jobs(); return st[0].Attempt == 1 && st[0].Subtasks.Running == 2 })
	if err := jm.Cancel("lost"); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var je *jobmanager.JobError
	if !errors.As(err, &je) || je.Result.State != jobmanager.StateCanceled {
		t.Fatalf("err = %v, want the job cancelled", err)
	}
	if err := jm.Cancel("lost"); !errors.Is(err, jobmanager.ErrJobEnded) {
		t.Errorf("cancelling an ended job: %v, want ErrJobEnded", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

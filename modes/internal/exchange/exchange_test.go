package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/operator"
)

func testSecret(t testing.TB) []byte {
	t.Helper()
	s, err := secure.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer starts a Server on a loopback listener; it is closed when
// the test ends.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AdvertiseAddr = ln.Addr().String()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return s
}

// checkNoLeaks fails the test if goroutines started during it are still
// running shortly after it ends (servers closed by earlier cleanups).
func checkNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

func rec(k, v string) operator.Record { return operator.Record{Key: []byte(k), Value: []byte(v)} }

// edgeRun runs one edge: producers[i] and consumers[j] say which Server
// runs each subtask; every producer emits n records; it returns what each
// consumer read, as sorted "key=value" strings.
func edgeRun(t *testing.T, part jobgraph.Partitioner, producers, consumers []*Server, n int) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	job := "job-" + part.String()
	prodIdx := make([]int, len(producers))
	for i := range prodIdx {
		prodIdx[i] = i
	}
	gates := make([]*Gate, len(consumers))
	for j, s := range consumers {
		feeders := prodIdx
		if part == jobgraph.PartitionForward {
			feeders = []int{j}
		}
		g, err := s.OpenGate(GateID{Job: job, Attempt: 2, Edge: 3, Consumer: j}, feeders)
		if err != nil {
			t.Fatal(err)
		}
		gates[j] = g
	}
	var targets []Target
	for j, s := range consumers {
		targets = append(targets, Target{Consumer: j, Addr: s.Addr()})
	}
	got := make([][]string, len(consumers))
	var wg sync.WaitGroup
	errs := make(chan error, len(producers)+len(consumers))
	for j, g := range gates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.Close()
			for {
				r, err := g.Next(ctx)
				if err == io.EOF {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("consumer %d: %w", j, err)
					return
				}
				got[j] = append(got[j], string(r.Key)+"="+string(r.Value))
			}
		}()
	}
	for i, s := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := s.OpenOutput(ctx, OutputSpec{Job: job, Attempt: 2, Edge: 3, Producer: i, Partitioner: part, Targets: targets})
			if err != nil {
				errs <- fmt.Errorf("producer %d: %w", i, err)
				return
			}
			for k := range n {
				if err := o.Emit(ctx, rec(fmt.Sprintf("p%d-k%d", i, k), strings.Repeat("v", k%50))); err != nil {
					errs <- fmt.Errorf("producer %d: %w", i, err)
					o.Abort(err)
					return
				}
			}
			if err := o.Close(ctx); err != nil {
				errs <- fmt.Errorf("producer %d close: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, g := range got {
		sort.Strings(g)
	}
	return got
}

func expectedRecords(part jobgraph.Partitioner, nprod, ncons, n int) [][]string {
	want := make([][]string, ncons)
	for i := range nprod {
		for k := range n {
			r := fmt.Sprintf("p%d-k%d", i, k) + "=" + strings.Repeat("v", k%50)
			switch part {
			case jobgraph.PartitionForward:
				want[i] = append(want[i], r)
			case jobgraph.PartitionHash:
				j := jobgraph.SubtaskForKey([]byte(fmt.Sprintf("p%d-k%d", i, k)), ncons)
				want[j] = append(want[j], r)
			case jobgraph.PartitionRebalance:
				want[(i+k)%ncons] = append(want[(i+k)%ncons], r)
			case jobgraph.PartitionBroadcast:
				for j := range want {
					want[j] = append(want[j], r)
				}
			}
		}
	}
	for _, w := range want {
		sort.Strings(w)
	}
	return want
}

func TestPartitionersAcrossServers(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		for _, part := range []jobgraph.Partitioner{jobgraph.PartitionForward, jobgraph.PartitionHash, jobgraph.PartitionRebalance, jobgraph.PartitionBroadcast} {
			t.Run(fmt.Sprintf("%v/encrypt=%v", part, encrypt), func(t *testing.T) {
				checkNoLeaks(t)
				secret := testSecret(t)
				// Small batches and few credits, so the flow control runs
				// many times.
				cfg := Config{Secret: secret, Encrypt: encrypt, BufferBytes: 1 << 10, Credits: 2, FlushInterval: 5 * time.Millisecond}
				a, b := startServer(t, cfg), startServer(t, cfg)
				// Subtasks alternate between the Servers, with the forward
				// pairs split so forward also crosses them (0,2 of a feed
				// 0,2 of b; 1,3 of b feed 1,3 of a).
				prods := []*Server{a, b, a, b}
				cons := []*Server{b, a, b, a}
				if part == jobgraph.PartitionHash {
					cons = []*Server{a, b, a, b} // some channels local, some remote
				}
				const n = 2000
				got := edgeRun(t, part, prods, cons, n)
				if diff := cmp.Diff(expectedRecords(part, 4, 4, n), got); diff != "" {
					t.Errorf("records per consumer (-want +got):\n%.2000s", diff)
				}
				if bb := a.BufferedBytes() + b.BufferedBytes(); bb != 0 {
					t.Errorf("BufferedBytes %d after every gate closed, want 0", bb)
				}
			})
		}
	}
}

// TestLocalPath runs an edge within one Server that never listens: any
// attempt to dial its (unreachable) address would fail the test.
func TestLocalPath(t *testing.T) {
	checkNoLeaks(t)
	s, err := NewServer(Config{Secret: testSecret(t), AdvertiseAddr: "tm-1.invalid:1", BufferBytes: 512, Credits: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, part := range []jobgraph.Partitioner{jobgraph.PartitionForward, jobgraph.PartitionHash, jobgraph.PartitionBroadcast} {
		got := edgeRun(t, part, []*Server{s, s, s}, []*Server{s, s, s}, 500)
		if diff := cmp.Diff(expectedRecords(part, 3, 3, 500), got); diff != "" {
			t.Errorf("%v: records per consumer (-want +got):\n%.2000s", part, diff)
		}
	}
	if bb := s.BufferedBytes(); bb != 0 {
		t.Errorf("BufferedBytes %d after every gate closed, want 0", bb)
	}
}

// A record read is the caller's: changing it must not change what other
// consumers or later records see, also on the local path, where no socket
// copies it.
func TestLocalRecordsAreCopies(t *testing.T) {
	s, err := NewServer(Config{Secret: testSecret(t), AdvertiseAddr: "tm.invalid:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	g0, _ := s.OpenGate(GateID{Job: "j", Consumer: 0}, []int{0})
	g1, _ := s.OpenGate(GateID{Job: "j", Consumer: 1}, []int{0})
	o, err := s.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionBroadcast,
		Targets: []Target{{0, s.Addr()}, {1, s.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("key")
	o.Emit(ctx, operator.Record{Key: key, Value: []byte("v1")})
	o.Emit(ctx, rec("k2", "v2"))
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	key[0] = 'X' // the producer breaking the contract does not reach consumers
	r0, _ := g0.Next(ctx)
	r0.Key[0] = 'Y'
	r0.Key = append(r0.Key, "more"...)
	r1, _ := g1.Next(ctx)
	if string(r1.Key) != "key" {
		t.Errorf("consumer 1 read key %q, want %q", r1.Key, "key")
	}
	r0b, _ := g0.Next(ctx)
	if string(r0b.Key) != "k2" || string(r0b.Value) != "v2" {
		t.Errorf("consumer 0's second record is %q=%q, want k2=v2", r0b.Key, r0b.Value)
	}
}

type pairCase struct {
	name   string
	remote bool
}

var pairCases = []pairCase{{"local", false}, {"remote", true}}

// pair returns the consumer's and the producer's Servers: the same one
// (local) or two.
func pair(t *testing.T, remote bool, cfg Config) (cons, prod *Server) {
	if cfg.Secret == nil {
		cfg.Secret = testSecret(t)
	}
	cons = startServer(t, cfg)
	if !remote {
		return cons, cons
	}
	return cons, startServer(t, cfg)
}

func TestAbortReachesConsumer(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cons, prod := pair(t, pc.remote, Config{Encrypt: true})
			id := GateID{Job: "j", Attempt: 1, Edge: 0, Consumer: 0}
			g, err := cons.OpenGate(id, []int{0, 1})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			spec := OutputSpec{Job: "j", Attempt: 1, Partitioner: jobgraph.PartitionRebalance, Targets: []Target{{0, cons.Addr()}}}
			o0, err := prod.OpenOutput(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			spec.Producer = 1
			o1, err := prod.OpenOutput(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := o0.Emit(ctx, rec("a", "1")); err != nil {
				t.Fatal(err)
			}
			if err := o0.Close(ctx); err != nil {
				t.Fatal(err)
			}
			o1.Emit(ctx, rec("b", "2"))
			o1.Abort(errors.New("operator exploded"))
			var err2 error
			seen := 0
			for err2 == nil {
				_, err2 = g.Next(ctx)
				seen++
			}
			var se *StreamError
			if !errors.As(err2, &se) || !errors.Is(err2, ErrProducerFailed) {
				t.Fatalf("Next: %v, want a *StreamError with ErrProducerFailed", err2)
			}
			if se.Producer != 1 || se.Consumer != 0 || se.Job != "j" || se.Attempt != 1 || !strings.Contains(se.Msg, "operator exploded") {
				t.Errorf("StreamError %+v does not name producer 1, consumer 0 and the reason", se)
			}
			if _, err := g.Next(ctx); !errors.Is(err, ErrProducerFailed) {
				t.Errorf("Next after the failure: %v, want the failure again", err)
			}
			// Emit after Abort fails.
			if err := o1.Emit(ctx, rec("c", "3")); !errors.Is(err, ErrClosed) {
				t.Errorf("Emit after Abort: %v, want ErrClosed", err)
			}
		})
	}
}

func TestEndOfStream(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// A long flush interval: only Close can send the record.
			cons, prod := pair(t, pc.remote, Config{FlushInterval: time.Hour})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			defer g.Close()
			o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
			if err != nil {
				t.Fatal(err)
			}
			o.Emit(ctx, rec("k", "v"))
			short, c2 := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err = g.Next(short)
			c2()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Next before Close: %v, want the context's deadline (nothing flushed yet)", err)
			}
			if err := o.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err := g.Next(ctx); err != nil || string(r.Key) != "k" {
				t.Fatalf("Next: %q, %v", r.Key, err)
			}
			for range 2 {
				if _, err := g.Next(ctx); err != io.EOF {
					t.Fatalf("Next at the end: %v, want io.EOF", err)
				}
			}
			if err := o.Close(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close: %v, want ErrClosed", err)
			}
			o.Abort(errors.New("late")) // no effect after Close
		})
	}
}

func TestFlushInterval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, prod := pair(t, true, Config{FlushInterval: 20 * time.Millisecond})
	g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
	defer g.Close()
	o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Abort(nil)
	o.Emit(ctx, rec("k", "v"))
	// No Close: the timer must send the partial batch.
	if r, err := g.Next(ctx); err != nil || string(r.Key) != "k" {
		t.Fatalf("Next: %q, %v", r.Key, err)
	}
}

func TestGateCloseCancelsProducer(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cons, prod := pair(t, pc.remote, Config{BufferBytes: 256, Credits: 1})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, cons.Addr()}}})
			if err != nil {
				t.Fatal(err)
			}
			emitErr := make(chan error, 1)
			go func() {
				// Emits until the consumer's cancellation reaches it; the
				// gate is never read, so it blocks first.
				for {
					if err := o.Emit(ctx, rec("k", strings.Repeat("x", 100))); err != nil {
						emitErr <- err
						return
					}
				}
			}()
			time.Sleep(50 * time.Millisecond)
			g.Close()
			err = <-emitErr
			if !errors.Is(err, ErrConsumerGone) {
				t.Fatalf("Emit after the gate closed: %v, want ErrConsumerGone", err)
			}
			if err := o.Close(ctx); !errors.Is(err, ErrConsumerGone) {
				t.Errorf("Close after the gate closed: %v, want ErrConsumerGone", err)
			}
			if _, err := g.Next(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close: %v, want ErrClosed", err)
			}
			// A producer arriving after the gate closed is refused at once.
			start := time.Now()
			_, err = prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, cons.Addr()}}})
			if !errors.Is(err, ErrConsumerGone) || time.Since(start) > 10*time.Second {
				t.Errorf("OpenOutput to a closed gate: %v after %v, want ErrConsumerGone at once", err, time.Since(start))
			}
		})
	}
}

func TestEarlyProducerIsHeld(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cons, prod := pair(t, pc.remote, Config{})
			opened := make(chan *Output, 1)
			failed := make(chan error, 1)
			go func() {
				o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Edge: 1, Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
				if err != nil {
					failed <- err
					return
				}
				opened <- o
			}()
			select {
			case o := <-opened:
				o.Abort(nil)
				t.Fatal("OpenOutput returned before the gate opened")
			case err := <-failed:
				t.Fatal(err)
			case <-time.After(300 * time.Millisecond):
			}
			g, err := cons.OpenGate(GateID{Job: "j", Edge: 1}, []int{0})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			var o *Output
			select {
			case o = <-opened:
			case err := <-failed:
				t.Fatal(err)
			}
			o.Emit(ctx, rec("k", "v"))
			if err := o.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err := g.Next(ctx); err != nil || string(r.Value) != "v" {
				t.Fatalf("Next: %v %v", r, err)
			}
		})
	}
}

func TestGateNeverOpens(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			cons, prod := pair(t, pc.remote, Config{GateWait: 200 * time.Millisecond})
			_, err := prod.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
			var se *StreamError
			if !errors.Is(err, ErrGateNotOpen) || !errors.As(err, &se) || se.Consumer != 0 {
				t.Fatalf("OpenOutput: %v, want a *StreamError with ErrGateNotOpen", err)
			}
		})
	}
}

func TestProducerNotOnGateRefused(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			ctx := context.Background()
			cons, prod := pair(t, pc.remote, Config{})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			defer g.Close()
			_, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Producer: 5, Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, cons.Addr()}}})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("unknown producer: %v, want ErrRefused", err)
			}
			o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Producer: 0, Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, cons.Addr()}}})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Abort(nil)
			if _, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Producer: 0, Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, cons.Addr()}}}); !errors.Is(err, ErrRefused) {
				t.Fatalf("producer connecting twice: %v, want ErrRefused", err)
			}
		})
	}
}

func TestWrongSecretRefused(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypt=%v", encrypt), func(t *testing.T) {
			checkNoLeaks(t)
			cons := startServer(t, Config{Secret: testSecret(t), Encrypt: encrypt})
			prod := startServer(t, Config{Secret: testSecret(t), Encrypt: encrypt})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			defer g.Close()
			_, err := prod.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("OpenOutput with another secret: %v, want ErrAuthentication", err)
			}
		})
	}
	t.Run("encryption-mismatch", func(t *testing.T) {
		secret := testSecret(t)
		for _, enc := range []bool{true, false} {
			cons := startServer(t, Config{Secret: secret, Encrypt: enc})
			prod := startServer(t, Config{Secret: secret, Encrypt: !enc})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			_, err := prod.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("consumer encrypt=%v, producer encrypt=%v: %v, want ErrAuthentication", enc, !enc, err)
			}
			g.Close()
		}
	})
	// A client that speaks neither handshake gets nothing back.
	t.Run("garbage", func(t *testing.T) {
		cons := startServer(t, Config{Secret: testSecret(t)})
		c, err := net.Dial("tcp", cons.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n" + strings.Repeat("x", 64)))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(make([]byte, 100))
		if err == nil || n > 32+32 {
			t.Errorf("server answered a non-Spindle client with %d bytes", n)
		}
	})
}

func TestServerCloseFailsPeers(t *testing.T) {
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret := testSecret(t)
	cons := startServer(t, Config{Secret: secret, Encrypt: true})
	prod := startServer(t, Config{Secret: secret, Encrypt: true})
	g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
	defer g.Close()
	o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	prod.Close() // the producer's TaskManager shuts down: its outputs abort
	if _, err := g.Next(ctx); !errors.Is(err, ErrProducerFailed) && !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Next after the producer's Server closed: %v", err)
	}
	if err := o.Emit(ctx, rec("k", "v")); !errors.Is(err, ErrClosed) {
		t.Errorf("Emit on an output of a closed Server: %v, want ErrClosed", err)
	}
	if _, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenOutput on a closed Server: %v, want ErrClosed", err)
	}
}

// The consumer's TaskManager going away breaks the producer's channel.
func TestConsumerServerCloseFailsProducer(t *testing.T) {
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret := testSecret(t)
	cons := startServer(t, Config{Secret: secret, BufferBytes: 128})
	prod := startServer(t, Config{Secret: secret, BufferBytes: 128})
	cons.OpenGate(GateID{Job: "j"}, []int{0})
	o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	cons.Close()
	for {
		err = o.Emit(ctx, rec("k", strings.Repeat("v", 100)))
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ErrConsumerGone) && !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Emit after the consumer's Server closed: %v", err)
	}
	o.Abort(err)
}

func TestNextHonoursContext(t *testing.T) {
	s, err := NewServer(Config{Secret: testSecret(t), AdvertiseAddr: "x.invalid:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, _ := s.OpenGate(GateID{Job: "j"}, []int{0})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v, want context.Canceled", err)
	}
	// The gate stays usable.
	o, err := s.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, s.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	o.Emit(context.Background(), rec("k", "v"))
	o.Close(context.Background())
	if r, err := g.Next(context.Background()); err != nil || string(r.Key) != "k" {
		t.Fatalf("Next: %v %v", r, err)
	}
	// An empty gate ends at once.
	g2, _ := s.OpenGate(GateID{Job: "j", Edge: 9}, nil)
	if _, err := g2.Next(context.Background()); err != io.EOF {
		t.Fatalf("Next on a gate without producers: %v, want io.EOF", err)
	}
}

func TestConfigAndSpecValidation(t *testing.T) {
	if _, err := NewServer(Config{}); err == nil {
		t.Error("NewServer without a secret succeeded")
	}
	if _, err := NewServer(Config{Secret: testSecret(t), BufferBytes: MaxRecordBytes + 1}); err == nil {
		t.Error("NewServer with a huge BufferBytes succeeded")
	}
	s, _ := NewServer(Config{Secret: testSecret(t), AdvertiseAddr: "x.invalid:1"})
	defer s.Close()
	if _, err := s.OpenGate(GateID{}, []int{0, 0}); err == nil {
		t.Error("OpenGate with a repeated producer succeeded")
	}
	g, _ := s.OpenGate(GateID{Job: "a"}, nil)
	if _, err := s.OpenGate(GateID{Job: "a"}, nil); err == nil {
		t.Error("OpenGate twice succeeded")
	}
	g.Close()
	if _, err := s.OpenGate(GateID{Job: "a"}, nil); err == nil {
		t.Error("OpenGate after Close of the same id succeeded")
	}
	for _, spec := range []OutputSpec{
		{Partitioner: jobgraph.PartitionHash},
		{Partitioner: jobgraph.PartitionHash, Targets: []Target{{0, "a"}, {0, "b"}}},
		{Partitioner: jobgraph.PartitionHash, Targets: []Target{{1, "a"}}},
		{Partitioner: jobgraph.PartitionForward, Producer: 2, Targets: []Target{{0, "a"}, {1, "b"}}},
		{Partitioner: 42, Targets: []Target{{0, "a"}}},
	} {
		if _, err := s.OpenOutput(context.Background(), spec); err == nil {
			t.Errorf("OpenOutput(%+v) succeeded", spec)
		}
	}
}

func TestServerCloseInterruptsOpenOutput(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			cons, prod := pair(t, pc.remote, Config{GateWait: time.Minute})
			res := make(chan error, 1)
			go func() {
				_, err := prod.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
				res <- err
			}()
			time.Sleep(200 * time.Millisecond) // let it reach the wait for the gate
			start := time.Now()
			prod.Close()
			select {
			case err := <-res:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("OpenOutput: %v, want ErrClosed", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("OpenOutput still waiting 20s after its Server closed")
			}
			t.Logf("returned %v after Close", time.Since(start))
		})
	}
}

// A producer blocked on a stalled consumer returns when its context ends,
// from Emit and from Close, and the consumer then sees an error, not EOF.
func TestContextUnblocksProducer(t *testing.T) {
	for _, pc := range pairCases {
		t.Run(pc.name, func(t *testing.T) {
			checkNoLeaks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cons, prod := pair(t, pc.remote, Config{BufferBytes: 1 << 10, Credits: 1, FlushInterval: time.Millisecond})
			g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
			defer g.Close()
			o, err := prod.OpenOutput(ctx, OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
			if err != nil {
				t.Fatal(err)
			}
			emitCtx, c1 := context.WithTimeout(ctx, 2*time.Second)
			defer c1()
			start := time.Now()
			for err == nil {
				err = o.Emit(emitCtx, rec("k", strings.Repeat("v", 200)))
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Emit: %v, want the context's deadline", err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("Emit returned %v after its deadline", d)
			}
			closeCtx, c2 := context.WithTimeout(ctx, 300*time.Millisecond)
			defer c2()
			start = time.Now()
			if err := o.Close(closeCtx); err == nil {
				t.Fatal("Close to a stalled consumer succeeded")
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("Close returned %v after its deadline", d)
			}
			for {
				_, err := g.Next(ctx)
				if err == io.EOF {
					t.Fatal("the consumer saw EOF from a producer that never ended")
				}
				if err != nil {
					break
				}
			}
		})
	}
}

// A peer that holds the secret but sends a malformed data frame fails its
// channel with ErrProtocol; the gate reports it, nothing panics.
func TestMalformedFrameFailsChannel(t *testing.T) {
	checkNoLeaks(t)
	secret := testSecret(t)
	cons := startServer(t, Config{Secret: secret})
	g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
	defer g.Close()
	c, err := net.Dial("tcp", cons.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if err := secure.ClientHandshake(c, secret); err != nil {
		t.Fatal(err)
	}
	h := hello{version: protocolVersion, id: GateID{Job: "j"}, producer: 0}
	c.Write(appendFrame(nil, frameHello, h.append(nil)))
	reply := make([]byte, frameHeader)
	if _, err := io.ReadFull(c, reply); err != nil || reply[4] != frameAccept {
		t.Fatalf("reply %v, %v; want accept", reply, err)
	}
	// A record whose value length runs past the frame.
	c.Write(appendFrame(nil, frameData, []byte{1, 'k', 100, 'v'}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = g.Next(ctx)
	var se *StreamError
	if !errors.Is(err, ErrProtocol) || !errors.As(err, &se) || se.Producer != 0 {
		t.Fatalf("Next: %v, want a *StreamError with ErrProtocol", err)
	}
}

// The consumer's Server checks the producer's certificate itself: a
// producer with another secret that skips its own check of the server
// (as an attacker would) is still refused.
func TestServerRefusesForeignCertificate(t *testing.T) {
	checkNoLeaks(t)
	cons := startServer(t, Config{Secret: testSecret(t), Encrypt: true})
	prod := startServer(t, Config{Secret: testSecret(t), Encrypt: true})
	prod.tlsCli.VerifyPeerCertificate = nil
	g, _ := cons.OpenGate(GateID{Job: "j"}, []int{0})
	defer g.Close()
	_, err := prod.OpenOutput(context.Background(), OutputSpec{Job: "j", Partitioner: jobgraph.PartitionForward, Targets: []Target{{0, cons.Addr()}}})
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("OpenOutput with a foreign certificate: %v, want ErrAuthentication", err)
	}
}

//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/wc"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSoak (make soak; SPINDLE_SOAK=1, plain bed): this process, a Go
// service using modes.Deploy, runs 200 Application-mode deployments of a
// tiny wordcount one after another, then 20 at once, then 200 jobs through
// one session it started. Every job's counts are right; afterwards the
// process holds as many goroutines and open file descriptors as before
// or fewer (counted), no staging directory of these applications remains, and the
// ResourceManager lists none of them running. SOAK_N scales the 200s
// down (e.g. 20 for a quick look).
func TestSoak(t *testing.T) {
	if os.Getenv("SPINDLE_SOAK") == "" {
		t.Skip("the soak takes 10 minutes or more; make soak runs it (SPINDLE_SOAK=1)")
	}
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the soak runs on the plain bed")
	}
	n := 200
	if v := os.Getenv("SOAK_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := testContext(t, 2*time.Hour)
	bin := wordcountBinary(t)
	hfs := stagingClient(t, tb, "alice", nil)
	in := fmt.Sprintf("/user/alice/soak-in-%d", time.Now().UnixNano())
	w, err := hfs.Create(ctx, in+"/text.txt", hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("soak words soak\n", 100)))
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"soak": 200, "words": 100}
	var outs []string
	out := func() string {
		o := fmt.Sprintf("/user/alice/soak-out-%d", time.Now().UnixNano())
		outs = append(outs, o)
		return o
	}
	t.Cleanup(func() {
		for _, o := range outs {
			hfs.Remove(context.Background(), o, true)
		}
		hfs.Remove(context.Background(), in, true)
	})
	base := modes.DeployRequest{Binary: bin, JobManagerMemoryMB: 128, TaskManagerMemoryMB: 256, Slots: 2, Parallelism: 1,
		HadoopConfDir: tb.Ready.ConfDir, User: "alice", ClientLease: time.Minute}

	goroutines, fds := settle()
	t.Logf("before: %d goroutines, %d open file descriptors", goroutines, fds)
	var mu sync.Mutex
	var apps []yarn.ApplicationID
	deployOne := func(i int, o string) error {
		req := base
		req.Name = fmt.Sprintf("soak-%d", i)
		req.Args = []string{"-input", in, "-output", o}
		d, err := modes.Deploy(ctx, req)
		if err != nil {
			return err
		}
		defer d.Close()
		mu.Lock()
		apps = append(apps, d.ID)
		mu.Unlock()
		rep, err := d.Wait(ctx)
		if err != nil {
			return err
		}
		if rep.FinalStatus != yarn.FinalSucceeded {
			return fmt.Errorf("%s ended %s/%s: %s", d.ID, rep.State, rep.FinalStatus, rep.Diagnostics)
		}
		return nil
	}

	start := time.Now()
	var sequential []string
	for i := range n {
		o := out()
		sequential = append(sequential, o)
		if err := deployOne(i, o); err != nil {
			t.Fatalf("sequential deployment %d: %v", i, err)
		}
	}
	seqWall := time.Since(start)

	start = time.Now()
	concurrent := make([]string, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range concurrent {
		concurrent[i] = out()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = deployOne(n+i, concurrent[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent deployments: %v", err)
	}
	concWall := time.Since(start)

	start = time.Now()
	sreq := base
	sreq.Target, sreq.Name = modes.TargetSession, fmt.Sprintf("soak%d", time.Now().UnixNano()%1_000_000)
	sreq.Session = modes.SessionSpec{MinTaskManagers: 1, MaxTaskManagers: 2}
	s, err := modes.Deploy(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	apps = append(apps, s.ID)
	var sessionOuts []string
	for i := range n {
		o := out()
		sessionOuts = append(sessionOuts, o)
		if _, err := s.Submit(ctx, wc.Graph(in, o, 1), modes.JobOptions{}); err != nil {
			s.Kill(ctx, "the soak failed")
			t.Fatalf("session job %d: %v", i, err)
		}
	}
	if err := s.Kill(ctx, "the soak is done"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	sessWall := time.Since(start)

	after, afterFDs := settle()
	t.Logf("%d sequential deployments %.1f s, 20 concurrent %.1f s, session with %d jobs %.1f s; client peak RSS %d MiB; after: %d goroutines, %d open file descriptors",
		n, seqWall.Seconds(), concWall.Seconds(), n, sessWall.Seconds(), vmHWM(os.Getpid())>>10, after, afterFDs)
	// As many as before, or fewer (something of the test's own setup may
	// have ended meanwhile): none left behind by the deployments.
	if after > goroutines || afterFDs > fds {
		buf := make([]byte, 1<<20)
		t.Errorf("the process holds %d goroutines and %d file descriptors, %d and %d before:\n%s",
			after, afterFDs, goroutines, fds, buf[:runtime.Stack(buf, true)])
	}

	// Every output right (a sample of the sequential ones, all others).
	for i, o := range sequential {
		if i%20 == 0 {
			checkWordcountOutput(t, tb, o, want)
		}
	}
	for _, o := range append(concurrent, sessionOuts[len(sessionOuts)-5:]...) {
		checkWordcountOutput(t, tb, o, want)
	}
	rm := rmClient(t, tb, "alice", "")
	for _, id := range apps {
		if _, err := hfs.Stat(ctx, "/user/alice/.spindle/"+id.String()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s's staging directory remains (%v)", id, err)
		}
		if rep, err := rm.ApplicationReport(ctx, id); err != nil || !rep.State.IsFinal() {
			t.Errorf("%s: %s, %v", id, rep.State, err)
		}
	}
}

// settle waits for idle connections and finished goroutines to go, and
// returns the goroutines and open file descriptors then.
func settle() (int, int) {
	var g, f int
	for range 20 {
		runtime.GC()
		time.Sleep(500 * time.Millisecond)
		ng, nf := runtime.NumGoroutine(), openFDs()
		if ng == g && nf == f {
			break
		}
		g, f = ng, nf
	}
	return g, f
}

func openFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestWordcountNameNodeFailover (HA bed): the active NameNode is failed
// over while a wordcount's tasks read their splits and write their part
// files; the job finishes with every count right (its tasks' HDFS clients,
// holding delegation tokens only, follow the nameservice to the new
// active NameNode).
func TestWordcountNameNodeFailover(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModeHA {
		t.Skipf("a NameNode failover needs the HA bed (this run: %s)", tb.Mode())
	}
	restoreFirstNameNode(t, tb)
	ctx := testContext(t, 5*time.Minute)
	in, want := writeCorpusFiles(t, tb, "nnfailover-in", 300, 4, 12<<20, 4<<20)
	out := outputDir(t)
	p := startWordcountLogin(t, tb, nil, "run", "-t", "yarn-application", "-input", in, "-output", out, "-parallelism", "4")
	p.waitOutput(t, regexp.MustCompile(`subtasks [1-9]\d* running`), 3*time.Minute)
	nn := nnFailover(t, ctx, tb)
	if p.exited() {
		t.Errorf("the job ended before the failover to %s did; the test proves nothing about tasks during a failover", nn.ID)
	}
	r := p.wait(t)
	if r.code != 0 {
		t.Fatalf("wordcount across a NameNode failover: exit %d", r.code)
	}
	checkWordcountOutput(t, tb, out, want)
}

// TestDeployRMFailover (HA bed): three Application-mode deployments are
// made while the active ResourceManager fails over; each is submitted
// exactly once (the RM lists one application of its name) and finishes
// with the right counts.
func TestDeployRMFailover(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModeHA {
		t.Skipf("an RM failover needs the HA bed (this run: %s)", tb.Mode())
	}
	in, want := wordcountCorpus(t, tb)
	ctx := testContext(t, 5*time.Minute)
	stamp := time.Now().UnixNano()
	var procs []*clientProc
	var outs []string
	for i := range 3 {
		out := outputDir(t)
		outs = append(outs, out)
		procs = append(procs, startWordcountLogin(t, tb, nil, "run", "-t", "yarn-application", "-name", fmt.Sprintf("rmfo-%d-%d", stamp, i),
			"-input", in, "-output", out, "-parallelism", "2"))
	}
	// Fail over while the clients stage and submit.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(300 * time.Millisecond)
		submitted := 0
		for _, p := range procs {
			if regexp.MustCompile(`(?m)^submitted application_`).MatchString(p.out.String()) {
				submitted++
			}
		}
		t.Logf("failing the RM over with %d of %d clients past their submission", submitted, len(procs))
		msg, err := tb.Control(ctx, "/rm/failover")
		if err != nil {
			t.Errorf("RM failover: %v", err)
			return
		}
		t.Logf("RM failover: %s", msg)
	}()
	wg.Wait()
	rm := rmClient(t, tb, "alice", "")
	for i, p := range procs {
		r := p.wait(t)
		if r.code != 0 {
			t.Errorf("deployment %d across an RM failover: exit %d", i, r.code)
			continue
		}
		checkWordcountOutput(t, tb, outs[i], want)
		apps, err := rm.Applications(ctx, yarn.ApplicationFilter{Name: fmt.Sprintf("rmfo-%d-%d", stamp, i)})
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 {
			t.Errorf("deployment %d: the RM lists %d applications of its name, want 1", i, len(apps))
		}
	}
}

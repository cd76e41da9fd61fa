package hdfs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
)

// refusedAddr is an address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// failoverClient is NewClient(cfg), closed at the test's end, and a
// context the test's end cancels.
func failoverClient(t *testing.T, cfg Config) (*Client, context.Context) {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c, ctx
}

// TestFailoverCounted: with neither NameNode reachable, a call tries them
// in turn until Config.FailoverTimeout, then fails with
// ErrNoActiveNameNode naming both; the client and the failovers metric
// count the switches.
func TestFailoverCounted(t *testing.T) {
	nn1, nn2 := refusedAddr(t), refusedAddr(t)
	reg := prometheus.NewRegistry()
	c, ctx := failoverClient(t, Config{
		User: "alice", NameNodes: []string{nn1, nn2}, NameService: "ns",
		FailoverTimeout: 300 * time.Millisecond, Registerer: reg,
	})
	start := time.Now()
	_, err := c.Stat(ctx, "/")
	took := time.Since(start)
	if !errors.Is(err, ErrNoActiveNameNode) {
		t.Fatalf("got %v, want ErrNoActiveNameNode", err)
	}
	for _, nn := range []string{nn1, nn2} {
		if !strings.Contains(err.Error(), nn) {
			t.Errorf("error does not name %s: %v", nn, err)
		}
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("gave up after %s, want just over the 300ms failover timeout", took)
	}
	n := c.Failovers()
	if n < 2 {
		t.Errorf("%d failovers, want at least 2 (a round and back)", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var counted float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "spindle_hdfs_namenode_failovers_total" {
			counted = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if counted != float64(n) {
		t.Errorf("spindle_hdfs_namenode_failovers_total = %v, want %d", counted, n)
	}
	if cur := c.CurrentNameNode(); cur != nn1 && cur != nn2 {
		t.Errorf("CurrentNameNode %q", cur)
	}
}

// TestLoneNameNodeFailsAtOnce: one unreachable NameNode fails the call
// without waiting for the failover timeout: there is nothing to fail over
// to, and the IPC client has already retried its connection.
func TestLoneNameNodeFailsAtOnce(t *testing.T) {
	c, ctx := failoverClient(t, Config{User: "alice", NameNodes: []string{refusedAddr(t)}, FailoverTimeout: 5 * time.Second})
	start := time.Now()
	_, err := c.Stat(ctx, "/")
	if err == nil || errors.Is(err, ErrNoActiveNameNode) || time.Since(start) > 4*time.Second {
		t.Errorf("got %v after %s, want the connection error before the failover timeout", err, time.Since(start))
	}
	if c.Failovers() != 0 {
		t.Errorf("%d failovers with one NameNode", c.Failovers())
	}
}

// TestRenameAcrossFailover: the first NameNode drops the connection under
// every copy of a rename2, which it may have executed. rename2 is
// @AtMostOnce, so the IPC client repeats it on new connections and then
// the client fails over to the second NameNode, every copy with the same
// client id and call id and the next retry count: the retry cache the new
// active NameNode took over from the edit log answers a rename already
// done instead of renaming twice.
func TestRenameAcrossFailover(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(nn string, reply func(c *ipctest.Call) ipctest.Reply) ipctest.Handler {
		return ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %s id=%d retry=%d client=%x", nn, c.Method, c.ID, c.RetryCount, c.ClientID))
			mu.Unlock()
			return reply(c)
		})
	}
	nn1 := ipctest.NewServer(t, record("nn1", func(*ipctest.Call) ipctest.Reply { return ipctest.Drop() }))
	nn2 := ipctest.NewServer(t, record("nn2", func(*ipctest.Call) ipctest.Reply { return ipctest.Reply{} }))
	c, ctx := failoverClient(t, Config{User: "alice", NameNodes: []string{nn1.Addr, nn2.Addr}, NameService: "ns"})
	if err := c.Rename(ctx, "/a", "/b", false); err != nil {
		t.Fatal(err)
	}
	if c.Failovers() != 1 || c.CurrentNameNode() != nn2.Addr {
		t.Errorf("%d failovers, on %s; want 1, on %s", c.Failovers(), c.CurrentNameNode(), nn2.Addr)
	}
	mu.Lock()
	defer mu.Unlock()
	id := c.nn.set.ClientID()
	var want []string
	for retry := range 4 { // the first copy and the IPC client's 3 repeats
		want = append(want, fmt.Sprintf("nn1 rename2 id=0 retry=%d client=%x", retry, id))
	}
	want = append(want, fmt.Sprintf("nn2 rename2 id=0 retry=4 client=%x", id))
	if !slices.Equal(seen, want) {
		t.Errorf("calls seen:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

package yarn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
)

// fakeRMClient starts two fake ResourceManagers whose handlers record
// every call as "rmN method id=.. retry=.. client=..", and an RMClient of
// both with a context the test's end cancels.
func fakeRMClient(t *testing.T, rm1, rm2 func(*ipctest.Call) ipctest.Reply) (*RMClient, context.Context, func() []string) {
	var mu sync.Mutex
	var seen []string
	record := func(name string, reply func(*ipctest.Call) ipctest.Reply) ipctest.Handler {
		return ipctest.HandlerFunc(func(c *ipctest.Call) ipctest.Reply {
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %s id=%d retry=%d client=%x", name, c.Method, c.ID, c.RetryCount, c.ClientID))
			mu.Unlock()
			return reply(c)
		})
	}
	s1 := ipctest.NewServer(t, record("rm1", rm1))
	s2 := ipctest.NewServer(t, record("rm2", rm2))
	c, err := NewRMClient(Config{User: "alice", FailoverTimeout: 2 * time.Second, ResourceManagers: []RMAddress{
		{ID: "rm1", RPC: s1.Addr}, {ID: "rm2", RPC: s2.Addr},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c, ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func standbyRM(*ipctest.Call) ipctest.Reply {
	return ipctest.Throw("org.apache.hadoop.ipc.StandbyException", "Operation category READ is not supported in state standby")
}

// TestRMClientOneClientIDAcrossRMs: a call the standby refused goes to the
// active RM with the same client id and call id and the next retry count;
// the client counts one failover and stays on the active RM.
func TestRMClientOneClientIDAcrossRMs(t *testing.T) {
	c, ctx, seen := fakeRMClient(t, standbyRM, func(*ipctest.Call) ipctest.Reply { return ipctest.Reply{} })
	for range 2 {
		if _, err := c.ClusterMetrics(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c.Failovers() != 1 || !strings.HasPrefix(c.CurrentRM(), "rm2 ") {
		t.Errorf("%d failovers, on %s; want 1, on rm2", c.Failovers(), c.CurrentRM())
	}
	id := c.rms.set.ClientID()
	want := []string{
		fmt.Sprintf("rm1 getClusterMetrics id=0 retry=0 client=%x", id),
		fmt.Sprintf("rm2 getClusterMetrics id=0 retry=1 client=%x", id),
		fmt.Sprintf("rm2 getClusterMetrics id=1 retry=0 client=%x", id),
	}
	if got := seen(); !slices.Equal(got, want) {
		t.Errorf("calls seen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRMClientDelegationTokenNotResent: getDelegationToken is not
// idempotent (each call mints a token). When the first RM drops the
// connection under it, it may have minted one: the client returns the
// error rather than asking the second RM for another.
func TestRMClientDelegationTokenNotResent(t *testing.T) {
	c, ctx, seen := fakeRMClient(t,
		func(*ipctest.Call) ipctest.Reply { return ipctest.Drop() },
		func(*ipctest.Call) ipctest.Reply { return ipctest.Reply{} })
	_, err := c.DelegationToken(ctx, "yarn")
	if err == nil || errors.Is(err, ErrNoActiveResourceManager) {
		t.Fatalf("got %v, want the first RM's connection error", err)
	}
	got := seen()
	if len(got) != 1 || !strings.HasPrefix(got[0], "rm1 getDelegationToken id=0 retry=0 ") {
		t.Errorf("calls seen: %q, want one getDelegationToken on rm1", got)
	}
	if c.Failovers() != 0 {
		t.Errorf("%d failovers, want 0", c.Failovers())
	}
}

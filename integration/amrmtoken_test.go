//go:build integration

package integration

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// amrmRollInterval is the AMRMToken rolling interval of the test bed that
// rollingBed starts in a mode: the AM expiry is then 2/7 of it (2.9 s,
// 4.3 s), and Hadoop activates a rolled key 1.5 expiry intervals after the
// roll. On the HA bed an RM failover must fit in the expiry: the new RM
// starts the AM's clock when it recovers the attempt, and the AM reaches
// it only after its failover retries (0.6 s to 0.7 s in our runs, 2.4 s
// in one run that heartbeat during the failover).
func amrmRollInterval(m testbed.Mode) time.Duration {
	if m == testbed.ModeHA {
		return 15 * time.Second
	}
	return 10 * time.Second
}

// rollingBed returns a test bed whose ResourceManagers roll the AMRMToken
// master key within seconds, and the rolling interval and AM expiry it
// runs with: the shared bed if it does, else one started for the caller
// in the shared bed's mode. The shared beds keep Hadoop's day-long
// interval, since the AM expiry must then shrink to under a third of it,
// and an AM whose container takes longer than that from launch to
// registering (localization, a JVM starting on a busy machine) is killed.
func rollingBed(t *testing.T, shared *testbed.TestBed) (tb *testbed.TestBed, roll, expiry time.Duration) {
	t.Helper()
	if roll, expiry := rollTiming(t, shared); roll <= time.Minute {
		return shared, roll, expiry
	}
	ctx := testContext(t, 10*time.Minute)
	started := time.Now()
	tb, err := testbed.Start(ctx, testbed.Options{HA: shared.Mode() == testbed.ModeHA, AMRMTokenRollInterval: amrmRollInterval(shared.Mode())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("own test bed log (last 60 lines of %s):\n%s", tb.LogPath(), tb.LogTail(60))
		}
	})
	t.Logf("started a %s test bed rolling AMRMTokens every %s in %.1f s", tb.Mode(), amrmRollInterval(tb.Mode()), time.Since(started).Seconds())
	roll, expiry = rollTiming(t, tb)
	return tb, roll, expiry
}

// rollTiming reads the AMRMToken rolling interval and the AM expiry from
// a test bed's yarn-site.xml.
func rollTiming(t *testing.T, tb *testbed.TestBed) (roll, expiry time.Duration) {
	t.Helper()
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseInt(conf["yarn.resourcemanager.am-rm-tokens.master-key-rolling-interval-secs"], 10, 64)
	if err != nil {
		t.Fatalf("rolling interval: %v", err)
	}
	ms, err := strconv.ParseInt(conf["yarn.am.liveness-monitor.expiry-interval-ms"], 10, 64)
	if err != nil {
		t.Fatalf("AM expiry: %v", err)
	}
	return time.Duration(secs) * time.Second, time.Duration(ms) * time.Millisecond
}

// connTracker dials TCP and keeps the connections, so that a test can
// drop them and count the dials that replace them.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
	dials int
}

func (d *connTracker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conns = append(d.conns, c)
	d.dials++
	return c, nil
}

// dropAll closes every connection dialed so far and returns the number of
// dials.
func (d *connTracker) dropAll() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
	return d.dials
}

func (d *connTracker) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials
}

func amrmKeyID(t *testing.T, tok yarn.Token) int32 {
	t.Helper()
	id, err := tok.AMRMIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	return id.KeyID
}

// staleTokenRefused reports whether the RMs refuse tok: a fresh AMClient
// registering with it fails to authenticate. While the RM still accepts
// tok, the registration reaches it and fails as a second registration of
// the attempt.
func staleTokenRefused(ctx context.Context, t *testing.T, rms []yarn.RMAddress, tok yarn.Token) (bool, error) {
	probe, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: rms, Token: tok, FailoverTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	_, err = probe.Register(ctx, yarn.AMRegistration{Host: "probe"})
	if err == nil {
		t.Fatal("a second registration of the attempt succeeded")
	}
	return errors.Is(err, yarn.ErrInvalidToken) || errors.Is(err, yarn.ErrUnauthorized), err
}

// TestAMClientAMRMTokenRollover: an unmanaged AM keeps allocating while
// the RM rolls its AMRMToken master key twice. After each roll the AM
// adopts the new token from an allocate response; once the RM has
// activated the new key (proven by a fresh client with the previous token
// being refused), the test drops the AM's connections, and on the HA bed
// also fails the RMs over, so that the AM must authenticate anew, which
// works only with the newest token. The AM then still gets a container
// and ends SUCCEEDED.
//
// The shared beds keep Hadoop's day-long rolling interval (see
// rollingBed), so this test starts its own bed in the suite's mode (plain
// or ha; see amrmRollInterval); not on Kerberos, where an unmanaged AM gets no token (see
// TestAMClientUnmanaged).
func TestAMClientAMRMTokenRollover(t *testing.T) {
	shared := testbed.Get(t)
	if shared.Ready.Kerberos != nil {
		t.Skip("Hadoop withholds an unmanaged AM's token from Kerberos clients (see TestAMClientUnmanaged)")
	}
	t.Parallel()
	tb, roll, expiry := rollingBed(t, shared)
	ctx := testContext(t, 5*time.Minute)
	dialer := &connTracker{}
	rm, am, id := unmanagedAM(t, tb, "", func(c *yarn.AMConfig) { c.Dialer = dialer })
	rms := yarnConfig(t, tb, "alice", "").ResourceManagers
	start := time.Now()
	t.Logf("rolling interval %s, AM expiry %s", roll, expiry)

	heartbeats := 0
	heartbeat := func() {
		t.Helper()
		if _, err := am.Allocate(ctx, yarn.AllocateRequest{}); err != nil {
			t.Fatalf("heartbeat %d, %.1f s in: %v", heartbeats, time.Since(start).Seconds(), err)
		}
		heartbeats++
		time.Sleep(100 * time.Millisecond)
	}
	// heartbeatUntil heartbeats (the AM must, or the RM expires it) until
	// done reports true, for at most d.
	heartbeatUntil := func(what string, d time.Duration, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s", what, d)
			}
			heartbeat()
		}
	}

	for r := 1; r <= 2; r++ {
		prev := am.Token()
		heartbeatUntil("the AM adopts a rolled AMRMToken", roll+5*time.Second, func() bool {
			return amrmKeyID(t, am.Token()) != amrmKeyID(t, prev)
		})
		rolledAt := time.Since(start)
		var lastErr error
		heartbeatUntil("the RM refuses the previous AMRMToken", 3*expiry/2+5*time.Second, func() bool {
			refused, err := staleTokenRefused(ctx, t, rms, prev)
			lastErr = err
			return refused
		})
		t.Logf("roll %d: key %d -> %d adopted %.1f s in, the old key refused %.1f s later (%v)", r,
			amrmKeyID(t, prev), amrmKeyID(t, am.Token()), rolledAt.Seconds(), (time.Since(start) - rolledAt).Seconds(), lastErr)

		// A new connection to the same RM.
		dials := dialer.dropAll()
		time.Sleep(50 * time.Millisecond)
		heartbeat()
		if dialer.count() == dials {
			t.Fatalf("roll %d: the heartbeat after dropping the connections dialed no new one", r)
		}
		if tb.Mode() != testbed.ModeHA {
			continue
		}
		// A connection to the other RM; on the second round, back to the
		// first RM, whose IPC client the AM made before either roll.
		// No heartbeat meanwhile: the new active RM starts the AM's expiry
		// clock when it recovers the attempt, and a heartbeat caught in the
		// AMClient's failover backoff could reach it too late.
		before := am.CurrentRM()
		dials = dialer.count()
		if _, err := tb.Control(ctx, "/rm/failover"); err != nil {
			t.Fatal(err)
		}
		failedOver := time.Now()
		heartbeatUntil("the AM follows the failover", 30*time.Second, func() bool { return am.CurrentRM() != before })
		t.Logf("roll %d: the AM reached the new active RM %.1f s after the failover", r, time.Since(failedOver).Seconds())
		if dialer.count() == dials {
			t.Fatalf("roll %d: no new connection after failing over from %s", r, before)
		}
		t.Logf("roll %d: failed over from %s to %s; %d resyncs so far", r, before, am.CurrentRM(), am.Resyncs())
	}

	// Still an AM in good standing: it gets a container and finishes.
	req := yarn.AllocateRequest{Asks: []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: 1}}}
	var got []yarn.ContainerID
	deadline := time.Now().Add(time.Minute)
	for len(got) == 0 {
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Command != yarn.AMResync {
			req = yarn.AllocateRequest{}
		}
		for _, c := range resp.Allocated {
			got = append(got, c.ID)
		}
		if time.Now().After(deadline) {
			t.Fatal("no container within a minute after the rolls")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := am.Allocate(ctx, yarn.AllocateRequest{Release: got}); err != nil {
		t.Fatal(err)
	}
	if err := am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded, Diagnostics: "survived two rolls"}); err != nil {
		t.Fatal(err)
	}
	r, err := rm.WaitForState(ctx, id, 100*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State.IsFinal() })
	if err != nil {
		t.Fatal(err)
	}
	if r.FinalStatus != yarn.FinalSucceeded {
		t.Fatalf("final %s/%s %q, want FINISHED/SUCCEEDED", r.State, r.FinalStatus, r.Diagnostics)
	}
	t.Logf("%d heartbeats, %d dials, %.1f s from registration to SUCCEEDED", heartbeats, dialer.count(), time.Since(start).Seconds())
}

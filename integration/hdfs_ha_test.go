//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// nnFailover makes the other NameNode of ns1 active and returns it.
func nnFailover(t *testing.T, ctx context.Context, tb *testbed.TestBed) testbed.NameNode {
	t.Helper()
	start := time.Now()
	msg, err := tb.Control(ctx, "/nn/failover")
	if err != nil {
		t.Fatal(err)
	}
	active, err := tb.ActiveNameNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s); active: %s", msg, time.Since(start).Round(time.Millisecond), active.ID)
	return active
}

// restoreFirstNameNode makes nn1 active again when t ends, for the tests
// after it that talk to Ready.NameNode directly.
func restoreFirstNameNode(t *testing.T, tb *testbed.TestBed) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if active, err := tb.ActiveNameNode(ctx); err == nil && active.ID == tb.Ready.NameNodes[0].ID {
			return
		}
		if _, err := tb.Control(ctx, "/nn/failover"); err != nil {
			t.Errorf("restoring nn1 as the active NameNode: %v", err)
		}
	})
}

// TestHAHDFSConfig: the HA bed's site XML describes the nameservice ns1
// with both NameNodes, and the client takes it as such: URLs name the
// nameservice, not a NameNode; the plain and Kerberos beds have one
// NameNode and no nameservice.
func TestHAHDFSConfig(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, time.Minute)
	c := stagingClient(t, tb, "alice", nil)
	if !tb.Ready.HA {
		if c.NameService() != "" || len(c.NameNodes()) != 1 {
			t.Fatalf("non-HA bed: client nameservice %q, NameNodes %v; want none and one", c.NameService(), c.NameNodes())
		}
		if len(tb.Ready.NameNodes) == 0 {
			t.Skipf("the test bed in %s predates ready.json's namenodes; restart it", tb.Dir)
		}
		if len(tb.Ready.NameNodes) != 1 || tb.Ready.NameNodes[0].RPC != c.NameNodes()[0] || tb.Ready.NameService != "" {
			t.Fatalf("non-HA bed: ready.json nameservice %q, namenodes %v; client %v", tb.Ready.NameService, tb.Ready.NameNodes, c.NameNodes())
		}
		if _, err := tb.Control(ctx, "/nn/failover"); err == nil || !strings.Contains(err.Error(), "409") {
			t.Errorf("/nn/failover on the %s bed: %v, want 409", tb.Mode(), err)
		}
		return
	}
	if tb.Ready.NameService != "ns1" || len(tb.Ready.NameNodes) != 2 {
		t.Fatalf("ready.json: nameservice %q, namenodes %v; want ns1 with two", tb.Ready.NameService, tb.Ready.NameNodes)
	}
	var want []string
	for _, nn := range tb.Ready.NameNodes {
		want = append(want, nn.RPC)
	}
	if c.NameService() != "ns1" || strings.Join(c.NameNodes(), ",") != strings.Join(want, ",") {
		t.Errorf("client: nameservice %q, NameNodes %v; want ns1, %v", c.NameService(), c.NameNodes(), want)
	}
	if u := c.URL("/user/alice"); u != "hdfs://ns1/user/alice" {
		t.Errorf("URL: %s, want hdfs://ns1/user/alice", u)
	}
	states := map[string]string{}
	for _, nn := range tb.Ready.NameNodes {
		st, err := tb.NameNodeState(ctx, nn)
		if err != nil {
			t.Fatal(err)
		}
		states[nn.ID] = st
	}
	if states["nn1"] != "active" || states["nn2"] != "standby" {
		t.Errorf("NameNode states %v, want nn1 active and nn2 standby", states)
	}
}

// TestHAHDFSStagingAcrossNameNodeFailover: on the HA bed, Stage, ReadFile
// and RemoveStaging succeed with the NameNodes failed over between the
// calls, from a client that existed before the failovers and from one made
// while its first NameNode is the standby; the cache staged before a
// failover is reused after it, and URLs name the nameservice.
func TestHAHDFSStagingAcrossNameNodeFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 4*time.Minute)
	restoreFirstNameNode(t, tb)
	if active, err := tb.ActiveNameNode(ctx); err != nil || active.ID != "nn1" {
		t.Fatalf("active NameNode at the start: %v %v, want nn1", active.ID, err)
	}
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	withCache := func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir }
	alice := stagingClient(t, tb, "alice", withCache)
	t.Cleanup(func() { alice.Remove(context.Background(), cacheDir, true) })

	dir := t.TempDir()
	for i := range 3 {
		randomFile(t, dir, fmt.Sprintf("f%d", i), 10_000+i)
	}
	deps := func(names ...string) []hdfs.Dependency {
		var out []hdfs.Dependency
		for _, n := range names {
			out = append(out, hdfs.Dependency{Local: filepath.Join(dir, n)})
		}
		return out
	}

	app1 := testAppID(t)
	st1, err := alice.Stage(ctx, app1, deps("f0", "f1", "f2"), hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), app1) })
	for _, r := range st1.Resources {
		if !strings.HasPrefix(r.URL, "hdfs://ns1/") {
			t.Errorf("resource URL %s does not name the nameservice", r.URL)
		}
	}

	if nn := nnFailover(t, ctx, tb); nn.ID != "nn2" {
		t.Fatalf("after failover %s is active, want nn2", nn.ID)
	}
	// The client's first NameNode is now the standby.
	randomFile(t, dir, "f3", 5_000)
	app2 := testAppID(t)
	st2, err := alice.Stage(ctx, app2, deps("f0", "f1", "f2", "f3"), hdfs.StageOptions{})
	if err != nil {
		t.Fatalf("Stage after a NameNode failover: %v", err)
	}
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), app2) })
	nn2 := tb.Ready.NameNodes[1]
	if alice.Failovers() < 1 || !strings.Contains(alice.CurrentNameNode(), nn2.RPC) {
		t.Errorf("after Stage: %d failovers, on %s; want at least 1, on nn2 (%s)", alice.Failovers(), alice.CurrentNameNode(), nn2.RPC)
	}
	if st2.ReusedFiles != 3 || st2.UploadedFiles != 1 {
		t.Errorf("Stage after failover reused %d and uploaded %d files, want 3 and 1", st2.ReusedFiles, st2.UploadedFiles)
	}
	for i, r := range st2.Resources {
		got, err := alice.ReadFile(ctx, r.Path)
		if err != nil {
			t.Fatalf("reading %s after failover: %v", r.Path, err)
		}
		if want, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%d", i))); !bytes.Equal(got, want) {
			t.Errorf("%s differs from f%d", r.Path, i)
		}
	}
	if err := alice.RemoveStaging(ctx, app1); err != nil {
		t.Fatalf("RemoveStaging after a NameNode failover: %v", err)
	}
	if _, err := alice.Stat(ctx, st1.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory of %s after RemoveStaging: %v", app1, err)
	}

	// A client made now starts on the standby nn1 and finds nn2.
	fresh := stagingClient(t, tb, "alice", withCache)
	if _, err := fresh.Stat(ctx, st2.Dir); err != nil {
		t.Fatalf("a new client while nn1 is the standby: %v", err)
	}
	if fresh.Failovers() != 1 || !strings.Contains(fresh.CurrentNameNode(), nn2.RPC) {
		t.Errorf("new client: %d failovers, on %s; want 1, on nn2 (%s)", fresh.Failovers(), fresh.CurrentNameNode(), nn2.RPC)
	}

	if nn := nnFailover(t, ctx, tb); nn.ID != "nn1" {
		t.Fatalf("after the second failover %s is active, want nn1", nn.ID)
	}
	if err := fresh.RemoveStaging(ctx, app2); err != nil {
		t.Fatalf("RemoveStaging of %s after failing back: %v", app2, err)
	}
	if _, err := fresh.Stat(ctx, st2.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory of %s after RemoveStaging: %v", app2, err)
	}
}

// TestHAHDFSStageDuringNameNodeFailover: a Stage of 60 files succeeds
// although the NameNodes fail over while it uploads, and what it staged
// reads back.
//
// It used to fail, when files were written through colinmarc/hdfs, which
// gave up on meeting both NameNodes as standbys mid-failover; the block
// calls of hdfs's own writer (addBlock, complete, ...) go through the same
// failover loop as namespace calls.
func TestHAHDFSStageDuringNameNodeFailover(t *testing.T) {
	tb := testbed.RequireHA(t)
	ctx := testContext(t, 2*time.Minute)
	restoreFirstNameNode(t, tb)
	cacheDir := "/user/alice/.spindle/test-cache-" + strings.TrimPrefix(testAppID(t), "application_")
	withCache := func(cfg *hdfs.Config) { cfg.PrivateCacheDir = cacheDir }
	during := stagingClient(t, tb, "alice", withCache)
	t.Cleanup(func() { during.Remove(context.Background(), cacheDir, true) })
	many := t.TempDir()
	for i := range 60 {
		randomFile(t, many, fmt.Sprintf("d/%02d", i), 2_000)
	}
	app3 := testAppID(t)
	t.Cleanup(func() { during.RemoveStaging(context.Background(), app3) })
	started := make(chan struct{})
	var once bool
	type result struct {
		st  *hdfs.Staging
		err error
	}
	done := make(chan result, 1)
	go func() {
		var deps []hdfs.Dependency
		for i := range 60 {
			deps = append(deps, hdfs.Dependency{Local: filepath.Join(many, fmt.Sprintf("d/%02d", i)),
				Name: fmt.Sprintf("m%02d", i), Visibility: hdfs.VisibilityApplication})
		}
		st, err := during.Stage(ctx, app3, deps, hdfs.StageOptions{Progress: func(p hdfs.Progress) {
			if !once && p.FilesDone > 0 {
				once = true
				close(started)
			}
		}})
		done <- result{st, err}
	}()
	select {
	case <-started:
	case r := <-done:
		t.Fatalf("Stage of 60 files ended before any was done: %v", r.err)
	}
	nnFailover(t, ctx, tb)
	var r result
	select {
	case r = <-done:
		t.Errorf("the Stage of 60 files ended before the failover did; the test proves nothing about a failover under way")
	default:
		r = <-done
	}
	if r.err != nil {
		t.Fatalf("Stage with a NameNode failover under way: %v", r.err)
	}
	for i, res := range r.st.Resources {
		if i%20 != 0 {
			continue
		}
		got, err := during.ReadFile(ctx, res.Path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(many, fmt.Sprintf("d/%02d", i)))
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what was staged", res.Path)
		}
	}
	if err := during.RemoveStaging(ctx, app3); err != nil {
		t.Fatalf("RemoveStaging of %s: %v", app3, err)
	}
	if _, err := during.Stat(ctx, r.st.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory of %s after RemoveStaging: %v", app3, err)
	}
}

// TestHAHDFSDelegationTokens: on a Kerberos test bed with HA HDFS (which
// it starts itself, in the ha run only), DelegationTokens returns one
// HDFS_DELEGATION_TOKEN with the service "ha-hdfs:ns1", owned by alice and
// renewable by the RM's principal; a client holding only that token (as a
// container does) lists and removes a staging directory before and after
// a NameNode failover, since both NameNodes know the token.
func TestHAHDFSDelegationTokens(t *testing.T) {
	testbed.RequireHA(t)
	ctx := testContext(t, 5*time.Minute)
	own, err := testbed.Start(ctx, testbed.Options{Kerberos: true, HA: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	t.Logf("Kerberos and HA test bed ready in %.1f s (Java reported)", own.Ready.StartupSeconds)

	alice := stagingClient(t, own, "alice", nil)
	if alice.NameService() != "ns1" {
		t.Fatalf("client nameservice %q, want ns1", alice.NameService())
	}
	toks, err := alice.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 {
		t.Fatalf("%d tokens, want 1", len(toks))
	}
	tok := toks[0]
	if tok.Kind != hdfs.KindDelegationToken || tok.Service != "ha-hdfs:ns1" {
		t.Errorf("token %v: want kind %s, service ha-hdfs:ns1", tok, hdfs.KindDelegationToken)
	}
	id, err := tok.DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if id.Renewer != "hadoop" || !strings.HasPrefix(id.Owner, "alice") {
		t.Errorf("token identifier %+v: want owner alice, renewer hadoop", id)
	}

	dir := t.TempDir()
	randomFile(t, dir, "f", 100)
	appID := testAppID(t)
	st, err := alice.Stage(ctx, appID, []hdfs.Dependency{{Local: filepath.Join(dir, "f"), Visibility: hdfs.VisibilityApplication}}, hdfs.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.RemoveStaging(context.Background(), appID) })

	tokenOnly := tokenOnlyClient(t, own, toks, "")
	if _, err := tokenOnly.ReadDir(ctx, st.Dir); err != nil {
		t.Fatalf("listing with the ha-hdfs:ns1 token: %v", err)
	}
	if nn := nnFailover(t, ctx, own); nn.ID != "nn2" {
		t.Fatalf("after failover %s is active, want nn2", nn.ID)
	}
	list, err := tokenOnly.ReadDir(ctx, st.Dir)
	if err != nil {
		t.Fatalf("listing with the token after a NameNode failover: %v", err)
	}
	if len(list) == 0 {
		t.Error("the staging directory listed empty")
	}
	if err := tokenOnly.RemoveStaging(ctx, appID); err != nil {
		t.Fatalf("removing the staging directory with the token after failover: %v", err)
	}
	if _, err := alice.Stat(ctx, st.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory after removal with the token: %v", err)
	}
	// A token-only client made now starts on the standby nn1.
	fresh := tokenOnlyClient(t, own, toks, "")
	if _, err := fresh.Stat(ctx, "/user/alice"); err != nil {
		t.Errorf("a new token-only client while nn1 is the standby: %v", err)
	}
}

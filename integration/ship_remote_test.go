//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// TestShipRemote: -ship hdfs:///path gives every container a file already
// in HDFS, referenced where it is (not copied into the staging directory):
// the JobManager's and the TaskManagers' working directories hold it with
// its contents.
func TestShipRemote(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("shipping is the same on every bed; proven on the plain and Kerberos beds")
	}
	ctx := testContext(t, 2*time.Minute)
	fs := stagingClient(t, tb, "alice", nil)
	name := fmt.Sprintf("remote-%d.txt", time.Now().UnixNano())
	p := "/user/alice/" + name
	w, err := fs.Create(ctx, p, hdfs.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("shipped from hdfs\n"))
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}
	pr := startRuntimeProbe(t, tb, "-t", "yarn-application", "-ship", "hdfs://"+p, "-records", "10000", "-parallelism", "2")
	pr.wait(t)
	if pr.code != 0 {
		t.Fatalf("exit %d", pr.code)
	}
	appID := recv(t, pr, pr.appID, "application id")
	found, _ := filepath.Glob(filepath.Join(tb.Dir, "work", "yarn", "*", "*", "*", "usercache", "alice", "appcache", appID, "container_*", name))
	if len(found) < 2 {
		t.Fatalf("%d containers hold %s, want the JobManager's and its TaskManagers'", len(found), name)
	}
	for _, f := range found {
		if b, err := os.ReadFile(f); err != nil || string(b) != "shipped from hdfs\n" {
			t.Errorf("%s: %q, %v", f, b, err)
		}
	}
}

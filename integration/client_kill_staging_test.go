//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestClientKilledWhileStaging: a client SIGKILLed while it uploads a
// deployment's dependencies (before anything was submitted) leaves no
// staging directory: its guard, a process of its own binary that watched
// the deployment, removes it. Proven once, on the plain bed.
func TestClientKilledWhileStaging(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the guard is the same on every bed; proven once, on the plain bed")
	}
	// A dependency of 1 GiB that no cache holds (its first bytes are
	// random), so staging takes seconds.
	big := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 64)
	rand.Read(head)
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, _ := wordcountCorpus(t, tb)

	hfs := hdfsClient(t, tb, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// -v logs the application id as soon as the ResourceManager gives it,
	// before staging: other tests may deploy as alice meanwhile.
	cmd := exec.CommandContext(ctx, wordcountBinary(t), "run", "-t", "yarn-application", "-v", "-ship", big, "-input", in, "-output", outputDir(t))
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+t.TempDir())
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	// Kill the client once its staging directory exists.
	appRE := regexp.MustCompile(`"new application" app=(application_\d+_\d+)`)
	var app string
	var lastErr error
	for {
		if m := appRE.FindStringSubmatch(out.String()); m != nil && app == "" {
			app = m[1]
		}
		if app != "" {
			_, err := hfs.Stat("/user/alice/.spindle/" + app)
			if err == nil {
				break
			}
			lastErr = err
		}
		select {
		case <-exited:
			t.Fatalf("the client ended before its staging directory was seen (%v):\n%s", lastErr, out.String())
		case <-ctx.Done():
			t.Fatal("no staging directory appeared")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	dir := "/user/alice/.spindle/" + app
	for {
		_, err := hfs.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if time.Since(killed) > time.Minute {
			t.Fatalf("%s still there a minute after its client was killed while staging:\n%s", dir, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s removed %.1f s after its client was killed while staging", dir, time.Since(killed).Seconds())
	<-exited // the guard held the output open; it has exited too
	if !strings.Contains(out.String(), "the client died while deploying "+app) {
		t.Errorf("the guard did not say what it did:\n%s", out.String())
	} else {
		t.Logf("client and guard output:\n%s", out.String())
	}
	// Nothing was submitted, or what was is not running.
	id, err := yarn.ParseApplicationID(app)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rmClient(t, tb, "alice", "").ApplicationReport(testContext(t, time.Minute), id)
	if err == nil && !rep.State.IsFinal() {
		t.Errorf("%s is %s after its client was killed while staging", app, rep.State)
	} else if err != nil && !errors.Is(err, yarn.ErrApplicationNotFound) {
		t.Fatal(err)
	}
}

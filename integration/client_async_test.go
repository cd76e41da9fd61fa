//go:build integration

package integration

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

// clientProc is a Spindle program's client (wordcount, runtimeprobe)
// running in the background, for tests that act while a job runs (scan
// its containers, fail the RM over) or run several clients at once. Its
// output can be read while it runs; wait gives the same wordcountRun as
// runWordcountLogin.
type clientProc struct {
	args        []string
	cmd         *exec.Cmd
	cancel      context.CancelFunc
	out, stdout lockedBuffer
	start, end  time.Time
	done        chan struct{} // closed once the process exited
	code        int
}

// startWordcountLogin starts `wordcount args... login...` the way
// runWordcountLogin runs it (same environment, five minutes at most).
func startWordcountLogin(t *testing.T, tb *testbed.TestBed, login []string, args ...string) *clientProc {
	t.Helper()
	return startClient(t, tb, wordcountBinary(t), spindleHome(t), login, args...)
}

// startClient starts `bin args... login...` as alice (login: the Kerberos
// flags, none on other beds) with SPINDLE_HOME home, five minutes at most.
func startClient(t *testing.T, tb *testbed.TestBed, bin, home string, login []string, args ...string) *clientProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	args = append(append([]string(nil), args...), login...)
	p := &clientProc{args: args, cancel: cancel, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice", "SPINDLE_HOME="+home)
	if k := tb.Ready.Kerberos; k != nil {
		p.cmd.Env = append(p.cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	p.cmd.Stdout, p.cmd.Stderr = io.MultiWriter(&p.out, &p.stdout), &p.out
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		p.end = time.Now()
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func (p *clientProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitOutput waits up to d for the output to match re and returns the
// match; it fails the test if the client exits or d passes first.
func (p *clientProc) waitOutput(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ended := p.exited() // before reading, so the last output counts
		if m := re.FindString(p.out.String()); m != "" {
			return m
		}
		if ended {
			t.Fatalf("%s %s exited (%d) without printing %q:\n%s", p.name(), strings.Join(p.args, " "), p.code, re, p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s printed no %q within %s:\n%s", p.name(), strings.Join(p.args, " "), re, d, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the client to exit (it is killed after its five
// minutes) and returns what runWordcountLogin would.
func (p *clientProc) wait(t *testing.T) wordcountRun {
	t.Helper()
	<-p.done
	r := wordcountRun{out: p.out.String(), stdout: p.stdout.String(), code: p.code}
	if r.code < 0 {
		t.Fatalf("%s %s did not finish:\n%s", p.name(), strings.Join(p.args, " "), r.out)
	}
	if m := regexp.MustCompile(`(?m)^(?:submitted )?(application_\d+_\d+)$`).FindStringSubmatch(r.stdout); m != nil {
		r.appID = m[1]
	}
	t.Logf("%s %s: exit %d in %s, %d bytes of output\n%s", p.name(), strings.Join(p.args, " "), r.code, p.end.Sub(p.start).Round(time.Millisecond), len(r.out), r.out)
	return r
}

func (p *clientProc) name() string { return filepath.Base(p.cmd.Path) }

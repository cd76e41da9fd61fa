//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

// processTree returns pid and every process descending from it, with
// their command lines, from /proc.
func processTree(pid int) map[int]string {
	children := map[int][]int{}
	cmdlines := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cmdlines[p] = strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	tree := map[int]string{}
	var walk func(int)
	walk = func(p int) {
		tree[p] = cmdlines[p]
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return tree
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// TestTestbedStopsWithinTenSeconds: a test bed that is running an
// application, its containers sleeping, exits within 10 s of a SIGTERM to
// its process group (what `make testbed` gets on Ctrl-C or kill), and no
// process it started survives it: neither the JVM nor a container, which
// YARN runs in a session of its own. Stop then returns at once. It starts
// a test bed of its own, in the plain run only.
func TestTestbedStopsWithinTenSeconds(t *testing.T) {
	testbed.RequirePlain(t)
	ctx := testContext(t, 5*time.Minute)
	own, err := testbed.Start(ctx, testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	t.Logf("own test bed ready in %.1f s (Java reported)", own.Ready.StartupSeconds)

	// dshell itself is killed when the test ends; it would retry the
	// stopped RM for a while.
	_, appID, _ := startDshell(t, own, "-n", "4", "-name", "spindle-stop-test", "--", "sleep", "300")
	waitRunning(t, ctx, rmClient(t, own, "alice", ""), appID)
	// The AM asks for its containers once RUNNING; wait until they sleep.
	var tree map[int]string
	for deadline := time.Now().Add(2 * time.Minute); ; {
		tree = processTree(own.Ready.PID)
		sleeping := 0
		for _, cmd := range tree {
			if cmd == "sleep 300" {
				sleeping++
			}
		}
		if sleeping == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 containers sleeping after 2 minutes; processes: %v", sleeping, tree)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the JVM (pid %d) and %d processes it started are running", own.Ready.PID, len(tree)-1)

	start := time.Now()
	if err := syscall.Kill(-own.Ready.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-own.Exited():
		t.Logf("the test bed exited %.1f s after SIGTERM", time.Since(start).Seconds())
	case <-time.After(10 * time.Second):
		t.Fatalf("the test bed still runs 10 s after SIGTERM to its process group;\n%s", own.LogTail(40))
	}
	for _, l := range strings.Split(own.LogTail(400), "\n") {
		if strings.HasPrefix(l, "testbed: ") {
			t.Log(l)
		}
	}
	// Orphans are reparented and may take a moment to be reaped.
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; {
		left = left[:0]
		for pid, cmd := range tree {
			if alive(pid) {
				left = append(left, fmt.Sprintf("%d %.100s", pid, cmd))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("processes of the stopped test bed still running:\n%s", strings.Join(left, "\n"))
	}

	stopStart := time.Now()
	own.Stop()
	if d := time.Since(stopStart); d > 2*time.Second {
		t.Errorf("Stop of an exited test bed took %s", d)
	}
}

//go:build integration

package integration

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionShippedBinary: a session of wordcount runs jobs of another
// program, runtimeprobe, whose operators it lacks: the first submission
// is answered "another binary", so the client stages its binary by
// content and submits again; the session's idle TaskManager fetches it
// (with the job's credentials on the Kerberos bed) and becomes it, and the
// job's sums come out right. The second runtimeprobe job finds the binary
// in the cache (nothing uploaded again) and runs on the same TaskManager; a
// wordcount job afterwards runs on a TaskManager of the session's own
// binary. Three containers in all: the JobManager, runtimeprobe's
// TaskManager reused, wordcount's.
func TestSessionShippedBinary(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("shipping a job's binary is the same on every bed; proven on the plain and Kerberos beds")
	}
	home := t.TempDir()
	wc, probe := wordcountBinary(t), runtimeProbe(t)
	in, want := wordcountCorpus(t, tb)
	rm := rmClient(t, tb, "alice", "")

	name := fmt.Sprintf("b%d", time.Now().UnixNano()%1_000_000_000)
	start := runTool(t, tb, home, wc, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "2", "-tm-memory", "256")
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if start.code != 0 || m == nil {
		t.Fatalf("session start: exit %d, no application id on a line of its own", start.code)
	}
	appID := m[1]
	id, err := yarn.ParseApplicationID(appID)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		runTool(t, tb, home, wc, "session", "stop", "-id", appID)
		rm.KillAndWait(ctx, id, "the test ended")
	})

	const records = 20000
	sum := fmt.Sprintf("probe.sum = %d", int64(records)*(records-1)/2)
	// The first job uploads runtimeprobe's binary unless an earlier test
	// staged it (a session of runtimeprobe); the second finds it cached.
	for i, wantNote := range []string{"", "found in the cache, nothing uploaded"} {
		r := runTool(t, tb, home, probe, "run", "-t", "yarn-session", "-session", name, "-records", fmt.Sprint(records), "-parallelism", "2")
		if r.code != 0 {
			t.Fatalf("runtimeprobe job %d on wordcount's session: exit %d", i+1, r.code)
		}
		if !strings.Contains(r.stdout, "runs another binary: shipping this one with the job (") || !strings.Contains(r.stdout, wantNote) {
			t.Errorf("runtimeprobe job %d: the client did not say it shipped its binary (%s)", i+1, wantNote)
		}
		if !strings.Contains(r.stdout, fmt.Sprintf("probe.records = %d", records)) || !strings.Contains(r.stdout, sum) {
			t.Errorf("runtimeprobe job %d: want probe.records = %d and %s", i+1, records, sum)
		}
	}

	out := outputDir(t)
	r := runTool(t, tb, home, wc, "run", "-t", "yarn-session", "-session", name, "-input", in, "-output", out, "-parallelism", "2")
	if r.code != 0 {
		t.Fatalf("wordcount's job after runtimeprobe's: exit %d", r.code)
	}
	if strings.Contains(r.stdout, "shipping this one") {
		t.Error("wordcount shipped its binary to its own session")
	}
	checkWordcountOutput(t, tb, out, want)

	if n := len(containerDirs(tb, appID)); n != 3 {
		t.Errorf("the session ran %d containers, want 3 (JobManager, runtimeprobe's TaskManager reused, wordcount's)", n)
	}
	stop := runTool(t, tb, home, wc, "session", "stop", "-name", name)
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	checkStagingRemoved(t, tb, appID)
}

// TestSessionLauncherGeneric: examples/launcher starts a generic session
// (its binary holds no job's operators); wordcount submits to it, ships
// its binary, and its job is right: the launcher's JobManager splits and
// commits the built-in HDFS text source and sink. Proven on the plain bed;
// the Kerberos side of shipping is TestSessionShippedBinary's.
func TestSessionLauncherGeneric(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("a launcher session is the same on every bed; proven on the plain bed")
	}
	home := t.TempDir()
	launcher, wc := launcherBinary(t), wordcountBinary(t)
	in, want := wordcountCorpus(t, tb)
	name := fmt.Sprintf("g%d", time.Now().UnixNano()%1_000_000_000)
	start := runTool(t, tb, home, launcher, "session", "start", "-name", name, "-d", "-min-taskmanagers", "0", "-max-taskmanagers", "2", "-tm-memory", "256")
	m := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindStringSubmatch(start.stdout)
	if start.code != 0 || m == nil {
		t.Fatalf("launcher session start: exit %d, no application id on a line of its own", start.code)
	}
	appID := m[1]
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			runTool(t, tb, home, launcher, "session", "stop", "-id", appID)
		}
	})
	out := outputDir(t)
	r := runTool(t, tb, home, wc, "run", "-t", "yarn-session", "-session", name, "-input", in, "-output", out, "-parallelism", "2")
	if r.code != 0 {
		t.Fatalf("wordcount on a launcher session: exit %d", r.code)
	}
	if !strings.Contains(r.stdout, "runs another binary: shipping this one with the job") {
		t.Error("wordcount did not ship its binary to the launcher's session")
	}
	checkWordcountOutput(t, tb, out, want)
	stop := runTool(t, tb, home, launcher, "session", "stop", "-name", name)
	stopped = true
	if stop.code != 0 || !strings.Contains(stop.stdout, "FINISHED, final status SUCCEEDED") {
		t.Fatalf("session stop: exit %d", stop.code)
	}
	checkStagingRemoved(t, tb, appID)
}

//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/wc"
	"github.com/spindle-yarn/spindle/integration/testbed"
)

// Faults of issue 13 on the real bed: a NodeManager lost in every mode,
// and random task failures.

// TestWordcountRandomFailures: a wordcount of 32 subtasks per vertex (64
// of tokenize and count, which fail; 128 in all) in which each tokenize
// and count subtask fails with probability 5% in each of the first two
// job attempts (-fail-probability 0.05 -fail-attempts 2, at a drawn point
// of its input) finishes with the right counts. The seed is new each run
// and logged; from it the test knows which attempts fail (wc.DrawFailure:
// an attempt fails when any of its 64 draws does, since a subtask that
// drew a failure reaches it at the latest at the end of its input), so it
// asserts the exact number of attempts, and that the TaskManagers' logs
// hold the failures the first failing subtasks drew.
//
// Plain bed only: restarts do not depend on the bed's security.
func TestWordcountRandomFailures(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("restarts under random failures are the same on every bed; proven on the plain bed")
	}
	const (
		parallelism = 32
		p           = 0.05
		failing     = 2 // job attempts in which subtasks may fail
	)
	in, want := wordcountCorpus(t, tb)
	seed := uint64(time.Now().UnixNano())%1_000_000_000 + 1
	// The attempts the job needs: the first in which no subtask draws a
	// failure; and the draws of the ones before it, by attempt and
	// subtask, each the record it fails after (or the end of a shorter
	// input: with 3 splits, most read subtasks get none).
	attempts := failing + 1
	drawn := map[int]map[string]int64{}
	for a := 0; a < failing; a++ {
		drawn[a] = map[string]int64{}
		for _, v := range []string{"tokenize", "count"} {
			for i := 0; i < parallelism; i++ {
				if fail, at := wc.DrawFailure(seed, v, i, a, p); fail {
					drawn[a][fmt.Sprintf("%s %d", v, i)] = at
				}
			}
		}
		if len(drawn[a]) == 0 {
			attempts = a + 1
			break
		}
	}
	t.Logf("seed %d: %d attempt(s) expected; failures drawn: %v", seed, attempts, drawn)

	out := outputDir(t)
	began := time.Now()
	r := runWordcount(t, tb, "-t", "yarn-application", "-input", in, "-output", out,
		"-parallelism", strconv.Itoa(parallelism), "-slots", "8",
		"-fail-probability", fmt.Sprint(p), "-fail-seed", fmt.Sprint(seed), "-fail-attempts", strconv.Itoa(failing),
		"-restarts", strconv.Itoa(failing+1))
	took := time.Since(began)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	m := regexp.MustCompile(`\((\d+) attempt\(s\)\)`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatal("the client did not report the job's attempts")
	}
	if got, _ := strconv.Atoi(m[1]); got != attempts {
		t.Errorf("the job took %d attempt(s), want %d (seed %d)", got, attempts, seed)
	}
	checkWordcountOutput(t, tb, out, want)
	checkStagingRemoved(t, tb, r.appID)

	// Each failing attempt failed at least one drawn subtask, no later
	// than its draw, and nothing failed that was not drawn.
	injected := regexp.MustCompile(`random failure injected by \S+ \(seed \d+\) in (\w+) subtask (\d+), job attempt (\d+), after (\d+) records`)
	perAttempt := map[int]int{}
	seen := map[string]bool{}
	for _, dir := range containerDirs(tb, r.appID) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, m := range injected.FindAllStringSubmatch(string(b), -1) {
				if seen[m[0]] {
					continue // logged twice, e.g. by the TaskManager and the JobManager
				}
				seen[m[0]] = true
				a, _ := strconv.Atoi(m[3])
				n, _ := strconv.ParseInt(m[4], 10, 64)
				at, ok := drawn[a][m[1]+" "+m[2]]
				if !ok || n > at {
					t.Errorf("a failure that was not drawn: %s (drawn in attempt %d: %v)", m[0], a, drawn[a])
				}
				perAttempt[a]++
			}
		}
	}
	for a := 0; a < attempts-1; a++ {
		if perAttempt[a] == 0 {
			t.Errorf("attempt %d drew %d failures but the logs show none", a, len(drawn[a]))
		}
	}
	t.Logf("%d attempt(s) in %s; failures logged per attempt %v (drawn %d, %d); %d containers",
		attempts, took.Round(time.Millisecond), perAttempt, len(drawn[0]), len(drawn[1]), len(containerDirs(tb, r.appID)))
}

package wc

import (
	"math"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// TestDrawFailure: draws repeat for the same seed, subtask and attempt,
// differ between seeds, and fail at about the probability asked for, at
// points spread below FailAfterLines.
func TestDrawFailure(t *testing.T) {
	const n, p = 20000, 0.05
	fails, differ := 0, 0
	var maxAt int64
	for i := range n {
		f1, at1 := DrawFailure(7, "tokenize", i%64, i/64, p)
		f2, at2 := DrawFailure(7, "tokenize", i%64, i/64, p)
		if f1 != f2 || at1 != at2 {
			t.Fatalf("subtask %d attempt %d drew (%v, %d) then (%v, %d)", i%64, i/64, f1, at1, f2, at2)
		}
		if f3, _ := DrawFailure(8, "tokenize", i%64, i/64, p); f3 != f1 {
			differ++
		}
		if at1 < 0 || at1 >= FailAfterLines {
			t.Fatalf("failure point %d outside [0, %d)", at1, FailAfterLines)
		}
		maxAt = max(maxAt, at1)
		if f1 {
			fails++
		}
	}
	// Binomial(20000, 0.05): mean 1000, standard deviation about 31.
	if math.Abs(float64(fails)-n*p) > 5*math.Sqrt(n*p*(1-p)) {
		t.Errorf("%d of %d draws failed, want about %.0f", fails, n, n*p)
	}
	if differ == 0 {
		t.Error("seeds 7 and 8 drew the same failures")
	}
	if maxAt < FailAfterLines/2 {
		t.Errorf("failure points reach only %d", maxAt)
	}
	if f, _ := DrawFailure(1, "count", 0, 0, 0); f {
		t.Error("probability 0 failed")
	}
	if f, _ := DrawFailure(1, "count", 0, 0, 1); !f {
		t.Error("probability 1 did not fail")
	}
}

// TestRandomFailure: with probability 1, tokenize and count fail in the
// attempts below wordcount.fail-attempts, tokenize having emitted the
// counts of the lines it read, and run through from that attempt on; a
// bad config is refused naming the key.
func TestRandomFailure(t *testing.T) {
	lines := lineRecords(strings.Repeat("a b\n", 2*FailAfterLines))
	cfg := map[string]string{ConfigFailProbability: "1", ConfigFailSeed: "42", ConfigFailAttempts: "2"}
	at := func(vertex string, attempt int) int64 {
		_, at := DrawFailure(42, vertex, 0, attempt, 1)
		return at
	}
	for attempt := range 3 {
		var out collector
		info := operator.Info{Vertex: "tokenize", Attempt: attempt, Config: cfg}
		_, err := run(t, tokenize, info, []operator.Input{&sliceInput{lines}}, &out)
		want := int64(2 * FailAfterLines)
		if attempt < 2 {
			want = at("tokenize", attempt)
			if err == nil || !strings.Contains(err.Error(), "random failure injected by wordcount.fail-probability=1 (seed 42) in tokenize subtask 0, job attempt") {
				t.Errorf("tokenize attempt %d: err %v", attempt, err)
			}
		} else if err != nil {
			t.Errorf("tokenize attempt %d: %v", attempt, err)
		}
		if got := sums(t, out.records)["a"]; got != want {
			t.Errorf("tokenize attempt %d emitted a=%d, want %d", attempt, got, want)
		}

		counts := make([]operator.Record, 2*FailAfterLines)
		for i := range counts {
			counts[i] = operator.Record{Key: []byte("w")}
		}
		out = collector{}
		info.Vertex = "count"
		_, err = run(t, count, info, []operator.Input{&sliceInput{counts}}, &out)
		if attempt < 2 {
			if err == nil || !strings.Contains(err.Error(), "in count subtask 0") || len(out.records) != 0 {
				t.Errorf("count attempt %d: err %v, %d records out", attempt, err, len(out.records))
			}
		} else if err != nil || len(out.records) != 1 || string(out.records[0].Value) != "2000" {
			t.Errorf("count attempt %d: err %v, records %v", attempt, err, out.records)
		}
	}
	// A short input fails at its end.
	_, err := run(t, count, operator.Info{Vertex: "count", Config: cfg}, []operator.Input{&sliceInput{}}, &collector{})
	if err == nil {
		t.Error("count of an empty input did not fail")
	}
	for key, bad := range map[string]string{ConfigFailProbability: "1.5", ConfigFailSeed: "-1", ConfigFailAttempts: "x"} {
		c := map[string]string{ConfigFailProbability: "0.5", key: bad}
		_, err := run(t, tokenize, operator.Info{Config: c}, nil, &collector{})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v", key, bad, err)
		}
	}
}

package wc

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// Random failures, for the tests of restarts under many failures: with
// ConfigFailProbability set, each subtask of tokenize and count fails with
// that probability in each job attempt below ConfigFailAttempts, after a
// drawn number of records below FailAfterLines (or at the end of a
// shorter input), so the failures come at different points of the job's
// data. From attempt ConfigFailAttempts on nothing fails, so a job whose
// restart strategy allows that many restarts finishes.
//
// Every draw is a pure function of ConfigFailSeed, the vertex, the
// subtask's index and the job attempt: a run is repeated from its seed,
// and a subtask redeployed within one attempt draws the same.
const (
	// ConfigFailProbability is the probability, in [0, 1].
	ConfigFailProbability = "wordcount.fail-probability"
	// ConfigFailSeed is the seed, a decimal uint64; absent means 0.
	ConfigFailSeed = "wordcount.fail-seed"
	// ConfigFailAttempts is the number of job attempts, from the first,
	// in which subtasks may fail; absent means 1.
	ConfigFailAttempts = "wordcount.fail-attempts"
)

// randomFailurePoint is where t fails under ConfigFailProbability: after
// that many records, or -1 for never.
func randomFailurePoint(t *operator.Task) (int64, error) {
	v := t.Config[ConfigFailProbability]
	if v == "" {
		return -1, nil
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("wordcount: config %s is %q: want a probability from 0 to 1", ConfigFailProbability, v)
	}
	var seed uint64
	if s := t.Config[ConfigFailSeed]; s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, fmt.Errorf("wordcount: config %s is %q: want a decimal seed", ConfigFailSeed, s)
		}
	}
	attempts := 1
	if s := t.Config[ConfigFailAttempts]; s != "" {
		if attempts, err = strconv.Atoi(s); err != nil || attempts < 0 {
			return 0, fmt.Errorf("wordcount: config %s is %q: want a number of job attempts", ConfigFailAttempts, s)
		}
	}
	if t.Attempt >= attempts {
		return -1, nil
	}
	fail, at := DrawFailure(seed, t.Vertex, t.Index, t.Attempt, p)
	if !fail {
		return -1, nil
	}
	return at, nil
}

// DrawFailure decides whether subtask index of vertex fails in attempt,
// with probability p, and after how many records (below FailAfterLines):
// the draw ConfigFailProbability makes, exported so that a test can tell
// in advance which attempts of a job fail.
func DrawFailure(seed uint64, vertex string, index, attempt int, p float64) (bool, int64) {
	h := fnv.New64a()
	h.Write([]byte(vertex))
	h.Write(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(index)), uint64(attempt)))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	return r.Float64() < p, r.Int64N(FailAfterLines)
}

// randomFailure is the error of a subtask failing under
// ConfigFailProbability after records records; it is logged too, so the
// TaskManager's log shows every injected failure.
func randomFailure(t *operator.Task, records int64) error {
	err := fmt.Errorf("wordcount: random failure injected by %s=%s (seed %s) in %s subtask %d, job attempt %d, after %d records",
		ConfigFailProbability, t.Config[ConfigFailProbability], t.Config[ConfigFailSeed], t.Vertex, t.Index, t.Attempt, records)
	t.Logger().Warn(err.Error())
	return err
}

package jobgraph

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// A RestartKind names one of Flink's restart strategies.
type RestartKind uint8

const (
	// RestartNone fails the job on the first failure of any subtask.
	RestartNone RestartKind = iota
	// RestartFixedDelay restarts the failed region after Delay, at most
	// Attempts times over the job's life.
	RestartFixedDelay
	// RestartFailureRate restarts the failed region after Delay as long as
	// no more than MaxFailures failures happened within the last Interval.
	RestartFailureRate
	// RestartExponentialDelay restarts the failed region after a delay that
	// starts at InitialDelay and grows by Multiplier per failure up to
	// MaxDelay, with Jitter; it falls back to InitialDelay after ResetAfter
	// without failures. Attempts bounds the restarts between two such
	// resets (Flink's attempts-before-reset-backoff); 0 is unbounded, as
	// in Flink.
	RestartExponentialDelay
)

var restartKindNames = [...]string{"none", "fixed-delay", "failure-rate", "exponential-delay"}

// String returns Flink's name for k ("none", "fixed-delay", "failure-rate",
// "exponential-delay"), which is also how the encoding spells it.
func (k RestartKind) String() string {
	if int(k) < len(restartKindNames) {
		return restartKindNames[k]
	}
	return "RestartKind(" + strconv.Itoa(int(k)) + ")"
}

func parseRestartKind(s string) (RestartKind, bool) {
	for i, n := range restartKindNames {
		if n == s {
			return RestartKind(i), true
		}
	}
	return 0, false
}

// A RestartStrategy describes what the JobManager does when a subtask
// fails. Only the fields of its Kind are used; the constructors below fill
// them. The zero value is RestartNone.
type RestartStrategy struct {
	Kind RestartKind
	// Attempts: fixed-delay's number of restarts (at least 1);
	// exponential-delay's bound on restarts between two resets (0 means
	// unbounded).
	Attempts int
	// Delay before a restart, for fixed-delay and failure-rate.
	Delay time.Duration
	// MaxFailures within Interval, for failure-rate (at least 1).
	MaxFailures int
	Interval    time.Duration
	// InitialDelay, MaxDelay, Multiplier (at least 1), ResetAfter (0
	// never resets) and Jitter (a fraction in [0, 1]: the delay is drawn
	// within ±Jitter of its nominal value) describe exponential-delay.
	InitialDelay time.Duration
	MaxDelay     time.Duration
	Multiplier   float64
	ResetAfter   time.Duration
	Jitter       float64
}

// FixedDelay restarts at most attempts times, waiting delay before each.
func FixedDelay(attempts int, delay time.Duration) RestartStrategy {
	return RestartStrategy{Kind: RestartFixedDelay, Attempts: attempts, Delay: delay}
}

// FailureRate restarts after delay while at most maxFailures failures
// happened within the last interval.
func FailureRate(maxFailures int, interval, delay time.Duration) RestartStrategy {
	return RestartStrategy{Kind: RestartFailureRate, MaxFailures: maxFailures, Interval: interval, Delay: delay}
}

// ExponentialDelay returns Flink's exponential-delay strategy with its
// defaults (1.19 and later): 1 s growing by 1.5 up to 1 min, reset after
// 1 h without failures, jitter 0.1, unbounded attempts. Change the fields
// of the result to tune it.
func ExponentialDelay() RestartStrategy {
	return RestartStrategy{
		Kind:         RestartExponentialDelay,
		InitialDelay: time.Second,
		MaxDelay:     time.Minute,
		Multiplier:   1.5,
		ResetAfter:   time.Hour,
		Jitter:       0.1,
	}
}

// problems returns what is wrong with s, each with what to do, or nil.
func (s RestartStrategy) problems() []string {
	var p []string
	neg := func(name string, d time.Duration) {
		if d < 0 {
			p = append(p, name+" is negative ("+d.String()+"); use 0 or more")
		}
	}
	switch s.Kind {
	case RestartNone:
	case RestartFixedDelay:
		if s.Attempts < 1 {
			p = append(p, "fixed-delay needs Attempts of at least 1 (got "+strconv.Itoa(s.Attempts)+"); use RestartNone for no restarts")
		}
		neg("Delay", s.Delay)
	case RestartFailureRate:
		if s.MaxFailures < 1 {
			p = append(p, "failure-rate needs MaxFailures of at least 1 (got "+strconv.Itoa(s.MaxFailures)+")")
		}
		if s.Interval <= 0 {
			p = append(p, "failure-rate needs a positive Interval (got "+s.Interval.String()+")")
		}
		neg("Delay", s.Delay)
	case RestartExponentialDelay:
		if s.Attempts < 0 {
			p = append(p, "exponential-delay Attempts is negative; use 0 for unbounded")
		}
		neg("InitialDelay", s.InitialDelay)
		neg("ResetAfter", s.ResetAfter)
		if s.MaxDelay < s.InitialDelay {
			p = append(p, "exponential-delay MaxDelay ("+s.MaxDelay.String()+") is below InitialDelay ("+s.InitialDelay.String()+")")
		}
		// Written so that NaN fails too.
		if !(s.Multiplier >= 1) {
			p = append(p, "exponential-delay needs a Multiplier of at least 1 (got "+strconv.FormatFloat(s.Multiplier, 'g', -1, 64)+")")
		}
		if !(s.Jitter >= 0 && s.Jitter <= 1) {
			p = append(p, "exponential-delay needs a Jitter between 0 and 1 (got "+strconv.FormatFloat(s.Jitter, 'g', -1, 64)+")")
		}
	default:
		p = append(p, "unknown restart strategy "+s.Kind.String()+"; use one of none, fixed-delay, failure-rate, exponential-delay")
	}
	return p
}

// Restarts applies a RestartStrategy to the failures of one job: the
// JobManager keeps one per job and passes every subtask failure, whichever
// region it hits, through Failure. It is not safe for concurrent use.
type Restarts struct {
	s      RestartStrategy
	random func() float64

	restarts int           // fixed-delay: in all; exponential-delay: since the last reset
	window   []time.Time   // failure-rate: the failures within the last Interval
	backoff  time.Duration // exponential-delay: the last delay, before jitter
	last     time.Time     // exponential-delay: the last failure
}

// NewRestarts returns a Restarts for s. random returns numbers in [0, 1)
// for the exponential-delay jitter; nil means math/rand/v2.Float64.
func NewRestarts(s RestartStrategy, random func() float64) *Restarts {
	if random == nil {
		random = rand.Float64
	}
	return &Restarts{s: s, random: random}
}

// Failure records a failure that happened at now and says whether the job
// may restart the failed region, and after how long. Once it says no, the
// job has failed; later calls go on counting but are meaningless.
func (r *Restarts) Failure(now time.Time) (delay time.Duration, restart bool) {
	s := r.s
	switch s.Kind {
	case RestartFixedDelay:
		if r.restarts >= s.Attempts {
			return 0, false
		}
		r.restarts++
		return s.Delay, true

	case RestartFailureRate:
		if s.MaxFailures < 1 {
			return 0, false // an invalid strategy; Validate reports it
		}
		keep := r.window[:0]
		for _, t := range r.window {
			if now.Sub(t) < s.Interval {
				keep = append(keep, t)
			}
		}
		r.window = append(keep, now)
		if len(r.window) > s.MaxFailures {
			// Only the newest MaxFailures+1 can matter again.
			r.window = r.window[len(r.window)-s.MaxFailures:]
			return 0, false
		}
		return s.Delay, true

	case RestartExponentialDelay:
		if s.ResetAfter > 0 && !r.last.IsZero() && now.Sub(r.last) >= s.ResetAfter {
			r.restarts, r.backoff = 0, 0
		}
		r.last = now
		if s.Attempts > 0 && r.restarts >= s.Attempts {
			return 0, false
		}
		r.restarts++
		if r.backoff == 0 {
			r.backoff = s.InitialDelay
		} else {
			// In float64 so that a large Multiplier cannot overflow.
			r.backoff = time.Duration(min(float64(r.backoff)*s.Multiplier, float64(s.MaxDelay)))
		}
		random := r.random
		if random == nil {
			random = rand.Float64
		}
		d := float64(r.backoff) * (1 + s.Jitter*(2*random()-1))
		return time.Duration(max(d, 0)), true
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

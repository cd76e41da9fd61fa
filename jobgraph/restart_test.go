package jobgraph

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRestarts(t *testing.T) {
	type step struct {
		at    time.Duration // since the first failure's time base
		delay time.Duration
		ok    bool
	}
	exp := ExponentialDelay()
	exp.Jitter = 0
	expBounded := exp
	expBounded.Attempts = 2
	jittered := ExponentialDelay() // jitter 0.1
	tests := []struct {
		name   string
		s      RestartStrategy
		random float64
		steps  []step
	}{
		{"none", RestartStrategy{}, 0, []step{{0, 0, false}}},
		{"fixed delay", FixedDelay(2, 5*time.Second), 0, []step{
			{0, 5 * time.Second, true},
			{time.Hour, 5 * time.Second, true},
			{2 * time.Hour, 0, false},
		}},
		{"failure rate", FailureRate(2, time.Minute, time.Second), 0, []step{
			{0, time.Second, true},
			{30 * time.Second, time.Second, true},
			// The first failure left the window: two within the last minute.
			{61 * time.Second, time.Second, true},
			// Three within the minute from 30 s to 90 s.
			{89 * time.Second, 0, false},
		}},
		{"failure rate invalid", FailureRate(-1, time.Minute, time.Second), 0, []step{{0, 0, false}, {time.Second, 0, false}}},
		{"exponential delay grows, caps and resets", exp, 0, []step{
			{0, time.Second, true},
			{time.Second, 1500 * time.Millisecond, true},
			{2 * time.Second, 2250 * time.Millisecond, true},
			{3 * time.Second, 3375 * time.Millisecond, true},
			{4 * time.Second, 5062500 * time.Microsecond, true},
			{5 * time.Second, 7593750 * time.Microsecond, true},
			{6 * time.Second, 11390625 * time.Microsecond, true},
			{7 * time.Second, 17085937500, true},
			{8 * time.Second, 25628906250, true},
			{9 * time.Second, 38443359375, true},
			{10 * time.Second, 57665039062, true},
			{11 * time.Second, time.Minute, true},
			{12 * time.Second, time.Minute, true},
			// An hour without failures starts over.
			{12*time.Second + time.Hour, time.Second, true},
		}},
		{"exponential delay bounded between resets", expBounded, 0, []step{
			{0, time.Second, true},
			{time.Second, 1500 * time.Millisecond, true},
			{2 * time.Second, 0, false},
			{2*time.Second + time.Hour, time.Second, true},
		}},
		{"jitter draws within 10%", jittered, 0, []step{
			{0, 900 * time.Millisecond, true},
			{time.Second, 1350 * time.Millisecond, true},
		}},
		{"jitter at the top", jittered, 1, []step{
			{0, 1100 * time.Millisecond, true},
		}},
	}
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRestarts(tt.s, func() float64 { return tt.random })
			var got []step
			for _, st := range tt.steps {
				d, ok := r.Failure(base.Add(st.at))
				got = append(got, step{st.at, d, ok})
			}
			if diff := cmp.Diff(tt.steps, got, cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The default source of randomness keeps the delay within the jitter.
func TestRestartsDefaultRandom(t *testing.T) {
	r := NewRestarts(ExponentialDelay(), nil)
	for i := range 100 {
		d, ok := r.Failure(time.Unix(int64(i), 0))
		if !ok {
			t.Fatal("exponential delay without attempts refused a restart")
		}
		if i == 0 && (d < 900*time.Millisecond || d > 1100*time.Millisecond) {
			t.Fatalf("first delay %v, want 1s ± 10%%", d)
		}
		if d > 66*time.Second {
			t.Fatalf("delay %v beyond MaxDelay + 10%%", d)
		}
	}
}

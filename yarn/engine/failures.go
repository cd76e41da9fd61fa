package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// ErrBudgetExhausted is matched (errors.Is) by the *BudgetError Run returns
// when the application's containers failed too often.
var ErrBudgetExhausted = errors.New("engine: failure budget exhausted")

// ErrShutdown is returned by Run when the ResourceManager ordered the
// ApplicationMaster to shut down (the attempt is no longer valid).
var ErrShutdown = errors.New("engine: the ResourceManager ordered this ApplicationMaster to shut down")

// A Failure is one container failure counted against the budget.
type Failure struct {
	Container yarn.ContainerID
	Node      yarn.NodeID
	Profile   string
	Cause     Cause
	// ExitStatus is the container's exit status; for CauseStartFailed,
	// yarn.ExitInvalid.
	ExitStatus int32
	// Diagnostics is the RM's diagnostics, or the start error.
	Diagnostics string
	At          time.Time
}

// A BudgetError says the failure budget (Config.MaxFailures within
// Config.FailureValidity) is used up. It matches ErrBudgetExhausted.
type BudgetError struct {
	// MaxFailures is the budget.
	MaxFailures int
	// Validity is the window failures were counted in; zero means the
	// whole run.
	Validity time.Duration
	// Failures are the counted failures, oldest first.
	Failures []Failure
}

func (e *BudgetError) Error() string {
	var b strings.Builder
	window := "since the engine started"
	if e.Validity > 0 {
		window = "within " + e.Validity.String()
	}
	fmt.Fprintf(&b, "engine: failure budget exhausted: %d container failures %s reached the budget (MaxFailures %d)",
		len(e.Failures), window, e.MaxFailures)
	if n := len(e.Failures); n > 0 {
		f := e.Failures[n-1]
		fmt.Fprintf(&b, "; last: container %s of profile %q on %s: %s, exit status %d", f.Container, f.Profile, f.Node, f.Cause, f.ExitStatus)
		if d := strings.TrimSpace(f.Diagnostics); d != "" {
			if len(d) > 300 {
				d = "..." + d[len(d)-300:]
			}
			fmt.Fprintf(&b, ": %s", strings.ReplaceAll(d, "\n", " "))
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBudgetExhausted) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// budget counts the application's failures within a sliding window.
type budget struct {
	max      int // <0: unlimited; 0: derived from the targets when checked
	validity time.Duration
	failures []Failure
}

// add records f and returns a *BudgetError when the budget is used up.
// derived is the budget to use when max is 0.
func (b *budget) add(f Failure, derived int) error {
	b.failures = append(b.failures, f)
	b.expire(f.At)
	max := b.max
	if max == 0 {
		max = derived
	}
	if max < 0 || len(b.failures) < max {
		return nil
	}
	return &BudgetError{MaxFailures: max, Validity: b.validity, Failures: slices.Clone(b.failures)}
}

func (b *budget) expire(now time.Time) {
	if b.validity <= 0 {
		return
	}
	i := 0
	for i < len(b.failures) && now.Sub(b.failures[i].At) >= b.validity {
		i++
	}
	b.failures = b.failures[i:]
}

// exclusions keeps the nodes (host names) excluded through the RM's
// blacklist, and the recent failures per host that lead there.
type exclusions struct {
	threshold   int // failures within window that exclude a host; <0 never
	window      time.Duration
	timeout     time.Duration
	maxFraction float64

	failures map[string][]time.Time
	excluded map[string]time.Time // host → readmission time
	// nodes are the NodeManagers seen per host: the share of the cluster
	// an exclusion removes is counted in nodes, since several NodeManagers
	// may share a host (the blacklist works on host names).
	nodes map[string]map[yarn.NodeID]bool
	// adds and removes are blacklist changes not yet sent.
	adds, removes []string
}

func newExclusions(threshold int, window, timeout time.Duration, maxFraction float64) *exclusions {
	return &exclusions{threshold: threshold, window: window, timeout: timeout, maxFraction: maxFraction,
		failures: map[string][]time.Time{}, excluded: map[string]time.Time{}, nodes: map[string]map[yarn.NodeID]bool{}}
}

func (x *exclusions) seen(n yarn.NodeID) {
	if x.nodes[n.Host] == nil {
		x.nodes[n.Host] = map[yarn.NodeID]bool{}
	}
	x.nodes[n.Host][n] = true
}

// fail records a failure on host and reports whether the host is excluded
// now. It is not when that would take more than maxFraction of
// clusterNodes out of the application's reach (or the cluster size is not
// known yet): a flaky application must not shut itself out of the whole
// cluster; its failure budget ends it instead.
func (x *exclusions) fail(host string, now time.Time, clusterNodes int) bool {
	if x.threshold < 0 {
		return false
	}
	fs := append(x.failures[host], now)
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= x.window {
		i++
	}
	fs = fs[i:]
	x.failures[host] = fs
	if len(fs) < x.threshold {
		return false
	}
	if _, ok := x.excluded[host]; ok {
		return false
	}
	if clusterNodes <= 0 {
		return false
	}
	covered := len(x.nodes[host])
	if covered == 0 {
		covered = 1
	}
	for h := range x.excluded {
		covered += max(1, len(x.nodes[h]))
	}
	if float64(covered) > x.maxFraction*float64(clusterNodes) {
		return false
	}
	x.excluded[host] = now.Add(x.timeout)
	delete(x.failures, host)
	x.removes = slices.DeleteFunc(x.removes, func(h string) bool { return h == host })
	x.adds = append(x.adds, host)
	return true
}

// readmit lets back in the hosts whose exclusion timed out and returns
// them.
func (x *exclusions) readmit(now time.Time) []string {
	var back []string
	for h, until := range x.excluded {
		if !now.Before(until) {
			back = append(back, h)
			delete(x.excluded, h)
		}
	}
	slices.Sort(back)
	for _, h := range back {
		x.adds = slices.DeleteFunc(x.adds, func(a string) bool { return a == h })
		x.removes = append(x.removes, h)
	}
	return back
}

// resync queues the whole blacklist again: the RM forgot it.
func (x *exclusions) resync() {
	x.adds = x.adds[:0]
	for h := range x.excluded {
		x.adds = append(x.adds, h)
	}
	slices.Sort(x.adds)
	x.removes = nil
}

// take returns the unsent changes and forgets them.
func (x *exclusions) take() (adds, removes []string) {
	adds, removes = x.adds, x.removes
	x.adds, x.removes = nil, nil
	return adds, removes
}

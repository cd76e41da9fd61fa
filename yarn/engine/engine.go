package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/yarn"
)

// AMClient is what the engine needs of an ApplicationMaster's client of
// the ResourceManager: the allocate heartbeat. *yarn.AMClient fits; it
// keeps the response id and registers again when the RM forgot the
// attempt, answering that heartbeat with yarn.AMResync.
type AMClient interface {
	Allocate(ctx context.Context, req yarn.AllocateRequest) (yarn.AllocateResponse, error)
}

// NMClient is what the engine needs of a NodeManager client. *yarn.NMClient
// fits.
type NMClient interface {
	Start(ctx context.Context, c yarn.Container, clc yarn.ContainerLaunchContext) error
}

var (
	_ AMClient = (*yarn.AMClient)(nil)
	_ NMClient = (*yarn.NMClient)(nil)
)

// A Clock tells the time and waits; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures an Engine. Only AM, NM and LaunchContext are required.
type Config struct {
	// AM heartbeats to the ResourceManager; the caller registers before Run
	// and unregisters (Finish) after it. Required.
	AM AMClient
	// NM starts containers. Required.
	NM NMClient
	// LaunchContext returns what to start in a container of the named
	// profile. It is called from up to MaxConcurrentStarts goroutines at
	// once; an error counts as a failed start. Required.
	LaunchContext func(ctx context.Context, c yarn.Container, profile string) (yarn.ContainerLaunchContext, error)
	// Profiles are the kinds of containers wanted at first; AddProfile
	// adds more.
	Profiles []Profile
	// MaxCapability is the largest container the scheduler grants
	// (AMRegistrationResponse.MaxCapability): a profile asking for more of
	// memory, vcores or a custom type it names is refused up front, where
	// the RM would fail the whole heartbeat. The zero value checks nothing.
	MaxCapability yarn.Resource
	// MaxConcurrentStarts bounds the start calls in flight. Zero means 64.
	MaxConcurrentStarts int
	// MaxStartsPerNode bounds the start calls in flight to one
	// NodeManager, which serves them with a small pool of handler threads
	// (yarn.nodemanager.container-manager.thread-count, 20 by default)
	// shared by every application. Zero means 16. Queued containers are
	// started round robin over their nodes, so one slow NodeManager holds
	// up only its own.
	MaxStartsPerNode int
	// FastHeartbeat is the interval between heartbeats while containers
	// are asked for and not yet allocated, or released and not yet
	// reported ended; SlowHeartbeat otherwise. Zero
	// means 200 milliseconds and 3 seconds. A heartbeat also follows at
	// once when a target changes or a start fails.
	FastHeartbeat, SlowHeartbeat time.Duration
	// HeartbeatRetryFor is how long heartbeats that fail are tried again
	// (after FastHeartbeat, doubling up to SlowHeartbeat) before Run gives
	// up with the error: an allocate the ResourceManager answers with an
	// error while it fails over (YarnRuntimeException: InterruptedException
	// from the RM going standby) is tried again, and reaches the new
	// active one. Zero means 60 seconds; negative gives up at the first.
	HeartbeatRetryFor time.Duration
	// MaxFailures is the failure budget: when this many of the
	// application's own container failures (see Cause.CountsAgainstBudget)
	// fall within FailureValidity, Run returns a *BudgetError. Zero means
	// max(3, 2 × the sum of the targets at the time); negative means no
	// budget.
	MaxFailures int
	// FailureValidity is how long a failure counts. Zero means for the
	// whole run.
	FailureValidity time.Duration
	// NodeFailures failures on one host (the application failing there,
	// refused starts, failed disks) within NodeFailureWindow exclude the
	// host through the RM's blacklist for ExclusionTimeout. Zero means 3;
	// negative disables exclusion. Zero windows mean 10 minutes and 1 hour.
	NodeFailures                        int
	NodeFailureWindow, ExclusionTimeout time.Duration
	// MaxExcludedFraction bounds the share of the cluster's NodeManagers
	// that may be excluded at once. Zero means 0.5.
	MaxExcludedFraction float64
	// Adopt names the profile of a container that survived an earlier
	// attempt, or refuses it (keep false), which releases it. It is called
	// from Engine.Adopt and from Run's heartbeat goroutine, without the
	// engine's lock (it may call the Engine's methods). Nil matches
	// containers to profiles as allocated ones are (by allocation request
	// id, which a program declaring the same profiles in the same order
	// gives the same ids in every attempt).
	Adopt func(c yarn.Container) (profile string, keep bool)
	// RackOf names the rack of a host, for the rack rows of profiles that
	// name nodes. It is called with the engine's lock held, so it must be
	// quick and must not call the Engine. Nil means every host is in
	// DefaultRack.
	RackOf func(host string) string
	// Logger receives a line at each state change. Nil means silent.
	Logger *slog.Logger
	// Registerer receives the engine's metrics (spindle_engine_*). Nil
	// means no metrics.
	Registerer prometheus.Registerer
	// Clock is the time source. Nil means the system clock.
	Clock Clock
}

// Callbacks tell the caller what happens to its containers. Every field
// is optional. They are called one at a time, in the order of the events,
// on a goroutine of their own (never the heartbeat's), so they may call
// the Engine's methods; Run returns only after the last one returned.
type Callbacks struct {
	// OnStarted: the container is running the caller's launch context.
	OnStarted func(c yarn.Container, profile string)
	// OnStartFailed: starting the container failed; the engine released it
	// and asks for another.
	OnStartFailed func(c yarn.Container, profile string, err error)
	// OnCompleted: a container of a profile ended.
	OnCompleted func(Completion)
	// OnPreemption: the scheduler announced it will take containers back.
	OnPreemption func(yarn.PreemptionMessage)
	// OnExcluded and OnReadmitted: a host was put on, or taken off, the
	// application's blacklist.
	OnExcluded   func(host string, until time.Time)
	OnReadmitted func(host string)
	// OnResync: the RM had forgotten the attempt; the AMClient registered
	// again and the engine resends its asks, blacklist and releases.
	OnResync func()
}

// A Completion is a container of a profile that ended.
type Completion struct {
	Container yarn.Container
	Profile   string
	Status    yarn.ContainerStatus
	Cause     Cause
	// Released says the engine had released the container (scale-down),
	// so its end was wanted and is never counted as a failure.
	Released bool
	// Counted says the end was counted against the failure budget.
	Counted bool
}

// Engine keeps an application's containers at the counts its profiles
// ask for; see the package documentation. Its methods are safe for
// concurrent use.
type Engine struct {
	cfg    Config
	clock  Clock
	log    *slog.Logger
	m      *metrics
	rackOf func(string) string
	wake   chan struct{}
	starts sync.WaitGroup

	mu          sync.Mutex
	ran         bool
	cb          Callbacks
	disp        *dispatcher
	profiles    map[string]*profileState
	order       []*profileState
	byReqID     map[int64]*profileState
	nextReqID   int64
	containers  map[yarn.ContainerID]*tracked
	queues      map[yarn.NodeID][]*tracked // allocated, waiting for a start slot, by node
	queued      []yarn.NodeID              // the nodes of queues, in the order they got a queue
	inFlight    int                        // starts in flight
	nodeStarts  map[yarn.NodeID]int        // starts in flight by node
	toRelease   []yarn.ContainerID
	releasing   map[yarn.ContainerID]bool // released, completion not yet seen
	resync      bool
	progress    float32
	budget      budget
	excl        *exclusions
	clusterSize int
	allocated   int
	excess      int
	fatal       error
}

type containerState int

const (
	stQueued    containerState = iota // allocated, waiting for a start slot
	stStarting                        // start call in flight
	stRunning                         // started
	stReleasing                       // released, completion not yet seen
	stEnded
	numStates
)

type tracked struct {
	c     yarn.Container
	p     *profileState
	state containerState
}

type profileState struct {
	Profile // Target is the current target
	id      int64
	// sent is how many containers the RM still has to allocate for this
	// profile, as far as the engine knows: the total last sent, less the
	// containers received since. valid is false until sent (and after a
	// resync).
	sent  int
	valid bool
	// scheduled says an AntiAffinity profile's SchedulingRequest reached
	// the RM (since the last resync), so a total of 0 must go out to
	// cancel it.
	scheduled bool
	// asked holds when each of the sent containers was asked for, oldest
	// first, for the allocation latency.
	asked []time.Time
	n     [numStates]int
	// short is when the profile fell below its target; zero at target.
	short time.Time
	// lastArrival is when a container last arrived for the profile, or
	// its total was last sent.
	lastArrival                  time.Time
	adopted                      int
	allocated, excess            int
	succeeded, failed, startFail int
}

func (p *profileState) live() int { return p.n[stQueued] + p.n[stStarting] + p.n[stRunning] }

// New checks cfg and returns an Engine. It does not talk to the cluster
// until Run.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.AM == nil:
		return nil, errors.New("engine: Config.AM is nil")
	case cfg.NM == nil:
		return nil, errors.New("engine: Config.NM is nil")
	case cfg.LaunchContext == nil:
		return nil, errors.New("engine: Config.LaunchContext is nil")
	case cfg.MaxConcurrentStarts < 0 || cfg.MaxStartsPerNode < 0 || cfg.FastHeartbeat < 0 || cfg.SlowHeartbeat < 0 || cfg.FailureValidity < 0 ||
		cfg.NodeFailureWindow < 0 || cfg.ExclusionTimeout < 0:
		return nil, errors.New("engine: negative count or duration in Config")
	case cfg.MaxExcludedFraction < 0 || cfg.MaxExcludedFraction > 1:
		return nil, fmt.Errorf("engine: MaxExcludedFraction %v is outside 0..1", cfg.MaxExcludedFraction)
	}
	e := &Engine{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, m: newMetrics(cfg.Registerer), rackOf: cfg.RackOf,
		wake: make(chan struct{}, 1), profiles: map[string]*profileState{}, byReqID: map[int64]*profileState{},
		containers: map[yarn.ContainerID]*tracked{}, releasing: map[yarn.ContainerID]bool{},
		queues: map[yarn.NodeID][]*tracked{}, nodeStarts: map[yarn.NodeID]int{},
		budget: budget{max: cfg.MaxFailures, validity: cfg.FailureValidity},
	}
	if e.clock == nil {
		e.clock = realClock{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.rackOf == nil {
		e.rackOf = func(string) string { return DefaultRack }
	}
	e.cfg.MaxConcurrentStarts = orDefault(cfg.MaxConcurrentStarts, 64)
	e.cfg.MaxStartsPerNode = orDefault(cfg.MaxStartsPerNode, 16)
	e.cfg.FastHeartbeat = orDefault(cfg.FastHeartbeat, 200*time.Millisecond)
	e.cfg.SlowHeartbeat = orDefault(cfg.SlowHeartbeat, 3*time.Second)
	e.excl = newExclusions(orDefault(cfg.NodeFailures, 3), orDefault(cfg.NodeFailureWindow, 10*time.Minute),
		orDefault(cfg.ExclusionTimeout, time.Hour), orDefault(cfg.MaxExcludedFraction, 0.5))
	e.cfg.Profiles = nil
	for _, p := range cfg.Profiles {
		if err := e.addProfile(p); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// fits refuses a profile larger than the scheduler's largest container.
func fits(p Profile, max yarn.Resource) error {
	over := func(what string, want, limit int64) error {
		return fmt.Errorf("engine: profile %q asks for %d %s per container, more than the %d the scheduler grants at most",
			p.Name, want, what, limit)
	}
	switch {
	case max.MemoryMB > 0 && p.Resource.MemoryMB > max.MemoryMB:
		return over("MB of memory", p.Resource.MemoryMB, max.MemoryMB)
	case max.VCores > 0 && p.Resource.VCores > max.VCores:
		return over("vcores", int64(p.Resource.VCores), int64(max.VCores))
	}
	for k, v := range p.Resource.Custom {
		if limit, ok := max.Custom[k]; ok && v > limit {
			return over(k, v, limit)
		}
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// AddProfile declares another kind of container.
func (e *Engine) AddProfile(p Profile) error {
	e.mu.Lock()
	err := e.addProfile(p)
	e.mu.Unlock()
	e.poke()
	return err
}

func (e *Engine) addProfile(p Profile) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if _, ok := e.profiles[p.Name]; ok {
		return fmt.Errorf("engine: profile %q declared twice", p.Name)
	}
	if err := fits(p, e.cfg.MaxCapability); err != nil {
		return err
	}
	p.Nodes, p.Racks = slices.Clone(p.Nodes), slices.Clone(p.Racks)
	e.nextReqID++
	ps := &profileState{Profile: p, id: e.nextReqID}
	e.profiles[p.Name] = ps
	e.order = append(e.order, ps)
	e.byReqID[ps.id] = ps
	e.log.Info("engine: profile declared", "profile", p.Name, "allocation_request_id", ps.id, "target", p.Target,
		"memory_mb", p.Resource.MemoryMB, "vcores", p.Resource.VCores, "anti_affinity", p.AntiAffinity)
	return nil
}

// SetTarget sets how many containers of a profile are wanted. Raising it
// asks the RM for the difference at the next heartbeat (at once); lowering
// it cancels outstanding asks and releases containers beyond the target:
// first those allocated and not yet being started (nothing is lost), then
// those being started, then running ones, the most recently allocated
// first within each group (they have done the least work).
func (e *Engine) SetTarget(profile string, n int) error {
	if n < 0 {
		return fmt.Errorf("engine: negative target %d for profile %q", n, profile)
	}
	_, err := e.changeTarget(profile, func(int) int { return n })
	return err
}

// AddTarget changes a profile's target by delta (negative lowers it) and
// returns the new target, as one step under the engine's lock: calls from
// several goroutines, and the engine's own changes (a RunOnce container's
// success lowers its target), never undo each other, as reading Status
// and calling SetTarget could. The target stops at zero. Its effects are
// SetTarget's.
func (e *Engine) AddTarget(profile string, delta int) (int, error) {
	return e.changeTarget(profile, func(old int) int { return max(0, old+delta) })
}

func (e *Engine) changeTarget(profile string, to func(old int) int) (int, error) {
	e.mu.Lock()
	p := e.profiles[profile]
	if p == nil {
		e.mu.Unlock()
		return 0, fmt.Errorf("engine: no profile %q", profile)
	}
	n := to(p.Target)
	if p.Target != n {
		e.log.Info("engine: target changed", "profile", profile, "from", p.Target, "to", n)
		p.Target = n
		e.refresh(p, e.clock.Now())
	}
	e.mu.Unlock()
	e.poke()
	return n, nil
}

// Release gives one container back to the RM and lowers its profile's
// target by one, so that it is not replaced: the caller picks the
// container to drop (an idle one, say) where SetTarget would pick by its
// rule.
func (e *Engine) Release(id yarn.ContainerID) error {
	e.mu.Lock()
	t := e.containers[id]
	if t == nil || t.state > stRunning {
		e.mu.Unlock()
		return fmt.Errorf("engine: container %s is not held by the engine", id)
	}
	t.p.Target--
	e.release(t)
	e.log.Info("engine: container released by the caller", "container", id, "profile", t.p.Name, "target", t.p.Target)
	e.refresh(t.p, e.clock.Now())
	e.mu.Unlock()
	e.poke()
	return nil
}

// Adopt takes over containers that survived an earlier attempt of the
// application (AMRegistrationResponse.ContainersFromPreviousAttempts,
// when the submission kept containers across attempts); Run adopts those
// the RM reports later (AllocateResponse.ContainersFromPreviousAttempts)
// the same way. Config.Adopt decides each container's profile; a
// container it refuses, or beyond its profile's target, is released.
// Adopted containers count as running toward their profile's target, so
// they are not asked for again, and a container adopted twice counts
// once. Their NodeManagers' tokens come with the registration and are kept
// by the AMClient. Adopt returns how many containers it kept.
func (e *Engine) Adopt(cs []yarn.Container) int {
	names := e.decide(cs)
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.adopt(cs, names, e.clock.Now())
	e.poke()
	return n
}

// decide asks Config.Adopt, without the engine's lock held, for the
// profile of each container: "" refuses it. Nil without Config.Adopt.
func (e *Engine) decide(cs []yarn.Container) []string {
	if e.cfg.Adopt == nil || len(cs) == 0 {
		return nil
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		if name, keep := e.cfg.Adopt(c); keep {
			names[i] = name
		}
	}
	return names
}

// adopt takes over cs, each into the profile names gives it, or, when
// names is nil, the one it matches.
func (e *Engine) adopt(cs []yarn.Container, names []string, now time.Time) int {
	kept := 0
	for i, c := range cs {
		if _, ok := e.containers[c.ID]; ok || e.releasing[c.ID] {
			continue // adopted already (or on its way back)
		}
		e.excl.seen(c.NodeID)
		var p *profileState
		if names != nil {
			p = e.profiles[names[i]]
		} else {
			p = e.match(c)
		}
		if p == nil || p.live() >= p.Target {
			e.log.Info("engine: releasing a container of an earlier attempt", "container", c.ID, "node", c.NodeID)
			e.releaseID(c.ID)
			continue
		}
		t := &tracked{c: c, p: p, state: stRunning}
		p.n[stRunning]++
		p.adopted++
		e.containers[c.ID] = t
		kept++
		e.log.Info("engine: adopted a container of an earlier attempt", "container", c.ID, "node", c.NodeID, "profile", p.Name)
		e.refresh(p, now)
	}
	return kept
}

// SetProgress sets the progress (0..1) reported to the RM with each
// heartbeat.
func (e *Engine) SetProgress(progress float32) {
	e.mu.Lock()
	e.progress = min(max(progress, 0), 1)
	e.mu.Unlock()
}

// poke makes the heartbeat loop send a heartbeat now.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Status is a snapshot of the engine's state.
type Status struct {
	Profiles []ProfileStatus
	// Allocated counts the containers the RM allocated since New; Excess
	// those of them released at once because no profile wanted them (the
	// RM allocated beyond the asks, or for a target lowered meanwhile).
	Allocated, Excess int
	// Excluded are the hosts on the blacklist now, sorted.
	Excluded []string
}

// A ProfileStatus is one profile's counts.
type ProfileStatus struct {
	Name   string
	Target int
	// Outstanding are asked of the RM and not yet allocated.
	Outstanding int
	// Starting are allocated and not yet started; Running started and not
	// ended; Releasing released and not yet reported ended.
	Starting, Running, Releasing int
	// Allocated counts the containers matched to the profile; Excess those
	// of them released at once. Adopted counts containers taken over from
	// earlier attempts.
	Allocated, Excess, Adopted int
	// Succeeded counts RunOnce containers that exited 0; Failed the
	// failures counted against the budget (StartFailed of them refused
	// starts).
	Succeeded, Failed, StartFailed int
}

// Status returns a snapshot of the engine's state.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Allocated: e.allocated, Excess: e.excess}
	for _, p := range e.order {
		s.Profiles = append(s.Profiles, ProfileStatus{
			Name: p.Name, Target: p.Target, Outstanding: p.sent,
			Starting: p.n[stQueued] + p.n[stStarting], Running: p.n[stRunning], Releasing: p.n[stReleasing],
			Allocated: p.allocated, Excess: p.excess, Adopted: p.adopted, Succeeded: p.succeeded, Failed: p.failed, StartFailed: p.startFail,
		})
	}
	for h := range e.excl.excluded {
		s.Excluded = append(s.Excluded, h)
	}
	slices.Sort(s.Excluded)
	return s
}

// Run heartbeats until ctx ends (returning ctx's error), the failure budget
// is used up (*BudgetError), the RM orders a shutdown (ErrShutdown), a
// heartbeat fails (after the AMClient's own failover and retries), or
// every profile is RunOnce with nothing left to run (nil). The caller
// registers the ApplicationMaster before and unregisters after; Run
// neither releases nor stops containers when it returns, so they keep
// running until the caller unregisters. Run may be called once.
func (e *Engine) Run(ctx context.Context, cb Callbacks) error {
	e.mu.Lock()
	if e.ran {
		e.mu.Unlock()
		return errors.New("engine: Run called twice")
	}
	e.ran, e.cb, e.disp = true, cb, newDispatcher()
	e.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		e.starts.Wait()
		e.disp.close()
	}()
	retryFor := orDefault(e.cfg.HeartbeatRetryFor, time.Minute)
	var failingSince time.Time
	backoff := e.cfg.FastHeartbeat
	for {
		e.mu.Lock()
		if e.fatal != nil {
			e.mu.Unlock()
			return e.fatal
		}
		if e.doneLocked() {
			e.mu.Unlock()
			e.log.Info("engine: every RunOnce profile is done")
			return nil
		}
		req := e.request(e.clock.Now())
		e.mu.Unlock()

		resp, err := e.cfg.AM.Allocate(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			now := e.clock.Now()
			if failingSince.IsZero() {
				failingSince, backoff = now, e.cfg.FastHeartbeat
			}
			if retryFor < 0 || now.Sub(failingSince) >= retryFor {
				e.log.Error("engine: heartbeat failed", "err", err)
				return fmt.Errorf("engine: heartbeat: %w", err)
			}
			e.log.Warn("engine: heartbeat failed; trying again with the whole state", "err", err, "in", backoff, "failing_for", now.Sub(failingSince))
			e.mu.Lock()
			e.resendLocked()
			e.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-e.clock.After(backoff):
			}
			backoff = min(2*backoff, e.cfg.SlowHeartbeat)
			continue
		}
		failingSince = time.Time{}
		switch resp.Command {
		case yarn.AMShutdown:
			e.log.Error("engine: the ResourceManager ordered a shutdown")
			return ErrShutdown
		case yarn.AMResync:
			e.mu.Lock()
			e.resyncLocked()
			e.mu.Unlock()
			continue
		}
		names := e.decide(resp.ContainersFromPreviousAttempts)
		e.mu.Lock()
		e.handle(ctx, resp, names)
		interval := e.cfg.SlowHeartbeat
		if len(e.releasing) > 0 {
			interval = e.cfg.FastHeartbeat // to see the released containers end
		}
		for _, p := range e.order {
			if p.sent > 0 || p.Target > p.live() {
				interval = e.cfg.FastHeartbeat
				break
			}
		}
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.wake:
		case <-e.clock.After(interval):
		}
	}
}

// raiseAfter is how long a raise waits for outstanding containers.
func (e *Engine) raiseAfter() time.Duration { return 10 * e.cfg.SlowHeartbeat }

// doneLocked reports whether every profile runs once and has nothing left.
func (e *Engine) doneLocked() bool {
	if len(e.order) == 0 {
		return false
	}
	for _, p := range e.order {
		if !p.RunOnce || p.Target > 0 || p.live() > 0 {
			return false
		}
	}
	return true
}

// resyncLocked prepares the next heartbeat to resend everything the RM
// forgot: every profile's total, the whole blacklist and the releases
// whose completion has not been seen.
func (e *Engine) resyncLocked() {
	e.log.Info("engine: the ResourceManager forgot this attempt; resending asks, blacklist and releases")
	e.resendLocked()
	if f := e.cb.OnResync; f != nil {
		e.disp.post(f)
	}
}

// resendLocked makes the next heartbeat carry the whole state (asks as
// totals, the blacklist, pending releases): after a resync, or a heartbeat
// that failed, whose deltas the RM may not have seen. mu is held.
func (e *Engine) resendLocked() {
	for _, p := range e.order {
		p.valid, p.scheduled = false, false
	}
	e.excl.resync()
	e.toRelease = e.toRelease[:0]
	for id := range e.releasing {
		e.toRelease = append(e.toRelease, id)
	}
	slices.SortFunc(e.toRelease, func(a, b yarn.ContainerID) int { return cmp.Compare(a.ID, b.ID) })
}

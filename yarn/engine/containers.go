package engine

// What happens to containers: allocation responses taken in, matched to
// profiles, started, completed, and failures counted.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

func (e *Engine) setState(t *tracked, s containerState) {
	t.p.n[t.state]--
	t.state = s
	t.p.n[s]++
}

// handle takes in one allocate response.
func (e *Engine) handle(ctx context.Context, resp yarn.AllocateResponse, adoptNames []string) {
	now := e.clock.Now()
	if resp.NumClusterNodes > 0 {
		e.clusterSize = int(resp.NumClusterNodes)
	}
	for _, n := range resp.UpdatedNodes {
		e.excl.seen(n.ID)
	}
	e.adopt(resp.ContainersFromPreviousAttempts, adoptNames, now)
	for _, c := range resp.Allocated {
		e.allocate(c, now)
	}
	for _, s := range resp.Completed {
		e.complete(s, now)
	}
	if pm := resp.Preemption; pm != nil {
		e.log.Warn("engine: the scheduler will preempt containers", "strict", len(pm.Strict), "negotiable", len(pm.Negotiable))
		if f := e.cb.OnPreemption; f != nil {
			msg := *pm
			e.disp.post(func() { f(msg) })
		}
	}
	for _, p := range e.order {
		e.refresh(p, now)
	}
	e.pump(ctx)
}

// allocate takes in one allocated container: matched to a profile that
// still misses one, it is queued for a start; otherwise it goes back.
func (e *Engine) allocate(c yarn.Container, now time.Time) {
	e.allocated++
	e.excl.seen(c.NodeID)
	if e.m != nil {
		e.m.allocated.Inc()
	}
	p := e.match(c)
	if p != nil {
		p.allocated++
		p.lastArrival = now
		if p.sent > 0 {
			p.sent-- // the RM lowered its count when it allocated c
		}
		if len(p.asked) > 0 {
			if e.m != nil {
				e.m.latency.Observe(now.Sub(p.asked[0]).Seconds())
			}
			p.asked = p.asked[1:]
		}
		if p.live() < p.Target {
			t := &tracked{c: c, p: p, state: stQueued}
			p.n[stQueued]++
			e.containers[c.ID] = t
			e.enqueue(t)
			return
		}
		p.excess++
	}
	e.excess++
	if e.m != nil {
		e.m.excess.Inc()
	}
	e.log.Info("engine: releasing a container no profile wants", "container", c.ID, "node", c.NodeID,
		"allocation_request_id", c.AllocationRequestID)
	e.releaseID(c.ID)
}

// match finds c's profile: by allocation request id, or, when the RM sent
// none (an RM that does not echo ids sends -1), among the profiles of c's priority, execution
// type and a capability c covers, preferring one that named c's node, then
// its rack, then any, and among those one that still misses containers.
func (e *Engine) match(c yarn.Container) *profileState {
	if c.AllocationRequestID > 0 {
		return e.byReqID[c.AllocationRequestID] // nil: not asked for by this engine
	}
	var best *profileState
	bestScore := -1
	rack := e.rackOf(c.NodeID.Host)
	for _, p := range e.order {
		if p.Priority != c.Priority || p.ExecutionType != c.ExecutionType ||
			c.Resource.MemoryMB < p.Resource.MemoryMB || c.Resource.VCores < p.Resource.VCores {
			continue
		}
		score := 0
		switch {
		case slices.Contains(p.Nodes, c.NodeID.Host):
			score = 4
		case slices.Contains(p.Racks, rack):
			score = 2
		}
		if p.live() < p.Target {
			score++
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// complete takes in a container that ended.
func (e *Engine) complete(s yarn.ContainerStatus, now time.Time) {
	delete(e.releasing, s.ID)
	t := e.containers[s.ID]
	if t == nil {
		return // released as excess, or not ours
	}
	delete(e.containers, s.ID)
	p := t.p
	released := t.state == stReleasing
	e.setState(t, stEnded)
	cause := Classify(s.ExitStatus)
	if e.m != nil {
		e.m.ended.WithLabelValues(cause.String()).Inc()
	}
	comp := Completion{Container: t.c, Profile: p.Name, Status: s, Cause: cause, Released: released}
	switch {
	case released:
	case cause == CauseSucceeded:
		if p.RunOnce && p.Target > 0 {
			p.Target--
			p.succeeded++
		}
		e.log.Debug("engine: container succeeded", "container", s.ID, "profile", p.Name)
	default:
		e.log.Warn("engine: container ended", "container", s.ID, "node", t.c.NodeID, "profile", p.Name,
			"cause", cause, "exit_status", s.ExitStatus)
		comp.Counted = cause.CountsAgainstBudget()
		e.failure(Failure{Container: s.ID, Node: t.c.NodeID, Profile: p.Name, Cause: cause, ExitStatus: s.ExitStatus,
			Diagnostics: s.Diagnostics, At: now}, true)
	}
	if f := e.cb.OnCompleted; f != nil {
		e.disp.post(func() { f(comp) })
	}
}

// failure counts f against the budget, and against its node when
// blameNode, as its cause says.
func (e *Engine) failure(f Failure, blameNode bool) {
	if blameNode && f.Cause.countsAgainstNode() && e.excl.fail(f.Node.Host, f.At, e.clusterSize) {
		until := e.excl.excluded[f.Node.Host]
		e.log.Warn("engine: host excluded", "host", f.Node.Host, "until", until)
		if cb := e.cb.OnExcluded; cb != nil {
			e.disp.post(func() { cb(f.Node.Host, until) })
		}
	}
	if !f.Cause.CountsAgainstBudget() {
		return
	}
	e.profiles[f.Profile].failed++
	total := 0
	for _, p := range e.order {
		total += p.Target
	}
	if err := e.budget.add(f, max(3, 2*total)); err != nil && e.fatal == nil {
		e.log.Error("engine: failure budget exhausted", "err", err)
		e.fatal = err
		e.poke()
	}
}

// refresh updates p's gauges and notes when it falls short of or
// reaches its target.
func (e *Engine) refresh(p *profileState, now time.Time) {
	if e.m != nil {
		e.m.running.WithLabelValues(p.Name).Set(float64(p.n[stRunning]))
		e.m.outstanding.WithLabelValues(p.Name).Set(float64(p.sent))
	}
	switch {
	case p.n[stRunning] < p.Target:
		if p.short.IsZero() {
			p.short = now
		}
	case !p.short.IsZero():
		if p.Target > 0 {
			d := now.Sub(p.short)
			e.log.Info("engine: profile reached its target", "profile", p.Name, "running", p.n[stRunning], "after", d)
			if e.m != nil {
				e.m.toTarget.Observe(d.Seconds())
			}
		}
		p.short = time.Time{}
	}
}

// enqueue queues t for a start on its node.
func (e *Engine) enqueue(t *tracked) {
	n := t.c.NodeID
	if _, ok := e.queues[n]; !ok { // n has a queue exactly while it is in queued
		e.queued = append(e.queued, n)
	}
	e.queues[n] = append(e.queues[n], t)
}

// pump starts queued containers while start slots are free: in the order
// allocated within a node, round robin over the nodes (the node started
// from goes to the back of queued).
func (e *Engine) pump(ctx context.Context) {
	for e.inFlight < e.cfg.MaxConcurrentStarts {
		i := slices.IndexFunc(e.queued, func(n yarn.NodeID) bool { return e.nodeStarts[n] < e.cfg.MaxStartsPerNode })
		if i < 0 {
			return
		}
		n := e.queued[i]
		e.queued = slices.Delete(e.queued, i, i+1)
		t := e.dequeue(n)
		if t == nil {
			continue
		}
		e.queued = append(e.queued, n)
		e.setState(t, stStarting)
		e.inFlight++
		e.nodeStarts[n]++
		e.starts.Add(1)
		go e.start(ctx, t)
	}
}

// dequeue takes the first container of node n's queue still waiting for
// a start (others were released or ended while they waited), or returns
// nil when none is left, dropping the queue.
func (e *Engine) dequeue(n yarn.NodeID) *tracked {
	q := e.queues[n]
	for len(q) > 0 {
		t := q[0]
		q[0] = nil
		q = q[1:]
		if t.state == stQueued {
			e.queues[n] = q
			return t
		}
	}
	delete(e.queues, n)
	return nil
}

// start starts one container and takes in the outcome.
func (e *Engine) start(ctx context.Context, t *tracked) {
	defer e.starts.Done()
	clc, err := e.cfg.LaunchContext(ctx, t.c, t.p.Name)
	nodeFault := false
	if err != nil {
		err = fmt.Errorf("launch context: %w", err)
	} else {
		err = e.cfg.NM.Start(ctx, t.c, clc)
		nodeFault = err != nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inFlight--
	if e.nodeStarts[t.c.NodeID]--; e.nodeStarts[t.c.NodeID] == 0 {
		delete(e.nodeStarts, t.c.NodeID)
	}
	if ctx.Err() != nil {
		return // Run is ending
	}
	now := e.clock.Now()
	switch {
	case t.state != stStarting:
		// Released or ended meanwhile; the RM takes it back.
	case err == nil:
		e.setState(t, stRunning)
		e.log.Debug("engine: container started", "container", t.c.ID, "node", t.c.NodeID, "profile", t.p.Name)
		if f := e.cb.OnStarted; f != nil {
			c, name := t.c, t.p.Name
			e.disp.post(func() { f(c, name) })
		}
	default:
		e.log.Warn("engine: start failed; releasing the container", "container", t.c.ID, "node", t.c.NodeID,
			"profile", t.p.Name, "err", err)
		e.release(t)
		t.p.startFail++
		if e.m != nil {
			e.m.ended.WithLabelValues(CauseStartFailed.String()).Inc()
		}
		f := Failure{Container: t.c.ID, Node: t.c.NodeID, Profile: t.p.Name, Cause: CauseStartFailed,
			ExitStatus: yarn.ExitInvalid, Diagnostics: err.Error(), At: now}
		// A launch context the caller failed to build is no reason to blame
		// the node.
		e.failure(f, nodeFault)
		if cb := e.cb.OnStartFailed; cb != nil {
			c, name := t.c, t.p.Name
			e.disp.post(func() { cb(c, name, err) })
		}
		e.poke()
	}
	e.refresh(t.p, now)
	e.pump(ctx)
}

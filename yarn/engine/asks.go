package engine

// The asks a heartbeat carries: totals per profile, scale-down and
// releases.

import (
	"cmp"
	"slices"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// request builds the next heartbeat: scale-down releases, readmissions,
// and a row set for each profile whose missing count differs from what the
// RM holds. Only changed profiles are sent: the RM lowers its own count
// with each allocation, and resending an unchanged total would raise it
// again for containers allocated but not yet received (YARN-1902). For the
// same reason a total is raised only when nothing is outstanding.
func (e *Engine) request(now time.Time) yarn.AllocateRequest {
	req := yarn.AllocateRequest{Progress: e.progress}
	for _, h := range e.excl.readmit(now) {
		e.log.Info("engine: host readmitted", "host", h)
		if f := e.cb.OnReadmitted; f != nil {
			e.disp.post(func() { f(h) })
		}
	}
	if e.m != nil {
		e.m.excluded.Set(float64(len(e.excl.excluded)))
	}
	for _, p := range e.order {
		e.scaleDown(p)
		want := max(0, p.Target-p.live())
		if p.valid && (want == p.sent || want > p.sent && p.sent > 0 && now.Sub(p.lastArrival) < e.raiseAfter()) {
			// Unchanged, or a raise while containers are outstanding: the
			// RM may have allocated some of them since its last answer, and
			// a new total would ask for those again (YARN-1902). The raise
			// goes out once the outstanding ones have arrived; the RM would
			// have served the same profile's row in that order anyway. If
			// none arrives for raiseAfter (the RM's count and the engine's
			// drifted apart, or the cluster is full), it goes out anyway:
			// after so long without an allocation, one racing it is unlikely.
			continue
		}
		switch {
		case !p.AntiAffinity:
			req.Asks = append(req.Asks, p.rows(p.id, want, e.rackOf)...)
		case want > 0 || p.scheduled:
			req.SchedulingRequests = append(req.SchedulingRequests, p.schedulingRequest(p.id, want))
			p.scheduled = true
		default:
			// Nothing wanted and nothing to cancel: a SchedulingRequest
			// of 0 would only make the RM set up an empty request.
		}
		if want > len(p.asked) {
			for range want - len(p.asked) {
				p.asked = append(p.asked, now)
			}
		} else {
			p.asked = p.asked[:want]
		}
		if want != p.sent {
			e.log.Debug("engine: asking", "profile", p.Name, "containers", want)
		}
		p.sent, p.valid, p.lastArrival = want, true, now
		e.refresh(p, now)
	}
	req.Release, e.toRelease = e.toRelease, nil
	req.BlacklistAdditions, req.BlacklistRemovals = e.excl.take()
	return req
}

// scaleDown releases p's containers beyond its target by the rule
// SetTarget documents.
func (e *Engine) scaleDown(p *profileState) {
	extra := p.live() - p.Target
	if extra <= 0 {
		return
	}
	var cands []*tracked
	for _, t := range e.containers {
		if t.p == p && t.state <= stRunning {
			cands = append(cands, t)
		}
	}
	slices.SortFunc(cands, func(a, b *tracked) int {
		if c := cmp.Compare(a.state, b.state); c != 0 {
			return c
		}
		return cmp.Compare(b.c.ID.ID, a.c.ID.ID)
	})
	for _, t := range cands[:extra] {
		e.release(t)
	}
	e.log.Info("engine: released containers beyond the target", "profile", p.Name, "released", extra, "target", p.Target)
}

func (e *Engine) release(t *tracked) {
	e.setState(t, stReleasing)
	e.releaseID(t.c.ID)
}

func (e *Engine) releaseID(id yarn.ContainerID) {
	e.releasing[id] = true
	e.toRelease = append(e.toRelease, id)
}

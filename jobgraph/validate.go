package jobgraph

import (
	"fmt"
	"strings"
)

// Validate checks g and returns every problem it finds, joined (errors.Is
// and errors.As see each), or nil. Each problem names the vertex or edge
// and says what to do.
//
// operators is the set of operator names the binary registered; a vertex
// whose Operator is not in it is an error (a nil set registers nothing).
// When tm is not nil, Validate also checks that every slot the planner
// would make fits in one TaskManager of that spec; it does not check
// MaxTaskManagers, which only planning can (NewPlan does).
//
// A graph without vertices is an error: it would run nothing, and a job
// that has no subtask never reports one finished.
func (g *JobGraph) Validate(operators map[string]bool, tm *TaskManagerSpec) error {
	errs := g.check(operators, true, tm)
	if len(g.Vertices) == 0 {
		errs = append([]error{&JobError{Field: "Vertices", Err: ErrInvalid,
			Hint: "the graph has no vertices; add at least one operator before executing it"}}, errs...)
	}
	return joinErrors(errs)
}

// check is Validate; checkOperators false skips the operator names, for
// callers (the planner, the regions) that do not run operators.
func (g *JobGraph) check(operators map[string]bool, checkOperators bool, tm *TaskManagerSpec) []error {
	var errs []error
	if p := g.Restart.problems(); len(p) > 0 {
		errs = append(errs, &JobError{Field: "Restart", Err: ErrInvalid, Hint: strings.Join(p, "; ")})
	}

	index := make(map[string]int, len(g.Vertices)) // first vertex of each ID
	for i := range g.Vertices {
		v := &g.Vertices[i]
		verr := func(err error, format string, args ...any) {
			errs = append(errs, &VertexError{Vertex: v.ID, Index: i, Err: err, Hint: fmt.Sprintf(format, args...)})
		}
		if v.ID == "" {
			verr(ErrInvalid, "the vertex has no ID; give every vertex a unique ID")
		} else if j, dup := index[v.ID]; dup {
			verr(ErrDuplicateID, "vertex #%d has the same ID; give every vertex a unique ID", j)
		} else {
			index[v.ID] = i
		}
		if v.Parallelism < 1 {
			verr(ErrParallelism, "got %d; set Parallelism to 1 or more", v.Parallelism)
		} else if v.Parallelism > MaxParallelism {
			verr(ErrParallelism, "got %d, above the maximum of %d; lower Parallelism", v.Parallelism, MaxParallelism)
		}
		if checkOperators && !operators[v.Operator] {
			verr(ErrUnknownOperator, "operator %q is not registered in this binary; register it under that name or fix the name (registered: %s)",
				v.Operator, listNames(operators))
		}
		if v.Resources.invalid() {
			verr(ErrInvalid, "Resources %s has a negative amount or an unnamed custom type; use amounts of 0 or more", v.Resources)
		}
	}

	total := 0
	for _, v := range g.Vertices {
		total += min(max(v.Parallelism, 0), MaxParallelism+1)
	}
	if total > MaxSubtasks {
		errs = append(errs, &JobError{Field: "Vertices", Err: ErrParallelism, Hint: fmt.Sprintf("the graph has %d subtasks in all, above the maximum of %d; lower parallelism", total, MaxSubtasks)})
	}

	type pair struct{ src, dst string }
	seen := make(map[pair]int, len(g.Edges))
	adj := make([][]int, len(g.Vertices)) // over first vertices of each ID
	for i, e := range g.Edges {
		eerr := func(err error, format string, args ...any) {
			errs = append(errs, &EdgeError{Index: i, Source: e.Source, Target: e.Target, Err: err, Hint: fmt.Sprintf(format, args...)})
		}
		s, sok := index[e.Source]
		t, tok := index[e.Target]
		switch {
		case !sok && !tok:
			eerr(ErrDanglingEdge, "neither %q nor %q is a vertex of the graph; add them or remove the edge", e.Source, e.Target)
		case !sok:
			eerr(ErrDanglingEdge, "source %q is not a vertex of the graph; add it or remove the edge", e.Source)
		case !tok:
			eerr(ErrDanglingEdge, "target %q is not a vertex of the graph; add it or remove the edge", e.Target)
		}
		if int(e.Partitioner) >= len(partitionerNames) {
			eerr(ErrInvalid, "unknown partitioner %s; use forward, hash, rebalance or broadcast", e.Partitioner)
		}
		if j, dup := seen[pair{e.Source, e.Target}]; dup {
			eerr(ErrDuplicateEdge, "edge #%d joins the same vertices; keep one edge per pair of vertices", j)
			continue
		}
		seen[pair{e.Source, e.Target}] = i
		if !sok || !tok {
			continue
		}
		adj[s] = append(adj[s], t)
		if e.Partitioner == PartitionForward {
			ps, pt := g.Vertices[s].Parallelism, g.Vertices[t].Parallelism
			if ps != pt && ps >= 1 && pt >= 1 {
				eerr(ErrForwardParallelism, "%q has parallelism %d and %q has %d; give both the same parallelism, or use a rebalance or hash edge",
					e.Source, ps, e.Target, pt)
			}
		}
	}
	if c := findCycle(g, adj); c != nil {
		errs = append(errs, c)
	}

	if tm != nil {
		errs = append(errs, tm.check()...)
		errs = append(errs, checkFit(g, tm)...)
	}
	return errs
}

// findCycle returns one cycle of the graph, found by a depth-first search
// from the vertices in order, or nil. The search keeps its own stack so
// that a long chain from a decoded graph cannot exhaust the goroutine's.
func findCycle(g *JobGraph, adj [][]int) *CycleError {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(adj))
	type frame struct{ v, next int }
	var stack []frame
	for start := range adj {
		if state[start] != unseen {
			continue
		}
		state[start] = onPath
		stack = append(stack[:0], frame{start, 0})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(adj[top.v]) {
				state[top.v] = done
				stack = stack[:len(stack)-1]
				continue
			}
			w := adj[top.v][top.next]
			top.next++
			switch state[w] {
			case unseen:
				state[w] = onPath
				stack = append(stack, frame{w, 0})
			case onPath:
				k := len(stack) - 1
				for stack[k].v != w {
					k--
				}
				var ids []string
				for _, f := range stack[k:] {
					ids = append(ids, g.Vertices[f.v].ID)
				}
				return &CycleError{Vertices: append(ids, g.Vertices[w].ID)}
			}
		}
	}
	return nil
}

// checkFit reports the slots that cannot fit one TaskManager: a subtask
// too big on its own, or else a group whose full slot (one subtask of each
// of its vertices) is too big.
func checkFit(g *JobGraph, tm *TaskManagerSpec) []error {
	var errs []error
	for _, grp := range groups(g) {
		var full Resources
		alone := false
		for _, i := range grp.vertices {
			v := &g.Vertices[i]
			if short := v.Resources.shortOf(tm.Resources); len(short) > 0 {
				errs = append(errs, &ResourceError{Group: grp.name, Vertices: []string{v.ID}, Need: v.Resources, Capacity: tm.Resources, Short: short})
				alone = true
			}
			full = full.add(v.Resources)
		}
		if alone {
			continue
		}
		if short := full.shortOf(tm.Resources); len(short) > 0 {
			var ids []string
			for _, i := range grp.vertices {
				ids = append(ids, g.Vertices[i].ID)
			}
			errs = append(errs, &ResourceError{Group: grp.name, Vertices: ids, Need: full, Capacity: tm.Resources, Short: short})
		}
	}
	return errs
}

// A slotGroup is a slot-sharing group and its vertices (indexes into
// JobGraph.Vertices), in vertex order.
type slotGroup struct {
	name     string
	vertices []int
}

// groups returns the slot-sharing groups in the order their first vertex
// appears.
func groups(g *JobGraph) []slotGroup {
	var gs []slotGroup
	at := make(map[string]int)
	for i := range g.Vertices {
		name := g.Vertices[i].Group()
		k, ok := at[name]
		if !ok {
			k = len(gs)
			at[name] = k
			gs = append(gs, slotGroup{name: name})
		}
		gs[k].vertices = append(gs[k].vertices, i)
	}
	return gs
}

// listNames lists a set's names sorted, at most ten, for a hint.
func listNames(set map[string]bool) string {
	var names []string
	for _, n := range sortedKeys(set) {
		if set[n] {
			names = append(names, fmt.Sprintf("%q", n))
		}
	}
	switch {
	case len(names) == 0:
		return "none"
	case len(names) > 10:
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

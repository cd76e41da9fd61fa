package jobgraph

import (
	"fmt"
	"strings"
)

// MaxParallelism bounds a vertex's parallelism, as Flink bounds its
// maximum parallelism (2^15). Plans and regions hold one entry per
// subtask; the bound keeps a decoded graph from asking for billions.
const MaxParallelism = 1 << 15

// MaxSubtasks bounds the subtasks of all vertices together, for the same
// reason.
const MaxSubtasks = 1 << 20

// A TaskManagerSpec describes the TaskManagers a job runs in: every one is
// a container of the same resources, divided into the same number of
// slots.
type TaskManagerSpec struct {
	// Resources of one TaskManager, which its slots share. A slot takes
	// what its subtasks declare (Vertex.Resources); subtasks that declare
	// nothing take nothing, and only Slots limits them.
	Resources Resources
	// Slots per TaskManager; at least 1.
	Slots int
	// MaxTaskManagers bounds how many TaskManagers a plan may use. Zero
	// means no bound.
	MaxTaskManagers int
}

func (s *TaskManagerSpec) check() []error {
	var errs []error
	if s.Slots < 1 {
		errs = append(errs, &JobError{Field: "TaskManagerSpec.Slots", Err: ErrInvalid, Hint: fmt.Sprintf("got %d; give each TaskManager at least 1 slot", s.Slots)})
	}
	if s.MaxTaskManagers < 0 {
		errs = append(errs, &JobError{Field: "TaskManagerSpec.MaxTaskManagers", Err: ErrInvalid, Hint: fmt.Sprintf("got %d; use 0 for no bound", s.MaxTaskManagers)})
	}
	if s.Resources.invalid() {
		errs = append(errs, &JobError{Field: "TaskManagerSpec.Resources", Err: ErrInvalid, Hint: fmt.Sprintf("%s has a negative amount or an unnamed custom type", s.Resources)})
	}
	return errs
}

// A Plan places every subtask of a graph into a slot of a TaskManager.
// The runtime asks for len(TaskManagers) containers of Spec.Resources and
// deploys each subtask into the slot Locate names.
type Plan struct {
	Spec         TaskManagerSpec
	TaskManagers []TaskManagerPlan

	at map[Subtask]SlotRef
}

// A TaskManagerPlan is the slots of one TaskManager, and the resources
// they use together.
type TaskManagerPlan struct {
	Slots []SlotPlan
	Used  Resources
}

// A SlotPlan is one slot: subtask GroupSlot of each vertex of Group whose
// parallelism reaches that far.
type SlotPlan struct {
	Group     string
	GroupSlot int
	Need      Resources
	Subtasks  []Subtask
}

// A SlotRef names a slot: Plan.TaskManagers[TaskManager].Slots[Slot].
type SlotRef struct {
	TaskManager, Slot int
}

// NewPlan places the subtasks of g into TaskManagers of spec, the way
// Flink shares slots:
//
//   - a slot-sharing group needs as many slots as its largest
//     parallelism; its slot i holds subtask i of each of its vertices, so
//     subtasks joined by a forward edge share a slot;
//   - groups joined by forward edges make bundles: slot i of each of
//     them, so that forward-joined subtasks of different groups can run
//     in one TaskManager;
//   - bundles go, in vertex order, whole into the first TaskManager that
//     has the free slots and resources for them, or into a new one;
//   - unless keeping bundles whole needs more TaskManagers than placing
//     their slots one by one (each into the first TaskManager with a free
//     slot and enough resources left): then the slots go one by one, as
//     fewer containers beat local exchanges.
//
// The plan depends only on g and spec. NewPlan validates g's structure
// and the fit (not the operator names) and returns the same errors as
// Validate, or a *ResourceError when more than spec.MaxTaskManagers are
// needed.
func NewPlan(g *JobGraph, spec TaskManagerSpec) (*Plan, error) {
	if err := joinErrors(g.check(nil, false, &spec)); err != nil {
		return nil, err
	}
	bundles := slotBundles(g)
	tms := pack(bundles, spec, true)
	if apart := pack(bundles, spec, false); len(apart) < len(tms) {
		tms = apart
	}
	p := &Plan{Spec: spec, TaskManagers: tms, at: make(map[Subtask]SlotRef)}
	for t, tm := range tms {
		for k, slot := range tm.Slots {
			for _, s := range slot.Subtasks {
				p.at[s] = SlotRef{TaskManager: t, Slot: k}
			}
		}
	}
	if spec.MaxTaskManagers > 0 && len(p.TaskManagers) > spec.MaxTaskManagers {
		return nil, &ResourceError{TaskManagers: len(p.TaskManagers), MaxTaskManagers: spec.MaxTaskManagers, Capacity: spec.Resources}
	}
	return p, nil
}

// pack places bundles of slots into TaskManagers, each slot into the
// first TaskManager with a free slot and room for its needs. With
// together, a bundle goes whole into the first TaskManager that can take
// all of it, or else into a new one when it fits an empty one; only a
// bundle too big for any TaskManager is split.
func pack(bundles [][]SlotPlan, spec TaskManagerSpec, together bool) []TaskManagerPlan {
	var tms []TaskManagerPlan
	room := func(t int, n int, need Resources) bool {
		return len(tms[t].Slots)+n <= spec.Slots && tms[t].Used.add(need).fits(spec.Resources)
	}
	place := func(t int, slots ...SlotPlan) {
		for t == len(tms) {
			tms = append(tms, TaskManagerPlan{})
		}
		for _, s := range slots {
			tms[t].Slots = append(tms[t].Slots, s)
			tms[t].Used = tms[t].Used.add(s.Need)
		}
	}
	for _, b := range bundles {
		if together && len(b) > 1 {
			var need Resources
			for _, s := range b {
				need = need.add(s.Need)
			}
			if len(b) <= spec.Slots && need.fits(spec.Resources) {
				t := 0
				for t < len(tms) && !room(t, len(b), need) {
					t++
				}
				place(t, b...)
				continue
			}
		}
		for _, s := range b {
			t := 0
			for t < len(tms) && !room(t, 1, s.Need) {
				t++
			}
			place(t, s)
		}
	}
	return tms
}

// slotBundles returns every slot the graph needs, in the order NewPlan
// places them, bundled: slot i of each group in a forward-joined set of
// groups.
func slotBundles(g *JobGraph) [][]SlotPlan {
	gs := groups(g)
	groupOf := make(map[string]int, len(g.Vertices)) // vertex ID -> group
	for k, grp := range gs {
		for _, i := range grp.vertices {
			groupOf[g.Vertices[i].ID] = k
		}
	}
	// Union the groups joined by forward edges.
	parent := make([]int, len(gs))
	for k := range parent {
		parent[k] = k
	}
	find := func(k int) int {
		for parent[k] != k {
			parent[k] = parent[parent[k]]
			k = parent[k]
		}
		return k
	}
	for _, e := range g.Edges {
		if e.Partitioner.pointwise() {
			a, b := find(groupOf[e.Source]), find(groupOf[e.Target])
			// Keep the earlier group as the root so components are ordered
			// by their first group.
			parent[max(a, b)] = min(a, b)
		}
	}

	var bundles [][]SlotPlan
	for root := range gs {
		if find(root) != root {
			continue
		}
		var members []int
		most := 0
		for k := range gs {
			if find(k) == root {
				members = append(members, k)
				most = max(most, groupSlots(g, gs[k]))
			}
		}
		for i := range most {
			var b []SlotPlan
			for _, k := range members {
				if i < groupSlots(g, gs[k]) {
					b = append(b, makeSlot(g, gs[k], i))
				}
			}
			bundles = append(bundles, b)
		}
	}
	return bundles
}

func groupSlots(g *JobGraph, grp slotGroup) int {
	n := 0
	for _, i := range grp.vertices {
		n = max(n, g.Vertices[i].Parallelism)
	}
	return n
}

func makeSlot(g *JobGraph, grp slotGroup, i int) SlotPlan {
	s := SlotPlan{Group: grp.name, GroupSlot: i}
	for _, vi := range grp.vertices {
		v := &g.Vertices[vi]
		if i < v.Parallelism {
			s.Subtasks = append(s.Subtasks, Subtask{Vertex: v.ID, Index: i})
			s.Need = s.Need.add(v.Resources)
		}
	}
	return s
}

// Locate returns the slot subtask s is placed in, and false when the plan
// has no such subtask.
func (p *Plan) Locate(s Subtask) (SlotRef, bool) {
	r, ok := p.at[s]
	return r, ok
}

// Slots returns the number of slots the plan uses.
func (p *Plan) Slots() int {
	n := 0
	for _, tm := range p.TaskManagers {
		n += len(tm.Slots)
	}
	return n
}

// String renders the plan for people and golden files: one line per
// TaskManager, one per slot beneath it.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TaskManagers: %d of %s, %d slots each; slots used: %d\n", len(p.TaskManagers), p.Spec.Resources, p.Spec.Slots, p.Slots())
	for t, tm := range p.TaskManagers {
		fmt.Fprintf(&b, "taskmanager %d: %d/%d slots, uses %s\n", t, len(tm.Slots), p.Spec.Slots, tm.Used)
		for k, s := range tm.Slots {
			names := make([]string, len(s.Subtasks))
			for i, st := range s.Subtasks {
				names[i] = st.String()
			}
			fmt.Fprintf(&b, "  slot %d: group %q slot %d, needs %s: %s\n", k, s.Group, s.GroupSlot, s.Need, strings.Join(names, " "))
		}
	}
	return b.String()
}

package jobgraph

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewPlanGolden(t *testing.T) {
	mb := func(m int64, c int32) Resources { return Resources{MemoryMB: m, VCores: c} }
	tm := func(m int64, c int32, slots int) TaskManagerSpec {
		return TaskManagerSpec{Resources: mb(m, c), Slots: slots}
	}
	tests := []struct {
		name string
		g    *JobGraph
		spec TaskManagerSpec
	}{
		{
			name: "single-vertex",
			g:    &JobGraph{Vertices: []Vertex{{ID: "gen", Operator: "gen", Parallelism: 3, Resources: mb(512, 1)}}},
			spec: tm(2048, 2, 2),
		},
		{
			name: "forward-chain",
			g: func() *JobGraph {
				g := chain(4)
				for i := range g.Vertices {
					g.Vertices[i].Resources = mb(256, 1)
				}
				return g
			}(),
			spec: tm(4096, 8, 2),
		},
		{
			// Memory, not slots, limits a TaskManager here: three slots
			// each, but room for two slots' worth of memory.
			name: "forward-chain-memory-bound",
			g: func() *JobGraph {
				g := chain(3)
				g.Vertices[1].Resources = mb(1024, 1)
				return g
			}(),
			spec: tm(2048, 4, 3),
		},
		{
			name: "hash-shuffle",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "source", Operator: "source", Parallelism: 4},
					{ID: "count", Operator: "count", Parallelism: 2},
					{ID: "sink", Operator: "sink", Parallelism: 2},
				},
				Edges: []Edge{
					{Source: "source", Target: "count", Partitioner: PartitionHash},
					{Source: "count", Target: "sink"},
				},
			},
			spec: tm(4096, 4, 3),
		},
		{
			name: "broadcast",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "rules", Operator: "rules", Parallelism: 1, Resources: mb(128, 0)},
					{ID: "events", Operator: "events", Parallelism: 3, Resources: mb(256, 1)},
					{ID: "match", Operator: "match", Parallelism: 3, Resources: mb(512, 1)},
				},
				Edges: []Edge{
					{Source: "rules", Target: "match", Partitioner: PartitionBroadcast},
					{Source: "events", Target: "match"},
				},
			},
			spec: tm(2048, 4, 2),
		},
		{
			name: "two-slot-sharing-groups",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "source", Operator: "source", Parallelism: 4, Resources: mb(256, 1)},
					{ID: "window", Operator: "window", Parallelism: 2, Resources: mb(2048, 2), SlotSharingGroup: "heavy"},
					{ID: "sink", Operator: "sink", Parallelism: 2, Resources: mb(256, 1), SlotSharingGroup: "heavy"},
				},
				Edges: []Edge{
					{Source: "source", Target: "window", Partitioner: PartitionHash},
					{Source: "window", Target: "sink"},
				},
			},
			spec: tm(4096, 4, 2),
		},
		{
			// A forward edge between groups interleaves their slots, so
			// parse[i] and enrich[i] land in the same TaskManager.
			name: "forward-across-groups",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "parse", Operator: "parse", Parallelism: 3},
					{ID: "enrich", Operator: "enrich", Parallelism: 3, SlotSharingGroup: "gpu", Resources: Resources{Custom: map[string]int64{"yarn.io/gpu": 1}}},
					{ID: "audit", Operator: "audit", Parallelism: 2, SlotSharingGroup: "audit"},
				},
				Edges: []Edge{
					{Source: "parse", Target: "enrich"},
					{Source: "parse", Target: "audit", Partitioner: PartitionRebalance},
				},
			},
			spec: TaskManagerSpec{Resources: Resources{MemoryMB: 4096, VCores: 4, Custom: map[string]int64{"yarn.io/gpu": 1}}, Slots: 2},
		},
		{
			// Kept whole, each parse/enrich bundle shares a TaskManager; one
			// by one they would straddle TaskManagers, at the same count.
			name: "forward-bundles-kept-whole",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "control", Operator: "control", Parallelism: 1, SlotSharingGroup: "control"},
					{ID: "parse", Operator: "parse", Parallelism: 2, SlotSharingGroup: "cpu"},
					{ID: "enrich", Operator: "enrich", Parallelism: 2, SlotSharingGroup: "io"},
				},
				Edges: []Edge{{Source: "parse", Target: "enrich"}},
			},
			spec: tm(4096, 4, 2),
		},
		{
			// Kept whole, bundles of two in TaskManagers of three slots
			// would need three TaskManagers; one by one needs two.
			name: "forward-bundles-split-to-save-taskmanagers",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "parse", Operator: "parse", Parallelism: 3, SlotSharingGroup: "cpu"},
					{ID: "enrich", Operator: "enrich", Parallelism: 3, SlotSharingGroup: "io"},
				},
				Edges: []Edge{{Source: "parse", Target: "enrich"}},
			},
			spec: tm(4096, 4, 3),
		},
		{
			name: "cannot-fit",
			g: &JobGraph{
				Vertices: []Vertex{
					{ID: "source", Operator: "source", Parallelism: 2, Resources: mb(1024, 1)},
					{ID: "model", Operator: "model", Parallelism: 2, Resources: mb(3072, 1)},
				},
				Edges: []Edge{{Source: "source", Target: "model"}},
			},
			spec: tm(2048, 4, 4),
		},
		{
			name: "too-many-taskmanagers",
			g:    &JobGraph{Vertices: []Vertex{{ID: "gen", Operator: "gen", Parallelism: 5}}},
			spec: TaskManagerSpec{Resources: mb(1024, 1), Slots: 2, MaxTaskManagers: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.g, tt.spec)
			var out string
			if err != nil {
				if !errors.Is(err, ErrDoesNotFit) {
					t.Errorf("NewPlan error %v is not ErrDoesNotFit", err)
				}
				out = "error: " + err.Error() + "\n"
			} else {
				checkPlan(t, tt.g, p)
				out = p.String()
			}
			golden(t, "plan-"+tt.name+".golden", []byte(out))

			// The plan depends only on its inputs.
			again, err2 := NewPlan(tt.g, tt.spec)
			if (err == nil) != (err2 == nil) || (err == nil && again.String() != p.String()) {
				t.Errorf("a second NewPlan differs")
			}
		})
	}
}

// checkPlan asserts what every plan must hold, whatever its shape.
func checkPlan(t *testing.T, g *JobGraph, p *Plan) {
	t.Helper()
	seen := map[Subtask]SlotRef{}
	for ti, tm := range p.TaskManagers {
		if len(tm.Slots) == 0 || len(tm.Slots) > p.Spec.Slots {
			t.Errorf("taskmanager %d has %d slots; want 1 to %d", ti, len(tm.Slots), p.Spec.Slots)
		}
		var used Resources
		for si, s := range tm.Slots {
			used = used.add(s.Need)
			vertices := map[string]bool{}
			for _, st := range s.Subtasks {
				if vertices[st.Vertex] {
					t.Errorf("slot %d/%d holds two subtasks of %s", ti, si, st.Vertex)
				}
				vertices[st.Vertex] = true
				if v := g.Vertex(st.Vertex); v == nil || v.Group() != s.Group || st.Index != s.GroupSlot {
					t.Errorf("slot %d/%d (group %s, slot %d) holds %v", ti, si, s.Group, s.GroupSlot, st)
				}
				if _, dup := seen[st]; dup {
					t.Errorf("%v placed twice", st)
				}
				seen[st] = SlotRef{ti, si}
				if got, ok := p.Locate(st); !ok || got != (SlotRef{ti, si}) {
					t.Errorf("Locate(%v) = %v, %v; want %v", st, got, ok, SlotRef{ti, si})
				}
			}
		}
		if diff := cmp.Diff(used, tm.Used); diff != "" {
			t.Errorf("taskmanager %d Used is not the sum of its slots' needs (-sum +Used):\n%s", ti, diff)
		}
		if !tm.Used.fits(p.Spec.Resources) {
			t.Errorf("taskmanager %d uses %s, more than its %s", ti, tm.Used, p.Spec.Resources)
		}
	}
	n := 0
	for _, v := range g.Vertices {
		n += v.Parallelism
	}
	if len(seen) != n {
		t.Errorf("plan places %d subtasks, the graph has %d", len(seen), n)
	}
	// Forward-joined subtasks of one group share a slot.
	for _, e := range g.Edges {
		src, dst := g.Vertex(e.Source), g.Vertex(e.Target)
		if e.Partitioner != PartitionForward || src.Group() != dst.Group() {
			continue
		}
		for i := range src.Parallelism {
			a, b := seen[Subtask{e.Source, i}], seen[Subtask{e.Target, i}]
			if a != b {
				t.Errorf("forward-joined %s[%d] and %s[%d] are in slots %v and %v", e.Source, i, e.Target, i, a, b)
			}
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	g := chain(2)
	g.Edges = append(g.Edges, Edge{Source: "sink", Target: "nowhere"})
	_, err := NewPlan(g, TaskManagerSpec{Slots: 0})
	want := []string{"edge #2 sink->nowhere ErrDanglingEdge", "job TaskManagerSpec.Slots ErrInvalid"}
	if diff := cmp.Diff(want, describe(err)); diff != "" {
		t.Errorf("NewPlan problems (-want +got):\n%s", diff)
	}
	var re *ResourceError
	_, err = NewPlan(&JobGraph{Vertices: []Vertex{{ID: "a", Parallelism: 3}}}, TaskManagerSpec{Slots: 1, MaxTaskManagers: 2})
	if !errors.As(err, &re) || re.TaskManagers != 3 || re.MaxTaskManagers != 2 || !strings.Contains(err.Error(), "needs 3 TaskManagers but at most 2") {
		t.Errorf("NewPlan over MaxTaskManagers = %v", err)
	}
}

// A plan as large as a graph may be stays quick and right.
func TestNewPlanLarge(t *testing.T) {
	g := &JobGraph{
		Vertices: []Vertex{
			{ID: "a", Parallelism: 1000, Resources: Resources{MemoryMB: 100, VCores: 1}},
			{ID: "b", Parallelism: 1000, Resources: Resources{MemoryMB: 100, VCores: 1}},
			{ID: "c", Parallelism: 300, SlotSharingGroup: "c", Resources: Resources{MemoryMB: 700}},
		},
		Edges: []Edge{{Source: "a", Target: "b"}, {Source: "b", Target: "c", Partitioner: PartitionHash}},
	}
	p, err := NewPlan(g, TaskManagerSpec{Resources: Resources{MemoryMB: 4096, VCores: 8}, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, g, p)
	// 1000 slots of 200MB/2vcores (4 per TaskManager by slots and vcores)
	// and 300 of 700MB that fill the room left beside them or need more.
	if got := p.Slots(); got != 1300 {
		t.Errorf("Slots() = %d, want 1300", got)
	}
	if got := len(p.TaskManagers); got < 325 || got > 400 {
		t.Errorf("%d TaskManagers, want between 325 (slot bound) and 400", got)
	}
}

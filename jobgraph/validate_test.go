package jobgraph

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testOperators = map[string]bool{"source": true, "map": true, "sink": true}

// chain returns source -> map -> sink, forward edges, parallelism p.
func chain(p int) *JobGraph {
	return &JobGraph{
		ID: "job-1",
		Vertices: []Vertex{
			{ID: "source", Operator: "source", Parallelism: p},
			{ID: "map", Operator: "map", Parallelism: p},
			{ID: "sink", Operator: "sink", Parallelism: p},
		},
		Edges: []Edge{
			{Source: "source", Target: "map"},
			{Source: "map", Target: "sink"},
		},
	}
}

var sentinels = map[error]string{
	ErrCycle: "ErrCycle", ErrUnknownOperator: "ErrUnknownOperator", ErrForwardParallelism: "ErrForwardParallelism",
	ErrParallelism: "ErrParallelism", ErrDuplicateID: "ErrDuplicateID", ErrDuplicateEdge: "ErrDuplicateEdge",
	ErrDanglingEdge: "ErrDanglingEdge", ErrDoesNotFit: "ErrDoesNotFit", ErrInvalid: "ErrInvalid",
}

// describe lists the problems of a (possibly joined) error as
// "type subject sentinel" lines.
func describe(err error) []string {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		s := "?"
		for sent, name := range sentinels {
			if errors.Is(e, sent) {
				s = name
			}
		}
		var (
			ve *VertexError
			ee *EdgeError
			ce *CycleError
			re *ResourceError
			je *JobError
		)
		switch {
		case errors.As(e, &ve):
			out = append(out, fmt.Sprintf("vertex %s#%d %s", ve.Vertex, ve.Index, s))
		case errors.As(e, &ee):
			out = append(out, fmt.Sprintf("edge #%d %s->%s %s", ee.Index, ee.Source, ee.Target, s))
		case errors.As(e, &ce):
			out = append(out, fmt.Sprintf("cycle %s %s", strings.Join(ce.Vertices, ">"), s))
		case errors.As(e, &re):
			out = append(out, fmt.Sprintf("resources %s[%s] short %s %s", re.Group, strings.Join(re.Vertices, ","), strings.Join(re.Short, ","), s))
		case errors.As(e, &je):
			out = append(out, fmt.Sprintf("job %s %s", je.Field, s))
		default:
			out = append(out, "untyped "+e.Error())
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	small := &TaskManagerSpec{Resources: Resources{MemoryMB: 1024, VCores: 2}, Slots: 2}
	tests := []struct {
		name   string
		edit   func(g *JobGraph)
		tm     *TaskManagerSpec
		want   []string
		substr string // in the error text, when set
	}{
		{name: "valid", edit: func(*JobGraph) {}},
		{name: "valid with every partitioner and restart", edit: func(g *JobGraph) {
			g.Vertices[1].Parallelism = 3
			g.Edges[0].Partitioner = PartitionHash
			g.Edges[1].Partitioner = PartitionRebalance
			g.Edges = append(g.Edges, Edge{Source: "source", Target: "sink", Partitioner: PartitionBroadcast})
			g.Restart = ExponentialDelay()
		}},
		{
			name: "parallelism below 1 and above the maximum",
			edit: func(g *JobGraph) {
				g.Vertices[0].Parallelism = 0
				g.Vertices[1].Parallelism = MaxParallelism + 1
				g.Vertices[2].Parallelism = MaxParallelism + 1
			},
			want: []string{
				// No forward-edge complaint about the vertex below 1: one
				// problem, one error.
				"vertex source#0 ErrParallelism", "vertex map#1 ErrParallelism", "vertex sink#2 ErrParallelism",
			},
			substr: "set Parallelism to 1 or more",
		},
		{
			name: "too many subtasks in all",
			edit: func(g *JobGraph) {
				for i := range g.Vertices {
					g.Vertices[i].Parallelism = MaxParallelism
				}
				for i := range MaxSubtasks / MaxParallelism {
					g.Vertices = append(g.Vertices, Vertex{ID: fmt.Sprint("v", i), Operator: "map", Parallelism: MaxParallelism})
				}
			},
			want:   []string{"job Vertices ErrParallelism"},
			substr: fmt.Sprintf("the graph has %d subtasks in all, above the maximum of %d", MaxSubtasks+3*MaxParallelism, MaxSubtasks),
		},
		{
			name:   "unknown operator",
			edit:   func(g *JobGraph) { g.Vertices[1].Operator = "mapp" },
			want:   []string{"vertex map#1 ErrUnknownOperator"},
			substr: `operator "mapp" is not registered in this binary; register it under that name or fix the name (registered: "map", "sink", "source")`,
		},
		{
			name:   "forward between different parallelisms",
			edit:   func(g *JobGraph) { g.Vertices[2].Parallelism = 4 },
			want:   []string{"edge #1 map->sink ErrForwardParallelism"},
			substr: `"map" has parallelism 2 and "sink" has 4; give both the same parallelism, or use a rebalance or hash edge`,
		},
		{
			name:   "no vertices",
			edit:   func(g *JobGraph) { g.Vertices, g.Edges = nil, nil },
			want:   []string{"job Vertices ErrInvalid"},
			substr: "the graph has no vertices; add at least one operator",
		},
		{
			name: "different parallelisms through a hash edge are fine",
			edit: func(g *JobGraph) { g.Vertices[2].Parallelism = 4; g.Edges[1].Partitioner = PartitionHash },
		},
		{
			name: "duplicate and empty IDs",
			edit: func(g *JobGraph) {
				g.Vertices = append(g.Vertices, Vertex{ID: "map", Operator: "map", Parallelism: 2}, Vertex{Operator: "map", Parallelism: 1})
			},
			want:   []string{"vertex map#3 ErrDuplicateID", "vertex #4 ErrInvalid"},
			substr: "vertex #1 has the same ID",
		},
		{
			name: "dangling edges",
			edit: func(g *JobGraph) {
				g.Edges = append(g.Edges, Edge{Source: "map", Target: "nowhere"}, Edge{Source: "ghost", Target: "sink", Partitioner: PartitionHash}, Edge{Source: "a", Target: "b"})
			},
			want: []string{
				"edge #2 map->nowhere ErrDanglingEdge", "edge #3 ghost->sink ErrDanglingEdge", "edge #4 a->b ErrDanglingEdge",
			},
			substr: `target "nowhere" is not a vertex of the graph`,
		},
		{
			name: "duplicate edge",
			edit: func(g *JobGraph) {
				g.Edges = append(g.Edges, Edge{Source: "source", Target: "map", Partitioner: PartitionHash})
			},
			want:   []string{"edge #2 source->map ErrDuplicateEdge"},
			substr: "edge #0 joins the same vertices",
		},
		{
			name:   "unknown partitioner",
			edit:   func(g *JobGraph) { g.Edges[0].Partitioner = 9 },
			want:   []string{"edge #0 source->map ErrInvalid"},
			substr: "unknown partitioner Partitioner(9)",
		},
		{
			name:   "cycle",
			edit:   func(g *JobGraph) { g.Edges = append(g.Edges, Edge{Source: "sink", Target: "source"}) },
			want:   []string{"cycle source>map>sink>source ErrCycle"},
			substr: "cycle source -> map -> sink -> source: remove one of its edges",
		},
		{
			name: "self loop",
			edit: func(g *JobGraph) { g.Edges = append(g.Edges, Edge{Source: "map", Target: "map"}) },
			want: []string{"cycle map>map ErrCycle"},
		},
		{
			name: "cycle behind a diamond",
			edit: func(g *JobGraph) {
				g.Vertices = append(g.Vertices, Vertex{ID: "side", Operator: "map", Parallelism: 2})
				g.Edges = append(g.Edges, Edge{Source: "source", Target: "side"}, Edge{Source: "side", Target: "sink"}, Edge{Source: "sink", Target: "map"})
			},
			want: []string{"cycle map>sink>map ErrCycle"},
		},
		{
			name: "bad restart strategies",
			edit: func(g *JobGraph) { g.Restart = FixedDelay(0, -time.Second) },
			want: []string{"job Restart ErrInvalid"},
			substr: "fixed-delay needs Attempts of at least 1 (got 0); use RestartNone for no restarts; " +
				"Delay is negative (-1s)",
		},
		{
			name: "exponential delay with NaN multiplier",
			edit: func(g *JobGraph) {
				g.Restart = ExponentialDelay()
				g.Restart.Multiplier = nanFloat()
				g.Restart.Jitter = 2
			},
			want:   []string{"job Restart ErrInvalid"},
			substr: "Multiplier of at least 1 (got NaN); exponential-delay needs a Jitter between 0 and 1 (got 2)",
		},
		{
			name: "failure rate valid", edit: func(g *JobGraph) { g.Restart = FailureRate(3, time.Minute, time.Second) },
		},
		{
			name: "negative resources",
			edit: func(g *JobGraph) { g.Vertices[0].Resources = Resources{MemoryMB: -1} },
			want: []string{"vertex source#0 ErrInvalid"},
		},
		{
			name: "fits exactly",
			edit: func(g *JobGraph) {
				for i := range g.Vertices {
					g.Vertices[i].Resources = Resources{MemoryMB: 256}
				}
				g.Vertices[0].Resources.VCores = 2
			},
			tm: small,
		},
		{
			name:   "one subtask too big",
			edit:   func(g *JobGraph) { g.Vertices[1].Resources = Resources{MemoryMB: 2048, VCores: 1} },
			tm:     small,
			want:   []string{"resources default[map] short memory ErrDoesNotFit"},
			substr: `vertex "map": does not fit: one subtask needs 2048MB 1vcores but a TaskManager has 1024MB 2vcores (short of memory)`,
		},
		{
			name: "a shared slot too big",
			edit: func(g *JobGraph) {
				for i := range g.Vertices {
					g.Vertices[i].Resources = Resources{MemoryMB: 512, VCores: 1}
				}
			},
			tm:     small,
			want:   []string{"resources default[source,map,sink] short memory,vcores ErrDoesNotFit"},
			substr: "split them into different slot-sharing groups",
		},
		{
			name: "a custom resource no TaskManager has",
			edit: func(g *JobGraph) {
				g.Vertices[1].Resources = Resources{Custom: map[string]int64{"yarn.io/gpu": 1}}
				g.Vertices[1].SlotSharingGroup = "gpu"
			},
			tm:   small,
			want: []string{"resources gpu[map] short yarn.io/gpu ErrDoesNotFit"},
		},
		{
			name: "bad TaskManager spec",
			edit: func(*JobGraph) {},
			tm:   &TaskManagerSpec{Slots: 0, MaxTaskManagers: -1},
			want: []string{"job TaskManagerSpec.Slots ErrInvalid", "job TaskManagerSpec.MaxTaskManagers ErrInvalid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := chain(2)
			tt.edit(g)
			err := g.Validate(testOperators, tt.tm)
			if diff := cmp.Diff(tt.want, describe(err)); diff != "" {
				t.Errorf("Validate problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.substr != "" && (err == nil || !strings.Contains(err.Error(), tt.substr)) {
				t.Errorf("Validate error %q does not contain %q", err, tt.substr)
			}
		})
	}
}

func nanFloat() float64 {
	zero := 0.0
	return zero / zero
}

// A nil operator set registers nothing, so every vertex is unknown; the
// planner and the regions do not look at operators at all.
func TestValidateNilOperators(t *testing.T) {
	g := chain(1)
	err := g.Validate(nil, nil)
	want := []string{"vertex source#0 ErrUnknownOperator", "vertex map#1 ErrUnknownOperator", "vertex sink#2 ErrUnknownOperator"}
	if diff := cmp.Diff(want, describe(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "(registered: none)") {
		t.Errorf("error %q does not say that nothing is registered", err)
	}
	if _, err := NewPlan(g, TaskManagerSpec{Slots: 1}); err != nil {
		t.Errorf("NewPlan: %v", err)
	}
	if _, err := PipelinedRegions(g); err != nil {
		t.Errorf("PipelinedRegions: %v", err)
	}
}

// A long chain and a cycle through all of it: the cycle search keeps its
// own stack and finds the whole cycle.
func TestValidateLongChain(t *testing.T) {
	const n = 20000
	g := &JobGraph{}
	for i := range n {
		g.Vertices = append(g.Vertices, Vertex{ID: fmt.Sprint(i), Operator: "map", Parallelism: 1})
		if i > 0 {
			g.Edges = append(g.Edges, Edge{Source: fmt.Sprint(i - 1), Target: fmt.Sprint(i)})
		}
	}
	if err := g.Validate(testOperators, nil); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	g.Edges = append(g.Edges, Edge{Source: fmt.Sprint(n - 1), Target: "0"})
	var ce *CycleError
	if err := g.Validate(testOperators, nil); !errors.As(err, &ce) || len(ce.Vertices) != n+1 {
		t.Fatalf("Validate = %v, want a cycle through all %d vertices", err, n)
	}
}

package jobgraph

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// regionStrings renders regions as "a[0] b[0]" lines, in region order.
func regionStrings(r *Regions) []string {
	var out []string
	for i, reg := range r.List {
		if reg.ID != i {
			out = append(out, "bad ID")
		}
		var s []string
		for _, st := range reg.Subtasks {
			s = append(s, st.String())
		}
		out = append(out, strings.Join(s, " "))
	}
	return out
}

func TestPipelinedRegions(t *testing.T) {
	v := func(id string, p int) Vertex { return Vertex{ID: id, Operator: "map", Parallelism: p} }
	tests := []struct {
		name string
		g    *JobGraph
		want []string
	}{
		{
			name: "single vertex: each subtask alone",
			g:    &JobGraph{Vertices: []Vertex{v("a", 3)}},
			want: []string{"a[0]", "a[1]", "a[2]"},
		},
		{
			name: "forward chain: one region per index",
			g:    chain(2),
			want: []string{"source[0] map[0] sink[0]", "source[1] map[1] sink[1]"},
		},
		{
			name: "hash shuffle joins everything",
			g: &JobGraph{
				Vertices: []Vertex{v("a", 2), v("b", 3)},
				Edges:    []Edge{{Source: "a", Target: "b", Partitioner: PartitionHash}},
			},
			want: []string{"a[0] a[1] b[0] b[1] b[2]"},
		},
		{
			name: "forward chain then broadcast",
			g: &JobGraph{
				Vertices: []Vertex{v("a", 2), v("b", 2), v("c", 1)},
				Edges: []Edge{
					{Source: "a", Target: "b"},
					{Source: "b", Target: "c", Partitioner: PartitionBroadcast},
				},
			},
			want: []string{"a[0] a[1] b[0] b[1] c[0]"},
		},
		{
			name: "two independent pipelines",
			g: &JobGraph{
				Vertices: []Vertex{v("a", 1), v("x", 2), v("b", 2), v("y", 2)},
				Edges: []Edge{
					{Source: "a", Target: "b", Partitioner: PartitionRebalance},
					{Source: "x", Target: "y"},
				},
			},
			want: []string{"a[0] b[0] b[1]", "x[0] y[0]", "x[1] y[1]"},
		},
		{
			name: "a rebalance edge joins the forward strands it touches",
			g: &JobGraph{
				Vertices: []Vertex{v("a", 2), v("b", 2), v("c", 2), v("d", 2)},
				Edges: []Edge{
					{Source: "a", Target: "b"},
					{Source: "c", Target: "d"},
					{Source: "b", Target: "d", Partitioner: PartitionRebalance},
				},
			},
			want: []string{"a[0] a[1] b[0] b[1] c[0] c[1] d[0] d[1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := PipelinedRegions(tt.g)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, regionStrings(r)); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
			// Of agrees with List for every subtask, and knows no others.
			for _, reg := range r.List {
				for _, st := range reg.Subtasks {
					got, ok := r.Of(st)
					if !ok || got.ID != reg.ID {
						t.Errorf("Of(%v) = %v, %v; want region %d", st, got, ok, reg.ID)
					}
				}
			}
			if got, ok := r.Of(Subtask{Vertex: tt.g.Vertices[0].ID, Index: tt.g.Vertices[0].Parallelism}); ok {
				t.Errorf("Of(a subtask past the parallelism) = %v, want none", got)
			}
		})
	}
}

func TestPipelinedRegionsInvalid(t *testing.T) {
	g := chain(2)
	g.Edges = append(g.Edges, Edge{Source: "sink", Target: "source"})
	if _, err := PipelinedRegions(g); !errors.Is(err, ErrCycle) {
		t.Errorf("PipelinedRegions of a cyclic graph: %v, want ErrCycle", err)
	}
}

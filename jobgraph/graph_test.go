package jobgraph

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGraphLookups(t *testing.T) {
	g := fullGraph()
	tests := []struct {
		vertex          string
		found           bool
		inputs, outputs []int
	}{
		{"read", true, nil, []int{0, 3}},
		{"split", true, []int{0}, []int{1, 4}},
		{"count", true, []int{1}, []int{2}},
		{"write", true, []int{2, 3, 4}, nil},
		{"nowhere", false, nil, nil},
	}
	for _, tt := range tests {
		if v := g.Vertex(tt.vertex); (v != nil) != tt.found || (v != nil && v.ID != tt.vertex) {
			t.Errorf("Vertex(%q) = %v, want found %v", tt.vertex, v, tt.found)
		}
		if diff := cmp.Diff(tt.inputs, g.Inputs(tt.vertex)); diff != "" {
			t.Errorf("Inputs(%q) (-want +got):\n%s", tt.vertex, diff)
		}
		if diff := cmp.Diff(tt.outputs, g.Outputs(tt.vertex)); diff != "" {
			t.Errorf("Outputs(%q) (-want +got):\n%s", tt.vertex, diff)
		}
	}
	// Vertex returns the graph's own vertex, not a copy.
	g.Vertex("count").Parallelism = 9
	if g.Vertices[2].Parallelism != 9 {
		t.Error("Vertex returned a copy")
	}
}

func TestResources(t *testing.T) {
	huge := Resources{MemoryMB: math.MaxInt64 - 1, VCores: math.MaxInt32, Custom: map[string]int64{"g": math.MaxInt64}}
	sum := huge.add(huge)
	want := Resources{MemoryMB: math.MaxInt64, VCores: math.MaxInt32, Custom: map[string]int64{"g": math.MaxInt64}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("add does not saturate (-want +got):\n%s", diff)
	}
	if sum.fits(Resources{MemoryMB: 1 << 40, VCores: 1 << 20}) {
		t.Error("a saturated sum fits")
	}
	a := Resources{MemoryMB: 1, Custom: map[string]int64{"x": 2, "y": 1}}
	b := Resources{VCores: 1, Custom: map[string]int64{"x": -2}}
	if diff := cmp.Diff(Resources{MemoryMB: 1, VCores: 1, Custom: map[string]int64{"y": 1}}, a.add(b)); diff != "" {
		t.Errorf("add (-want +got):\n%s", diff)
	}
	if a.Custom["x"] != 2 {
		t.Error("add changed its receiver")
	}
	if got, want := (Resources{MemoryMB: 2048, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1, "a": 0}}).String(), "2048MB 2vcores yarn.io/gpu=1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, r := range []Resources{{MemoryMB: -1}, {VCores: -1}, {Custom: map[string]int64{"g": -1}}, {Custom: map[string]int64{"": 1}}} {
		if !r.invalid() {
			t.Errorf("%+v is not invalid", r)
		}
	}
}

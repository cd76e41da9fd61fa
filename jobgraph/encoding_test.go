package jobgraph

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the code produces")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is intended, run go test -update:\n%s", path, diff)
	}
}

// fullGraph uses every field the encoding carries.
func fullGraph() *JobGraph {
	return &JobGraph{
		ID:      "job-7",
		Name:    "wörds <&> counted",
		Config:  map[string]string{"z": "last", "a": "first", "pipeline.name": "wc"},
		Restart: RestartStrategy{Kind: RestartExponentialDelay, Attempts: 5, InitialDelay: 1500 * time.Millisecond, MaxDelay: time.Minute, Multiplier: 1.5, ResetAfter: time.Hour, Jitter: 0.1},
		Vertices: []Vertex{
			{ID: "read", Operator: "hdfs-text-source", Parallelism: 4, Resources: Resources{MemoryMB: 512, VCores: 1}},
			{ID: "split", Operator: "split", Parallelism: 4, Config: map[string]string{"lower": "true"}},
			{ID: "count", Operator: "count", Parallelism: 2, Resources: Resources{MemoryMB: 1024, Custom: map[string]int64{"yarn.io/gpu": 1, "x": 0}}, SlotSharingGroup: "reduce"},
			{ID: "write", Operator: "hdfs-text-sink", Parallelism: 2, SlotSharingGroup: "reduce"},
		},
		Edges: []Edge{
			{Source: "read", Target: "split"},
			{Source: "split", Target: "count", Partitioner: PartitionHash},
			{Source: "count", Target: "write"},
			{Source: "read", Target: "write", Partitioner: PartitionBroadcast},
			{Source: "split", Target: "write", Partitioner: PartitionRebalance},
		},
	}
}

// equateGraphs treats nil and empty maps and slices as equal, and a zero
// custom amount as absent, as the encoding does.
var equateGraphs = []cmp.Option{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreMapEntries(func(_ string, v int64) bool { return v == 0 }),
}

func TestEncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		g    *JobGraph
	}{
		{"empty", &JobGraph{}},
		{"chain", chain(3)},
		{"full", fullGraph()},
		{"fixed delay", &JobGraph{Restart: FixedDelay(3, 10*time.Second), Vertices: []Vertex{{ID: "a", Operator: "a", Parallelism: 1}}}},
		{"failure rate", &JobGraph{Restart: FailureRate(2, time.Minute, 0)}},
		{"empty maps", &JobGraph{Config: map[string]string{}, Vertices: []Vertex{{ID: "a", Config: map[string]string{}, Resources: Resources{Custom: map[string]int64{}}}}}},
		// Decode does not validate; the encoding carries invalid graphs
		// faithfully, so the receiver's Validate reports them.
		{"invalid graph", &JobGraph{Vertices: []Vertex{{Parallelism: -3}}, Edges: []Edge{{Source: "x", Target: "x"}}, Restart: RestartStrategy{Kind: RestartFixedDelay, Delay: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.g)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(`{"spindle-jobgraph":1,`)) {
				t.Errorf("encoding does not start with the version: %s", b)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if diff := cmp.Diff(tt.g, got, equateGraphs...); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			again, err := Encode(got)
			if err != nil || !bytes.Equal(b, again) {
				t.Errorf("re-encoding differs: %v\n%s\n%s", err, b, again)
			}
		})
	}
}

// The bytes of format version 1 are pinned: a change to them needs a new
// FormatVersion, not an -update.
func TestEncodeGolden(t *testing.T) {
	b, err := Encode(fullGraph())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "encoding-v1.golden", append(b, '\n'))
}

func TestEncodeDeterministic(t *testing.T) {
	a := fullGraph()
	want, err := Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	// The same graph built with maps filled in another order, a zero
	// custom amount dropped and nil maps made empty.
	b := fullGraph()
	b.Config = map[string]string{}
	for _, k := range []string{"pipeline.name", "z", "a"} {
		b.Config[k] = a.Config[k]
	}
	b.Vertices[2].Resources.Custom = map[string]int64{"yarn.io/gpu": 1}
	b.Vertices[0].Config = map[string]string{}
	for range 20 {
		got, err := Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("encodings of the same graph differ:\n%s\n%s", want, got)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		g      *JobGraph
		substr string
	}{
		{"invalid UTF-8", &JobGraph{Vertices: []Vertex{{ID: "a\xff"}}}, `vertex #0 ID "a\xff" is not UTF-8`},
		{"invalid UTF-8 config key", &JobGraph{Config: map[string]string{"\xfe": "v"}}, "Config key"},
		{"NaN", &JobGraph{Restart: RestartStrategy{Kind: RestartExponentialDelay, Multiplier: nanFloat()}}, "NaN or infinite"},
		{"unknown partitioner", &JobGraph{Edges: []Edge{{Partitioner: 7}}}, "edge #0 has unknown partitioner Partitioner(7)"},
		{"unknown restart kind", &JobGraph{Restart: RestartStrategy{Kind: 9}}, "unknown restart strategy RestartKind(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.g)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("Encode = %v, want ErrInvalid containing %q", err, tt.substr)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   error
		substr string
	}{
		{"newer version", `{"spindle-jobgraph":2,"graph":{"new-field":true},"signature":"x"}`, ErrUnsupportedVersion,
			"format version 2 but this binary reads up to version 1"},
		{"version zero", `{"spindle-jobgraph":0,"graph":{}}`, ErrEncoding, "format version 0 does not exist"},
		{"no version", `{"graph":{}}`, ErrEncoding, `no "spindle-jobgraph" version field`},
		{"not JSON", "\x01\x02job", ErrEncoding, "invalid character"},
		{"not an object", `[1,2]`, ErrEncoding, "cannot unmarshal array"},
		{"empty", ``, ErrEncoding, "unexpected end of JSON input"},
		{"no graph", `{"spindle-jobgraph":1}`, ErrEncoding, `no "graph"`},
		{"null graph", `{"spindle-jobgraph":1,"graph":null}`, ErrEncoding, `no "graph"`},
		{"unknown field", `{"spindle-jobgraph":1,"graph":{"vertices":[{"id":"a","operator":"a","parallelism":1,"chained":true}]}}`, ErrEncoding, `unknown field "chained"`},
		{"trailing data", `{"spindle-jobgraph":1,"graph":{}} {}`, ErrEncoding, "after top-level value"},
		{"unknown partitioner", `{"spindle-jobgraph":1,"graph":{"edges":[{"source":"a","target":"b","partitioner":"shuffle"}]}}`, ErrEncoding, `edge #0 has unknown partitioner "shuffle"`},
		{"unknown restart", `{"spindle-jobgraph":1,"graph":{"restart":{"kind":"sometimes"}}}`, ErrEncoding, `unknown restart strategy "sometimes"`},
		{"number overflow", `{"spindle-jobgraph":1,"graph":{"vertices":[{"id":"a","operator":"a","parallelism":1,"resources":{"vcores":4294967296}}]}}`, ErrEncoding, "cannot unmarshal number"},
		{"too big", `{"spindle-jobgraph":1,"graph":{"name":"` + strings.Repeat("x", MaxEncodedSize) + `"}}`, ErrEncoding, "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Decode([]byte(tt.in))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("Decode = %v, %v; want %v containing %q", g, err, tt.want, tt.substr)
			}
		})
	}
	var ve *VersionError
	if _, err := Decode([]byte(`{"spindle-jobgraph":3,"graph":{}}`)); !errors.As(err, &ve) || *ve != (VersionError{Version: 3, Max: 1}) {
		t.Errorf("Decode of version 3 = %v, want *VersionError{3, 1}", err)
	}
}

// FuzzDecode feeds Decode arbitrary bytes. It must never panic; whatever
// it accepts must encode again, decode to the same graph, and encode to
// the same bytes; and validation, regions and planning of it must not
// panic either.
func FuzzDecode(f *testing.F) {
	for _, g := range []*JobGraph{{}, chain(2), fullGraph(), {Restart: FixedDelay(1, time.Second)}} {
		b, err := Encode(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"spindle-jobgraph":2,"graph":{}}`))
	f.Add([]byte(`{"spindle-jobgraph":1,"graph":{"vertices":[{"id":"a","operator":"a","parallelism":1}],"edges":[{"source":"a","target":"a","partitioner":"hash"}]}}`))
	f.Add([]byte(`{"spindle-jobgraph":1,"graph":{"vertices":[{"id":"a\ud800","operator":"\u00e9","parallelism":2,"resources":{"custom":{"g":0,"":-1}}}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := Decode(in)
		if err != nil {
			if g != nil {
				t.Fatalf("Decode returned a graph and an error %v", err)
			}
			return
		}
		b, err := Encode(g)
		if err != nil {
			t.Fatalf("Encode of a decoded graph: %v", err)
		}
		g2, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode of a re-encoded graph: %v\n%s", err, b)
		}
		if diff := cmp.Diff(g, g2, equateGraphs...); diff != "" {
			t.Fatalf("re-decoded graph differs (-first +second):\n%s", diff)
		}
		if b2, err := Encode(g2); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encodings differ: %v\n%s\n%s", err, b, b2)
		}

		_ = g.Validate(map[string]bool{"a": true}, &TaskManagerSpec{Resources: Resources{MemoryMB: 4096, VCores: 4}, Slots: 2})
		// Planning is linear in subtasks; keep each execution quick.
		subtasks := 0
		for _, v := range g.Vertices {
			subtasks += max(0, min(v.Parallelism, MaxParallelism))
		}
		if subtasks > 5000 {
			return
		}
		if r, err := PipelinedRegions(g); err == nil {
			for _, reg := range r.List {
				for _, st := range reg.Subtasks {
					if got, ok := r.Of(st); !ok || got.ID != reg.ID {
						t.Fatalf("Of(%v) = %v, %v; want region %d", st, got, ok, reg.ID)
					}
				}
			}
		}
		if p, err := NewPlan(g, TaskManagerSpec{Resources: Resources{MemoryMB: 4096, VCores: 4}, Slots: 2}); err == nil {
			if p.Slots() == 0 && subtasks > 0 {
				t.Fatalf("a plan of %d subtasks has no slots", subtasks)
			}
		}
	})
}

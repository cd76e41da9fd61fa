package jobgraph

import (
	"fmt"
	"math"
	"strconv"
)

// DefaultSlotSharingGroup is the group of a vertex whose SlotSharingGroup
// is empty, as in Flink.
const DefaultSlotSharingGroup = "default"

// A JobGraph is one job: operators (vertices) connected by data exchanges
// (edges), with the configuration and restart strategy the JobManager runs
// it under. It is plain data: build it as a literal, check it with
// Validate, ship it with Encode, plan it with NewPlan.
type JobGraph struct {
	// ID identifies the job within its cluster (the runtime reports and
	// cancels jobs by it). Empty means the JobManager assigns one.
	ID string
	// Name is shown to people (the tracking UI, the client's progress).
	// Empty means the ID.
	Name string
	// Config is handed to every subtask as the job's configuration. Nil
	// means none.
	Config map[string]string
	// Restart says what the JobManager does when a subtask fails. The zero
	// value restarts nothing: the first failure fails the job.
	Restart RestartStrategy
	// Vertices in the order the caller gives; the order is kept by the
	// encoding and decides the order of slots in a plan.
	Vertices []Vertex
	// Edges connect vertices by ID. Their order is kept too: a subtask's
	// inputs and outputs are numbered in this order.
	Edges []Edge
}

// A Vertex is one operator of the job, run as Parallelism subtasks.
type Vertex struct {
	// ID names the vertex within the graph; edges refer to it. Required.
	ID string
	// Operator is the name the operator's function was registered under
	// in the binary; every container of the deployment runs the same
	// binary, so any of them can run any vertex. Required.
	Operator string
	// Parallelism is the number of subtasks; at least 1.
	Parallelism int
	// Resources one subtask needs. The zero value declares no need: the
	// subtask runs on whatever its slot has, and only the slot count
	// limits how many share a TaskManager.
	Resources Resources
	// SlotSharingGroup names the group whose subtasks may share slots: a
	// slot holds at most one subtask of each vertex of its group. Empty
	// means DefaultSlotSharingGroup.
	SlotSharingGroup string
	// Config is handed to this vertex's subtasks, beside the job's. Nil
	// means none.
	Config map[string]string
}

// Group returns the vertex's slot-sharing group, with the default filled
// in.
func (v *Vertex) Group() string {
	if v.SlotSharingGroup == "" {
		return DefaultSlotSharingGroup
	}
	return v.SlotSharingGroup
}

// An Edge is a pipelined data exchange from every subtask of Source to the
// subtasks of Target that its Partitioner chooses.
type Edge struct {
	// Source and Target are vertex IDs.
	Source, Target string
	// Partitioner decides which target subtasks receive a record. The zero
	// value is PartitionForward.
	Partitioner Partitioner
}

// A Partitioner decides where the records of an edge go.
type Partitioner uint8

const (
	// PartitionForward sends subtask i's records to target subtask i only.
	// Both ends must have the same parallelism; the planner puts them in
	// the same slot (same group) or the same TaskManager when it can, so
	// the exchange stays local.
	PartitionForward Partitioner = iota
	// PartitionHash sends each record to the target subtask its key hashes
	// to (SubtaskForKey), so all records of one key meet in one subtask.
	PartitionHash
	// PartitionRebalance sends records round-robin over all target
	// subtasks, evening out skew.
	PartitionRebalance
	// PartitionBroadcast sends every record to every target subtask.
	PartitionBroadcast
)

var partitionerNames = [...]string{"forward", "hash", "rebalance", "broadcast"}

// String returns the partitioner's name as the encoding spells it
// ("forward", "hash", "rebalance", "broadcast").
func (p Partitioner) String() string {
	if int(p) < len(partitionerNames) {
		return partitionerNames[p]
	}
	return "Partitioner(" + strconv.Itoa(int(p)) + ")"
}

// pointwise reports whether subtask i of the source feeds only subtask i
// of the target; every other partitioner connects all to all.
func (p Partitioner) pointwise() bool { return p == PartitionForward }

func parsePartitioner(s string) (Partitioner, bool) {
	for i, n := range partitionerNames {
		if n == s {
			return Partitioner(i), true
		}
	}
	return 0, false
}

// Resources is an amount of each resource type. It has the shape of
// yarn.Resource on purpose (modes converts one into the other field by
// field) but is its own type so that this package stays free of I/O
// packages and can be imported by anything that only builds graphs.
// The zero value is "nothing".
type Resources struct {
	// MemoryMB is memory in mebibytes.
	MemoryMB int64
	// VCores is virtual cores.
	VCores int32
	// Custom holds custom resource types by YARN name, e.g.
	// "yarn.io/gpu": 1. Nil means none; a zero amount is the same as an
	// absent one.
	Custom map[string]int64
}

// add sums two non-negative amounts, saturating instead of wrapping so
// that a graph with absurd amounts can never appear to fit.
func (r Resources) add(o Resources) Resources {
	s := Resources{MemoryMB: addSat(r.MemoryMB, o.MemoryMB), VCores: int32(min(addSat(int64(r.VCores), int64(o.VCores)), math.MaxInt32))}
	for k, v := range r.Custom {
		s.setCustom(k, v)
	}
	for k, v := range o.Custom {
		s.setCustom(k, addSat(s.Custom[k], v))
	}
	return s
}

func addSat(a, b int64) int64 {
	if a > 0 && b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// invalid reports a negative amount or an unnamed custom type.
func (r Resources) invalid() bool {
	if r.MemoryMB < 0 || r.VCores < 0 {
		return true
	}
	for k, v := range r.Custom {
		if v < 0 || k == "" {
			return true
		}
	}
	return false
}

func (r *Resources) setCustom(k string, v int64) {
	if v == 0 {
		delete(r.Custom, k)
		return
	}
	if r.Custom == nil {
		r.Custom = make(map[string]int64)
	}
	r.Custom[k] = v
}

// shortOf returns the resource types in which r exceeds capacity, in a
// fixed order (memory, vcores, then custom types by name).
func (r Resources) shortOf(capacity Resources) []string {
	var short []string
	if r.MemoryMB > capacity.MemoryMB {
		short = append(short, "memory")
	}
	if r.VCores > capacity.VCores {
		short = append(short, "vcores")
	}
	for _, k := range sortedKeys(r.Custom) {
		if r.Custom[k] > capacity.Custom[k] {
			short = append(short, k)
		}
	}
	return short
}

func (r Resources) fits(capacity Resources) bool { return len(r.shortOf(capacity)) == 0 }

// String formats r as "2048MB 2vcores yarn.io/gpu=1", custom types sorted.
func (r Resources) String() string {
	s := strconv.FormatInt(r.MemoryMB, 10) + "MB " + strconv.FormatInt(int64(r.VCores), 10) + "vcores"
	for _, k := range sortedKeys(r.Custom) {
		if r.Custom[k] != 0 {
			s += " " + k + "=" + strconv.FormatInt(r.Custom[k], 10)
		}
	}
	return s
}

// A Subtask is one parallel instance of a vertex: Index runs from 0 to the
// vertex's parallelism minus one.
type Subtask struct {
	Vertex string
	Index  int
}

// String formats s as "vertex[index]".
func (s Subtask) String() string { return fmt.Sprintf("%s[%d]", s.Vertex, s.Index) }

// Vertex returns the vertex with the given ID, or nil.
func (g *JobGraph) Vertex(id string) *Vertex {
	for i := range g.Vertices {
		if g.Vertices[i].ID == id {
			return &g.Vertices[i]
		}
	}
	return nil
}

// Inputs returns the indexes in g.Edges of the edges into vertex id, in
// edge order: a subtask's input i is the edge Edges[Inputs(id)[i]].
func (g *JobGraph) Inputs(id string) []int {
	var in []int
	for i, e := range g.Edges {
		if e.Target == id {
			in = append(in, i)
		}
	}
	return in
}

// Outputs returns the indexes in g.Edges of the edges out of vertex id, in
// edge order.
func (g *JobGraph) Outputs(id string) []int {
	var out []int
	for i, e := range g.Edges {
		if e.Source == id {
			out = append(out, i)
		}
	}
	return out
}

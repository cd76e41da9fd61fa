package jobgraph

// A Region is a pipelined region: subtasks joined, directly or through
// others, by pipelined exchanges. Records flow between them while they
// all run, so when one fails the others cannot go on alone; the
// JobManager restarts the failed subtask's whole region and leaves the
// others running. Every edge in a job graph is pipelined, so the regions
// are the connected components of the subtask graph: a forward edge joins
// subtask i of its source to subtask i of its target, every other
// partitioner joins all subtasks of both ends.
type Region struct {
	// ID is the region's position in Regions.List.
	ID int
	// Subtasks in vertex order, then by index.
	Subtasks []Subtask
}

// Regions are the pipelined regions of a graph.
type Regions struct {
	// List holds the regions ordered by their first subtask (vertex order,
	// then index).
	List []Region

	of map[Subtask]int
}

// Of returns the region subtask s belongs to, and false when the graph has
// no such subtask.
func (r *Regions) Of(s Subtask) (*Region, bool) {
	id, ok := r.of[s]
	if !ok {
		return nil, false
	}
	return &r.List[id], true
}

// PipelinedRegions returns g's pipelined regions. It validates g's
// structure first (not the operator names) and returns the same errors as
// Validate.
func PipelinedRegions(g *JobGraph) (*Regions, error) {
	if err := joinErrors(g.check(nil, false, nil)); err != nil {
		return nil, err
	}
	// One union-find node per subtask; vertex v's subtasks start at
	// first[v].
	first := make([]int, len(g.Vertices)+1)
	index := make(map[string]int, len(g.Vertices))
	for i, v := range g.Vertices {
		first[i+1] = first[i] + v.Parallelism
		index[v.ID] = i
	}
	parent := make([]int, first[len(g.Vertices)])
	for i := range parent {
		parent[i] = i
	}
	find := func(k int) int {
		for parent[k] != k {
			parent[k] = parent[parent[k]]
			k = parent[k]
		}
		return k
	}
	// The smaller node stays root, so a region's root is its first subtask.
	union := func(a, b int) {
		a, b = find(a), find(b)
		parent[max(a, b)] = min(a, b)
	}
	for _, e := range g.Edges {
		s, t := index[e.Source], index[e.Target]
		if e.Partitioner.pointwise() {
			for i := range g.Vertices[s].Parallelism {
				union(first[s]+i, first[t]+i)
			}
			continue
		}
		// All to all: tie every subtask of both ends to the source's first.
		for k := first[s] + 1; k < first[s+1]; k++ {
			union(first[s], k)
		}
		for k := first[t]; k < first[t+1]; k++ {
			union(first[s], k)
		}
	}

	r := &Regions{of: make(map[Subtask]int, len(parent))}
	regionOfRoot := make(map[int]int)
	for vi, v := range g.Vertices {
		for i := range v.Parallelism {
			root := find(first[vi] + i)
			id, ok := regionOfRoot[root]
			if !ok {
				id = len(r.List)
				regionOfRoot[root] = id
				r.List = append(r.List, Region{ID: id})
			}
			st := Subtask{Vertex: v.ID, Index: i}
			r.List[id].Subtasks = append(r.List[id].Subtasks, st)
			r.of[st] = id
		}
	}
	return r, nil
}

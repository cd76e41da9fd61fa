package jobgraph_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
)

// The lifecycle of a word count's graph: build, validate against the
// binary's operators, encode for Per-Job shipping, decode on the
// JobManager, plan into TaskManagers, and find the regions to restart.
func Example() {
	g := &jobgraph.JobGraph{
		ID:      "wordcount",
		Restart: jobgraph.FixedDelay(3, time.Second),
		Vertices: []jobgraph.Vertex{
			{ID: "read", Operator: "hdfs-text-source", Parallelism: 2, Resources: jobgraph.Resources{MemoryMB: 256, VCores: 1}},
			{ID: "count", Operator: "count-words", Parallelism: 2, Resources: jobgraph.Resources{MemoryMB: 512, VCores: 1}},
			{ID: "write", Operator: "hdfs-text-sink", Parallelism: 2, Resources: jobgraph.Resources{MemoryMB: 256}},
		},
		Edges: []jobgraph.Edge{
			{Source: "read", Target: "count", Partitioner: jobgraph.PartitionHash},
			{Source: "count", Target: "write", Partitioner: jobgraph.PartitionForward},
		},
	}
	registered := map[string]bool{"hdfs-text-source": true, "count-words": true, "hdfs-text-sink": true}
	spec := jobgraph.TaskManagerSpec{Resources: jobgraph.Resources{MemoryMB: 2048, VCores: 4}, Slots: 2}
	if err := g.Validate(registered, &spec); err != nil {
		fmt.Println(err)
		return
	}

	b, err := jobgraph.Encode(g)
	if err != nil {
		fmt.Println(err)
		return
	}
	shipped, err := jobgraph.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}

	plan, err := jobgraph.NewPlan(shipped, spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(plan)
	slot, _ := plan.Locate(jobgraph.Subtask{Vertex: "count", Index: 1})
	fmt.Printf("count[1] runs in taskmanager %d, slot %d\n", slot.TaskManager, slot.Slot)

	regions, err := jobgraph.PipelinedRegions(shipped)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d pipelined region(s): the hash edge joins every subtask\n", len(regions.List))

	// A mistake names its vertex and says what to do.
	g.Vertices[1].Operator = "count-wrods"
	var ve *jobgraph.VertexError
	if err := g.Validate(registered, nil); errors.As(err, &ve) && errors.Is(err, jobgraph.ErrUnknownOperator) {
		fmt.Println("unknown operator in vertex", ve.Vertex)
	}
	// Output:
	// TaskManagers: 1 of 2048MB 4vcores, 2 slots each; slots used: 2
	// taskmanager 0: 2/2 slots, uses 2048MB 4vcores
	//   slot 0: group "default" slot 0, needs 1024MB 2vcores: read[0] count[0] write[0]
	//   slot 1: group "default" slot 1, needs 1024MB 2vcores: read[1] count[1] write[1]
	// count[1] runs in taskmanager 0, slot 1
	// 1 pipelined region(s): the hash edge joins every subtask
	// unknown operator in vertex count
}

package hdfstext_test

import (
	"fmt"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/hdfstext"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// A job copying the lines of hdfs:///logs to part files in hdfs:///copy:
// the built-in source and sink joined by a forward edge. A client calls
// hdfstext.CheckOutput on the output before it submits the job.
func ExampleSource() {
	g := &jobgraph.JobGraph{
		Name: "copy",
		Vertices: []jobgraph.Vertex{
			hdfstext.Source("read", "hdfs:///logs", 2),
			hdfstext.Sink("write", "hdfs:///copy", 2),
		},
		Edges: []jobgraph.Edge{{Source: "read", Target: "write", Partitioner: jobgraph.PartitionForward}},
	}
	fmt.Println(g.Validate(operator.Names(), nil))
	for _, v := range g.Vertices {
		fmt.Println(v.ID, v.Operator, v.Config)
	}
	// Output:
	// <nil>
	// read spindle.hdfs.text-source map[input:hdfs:///logs]
	// write spindle.hdfs.text-sink map[output:hdfs:///copy]
}

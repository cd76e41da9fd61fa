// Command badgraph is a Spindle program for the bad-input tests
// (integration/badinput_test.go): -graph chooses the job graph its main
// builds, a broken one or a good one.
//
//	badgraph run -t yarn-application|yarn-per-job -graph empty|cycle|unknown-operator|forward-parallelism|ok
//
// In Per-Job mode the client validates the graph before anything is
// staged; in Application mode main runs in the JobManager, whose
// validation fails the application with the error in its diagnostics.
// "ok" is one subtask that does nothing, for the cases that need an
// application that ended.
package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/modes/operator"
)

const noop = "badgraph.noop"

func init() {
	operator.Register(noop, func(ctx context.Context, t *operator.Task) error { return nil })
}

// graphs are the graphs -graph names.
var graphs = map[string]func() *jobgraph.JobGraph{
	"empty": func() *jobgraph.JobGraph { return &jobgraph.JobGraph{Name: "empty"} },
	"cycle": func() *jobgraph.JobGraph {
		return &jobgraph.JobGraph{Name: "cycle",
			Vertices: []jobgraph.Vertex{{ID: "a", Operator: noop}, {ID: "b", Operator: noop}},
			Edges:    []jobgraph.Edge{{Source: "a", Target: "b"}, {Source: "b", Target: "a"}}}
	},
	"unknown-operator": func() *jobgraph.JobGraph {
		return &jobgraph.JobGraph{Name: "unknown-operator",
			Vertices: []jobgraph.Vertex{{ID: "a", Operator: "badgraph.nosuch"}}}
	},
	"forward-parallelism": func() *jobgraph.JobGraph {
		return &jobgraph.JobGraph{Name: "forward-parallelism",
			Vertices: []jobgraph.Vertex{{ID: "a", Operator: noop, Parallelism: 2}, {ID: "b", Operator: noop, Parallelism: 3}},
			Edges:    []jobgraph.Edge{{Source: "a", Target: "b", Partitioner: jobgraph.PartitionForward}}}
	},
	"ok": func() *jobgraph.JobGraph {
		return &jobgraph.JobGraph{Name: "ok", Vertices: []jobgraph.Vertex{{ID: "a", Operator: noop, Parallelism: 1}}}
	},
}

func main() {
	var which string
	modes.Main(modes.Program{
		Name: "badgraph",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&which, "graph", "ok", "the graph: empty, cycle, unknown-operator, forward-parallelism or ok")
		},
		Main: func(ctx context.Context, env *modes.Env) error {
			g, ok := graphs[which]
			if !ok {
				return fmt.Errorf("-graph %q: use empty, cycle, unknown-operator, forward-parallelism or ok", which)
			}
			_, err := env.Execute(ctx, g())
			return err
		},
	})
}

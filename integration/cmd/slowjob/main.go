// Command slowjob is a Spindle program for the tests of the commands
// besides run (list, cancel, stop, logs): its one job never ends on its
// own. Its only operator blocks until its subtask is cancelled, and the
// job restarts nothing, so a cancel ends it at once.
//
//	slowjob run -t yarn-application|yarn-per-job -d [-parallelism N]
//
// In Application mode main returns the cancelled job's error, so the
// application ends FAILED.
package main

import (
	"context"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// blockOperator waits for its cancellation.
const blockOperator = "slowjob.block"

func init() {
	operator.Register(blockOperator, func(ctx context.Context, t *operator.Task) error {
		<-ctx.Done()
		return ctx.Err()
	})
}

func main() {
	modes.Main(modes.Program{
		Name: "slowjob",
		Main: func(ctx context.Context, env *modes.Env) error {
			env.Logger().Info("slowjob: submitting the job that blocks until cancelled")
			_, err := env.Execute(ctx, &jobgraph.JobGraph{
				Name:     "slowjob",
				Vertices: []jobgraph.Vertex{{ID: "block", Operator: blockOperator}},
			})
			return err
		},
	})
}

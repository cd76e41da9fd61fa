// Command launcher manages Spindle applications without being one: it
// holds no program's operators, so it runs no jobs, but it lists, follows,
// cancels, stops and reads the logs of the applications any Spindle
// program deployed, as every program's own binary can:
//
//	launcher list [-all]
//	launcher attach -id APPID
//	launcher cancel -id APPID [-job JOBID]
//	launcher stop -id APPID
//	launcher logs -id APPID
//
// With HADOOP_CONF_DIR set, as the programs run. cancel (and stop's
// cancelling of the jobs first) needs the deployment's secret, which only
// the machine that submitted the application holds, in
// ~/.spindle/applications/<appid>.json ($SPINDLE_HOME replaces
// ~/.spindle).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/modes"
)

// errNoJobs is Main's error: the launcher has no job to run.
var errNoJobs = errors.New("launcher runs no jobs; use a program's binary for run")

func main() {
	// run would stage this binary only for its Main to fail in the
	// ApplicationMaster: refuse it here. YARN starts the containers of a
	// deployment without arguments, so this is the client.
	if len(os.Args) > 1 && os.Args[1] == "run" {
		fmt.Fprintln(os.Stderr, "launcher:", errNoJobs)
		os.Exit(2)
	}
	modes.Main(modes.Program{
		Name: "launcher",
		Main: func(context.Context, *modes.Env) error { return errNoJobs },
	})
}

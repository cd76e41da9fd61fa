// Command launcher manages Spindle applications without being one: it
// holds no program's operators, so it runs no jobs, but it lists, follows,
// cancels, stops and reads the logs of the applications any Spindle
// program deployed, and lists and stops their sessions, as every
// program's own binary can:
//
//	launcher list [-all]
//	launcher attach -id APPID
//	launcher jobs -id APPID | -session NAME|APPID
//	launcher cancel -id APPID | -session NAME|APPID [-job JOBID]
//	launcher stop -id APPID
//	launcher logs -id APPID
//	launcher session list
//	launcher session stop -name NAME | -id APPID
//
// With HADOOP_CONF_DIR set, as the programs run. -session finds a running
// session by its name (its application tag) or its application id. jobs
// lists an application's jobs: id, name, state, attempt, subtasks running,
// finished and in all, when it started, how long it ran, and a failed
// job's root cause.
//
// jobs, cancel (and stop's cancelling of the jobs first) speak to the
// application's JobManager. That needs the deployment's secret, which only
// the machine that submitted the application holds, in
// ~/.spindle/applications/<appid>.json ($SPINDLE_HOME replaces
// ~/.spindle); or, on a Kerberos cluster, the ClientToAMToken the
// ResourceManager gives users with VIEW access to the application, with
// which its owner (and its MODIFY_APP ACL) may also cancel and stop. Without
// either, stop kills the application through the ResourceManager.
//
// launcher run and launcher session start are refused: a deployment of
// this binary could run no job.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/modes"
)

// errNoJobs is Main's error: the launcher has no job to run.
var errNoJobs = errors.New("launcher runs no jobs; use a program's binary for run and session start")

func main() {
	// run, or a session, would stage this binary only for it to run no job
	// in the cluster: refuse them here. YARN starts the containers of a
	// deployment without arguments, so this is the client.
	if a := os.Args[1:]; len(a) > 0 && (a[0] == "run" || len(a) > 1 && a[0] == "session" && a[1] == "start") {
		fmt.Fprintln(os.Stderr, "launcher:", errNoJobs)
		os.Exit(2)
	}
	modes.Main(modes.Program{
		Name: "launcher",
		Main: func(context.Context, *modes.Env) error { return errNoJobs },
	})
}

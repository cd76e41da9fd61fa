// Command launcher manages Spindle applications without being one: it
// holds no program's operators, so it runs no jobs itself, but it lists,
// follows, cancels, stops and reads the logs of the applications any
// Spindle program deployed, and starts, lists and stops sessions, as
// every program's own binary can:
//
//	launcher list [-all]
//	launcher attach -id APPID
//	launcher jobs -id APPID | -session NAME|APPID
//	launcher cancel -id APPID | -session NAME|APPID [-job JOBID]
//	launcher stop -id APPID
//	launcher logs -id APPID
//	launcher session start -name NAME [-d] [-min-taskmanagers N] [-max-taskmanagers N]
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
// A session the launcher starts is a generic one, like Flink's
// yarn-session.sh: any program submits its jobs to it (`PROGRAM run -t
// yarn-session -session NAME`) and, its binary not being the session's,
// ships it with the job; the job's TaskManagers fetch it and become it.
// The launcher's JobManager splits and commits the built-in HDFS text
// source and sink (package hdfstext); a job whose own operators split or
// commit in the JobManager needs a session of its own program.
//
// launcher run is refused: a deployment of this binary alone runs no job.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/modes"
	// The built-in HDFS text source and sink split and commit in a
	// session's JobManager: a launcher session runs other programs' jobs
	// that use them.
	_ "github.com/spindle-yarn/spindle/modes/hdfstext"
)

// errNoJobs is Main's error: the launcher has no job to run.
var errNoJobs = errors.New("launcher runs no jobs of its own; use a program's binary for run (or submit it to a launcher session with -t yarn-session)")

func main() {
	// run would stage this binary only for it to run no job in the
	// cluster: refuse it here. YARN starts the containers of a deployment
	// without arguments, so this is the client.
	if a := os.Args[1:]; len(a) > 0 && a[0] == "run" {
		fmt.Fprintln(os.Stderr, "launcher:", errNoJobs)
		os.Exit(2)
	}
	modes.Main(modes.Program{
		Name: "launcher",
		Main: func(context.Context, *modes.Env) error { return errNoJobs },
	})
}

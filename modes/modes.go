package modes

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/cli"
	"github.com/spindle-yarn/spindle/modes/internal/cluster"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// A Program is a Go program that deploys itself onto YARN.
type Program struct {
	// Name is the command's name in usage text. Empty means the
	// executable's base name.
	Name string
	// Flags registers the program's own flags, parsed in one pass with the
	// run command's (-t, -d, -queue, ...), in the client and, in
	// Application mode, again in the JobManager.
	Flags func(fs *flag.FlagSet)
	// Main builds the program's jobs and runs them with env.Execute. It
	// runs in the client (Per-Job mode) or in the ApplicationMaster
	// (Application mode). Required.
	Main func(ctx context.Context, env *Env) error
	// Stdout and Stderr of the client; nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer

	// guarded: this process is the program's own binary, which Main
	// runs, so it can start itself as a deployment's guard (guard.go).
	guarded bool
}

// Result is the outcome of a job.
type Result struct {
	JobID string `json:"job_id"`
	Name  string `json:"name"`
	// State is "finished", "failed" or "canceled".
	State    string           `json:"state"`
	Attempts int              `json:"attempts"`
	Counters map[string]int64 `json:"counters,omitempty"`
	// RootCause says where and why a failed job failed.
	RootCause string        `json:"root_cause,omitempty"`
	Duration  time.Duration `json:"duration"`
}

// Env is what a program's Main gets: where it runs and how to run jobs.
type Env struct {
	parallelism int
	inCluster   bool
	log         *slog.Logger
	exec        func(ctx context.Context, g *jobgraph.JobGraph) (*Result, error)
	results     []*Result
}

// Parallelism is the default parallelism (-parallelism): Execute gives it
// to vertices whose Parallelism is 0.
func (e *Env) Parallelism() int { return e.parallelism }

// InCluster reports whether Main runs in the ApplicationMaster.
func (e *Env) InCluster() bool { return e.inCluster }

// Logger is the program's logger: the client's stderr, or the
// ApplicationMaster's log.
func (e *Env) Logger() *slog.Logger { return e.log }

// Execute runs the job g to its end and returns its result; a job that
// did not finish returns its result and a *JobError.
func (e *Env) Execute(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
	gg := *g
	gg.Vertices = append([]jobgraph.Vertex(nil), g.Vertices...)
	for i := range gg.Vertices {
		if gg.Vertices[i].Parallelism == 0 {
			gg.Vertices[i].Parallelism = e.parallelism
		}
	}
	r, err := e.exec(ctx, &gg)
	if r != nil {
		e.results = append(e.results, r)
	}
	return r, err
}

// JobError is the error of a job that failed or was cancelled.
type JobError struct{ Result *Result }

func (e *JobError) Error() string {
	if e.Result.RootCause != "" {
		return fmt.Sprintf("job %s %s after %d attempt(s): %s", e.Result.JobID, e.Result.State, e.Result.Attempts, e.Result.RootCause)
	}
	return fmt.Sprintf("job %s %s after %d attempt(s)", e.Result.JobID, e.Result.State, e.Result.Attempts)
}

// Main runs p in the role YARN started this process in (JobManager or
// TaskManager), or as the client when started by a user, and exits with
// the outcome: 0 only when every job succeeded.
func Main(p Program) {
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	if p.Name == "" {
		p.Name = filepath.Base(os.Args[0])
	}
	p.guarded = true
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, p, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, p Program, args []string) int {
	switch os.Getenv(launch.EnvRole) {
	case launch.RoleTaskManager:
		log := containerLogger()
		if err := cluster.RunTaskManager(ctx, log); err != nil {
			log.Error("TaskManager failed", "err", err)
			fmt.Fprintln(os.Stderr, "taskmanager:", err)
			return 1
		}
		return 0
	case launch.RoleJobManager:
		return runJobManager(ctx, p, containerLogger())
	case launch.RoleGuard:
		return runGuard(p)
	}
	return runClient(ctx, p, args)
}

func containerLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// resultMarker starts the line of the final diagnostics that carries the
// jobs' results as JSON, for the client.
const resultMarker = "spindle-results: "

// runJobManager is the ApplicationMaster.
func runJobManager(ctx context.Context, p Program, log *slog.Logger) int {
	am, err := cluster.StartAppMaster(ctx, log)
	if err != nil {
		log.Error("starting the ApplicationMaster", "err", err)
		fmt.Fprintln(os.Stderr, "jobmanager:", err)
		return 1
	}
	env := &Env{parallelism: max(am.Spec.Parallelism, 1), inCluster: true, log: log,
		exec: func(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
			r, err := am.JM.Run(ctx, g)
			var res *Result
			if r != nil {
				res = &Result{JobID: r.JobID, Name: r.Name, State: r.State, Attempts: r.Attempts, Counters: r.Counters,
					RootCause: r.RootCause, Duration: r.Duration}
			}
			var je *jobmanager.JobError
			if errors.As(err, &je) {
				err = &JobError{Result: res}
			}
			return res, err
		}}
	// A client may stop the deployment (stop -status, session stop): its
	// jobs are cancelled and main's context ends; the application then
	// ends with the final status asked for.
	mctx, cancelMain := context.WithCancel(ctx)
	defer cancelMain()
	go func() {
		select {
		case <-am.StopRequested:
			cancelMain()
		case <-mctx.Done():
		}
	}()
	ctx = mctx
	var mainErr error
	switch am.Spec.Mode {
	case launch.ModeApplication:
		fs := flag.NewFlagSet(p.Name+" run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cli.NewRunFlags(fs)
		if p.Flags != nil {
			p.Flags(fs)
		}
		if err := fs.Parse(am.Spec.Args); err != nil {
			mainErr = fmt.Errorf("parsing the program's arguments in the JobManager: %w", err)
			break
		}
		mainErr = callMain(ctx, p, env)
	case launch.ModePerJob:
		b, err := os.ReadFile(launch.GraphResource)
		if err != nil {
			mainErr = fmt.Errorf("reading the shipped job graph: %w", err)
			break
		}
		g, err := jobgraph.Decode(b)
		if err != nil {
			mainErr = fmt.Errorf("decoding the shipped job graph: %w", err)
			break
		}
		_, mainErr = env.Execute(ctx, g)
	case launch.ModeSession:
		mainErr = runSession(ctx, am, log)
	default:
		mainErr = fmt.Errorf("mode %q is not supported by this binary", am.Spec.Mode)
	}
	status := yarn.FinalSucceeded
	var diag strings.Builder
	if mainErr != nil {
		status = yarn.FinalFailed
		fmt.Fprintf(&diag, "%v\n", mainErr)
	}
	select {
	case <-am.StopRequested:
		if am.Spec.Mode != launch.ModeSession || am.StopStatus != yarn.FinalKilled {
			status = am.StopStatus
		}
		if am.StopReason != "" {
			fmt.Fprintf(&diag, "%s\n", am.StopReason)
		} else {
			fmt.Fprintf(&diag, "stopped by a client with final status %s\n", am.StopStatus)
		}
	default:
	}
	if am.Spec.Mode == launch.ModeSession {
		jobs := am.JM.Jobs()
		fmt.Fprintf(&diag, "session %s stopped after %d job(s)\n", am.Spec.Session.Name, len(jobs))
		for _, j := range jobs {
			fmt.Fprintf(&diag, "job %s (%s) %s\n", j.ID, j.Name, j.State)
		}
	}
	for _, r := range env.results {
		fmt.Fprintf(&diag, "job %s (%s) %s in %s after %d attempt(s)\n", r.JobID, r.Name, r.State, r.Duration.Round(time.Millisecond), r.Attempts)
	}
	if b, err := json.Marshal(env.results); err == nil && len(env.results) > 0 {
		diag.WriteString(resultMarker + string(b))
	}
	log.Info("program ended", "status", status, "err", mainErr)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := am.Finish(fctx, status, diag.String()); err != nil {
		return 1
	}
	if mainErr != nil {
		return 1
	}
	return 0
}

// callMain runs p.Main, turning a panic into an error.
func callMain(ctx context.Context, p Program, env *Env) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the program's main panicked: %v", r)
		}
	}()
	return p.Main(ctx, env)
}

// resultsFromDiagnostics reads the jobs' results the JobManager put in the
// application's final diagnostics.
func resultsFromDiagnostics(diag string) []*Result {
	i := strings.LastIndex(diag, resultMarker)
	if i < 0 {
		return nil
	}
	var rs []*Result
	if json.Unmarshal([]byte(strings.TrimSpace(diag[i+len(resultMarker):])), &rs) != nil {
		return nil
	}
	return rs
}

// runSession serves the session until a client stops it or ctx ends, and
// lets the jobs it cancelled wind down.
func runSession(ctx context.Context, am *cluster.AppMaster, log *slog.Logger) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-am.StopRequested:
			log.Info("a client stopped the session")
		case <-sctx.Done():
		}
		cancel()
	}()
	err := am.JM.RunSession(sctx)
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer wcancel()
	am.JM.WaitJobs(wctx)
	return err
}

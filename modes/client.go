package modes

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/cli"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/operator"
	"github.com/spindle-yarn/spindle/yarn"
)

// runClient is the program started by a user: `NAME run -t ... [flags]`.
func runClient(ctx context.Context, p Program, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprintf(p.Stderr, "usage: %s run -t yarn-application|yarn-per-job [-d] [flags]\n       %s run -h   lists the flags\n", p.Name, p.Name)
		fmt.Fprint(p.Stderr, commandsUsage(p.Name))
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if isCommand(args[0]) {
		return runCommand(ctx, p, args)
	}
	if args[0] == "session" {
		return runSessionCommand(ctx, p, args[1:])
	}
	if args[0] != "run" {
		fmt.Fprintf(p.Stderr, "%s: unknown command %q; the commands are run, list, attach, jobs, cancel, stop, logs and session (e.g. %s run -t yarn-application ...)\n", p.Name, args[0], p.Name)
		return 2
	}
	fs := flag.NewFlagSet(p.Name+" run", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	rf := cli.NewRunFlags(fs)
	if p.Flags != nil {
		p.Flags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := rf.Validate(); err != nil {
		fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(p.Stderr, "%s: unexpected argument %q: every option is a flag (see %s run -h)\n", p.Name, fs.Arg(0), p.Name)
		return 2
	}
	if rf.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rf.Timeout)
		defer cancel()
	}
	var log *slog.Logger
	if rf.Verbose {
		log = slog.New(slog.NewTextHandler(p.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	user, id, err := deploy.Login(ctx, "", rf.Keytab, rf.Principal)
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
		return 1
	}
	if id != nil {
		defer id.Close()
	}
	req := deploy.Request{
		Mode: rf.Mode(), Name: rf.Name, Queue: rf.Queue, NodeLabel: rf.NodeLabel, Tags: rf.Tags,
		AMResource: yarn.Resource{MemoryMB: rf.JobManagerMemoryMB, VCores: 1},
		TaskManager: launch.TaskManagerSpec{MemoryMB: rf.TaskManagerMemoryMB, VCores: int32(rf.TaskManagerVCores),
			Slots: rf.Slots, NodeLabel: rf.NodeLabel},
		Parallelism: rf.Parallelism, Ship: rf.Ship, Config: rf.Config, KeepStaging: rf.KeepStaging,
		Identity: id, User: user, ProxyUser: rf.ProxyUser, Logger: log, ACLs: rf.ACLs(), RMToken: rf.RMToken, AccessFS: rf.AccessFS,
	}
	if rf.ShipKeytab {
		req.ShipKeytab, req.ShipPrincipal = rf.Keytab, rf.Principal
	}
	if !rf.Detached && req.Mode != launch.ModeSession {
		// An attached deployment ends with its client, even a killed one.
		if req.ClientLease, err = deploy.ClientLeaseFrom(rf.Config); err != nil {
			fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
			return 2
		}
	}
	if req.Name == "" {
		req.Name = p.Name
	}
	c := &client{p: p, rf: rf, req: req}
	switch req.Mode {
	case launch.ModeApplication:
		req.Args = args[1:]
		_, ok := c.deployAndFollow(ctx, req)
		if !ok {
			return 1
		}
		return 0
	case launch.ModeSession:
		env := &Env{parallelism: rf.Parallelism, log: slog.New(slog.NewTextHandler(p.Stderr, nil)), exec: c.sessionSubmit}
		if err := callMain(ctx, p, env); err != nil {
			fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
			return 1
		}
		return 0
	case launch.ModePerJob:
		env := &Env{parallelism: rf.Parallelism, log: slog.New(slog.NewTextHandler(p.Stderr, nil)), exec: c.perJob}
		if err := callMain(ctx, p, env); err != nil {
			fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(p.Stderr, "%s: mode %q is not supported yet\n", p.Name, req.Mode)
	return 2
}

type client struct {
	p   Program
	rf  *cli.RunFlags
	req deploy.Request
}

// deployAndFollow submits req and, attached, follows it to its end; it
// returns the jobs' results and whether the application succeeded.
// Detached, it prints the application id on a line of its own.
func (c *client) deployAndFollow(ctx context.Context, req deploy.Request) ([]*Result, bool) {
	d, err := deployGuarded(ctx, c.p, req, c.rf.Keytab, c.rf.Principal)
	if err != nil {
		fmt.Fprintf(c.p.Stderr, "%s: %v\n", c.p.Name, err)
		return nil, false
	}
	defer d.Close()
	saveRecord(c.p, d, req)
	if c.rf.Detached {
		fmt.Fprintln(c.p.Stdout, d.ID.String())
		fmt.Fprintf(c.p.Stderr, "submitted %s detached; follow it with `%s attach -id %s`, stop it with `%s stop -id %s`\n", d.ID, c.p.Name, d.ID, c.p.Name, d.ID)
		return nil, true
	}
	fmt.Fprintf(c.p.Stdout, "submitted %s\n", d.ID)
	r, err := d.Follow(ctx, &diagFilter{w: c.p.Stdout})
	if r.State.IsFinal() {
		forgetRecord(c.p, d.ID.String())
	}
	if err != nil {
		fmt.Fprintf(c.p.Stderr, "%s: %v\n", c.p.Name, err)
		return nil, false
	}
	results := resultsFromDiagnostics(r.Diagnostics)
	for _, res := range results {
		printResult(c.p.Stdout, res)
	}
	return results, r.State == yarn.ApplicationFinished && r.FinalStatus == yarn.FinalSucceeded
}

// perJob runs one job in a cluster of its own (Per-Job mode).
func (c *client) perJob(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
	if err := g.Validate(operator.Names(), nil); err != nil {
		return nil, err
	}
	b, err := jobgraph.Encode(g)
	if err != nil {
		return nil, err
	}
	req := c.req
	req.Graph = b
	results, ok := c.deployAndFollow(ctx, req)
	if c.rf.Detached {
		if !ok {
			return nil, errors.New("the deployment failed")
		}
		return &Result{JobID: g.ID, Name: g.Name, State: "submitted"}, nil
	}
	if len(results) == 0 {
		if ok {
			return nil, errors.New("the application succeeded but reported no job result")
		}
		return nil, errors.New("the application failed before the job ran (see its diagnostics above)")
	}
	r := results[len(results)-1]
	if r.State != jobmanager.StateFinished || !ok {
		return r, &JobError{Result: r}
	}
	return r, nil
}

func printResult(w io.Writer, r *Result) {
	fmt.Fprintf(w, "job %s %s in %s (%d attempt(s))\n", r.JobID, r.State, r.Duration.Round(time.Millisecond), r.Attempts)
	if r.RootCause != "" {
		fmt.Fprintf(w, "root cause: %s\n", r.RootCause)
	}
	for _, k := range operator.SortedNames(r.Counters) {
		fmt.Fprintf(w, "  %s = %d\n", k, r.Counters[k])
	}
}

// diagFilter hides the machine-readable results line of the diagnostics
// from the user's view; the client prints the results itself.
type diagFilter struct{ w io.Writer }

func (f *diagFilter) Write(b []byte) (int, error) {
	s := string(b)
	if i := strings.Index(s, resultMarker); i >= 0 {
		rest := s[i:]
		end := strings.IndexByte(rest, '\n')
		if end < 0 {
			s = s[:i]
		} else {
			s = s[:i] + rest[end+1:]
		}
		if _, err := io.WriteString(f.w, s); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return f.w.Write(b)
}

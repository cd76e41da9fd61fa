package modes

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/record"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

// The commands every program gets besides run, and examples/launcher too:
// they need none of a program's operators.
const (
	cmdList   = "list"
	cmdAttach = "attach"
	cmdCancel = "cancel"
	cmdStop   = "stop"
	cmdLogs   = "logs"
)

// isCommand reports whether name is one of the commands besides run.
func isCommand(name string) bool {
	switch name {
	case cmdList, cmdAttach, cmdCancel, cmdStop, cmdLogs:
		return true
	}
	return false
}

// commandsUsage is the usage text of the commands besides run.
func commandsUsage(name string) string {
	return fmt.Sprintf(`       %[1]s list [-all]                  the SPINDLE applications you run (-all: with ended ones)
       %[1]s attach -id APPID             follow an application to its end
       %[1]s cancel -id APPID [-job ID]   cancel a job (one this machine submitted)
       %[1]s stop -id APPID               cancel its jobs and kill the application
       %[1]s logs -id APPID               print its containers' logs
       %[1]s COMMAND -h                   lists a command's flags
`, name)
}

// command is a parsed command line of one of the commands besides run.
type command struct {
	name string
	// id is -id (all but list).
	id yarn.ApplicationID
	// all is list's -all.
	all bool
	// job is cancel's -job.
	job string
	// status is stop's -status.
	status yarn.FinalStatus
	// grace is how long stop lets the application end on its own after
	// its jobs were cancelled.
	grace time.Duration

	keytab, principal, proxyUser string
	timeout                      time.Duration
	verbose                      bool
}

// usageError is an error of the command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// parseCommand parses args, args[0] being the command's name. Help
// requested gives flag.ErrHelp; a bad command line a *usageError naming
// the flag and the fix (the flag package's own errors it has printed to
// stderr).
func parseCommand(prog string, args []string, stderr io.Writer) (*command, error) {
	c := &command{name: args[0]}
	fs := flag.NewFlagSet(prog+" "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var id, status string
	if c.name != cmdList {
		fs.StringVar(&id, "id", "", "the application's id, application_<cluster timestamp>_<number> ("+prog+" list shows them)")
	}
	timeout := 2 * time.Minute
	switch c.name {
	case cmdList:
		fs.BoolVar(&c.all, "all", false, "list ended applications too")
	case cmdAttach:
		timeout = 0
	case cmdCancel:
		fs.StringVar(&c.job, "job", "", "the job to cancel; default: the application's only running job")
	case cmdStop:
		fs.StringVar(&status, "status", yarn.FinalKilled.String(), "the application's final status: KILLED, FAILED or SUCCEEDED (the last two need the JobManager: this machine's record, or a ClientToAMToken)")
		fs.DurationVar(&c.grace, "grace", 15*time.Second, "how long the application may take to end on its own once its jobs are cancelled, before it is killed")
	case cmdLogs:
	default:
		return nil, usagef("unknown command %q", c.name)
	}
	fs.StringVar(&c.keytab, "keytab", "", "Kerberos keytab to log in with (with -principal); default: the ticket cache")
	fs.StringVar(&c.principal, "principal", "", "Kerberos principal of -keytab")
	fs.StringVar(&c.proxyUser, "proxy-user", "", "act as this user, impersonated by the logged-in one")
	fs.DurationVar(&c.timeout, "timeout", timeout, "give up after this long; 0 means never")
	fs.BoolVar(&c.verbose, "v", false, "log the client's calls to stderr")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usagef("%v (see %s %s -h)", err, prog, c.name)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q: every option is a flag, e.g. %s %s -id APPID", fs.Arg(0), prog, c.name)
	}
	if c.name != cmdList {
		if id == "" {
			return nil, usagef("-id is required: name the application, e.g. %s %s -id application_1700000000000_0001 (%s list shows them)", prog, c.name, prog)
		}
		var err error
		if c.id, err = yarn.ParseApplicationID(strings.TrimSpace(id)); err != nil {
			return nil, usagef("-id %q is not an application id: write application_<cluster timestamp>_<number>, as %s list shows them", id, prog)
		}
	}
	if (c.keytab == "") != (c.principal == "") {
		if c.keytab == "" {
			return nil, usagef("-principal needs -keytab; give both, or neither to use the ticket cache")
		}
		return nil, usagef("-keytab needs -principal; give both, or neither to use the ticket cache")
	}
	if c.timeout < 0 {
		return nil, usagef("-timeout must not be negative, got %v", c.timeout)
	}
	if c.grace < 0 {
		return nil, usagef("-grace must not be negative, got %v", c.grace)
	}
	if c.name == cmdStop {
		switch s := strings.ToUpper(strings.TrimSpace(status)); s {
		case yarn.FinalKilled.String():
			c.status = yarn.FinalKilled
		case yarn.FinalFailed.String():
			c.status = yarn.FinalFailed
		case yarn.FinalSucceeded.String():
			c.status = yarn.FinalSucceeded
		default:
			return nil, usagef("-status %q is not a final status; use -status KILLED, FAILED or SUCCEEDED", status)
		}
	}
	return c, nil
}

// runCommand runs one of the commands besides run; args[0] names it.
func runCommand(ctx context.Context, p Program, args []string) int {
	c, err := parseCommand(p.Name, args, p.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s %s: %v\n", p.Name, args[0], err)
		return 2
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	r := &commandRun{p: p, c: c}
	if c.verbose {
		r.log = slog.New(slog.NewTextHandler(p.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var code int
	switch c.name {
	case cmdList:
		code, err = r.list(ctx)
	case cmdAttach:
		code, err = r.attach(ctx)
	case cmdCancel:
		code, err = r.cancel(ctx)
	case cmdStop:
		code, err = r.stop(ctx)
	case cmdLogs:
		code, err = r.logs(ctx)
	}
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s %s: %v\n", p.Name, c.name, err)
		return max(code, 1)
	}
	return code
}

// commandRun is one run of a command.
type commandRun struct {
	p   Program
	c   *command
	log *slog.Logger

	user string
	id   *yarn.Identity
}

// login logs in once (Kerberos) or finds the user (simple
// authentication); the caller closes r.id.
func (r *commandRun) login(ctx context.Context) error {
	if r.user != "" {
		return nil
	}
	user, id, err := deploy.Login(ctx, "", r.c.keytab, r.c.principal)
	if err != nil {
		return err
	}
	r.user, r.id = user, id
	return nil
}

func (r *commandRun) close() {
	if r.id != nil {
		r.id.Close()
	}
}

// effectiveUser is the user the applications run as.
func (r *commandRun) effectiveUser() string {
	if r.c.proxyUser != "" {
		return r.c.proxyUser
	}
	return r.user
}

// yarnConfig is the RM client config of the logged-in user.
func (r *commandRun) yarnConfig() (yarn.Config, error) {
	cfg, err := yarn.LoadConfig("")
	if err != nil {
		return cfg, err
	}
	cfg.Logger = r.log
	if cfg.Kerberos != nil {
		if r.id == nil {
			return cfg, errors.New("the cluster uses Kerberos: log in first (-keytab and -principal, or kinit for the ticket cache)")
		}
		id := r.id
		if r.c.proxyUser != "" {
			id = id.WithProxyUser(r.c.proxyUser)
		}
		return cfg.WithIdentity(id), nil
	}
	cfg.User, cfg.ProxyUser = r.user, r.c.proxyUser
	return cfg, nil
}

// attachDeployment attaches to -id.
func (r *commandRun) attachDeployment(ctx context.Context) (*deploy.Deployment, error) {
	if err := r.login(ctx); err != nil {
		return nil, err
	}
	d, err := deploy.Attach(ctx, deploy.Request{Identity: r.id, User: r.user, ProxyUser: r.c.proxyUser, Logger: r.log}, r.c.id)
	if errors.Is(err, yarn.ErrApplicationNotFound) {
		return nil, fmt.Errorf("-id %s: the ResourceManager does not know this application (%s list -all shows those it knows)", r.c.id, r.p.Name)
	}
	return d, err
}

// list prints the user's SPINDLE applications.
func (r *commandRun) list(ctx context.Context) (int, error) {
	defer r.close()
	if err := r.login(ctx); err != nil {
		return 1, err
	}
	cfg, err := r.yarnConfig()
	if err != nil {
		return 1, err
	}
	apps, err := deploy.ListApplications(ctx, cfg, deploy.ApplicationType)
	if err != nil {
		return 1, fmt.Errorf("listing applications: %w", err)
	}
	user := r.effectiveUser()
	ended := map[string]bool{}
	var shown []yarn.ApplicationReport
	for _, a := range apps {
		if a.User != user {
			continue
		}
		if a.State.IsFinal() {
			ended[a.ID.String()] = true
			if !r.c.all {
				continue
			}
		}
		shown = append(shown, a)
	}
	forgetEnded(ended)
	slices.SortFunc(shown, func(a, b yarn.ApplicationReport) int {
		return cmp.Or(a.Submitted.Compare(b.Submitted), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	tw := tabwriter.NewWriter(r.p.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tNAME\tSTATE\tFINAL STATUS\tTRACKING URL")
	for _, a := range shown {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, printableText(a.Name), a.State, a.FinalStatus, cmp.Or(printableText(a.TrackingURL), "-"))
	}
	return 0, tw.Flush()
}

// forgetEnded removes the local records of applications seen ended.
func forgetEnded(ended map[string]bool) {
	dir, err := record.Dir()
	if err != nil {
		return
	}
	ids, _ := record.List(dir)
	for _, id := range ids {
		if ended[id] {
			record.Remove(dir, id)
		}
	}
}

// attach follows -id to its end.
func (r *commandRun) attach(ctx context.Context) (int, error) {
	defer r.close()
	d, err := r.attachDeployment(ctx)
	if err != nil {
		return 1, err
	}
	defer d.Close()
	fmt.Fprintf(r.p.Stdout, "attached to %s\n", d.ID)
	rep, err := d.Follow(ctx, &diagFilter{w: r.p.Stdout})
	if err != nil {
		return 1, err
	}
	if rep.State.IsFinal() {
		forgetRecord(r.p, rep.ID.String())
	}
	for _, res := range resultsFromDiagnostics(rep.Diagnostics) {
		printResult(r.p.Stdout, res)
	}
	if rep.State == yarn.ApplicationFinished && rep.FinalStatus == yarn.FinalSucceeded {
		return 0, nil
	}
	return 1, nil
}

// jobManager is the control client of a running application this machine
// submitted, and its record.
type jobManager struct {
	*control.Client
	addr string
	rec  *record.Record
	prog string
}

// errNoRecord is wrapped by openJobManager when this machine holds no
// record of the application.
var errNoRecord = errors.New("no local record")

// openJobManager connects to the JobManager of the running application
// rep, with the secret of its local record, or without one with the
// report's ClientToAMToken (Kerberos clusters); the caller closes it.
func (r *commandRun) openJobManager(rep yarn.ApplicationReport) (*jobManager, error) {
	dir, err := record.Dir()
	if err != nil {
		return nil, err
	}
	rec, err := record.Read(dir, rep.ID.String())
	if errors.Is(err, record.ErrNotFound) && rep.ClientToAMToken == nil {
		return nil, fmt.Errorf("%w: this machine did not submit %s, or its record was removed, and the ResourceManager gave no ClientToAMToken (on a cluster without Kerberos only the machine that started it can reach its JobManager); stop it with `%s stop -id %s`", errNoRecord, rep.ID, r.p.Name, rep.ID)
	}
	if err != nil && !errors.Is(err, record.ErrNotFound) {
		return nil, err
	}
	if rep.State != yarn.ApplicationRunning || rep.Host == "" || rep.Host == "N/A" || rep.RPCPort <= 0 {
		return nil, fmt.Errorf("%s is %s and its JobManager has not registered yet; try again once `%s list` shows it RUNNING", rep.ID, rep.State, r.p.Name)
	}
	addr := net.JoinHostPort(rep.Host, strconv.Itoa(int(rep.RPCPort)))
	if rec == nil {
		// No record, so no secret: the ClientToAMToken of the report
		// (Kerberos clusters), which lets the owner and the users of the
		// application's MODIFY_APP ACL cancel.
		cc, err := tokenControl(rep, dir)
		if err != nil {
			return nil, err
		}
		return &jobManager{Client: cc, addr: addr, rec: &record.Record{AppID: rep.ID.String()}, prog: r.p.Name}, nil
	}
	_, clientTLS, err := secure.TLSConfigs(rec.Secret)
	if err != nil {
		return nil, err
	}
	if rec.Control != addr {
		rec.Control = addr
		if err := record.Write(dir, rec); err != nil && r.log != nil {
			r.log.Warn("updating the local record", "app", rep.ID, "err", err)
		}
	}
	return &jobManager{Client: control.NewClient(addr, clientTLS), addr: addr, rec: rec, prog: r.p.Name}, nil
}

// explain says what went wrong with a call of the control protocol.
func (j *jobManager) explain(err error, what string) error {
	var ce *control.Error
	var netErr net.Error
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, secure.ErrNotAuthenticated) || isTLSRefusal(err):
		return fmt.Errorf("%s: the JobManager at %s and this machine's record of %s do not share the deployment secret (refused in the TLS handshake: %v); the record may be stale: `%s stop -id %s` kills the application without it", what, j.addr, j.rec.AppID, err, j.prog, j.rec.AppID)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%s: the JobManager at %s did not answer in time: %w", what, j.addr, err)
	}
	return fmt.Errorf("%s: reaching the JobManager at %s: %w", what, j.addr, err)
}

// isTLSRefusal reports a handshake the peer refused (its alert).
func isTLSRefusal(err error) bool {
	s := err.Error()
	return strings.Contains(s, "tls: ") && (strings.Contains(s, "bad certificate") || strings.Contains(s, "certificate required") ||
		strings.Contains(s, "handshake failure"))
}

// jobEnded reports whether a job state is final.
func jobEnded(state string) bool {
	switch state {
	case "finished", "failed", "canceled":
		return true
	}
	return false
}

// runningJob picks the job cancel acts on without -job: the only one that
// has not ended.
func runningJob(id yarn.ApplicationID, prog string, jobs []control.JobStatus) (string, error) {
	var running []string
	for _, j := range jobs {
		if !jobEnded(j.State) {
			running = append(running, j.ID)
		}
	}
	switch len(running) {
	case 0:
		return "", fmt.Errorf("%s runs no job now (%d ended); nothing to cancel", id, len(jobs))
	case 1:
		return running[0], nil
	}
	return "", usagef("%s runs %d jobs (%s): name one with -job, e.g. %s cancel -id %s -job %s", id, len(running), strings.Join(running, ", "), prog, id, running[0])
}

// cancel cancels a job of -id through its JobManager and waits for it to
// end.
func (r *commandRun) cancel(ctx context.Context) (int, error) {
	defer r.close()
	d, err := r.attachDeployment(ctx)
	if err != nil {
		return 1, err
	}
	defer d.Close()
	rep, err := d.RM.ApplicationReport(ctx, d.ID)
	if err != nil {
		return 1, err
	}
	if rep.State.IsFinal() {
		forgetRecord(r.p, rep.ID.String())
		return 1, fmt.Errorf("%s has ended (%s, final status %s): it has no job to cancel", rep.ID, rep.State, rep.FinalStatus)
	}
	jm, err := r.openJobManager(rep)
	if err != nil {
		return 1, err
	}
	defer jm.Close()
	job := r.c.job
	if job == "" {
		jobs, err := jm.Jobs(ctx)
		if err != nil {
			return 1, jm.explain(err, "listing the jobs")
		}
		if job, err = runningJob(d.ID, r.p.Name, jobs); err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return 2, err
			}
			return 1, err
		}
	}
	if err := jm.Cancel(ctx, job); err != nil {
		var ce *control.Error
		if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
			return 1, fmt.Errorf("-job %s: %s has no such job (%s); run without -job to cancel its running one", job, d.ID, ce.Message)
		}
		if errors.As(err, &ce) && ce.Status == http.StatusConflict {
			return 1, fmt.Errorf("job %s of %s has already ended: %s", job, d.ID, ce.Message)
		}
		return 1, jm.explain(err, "cancelling job "+job)
	}
	fmt.Fprintf(r.p.Stdout, "cancelling job %s of %s\n", job, d.ID)
	states, rep, err := watchCancel(ctx, d, jm, []string{job})
	if err != nil {
		return 1, jm.explain(err, "waiting for job "+job+" to end")
	}
	if rep.State.IsFinal() {
		forgetRecord(r.p, rep.ID.String())
		fmt.Fprintf(r.p.Stdout, "job %s %s; %s ended: %s, final status %s\n", job, cmp.Or(states[job], "ended"), rep.ID, rep.State, rep.FinalStatus)
		return 0, nil
	}
	fmt.Fprintf(r.p.Stdout, "job %s %s\n", job, states[job])
	return 0, nil
}

// watchCancel polls until every job of names has ended or the application
// has: it returns the jobs' states as last seen (from the JobManager, or
// from the results in the final diagnostics) and the application's latest
// report. The JobManager may go away with the application once its job
// was cancelled, so its errors are returned only when ctx ends.
func watchCancel(ctx context.Context, d *deploy.Deployment, jm *jobManager, names []string) (map[string]string, yarn.ApplicationReport, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	states := map[string]string{}
	var rep yarn.ApplicationReport
	var jmErr error
	for {
		var latest []control.JobStatus
		latest, jmErr = jm.Jobs(ctx)
		if jmErr == nil {
			done := true
			for _, j := range latest {
				if slices.Contains(names, j.ID) {
					states[j.ID] = j.State
					done = done && jobEnded(j.State)
				}
			}
			if done {
				return states, rep, nil
			}
		} else if ctx.Err() == nil {
			r, err := d.RM.ApplicationReport(ctx, d.ID)
			if err == nil {
				rep = r
			}
			if rep.State.IsFinal() {
				for _, res := range resultsFromDiagnostics(rep.Diagnostics) {
					if slices.Contains(names, res.JobID) {
						states[res.JobID] = res.State
					}
				}
				return states, rep, nil
			}
		}
		select {
		case <-ctx.Done():
			return states, rep, errors.Join(ctx.Err(), jmErr)
		case <-t.C:
		}
	}
}

// stop cancels -id's running jobs through its JobManager when this
// machine holds its record, lets it end on its own for -grace, and kills
// it through the ResourceManager if it still runs; its staging directory
// and record are removed. The final status is then KILLED, or what the
// program's JobManager reported when it ended on its own once its jobs
// were cancelled (FAILED: a cancelled job is a failed main): -status
// cannot yet make the JobManager unregister with another.
func (r *commandRun) stop(ctx context.Context) (int, error) {
	defer r.close()
	d, err := r.attachDeployment(ctx)
	if err != nil {
		return 1, err
	}
	defer d.Close()
	rep, err := d.RM.ApplicationReport(ctx, d.ID)
	if err != nil {
		return 1, err
	}
	if !rep.State.IsFinal() {
		// The JobManager cancels the jobs and unregisters with the final
		// status asked for.
		stopped, err := r.stopThroughJobManager(ctx, d, rep)
		switch {
		case err == nil:
			rep = stopped
		case r.c.status != yarn.FinalKilled:
			return 1, fmt.Errorf("-status %s needs the JobManager, which could not stop %s: %w; -status KILLED kills it through the ResourceManager", r.c.status, d.ID, err)
		default:
			fmt.Fprintf(r.p.Stderr, "%s stop: %v; killing %s through the ResourceManager\n", r.p.Name, err, d.ID)
		}
	}
	if !rep.State.IsFinal() {
		if err := d.Kill(ctx, fmt.Sprintf("stopped by `%s stop` as %s", r.p.Name, r.effectiveUser())); err != nil {
			return 1, err
		}
		if rep, err = d.RM.ApplicationReport(ctx, d.ID); err != nil {
			return 1, err
		}
	} else {
		// Kill removes the staging directory; an application that ended on
		// its own left that to its JobManager, which may not have run.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := d.HDFS.RemoveStaging(cctx, d.ID.String())
		cancel()
		if err != nil {
			fmt.Fprintf(r.p.Stderr, "%s stop: removing the staging directory of %s: %v\n", r.p.Name, d.ID, err)
		}
	}
	forgetRecord(r.p, d.ID.String())
	fmt.Fprintf(r.p.Stdout, "%s stopped: %s, final status %s\n", d.ID, rep.State, rep.FinalStatus)
	return 0, nil
}

// logFileSkipped are the container log files logs does not print: YARN's
// own launch scripts and listings.
var logFileSkipped = map[string]bool{"launch_container.sh": true, "directory.info": true, "prelaunch.out": true}

// containerIDPattern finds container ids in the JobManager's log, where it
// names its TaskManagers.
var containerIDPattern = regexp.MustCompile(`container_(?:e\d+_)?\d+_\d+_\d+_\d+`)

// logs prints the logs of -id's containers from their NodeManagers: the
// JobManager's first, then the TaskManagers' (those running, and those
// the JobManager's log names).
func (r *commandRun) logs(ctx context.Context) (int, error) {
	defer r.close()
	if err := r.login(ctx); err != nil {
		return 1, err
	}
	cfg, err := r.yarnConfig()
	if err != nil {
		return 1, err
	}
	rc, err := yarn.NewRESTClient(cfg)
	if err != nil {
		return 1, err
	}
	defer rc.Close()
	if _, err := rc.ApplicationReport(ctx, r.c.id); err != nil {
		if errors.Is(err, yarn.ErrApplicationNotFound) {
			return 1, fmt.Errorf("-id %s: the ResourceManager does not know this application (%s list -all shows those it knows)", r.c.id, r.p.Name)
		}
		return 1, err
	}
	attempts, err := rc.ApplicationAttempts(ctx, r.c.id)
	if err != nil {
		return 1, fmt.Errorf("listing the attempts of %s: %w", r.c.id, err)
	}
	nodes, err := rc.Nodes(ctx)
	if err != nil {
		return 1, fmt.Errorf("listing the NodeManagers: %w", err)
	}
	lr := &logReader{rc: rc, out: r.p.Stdout, nodes: nodes, where: map[string]string{}, seen: map[string]bool{}}
	var ams, others []string
	for _, a := range attempts {
		if !a.AMContainer.IsZero() {
			ams = append(ams, a.AMContainer.String())
		}
		cs, err := rc.Containers(ctx, a.ID)
		if err != nil {
			continue // an ended attempt lists none
		}
		for _, c := range cs {
			lr.where[c.ID.String()] = c.NodeHTTPAddress
			if c.ID != a.AMContainer {
				others = append(others, c.ID.String())
			}
		}
	}
	if len(ams) == 0 {
		return 1, fmt.Errorf("%s has no ApplicationMaster container yet: no logs", r.c.id)
	}
	for _, id := range ams {
		text := lr.container(ctx, id, "JobManager")
		others = append(others, containerIDPattern.FindAllString(text, -1)...)
	}
	slices.Sort(others)
	for _, id := range slices.Compact(others) {
		if !strings.Contains(id, appSuffix(r.c.id)) {
			continue
		}
		lr.container(ctx, id, "TaskManager")
	}
	if lr.failed > 0 {
		return 1, fmt.Errorf("%d log file(s) of %s could not be read (see above)", lr.failed, r.c.id)
	}
	if lr.printed == 0 {
		return 1, fmt.Errorf("no NodeManager holds logs of %s any more (they keep them for yarn.nodemanager.log.retain-seconds, or until log aggregation moves them; reading aggregated logs is not supported yet)", r.c.id)
	}
	return 0, nil
}

// appSuffix is the part of a container id that names its application:
// _<cluster timestamp>_<app number>_ (zero-padded as container ids are).
func appSuffix(id yarn.ApplicationID) string {
	s := strings.TrimPrefix(id.String(), "application")
	return s + "_"
}

// logReader prints containers' log files.
type logReader struct {
	rc    *yarn.RESTClient
	out   io.Writer
	nodes []yarn.NodeReport
	// where maps a container to its NodeManager's web address, once known.
	where   map[string]string
	seen    map[string]bool
	printed int
	failed  int
}

// container prints one container's non-empty log files under headers and
// returns their text; role names it in the headers.
func (l *logReader) container(ctx context.Context, idText, role string) string {
	if l.seen[idText] {
		return ""
	}
	l.seen[idText] = true
	id, err := yarn.ParseContainerID(idText)
	if err != nil {
		return ""
	}
	node, files := l.locate(ctx, id)
	if node == "" {
		fmt.Fprintf(l.out, "==> %s %s: no NodeManager holds its logs <==\n", role, id)
		return ""
	}
	var all strings.Builder
	for _, f := range files {
		if logFileSkipped[f.Name] || f.Size == 0 {
			continue
		}
		b, err := l.rc.ContainerLog(ctx, node, id, f.Name)
		if err != nil {
			fmt.Fprintf(l.out, "==> %s %s on %s, %s: not readable: %v <==\n", role, id, node, f.Name, err)
			l.failed++
			continue
		}
		fmt.Fprintf(l.out, "==> %s %s on %s, %s (%d bytes) <==\n", role, id, node, f.Name, len(b))
		l.out.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			fmt.Fprintln(l.out)
		}
		l.printed++
		all.Write(b)
	}
	return all.String()
}

// locate finds the NodeManager that holds id's logs and lists them.
func (l *logReader) locate(ctx context.Context, id yarn.ContainerID) (string, []yarn.ContainerLogFile) {
	if node := l.where[id.String()]; node != "" {
		if files, err := l.rc.ContainerLogFiles(ctx, node, id); err == nil && len(files) > 0 {
			return node, files
		}
	}
	for _, n := range l.nodes {
		if n.HTTPAddress == "" {
			continue
		}
		files, err := l.rc.ContainerLogFiles(ctx, n.HTTPAddress, id)
		if err == nil && len(files) > 0 {
			l.where[id.String()] = n.HTTPAddress
			return n.HTTPAddress, files
		}
	}
	return "", nil
}

// printableText replaces control characters of what the cluster reports.
func printableText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// saveRecord writes the local record of a deployment this client just
// submitted: cancel and stop read its secret. A failure is a warning: the
// application runs, only cancel from here will not work.
func saveRecord(p Program, d *deploy.Deployment, req deploy.Request) {
	dir, err := record.Dir()
	if err == nil {
		err = record.Write(dir, &record.Record{AppID: d.ID.String(), Name: req.Name, Mode: req.Mode, Secret: d.Secret, Submitted: time.Now().UTC()})
	}
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s: warning: %v; `%s cancel -id %s` will not work from this machine\n", p.Name, err, p.Name, d.ID)
	}
}

// forgetRecord removes the local record of an application seen ended.
func forgetRecord(p Program, appID string) {
	dir, err := record.Dir()
	if err == nil {
		err = record.Remove(dir, appID)
	}
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s: warning: %v\n", p.Name, err)
	}
}

// stopThroughJobManager asks the application's JobManager to cancel its
// jobs and unregister with the -status asked for, and waits up to -grace
// for the application to end.
func (r *commandRun) stopThroughJobManager(ctx context.Context, d *deploy.Deployment, rep yarn.ApplicationReport) (yarn.ApplicationReport, error) {
	jm, err := r.openJobManager(rep)
	if err != nil {
		return rep, err
	}
	defer jm.Close()
	gctx, cancel := context.WithTimeout(ctx, r.c.grace)
	defer cancel()
	if err := jm.Do(gctx, http.MethodPost, "/v1/stop?status="+r.c.status.String(), nil, nil); err != nil {
		return rep, jm.explain(err, "asking the JobManager to stop")
	}
	fmt.Fprintf(r.p.Stdout, "asked the JobManager of %s to stop with final status %s\n", d.ID, r.c.status)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		latest, err := d.RM.ApplicationReport(ctx, d.ID)
		if err != nil {
			return rep, err
		}
		rep = latest
		if rep.State.IsFinal() {
			return rep, nil
		}
		select {
		case <-gctx.Done():
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			return rep, fmt.Errorf("%s did not end within -grace %v", d.ID, r.c.grace)
		case <-t.C:
		}
	}
}

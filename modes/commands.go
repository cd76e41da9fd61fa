package modes

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/cli"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/record"
	"github.com/spindle-yarn/spindle/yarn"
)

// The commands every program gets besides run, and examples/launcher too:
// they need none of a program's operators.
const (
	cmdList   = "list"
	cmdAttach = "attach"
	cmdJobs   = "jobs"
	cmdCancel = "cancel"
	cmdStop   = "stop"
	cmdLogs   = "logs"
	// cmdCredentials is `credentials push` (commands_credentials.go).
	cmdCredentials = "credentials"
)

// isCommand reports whether name is one of the commands besides run.
func isCommand(name string) bool {
	switch name {
	case cmdList, cmdAttach, cmdJobs, cmdCancel, cmdStop, cmdLogs, cmdCredentials:
		return true
	}
	return false
}

// commandsUsage is the usage text of the commands besides run.
func commandsUsage(name string) string {
	return fmt.Sprintf(`       %[1]s list [-all]                  the SPINDLE applications you run (-all: with ended ones)
       %[1]s attach -id APPID             follow an application to its end
       %[1]s jobs -id APPID               list an application's jobs (or -session NAME|APPID)
       %[1]s cancel -id APPID [-job ID]   cancel a job (or -session NAME|APPID [-job ID])
       %[1]s stop -id APPID               cancel its jobs and kill the application
       %[1]s logs -id APPID               print its containers' logs
       %[1]s credentials push -id APPID   push fresh HDFS delegation tokens to it (or -session NAME|APPID; deployed without -ship-keytab;
                                         -job ID: to that session job alone)
       %[1]s session list|stop|start      sessions many jobs share (%[1]s session prints their usage)
       %[1]s COMMAND -h                   lists a command's flags
jobs and cancel reach the JobManager: with this machine's record of the application
(the machine that started it), or on a Kerberos cluster with a ClientToAMToken.
`, name)
}

// command is a parsed command line of one of the commands besides run.
type command struct {
	name string
	// id is -id (all but list); for jobs and cancel, or the application
	// of -session once resolved.
	id yarn.ApplicationID
	// session is -session, a session's name or application id (jobs and
	// cancel, instead of -id).
	session string
	// all is list's -all.
	all bool
	// job is cancel's and credentials push's -job.
	job string
	// accessFS is credentials push's -access-fs.
	accessFS []string
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
	if args[0] == cmdCredentials {
		var err error
		if args, err = credentialsArgs(prog, args); err != nil {
			return nil, err
		}
	}
	c := &command{name: args[0]}
	fs := flag.NewFlagSet(prog+" "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var id, status string
	if c.name != cmdList {
		fs.StringVar(&id, "id", "", "the application's id, application_<cluster timestamp>_<number> ("+prog+" list shows them)")
	}
	bySession := c.name == cmdJobs || c.name == cmdCancel || c.name == cmdCredentials
	if bySession {
		fs.StringVar(&c.session, "session", "", "instead of -id: a running session's name or application id ("+prog+" session list shows them)")
	}
	timeout := 2 * time.Minute
	switch c.name {
	case cmdList:
		fs.BoolVar(&c.all, "all", false, "list ended applications too")
	case cmdAttach:
		timeout = 0
	case cmdJobs:
	case cmdCancel:
		fs.StringVar(&c.job, "job", "", "the job to cancel; default: the application's only running job")
	case cmdStop:
		fs.StringVar(&status, "status", yarn.FinalKilled.String(), "the application's final status: KILLED, FAILED or SUCCEEDED (the last two need the JobManager: this machine's record, or a ClientToAMToken)")
		fs.DurationVar(&c.grace, "grace", 15*time.Second, "how long the application may take to end on its own once its jobs are cancelled, before it is killed")
	case cmdCredentials:
		fs.StringVar(&c.job, "job", "", "a session's job: push the tokens to this job alone (a job carries its user's own tokens); default: the application's own")
		cli.AccessFSFlag(fs, &c.accessFS, "another HDFS the application was deployed with -access-fs for: fresh tokens of it are pushed too (repeatable, or comma-separated)")
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
	c.session = strings.TrimSpace(c.session)
	switch {
	case bySession && id != "" && c.session != "":
		return nil, usagef("-id and -session both name the application: give one of them (-session takes a session's name or id)")
	case bySession && id == "" && c.session == "":
		return nil, usagef("-id or -session is required: name the application, e.g. %s %s -id application_1700000000000_0001 (%s list shows them) or %s %s -session NAME (%s session list shows them)",
			prog, c.name, prog, prog, c.name, prog)
	case c.name != cmdList && c.session == "":
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
	case cmdJobs:
		code, err = r.jobs(ctx)
	case cmdCancel:
		code, err = r.cancel(ctx)
	case cmdStop:
		code, err = r.stop(ctx)
	case cmdLogs:
		code, err = r.logs(ctx)
	case cmdCredentials:
		code, err = r.pushCredentials(ctx)
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

// attachDeployment attaches to -id, or to the session -session names.
func (r *commandRun) attachDeployment(ctx context.Context) (*deploy.Deployment, error) {
	if err := r.login(ctx); err != nil {
		return nil, err
	}
	if r.c.session != "" {
		if err := r.resolveSessionFlag(ctx); err != nil {
			return nil, err
		}
	}
	d, err := deploy.Attach(ctx, deploy.Request{Identity: r.id, User: r.user, ProxyUser: r.c.proxyUser, Logger: r.log}, r.c.id)
	if errors.Is(err, yarn.ErrApplicationNotFound) {
		return nil, fmt.Errorf("-id %s: the ResourceManager does not know this application (%s list -all shows those it knows)", r.c.id, r.p.Name)
	}
	return d, err
}

// resolveSessionFlag finds the running session -session names (by name
// or application id) and makes it the command's -id.
func (r *commandRun) resolveSessionFlag(ctx context.Context) error {
	cfg, err := r.yarnConfig()
	if err != nil {
		return err
	}
	rep, err := resolveSession(ctx, cfg, r.p.Name, r.c.session)
	if errors.Is(err, yarn.ErrApplicationNotFound) {
		return fmt.Errorf("-session %s: the ResourceManager does not know this application (%s session list shows the running sessions)", r.c.session, r.p.Name)
	}
	if err != nil {
		return fmt.Errorf("-session %s: %w", r.c.session, err)
	}
	r.c.id = rep.ID
	return nil
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

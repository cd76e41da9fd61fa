package modes

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/cli"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/modes/internal/record"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/modes/operator"
	"github.com/spindle-yarn/spindle/yarn"
)

// runSessionCommand runs `NAME session start|list|stop ...`.
func runSessionCommand(ctx context.Context, p Program, args []string) int {
	usage := fmt.Sprintf("usage: %s session start -name NAME [-d] [-min-taskmanagers N] [-max-taskmanagers N] [-idle-timeout D] [run flags]\n"+
		"       %s session list\n       %s session stop -name NAME | -id APPLICATION_ID\n", p.Name, p.Name, p.Name)
	if len(args) == 0 {
		fmt.Fprint(p.Stderr, usage)
		return 2
	}
	var err error
	code := 0
	switch args[0] {
	case "start":
		code, err = sessionStart(ctx, p, args[1:])
	case "list":
		code, err = sessionList(ctx, p, args[1:])
	case "stop":
		code, err = sessionStop(ctx, p, args[1:])
	default:
		fmt.Fprintf(p.Stderr, "%s: unknown session command %q\n%s", p.Name, args[0], usage)
		return 2
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
			return 2
		}
		fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// sessionStart deploys a session: a JobManager that runs jobs clients
// submit, keeping TaskManagers between them.
func sessionStart(ctx context.Context, p Program, args []string) (int, error) {
	fs := flag.NewFlagSet(p.Name+" session start", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	rf := cli.NewRunFlags(fs)
	sf := cli.NewSessionFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, nil
		}
		return 2, nil
	}
	if rf.Target != "" {
		return 2, usagef("-t does not apply to session start: a session is its own target; submit jobs to it with `%s run -t yarn-session -session NAME`", p.Name)
	}
	rf.Target = cli.TargetApplication // the run flags' checks of sizes and -D
	if err := rf.Validate(); err != nil {
		return 2, usagef("%v", err)
	}
	if err := sf.ValidateSession(rf.Name); err != nil {
		return 2, usagef("%v", err)
	}
	if rf.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rf.Timeout)
		defer cancel()
	}
	user, id, err := deploy.Login(ctx, "", rf.Keytab, rf.Principal)
	if err != nil {
		return 1, err
	}
	if id != nil {
		defer id.Close()
	}
	ycfg, err := clientYARNConfig(user, id, rf.ProxyUser)
	if err != nil {
		return 1, err
	}
	running, err := findSessions(ctx, ycfg, rf.Name)
	if err != nil {
		return 1, err
	}
	if len(running) > 0 {
		return 1, fmt.Errorf("a session named %q is already running (%s); submit to it with -session %s, or stop it with `%s session stop -name %s`",
			rf.Name, running[0].ID, rf.Name, p.Name, rf.Name)
	}
	req := deploy.Request{
		Mode: launch.ModeSession, Name: rf.Name, Queue: rf.Queue, NodeLabel: rf.NodeLabel,
		Tags:       append(append([]string(nil), rf.Tags...), launch.SessionTagPrefix+rf.Name),
		AMResource: yarn.Resource{MemoryMB: rf.JobManagerMemoryMB, VCores: 1},
		TaskManager: launch.TaskManagerSpec{MemoryMB: rf.TaskManagerMemoryMB, VCores: int32(rf.TaskManagerVCores),
			Slots: rf.Slots, NodeLabel: rf.NodeLabel},
		Parallelism: rf.Parallelism, Ship: rf.Ship, Config: rf.Config, KeepStaging: rf.KeepStaging,
		Identity: id, User: user, ProxyUser: rf.ProxyUser, ACLs: rf.ACLs(), RMToken: rf.RMToken, AccessFS: rf.AccessFS,
		Session: &launch.SessionSpec{Name: rf.Name, MinTaskManagers: sf.MinTaskManagers, MaxTaskManagers: sf.MaxTaskManagers,
			MaxTaskManagersPerJob: sf.MaxTaskManagersPerJob, IdleTimeoutMS: sf.IdleTimeout.Milliseconds()},
	}
	if rf.ShipKeytab {
		// The JobManager keeps the session's tokens alive, and those of
		// jobs submitted as the principal or through it (-proxy-user).
		req.ShipKeytab, req.ShipPrincipal = rf.Keytab, rf.Principal
	}
	if !rf.Detached {
		// An attached session ends with its client, even a killed one.
		if req.ClientLease, err = deploy.ClientLeaseFrom(rf.Config); err != nil {
			return 2, usagef("%v", err)
		}
	}
	d, err := deployGuarded(ctx, p, req, rf.Keytab, rf.Principal)
	if err != nil {
		return 1, err
	}
	defer d.Close()
	saveRecord(p, d, req)
	if rf.Detached {
		fmt.Fprintln(p.Stdout, d.ID.String())
		fmt.Fprintf(p.Stderr, "session %s started detached as %s; submit with `%s run -t yarn-session -session %s ...`, stop with `%s session stop -name %s`\n",
			rf.Name, d.ID, p.Name, rf.Name, p.Name, rf.Name)
		return 0, nil
	}
	fmt.Fprintf(p.Stdout, "session %s submitted as %s; Ctrl-C stops it\n", rf.Name, d.ID)
	// Attached: follow until the session ends; an interrupt stops it the
	// orderly way (jobs cancelled, staging removed by the JobManager).
	followCtx, cancelFollow := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFollow()
	go func() {
		<-ctx.Done()
		fmt.Fprintf(p.Stdout, "stopping session %s\n", rf.Name)
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := stopSessionApp(sctx, d.RM, d.ID); err != nil {
			fmt.Fprintf(p.Stderr, "%s: stopping the session through its JobManager: %v; killing it\n", p.Name, err)
			_ = d.Kill(sctx, "the session's client was interrupted")
		}
	}()
	r, err := d.Follow(followCtx, p.Stdout)
	forgetRecord(p, d.ID.String())
	if err != nil {
		return 1, err
	}
	if r.FinalStatus != yarn.FinalSucceeded {
		return 1, nil
	}
	return 0, nil
}

// sessionLogin logs the session commands in (from -keytab and
// -principal, else the ticket cache, on a Kerberos cluster) and returns
// the user, the login (the caller closes it) and its YARN configuration.
func sessionLogin(ctx context.Context, keytab, principal string) (string, *yarn.Identity, yarn.Config, error) {
	user, id, err := deploy.Login(ctx, "", keytab, principal)
	if err != nil {
		return "", nil, yarn.Config{}, err
	}
	cfg, err := clientYARNConfig(user, id, "")
	if err != nil {
		if id != nil {
			id.Close()
		}
		return "", nil, cfg, err
	}
	return user, id, cfg, nil
}

// clientYARNConfig is the client's YARN configuration as user.
func clientYARNConfig(user string, id *yarn.Identity, proxy string) (yarn.Config, error) {
	cfg, _, err := deploy.ClientConfigs(deploy.Request{User: user, Identity: id, ProxyUser: proxy})
	return cfg, err
}

var appIDPattern = regexp.MustCompile(`^application_\d+_\d+$`)

// findSessions lists the running sessions named name (every running
// session when name is empty).
func findSessions(ctx context.Context, cfg yarn.Config, name string) ([]yarn.ApplicationReport, error) {
	apps, err := deploy.ListApplications(ctx, cfg, deploy.ApplicationType)
	if err != nil {
		return nil, err
	}
	var out []yarn.ApplicationReport
	for _, a := range apps {
		if a.State.IsFinal() {
			continue
		}
		if n := sessionNameOf(a); n != "" && (name == "" || n == name) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	return out, nil
}

func sessionNameOf(a yarn.ApplicationReport) string {
	for _, t := range a.Tags {
		if n, ok := strings.CutPrefix(t, launch.SessionTagPrefix); ok {
			return n
		}
	}
	return ""
}

// resolveSession finds the running session named by nameOrID.
func resolveSession(ctx context.Context, cfg yarn.Config, prog, nameOrID string) (yarn.ApplicationReport, error) {
	if appIDPattern.MatchString(nameOrID) {
		id, err := yarn.ParseApplicationID(nameOrID)
		if err != nil {
			return yarn.ApplicationReport{}, err
		}
		rm, err := yarn.NewRMClient(cfg)
		if err != nil {
			return yarn.ApplicationReport{}, err
		}
		defer rm.Close()
		r, err := rm.ApplicationReport(ctx, id)
		if err != nil {
			return r, err
		}
		if sessionNameOf(r) == "" {
			return r, fmt.Errorf("%s is not a Spindle session; list the sessions with `%s session list`", nameOrID, prog)
		}
		if r.State.IsFinal() {
			return r, fmt.Errorf("session %s has ended (%s); start a new one with `%s session start -name NAME`", nameOrID, r.State, prog)
		}
		return r, nil
	}
	found, err := findSessions(ctx, cfg, nameOrID)
	if err != nil {
		return yarn.ApplicationReport{}, err
	}
	switch len(found) {
	case 0:
		return yarn.ApplicationReport{}, fmt.Errorf("no running session named %q; start one with `%s session start -name %s`, or list them with `%s session list`",
			nameOrID, prog, nameOrID, prog)
	case 1:
		return found[0], nil
	}
	var ids []string
	for _, a := range found {
		ids = append(ids, a.ID.String())
	}
	return yarn.ApplicationReport{}, fmt.Errorf("%d sessions are named %q (%s); name one by its application id with -session", len(found), nameOrID, strings.Join(ids, ", "))
}

// sessionControl connects to the session's JobManager, waiting for it to
// register, with the secret of the local record, or without one with the
// ClientToAMToken of r (Kerberos clusters).
func sessionControl(ctx context.Context, cfg yarn.Config, prog string, r yarn.ApplicationReport) (*control.Client, error) {
	rm, err := yarn.NewRMClient(cfg)
	if err != nil {
		return nil, err
	}
	defer rm.Close()
	for r.State != yarn.ApplicationRunning || r.RPCPort <= 0 {
		if r.State.IsFinal() {
			return nil, fmt.Errorf("session %s ended (%s): %s", r.ID, r.State, strings.TrimSpace(r.Diagnostics))
		}
		if r.State == yarn.ApplicationRunning && r.Host == "N/A" && r.ClientToAMToken == nil {
			// RUNNING means its JobManager registered: the RM hides where
			// it listens from users without VIEW access.
			return nil, fmt.Errorf("the ResourceManager does not show you where session %s listens: you lack VIEW access to it (its owner is %s; the application's ACLs and yarn.admin.acl grant it)", r.ID, r.User)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("session %s is %s, its JobManager not registered yet: %w", r.ID, r.State, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if r, err = rm.ApplicationReport(ctx, r.ID); err != nil {
			return nil, err
		}
	}
	dir, err := record.Dir()
	if err != nil {
		return nil, err
	}
	rec, err := record.Read(dir, r.ID.String())
	if errors.Is(err, record.ErrNotFound) {
		// Not the machine that started it: YARN's ClientToAMToken instead.
		return tokenControl(r, dir)
	}
	if err != nil {
		return nil, err
	}
	_, tlsConf, err := secure.TLSConfigs(rec.Secret)
	if err != nil {
		return nil, err
	}
	return control.NewClient(net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort))), tlsConf), nil
}

// stopSessionApp asks the session's JobManager to stop and waits for the
// application to end.
func stopSessionApp(ctx context.Context, rm *yarn.RMClient, id yarn.ApplicationID) error {
	r, err := rm.ApplicationReport(ctx, id)
	if err != nil {
		return err
	}
	dir, err := record.Dir()
	if err != nil {
		return err
	}
	if r.RPCPort <= 0 {
		return fmt.Errorf("the session's JobManager has not registered")
	}
	var cc *control.Client
	rec, err := record.Read(dir, id.String())
	switch {
	case errors.Is(err, record.ErrNotFound):
		// Not the machine that started it: the report's ClientToAMToken
		// (Kerberos clusters; the JobManager lets its owner stop it).
		if cc, err = tokenControl(r, dir); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		_, tlsConf, err := secure.TLSConfigs(rec.Secret)
		if err != nil {
			return err
		}
		cc = control.NewClient(net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort))), tlsConf)
	}
	defer cc.Close()
	if err := cc.Do(ctx, http.MethodPost, "/v1/stop", nil, nil); err != nil {
		return err
	}
	_, err = rm.WaitForCompletion(ctx, id)
	return err
}

// sessionStop stops a session by name or id.
func sessionStop(ctx context.Context, p Program, args []string) (int, error) {
	fs := flag.NewFlagSet(p.Name+" session stop", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	name := fs.String("name", "", "the session's name")
	appID := fs.String("id", "", "the session's application id")
	keytab := fs.String("keytab", "", "Kerberos keytab (else the ticket cache)")
	principal := fs.String("principal", "", "Kerberos principal of -keytab")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if (*name == "") == (*appID == "") {
		return 2, usagef("session stop needs -name NAME or -id APPLICATION_ID (one of them)")
	}
	user, id, cfg, err := sessionLogin(ctx, *keytab, *principal)
	if err != nil {
		return 1, err
	}
	if id != nil {
		defer id.Close()
	}
	r, err := resolveSession(ctx, cfg, p.Name, *name+*appID)
	if err != nil {
		return 1, err
	}
	rm, err := yarn.NewRMClient(cfg)
	if err != nil {
		return 1, err
	}
	defer rm.Close()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := stopSessionApp(sctx, rm, r.ID); err != nil {
		fmt.Fprintf(p.Stderr, "%s: stopping through the JobManager: %v; killing %s\n", p.Name, err, r.ID)
		if _, kerr := rm.KillAndWait(sctx, r.ID, "session stopped by "+user); kerr != nil {
			return 1, kerr
		}
	}
	// The JobManager removes the staging directory after it unregisters,
	// so the RM may report the end first; a killed one removes nothing.
	// Removing it here too makes the end of stop the end of the session's
	// files (removing what is gone is no error).
	if err := removeSessionStaging(sctx, user, id, r.ID); err != nil {
		fmt.Fprintf(p.Stderr, "%s: removing the staging directory of %s: %v\n", p.Name, r.ID, err)
	}
	final, err := rm.ApplicationReport(sctx, r.ID)
	if err != nil {
		return 1, err
	}
	forgetRecord(p, r.ID.String())
	fmt.Fprintf(p.Stdout, "session %s (%s) stopped: %s, final status %s\n", sessionNameOf(r), r.ID, final.State, final.FinalStatus)
	return 0, nil
}

// sessionList prints the running sessions.
func sessionList(ctx context.Context, p Program, args []string) (int, error) {
	fs := flag.NewFlagSet(p.Name+" session list", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	keytab := fs.String("keytab", "", "Kerberos keytab (else the ticket cache)")
	principal := fs.String("principal", "", "Kerberos principal of -keytab")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	_, id, cfg, err := sessionLogin(ctx, *keytab, *principal)
	if err != nil {
		return 1, err
	}
	if id != nil {
		defer id.Close()
	}
	found, err := findSessions(ctx, cfg, "")
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(p.Stdout, "%-20s %-32s %-10s %s\n", "NAME", "APPLICATION", "STATE", "JOBS")
	for _, a := range found {
		jobs := "?"
		if a.State == yarn.ApplicationRunning {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if cc, err := sessionControl(cctx, cfg, p.Name, a); err == nil {
				if js, err := cc.Jobs(cctx); err == nil {
					running := 0
					for _, j := range js {
						if !jobEnded(j.State) {
							running++
						}
					}
					jobs = fmt.Sprintf("%d running, %d in all", running, len(js))
				}
				cc.Close()
			}
			cancel()
		}
		fmt.Fprintf(p.Stdout, "%-20s %-32s %-10s %s\n", sessionNameOf(a), a.ID, a.State, jobs)
	}
	return 0, nil
}

// sessionSubmit runs one job in a session (-t yarn-session): it ships the
// encoded graph and the job's own credentials to the session's
// JobManager and follows the job to its end.
func (c *client) sessionSubmit(ctx context.Context, g *jobgraph.JobGraph) (*Result, error) {
	if err := g.Validate(operator.Names(), nil); err != nil {
		return nil, err
	}
	b, err := jobgraph.Encode(g)
	if err != nil {
		return nil, err
	}
	cfg, err := clientYARNConfig(c.req.User, c.req.Identity, c.req.ProxyUser)
	if err != nil {
		return nil, err
	}
	r, err := resolveSession(ctx, cfg, c.p.Name, c.rf.Session)
	if err != nil {
		return nil, err
	}
	cc, err := sessionControl(ctx, cfg, c.p.Name, r)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	// Following the job survives the session's JobManager restarting.
	cc.Relocate = relocator(cfg, r.ID)
	sub := jobmanager.SubmitRequest{Graph: b, Identity: c.req.User}
	if c.req.ProxyUser != "" {
		sub.Identity = c.req.ProxyUser
	}
	if c.req.Identity != nil {
		creds, err := c.jobCredentials(ctx)
		if err != nil {
			return nil, err
		}
		sub.Credentials = creds
	}
	if self, err := selfBinary(); err == nil {
		sub.BinarySHA256 = self.sha256
		sub.JobManagerOperators = jobManagerOperators(g)
	}
	var resp jobmanager.SubmitResponse
	err = cc.Do(ctx, http.MethodPost, "/v1/jobs", sub, &resp)
	if ce := (*control.Error)(nil); errors.As(err, &ce) && ce.Status == http.StatusConflict {
		// The session runs another binary: ship this one (session_binary.go).
		ref, note, serr := c.shipBinary(ctx, r.ID)
		if serr != nil {
			return nil, serr
		}
		fmt.Fprintf(c.p.Stdout, "session %s runs another binary: shipping this one with the job (%s)\n", sessionNameOf(r), note)
		sub.Binary = ref
		err = cc.Do(ctx, http.MethodPost, "/v1/jobs", sub, &resp)
	}
	if err != nil {
		return nil, fmt.Errorf("submitting to session %s: %w", r.ID, err)
	}
	fmt.Fprintf(c.p.Stdout, "submitted job %s to session %s (%s)\n", resp.ID, sessionNameOf(r), r.ID)
	if c.rf.Detached {
		fmt.Fprintln(c.p.Stdout, resp.ID)
		return &Result{JobID: resp.ID, Name: g.Name, State: "submitted"}, nil
	}
	out := &syncWriter{w: c.p.Stdout}
	defer keepJobCredentials(ctx, cc, resp.ID, c.req, sub.Credentials, out)()
	return followSessionJob(ctx, cc, resp.ID, out)
}

// jobCredentials are the HDFS delegation tokens of the submitting user,
// for the job alone.
func (c *client) jobCredentials(ctx context.Context) ([]byte, error) {
	return jobCredentials(ctx, c.req)
}

// jobCredentials are the HDFS delegation tokens of req's user (its proxy
// user, if any), for one session job alone.
func jobCredentials(ctx context.Context, req deploy.Request) ([]byte, error) {
	// The job's user renews them while its client pushes fresh ones
	// (session_credentials.go).
	hcfg, err := jobHDFSConfig(req)
	if err != nil {
		return nil, err
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	toks, err := fs.DelegationTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("the job's HDFS delegation tokens: %w", err)
	}
	creds := &yarn.Credentials{}
	for _, t := range toks {
		creds.AddToken(t.Service, t)
	}
	return creds.MarshalBinary()
}

// followSessionJob polls a session's job until it ends, printing its
// progress, and cancels it when ctx ends first.
func followSessionJob(ctx context.Context, cc *control.Client, id string, out io.Writer) (*Result, error) {
	last := ""
	submitted := time.Now()
	allRunning := false
	for {
		var st control.JobStatus
		err := cc.Do(ctx, http.MethodGet, "/v1/jobs/"+id, nil, &st)
		if err != nil && ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = cc.Cancel(cctx, id)
			cancel()
			return nil, fmt.Errorf("job %s cancelled: %w", id, ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("following job %s: %w", id, err)
		}
		line := fmt.Sprintf("job %s %s, subtasks %d running, %d finished of %d, %d records out",
			st.ID, st.State, st.Subtasks.Running, st.Subtasks.Finished, st.Subtasks.Total, st.RecordsOut)
		if line != last {
			fmt.Fprintln(out, line)
			last = line
		}
		if !allRunning && st.Subtasks.Total > 0 && st.Subtasks.Running+st.Subtasks.Finished == st.Subtasks.Total {
			allRunning = true
			fmt.Fprintf(out, "job %s: every subtask running or done %d ms after it was submitted\n", st.ID, time.Since(submitted).Milliseconds())
		}
		if jobEnded(st.State) && st.State != jobmanager.StateRestarting {
			res := &Result{JobID: st.ID, Name: st.Name, State: st.State, Attempts: st.Attempt + 1, Counters: st.Counters,
				RootCause: st.RootCause, Duration: st.Ended.Sub(st.Started)}
			printResult(out, res)
			if st.State != jobmanager.StateFinished {
				return res, &JobError{Result: res}
			}
			return res, nil
		}
		// Quick while it starts and in a short job's first seconds, where
		// a 250 ms poll would be most of what the user waits for.
		poll := 250 * time.Millisecond
		if !allRunning || time.Since(submitted) < 5*time.Second {
			poll = 20 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// removeSessionStaging removes a session's staging directory as user
// (with id's login on a Kerberos cluster).
func removeSessionStaging(ctx context.Context, user string, id *yarn.Identity, app yarn.ApplicationID) error {
	_, hcfg, err := deploy.ClientConfigs(deploy.Request{User: user, Identity: id})
	if err != nil {
		return err
	}
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		return err
	}
	defer fs.Close()
	return fs.RemoveStaging(ctx, app.String())
}

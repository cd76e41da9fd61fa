package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/record"
	"github.com/spindle-yarn/spindle/modes/internal/secure"
	"github.com/spindle-yarn/spindle/yarn"
)

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

// liveJobManager attaches to -id (or the session -session names) and
// connects to its JobManager; the caller closes both. An application that
// ended is refused, saying so and then what ended(its id) adds, and this
// machine's record of it is forgotten. A failed connection returns the deployment's report
// with the error (the deployment is closed).
func (r *commandRun) liveJobManager(ctx context.Context, ended func(id string) string) (*deploy.Deployment, yarn.ApplicationReport, *jobManager, error) {
	d, err := r.attachDeployment(ctx)
	if err != nil {
		return nil, yarn.ApplicationReport{}, nil, err
	}
	rep, err := d.RM.ApplicationReport(ctx, d.ID)
	if err == nil && rep.State.IsFinal() {
		forgetRecord(r.p, rep.ID.String())
		err = fmt.Errorf("%s has ended (%s, final status %s)%s", rep.ID, rep.State, rep.FinalStatus, ended(rep.ID.String()))
	}
	var jm *jobManager
	if err == nil {
		jm, err = r.openJobManager(rep)
	}
	if err != nil {
		d.Close()
		return nil, rep, nil, err
	}
	return d, rep, jm, nil
}

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
	d, _, jm, err := r.liveJobManager(ctx, func(string) string { return ": it has no job to cancel" })
	if err != nil {
		return 1, err
	}
	defer d.Close()
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

// stop asks -id's JobManager (through this machine's record, or a
// ClientToAMToken) to cancel its jobs and unregister with -status, waits
// up to -grace for the application to end, and otherwise kills it through
// the ResourceManager, which only -status KILLED allows; its staging
// directory and record are removed.
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

package yarn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

func appPath(id ApplicationID) string { return "/apps/" + url.PathEscape(id.String()) }

// NewApplication asks the RM for a new application id, and the largest
// container the scheduler grants.
func (c *RESTClient) NewApplication(ctx context.Context) (ApplicationID, Resource, error) {
	var r restNewApplication
	if _, err := c.do(ctx, restCall{op: "new application", method: "getNewApplication", verb: http.MethodPost, path: "/apps/new-application"}, &r); err != nil {
		return ApplicationID{}, Resource{}, err
	}
	id, err := ParseApplicationID(r.ApplicationID)
	if err != nil {
		return ApplicationID{}, Resource{}, &OpError{Op: "new application", Err: err}
	}
	return id, r.MaximumResourceCapability.toResource(), nil
}

// Submit submits an application, as RMClient.Submit does. A submission
// using what the REST API cannot express (a Lifetime, SchedulingProperties,
// custom resource types for the AM, a retry policy or TokensConf for its
// container, a local resource Pattern or UploadToSharedCache) is refused
// before anything is sent. The RM must allow REST submissions
// (yarn.webapp.enable-rest-app-submissions, true by default).
func (c *RESTClient) Submit(ctx context.Context, s *ApplicationSubmission) error {
	id := s.ID.String()
	if err := s.Validate(); err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	body, err := submissionToREST(s)
	if err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	_, err = c.do(ctx, restCall{op: "submit", id: id, method: "submitApplication", verb: http.MethodPost,
		path: "/apps", body: body, ok: []int{http.StatusAccepted, http.StatusOK}}, nil)
	return err
}

// appQuery leaves out the pending resource requests, which the RM
// otherwise lists in full for every application.
var appQuery = url.Values{"deSelects": {"resourceRequests"}}

// ApplicationReport returns the RM's report of an application. An
// application the RM does not know gives an error matching
// ErrApplicationNotFound.
//
// The REST API does not carry all of the RPC report: OriginalTrackingURL,
// Submitted, ClientToAMToken and AMRMToken stay empty, and
// Usage.ReservedContainers is 0 while the application runs. CurrentAttempt
// is read from the application's attempts, with a second request.
func (c *RESTClient) ApplicationReport(ctx context.Context, id ApplicationID) (ApplicationReport, error) {
	var r restAppWrapper
	if _, err := c.do(ctx, restCall{op: "application report", id: id.String(), method: "getApplicationReport",
		verb: http.MethodGet, path: appPath(id), query: appQuery, app: true}, &r); err != nil {
		return ApplicationReport{}, err
	}
	if r.App == nil {
		return ApplicationReport{}, &OpError{Op: "application report", ID: id.String(), Err: errors.New("the RM sent no app")}
	}
	rep, err := r.App.toReport()
	if err != nil {
		return ApplicationReport{}, &OpError{Op: "application report", ID: id.String(), Err: err}
	}
	switch rep.State {
	case ApplicationNew, ApplicationNewSaving, ApplicationSubmitted:
		// No attempt yet.
	default:
		attempts, err := c.ApplicationAttempts(ctx, id)
		if err != nil {
			return ApplicationReport{}, err
		}
		for _, a := range attempts {
			if a.ID.Attempt > rep.CurrentAttempt.Attempt {
				rep.CurrentAttempt = a.ID
			}
		}
	}
	return rep, nil
}

// Applications lists the applications f selects, as RMClient.Applications
// does; CurrentAttempt is not filled in (see ApplicationReport). The REST
// API filters by one user and one queue: with several, this client filters
// them itself. It has no scopes: f.Scope must be ScopeAll.
func (c *RESTClient) Applications(ctx context.Context, f ApplicationFilter) ([]ApplicationReport, error) {
	if f.Scope != ScopeAll {
		return nil, &OpError{Op: "list applications", Err: errors.New("the REST API lists applications only as ScopeAll")}
	}
	q := url.Values{"deSelects": {"resourceRequests"}}
	join := func(key string, vals []string) {
		if len(vals) > 0 {
			q.Set(key, strings.Join(vals, ","))
		}
	}
	var states []string
	for _, s := range f.States {
		states = append(states, s.String())
	}
	join("states", states)
	join("applicationTypes", f.Types)
	join("applicationTags", f.Tags)
	if len(f.Users) == 1 {
		q.Set("user", f.Users[0])
	}
	if len(f.Queues) == 1 {
		q.Set("queue", f.Queues[0])
	}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if f.Limit > 0 && len(f.Users) <= 1 && len(f.Queues) <= 1 {
		q.Set("limit", strconv.FormatInt(f.Limit, 10))
	}
	millis := func(key string, t time.Time) {
		if !t.IsZero() {
			q.Set(key, strconv.FormatInt(t.UnixMilli(), 10))
		}
	}
	millis("startedTimeBegin", f.StartedFrom)
	millis("startedTimeEnd", f.StartedTo)
	millis("finishedTimeBegin", f.FinishedFrom)
	millis("finishedTimeEnd", f.FinishedTo)

	var r restApps
	if _, err := c.do(ctx, restCall{op: "list applications", method: "getApplications", verb: http.MethodGet, path: "/apps", query: q}, &r); err != nil {
		return nil, err
	}
	var out []ApplicationReport
	if r.Apps == nil {
		return nil, nil
	}
	for _, a := range r.Apps.App {
		rep, err := a.toReport()
		if err != nil {
			return nil, &OpError{Op: "list applications", Err: err}
		}
		if len(f.Users) > 1 && !slices.Contains(f.Users, rep.User) {
			continue
		}
		if len(f.Queues) > 1 && !slices.ContainsFunc(f.Queues, func(q string) bool { return queueMatches(q, rep.Queue) }) {
			continue
		}
		out = append(out, rep)
		if f.Limit > 0 && int64(len(out)) == f.Limit {
			break
		}
	}
	return out, nil
}

// queueMatches reports whether a filter's queue (a leaf name or a path)
// names the application's queue (a path, "root.default").
func queueMatches(filter, queue string) bool {
	return filter == queue || strings.HasSuffix(queue, "."+filter)
}

// Kill asks the RM to kill an application and returns whether the kill has
// completed (HTTP 200); the RM accepts it (202) and finishes it
// asynchronously. Use KillAndWait to wait.
func (c *RESTClient) Kill(ctx context.Context, id ApplicationID, diagnostics string) (bool, error) {
	status, err := c.do(ctx, restCall{op: "kill", id: id.String(), method: "forceKillApplication", verb: http.MethodPut,
		path: appPath(id) + "/state", body: restAppState{State: "KILLED", Diagnostics: diagnostics},
		ok: []int{http.StatusOK, http.StatusAccepted}, app: true}, nil)
	return err == nil && status == http.StatusOK, err
}

// KillAndWait kills an application and returns its report once the RM has
// it in a final state. It repeats the kill until the RM answers that it is
// done, so a kill lost in a failover is sent again.
func (c *RESTClient) KillAndWait(ctx context.Context, id ApplicationID, diagnostics string) (ApplicationReport, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := c.Kill(ctx, id, diagnostics)
		if err != nil {
			return ApplicationReport{}, err
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return ApplicationReport{}, &OpError{Op: "kill", ID: id.String(), Err: fmt.Errorf("not killed yet: %w", ctx.Err())}
		case <-t.C:
		}
	}
	return c.WaitForState(ctx, id, 100*time.Millisecond, func(r ApplicationReport) bool { return r.State.IsFinal() })
}

// WaitForState polls the application's report every interval until done
// returns true for it, and returns that report.
func (c *RESTClient) WaitForState(ctx context.Context, id ApplicationID, interval time.Duration, done func(ApplicationReport) bool) (ApplicationReport, error) {
	return waitForState(ctx, id, interval, done, c.ApplicationReport)
}

// ApplicationAttempts lists an application's ApplicationMaster attempts.
// The REST API gives each attempt's id, state, AM container and times, but
// not its host, RPC port, tracking URLs or diagnostics.
func (c *RESTClient) ApplicationAttempts(ctx context.Context, id ApplicationID) ([]ApplicationAttemptReport, error) {
	var r restAttempts
	if _, err := c.do(ctx, restCall{op: "list attempts", id: id.String(), method: "getApplicationAttempts",
		verb: http.MethodGet, path: appPath(id) + "/appattempts", app: true}, &r); err != nil {
		return nil, err
	}
	var out []ApplicationAttemptReport
	if r.AppAttempts != nil {
		for _, a := range r.AppAttempts.AppAttempt {
			ar, err := a.toReport()
			if err != nil {
				return nil, &OpError{Op: "list attempts", ID: id.String(), Err: err}
			}
			out = append(out, ar)
		}
	}
	return out, nil
}

// Containers lists the running containers of an application attempt. Once
// the attempt has ended the list is empty: the ResourceManager keeps no
// record of finished containers (only a timeline service would), so read
// an AM's exit status with WaitForCompletion and containers' logs with
// RESTClient.ContainerLog while the NodeManager keeps them.
func (c *RESTClient) Containers(ctx context.Context, attempt ApplicationAttemptID) ([]ContainerReport, error) {
	var r restContainers
	path := appPath(attempt.Application) + "/appattempts/" + url.PathEscape(attempt.String()) + "/containers"
	if _, err := c.do(ctx, restCall{op: "list containers", id: attempt.String(), method: "getContainers",
		verb: http.MethodGet, path: path, app: true}, &r); err != nil {
		return nil, err
	}
	var out []ContainerReport
	for _, rc := range r.list() {
		cr, err := rc.toReport()
		if err != nil {
			return nil, &OpError{Op: "list containers", ID: attempt.String(), Err: err}
		}
		out = append(out, cr)
	}
	return out, nil
}

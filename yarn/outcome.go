package yarn

import (
	"context"
	"regexp"
	"strconv"
	"time"
)

// ResourceManager is what the RPC client (RMClient) and the REST client
// (RESTClient) both offer, so that code above them can take either.
type ResourceManager interface {
	NewApplication(ctx context.Context) (ApplicationID, Resource, error)
	Submit(ctx context.Context, s *ApplicationSubmission) error
	ApplicationReport(ctx context.Context, id ApplicationID) (ApplicationReport, error)
	ApplicationRunning(ctx context.Context, id ApplicationID) (bool, error)
	Applications(ctx context.Context, f ApplicationFilter) ([]ApplicationReport, error)
	ApplicationAttempts(ctx context.Context, id ApplicationID) ([]ApplicationAttemptReport, error)
	Containers(ctx context.Context, attempt ApplicationAttemptID) ([]ContainerReport, error)
	Kill(ctx context.Context, id ApplicationID, diagnostics string) (bool, error)
	KillAndWait(ctx context.Context, id ApplicationID, diagnostics string) (ApplicationReport, error)
	WaitForState(ctx context.Context, id ApplicationID, interval time.Duration, done func(ApplicationReport) bool) (ApplicationReport, error)
	WaitForCompletion(ctx context.Context, id ApplicationID) (Completion, error)
	ClusterMetrics(ctx context.Context) (ClusterMetrics, error)
	Nodes(ctx context.Context, states ...NodeState) ([]NodeReport, error)
	Queue(ctx context.Context, name string, o QueueOptions) (QueueInfo, error)
	Queues(ctx context.Context) ([]QueueInfo, error)
	CurrentRM() string
	Failovers() int64
	Close() error
}

var (
	_ ResourceManager = (*RMClient)(nil)
	_ ResourceManager = (*RESTClient)(nil)
)

// A Completion is how an application ended.
type Completion struct {
	// Report is the application's report in its final state.
	Report ApplicationReport
	// AMExitStatus is the exit status of the last attempt's
	// ApplicationMaster container, when YARN reported one (AMExitKnown).
	// YARN reports it when the container exited before the AM unregistered
	// (a crash, or a main that returned without unregistering: such an
	// application ends FAILED even with exit status 0); an AM that
	// unregistered and then exited leaves it unknown.
	AMExitStatus int
	AMExitKnown  bool
}

// Succeeded reports whether the application finished and its
// ApplicationMaster said it succeeded.
func (c Completion) Succeeded() bool {
	return c.Report.State == ApplicationFinished && c.Report.FinalStatus == FinalSucceeded
}

// completionPoll is how often WaitForCompletion asks for the report.
const completionPoll = 200 * time.Millisecond

// WaitForCompletion waits until the application reaches a final state
// (FINISHED, FAILED or KILLED) and returns how it ended. It returns early
// with ctx's error, wrapped with the state last seen.
func (c *RMClient) WaitForCompletion(ctx context.Context, id ApplicationID) (Completion, error) {
	return waitForCompletion(ctx, id, c.WaitForState, c.ApplicationAttempts)
}

// WaitForCompletion waits until the application reaches a final state, as
// RMClient.WaitForCompletion does.
func (c *RESTClient) WaitForCompletion(ctx context.Context, id ApplicationID) (Completion, error) {
	return waitForCompletion(ctx, id, c.WaitForState, c.ApplicationAttempts)
}

func waitForCompletion(ctx context.Context, id ApplicationID,
	wait func(context.Context, ApplicationID, time.Duration, func(ApplicationReport) bool) (ApplicationReport, error),
	attempts func(context.Context, ApplicationID) ([]ApplicationAttemptReport, error)) (Completion, error) {
	r, err := wait(ctx, id, completionPoll, func(r ApplicationReport) bool { return r.State.IsFinal() })
	if err != nil {
		return Completion{Report: r}, err
	}
	out := Completion{Report: r}
	// The last attempt's diagnostics name its AM container's exit status;
	// the application's own diagnostics repeat them when it failed.
	diag := r.Diagnostics
	if as, err := attempts(ctx, id); err == nil && len(as) > 0 {
		last := as[0]
		for _, a := range as[1:] {
			if a.ID.Attempt > last.ID.Attempt {
				last = a
			}
		}
		if last.Diagnostics != "" {
			diag = last.Diagnostics
		}
	}
	out.AMExitStatus, out.AMExitKnown = AMExitStatus(diag)
	return out, nil
}

// amExit matches the ResourceManager's words for an AM container that
// ended: "AM Container for appattempt_… exited with  exitCode: 1".
var amExit = regexp.MustCompile(`exitCode: (-?[0-9]+)`)

// AMExitStatus reads the ApplicationMaster container's exit status from an
// application's or attempt's diagnostics, the only place YARN reports it
// after the attempt ends. With several (one per failed attempt), the last
// is returned.
func AMExitStatus(diagnostics string) (status int, ok bool) {
	m := amExit.FindAllStringSubmatch(diagnostics, -1)
	if len(m) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	if err != nil {
		return 0, false
	}
	return n, true
}

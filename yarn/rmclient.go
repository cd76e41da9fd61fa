package yarn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

// The protocol a client speaks to the ResourceManager's client port.
const applicationClientProtocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"

// Methods of ApplicationClientProtocol that Hadoop marks @Idempotent: the
// RM gives the same answer to a repeat (submitApplication included: the RM
// accepts a second submission of a known application id as done).
// getDelegationToken, @Idempotent in Hadoop too, is left out on purpose:
// every call mints a token, so one an RM may have executed is not sent
// again, neither to it nor to another RM; the caller sees the error.
var rmIdempotent = map[string]bool{
	"getNewApplication":      true,
	"submitApplication":      true,
	"forceKillApplication":   true,
	"getApplicationReport":   true,
	"getApplications":        true,
	"getClusterMetrics":      true,
	"getClusterNodes":        true,
	"getQueueInfo":           true,
	"getApplicationAttempts": true,
	"getContainers":          true,
}

// RMClient talks to a cluster's ResourceManager over Hadoop RPC
// (ApplicationClientProtocol), failing over between ResourceManagers when
// the cluster runs several.
//
// An RMClient is safe for concurrent use. Close releases its connections.
type RMClient struct {
	cfg Config
	rms *rmSet
}

// NewRMClient checks cfg and returns a client. It does not dial; the first
// call does.
func NewRMClient(cfg Config) (*RMClient, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.ResourceManagers = append([]RMAddress(nil), cfg.ResourceManagers...)
	auth, err := rpcAuth(&cfg)
	if err != nil {
		return nil, err
	}
	var targets []rmTarget
	for _, rm := range cfg.ResourceManagers {
		if rm.RPC == "" {
			return nil, configErrorf("ResourceManager %q has no RPC address", rm.ID)
		}
		targets = append(targets, rmTarget{id: rm.ID, addr: rm.RPC})
	}
	log := cfg.Logger
	c := &RMClient{cfg: cfg}
	c.rms = newRMSet(targets, cfg.FailoverTimeout, log, newRPCMetrics(cfg.Registerer, "rm"), func(addr string) (*ipc.Client, error) {
		return ipc.New(ipc.Config{
			Addr:       addr,
			Protocol:   applicationClientProtocol,
			Auth:       auth,
			Idempotent: rmIdempotent,
			Dialer:     cfg.Dialer,
			Logger:     loggerWith(log, "rm", addr),
		})
	})
	return c, nil
}

func loggerWith(l *slog.Logger, role, addr string) *slog.Logger {
	if l == nil {
		return nil
	}
	return l.With("role", role, "addr", addr)
}

// Close releases the client's connections.
func (c *RMClient) Close() error { return c.rms.close() }

// CurrentRM names the ResourceManager the client talks to now.
func (c *RMClient) CurrentRM() string { return c.rms.Current() }

// Failovers counts the client's switches from one ResourceManager to
// another.
func (c *RMClient) Failovers() int64 { return c.rms.Failovers() }

func (c *RMClient) call(ctx context.Context, op, id, method string, req, resp proto.Message) error {
	if err := c.rms.call(ctx, method, req, resp); err != nil {
		return &OpError{Op: op, ID: id, Err: err}
	}
	return nil
}

// NewApplication asks the RM for a new application id, and the largest
// container the scheduler grants.
func (c *RMClient) NewApplication(ctx context.Context) (ApplicationID, Resource, error) {
	resp := &pb.GetNewApplicationResponseProto{}
	if err := c.call(ctx, "new application", "", "getNewApplication", &pb.GetNewApplicationRequestProto{}, resp); err != nil {
		return ApplicationID{}, Resource{}, err
	}
	return appIDFromProto(resp.GetApplicationId()), resourceFromProto(resp.GetMaximumCapability()), nil
}

// Submit submits an application. s.ID must come from NewApplication. The
// RM accepts it and starts it asynchronously: watch its state with
// ApplicationReport or WaitForState.
func (c *RMClient) Submit(ctx context.Context, s *ApplicationSubmission) error {
	id := s.ID.String()
	if err := s.Validate(); err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	ctxProto, err := submissionToProto(s)
	if err != nil {
		return &OpError{Op: "submit", ID: id, Err: err}
	}
	req := &pb.SubmitApplicationRequestProto{ApplicationSubmissionContext: ctxProto}
	return c.call(ctx, "submit", id, "submitApplication", req, &pb.SubmitApplicationResponseProto{})
}

// ApplicationReport returns the RM's report of an application. An
// application the RM does not know gives an error matching
// ErrApplicationNotFound.
func (c *RMClient) ApplicationReport(ctx context.Context, id ApplicationID) (ApplicationReport, error) {
	req := &pb.GetApplicationReportRequestProto{ApplicationId: appIDToProto(id)}
	resp := &pb.GetApplicationReportResponseProto{}
	if err := c.call(ctx, "application report", id.String(), "getApplicationReport", req, resp); err != nil {
		return ApplicationReport{}, err
	}
	return reportFromProto(resp.GetApplicationReport()), nil
}

// Applications lists the applications f selects; the zero filter lists
// every application the RM keeps.
func (c *RMClient) Applications(ctx context.Context, f ApplicationFilter) ([]ApplicationReport, error) {
	resp := &pb.GetApplicationsResponseProto{}
	if err := c.call(ctx, "list applications", "", "getApplications", filterToProto(f), resp); err != nil {
		return nil, err
	}
	return reportsFromProto(resp.GetApplications()), nil
}

// Kill asks the RM to kill an application and returns whether the kill has
// completed; the RM finishes it asynchronously. Use KillAndWait to wait.
func (c *RMClient) Kill(ctx context.Context, id ApplicationID, diagnostics string) (bool, error) {
	req := &pb.KillApplicationRequestProto{ApplicationId: appIDToProto(id)}
	if diagnostics != "" {
		req.Diagnostics = proto.String(diagnostics)
	}
	resp := &pb.KillApplicationResponseProto{}
	if err := c.call(ctx, "kill", id.String(), "forceKillApplication", req, resp); err != nil {
		return false, err
	}
	return resp.GetIsKillCompleted(), nil
}

// KillAndWait kills an application and waits until the RM reports it in a
// final state.
func (c *RMClient) KillAndWait(ctx context.Context, id ApplicationID, diagnostics string) (ApplicationReport, error) {
	if _, err := c.Kill(ctx, id, diagnostics); err != nil {
		return ApplicationReport{}, err
	}
	return c.WaitForState(ctx, id, 100*time.Millisecond, func(r ApplicationReport) bool { return r.State.IsFinal() })
}

// WaitForState polls the application's report every interval until done
// returns true for it, and returns that report.
func (c *RMClient) WaitForState(ctx context.Context, id ApplicationID, interval time.Duration, done func(ApplicationReport) bool) (ApplicationReport, error) {
	return waitForState(ctx, id, interval, done, c.ApplicationReport)
}

// ClusterMetrics returns the cluster's node and container counts.
func (c *RMClient) ClusterMetrics(ctx context.Context) (ClusterMetrics, error) {
	resp := &pb.GetClusterMetricsResponseProto{}
	if err := c.call(ctx, "cluster metrics", "", "getClusterMetrics", &pb.GetClusterMetricsRequestProto{}, resp); err != nil {
		return ClusterMetrics{}, err
	}
	return metricsFromProto(resp.GetClusterMetrics()), nil
}

// Nodes lists the cluster's NodeManagers in the given states; no states
// means RUNNING ones.
func (c *RMClient) Nodes(ctx context.Context, states ...NodeState) ([]NodeReport, error) {
	req := &pb.GetClusterNodesRequestProto{}
	for _, s := range states {
		req.NodeStates = append(req.NodeStates, pb.NodeStateProto(s))
	}
	resp := &pb.GetClusterNodesResponseProto{}
	if err := c.call(ctx, "list nodes", "", "getClusterNodes", req, resp); err != nil {
		return nil, err
	}
	return nodeReportsFromProto(resp.GetNodeReports()), nil
}

// queueInfo describes a scheduler queue ("default", "root.batch"); Queue
// and Queues are its public forms.
func (c *RMClient) queueInfo(ctx context.Context, queue string, children, recursive bool) (QueueInfo, error) {
	req := &pb.GetQueueInfoRequestProto{
		QueueName:           proto.String(queue),
		IncludeApplications: proto.Bool(false),
		IncludeChildQueues:  proto.Bool(children),
		Recursive:           proto.Bool(recursive),
	}
	resp := &pb.GetQueueInfoResponseProto{}
	if err := c.call(ctx, "queue info", queue, "getQueueInfo", req, resp); err != nil {
		return QueueInfo{}, err
	}
	return queueInfoFromProto(resp.GetQueueInfo()), nil
}

// DelegationToken obtains an RM delegation token that renewer (a user's
// short name, usually the RM principal's) may renew. The RM issues them only
// to Kerberos-authenticated callers.
func (c *RMClient) DelegationToken(ctx context.Context, renewer string) (Token, error) {
	req := &hadoopcommon.GetDelegationTokenRequestProto{Renewer: proto.String(renewer)}
	resp := &hadoopcommon.GetDelegationTokenResponseProto{}
	if err := c.call(ctx, "delegation token", "", "getDelegationToken", req, resp); err != nil {
		return Token{}, err
	}
	if resp.GetToken() == nil {
		return Token{}, &OpError{Op: "delegation token", Err: fmt.Errorf("the RM returned no token")}
	}
	return tokenFromProto(resp.GetToken()), nil
}

// ApplicationAttempts lists an application's ApplicationMaster attempts.
func (c *RMClient) ApplicationAttempts(ctx context.Context, id ApplicationID) ([]ApplicationAttemptReport, error) {
	req := &pb.GetApplicationAttemptsRequestProto{ApplicationId: appIDToProto(id)}
	resp := &pb.GetApplicationAttemptsResponseProto{}
	if err := c.call(ctx, "list attempts", id.String(), "getApplicationAttempts", req, resp); err != nil {
		return nil, err
	}
	var out []ApplicationAttemptReport
	for _, a := range resp.GetApplicationAttempts() {
		out = append(out, attemptReportFromProto(a))
	}
	return out, nil
}

// Containers lists the running containers of an application attempt. Once
// the attempt has ended the list is empty: the ResourceManager keeps no
// record of finished containers (only a timeline service would), so read
// an AM's exit status with WaitForCompletion and containers' logs with
// RESTClient.ContainerLog while the NodeManager keeps them.
func (c *RMClient) Containers(ctx context.Context, attempt ApplicationAttemptID) ([]ContainerReport, error) {
	req := &pb.GetContainersRequestProto{ApplicationAttemptId: attemptIDToProto(attempt)}
	resp := &pb.GetContainersResponseProto{}
	if err := c.call(ctx, "list containers", attempt.String(), "getContainers", req, resp); err != nil {
		return nil, err
	}
	var out []ContainerReport
	for _, p := range resp.GetContainers() {
		out = append(out, containerReportFromProto(p))
	}
	return out, nil
}

// waitForState polls report every interval until done accepts the
// application's report; both RM clients wait this way.
func waitForState(ctx context.Context, id ApplicationID, interval time.Duration, done func(ApplicationReport) bool,
	report func(context.Context, ApplicationID) (ApplicationReport, error)) (ApplicationReport, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r, err := report(ctx, id)
		if err != nil {
			return r, err
		}
		if done(r) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, &OpError{Op: "wait", ID: id.String(), Err: fmt.Errorf("application still %s: %w", r.State, ctx.Err())}
		case <-t.C:
		}
	}
}

//go:build integration

package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// reportDiffOpts compares an application's report over REST with the one
// over RPC. What the REST API does not carry, or the RM presents
// differently there, is left out:
//   - OriginalTrackingURL, ClientToAMToken and AMRMToken: AppInfo has no
//     such fields.
//   - AppNodeLabel and AMNodeLabel: the RPC report shows the RM's
//     placeholders "<Not set>" and "<DEFAULT_PARTITION>" where AppInfo
//     shows the submitted expression, absent or "".
//   - RMClusterID: under HA AppInfo names the RM cluster
//     (yarn.resourcemanager.cluster-id); the RPC report leaves it empty.
var reportDiffOpts = cmp.Options{
	cmpopts.IgnoreFields(yarn.ApplicationReport{}, "OriginalTrackingURL", "ClientToAMToken", "AMRMToken", "AppNodeLabel", "AMNodeLabel", "RMClusterID"),
	cmpopts.EquateEmpty(),
}

// TestRESTClusterQueries: cluster info, metrics, nodes and queues over REST
// agree with the same over RPC.
func TestRESTClusterQueries(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, time.Minute)
	rest := restClient(t, tb, "alice")
	rpc := rmClient(t, tb, "alice", "")

	info, err := rest.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.HAState != "ACTIVE" || info.State != "STARTED" || info.Version != tb.Ready.HadoopVersion {
		t.Errorf("cluster info %+v, want STARTED, ACTIVE, version %s", info, tb.Ready.HadoopVersion)
	}
	rm, err := rest.ClusterMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := rpc.ClusterMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(pm, rm); d != "" || rm.NodeManagers != 2 {
		t.Errorf("metrics REST %+v, RPC %+v (-rpc +rest):\n%s", rm, pm, d)
	}
	rn, err := rest.Nodes(ctx, yarn.NodeRunning)
	if err != nil {
		t.Fatal(err)
	}
	pn, err := rpc.Nodes(ctx, yarn.NodeRunning)
	if err != nil {
		t.Fatal(err)
	}
	nodeOpts := cmp.Options{
		// Heartbeats move these between the two calls.
		cmpopts.IgnoreFields(yarn.NodeReport{}, "LastHealthReport", "Used", "NumContainers"),
		cmpopts.SortSlices(func(a, b yarn.NodeReport) bool { return a.ID.String() < b.ID.String() }),
		cmpopts.EquateEmpty(),
	}
	if d := cmp.Diff(pn, rn, nodeOpts); d != "" || len(rn) != 2 {
		t.Errorf("%d nodes over REST; differences (-rpc +rest):\n%s", len(rn), d)
	}
	rq, err := rest.Queue(ctx, "batch", yarn.QueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pq, err := rpc.Queue(ctx, "batch", yarn.QueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	queueOpts := cmp.Options{
		// The REST API has no queue statistics; the queue's use moves.
		cmpopts.IgnoreFields(yarn.QueueInfo{}, "Statistics", "CurrentCapacity", "SchedulerType"),
		cmpopts.EquateApprox(0, 1e-4),
		cmpopts.EquateEmpty(),
	}
	if d := cmp.Diff(pq, rq, queueOpts); d != "" {
		t.Errorf("queue batch (-rpc +rest):\n%s", d)
	}
	if rq.Capacity < 0.19 || rq.Capacity > 0.21 {
		t.Errorf("queue batch capacity %v, want 0.2", rq.Capacity)
	}
}

// TestRESTSubmitReportKill: a submission with most fields set goes in over
// REST, its report over REST equals the one over RPC, it is killed over
// REST; an unknown application gives ErrApplicationNotFound; what REST
// cannot express is refused before sending.
func TestRESTSubmitReportKill(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 2*time.Minute)
	rest := restClient(t, tb, "alice")
	rpc := rmClient(t, tb, "alice", "")

	id, max, err := rest.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if max.MemoryMB < 1024 || max.VCores < 1 {
		t.Errorf("maximum capability %+v", max)
	}
	creds := &yarn.Credentials{}
	creds.AddSecret("spindle.secret", []byte{0, 1, 2, 0xfe, 0xff})
	sub := &yarn.ApplicationSubmission{
		ID:                              id,
		Name:                            "spindle-rest-kill",
		Queue:                           "batch",
		Type:                            "SPINDLE-REST",
		Tags:                            []string{"spindle-rest", "second"},
		AMResource:                      yarn.Resource{MemoryMB: 128, VCores: 1},
		MaxAttempts:                     2,
		AttemptFailuresValidityInterval: 30 * time.Second,
		KeepContainersAcrossAttempts:    true,
		LogAggregation:                  &yarn.LogAggregationContext{IncludePattern: ".*", ExcludePattern: "nothing"},
		AM: yarn.ContainerLaunchContext{
			Commands:    []string{"sleep 120 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
			Environment: map[string]string{"SPINDLE_TEST": "1", "QUOTED": `a "b" c`},
			Credentials: creds,
			ACLs:        map[yarn.ApplicationAccessType]string{yarn.AccessViewApp: "bob", yarn.AccessModifyApp: "alice"},
		},
	}
	bad := *sub
	bad.Lifetime = time.Hour
	if err := rest.Submit(ctx, &bad); err == nil || !strings.Contains(err.Error(), "Lifetime") {
		t.Fatalf("submitting a Lifetime over REST: %v, want a refusal naming Lifetime", err)
	}
	if err := rest.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	// A second submission of the same id is accepted as done, as over RPC.
	if err := rest.Submit(ctx, sub); err != nil {
		t.Errorf("submitting %s again: %v", id, err)
	}
	r, err := rest.WaitForState(ctx, id, 100*time.Millisecond, func(r yarn.ApplicationReport) bool {
		return r.State >= yarn.ApplicationAccepted
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != yarn.ApplicationAccepted || r.Name != sub.Name || r.Queue != "root.batch" || r.Type != sub.Type ||
		r.User != "alice" || r.CurrentAttempt.Application != id {
		t.Errorf("report over REST: %+v", r)
	}
	apps, err := rest.Applications(ctx, yarn.ApplicationFilter{Types: []string{"SPINDLE-REST"}, Tags: []string{"spindle-rest"},
		States: []yarn.ApplicationState{yarn.ApplicationAccepted}, Queues: []string{"batch", "default"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].ID != id {
		t.Errorf("Applications(SPINDLE-REST, ACCEPTED) over REST: %d apps, want just %s", len(apps), id)
	}
	attempts, err := rest.ApplicationAttempts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 1 || attempts[0].ID.Attempt != 1 {
		t.Errorf("attempts over REST: %+v", attempts)
	}

	final, err := rest.KillAndWait(ctx, id, "killed by TestRESTSubmitReportKill")
	if err != nil {
		t.Fatal(err)
	}
	if final.State != yarn.ApplicationKilled || final.FinalStatus != yarn.FinalKilled ||
		!strings.Contains(final.Diagnostics, "killed by TestRESTSubmitReportKill") {
		t.Fatalf("after kill over REST: %s / %s %q", final.State, final.FinalStatus, final.Diagnostics)
	}
	viaRPC, err := rpc.ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	viaREST, err := rest.ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(viaRPC, viaREST, reportDiffOpts); d != "" {
		t.Errorf("report of %s (-rpc +rest):\n%s", id, d)
	}

	_, err = rest.ApplicationReport(ctx, yarn.ApplicationID{ClusterTimestamp: 1, ID: 999999})
	var re *yarn.RemoteError
	if !errors.Is(err, yarn.ErrApplicationNotFound) || !errors.As(err, &re) || !strings.HasSuffix(re.Class, "NotFoundException") {
		t.Fatalf("report of an unknown application over REST: %v, want ErrApplicationNotFound from a NotFoundException", err)
	}
	if _, err := rest.Kill(ctx, yarn.ApplicationID{ClusterTimestamp: 1, ID: 999999}, ""); !errors.Is(err, yarn.ErrApplicationNotFound) {
		t.Fatalf("kill of an unknown application over REST: %v, want ErrApplicationNotFound", err)
	}
}

// TestRESTDshell: dshell -rest submits over REST; its ApplicationMaster
// (over RPC) runs 8 containers to SUCCEEDED; the finished application's
// report and attempts over REST equal those over RPC.
func TestRESTDshell(t *testing.T) {
	tb := testbed.Get(t)
	r := runDshell(t, tb, "-rest", "-n", "8", "--", "/bin/true")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	for _, want := range []string{"ApplicationMaster running on", "FINISHED / SUCCEEDED", "8 of 8 containers exited 0"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	checkStagingRemoved(t, tb, r.appID)
	id, err := yarn.ParseApplicationID(r.appID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, time.Minute)
	rest := restClient(t, tb, "alice")
	rpc := rmClient(t, tb, "alice", "")
	viaRPC, err := rpc.ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	viaREST, err := rest.ApplicationReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(viaRPC, viaREST, reportDiffOpts); d != "" {
		t.Errorf("report of %s (-rpc +rest):\n%s", id, d)
	}
	pa, err := rpc.ApplicationAttempts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := rest.ApplicationAttempts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The RM's REST attempt info has no host, port, URLs or diagnostics.
	attemptOpts := cmpopts.IgnoreFields(yarn.ApplicationAttemptReport{}, "Host", "RPCPort", "TrackingURL", "OriginalTrackingURL", "Diagnostics")
	if d := cmp.Diff(pa, ra, attemptOpts); d != "" || len(ra) != 1 {
		t.Errorf("attempts of %s (-rpc +rest):\n%s", id, d)
	}
}

// TestRESTKerberos: the SPNEGO principal may be given with _HOST (the
// host of each request, 127.0.0.1 canonicalized to localhost); a principal
// the KDC does not know fails with ErrUnauthorized at once, without trying
// the RMs for the failover timeout; a client without Kerberos gets the
// RM's 401 as ErrUnauthorized. (Application ACLs cannot be shown on the
// bed: its yarn.admin.acl is "*".)
func TestRESTKerberos(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	ctx := testContext(t, 2*time.Minute)

	cfg := yarnConfig(t, tb, "alice", "")
	cfg.Kerberos.HTTPPrincipal = "HTTP/_HOST@" + tb.Ready.Kerberos.Realm
	hostPattern, err := yarn.NewRESTClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer hostPattern.Close()
	if _, err := hostPattern.ClusterMetrics(ctx); err != nil {
		t.Fatalf("with HTTP/_HOST: %v", err)
	}

	cfg.Kerberos.HTTPPrincipal = "HTTP/no-such-host.example.com"
	cfg.FailoverTimeout = 30 * time.Second
	wrong, err := yarn.NewRESTClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	start := time.Now()
	_, err = wrong.ClusterMetrics(ctx)
	if !errors.Is(err, yarn.ErrUnauthorized) || errors.Is(err, yarn.ErrNoActiveResourceManager) || time.Since(start) > 10*time.Second {
		t.Errorf("with an unknown HTTP principal: %v after %s, want ErrUnauthorized at once", err, time.Since(start))
	}

	// Without Kerberos credentials the RM answers 401.
	cfg = yarnConfig(t, tb, "alice", "")
	cfg.Kerberos = nil
	anon, err := yarn.NewRESTClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.ClusterMetrics(ctx); !errors.Is(err, yarn.ErrUnauthorized) {
		t.Errorf("without SPNEGO on the Kerberos bed: %v, want ErrUnauthorized", err)
	}
}

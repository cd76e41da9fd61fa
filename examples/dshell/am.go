package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
	"github.com/spindle-yarn/spindle/yarn/engine"
)

// shellProfile is the name of dshell's one engine profile.
const shellProfile = "shell"

// runAM is the ApplicationMaster: the engine (package yarn/engine) gets
// the containers allocated and started; runAM counts how each ends and
// reports the outcome when every one has run.
func runAM(ctx context.Context, log *slog.Logger) error {
	spec, err := specFromEnv()
	if err != nil {
		return err
	}
	creds, err := yarn.ReadCredentialsFile(os.Getenv("HADOOP_TOKEN_FILE_LOCATION"))
	if err != nil {
		return fmt.Errorf("reading the container's tokens: %w", err)
	}
	amrm, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		return err
	}
	am, err := yarn.NewAMClient(yarn.AMConfig{
		ResourceManagers: spec.RMs, Token: amrm, RPCProtection: spec.RPCProtection, Logger: log,
	})
	if err != nil {
		return err
	}
	defer am.Close()
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken, RPCProtection: spec.RPCProtection, Logger: log})
	if err != nil {
		return err
	}
	defer nm.Close()

	// Workers get the application's tokens (an HDFS delegation token on
	// secure clusters, for localization), never the AMRMToken.
	workerCreds := &yarn.Credentials{}
	for alias, t := range creds.Tokens() {
		if t.Kind != yarn.KindAMRMToken {
			workerCreds.AddToken(alias, t)
		}
	}
	command, err := workerCommand(spec.Command)
	if err != nil {
		return err
	}
	launch := yarn.ContainerLaunchContext{
		LocalResources: spec.Resources,
		Commands:       []string{command},
	}
	toks, err := startTokens(ctx, spec, creds, workerCreds, log)
	if err != nil {
		return err
	}
	defer toks.close()

	st := newAMState(spec.Containers)
	srv, trackingURL, err := serveStatus(st)
	if err != nil {
		return err
	}
	defer srv.Close()

	host, _ := os.Hostname()
	if h := os.Getenv("NM_HOST"); h != "" {
		host = h
	}
	reg, err := am.Register(ctx, yarn.AMRegistration{Host: host, TrackingURL: trackingURL})
	if err != nil {
		return err
	}
	registered := time.Now()
	log.Info("registered", "tracking_url", trackingURL)

	e, err := engine.New(engine.Config{
		AM: am, NM: nm, Logger: log, MaxCapability: reg.MaxCapability,
		Profiles: []engine.Profile{spec.profile()},
		LaunchContext: func(context.Context, yarn.Container, string) (yarn.ContainerLaunchContext, error) {
			l := launch
			l.Credentials = toks.launchCredentials() // the newest tokens
			return l, nil
		},
		// dshell runs short commands and waits for them to end, which it
		// learns only at heartbeats: the engine's idle default (3 s) would
		// add up to 3 s to every run, and 500 ms (measured) added 0.25 s on
		// average to 64 containers of /bin/true taking 4 s. An allocate
		// is cheap for the RM. The RM hands a burst out over several
		// NodeManager heartbeats (on the test bed, whose NodeManagers beat
		// every 100 ms, 64 containers came in 3 to 4 batches over some
		// 250 ms), so while containers are asked for the AM heartbeats
		// every 50 ms and takes each batch within 50 ms of its allocation
		// (measured: registered to 64 allocated 231-262 ms in 5 runs; with
		// 100 ms, 192-387 ms in 13). That lasts only until the last
		// container arrives; ends are looked for every 250 ms. Hadoop's
		// DistributedShell heartbeats every second.
		FastHeartbeat: 50 * time.Millisecond,
		SlowHeartbeat: 250 * time.Millisecond,
		MaxFailures:   spec.engineMaxFailures(),
		NodeFailures:  spec.nodeFailures(),
		RackOf: func(host string) string {
			if r := spec.Racks[host]; r != "" {
				return r
			}
			return engine.DefaultRack
		},
	})
	if err != nil {
		return err
	}
	st.attach(e)
	stopWatch := st.watchAllocation(ctx)
	runErr := e.Run(ctx, engine.Callbacks{
		OnStarted: func(c yarn.Container, _ string) { st.started(c) },
		OnStartFailed: func(c yarn.Container, _ string, err error) {
			st.startFailed(c, err)
			if spec.MaxFailures == 0 {
				st.noReplacement()
			}
		},
		OnCompleted: func(c engine.Completion) {
			st.completed(c)
			if c.Counted && spec.MaxFailures == 0 {
				st.noReplacement()
			}
		},
	})
	stopWatch()
	ended := time.Now()
	final := st.snapshot()
	u := yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded}
	switch {
	case errors.Is(runErr, engine.ErrBudgetExhausted):
		u.FinalStatus = yarn.FinalFailed
	case runErr != nil:
		return runErr
	case final.Completed-final.Failed < spec.Containers:
		u.FinalStatus = yarn.FinalFailed
	}
	u.Diagnostics = summarize(final, spec.Containers)
	var be *engine.BudgetError
	if errors.As(runErr, &be) {
		// Each failure is listed above; the engine's message repeats the
		// last one's diagnostics.
		u.Diagnostics += fmt.Sprintf("\ngave up: failure budget exhausted, %d failed containers reached -max-failures %d",
			len(be.Failures), be.MaxFailures)
	}
	log.Info("finishing", "status", u.FinalStatus, "diagnostics", u.Diagnostics)
	log.Info("timings", append(st.timings(registered), "registered_to_all_ended", ended.Sub(registered).Round(time.Millisecond).String(),
		"peak_rss_kib", peakRSSKiB())...)
	if err := am.Finish(ctx, u); err != nil {
		return err
	}
	// Unregistered: the RM runs no further attempt, so the staging
	// directory is no longer needed.
	if !spec.KeepStaging {
		removeStaging(ctx, spec, toks.hdfsTokens(), log)
	}
	log.Info("exiting", "peak_rss_kib", peakRSSKiB())
	return nil
}

// profile is the engine profile of the spec's containers: each runs the
// command once (a container that exits 0 is not replaced).
func (s *jobSpec) profile() engine.Profile {
	p := engine.Profile{
		Name:     shellProfile,
		Resource: yarn.Resource{MemoryMB: s.MemoryMB, VCores: s.VCores, Custom: s.Custom},
		Priority: yarn.Priority(s.Priority), NodeLabel: s.NodeLabel, Nodes: s.Nodes, Racks: s.RackNames,
		StrictLocality: s.StrictLocality, AntiAffinity: s.AntiAffinity, RunOnce: true, Target: s.Containers,
	}
	if s.Opportunistic {
		p.ExecutionType = yarn.ExecutionOpportunistic
	}
	return p
}

// engineMaxFailures maps -max-failures to the engine's budget: 0 (no
// retries) means no budget, since nothing is retried and every failure is
// reported at the end; F > 0 is the engine's budget as it is.
func (s *jobSpec) engineMaxFailures() int {
	if s.MaxFailures == 0 {
		return -1
	}
	return s.MaxFailures
}

// nodeFailures is the engine's NodeFailures: without retries a failed
// container is final, so a node where several failed is no reason to
// avoid it (-1 disables exclusion); with them, the engine's default.
func (s *jobSpec) nodeFailures() int {
	if s.MaxFailures == 0 {
		return -1
	}
	return 0
}

// peakRSSKiB is this process's peak resident set (VmHWM), or -1.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return kib
			}
		}
	}
	return -1
}

// removeStaging deletes the application's staging directory with the
// application's newest HDFS delegation tokens (toks, on a Kerberos
// cluster), or as the user without Kerberos.
func removeStaging(ctx context.Context, spec *jobSpec, toks []hdfs.Token, log *slog.Logger) {
	cfg := hdfs.Config{
		NameNodes: spec.HDFS.NameNodes, NameService: spec.HDFS.NameService, User: spec.HDFS.User,
		StagingRoot: spec.HDFS.StagingRoot, Tokens: toks, RPCProtection: spec.RPCProtection, Logger: log,
	}
	auth := "simple authentication"
	if len(cfg.Tokens) > 0 {
		auth = "delegation tokens"
	}
	fs, err := hdfs.NewClient(cfg)
	if err == nil {
		defer fs.Close()
		err = fs.RemoveStaging(ctx, spec.AppID)
	}
	if err != nil {
		log.Error("removing the staging directory", "err", err)
		return
	}
	log.Info("removed the staging directory", "dir", fs.StagingDir(spec.AppID), "auth", auth)
}

// summarize is the AM's final diagnostics: counts and, for each failed
// container, its exit status and diagnostics, and the containers the
// cluster took away and the engine replaced. The client prints it.
func summarize(s amStatus, wanted int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d containers exited 0", s.Completed-s.Failed, wanted)
	if s.Completed-s.Failed > wanted {
		// Cannot happen with the engine's RunOnce accounting; say so if it
		// does rather than print a count above 100%.
		fmt.Fprintf(&b, " (more than asked for)")
	}
	sort.Slice(s.Containers, func(i, j int) bool { return s.Containers[i].ID < s.Containers[j].ID })
	for _, c := range s.Containers {
		switch c.State {
		case stateFailedToStart:
			fmt.Fprintf(&b, "\n  %s on %s: failed to start: %s", c.ID, c.Node, clip(c.Diagnostics, 400))
		case stateFailed:
			fmt.Fprintf(&b, "\n  %s on %s: exit status %d: %s", c.ID, c.Node, c.ExitStatus, essential(c.Diagnostics))
		case stateLost:
			fmt.Fprintf(&b, "\n  %s on %s: %s (exit status %d), run again elsewhere", c.ID, c.Node, c.Cause, c.ExitStatus)
		}
	}
	return b.String()
}

// essential picks from a NodeManager's container diagnostics what a user
// needs: the tail of the container's stderr that the NodeManager quotes
// ("Last 4096 bytes of stderr :"), else the end of the text.
func essential(diag string) string {
	const marker = "bytes of stderr :"
	if i := strings.LastIndex(diag, marker); i >= 0 {
		tail := strings.TrimSpace(diag[i+len(marker):])
		if j := strings.Index(tail, "\n\n"); j >= 0 {
			tail = tail[:j]
		}
		if tail != "" {
			return "stderr: " + clip(strings.ReplaceAll(tail, "\n", " | "), 400)
		}
	}
	return clip(strings.TrimSpace(strings.ReplaceAll(diag, "\n", " ")), 400)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Container states in the AM's status.
const (
	stateAllocated     = "allocated"
	stateRunning       = "running"
	stateSucceeded     = "succeeded"
	stateFailed        = "failed"          // the command failed (counted against -max-failures)
	stateFailedToStart = "failed-to-start" // the NodeManager refused it (counted too)
	stateLost          = "lost"            // the cluster took it away; the engine replaced it
	stateReleased      = "released"        // given back by the engine, never ran the command
)

// amState is the AM's view of its containers, fed by the engine's
// callbacks (one at a time, in order) and read by the status endpoint.
type amState struct {
	mu       sync.Mutex
	wanted   int
	e        *engine.Engine
	byID     map[yarn.ContainerID]*containerResult
	finals   int // failures not run again (-max-failures 0)
	nStarted int
	allStart time.Time // when the wanted-th container started
	allAlloc time.Time // when the wanted-th container was allocated
	status   amStatus
}

func newAMState(wanted int) *amState {
	return &amState{wanted: wanted, byID: map[yarn.ContainerID]*containerResult{}, status: amStatus{Wanted: wanted}}
}

func (s *amState) attach(e *engine.Engine) {
	s.mu.Lock()
	s.e = e
	s.mu.Unlock()
}

// watchAllocation notes when the engine has received as many containers
// as wanted, for the timings line (the engine has no allocation callback;
// a poll of its counters every 10 ms costs nothing next to the RM's
// heartbeats). The returned func stops it.
func (s *amState) watchAllocation(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			st := s.e.Status()
			if st.Allocated-st.Excess >= s.wanted {
				s.mu.Lock()
				s.allAlloc = time.Now()
				s.mu.Unlock()
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (s *amState) record(c yarn.Container) *containerResult {
	r := s.byID[c.ID]
	if r == nil {
		r = &containerResult{ID: c.ID.String(), Node: c.NodeID.String(), State: stateAllocated}
		s.byID[c.ID] = r
	}
	return r
}

func (s *amState) started(c yarn.Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(c).State = stateRunning
	s.nStarted++
	if s.nStarted == s.wanted {
		s.allStart = time.Now()
	}
}

func (s *amState) startFailed(c yarn.Container, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.record(c)
	r.State, r.ExitStatus, r.Diagnostics = stateFailedToStart, yarn.ExitInvalid, err.Error()
	s.status.Completed++
	s.status.Failed++
}

func (s *amState) completed(c engine.Completion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.record(c.Container)
	if c.Released && r.State == stateFailedToStart {
		return // the engine released it after the refused start: already counted
	}
	r.ExitStatus, r.Cause = c.Status.ExitStatus, c.Cause.String()
	switch {
	case c.Released:
		r.State = stateReleased
	case c.Cause == engine.CauseSucceeded:
		r.State = stateSucceeded
		s.status.Completed++
	case c.Counted:
		r.State, r.Diagnostics = stateFailed, c.Status.Diagnostics
		s.status.Completed++
		s.status.Failed++
	default:
		r.State, r.Diagnostics = stateLost, c.Status.Diagnostics
	}
}

// noReplacement makes the failure just reported final: the engine would
// run a failed container's command again, and without -max-failures
// dshell, like Hadoop's DistributedShell, does not. Lowering the target by
// one in a single step (AddTarget) cannot undo a success the engine
// counted meanwhile, as setting it to a total read before would.
func (s *amState) noReplacement() {
	s.mu.Lock()
	s.finals++
	e := s.e
	s.mu.Unlock()
	if _, err := e.AddTarget(shellProfile, -1); err != nil {
		panic(err) // cannot happen: the profile exists
	}
}

// timings are the log attributes of how long the AM took from
// registration to every container allocated and to every one started.
func (s *amState) timings(registered time.Time) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	since := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Sub(registered).Round(time.Millisecond).String()
	}
	return []any{"containers", s.wanted, "registered_to_all_allocated", since(s.allAlloc), "registered_to_all_started", since(s.allStart)}
}

func (s *amState) snapshot() amStatus {
	s.mu.Lock()
	e := s.e
	s.mu.Unlock()
	var p engine.ProfileStatus
	if e != nil {
		p = e.Status().Profiles[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.status
	out.Allocated, out.Running = p.Allocated-p.Excess, p.Running
	out.Containers = nil
	for _, r := range s.byID {
		out.Containers = append(out.Containers, *r)
	}
	return out
}

// serveStatus serves the AM's status as JSON on an ephemeral port and
// returns its URL, registered as the application's tracking URL.
func serveStatus(st *amState) (*http.Server, string, error) {
	host := os.Getenv("NM_HOST")
	if host == "" {
		host = "localhost"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(st.snapshot())
		}),
	}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String() + "/", nil
}

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
)

// runAM is the ApplicationMaster: it asks the RM for the containers, starts
// the command in each, waits for all of them and reports the outcome.
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

	st := &amState{status: amStatus{Wanted: spec.Containers}, byID: map[yarn.ContainerID]*containerResult{}}
	srv, trackingURL, err := serveStatus(st)
	if err != nil {
		return err
	}
	defer srv.Close()

	host, _ := os.Hostname()
	if h := os.Getenv("NM_HOST"); h != "" {
		host = h
	}
	if _, err := am.Register(ctx, yarn.AMRegistration{Host: host, TrackingURL: trackingURL}); err != nil {
		return err
	}
	log.Info("registered", "tracking_url", trackingURL)

	command, err := workerCommand(spec.Command)
	if err != nil {
		return err
	}
	launch := yarn.ContainerLaunchContext{
		LocalResources: spec.Resources,
		Commands:       []string{command},
		Credentials:    workerCreds,
	}
	ask := func(n int) []yarn.ResourceRequest {
		return []yarn.ResourceRequest{{
			Priority:      yarn.Priority(spec.Priority),
			ResourceName:  "*",
			Resource:      yarn.Resource{MemoryMB: spec.MemoryMB, VCores: spec.VCores},
			NumContainers: int32(n),
		}}
	}

	var starts sync.WaitGroup
	allocated := 0
	req := yarn.AllocateRequest{Asks: ask(spec.Containers)}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for st.completed() < spec.Containers {
		req.Progress = float32(st.completed()) / float32(spec.Containers)
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			return err
		}
		req = yarn.AllocateRequest{}
		if resp.Command == yarn.AMResync {
			// The RM forgot our asks: ask again for what is still missing.
			req.Asks = ask(spec.Containers - allocated)
			continue
		}
		if resp.Command == yarn.AMShutdown {
			return errors.New("the ResourceManager ordered a shutdown")
		}
		for _, c := range resp.Allocated {
			if allocated >= spec.Containers {
				req.Release = append(req.Release, c.ID) // more than we asked for
				continue
			}
			allocated++
			st.add(c)
			starts.Add(1)
			go func(c yarn.Container) {
				defer starts.Done()
				if err := nm.Start(ctx, c, launch); err != nil {
					log.Error("start failed", "container", c.ID, "err", err)
					st.finish(c.ID, "failed-to-start", -1, err.Error())
					return
				}
				st.running(c.ID)
			}(c)
		}
		for _, s := range resp.Completed {
			st.finish(s.ID, "completed", s.ExitStatus, s.Diagnostics)
		}
		if allocated >= spec.Containers && len(req.Release) == 0 {
			// Nothing outstanding: make sure the RM's count is zero too.
			req.Asks = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	starts.Wait()

	final := st.snapshot()
	u := yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded}
	if final.Failed > 0 {
		u.FinalStatus = yarn.FinalFailed
	}
	u.Diagnostics = summarize(final)
	log.Info("finishing", "status", u.FinalStatus, "diagnostics", u.Diagnostics)
	if err := am.Finish(ctx, u); err != nil {
		return err
	}
	// Unregistered: the RM runs no further attempt, so the staging
	// directory is no longer needed.
	if !spec.KeepStaging {
		removeStaging(ctx, spec, creds, log)
	}
	return nil
}

// removeStaging deletes the application's staging directory with the
// application's HDFS delegation tokens (on a Kerberos cluster the AM has
// no keytab), or as the user without Kerberos.
func removeStaging(ctx context.Context, spec *jobSpec, creds *yarn.Credentials, log *slog.Logger) {
	cfg := hdfs.Config{
		NameNodes: spec.HDFS.NameNodes, NameService: spec.HDFS.NameService, User: spec.HDFS.User,
		StagingRoot: spec.HDFS.StagingRoot, Tokens: yarn.HDFSTokens(creds), RPCProtection: spec.RPCProtection, Logger: log,
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
// container, its exit status and diagnostics. The client prints it.
func summarize(s amStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d containers exited 0", s.Completed-s.Failed, s.Wanted)
	sort.Slice(s.Containers, func(i, j int) bool { return s.Containers[i].ID < s.Containers[j].ID })
	for _, c := range s.Containers {
		if c.State == "failed-to-start" || (c.State == "completed" && c.ExitStatus != 0) {
			fmt.Fprintf(&b, "\n  %s on %s: exit status %d: %s", c.ID, c.Node, c.ExitStatus, essential(c.Diagnostics))
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

// amState is the AM's view of its containers, shared with the status
// endpoint.
type amState struct {
	mu     sync.Mutex
	status amStatus
	byID   map[yarn.ContainerID]*containerResult
}

func (s *amState) add(c yarn.Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[c.ID] = &containerResult{ID: c.ID.String(), Node: c.NodeID.String(), State: "allocated"}
	s.status.Allocated++
}

func (s *amState) running(id yarn.ContainerID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byID[id]; r != nil && r.State == "allocated" {
		r.State = "running"
		s.status.Running++
	}
}

func (s *amState) finish(id yarn.ContainerID, state string, exit int32, diag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byID[id]
	if r == nil || r.State == "completed" || r.State == "failed-to-start" {
		return // not ours (released), or already counted
	}
	if r.State == "running" {
		s.status.Running--
	}
	r.State, r.ExitStatus, r.Diagnostics = state, exit, diag
	s.status.Completed++
	if state != "completed" || exit != 0 {
		s.status.Failed++
	}
}

func (s *amState) completed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.Completed
}

func (s *amState) snapshot() amStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.status
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

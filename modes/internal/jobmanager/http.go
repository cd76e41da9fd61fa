package jobmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// maxBody bounds a control request's body.
const maxBody = 16 << 20

// Handler serves package control's protocol. It trusts every caller:
// serve it only over the mutual TLS of package secure, or, to admit
// clients without the deployment secret, behind clienttoam.Middleware on
// secure.ServerTLSConfigCertOptional (as the ApplicationMaster does).
func (m *JobManager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/taskmanagers", func(w http.ResponseWriter, r *http.Request) {
		var req control.RegisterRequest
		if !decode(w, r, &req) {
			return
		}
		if err := m.Register(req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, control.RegisterResponse{PollSeconds: int(m.cfg.PollTimeout / time.Second)})
	})
	mux.HandleFunc("GET /v1/taskmanagers/{id}/commands", func(w http.ResponseWriter, r *http.Request) {
		after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		if err != nil {
			http.Error(w, "after: "+err.Error(), http.StatusBadRequest)
			return
		}
		cs, err := m.Commands(r.Context(), r.PathValue("id"), after)
		if err != nil && r.Context().Err() != nil {
			// The TaskManager's connection broke while it waited for
			// commands: its process died or its node went away. Waiting
			// for the ResourceManager to report the container (a heartbeat
			// or more) would let a restart deploy onto it again.
			m.taskManagerGone(r.PathValue("id"), "its connection to the JobManager broke (its process died or its node is unreachable)", false)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, cs)
	})
	mux.HandleFunc("POST /v1/taskmanagers/{id}/updates", func(w http.ResponseWriter, r *http.Request) {
		var us []control.TaskUpdate
		if !decode(w, r, &us) {
			return
		}
		if err := m.Update(r.PathValue("id"), us); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/splits", func(w http.ResponseWriter, r *http.Request) {
		var req control.SplitRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := m.NextSplit(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, resp)
	})
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, m.Jobs())
	})
	if m.cfg.Session != nil {
		m.sessionHandlers(mux)
	}
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		switch status {
		case "":
			status = "KILLED"
		case "SUCCEEDED", "FAILED", "KILLED":
		default:
			http.Error(w, fmt.Sprintf("status %q: the final status is SUCCEEDED, FAILED or KILLED", status), http.StatusBadRequest)
			return
		}
		if m.cfg.OnStop == nil {
			http.Error(w, "this JobManager cannot be stopped by a client", http.StatusNotImplemented)
			return
		}
		// The deployment learns the status asked for before its jobs are
		// cancelled: main, which ends when they do, then finds the stop
		// and ends with that status. (Called after the cancel, a CI run
		// caught a Per-Job deployment stopped with SUCCEEDED ending
		// FAILED, its cancelled job's failure.)
		m.cfg.OnStop(status)
		m.mu.Lock()
		for _, j := range m.jobs {
			if !j.done {
				j.cancelRequested = true
			}
		}
		m.broadcast()
		m.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		err := m.Cancel(r.PathValue("id"))
		switch {
		case errors.Is(err, ErrUnknownJob):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(v); err != nil {
		http.Error(w, "decoding the request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Status is the tracking page's JSON (/api/status).
type Status struct {
	Application  string              `json:"application,omitempty"`
	TaskManagers int                 `json:"taskmanagers"`
	Jobs         []control.JobStatus `json:"jobs"`
	// Warnings are what the application should know now (SetWarning),
	// e.g. that its tokens are about to expire.
	Warnings []string `json:"warnings,omitempty"`
}

// TrackingHandler serves the read-only tracking page registered with the
// ResourceManager: / (HTML), /api/status (JSON) and, when metrics is not
// nil, /metrics. It shows no secret and takes no action, so it is served
// over plain HTTP, which the RM's web proxy can reach.
func (m *JobManager) TrackingHandler(appID string, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	status := func() Status {
		return Status{Application: appID, TaskManagers: m.TaskManagers(), Jobs: m.Jobs(), Warnings: m.Warnings()}
	}
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status())
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		st := status()
		var b strings.Builder
		fmt.Fprintf(&b, "<!doctype html><html><head><title>Spindle %s</title></head><body>", html.EscapeString(appID))
		fmt.Fprintf(&b, "<h1>Spindle JobManager</h1><p>application %s, %d TaskManagers</p>", html.EscapeString(appID), st.TaskManagers)
		for _, w := range st.Warnings {
			fmt.Fprintf(&b, "<p style=\"background:#fdd;padding:4px\"><b>warning:</b> %s</p>", html.EscapeString(w))
		}
		b.WriteString("<table border=1><tr><th>job</th><th>name</th><th>state</th><th>attempt</th><th>subtasks running/finished/total</th><th>records out</th><th>root cause</th></tr>")
		for _, j := range st.Jobs {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d/%d/%d</td><td>%d</td><td>%s</td></tr>",
				html.EscapeString(j.ID), html.EscapeString(j.Name), j.State, j.Attempt,
				j.Subtasks.Running, j.Subtasks.Finished, j.Subtasks.Total, j.RecordsOut, html.EscapeString(j.RootCause))
		}
		b.WriteString("</table></body></html>\n")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, b.String())
	})
	return mux
}

// SetWarning shows text on the tracking page under key (one warning per
// key: a later one replaces it); "" removes it.
func (m *JobManager) SetWarning(key, text string) {
	m.warnMu.Lock()
	defer m.warnMu.Unlock()
	if text == "" {
		delete(m.warnings, key)
		return
	}
	if m.warnings == nil {
		m.warnings = map[string]string{}
	}
	m.warnings[key] = text
}

// Warnings are the tracking page's warnings, by key.
func (m *JobManager) Warnings() []string {
	m.warnMu.Lock()
	defer m.warnMu.Unlock()
	keys := make([]string, 0, len(m.warnings))
	for k := range m.warnings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, m.warnings[k])
	}
	return out
}

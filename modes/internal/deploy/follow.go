package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/spindle-yarn/spindle/yarn"
)

// Status is what the JobManager serves at <tracking URL>/api/status.
type Status struct {
	Jobs []JobStatus `json:"jobs"`
}

// JobStatus is one job in Status.
type JobStatus struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Subtasks struct {
		Running  int `json:"running"`
		Finished int `json:"finished"`
		Total    int `json:"total"`
	} `json:"subtasks"`
	RecordsOut   int64 `json:"records_out"`
	TaskManagers int   `json:"taskmanagers"`
}

// pollInterval is how often Follow asks the RM and the JobManager.
const pollInterval = 250 * time.Millisecond

// Follow prints the application's progress to out until it ends: state
// changes, the tracking URL, and while it runs a line per job whenever its
// state, subtasks or TaskManagers change (on a terminal, one line redrawn
// with records and records per second). At the end it prints the final
// state and status and the diagnostics, where the JobManager puts the
// job's result or the root cause of its failure, removes the staging
// directory (unless Request.KeepStaging) and returns the final report.
// While it runs, the JobManager of a deployment this client made gets its
// heartbeats (lease.go) and, on a Kerberos cluster without a shipped
// keytab, fresh HDFS delegation tokens before the current ones die
// (push.go), each push printed.
//
// When ctx ends first (Ctrl-C, a timeout), Follow kills the application,
// waits for it to end, removes the staging directory and returns an error
// wrapping ctx's; a Deployment from Attach it leaves running, returning
// ctx's error.
func (d *Deployment) Follow(ctx context.Context, out io.Writer) (yarn.ApplicationReport, error) {
	p := newPrinter(out)
	// A transport of its own, whose idle connections end with Follow.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	var lastState yarn.ApplicationState
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	leaseReport, stopLease := d.keepLease(ctx)
	defer stopLease()
	credsReport, credsNews, stopCreds := d.keepCredentials(ctx)
	defer stopCreds()
	for {
		r, err := d.RM.ApplicationReport(ctx, d.ID)
		if err != nil && ctx.Err() == nil {
			return r, fmt.Errorf("following %s: %w", d.ID, err)
		}
		if err == nil {
			leaseReport(r)
			credsReport(r)
			for _, s := range credsNews() {
				p.line(s)
			}
			if r.State != lastState && !r.State.IsFinal() {
				lastState = r.State
				if r.State == yarn.ApplicationRunning {
					p.line(fmt.Sprintf("%s running: JobManager on %s, tracking URL %s", d.ID, r.Host, trackingURL(r)))
				} else {
					p.line(fmt.Sprintf("%s %s", d.ID, r.State))
				}
			}
			if u := trackingURL(r); r.State == yarn.ApplicationRunning && u != "" {
				if st, ok := jobManagerStatus(ctx, hc, u); ok {
					p.status(st, time.Now())
				}
			}
			if r.State.IsFinal() {
				p.line(fmt.Sprintf("%s ended: %s, final status %s", d.ID, r.State, r.FinalStatus))
				if diag := strings.TrimSpace(r.Diagnostics); diag != "" {
					p.line(diag)
				}
				d.cleanup(ctx)
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			p.end()
			if d.attached {
				fmt.Fprintf(out, "%s left running (%v)\n", d.ID, ctx.Err())
				return r, fmt.Errorf("stopped following %s: %w", d.ID, ctx.Err())
			}
			kr, kerr := d.killAndClean(ctx, "the Spindle client stopped following: "+context.Cause(ctx).Error())
			if kerr != nil {
				return kr, fmt.Errorf("%s: %w; killing it failed: %v", d.ID, ctx.Err(), kerr)
			}
			fmt.Fprintf(out, "%s killed (%v)\n", d.ID, ctx.Err())
			return kr, fmt.Errorf("%s killed: %w", d.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

// Kill kills the application, waits until the ResourceManager reports it
// ended, and removes its staging directory (unless Request.KeepStaging).
// why lands in the application's diagnostics.
func (d *Deployment) Kill(ctx context.Context, why string) error {
	_, err := d.killAndClean(ctx, why)
	return err
}

func (d *Deployment) killAndClean(ctx context.Context, why string) (yarn.ApplicationReport, error) {
	kctx, cancel := cleanupContext(ctx)
	defer cancel()
	r, err := d.RM.KillAndWait(kctx, d.ID, why)
	if err != nil {
		return r, fmt.Errorf("killing %s: %w", d.ID, err)
	}
	d.cleanup(kctx)
	return r, nil
}

// cleanup removes the staging directory of an application that ended; the
// JobManager may have done so already, which is fine.
func (d *Deployment) cleanup(ctx context.Context) {
	if d.keepStaging {
		return
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := d.HDFS.RemoveStaging(cctx, d.ID.String()); err != nil {
		d.log.Warn("removing the staging directory", "app", d.ID, "err", err)
	}
}

// trackingURL is the URL the JobManager registered, or, where the report
// lacks it, the RM's proxy for it.
func trackingURL(r yarn.ApplicationReport) string {
	if u := r.OriginalTrackingURL; u != "" && u != "N/A" {
		return u
	}
	if r.TrackingURL == "N/A" {
		return ""
	}
	return r.TrackingURL
}

// jobManagerStatus reads <tracking>/api/status; ok is false when the
// JobManager does not answer with one (yet).
func jobManagerStatus(ctx context.Context, hc *http.Client, tracking string) (Status, bool) {
	u := strings.TrimSuffix(tracking, "/") + "/api/status"
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Status{}, false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Status{}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Status{}, false
	}
	st, err := decodeStatus(resp.Body)
	return st, err == nil
}

// maxStatusBytes bounds the status document Follow reads.
const maxStatusBytes = 1 << 20

// decodeStatus reads a Status from the JobManager's answer.
func decodeStatus(r io.Reader) (Status, error) {
	var st Status
	err := json.NewDecoder(io.LimitReader(r, maxStatusBytes)).Decode(&st)
	return st, err
}

// printer writes Follow's lines: plain lines, or on a terminal the job
// progress redrawn in place on the last line.
type printer struct {
	out      io.Writer
	terminal bool
	// last is the last progress text printed per job (plain), or the
	// redrawn line (terminal).
	last    map[string]string
	drawn   bool // a progress line is on screen, not ended
	prev    map[string]sample
	prevAll string
}

type sample struct {
	at      time.Time
	records int64
	rate    float64
}

func newPrinter(out io.Writer) *printer {
	p := &printer{out: out, last: map[string]string{}, prev: map[string]sample{}}
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// line prints a line of its own, below any progress line.
func (p *printer) line(s string) {
	p.end()
	fmt.Fprintln(p.out, s)
}

// end finishes a redrawn progress line.
func (p *printer) end() {
	if p.drawn {
		fmt.Fprintln(p.out)
		p.drawn = false
	}
}

func (p *printer) status(st Status, now time.Time) {
	var parts []string
	for _, j := range st.Jobs {
		s := p.prev[j.ID]
		if !s.at.IsZero() && now.After(s.at) && j.RecordsOut >= s.records {
			s.rate = float64(j.RecordsOut-s.records) / now.Sub(s.at).Seconds()
		}
		s.at, s.records = now, j.RecordsOut
		p.prev[j.ID] = s
		if p.terminal {
			parts = append(parts, fmt.Sprintf("%s %s, %s, %d records out (%.0f/s)", jobLabel(j), printable(j.State), progressText(j), j.RecordsOut, s.rate))
			continue
		}
		text := fmt.Sprintf("%s %s, %s", jobLabel(j), printable(j.State), progressText(j))
		if p.last[j.ID] != text {
			p.last[j.ID] = text
			fmt.Fprintf(p.out, "%s, %d records out\n", text, j.RecordsOut)
		}
	}
	if p.terminal && len(parts) > 0 {
		all := strings.Join(parts, " | ")
		if all != p.prevAll {
			fmt.Fprintf(p.out, "\r\x1b[K%s", all)
			p.prevAll, p.drawn = all, true
		}
	}
}

func jobLabel(j JobStatus) string {
	if j.Name != "" && j.Name != j.ID {
		return fmt.Sprintf("job %s (%s)", printable(j.Name), printable(j.ID))
	}
	return "job " + printable(j.ID)
}

// printable replaces control characters, so that what the tracking URL
// serves cannot move the cursor or end a line on the user's terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func progressText(j JobStatus) string {
	return fmt.Sprintf("subtasks %d running, %d finished of %d, %d TaskManagers",
		j.Subtasks.Running, j.Subtasks.Finished, j.Subtasks.Total, j.TaskManagers)
}

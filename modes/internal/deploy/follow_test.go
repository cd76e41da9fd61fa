package deploy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/yarn"
)

func TestJobManagerStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"jobs":[{"id":"j1","name":"wordcount","state":"RUNNING","subtasks":{"running":3,"finished":1,"total":8},"records_out":1234,"taskmanagers":2}]}`))
	}))
	defer srv.Close()
	hc := srv.Client()
	st, ok := jobManagerStatus(context.Background(), hc, srv.URL+"/")
	if !ok {
		t.Fatal("no status")
	}
	want := JobStatus{ID: "j1", Name: "wordcount", State: "RUNNING", RecordsOut: 1234, TaskManagers: 2}
	want.Subtasks.Running, want.Subtasks.Finished, want.Subtasks.Total = 3, 1, 8
	if d := cmp.Diff(Status{Jobs: []JobStatus{want}}, st); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	// Without a scheme, as the RM reports some tracking URLs.
	if _, ok := jobManagerStatus(context.Background(), hc, strings.TrimPrefix(srv.URL, "http://")); !ok {
		t.Error("no status from a tracking URL without a scheme")
	}
	if _, ok := jobManagerStatus(context.Background(), hc, srv.URL+"/elsewhere"); ok {
		t.Error("a 404 gave a status")
	}
}

func TestPrinterPlainLinesOnChange(t *testing.T) {
	var buf bytes.Buffer
	p := newPrinter(&buf)
	job := func(running, finished int, records int64) Status {
		j := JobStatus{ID: "j1", Name: "wc", State: "RUNNING", RecordsOut: records, TaskManagers: 2}
		j.Subtasks.Running, j.Subtasks.Finished, j.Subtasks.Total = running, finished, 4
		return Status{Jobs: []JobStatus{j}}
	}
	now := time.Unix(100, 0)
	p.line("application_1_0001 RUNNING")
	p.status(job(4, 0, 10), now)
	p.status(job(4, 0, 500), now.Add(time.Second)) // only records changed: no line
	p.status(job(2, 2, 900), now.Add(2*time.Second))
	p.line("application_1_0001 ended")
	want := "application_1_0001 RUNNING\n" +
		"job wc (j1) RUNNING, subtasks 4 running, 0 finished of 4, 2 TaskManagers, 10 records out\n" +
		"job wc (j1) RUNNING, subtasks 2 running, 2 finished of 4, 2 TaskManagers, 900 records out\n" +
		"application_1_0001 ended\n"
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestPrinterTerminalRedraws(t *testing.T) {
	var buf bytes.Buffer
	p := newPrinter(&buf)
	p.terminal = true
	j := JobStatus{ID: "j1", State: "RUNNING", RecordsOut: 0, TaskManagers: 1}
	j.Subtasks.Total = 2
	now := time.Unix(100, 0)
	p.status(Status{Jobs: []JobStatus{j}}, now)
	j.RecordsOut = 1000
	p.status(Status{Jobs: []JobStatus{j}}, now.Add(2*time.Second))
	p.line("done")
	want := "\r\x1b[Kjob j1 RUNNING, subtasks 0 running, 0 finished of 2, 1 TaskManagers, 0 records out (0/s)" +
		"\r\x1b[Kjob j1 RUNNING, subtasks 0 running, 0 finished of 2, 1 TaskManagers, 1000 records out (500/s)\n" +
		"done\n"
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("output (-want +got):\n%q", d)
	}
}

func TestTrackingURL(t *testing.T) {
	for _, tc := range []struct {
		r    yarn.ApplicationReport
		want string
	}{
		{yarn.ApplicationReport{OriginalTrackingURL: "http://am:1234", TrackingURL: "http://rm/proxy/a"}, "http://am:1234"},
		{yarn.ApplicationReport{OriginalTrackingURL: "N/A", TrackingURL: "http://rm/proxy/a"}, "http://rm/proxy/a"},
		{yarn.ApplicationReport{OriginalTrackingURL: "N/A", TrackingURL: "N/A"}, ""},
	} {
		if got := trackingURL(tc.r); got != tc.want {
			t.Errorf("trackingURL(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// FuzzStatus: whatever the tracking URL answers, decoding it and printing
// it, plainly and on a terminal, does not panic.
func FuzzStatus(f *testing.F) {
	f.Add([]byte(`{"jobs":[{"id":"j1","name":"wordcount","state":"RUNNING","subtasks":{"running":3,"finished":1,"total":8},"records_out":1234,"taskmanagers":2}]}`))
	f.Add([]byte(`{"jobs":[{"id":"j1","records_out":-5},{"id":"j1","records_out":9223372036854775807}]}`))
	f.Add([]byte(`{"jobs":null}`))
	f.Add([]byte(`{"jobs":[{"id":"j\r1","name":"a\u001b[2Jb\n","state":"RUN\u0007"}]}`))
	f.Add([]byte(`<html>proxy error</html>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStatus(bytes.NewReader(b))
		if err != nil {
			return
		}
		now := time.Unix(100, 0)
		for _, terminal := range []bool{false, true} {
			var buf bytes.Buffer
			p := newPrinter(&buf)
			p.terminal = terminal
			p.status(st, now)
			p.status(st, now.Add(time.Second))
			p.line("end")
			// Only the printer's own redraws and line ends.
			out := strings.ReplaceAll(buf.String(), "\r\x1b[K", "")
			if strings.ContainsFunc(strings.ReplaceAll(out, "\n", ""), unicode.IsControl) {
				t.Fatalf("printed a control character from the status: %q", out)
			}
		}
	})
}

package jobmanager_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
)

// TestTrackingPageWarnings: a warning set under a key shows on the
// tracking page, HTML-escaped, and in /api/status, in key order; a later
// one under the same key replaces it and "" removes it.
func TestTrackingPageWarnings(t *testing.T) {
	jm, _ := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 1})
	h := jm.TrackingHandler("application_1700000000000_0009", nil)
	get := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		return rec.Body.String()
	}
	warnings := func() []string {
		var st jobmanager.Status
		if err := json.Unmarshal([]byte(get("/api/status")), &st); err != nil {
			t.Fatal(err)
		}
		return st.Warnings
	}
	jm.SetWarning("tokens/job-2", "job job-2: its token <expires> soon")
	jm.SetWarning("tokens", "the first")
	jm.SetWarning("tokens", "the application's token expires at 12:00")
	if w := warnings(); len(w) != 2 || w[0] != "the application's token expires at 12:00" || w[1] != "job job-2: its token <expires> soon" {
		t.Errorf("warnings %q", w)
	}
	page := get("/")
	if !strings.Contains(page, "its token &lt;expires&gt; soon") || strings.Contains(page, "<expires>") || strings.Contains(page, "the first") {
		t.Errorf("the page shows the warnings wrong:\n%s", page)
	}
	jm.SetWarning("tokens/job-2", "")
	jm.SetWarning("tokens", "")
	if w := warnings(); len(w) != 0 {
		t.Errorf("warnings after removal: %q", w)
	}
	if strings.Contains(get("/"), "warning") {
		t.Error("the page still shows a warning")
	}
}

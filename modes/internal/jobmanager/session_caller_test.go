package jobmanager_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
)

// TestSubmitIdentityOfTokenCaller: a user other than the owner who came
// with a ClientToAMToken submits under their own identity only (else
// their job would run in, and leave behind, TaskManagers later reused by
// the identity they named); the owner and the secret's holders may name
// any.
func TestSubmitIdentityOfTokenCaller(t *testing.T) {
	jm, _ := newSession(t, 1, jobmanager.SessionConfig{MaxTaskManagers: 1})
	h := jm.Handler()
	for _, c := range []struct {
		name     string
		caller   *clienttoam.Caller
		identity string
		refused  bool
	}{
		{"modifier as another", &clienttoam.Caller{User: "carol"}, "alice", true},
		{"modifier without identity", &clienttoam.Caller{User: "carol"}, "", true},
		{"modifier as themself", &clienttoam.Caller{User: "carol"}, "carol", false},
		{"owner as another", &clienttoam.Caller{User: "alice", Owner: true}, "bob", false},
		{"secret holder", nil, "bob", false},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/jobs", strings.NewReader(`{"graph":"","identity":"`+c.identity+`"}`))
		if c.caller != nil {
			req = req.WithContext(clienttoam.WithCaller(req.Context(), *c.caller))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		// Not refused, the empty graph is then refused as a bad request.
		if got := rec.Code == http.StatusForbidden; got != c.refused {
			t.Errorf("%s: %d %s; refused %v, want %v", c.name, rec.Code, strings.TrimSpace(rec.Body.String()), got, c.refused)
		}
		if c.refused && !strings.Contains(rec.Body.String(), "may submit jobs as carol only") {
			t.Errorf("%s: %q does not say whom carol may submit as", c.name, rec.Body.String())
		}
	}
}

package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spindle-yarn/spindle/internal/tokens"
	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// withCredentialsEndpoint adds tokens.PushPath to the control server's
// handler h: a client of an application deployed without a shipped
// keytab pushes fresh HDFS delegation tokens of the application's user,
// which go where the keytab renewer's go (pushTokens): the JobManager's
// own HDFS client, every TaskManager, and TaskManagers started later.
func (a *AppMaster) withCredentialsEndpoint(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST "+tokens.PushPath, a.serveCredentials)
	return mux
}

// serveCredentials answers a push. The control server's middleware let
// in holders of the deployment secret and ClientToAMToken users with
// MODIFY access; of the latter only the owner may replace the tokens
// (they act as the owner on HDFS).
func (a *AppMaster) serveCredentials(w http.ResponseWriter, r *http.Request) {
	if c, ok := clienttoam.CallerFrom(r.Context()); ok && !c.Owner {
		http.Error(w, fmt.Sprintf("user %s may not push credentials to %s: only its owner may (the tokens act as the owner on HDFS)", c.User, a.Spec.AppID), http.StatusForbidden)
		return
	}
	var u control.CredentialsUpdate
	// base64 in JSON: a third more than the bytes, plus the envelope.
	if err := json.NewDecoder(io.LimitReader(r.Body, 2*tokens.MaxPushBytes)).Decode(&u); err != nil {
		http.Error(w, "decoding the credentials update: "+err.Error(), http.StatusBadRequest)
		return
	}
	n, err := a.acceptCredentials(r, u.Tokens)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errNoTokens) {
			status = http.StatusConflict
		}
		a.log.Warn("refused pushed credentials", "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(tokens.PushAnswer{Tokens: n})
}

// errNoTokens: the application holds no HDFS delegation tokens (a
// cluster without Kerberos), so there is nothing to replace.
var errNoTokens = errors.New("the application holds no HDFS delegation tokens (its cluster does not use Kerberos): there is nothing to replace")

// acceptCredentials checks pushed credentials against the application's
// tokens and hands them on; it returns how many tokens it took.
func (a *AppMaster) acceptCredentials(r *http.Request, b []byte) (int, error) {
	k := a.tokens
	if k == nil || k.r == nil {
		return 0, errNoTokens
	}
	toks, err := tokens.CheckPushed(b, a.owner(), k.r.Tokens(), time.Now())
	if err != nil {
		return 0, err
	}
	if err := a.pushTokens(r.Context(), toks); err != nil {
		return 0, err
	}
	if err := k.r.Update(toks); err != nil {
		return 0, err
	}
	for _, t := range toks {
		a.log.Info("a client pushed a fresh HDFS delegation token; the application switched to it", "token", t)
	}
	return len(toks), nil
}

// owner is the application's user, whose tokens it holds.
func (a *AppMaster) owner() string {
	if a.Spec.HDFS.User != "" {
		return a.Spec.HDFS.User
	}
	if k := a.tokens; k != nil && k.r != nil {
		for _, t := range k.r.Tokens() {
			if id, err := t.DelegationIdentifier(); err == nil {
				return id.Owner
			}
		}
	}
	return ""
}

package clienttoam

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/spindle-yarn/spindle/yarn"
)

// ServerConfig is what Middleware checks tokens against.
type ServerConfig struct {
	// Application is the application this ApplicationMaster runs; tokens
	// of other applications are refused. Required.
	Application yarn.ApplicationID
	// Attempt, when not zero, is this ApplicationMaster's attempt: tokens
	// of other attempts are refused with a message saying so (their
	// master key differs anyway).
	Attempt yarn.ApplicationAttemptID
	// Owner is the application's user (short name); they may do
	// everything. Required.
	Owner string
	// ModifyACL is the application's MODIFY_APP ACL as YARN writes it
	// ("user1,user2 group1,group2", "*" for everyone, empty for nobody
	// else). Its users may submit, cancel and stop; its groups are not
	// resolved here (the ApplicationMaster cannot see the cluster's group
	// mapping), so a user granted only through a group is refused.
	ModifyACL string
	// MasterKey returns the attempt's ClientToAMToken master key, nil
	// until the ApplicationMaster registered or when the cluster gave
	// none (no Kerberos): then every token client is refused.
	MasterKey func() []byte
	// Logger logs refusals (user and reason, never a proof); nil is
	// silent.
	Logger *slog.Logger
}

// access is what a request needs.
type access int

const (
	needSecret access = iota // TaskManagers' endpoints and anything unknown
	needView
	needModify
)

// accessOf classifies the control protocol's endpoints (package control).
func accessOf(r *http.Request) access {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && (p == "/v1/jobs" || isJobPath(p, "")):
		return needView
	// /v1/credentials: fresh tokens pushed for the application (its
	// handler lets only the owner's through).
	case r.Method == http.MethodPost && (p == "/v1/jobs" || p == "/v1/stop" || p == "/v1/credentials" || isJobPath(p, "/cancel")):
		return needModify
	}
	return needSecret
}

// isJobPath reports p = /v1/jobs/{id}<suffix> with one non-empty id.
func isJobPath(p, suffix string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/jobs/")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, suffix)
	return ok && id != "" && !strings.Contains(id, "/")
}

// Middleware guards next, the JobManager's control handler. Serve it only
// over a TLS listener whose configuration verifies the deployment pin on
// any certificate a client presents (secure.ServerTLSConfigCertOptional):
// Middleware lets every request with a client certificate through on the
// strength of that check.
func Middleware(cfg ServerConfig, next http.Handler) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "the control protocol is served over TLS only", http.StatusForbidden)
			return
		}
		if len(r.TLS.PeerCertificates) > 0 {
			next.ServeHTTP(w, r) // pinned on the deployment secret in the handshake
			return
		}
		id, password, err := cfg.authenticate(r)
		if err != nil {
			log.Info("refused a client without the deployment secret", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
			w.Header().Set("WWW-Authenticate", Scheme)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		exp, err := Exporter(r.TLS)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// Every answer to an authenticated client proves the server, a
		// refusal included, so the client may believe its message.
		w.Header().Set(ProofHeader, base64.StdEncoding.EncodeToString(ServerProof(password, exp)))
		if r.Method == http.MethodGet && r.URL.Path == ProbePath {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		switch accessOf(r) {
		case needSecret:
			http.Error(w, fmt.Sprintf("%s %s is for the deployment's own containers: a ClientToAMToken does not grant it", r.Method, r.URL.Path), http.StatusForbidden)
			return
		case needModify:
			if !cfg.mayModify(id.User()) {
				log.Info("refused a change by a user without MODIFY access", "user", id.ClientName, "method", r.Method, "path", r.URL.Path)
				http.Error(w, fmt.Sprintf("user %s may view application %s but not change it: only its owner %s and the users of its MODIFY_APP ACL may submit, cancel or stop (set when the application is submitted)",
					id.User(), cfg.Application, cfg.Owner), http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), Caller{User: id.User(), Owner: id.User() == cfg.Owner})))
	})
}

// authenticate checks r's Authorization against the master key; it
// returns the identifier and the password it matched.
func (cfg *ServerConfig) authenticate(r *http.Request) (Identifier, []byte, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Identifier{}, nil, fmt.Errorf("%w: the client presented neither the deployment's certificate nor a ClientToAMToken (Authorization: %s)", ErrUnauthenticated, Scheme)
	}
	raw, proof, err := ParseAuthorization(h)
	if err != nil {
		return Identifier{}, nil, err
	}
	id, err := ParseIdentifier(raw)
	if err != nil {
		return Identifier{}, nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if id.Attempt.Application != cfg.Application {
		return Identifier{}, nil, fmt.Errorf("%w: the token is for application %s, this is %s", ErrUnauthenticated, id.Attempt.Application, cfg.Application)
	}
	if cfg.Attempt != (yarn.ApplicationAttemptID{}) && id.Attempt != cfg.Attempt {
		return Identifier{}, nil, fmt.Errorf("%w: the token is for attempt %s, this ApplicationMaster is %s; ask the ResourceManager for a new report", ErrUnauthenticated, id.Attempt, cfg.Attempt)
	}
	if id.ClientName == "" {
		return Identifier{}, nil, fmt.Errorf("%w: the token names no user", ErrUnauthenticated)
	}
	var key []byte
	if cfg.MasterKey != nil {
		key = cfg.MasterKey()
	}
	if len(key) == 0 {
		return Identifier{}, nil, fmt.Errorf("%w: this ApplicationMaster holds no ClientToAMToken master key (the cluster issues none without Kerberos): only the machine that started it can use it", ErrUnauthenticated)
	}
	exp, err := Exporter(r.TLS)
	if err != nil {
		return Identifier{}, nil, err
	}
	for _, h := range passwordHashes {
		pw := mac(h, key, raw)
		if hmac.Equal(ClientProof(pw, exp), proof) {
			return id, pw, nil
		}
	}
	return Identifier{}, nil, fmt.Errorf("%w: the proof for user %s does not match this ApplicationMaster's key (a token of another attempt, or made up)", ErrUnauthenticated, id.ClientName)
}

// mayModify reports whether user (a short name) may change the
// application: its owner, or a user of the MODIFY_APP ACL, read as
// Hadoop's AccessControlList reads it (users before the first space,
// comma-separated; "*" alone, spaces around it aside, is everyone).
func (cfg *ServerConfig) mayModify(user string) bool {
	if user == "" {
		return false
	}
	if user == cfg.Owner {
		return true
	}
	acl := strings.TrimSpace(cfg.ModifyACL)
	if acl == "*" {
		return true
	}
	users, _, _ := strings.Cut(cfg.ModifyACL, " ")
	return slices.ContainsFunc(strings.Split(users, ","), func(u string) bool { return strings.TrimSpace(u) == user })
}

// Caller is who a request authenticated with a ClientToAMToken comes
// from.
type Caller struct {
	// User is the token's user, short name.
	User string
	// Owner is set when User is the application's owner.
	Owner bool
}

type callerKey struct{}

// WithCaller returns ctx carrying c; Middleware sets it on the requests
// it lets through with a token.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the token caller of a request's context; false for
// requests of the deployment's secret holders (and outside Middleware).
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

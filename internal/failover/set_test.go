package failover

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

// The Set's calls are tested against the IPC fake server in
// internal/ipc/failoverset_test.go; these are the parts without a server.

func TestNewChecksConfig(t *testing.T) {
	newClient := func(Target, *ipc.Identity) (*ipc.Client, error) { return nil, errors.New("unused") }
	if _, err := New(Config{NewClient: newClient}); err == nil {
		t.Error("New accepted no targets")
	}
	if _, err := New(Config{Targets: []Target{{Addr: "h:1"}}}); err == nil {
		t.Error("New accepted no NewClient")
	}
	ts := []Target{{ID: "rm1", Addr: "h:1"}}
	s, err := New(Config{Targets: ts, NewClient: newClient})
	if err != nil {
		t.Fatal(err)
	}
	ts[0].Addr = "changed"
	if s.Current().String() != "rm1 (h:1)" || s.cfg.Timeout != 60*time.Second || len(s.ClientID()) != 16 {
		t.Errorf("Current %s, Timeout %s, client id %x", s.Current(), s.cfg.Timeout, s.ClientID())
	}
	s.Close()
	if _, err := s.client(0); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestNoActiveError(t *testing.T) {
	sentinel := errors.New("yarn: no active ResourceManager")
	last := errors.New("connection refused")
	e := &NoActiveError{Service: "ResourceManager", Elapsed: 1500 * time.Millisecond,
		Tried: []string{"rm1 (a:1): standby", "rm2 (b:1): connection refused"}, Last: last, is: sentinel}
	want := "yarn: no active ResourceManager after 1.5s; tried rm1 (a:1): standby; rm2 (b:1): connection refused"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, sentinel) || !errors.Is(e, last) {
		t.Error("does not match the sentinel and the last error")
	}
	e.is = nil
	if !strings.HasPrefix(e.Error(), "no active ResourceManager after") {
		t.Errorf("without a sentinel: %q", e.Error())
	}
}

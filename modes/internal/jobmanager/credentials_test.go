package jobmanager_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/internal/jobmanager"
)

type nopPool struct{}

func (nopPool) SetTaskManagers(int) error { return nil }
func (nopPool) Release(string) error      { return nil }

// credentialCommands returns the Credentials payloads among id's pending
// commands.
func credentialCommands(t *testing.T, m *jobmanager.JobManager, id string) []string {
	t.Helper()
	cs, err := m.Commands(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Credentials != nil {
			out = append(out, string(c.Credentials.Tokens))
		}
	}
	return out
}

// TestPushCredentials: a push reaches every registered TaskManager once (a
// newer push replaces one not yet received) and is the first command of a
// TaskManager registering later; the command formats without its bytes.
func TestPushCredentials(t *testing.T) {
	m, err := jobmanager.New(jobmanager.Config{Pool: nopPool{}, TaskManager: jobgraph.TaskManagerSpec{Slots: 1}, PollTimeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	reg := func(id string) {
		if err := m.Register(control.RegisterRequest{ID: id, DataAddr: "127.0.0.1:1", Slots: 1}); err != nil {
			t.Fatal(err)
		}
	}
	reg("tm1")
	if got := credentialCommands(t, m, "tm1"); len(got) != 0 {
		t.Fatalf("credentials before any push: %q", got)
	}
	m.PushCredentials([]byte("first-secret"))
	m.PushCredentials([]byte("second-secret"))
	if got := credentialCommands(t, m, "tm1"); len(got) != 1 || got[0] != "second-secret" {
		t.Fatalf("tm1 got %q, want only the newest push", got)
	}
	reg("tm2")
	cs, err := m.Commands(context.Background(), "tm2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 || cs[0].Credentials == nil || string(cs[0].Credentials.Tokens) != "second-secret" {
		t.Fatalf("tm2's first commands %v: want the last push", cs)
	}
	m.TaskManagerLost("tm1", "test")
	m.PushCredentials([]byte("third-secret"))
	if got := credentialCommands(t, m, "tm2"); len(got) != 1 || got[0] != "third-secret" {
		t.Fatalf("tm2 got %q", got)
	}

	u := *cs[0].Credentials
	for _, s := range []string{fmt.Sprint(u), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u), fmt.Sprintf("%v", &u)} {
		if strings.Contains(s, "secret") || strings.Contains(s, base64.StdEncoding.EncodeToString(u.Tokens)) {
			t.Errorf("formatted credentials show their bytes: %s", s)
		}
	}
}

// TestPushCredentialsReachTaskManagers: over the real control protocol,
// a push reaches every running TaskManager's Credentials callback, and a
// TaskManager started later gets it on registering.
func TestPushCredentialsReachTaskManagers(t *testing.T) {
	m, p := newRuntime(t, 1)
	var mu sync.Mutex
	got := map[string][]string{}
	p.onCredentials = func(id string, b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		got[id] = append(got[id], string(b))
		return nil
	}
	received := func(id, want string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			l := got[id]
			return len(l) > 0 && l[len(l)-1] == want
		}
	}
	if err := p.SetTaskManagers(2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return m.TaskManagers() == 2 })
	m.PushCredentials([]byte("tokens-1"))
	waitFor(t, received("container_1", "tokens-1"))
	waitFor(t, received("container_2", "tokens-1"))
	if err := p.SetTaskManagers(3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, received("container_3", "tokens-1"))
	m.PushCredentials([]byte("tokens-2"))
	for _, id := range []string{"container_1", "container_2", "container_3"} {
		waitFor(t, received(id, "tokens-2"))
	}
	mu.Lock()
	defer mu.Unlock()
	for id, l := range got {
		if len(l) != 2 {
			t.Errorf("%s received %q, want each push once", id, l)
		}
	}
}

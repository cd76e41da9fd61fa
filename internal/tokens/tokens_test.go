package tokens

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/writable"
)

// fakeToken is an HDFS delegation token of owner alice with renewer,
// issued now and dying after life.
func fakeToken(renewer string, seq int32, issue time.Time, life time.Duration) hdfs.Token {
	b := []byte{0}
	for _, s := range []string{"alice", renewer, ""} {
		b = writable.AppendText(b, s)
	}
	b = writable.AppendVLong(b, issue.UnixMilli())
	b = writable.AppendVLong(b, issue.Add(life).UnixMilli())
	b = writable.AppendVInt(b, seq)
	b = writable.AppendVInt(b, 1)
	return hdfs.Token{Identifier: b, Password: []byte("PASSWORD-SECRET"), Kind: hdfs.KindDelegationToken, Service: "127.0.0.1:8020"}
}

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRenewerObtainsAndRenews: with a login, fresh tokens arrive at the
// fraction of the held ones' lifetime, always before they die, each pushed;
// tokens naming the login as renewer are renewed in between.
func TestRenewerObtainsAndRenews(t *testing.T) {
	const life = 2 * time.Second
	const period = 700 * time.Millisecond
	start := time.Now()
	var mu sync.Mutex
	seq := int32(1)
	current := fakeToken("rm", seq, start, life)
	var pushes []time.Time
	var renewals int
	var log syncBuffer
	r, err := New(Config{
		Tokens:   []hdfs.Token{current, {Kind: "YARN_AM_RM_TOKEN"}},
		Fraction: 0.5,
		Renewer:  "am",
		Obtain: func(context.Context) ([]hdfs.Token, error) {
			mu.Lock()
			defer mu.Unlock()
			seq++
			return []hdfs.Token{fakeToken("am", seq, time.Now(), life)}, nil
		},
		Renew: func(_ context.Context, tok hdfs.Token) (time.Time, error) {
			mu.Lock()
			defer mu.Unlock()
			renewals++
			id, _ := tok.DelegationIdentifier()
			if id.Renewer != "am" {
				return time.Time{}, errors.New("non-matching renewer")
			}
			if exp := time.Now().Add(period); exp.Before(id.MaxDate) {
				return exp, nil
			}
			return id.MaxDate, nil
		},
		Push: func(_ context.Context, toks []hdfs.Token) error {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			id, _ := current.DelegationIdentifier()
			if !now.Before(id.MaxDate) {
				t.Errorf("pushed at %v, after the held token died at %v", now, id.MaxDate)
			}
			pushes = append(pushes, now)
			current = toks[0]
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
	st := r.Stats()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("stats %+v, pushes at %v after start", st, func() (d []time.Duration) {
		for _, p := range pushes {
			d = append(d, p.Sub(start).Round(time.Millisecond))
		}
		return
	}())
	// Obtains at ~1 s, ~2 s, ~3 s; between them a renewal of each own
	// token at ~0.35 s after the initial renewal.
	if st.Obtained < 2 || len(pushes) != st.Obtained {
		t.Errorf("obtained %d times, pushed %d: want at least 2, each pushed", st.Obtained, len(pushes))
	}
	if first := pushes[0].Sub(start); first < 900*time.Millisecond || first > 1600*time.Millisecond {
		t.Errorf("first re-obtain %v after the token's issue, want about half its %v lifetime", first, life)
	}
	if st.Renewed < 1 {
		t.Errorf("renewed %d times, want the own tokens renewed between re-obtains", st.Renewed)
	}
	if strings.Contains(log.String(), "PASSWORD-SECRET") {
		t.Error("the log shows a token's password")
	}
	if got := r.Tokens(); len(got) != 1 || !bytes.Equal(got[0].Identifier, current.Identifier) {
		t.Errorf("Tokens() is not the last pushed token")
	}
}

// TestRenewerWarnsWithoutLogin: without a login the Renewer warns at the
// warn fraction, naming the token and the hint, and reports its death; an
// Update with newer tokens postpones both.
func TestRenewerWarnsWithoutLogin(t *testing.T) {
	start := time.Now()
	var log syncBuffer
	var noticeMu sync.Mutex
	var notices []string
	r, err := New(Config{
		Tokens: []hdfs.Token{fakeToken("rm", 7, start, 1*time.Second)},
		Hint:   "deploy with -ship-keytab",
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Notice: func(text string) {
			noticeMu.Lock()
			notices = append(notices, text)
			noticeMu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor := func(what string, f func() bool) time.Duration {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in 10 s; log:\n%s", what, log.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	warned := waitFor("warning", func() bool { return strings.Contains(log.String(), "level=WARN") })
	if warned < 850*time.Millisecond {
		t.Errorf("warned %v after issue, want at 0.9 of the 1 s lifetime", warned)
	}
	waitFor("expiry error", func() bool { return strings.Contains(log.String(), "level=ERROR") })
	out := log.String()
	for _, want := range []string{"HDFS_DELEGATION_TOKEN sequence number 7 of alice", "deploy with -ship-keytab", "expired at"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PASSWORD-SECRET") {
		t.Error("the log shows a token's password")
	}
	if r.Stats().Warned != 1 {
		t.Errorf("warned %d times", r.Stats().Warned)
	}

	// A client pushed a token living 1 s more: the notices are cleared,
	// then a new warning comes, later.
	pushed := time.Now()
	if err := r.Update([]hdfs.Token{fakeToken("rm", 8, pushed, time.Second)}); err != nil {
		t.Fatal(err)
	}
	noticeMu.Lock()
	got := append([]string(nil), notices...)
	noticeMu.Unlock()
	if len(got) != 3 || !strings.Contains(got[0], "expires at") || !strings.Contains(got[0], "deploy with -ship-keytab") ||
		!strings.Contains(got[1], "expired at") || got[2] != "" {
		t.Errorf("notices %q: want the warning, the expiry, then \"\" after the update", got)
	}
	waitFor("second warning", func() bool { return r.Stats().Warned == 2 })
	if d := time.Since(pushed); d < 850*time.Millisecond {
		t.Errorf("second warning %v after the update, want at 0.9 of its lifetime", d)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if err := r.Update(nil); err == nil {
		t.Error("Update without a delegation token succeeded")
	}
}

func TestNewChecks(t *testing.T) {
	tok := fakeToken("rm", 1, time.Now(), time.Hour)
	for _, cfg := range []Config{
		{},
		{Tokens: []hdfs.Token{tok}, Fraction: 1.5},
		{Tokens: []hdfs.Token{tok}, WarnFraction: -1},
		{Tokens: []hdfs.Token{{Kind: hdfs.KindDelegationToken, Identifier: []byte{9}}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// TestExpired: only tokens past their max date are named, with it.
func TestExpired(t *testing.T) {
	now := time.Now()
	clock := now
	r, err := New(Config{Tokens: []hdfs.Token{fakeToken("rm", 4, now.Add(-time.Minute), 2*time.Minute)}, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Expired(); len(got) != 0 {
		t.Fatalf("Expired() = %q before the max date", got)
	}
	clock = now.Add(time.Minute)
	if got := r.Expired(); len(got) != 1 || !strings.Contains(got[0], "HDFS_DELEGATION_TOKEN sequence number 4 of alice") || !strings.Contains(got[0], "died at") {
		t.Fatalf("Expired() = %q at the max date", got)
	}
}

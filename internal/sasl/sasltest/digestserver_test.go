package sasltest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/spindle-yarn/spindle/internal/sasl"
)

func recordedDigest(t testing.TB) *Transcript {
	t.Helper()
	tr, err := Load(filepath.Join("..", "testdata", "digest-auth.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestDigestServerAcceptsJavaExchange replays an exchange recorded against
// the JDK's DIGEST-MD5 server: the recorded response verifies, and the
// final token is byte for byte the one Java sent.
func TestDigestServerAcceptsJavaExchange(t *testing.T) {
	tr := recordedDigest(t)
	srv := &DigestServer{
		Challenge: tr.Steps[0].Challenge,
		DigestURI: tr.Protocol + "/" + tr.ServerID,
		Password: func(id []byte) ([]byte, bool) {
			return tr.Password, bytes.Equal(id, tr.Identifier)
		},
	}
	id, final, err := srv.Verify(tr.Steps[0].Response)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id, tr.Identifier) || !bytes.Equal(final, tr.Final) {
		t.Errorf("Verify = identifier %q, final %q; want %q, %q", id, final, tr.Identifier, tr.Final)
	}

	wrong := *srv
	wrong.Password = func([]byte) ([]byte, bool) { return []byte("not the password"), true }
	if _, _, err := wrong.Verify(tr.Steps[0].Response); !errors.Is(err, ErrDigestRefused) {
		t.Errorf("wrong password: %v, want ErrDigestRefused", err)
	}
	unknown := *srv
	unknown.Password = func([]byte) ([]byte, bool) { return nil, false }
	if _, _, err := unknown.Verify(tr.Steps[0].Response); !errors.Is(err, ErrUnknownToken) || !errors.Is(err, ErrDigestRefused) {
		t.Errorf("unknown token: %v, want ErrUnknownToken", err)
	}
	otherURI := *srv
	otherURI.DigestURI = "/elsewhere"
	if _, _, err := otherURI.Verify(tr.Steps[0].Response); !errors.Is(err, ErrDigestRefused) {
		t.Errorf("other digest-uri: %v, want ErrDigestRefused", err)
	}
}

// TestDigestServerWithOurClient runs package sasl's client against the
// server: the client accepts the server's rspauth, and a client with
// another password is refused.
func TestDigestServerWithOurClient(t *testing.T) {
	tr := recordedDigest(t)
	srv := &DigestServer{
		Challenge: []byte(`realm="default",nonce="bm9uY2Utb2YtdGhlLXRlc3Q=",qop="auth",charset=utf-8,algorithm=md5-sess`),
		DigestURI: "/default",
		Password:  func(id []byte) ([]byte, bool) { return tr.Password, bytes.Equal(id, tr.Identifier) },
	}
	for _, pw := range [][]byte{tr.Password, []byte("forged")} {
		c, err := sasl.NewDigestMD5(sasl.DigestConfig{Identifier: tr.Identifier, Password: pw, ServerID: "default", Protection: []sasl.QOP{sasl.Auth}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Step(context.Background(), srv.Challenge)
		if err != nil {
			t.Fatal(err)
		}
		_, final, err := srv.Verify(resp)
		if !bytes.Equal(pw, tr.Password) {
			if !errors.Is(err, ErrDigestRefused) {
				t.Errorf("forged password: %v, want ErrDigestRefused", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Finish(final); err != nil {
			t.Errorf("client refuses the server's final token %q: %v", final, err)
		}
	}
}

// FuzzDigestServerVerify feeds arbitrary client responses to the server:
// no panic, and only the recorded response authenticates.
func FuzzDigestServerVerify(f *testing.F) {
	tr := recordedDigest(f)
	f.Add(tr.Steps[0].Response)
	f.Add([]byte(`username="\"`))
	f.Add([]byte(`a=b,,c="d\\",e`))
	srv := &DigestServer{
		Challenge: tr.Steps[0].Challenge,
		DigestURI: "/default",
		Password:  func(id []byte) ([]byte, bool) { return tr.Password, bytes.Equal(id, tr.Identifier) },
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		id, final, err := srv.Verify(resp)
		if err == nil && (!bytes.Equal(id, tr.Identifier) || !bytes.Equal(final, tr.Final)) {
			t.Fatalf("accepted %q as %q with final %q", resp, id, final)
		}
	})
}

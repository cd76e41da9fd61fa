package sasl

import (
	"bytes"
	"context"
	"crypto/md5"
	"slices"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto/etype"

	"github.com/spindle-yarn/spindle/internal/sasl/sasltest"
)

func fuzzTranscript(f *testing.F, name string) *sasltest.Transcript {
	f.Helper()
	tr, err := sasltest.Load("testdata/" + name + ".json")
	if err != nil {
		f.Fatal(err)
	}
	return tr
}

// FuzzParseDigestChallenge: the challenge parser never panics, and what it
// accepts survives being written back out with quoted values.
func FuzzParseDigestChallenge(f *testing.F) {
	f.Add(fuzzTranscript(f, "digest-auth-conf").Steps[0].Challenge)
	f.Add([]byte(`realm="a\"b", nonce=x ,, qop="auth-int",algorithm=md5-sess`))
	f.Add([]byte(`nonce="`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2*maxChallenge {
			t.Skip() // parseDigestChallenge refuses it before parsing
		}
		dirs, err := parseDirectives(b)
		if err == nil {
			var out []string
			for _, d := range dirs {
				out = append(out, d.key+"="+quote(d.value))
			}
			again, err := parseDirectives([]byte(strings.Join(out, ",")))
			if err != nil {
				t.Fatalf("re-parsing %q: %v", out, err)
			}
			if !slices.Equal(dirs, again) {
				t.Fatalf("round trip changed %q to %q", dirs, again)
			}
		}
		ch, err := parseDigestChallenge(b)
		if err != nil {
			return
		}
		if ch.nonce == "" || len(ch.qops)+len(ch.otherQOPs) == 0 && !bytes.Contains(bytes.ToLower(b), []byte("qop")) {
			t.Fatalf("accepted %q as %+v", b, ch)
		}
		c := &digestClient{protection: []QOP{AuthConf, AuthInt, Auth}}
		c.choose(ch)
	})
}

// FuzzDigestRspauth: only the exact rspauth of the exchange is accepted.
func FuzzDigestRspauth(f *testing.F) {
	tr := fuzzTranscript(f, "digest-auth-int")
	f.Add(tr.Final)
	f.Add([]byte(`rspauth="00"`))
	f.Add([]byte(`rspauth=`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := NewDigestMD5(DigestConfig{Identifier: tr.Identifier, Password: tr.Password, ServerID: tr.ServerID,
			Protection: protectionOf(tr), Rand: bytes.NewReader(tr.Rand)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Step(context.Background(), tr.Steps[0].Challenge); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimPrefix(string(tr.Final), "rspauth=")
		if err := c.Finish(b); err == nil && !strings.Contains(strings.ToLower(string(b)), want) {
			t.Fatalf("accepted rspauth %q, want %q", b, want)
		}
	})
}

// FuzzDigestUnwrap: unwrapping arbitrary bytes under every layer never
// panics and never yields a message (no forgery without the keys).
func FuzzDigestUnwrap(f *testing.F) {
	tr := fuzzTranscript(f, "digest-auth-conf-des")
	f.Add(tr.Messages[firstFuzzServerMessage(tr)].Wire)
	f.Add([]byte{0, 1, 0, 0, 0, 0})
	f.Add(make([]byte, 22))
	ha1 := md5.Sum([]byte("fuzz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, name := range []string{"", "3des", "des", "rc4", "rc4-40"} {
			qop := AuthConf
			if name == "" {
				qop = AuthInt
			}
			l, err := newDigestLayer(ha1, qop, name)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := l.unwrap(b)
			if err == nil && len(b) > 0 {
				t.Fatalf("%s: forged message %x from %x", name, msg, b)
			}
		}
	})
}

// FuzzCFXUnwrap: unwrapping arbitrary bytes as wrap tokens never panics,
// and whatever opens is the genuine message (RRC, which is not protected,
// lets several byte strings carry it).
func FuzzCFXUnwrap(f *testing.F) {
	type genuine struct {
		e      etype.EType
		key    []byte
		subkey bool
		seq    uint64
		plain  []byte
		wire   []byte
	}
	var cases []genuine
	for _, name := range []string{"gssapi-auth-int", "gssapi-auth-conf", "gssapi-auth-conf-acceptor-subkey"} {
		tr := fuzzTranscript(f, name)
		c, _ := transcriptClient(f, tr)
		if _, err := c.Start(context.Background()); err != nil {
			f.Fatal(err)
		}
		for _, s := range tr.Steps {
			if _, err := c.Step(context.Background(), s.Challenge); err != nil {
				f.Fatal(err)
			}
		}
		m := tr.Messages[firstFuzzServerMessage(tr)]
		cases = append(cases, genuine{c.layer.e, c.layer.key, c.layer.acceptorSubkey, c.layer.recvSeq, m.Plain, m.Wire})
		f.Add(m.Wire)
	}
	f.Add([]byte{0x05, 0x04, 0x03, 0xff, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, g := range cases {
			for _, sealed := range []bool{false, true} {
				l := &cfxLayer{e: g.e, key: g.key, acceptorSubkey: g.subkey, recvSeq: g.seq}
				if msg, err := l.unwrap(b, sealed); err == nil && !bytes.Equal(msg, g.plain) {
					t.Fatalf("forged message %x from %x", msg, b)
				}
			}
		}
	})
}

// FuzzParseAPRep: the AP-REP parser and verifier never panic, and what
// they accept carries the real AP-REP's encrypted part (the ASN.1 decoder
// tolerates some non-DER encodings around it).
func FuzzParseAPRep(f *testing.F) {
	tr := fuzzTranscript(f, "gssapi-auth-int")
	f.Add(tr.Steps[0].Challenge)
	f.Add([]byte{0x60, 0x03, 0x06, 0x01, 0x00})
	f.Add(append([]byte{0x02, 0x00}, 0x6f, 0x03, 0x30, 0x01, 0x00))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _ := transcriptClient(t, tr)
		if _, err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.verifyAPRep(b); err == nil {
			want, _ := parseAPRep(tr.Steps[0].Challenge)
			got, err := parseAPRep(b)
			if err != nil || !bytes.Equal(got.EncPart.Cipher, want.EncPart.Cipher) {
				t.Fatalf("accepted %x", b)
			}
		}
	})
}

func firstFuzzServerMessage(tr *sasltest.Transcript) int {
	for i, m := range tr.Messages {
		if !m.FromClient {
			return i
		}
	}
	return 0
}

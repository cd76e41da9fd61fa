package sasl

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/spindle-yarn/spindle/internal/sasl/sasltest"
)

// transcriptClient builds a GSSAPI client that replays a recorded exchange:
// its ticket and session key are the recorded ones (the ticket taken from
// the recorded AP-REQ), its random bytes and clock reading too.
func transcriptClient(t testing.TB, tr *sasltest.Transcript) (*gssapiClient, *messages.APReq) {
	t.Helper()
	_, msg, err := splitMechToken(tr.Start)
	if err != nil {
		t.Fatal(err)
	}
	var req messages.APReq
	if err := req.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	key := types.EncryptionKey{KeyType: tr.SessionKeyType, KeyValue: tr.SessionKey}
	return &gssapiClient{
		spn:        tr.ServicePrincipal,
		protection: protectionOf(tr),
		mutual:     tr.Mutual,
		rand:       bytes.NewReader(tr.Rand),
		now:        func() time.Time { return tr.Now },
		ticket: func(spn string) (messages.Ticket, types.EncryptionKey, error) {
			if spn != tr.ServicePrincipal {
				t.Errorf("ticket for %q, want %q", spn, tr.ServicePrincipal)
			}
			return req.Ticket, key, nil
		},
		realm: "EXAMPLE.COM",
		cname: types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"),
	}, &req
}

func decryptAuthenticator(t *testing.T, tok []byte, key types.EncryptionKey) (*messages.APReq, types.Authenticator) {
	t.Helper()
	id, msg, err := splitMechToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id != [2]byte{0x01, 0x00} {
		t.Fatalf("token id %x, want 0100", id)
	}
	var req messages.APReq
	if err := req.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	if err := req.DecryptAuthenticator(key); err != nil {
		t.Fatal(err)
	}
	return &req, req.Authenticator
}

// replayGSSAPI runs a recorded exchange up to SUCCESS.
func replayGSSAPI(t *testing.T, tr *sasltest.Transcript) *gssapiClient {
	t.Helper()
	ctx := context.Background()
	c, recorded := transcriptClient(t, tr)
	start, err := c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The authenticator is encrypted with a fresh confounder, so compare
	// its contents with those of the one the Java acceptor accepted.
	key := types.EncryptionKey{KeyType: tr.SessionKeyType, KeyValue: tr.SessionKey}
	ours, gotAuth := decryptAuthenticator(t, start, key)
	_, wantAuth := decryptAuthenticator(t, tr.Start, key)
	if diff := cmp.Diff(wantAuth, gotAuth); diff != "" {
		t.Fatalf("authenticator differs from the recorded one (-want +got):\n%s", diff)
	}
	if !bytes.Equal(ours.APOptions.Bytes, recorded.APOptions.Bytes) {
		t.Fatalf("AP options %x, want %x", ours.APOptions.Bytes, recorded.APOptions.Bytes)
	}
	for i, s := range tr.Steps {
		resp, err := c.Step(ctx, s.Challenge)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !bytes.Equal(resp, s.Response) {
			t.Fatalf("step %d response:\n got %x\nwant %x", i, resp, s.Response)
		}
	}
	if err := c.Finish(tr.Final); err != nil {
		t.Fatal(err)
	}
	if c.QOP() != QOP(tr.QOP) {
		t.Fatalf("QOP %q, want %q", c.QOP(), tr.QOP)
	}
	return c
}

// TestGSSAPITranscripts replays exchanges recorded against the JDK's
// GssKrb5Server and the test bed's KDC: the authenticator carries what
// Java accepted (GSS checksum flags, subkey, sequence number, time), the
// AP-REP verifies, the security-layer reply and every wrapped message are
// exactly the bytes Java accepted, and Java's wrap tokens open. This pins
// the key usages (24 out, 22 in), flags, EC, the encrypted header copy and
// the sequence numbers in both directions.
func TestGSSAPITranscripts(t *testing.T) {
	for name, tr := range loadTranscripts(t, "gssapi-*.json") {
		t.Run(name, func(t *testing.T) {
			c := replayGSSAPI(t, tr)
			if tr.QOP != string(Auth) && len(tr.Messages) < 10 {
				t.Fatalf("transcript has %d messages", len(tr.Messages))
			}
			if strings.Contains(name, "acceptor-subkey") != c.layer.acceptorSubkey {
				t.Fatalf("acceptor subkey in use: %v", c.layer.acceptorSubkey)
			}
			for i, m := range tr.Messages {
				if m.FromClient {
					got, err := c.Wrap(m.Plain)
					if err != nil {
						t.Fatalf("message %d: Wrap: %v", i, err)
					}
					if !bytes.Equal(got, m.Wire) {
						t.Fatalf("message %d: Wrap(%d bytes) =\n%x\nwant\n%x", i, len(m.Plain), got, m.Wire)
					}
				} else {
					got, err := c.Unwrap(m.Wire)
					if err != nil {
						t.Fatalf("message %d: Unwrap: %v", i, err)
					}
					if !bytes.Equal(got, m.Plain) {
						t.Fatalf("message %d: Unwrap = %x, want %x", i, got, m.Plain)
					}
				}
			}
		})
	}
}

// rotate returns tok with its body rotated right by rrc and RRC set, as an
// acceptor such as MIT's may send it. RRC is not integrity protected.
func rotate(tok []byte, rrc int) []byte {
	out := bytes.Clone(tok[:cfxHeaderLen])
	binary.BigEndian.PutUint16(out[6:8], uint16(rrc))
	body := tok[cfxHeaderLen:]
	r := rrc % len(body)
	out = append(out, body[len(body)-r:]...)
	return append(out, body[:len(body)-r]...)
}

func TestGSSAPIUnwrapRotated(t *testing.T) {
	trs := loadTranscripts(t, "gssapi-*.json")
	for _, name := range []string{"gssapi-auth-int", "gssapi-auth-conf"} {
		tr := trs[name]
		i := firstServerMessage(t, tr)
		for _, rrc := range []int{1, 12, 28, 60, 1000} {
			c := replayGSSAPI(t, tr)
			for _, m := range tr.Messages[:i] {
				if _, err := c.Wrap(m.Plain); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.Unwrap(rotate(tr.Messages[i].Wire, rrc))
			if err != nil || !bytes.Equal(got, tr.Messages[i].Plain) {
				t.Errorf("%s RRC %d: %x, %v", name, rrc, got, err)
			}
		}
	}
}

func TestGSSAPIRejects(t *testing.T) {
	trs := loadTranscripts(t, "gssapi-*.json")
	for _, name := range []string{"gssapi-auth-int", "gssapi-auth-conf", "gssapi-auth-conf-acceptor-subkey"} {
		tr := trs[name]
		i := firstServerMessage(t, tr)
		wire := tr.Messages[i].Wire
		withFlags := func(f byte) []byte { w := bytes.Clone(wire); w[2] = f; return w }
		spoil := map[string]struct {
			wire []byte
			want error
		}{
			"flipped body bit":     {flip(wire, 20), ErrIntegrity},
			"flipped last bit":     {flip(wire, len(wire)-1), ErrIntegrity},
			"seq changed":          {flip(wire, 15), ErrIntegrity}, // covered by checksum or encrypted header
			"not from acceptor":    {withFlags(wire[2] &^ flagSentByAcceptor), ErrMalformed},
			"subkey flag toggled":  {withFlags(wire[2] ^ flagAcceptorSubkey), ErrMalformed},
			"sealed flag toggled":  {withFlags(wire[2] ^ flagSealed), ErrMalformed},
			"wrong token id":       {flip(wire, 1), ErrMalformed},
			"wrong filler":         {flip(wire, 3), ErrMalformed},
			"truncated to header":  {wire[:cfxHeaderLen], ErrMalformed},
			"truncated in header":  {wire[:9], ErrMalformed},
			"EC changed":           {flip(wire, 5), ErrMalformed},
			"MIC token, not wrap":  {append([]byte{0x04, 0x04}, wire[2:]...), ErrMalformed},
			"empty":                {nil, ErrMalformed},
			"one byte short":       {wire[:len(wire)-1], ErrIntegrity},
			"trailing byte":        {append(bytes.Clone(wire), 0), ErrIntegrity},
			"other message's body": {append(bytes.Clone(wire[:cfxHeaderLen]), tr.Messages[i+2].Wire[cfxHeaderLen:]...), ErrIntegrity},
		}
		if tr.QOP == string(AuthConf) {
			// In a sealed token EC counts filler bytes; a changed EC makes
			// the encrypted header copy disagree.
			spoil["EC changed"] = struct {
				wire []byte
				want error
			}{flip(wire, 5), ErrIntegrity}
			spoil["sealed flag toggled"] = struct {
				wire []byte
				want error
			}{withFlags(wire[2] ^ flagSealed), ErrMalformed}
		}
		for what, s := range spoil {
			t.Run(name+"/"+what, func(t *testing.T) {
				c := replayGSSAPI(t, tr)
				_, err := c.Unwrap(s.wire)
				if !errors.Is(err, s.want) {
					t.Fatalf("Unwrap: %v, want %v", err, s.want)
				}
				if _, err := c.Unwrap(wire); err == nil {
					t.Fatal("Unwrap succeeded after a failure")
				}
			})
		}
		t.Run(name+"/replayed", func(t *testing.T) {
			c := replayGSSAPI(t, tr)
			if _, err := c.Unwrap(wire); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Unwrap(wire); !errors.Is(err, ErrSequence) {
				t.Fatalf("replayed Unwrap: %v, want ErrSequence", err)
			}
		})
		t.Run(name+"/skipped", func(t *testing.T) {
			c := replayGSSAPI(t, tr)
			if _, err := c.Unwrap(tr.Messages[i+2].Wire); !errors.Is(err, ErrSequence) {
				t.Fatalf("Unwrap of the next message first: %v, want ErrSequence", err)
			}
		})
	}
}

func TestGSSAPIAPRepRejects(t *testing.T) {
	trs := loadTranscripts(t, "gssapi-*.json")
	tr := trs["gssapi-auth-int"]
	ctx := context.Background()

	t.Run("time not echoed", func(t *testing.T) {
		c, _ := transcriptClient(t, tr)
		c.now = func() time.Time { return tr.Now.Add(time.Microsecond) }
		if _, err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Step(ctx, tr.Steps[0].Challenge); !errors.Is(err, ErrServerAuth) {
			t.Fatalf("Step(AP-REP): %v, want ErrServerAuth", err)
		}
		if _, err := c.Step(ctx, tr.Steps[1].Challenge); !errors.Is(err, ErrState) {
			t.Fatalf("Step after failure: %v, want ErrState", err)
		}
	})
	t.Run("other session key", func(t *testing.T) {
		c, _ := transcriptClient(t, tr)
		if _, err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		c.sessionKey.KeyValue = bytes.Repeat([]byte{7}, len(c.sessionKey.KeyValue))
		if _, err := c.Step(ctx, tr.Steps[0].Challenge); !errors.Is(err, ErrServerAuth) {
			t.Fatalf("Step(AP-REP): %v, want ErrServerAuth", err)
		}
	})
	t.Run("security layer offer instead of AP-REP", func(t *testing.T) {
		c, _ := transcriptClient(t, tr)
		if _, err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Step(ctx, tr.Steps[1].Challenge); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Step: %v, want ErrMalformed", err)
		}
	})
	t.Run("KRB-ERROR", func(t *testing.T) {
		kerr := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "hadoop/localhost"), "EXAMPLE.COM",
			errorcode.KRB_AP_ERR_REPEAT, "Request is a replay")
		b, err := kerr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		tok := gssFrame(append(append(bytes.Clone(krb5OID), 0x03, 0x00), b...))
		_, err = parseAPRep(tok)
		if !errors.Is(err, ErrServerAuth) || !strings.Contains(err.Error(), "Request is a replay") {
			t.Fatalf("parseAPRep(KRB-ERROR): %v", err)
		}
	})
	t.Run("unframed AP-REP", func(t *testing.T) {
		_, msg, err := splitMechToken(tr.Steps[0].Challenge)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseAPRep(append([]byte{0x02, 0x00}, msg...)); err != nil {
			t.Fatalf("parseAPRep without framing: %v", err)
		}
	})
	t.Run("bad framing", func(t *testing.T) {
		good := tr.Steps[0].Challenge
		for what, tok := range map[string][]byte{
			"short length":   good[:len(good)-1],
			"long length":    append(bytes.Clone(good), 0),
			"other OID":      flip(good, 12),
			"AP-REQ id":      gssFrame(append(bytes.Clone(krb5OID), 0x01, 0x00)),
			"empty":          nil,
			"huge length":    {0x60, 0x84, 0xff, 0xff, 0xff, 0xff},
			"bad length":     {0x60, 0x80},
			"no length":      {0x60},
			"id only":        {0x02},
			"garbage AP-REP": gssFrame(append(bytes.Clone(krb5OID), 0x02, 0x00, 0x30, 0x00)),
		} {
			if _, err := parseAPRep(tok); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", what, err)
			}
		}
	})
}

func TestGSSAPIChooseLayer(t *testing.T) {
	tr := loadTranscripts(t, "gssapi-*.json")["gssapi-auth-int-nomutual"]
	offer := tr.Steps[0].Challenge
	tests := []struct {
		protection []QOP
		want       QOP
		wantErr    error
	}{
		{[]QOP{AuthConf, AuthInt}, AuthConf, nil}, // the server offered all three
		{[]QOP{Auth, AuthConf}, Auth, nil},
		{[]QOP{AuthInt}, AuthInt, nil},
	}
	for _, tc := range tests {
		c, _ := transcriptClient(t, tr)
		c.protection = tc.protection
		if _, err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Step(context.Background(), offer)
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("%v: %v", tc.protection, err)
		}
		if c.QOP() != tc.want {
			t.Errorf("%v: chose %q, want %q", tc.protection, c.QOP(), tc.want)
		}
		// Our reply opens with the acceptor's view of our keys.
		acceptor := &cfxLayer{e: c.layer.e, key: c.layer.key}
		_, body, err := openAsAcceptor(acceptor, resp)
		if err != nil {
			t.Fatal(err)
		}
		wantBit := map[QOP]byte{Auth: 1, AuthInt: 2, AuthConf: 4}[tc.want]
		wantBuf := []byte{0x01, 0x00, 0x00}
		if tc.want == Auth {
			wantBuf = []byte{0, 0, 0}
		}
		if want := append([]byte{wantBit}, wantBuf...); !bytes.Equal(body, want) {
			t.Errorf("%v: reply %x, want %x", tc.protection, body, want)
		}
	}

	c, _ := transcriptClient(t, tr)
	c.protection = []QOP{AuthConf}
	if _, err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// An offer of integrity only, made with the acceptor's key.
	acceptor := &cfxLayer{e: c.layer.e, key: c.layer.key}
	tok := wrapAsAcceptor(t, acceptor, []byte{layerNone | layerIntegrity, 0, 0x10, 0}, c.layer.sendSeq)
	if _, err := c.Step(context.Background(), tok); !errors.Is(err, ErrNoCommonQOP) {
		t.Fatalf("Step: %v, want ErrNoCommonQOP", err)
	}
}

// wrapAsAcceptor makes an unsealed wrap token as the acceptor would.
func wrapAsAcceptor(t *testing.T, l *cfxLayer, msg []byte, seq uint64) []byte {
	t.Helper()
	ck, err := l.e.GetChecksumHash(l.key, append(bytes.Clone(msg), cfxHeader(flagSentByAcceptor, 0, 0, seq)...), usageAcceptorSeal)
	if err != nil {
		t.Fatal(err)
	}
	tok := cfxHeader(flagSentByAcceptor, uint16(len(ck)), 0, seq)
	return append(append(tok, msg...), ck...)
}

// openAsAcceptor checks an unsealed wrap token from the initiator.
func openAsAcceptor(l *cfxLayer, tok []byte) (uint64, []byte, error) {
	n := l.checksumLen()
	if len(tok) < cfxHeaderLen+n || tok[2]&flagSentByAcceptor != 0 {
		return 0, nil, ErrMalformed
	}
	seq := binary.BigEndian.Uint64(tok[8:16])
	msg := tok[cfxHeaderLen : len(tok)-n]
	want, err := l.e.GetChecksumHash(l.key, append(bytes.Clone(msg), cfxHeader(tok[2], 0, 0, seq)...), usageInitiatorSeal)
	if err != nil || !bytes.Equal(want, tok[len(tok)-n:]) {
		return 0, nil, ErrIntegrity
	}
	return seq, msg, nil
}

// TestEncryptWithConfounder checks the RFC 3961 encryption this package
// builds on gokrb5's primitives against the sample encryptions of RFC 8009
// appendix A (aes128-cts-hmac-sha256-128, key usage 2), and for every
// enctype that gokrb5 decrypts what it encrypts.
func TestEncryptWithConfounder(t *testing.T) {
	e, err := crypto.GetEtype(etypeID.AES128_CTS_HMAC_SHA256_128)
	if err != nil {
		t.Fatal(err)
	}
	key := unhex(t, "3705d96080c17728a0e800eab6e0d23c")
	vectors := []struct{ plain, conf, want string }{
		{"", "7e5895eaf2672435bad817f545a37148", "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"},
		{"000102030405", "7bca285e2fd4130fb55b1a5c83bc5b24", "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c"},
		{"000102030405060708090a0b0c0d0e0f", "56ab21713ff62c0a1457200f6fa9948f", "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc295fb4852e7d83e1e7c48c37eebe6b0d3"},
		{"000102030405060708090a0b0c0d0e0f1011121314", "a7a4e29a4728ce10664fb64e49ad3fac", "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc"},
	}
	for _, v := range vectors {
		got, err := encryptWithConfounder(e, key, 2, unhex(t, v.conf), unhex(t, v.plain))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != v.want {
			t.Errorf("plain %s: got %x, want %s", v.plain, got, v.want)
		}
	}

	for _, id := range []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192} {
		e, err := crypto.GetEtype(id)
		if err != nil {
			t.Fatal(err)
		}
		key := bytes.Repeat([]byte{0x5a}, e.GetKeyByteSize())
		msg := []byte("a message that is longer than one AES block")
		ct, err := encryptWithConfounder(e, key, usageInitiatorSeal, bytes.Repeat([]byte{1}, e.GetConfounderByteSize()), msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.DecryptMessage(key, ct, usageInitiatorSeal)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("enctype %d: %q, %v", id, got, err)
		}
		if _, err := e.DecryptMessage(key, ct, usageAcceptorSeal); err == nil {
			t.Errorf("enctype %d: decrypted with the acceptor's key usage", id)
		}
	}
}

// TestAESCTSKnownAnswers guards the AES-CTS gokrb5 provides with the test
// vectors of RFC 3962 appendix B (key "chicken teriyaki", zero IV).
func TestAESCTSKnownAnswers(t *testing.T) {
	e, err := crypto.GetEtype(etypeID.AES128_CTS_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("chicken teriyaki")
	for _, v := range []struct{ in, out string }{
		{"4920776f756c64206c696b652074686520", "c6353568f2bf8cb4d8a580362da7ff7f97"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320", "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"},
		{"4920776f756c64206c696b65207468652047656e6572616c2047617527732043", "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"},
		{"4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c", "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5"},
	} {
		_, got, err := e.EncryptData(key, unhex(t, v.in))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != v.out {
			t.Errorf("AES-CTS(%s) = %x, want %s", v.in, got, v.out)
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewGSSAPIValidates(t *testing.T) {
	kt := keytab.New()
	cfg := config.New()
	cl := client.NewWithKeytab("alice", "EXAMPLE.COM", kt, cfg)
	for _, spn := range []string{"", "hadoop", "hadoop/", "/localhost", "hadoop/localhost@EXAMPLE.COM", "a/b/c"} {
		if _, err := NewGSSAPI(GSSAPIConfig{Client: cl, ServicePrincipal: spn}); err == nil {
			t.Errorf("NewGSSAPI accepted service principal %q", spn)
		}
	}
	if _, err := NewGSSAPI(GSSAPIConfig{ServicePrincipal: "hadoop/localhost"}); err == nil {
		t.Error("NewGSSAPI accepted no client")
	}
	if _, err := NewGSSAPI(GSSAPIConfig{Client: cl, ServicePrincipal: "hadoop/localhost", Protection: []QOP{"integrity"}}); err == nil {
		t.Error("NewGSSAPI accepted protection \"integrity\"")
	}
	c, err := NewGSSAPI(GSSAPIConfig{Client: cl, ServicePrincipal: "hadoop/localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Mechanism() != "GSSAPI" {
		t.Errorf("Mechanism = %q", c.Mechanism())
	}
	if _, err := c.Step(context.Background(), nil); !errors.Is(err, ErrState) {
		t.Errorf("Step before Start: %v", err)
	}
	if err := c.Finish(nil); !errors.Is(err, ErrState) {
		t.Errorf("Finish before Start: %v", err)
	}
	if _, err := c.Wrap(nil); !errors.Is(err, ErrState) {
		t.Errorf("Wrap before Start: %v", err)
	}
}

func TestGSSAPIRefusesOldEnctypes(t *testing.T) {
	tr := loadTranscripts(t, "gssapi-*.json")["gssapi-auth"]
	c, req := transcriptClient(t, tr)
	c.ticket = func(string) (messages.Ticket, types.EncryptionKey, error) {
		return req.Ticket, types.EncryptionKey{KeyType: etypeID.RC4_HMAC, KeyValue: make([]byte, 16)}, nil
	}
	if _, err := c.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "CFX") {
		t.Fatalf("Start with an RC4 session key: %v", err)
	}
}

// TestWrapUnwrapConcurrently: one goroutine may wrap while another
// unwraps, as a connection's writer and reader do.
func TestWrapUnwrapConcurrently(t *testing.T) {
	for name, tr := range loadTranscripts(t, "*-auth-conf*.json") {
		t.Run(name, func(t *testing.T) {
			var c Client
			if tr.Mechanism == "GSSAPI" {
				c = replayGSSAPI(t, tr)
			} else {
				c = replayDigest(t, tr)
			}
			var wg sync.WaitGroup
			for _, fromClient := range []bool{true, false} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i, m := range tr.Messages {
						if m.FromClient != fromClient {
							continue
						}
						if fromClient {
							if got, err := c.Wrap(m.Plain); err != nil || !bytes.Equal(got, m.Wire) {
								t.Errorf("Wrap %d: %v", i, err)
							}
						} else if got, err := c.Unwrap(m.Wire); err != nil || !bytes.Equal(got, m.Plain) {
							t.Errorf("Unwrap %d: %v", i, err)
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

package yarn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/internal/token"
	"github.com/spindle-yarn/spindle/internal/writable"
)

// The Java testdata files come from integration/testbed's CredentialsTool:
//
//	CredentialsTool write credentials-java-v0.hdts 0
//	CredentialsTool write credentials-java-v1.hdts 1
//	CredentialsTool dump credentials-java-v0.hdts > credentials-java.dump
//	CredentialsTool urlencode > token-urlstrings-java.txt
//	CredentialsTool identifiers > identifiers-java.txt
//
// integration/credentials_test.go checks the same against live Java.

// javaFixture is CredentialsTool.fixture, built independently here.
func javaFixture() *Credentials {
	var c Credentials
	c.AddToken("", Token{Kind: KindAMRMToken, Identifier: pattern(30, 1), Password: pattern(32, 2)})
	c.AddToken("hdfs://nn.example.com:8020", Token{Kind: KindHDFSDelegationToken, Service: "127.0.0.1:8020",
		Identifier: pattern(60, 3), Password: pattern(20, 4)})
	c.AddToken("rm ✓ ünïcode", Token{Kind: KindRMDelegationToken, Service: "rm1:8032,rm2:8032",
		Identifier: pattern(200, 5), Password: pattern(20, 6)})
	c.AddToken("big", Token{Kind: "SPINDLE_TEST", Service: "svc:1", Identifier: pattern(300, 7), Password: pattern(70000, 8)})
	c.AddToken("empty", Token{})
	c.AddSecret("secret.key", pattern(16, 9))
	c.AddSecret("", nil)
	c.AddSecret("unicode ✓ secret", pattern(300, 10))
	return &c
}

// javaShow formats bytes as CredentialsTool.show does.
func javaShow(b []byte) string {
	if len(b) <= 64 {
		return hex.EncodeToString(b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("len=%d,sha256=%x", len(b), sum)
}

// javaDump lists c's entries as CredentialsTool.dump does, sorted (Java
// prints them in hash map order).
func javaDump(c *Credentials) []string {
	var lines []string
	for alias, t := range c.Tokens() {
		lines = append(lines, "token alias="+javaShow([]byte(alias))+" "+javaTokenLine(t))
	}
	for alias, s := range c.Secrets() {
		lines = append(lines, "secret alias="+javaShow([]byte(alias))+" value="+javaShow(s))
	}
	slices.Sort(lines)
	return lines
}

// entries is a comparable snapshot of a Credentials, in order.
type entries struct {
	Tokens  []string
	Secrets []string
}

func snapshot(c *Credentials) entries {
	var e entries
	for alias, t := range c.Tokens() {
		e.Tokens = append(e.Tokens, fmt.Sprintf("%q %q %q [%x] [%x]", alias, t.Kind, t.Service, t.Identifier, t.Password))
	}
	for alias, s := range c.Secrets() {
		e.Secrets = append(e.Secrets, fmt.Sprintf("%q [%x]", alias, s))
	}
	return e
}

func encode(t testing.TB, c *Credentials, f CredentialsFormat) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := c.WriteFormat(&buf, f)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteFormat reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func smallCredentials() *Credentials {
	var c Credentials
	c.AddToken("a", Token{Identifier: []byte{1, 2}, Password: []byte{3}, Kind: "K", Service: "S"})
	c.AddSecret("s", []byte{0xff})
	return &c
}

func TestWriteFormatGolden(t *testing.T) {
	tests := []struct {
		format CredentialsFormat
		want   string
	}{
		{CredentialsFormatWritable, "48445453 00" +
			"01" + "0161" + "020102" + "0103" + "014b" + "0153" + // one token
			"01" + "0173" + "01ff"}, // one secret
		{CredentialsFormatProtobuf, "48445453 01" + "1c" +
			"0a12" + "0a0161" + "120d" + "0a020102" + "120103" + "1a014b" + "220153" +
			"1206" + "0a0173" + "1a01ff"},
	}
	for _, tc := range tests {
		t.Run(tc.format.String(), func(t *testing.T) {
			want, err := hex.DecodeString(strings.ReplaceAll(tc.want, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, encode(t, smallCredentials(), tc.format)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmptyFieldsStayPresentInProtobuf(t *testing.T) {
	var c Credentials
	c.AddToken("", Token{})
	c.AddSecret("", nil)
	got := encode(t, &c, CredentialsFormatProtobuf)
	// tokens: KV{alias "", token{id "", pw "", kind "", service ""}};
	// secrets: KV{alias "", secret ""}. Java writes every field, set or empty.
	want := []byte("HDTS\x01\x14" +
		"\x0a\x0c\x0a\x00\x12\x08\x0a\x00\x12\x00\x1a\x00\x22\x00" +
		"\x12\x04\x0a\x00\x1a\x00")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRoundTripBothFormats(t *testing.T) {
	c := javaFixture()
	for _, f := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
		t.Run(f.String(), func(t *testing.T) {
			got, err := ReadCredentials(bytes.NewReader(encode(t, c, f)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(snapshot(c), snapshot(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadJavaFiles reads what Hadoop's writeTokenStorageToStream wrote and
// checks the content against the fixture and against Java's own dump, then
// checks that writing the entries back in the file's order reproduces the
// file byte for byte.
func TestReadJavaFiles(t *testing.T) {
	javaDumpText, err := os.ReadFile("testdata/credentials-java.dump")
	if err != nil {
		t.Fatal(err)
	}
	wantDump := strings.Split(strings.TrimSpace(string(javaDumpText)), "\n")
	slices.Sort(wantDump)
	for _, tc := range []struct {
		file   string
		format CredentialsFormat
	}{
		{"credentials-java-v0.hdts", CredentialsFormatWritable},
		{"credentials-java-v1.hdts", CredentialsFormatProtobuf},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			c, err := ReadCredentialsFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantDump, javaDump(c)); diff != "" {
				t.Errorf("content differs from Java's dump (-java +go):\n%s", diff)
			}
			if diff := cmp.Diff(javaDump(javaFixture()), javaDump(c)); diff != "" {
				t.Errorf("content differs from the fixture (-fixture +file):\n%s", diff)
			}
			javaBytes, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := encode(t, c, tc.format); !bytes.Equal(got, javaBytes) {
				t.Errorf("re-encoding differs from Java's file (%d vs %d bytes)", len(got), len(javaBytes))
			}
			// The fixture, built here, in the file's order, encodes to the same bytes.
			ordered := inOrderOf(t, javaFixture(), c)
			if got := encode(t, ordered, tc.format); !bytes.Equal(got, javaBytes) {
				t.Errorf("fixture encoding differs from Java's file")
			}
		})
	}
}

// inOrderOf returns c's entries in the order of the same aliases in order.
func inOrderOf(t *testing.T, c, order *Credentials) *Credentials {
	t.Helper()
	var out Credentials
	for alias := range order.Tokens() {
		tok, ok := c.Token(alias)
		if !ok {
			t.Fatalf("no token %q", alias)
		}
		out.AddToken(alias, tok)
	}
	for alias := range order.Secrets() {
		s, ok := c.Secret(alias)
		if !ok {
			t.Fatalf("no secret %q", alias)
		}
		out.AddSecret(alias, s)
	}
	return &out
}

func TestReadCredentialsErrors(t *testing.T) {
	v0 := encode(t, smallCredentials(), CredentialsFormatWritable)
	withBody := func(version byte, body []byte) []byte { return append([]byte{'H', 'D', 'T', 'S', version}, body...) }
	tests := []struct {
		name      string
		in        []byte
		field     string
		truncated bool
		contains  string
	}{
		{"empty", nil, "header", true, "bad header"},
		{"short header", []byte("HD"), "header", true, "bad header"},
		{"bad magic", []byte("HDTX\x00\x00\x00"), "header", false, "bad header found in token storage"},
		{"no version", []byte("HDTS"), "version", true, ""},
		{"unknown version", withBody(2, nil), "version", false, "unknown token storage version 2"},
		{"no token count", withBody(0, nil), "token count", true, ""},
		{"negative token count", withBody(0, writable.AppendVInt(nil, -1)), "token count", false, "negative count"},
		{"token count beyond int", withBody(0, writable.AppendVLong(nil, 1<<40)), "token count", false, "exceeds"},
		{"huge token count, no tokens", withBody(0, writable.AppendVInt(nil, math.MaxInt32)), "token[0].alias", true, ""},
		{"huge alias length", withBody(0, append([]byte{1}, writable.AppendVInt(nil, math.MaxInt32)...)), "token[0].alias", true, ""},
		{"negative identifier length", withBody(0, append([]byte{1, 0}, writable.AppendVInt(nil, -7)...)), "token[0].identifier", false, "negative"},
		{"huge password length", withBody(0, append([]byte{1, 0, 0}, writable.AppendVInt(nil, math.MaxInt32)...)), "token[0].password", true, ""},
		{"no secret count", v0[:len(v0)-5], "secret count", true, ""},
		{"negative secret length", withBody(0, append([]byte{0, 1, 0}, writable.AppendVInt(nil, -1)...)), "secret[0].value", false, "negative"},
		{"huge protobuf length", withBody(1, []byte{0xff, 0xff, 0xff, 0xff, 0x07, 0x0a}), "CredentialsProto", true, ""},
		{"protobuf length beyond 2 GiB", withBody(1, []byte{0x80, 0x80, 0x80, 0x80, 0x08}), "CredentialsProto length", false, "2 GiB"},
		{"overlong protobuf varint", withBody(1, bytes.Repeat([]byte{0xff}, 11)), "CredentialsProto length", false, "overflows"},
		{"protobuf missing required alias", withBody(1, []byte{0x04, 0x0a, 0x02, 0x12, 0x00}), "CredentialsProto", false, "required"},
		{"protobuf garbage", withBody(1, []byte{0x02, 0xff, 0xff}), "CredentialsProto", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadCredentials(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error; read %v", snapshot(c))
			}
			if !errors.Is(err, ErrMalformedCredentials) {
				t.Errorf("error %v does not match ErrMalformedCredentials", err)
			}
			var de *CredentialsDecodeError
			if !errors.As(err, &de) || de.Field != tc.field || de.Input != "token storage" {
				t.Errorf("error %v: want field %q", err, tc.field)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != tc.truncated {
				t.Errorf("error %v: truncated = %v, want %v", err, got, tc.truncated)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestReadCredentialsErrorOffsets(t *testing.T) {
	in := encode(t, smallCredentials(), CredentialsFormatWritable)
	// Cut inside the token's kind: header 5, count 1, alias 2, id 3, pw 2.
	_, err := ReadCredentials(bytes.NewReader(in[:14]))
	var de *CredentialsDecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v", err)
	}
	if de.Field != "token[0].kind" || de.Offset != 13 {
		t.Errorf("field %q at %d, want token[0].kind at 13", de.Field, de.Offset)
	}
	if want := "yarn: malformed token storage: token[0].kind at byte 13: truncated: unexpected EOF"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// Every proper prefix of a valid file is an error, in both formats.
func TestReadCredentialsEveryPrefixFails(t *testing.T) {
	var c Credentials
	c.AddToken("t", Token{Identifier: pattern(130, 1), Password: pattern(3, 2), Kind: "K", Service: "S"})
	c.AddSecret("s", pattern(200, 3))
	for _, f := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
		in := encode(t, &c, f)
		for n := range len(in) {
			if _, err := ReadCredentials(bytes.NewReader(in[:n])); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%v: prefix of %d bytes: %v, want a truncation error", f, n, err)
			}
		}
	}
}

func TestReadCredentialsIgnoresTrailingBytes(t *testing.T) {
	for _, f := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
		in := append(encode(t, smallCredentials(), f), "trailing"...)
		r := bytes.NewReader(in)
		c, err := ReadCredentials(r)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if diff := cmp.Diff(snapshot(smallCredentials()), snapshot(c)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", f, diff)
		}
		// A bytes.Reader is an io.ByteReader: nothing past the credentials is consumed.
		if r.Len() != len("trailing") {
			t.Errorf("%v: %d bytes left unread, want %d", f, r.Len(), len("trailing"))
		}
	}
}

func TestDuplicateAliasesReplaceInPlace(t *testing.T) {
	var src Credentials
	src.AddToken("a", Token{Kind: "1"})
	src.AddToken("b", Token{Kind: "2"})
	src.AddSecret("x", []byte{1})
	src.AddSecret("y", []byte{2})
	// Hand-built file with "a" and "x" repeated at the end.
	var body []byte
	body = writable.AppendVInt(body, 3)
	for _, e := range []struct{ alias, kind string }{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		body = writable.AppendText(body, e.alias)
		body = token.AppendWritable(body, Token{Kind: e.kind})
	}
	body = writable.AppendVInt(body, 3)
	for _, e := range []struct {
		alias string
		v     byte
	}{{"x", 1}, {"y", 2}, {"x", 3}} {
		body = writable.AppendText(body, e.alias)
		body = writable.AppendBytes(body, []byte{e.v})
	}
	c, err := ReadCredentials(bytes.NewReader(append([]byte("HDTS\x00"), body...)))
	if err != nil {
		t.Fatal(err)
	}
	want := entries{
		Tokens:  []string{`"a" "3" "" [] []`, `"b" "2" "" [] []`},
		Secrets: []string{`"x" [03]`, `"y" [02]`},
	}
	if diff := cmp.Diff(want, snapshot(c)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCredentialsAccessors(t *testing.T) {
	var c Credentials // the zero value is usable
	if _, ok := c.Token("x"); ok {
		t.Error("Token on empty credentials found something")
	}
	if c.RemoveToken("x") || c.RemoveSecret("x") {
		t.Error("Remove on empty credentials reported a removal")
	}
	id := []byte{1, 2, 3}
	c.AddToken("", Token{Kind: KindAMRMToken, Identifier: id})
	c.AddToken("hdfs", Token{Kind: KindHDFSDelegationToken, Service: "nn:8020"})
	c.AddToken("hdfs2", Token{Kind: KindHDFSDelegationToken, Service: "nn2:8020"})
	c.AddToken("rm", Token{Kind: KindRMDelegationToken})
	id[0] = 99 // the caller's slice is not shared
	key := []byte("k")
	c.AddSecret("key", key)
	key[0] = 'X'

	amrm := c.TokensByKind(KindAMRMToken)
	if len(amrm) != 1 || amrm[0].Identifier[0] != 1 {
		t.Fatalf("TokensByKind(AMRM) = %v", amrm)
	}
	amrm[0].Identifier[0] = 42 // nor is the returned one
	if tok, _ := c.Token(""); tok.Identifier[0] != 1 {
		t.Error("modifying a returned token changed the credentials")
	}
	var services []string
	for _, tok := range c.TokensByKind(KindHDFSDelegationToken) {
		services = append(services, tok.Service)
	}
	if diff := cmp.Diff([]string{"nn:8020", "nn2:8020"}, services); diff != "" {
		t.Errorf("HDFS tokens (-want +got):\n%s", diff)
	}
	if s, ok := c.Secret("key"); !ok || string(s) != "k" {
		t.Errorf("Secret(key) = %q, %v", s, ok)
	}
	if !c.RemoveToken("hdfs") || c.RemoveToken("hdfs") {
		t.Error("RemoveToken(hdfs) did not remove exactly once")
	}
	c.AddToken("hdfs2", Token{Kind: "replaced"})
	c.AddToken("new", Token{Kind: "new"})
	want := entries{
		Tokens: []string{
			`"" "YARN_AM_RM_TOKEN" "" [010203] []`,
			`"hdfs2" "replaced" "" [] []`,
			`"rm" "RM_DELEGATION_TOKEN" "" [] []`,
			`"new" "new" "" [] []`,
		},
		Secrets: []string{`"key" [6b]`},
	}
	if diff := cmp.Diff(want, snapshot(&c)); diff != "" {
		t.Errorf("after remove and replace (-want +got):\n%s", diff)
	}
	if c.NumTokens() != 4 || c.NumSecrets() != 1 {
		t.Errorf("NumTokens, NumSecrets = %d, %d; want 4, 1", c.NumTokens(), c.NumSecrets())
	}
	// Lookups still work after the index shifted.
	if tok, ok := c.Token("new"); !ok || tok.Kind != "new" {
		t.Errorf("Token(new) = %v, %v", tok, ok)
	}
	if !c.RemoveSecret("key") || c.NumSecrets() != 0 {
		t.Error("RemoveSecret(key) failed")
	}
}

func TestAddAllAndClone(t *testing.T) {
	a := smallCredentials()
	var b Credentials
	b.AddToken("a", Token{Kind: "other"})
	b.AddToken("z", Token{Kind: "Z"})
	b.AddSecret("t", []byte{7})
	clone := a.Clone()
	a.AddAll(&b)
	want := entries{
		Tokens:  []string{`"a" "other" "" [] []`, `"z" "Z" "" [] []`},
		Secrets: []string{`"s" [ff]`, `"t" [07]`},
	}
	if diff := cmp.Diff(want, snapshot(a)); diff != "" {
		t.Errorf("AddAll (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(snapshot(smallCredentials()), snapshot(clone)); diff != "" {
		t.Errorf("the clone changed with the original (-want +got):\n%s", diff)
	}
}

func TestBinaryMarshalingAndWriterTo(t *testing.T) {
	c := smallCredentials()
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, encode(t, c, CredentialsFormatWritable)) {
		t.Error("MarshalBinary is not format 0")
	}
	var w bytes.Buffer
	var _ io.WriterTo = c
	if _, err := c.WriteTo(&w); err != nil || !bytes.Equal(w.Bytes(), b) {
		t.Errorf("WriteTo = % x, %v; want format 0", w.Bytes(), err)
	}
	var back Credentials
	back.AddToken("stale", Token{})
	if err := back.UnmarshalBinary(encode(t, javaFixture(), CredentialsFormatProtobuf)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snapshot(javaFixture()), snapshot(&back)); diff != "" {
		t.Errorf("UnmarshalBinary (-want +got):\n%s", diff)
	}
	if err := back.UnmarshalBinary([]byte("nope")); !errors.Is(err, ErrMalformedCredentials) {
		t.Errorf("UnmarshalBinary(garbage) = %v", err)
	}
	if _, err := c.WriteFormat(io.Discard, 7); err == nil {
		t.Error("WriteFormat(7) succeeded")
	}
}

func TestReadCredentialsFileErrors(t *testing.T) {
	if _, err := ReadCredentialsFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("HDTS\x09"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadCredentialsFile(bad)
	if !errors.Is(err, ErrMalformedCredentials) || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
}

func FuzzReadCredentials(f *testing.F) {
	// The Java files (70 KB) stall the fuzzer's coverage work, and
	// TestReadJavaFiles covers them; the seeds are the fixture without its
	// big token, in both formats.
	fixture := javaFixture()
	fixture.RemoveToken("big")
	for _, format := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
		f.Add(encode(f, fixture, format))
	}
	var small Credentials
	small.AddToken("", Token{Kind: KindAMRMToken, Identifier: pattern(10, 1), Password: pattern(5, 2)})
	small.AddSecret("k", []byte{1})
	for _, format := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
		f.Add(encode(f, &small, format))
	}
	f.Add([]byte("HDTS\x00\x8c\x7f\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadCredentials(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrMalformedCredentials) {
				t.Fatalf("error %v does not match ErrMalformedCredentials", err)
			}
			return
		}
		// Whatever was read writes back and reads again to the same content
		// in both formats.
		for _, format := range []CredentialsFormat{CredentialsFormatWritable, CredentialsFormatProtobuf} {
			again, err := ReadCredentials(bytes.NewReader(encode(t, c, format)))
			if err != nil {
				t.Fatalf("%v: re-reading: %v", format, err)
			}
			if diff := cmp.Diff(snapshot(c), snapshot(again)); diff != "" {
				t.Fatalf("%v: (-first +second):\n%s", format, diff)
			}
		}
		for _, tok := range c.Tokens() {
			_ = tok.String()
		}
	})
}

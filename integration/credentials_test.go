//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/internal/writable"
	"github.com/spindle-yarn/spindle/yarn"
)

// These tests check Spindle's token storage, token strings and Writable
// integers against Hadoop's own Java code (Credentials, Token,
// WritableUtils), run through the test bed's CredentialsTool. They need Java
// and the test bed's classpath, not a running cluster.

var credToolBuild struct {
	once sync.Once
	err  error
}

// credRepoRoot is the repository root, found from this file's path.
func credRepoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Dir(filepath.Dir(file))
}

// runCredentialsTool runs io.spindle.testbed.CredentialsTool with args and
// returns its standard output. It builds the test bed's Java first (cheap
// when up to date).
func runCredentialsTool(t *testing.T, args ...string) string {
	t.Helper()
	root := credRepoRoot(t)
	testbedDir := filepath.Join(root, "integration", "testbed")
	credToolBuild.once.Do(func() {
		out, err := exec.Command(filepath.Join(testbedDir, "build.sh")).CombinedOutput()
		if err != nil {
			credToolBuild.err = fmt.Errorf("build.sh: %v\n%s", err, out)
		}
	})
	if credToolBuild.err != nil {
		t.Fatal(credToolBuild.err)
	}
	cp, err := os.ReadFile(filepath.Join(testbedDir, "target", "classpath.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	classpath := filepath.Join(testbedDir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp))
	cmd := exec.CommandContext(ctx, "java", append([]string{
		"--add-opens=java.base/java.lang=ALL-UNNAMED", "-cp", classpath, "io.spindle.testbed.CredentialsTool",
	}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("CredentialsTool %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// credPattern and credFixture mirror CredentialsTool.pattern and .fixture.
func credPattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed + i*31)
	}
	return b
}

func credFixture() *yarn.Credentials {
	var c yarn.Credentials
	c.AddToken("", yarn.Token{Kind: yarn.KindAMRMToken, Identifier: credPattern(30, 1), Password: credPattern(32, 2)})
	c.AddToken("hdfs://nn.example.com:8020", yarn.Token{Kind: yarn.KindHDFSDelegationToken, Service: "127.0.0.1:8020",
		Identifier: credPattern(60, 3), Password: credPattern(20, 4)})
	c.AddToken("rm ✓ ünïcode", yarn.Token{Kind: yarn.KindRMDelegationToken, Service: "rm1:8032,rm2:8032",
		Identifier: credPattern(200, 5), Password: credPattern(20, 6)})
	c.AddToken("big", yarn.Token{Kind: "SPINDLE_TEST", Service: "svc:1", Identifier: credPattern(300, 7), Password: credPattern(70000, 8)})
	c.AddToken("empty", yarn.Token{})
	c.AddSecret("secret.key", credPattern(16, 9))
	c.AddSecret("", nil)
	c.AddSecret("unicode ✓ secret", credPattern(300, 10))
	return &c
}

// credShow formats bytes as CredentialsTool.show does.
func credShow(b []byte) string {
	if len(b) <= 64 {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("len=%d,sha256=%x", len(b), sha256.Sum256(b))
}

func credTokenLine(t yarn.Token) string {
	return "kind=" + credShow([]byte(t.Kind)) + " service=" + credShow([]byte(t.Service)) +
		" id=" + credShow(t.Identifier) + " pw=" + credShow(t.Password)
}

// credDump lists c as CredentialsTool dump does, sorted.
func credDump(c *yarn.Credentials) []string {
	var lines []string
	for alias, t := range c.Tokens() {
		lines = append(lines, "token alias="+credShow([]byte(alias))+" "+credTokenLine(t))
	}
	for alias, s := range c.Secrets() {
		lines = append(lines, "secret alias="+credShow([]byte(alias))+" value="+credShow(s))
	}
	slices.Sort(lines)
	return lines
}

func credSortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

var credFormats = []yarn.CredentialsFormat{yarn.CredentialsFormatWritable, yarn.CredentialsFormatProtobuf}

// TestCredentialsGoReadsJava: Go reads both formats as Java wrote them and
// finds the fixture, and what Java's own dump shows.
func TestCredentialsGoReadsJava(t *testing.T) {
	dir := t.TempDir()
	for _, f := range credFormats {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(dir, "java-"+f.String())
			runCredentialsTool(t, "write", path, strconv.Itoa(int(f)))
			javaDump := credSortedLines(runCredentialsTool(t, "dump", path))
			c, err := yarn.ReadCredentialsFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(javaDump, credDump(c)); diff != "" {
				t.Errorf("Go's reading differs from Java's (-java +go):\n%s", diff)
			}
			if diff := cmp.Diff(credDump(credFixture()), credDump(c)); diff != "" {
				t.Errorf("Java's file differs from the fixture (-fixture +file):\n%s", diff)
			}
			if amrm := c.TokensByKind(yarn.KindAMRMToken); len(amrm) != 1 {
				t.Errorf("%d AMRMTokens, want 1", len(amrm))
			} else if tok, ok := c.Token(""); !ok || tok.Kind != yarn.KindAMRMToken {
				t.Errorf("token under alias \"\" = %v, %v; want the AMRMToken", tok, ok)
			}
		})
	}
}

// TestCredentialsJavaReadsGo: Java's readTokenStorageStream reads both
// formats as Go wrote them and finds the fixture.
func TestCredentialsJavaReadsGo(t *testing.T) {
	dir := t.TempDir()
	for _, f := range credFormats {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(dir, "go-"+f.String())
			var buf bytes.Buffer
			if _, err := credFixture().WriteFormat(&buf, f); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			got := credSortedLines(runCredentialsTool(t, "dump", path))
			if diff := cmp.Diff(credDump(credFixture()), got); diff != "" {
				t.Errorf("Java's reading of Go's file (-fixture +java):\n%s", diff)
			}
		})
	}
}

// TestCredentialsByteIdenticalToJava: for the same entries in the same order
// Go's output equals Java's writeTokenStorageToStream byte for byte, in both
// formats. Java orders entries by its hash map, so the order is taken from
// Java's file; the content comes from Go's own fixture.
func TestCredentialsByteIdenticalToJava(t *testing.T) {
	dir := t.TempDir()
	for _, f := range credFormats {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(dir, "java-"+f.String())
			runCredentialsTool(t, "write", path, strconv.Itoa(int(f)))
			javaBytes, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			javaOrder, err := yarn.ReadCredentials(bytes.NewReader(javaBytes))
			if err != nil {
				t.Fatal(err)
			}
			fixture := credFixture()
			var ordered yarn.Credentials
			for alias := range javaOrder.Tokens() {
				tok, ok := fixture.Token(alias)
				if !ok {
					t.Fatalf("Java wrote token alias %q, not in the fixture", alias)
				}
				ordered.AddToken(alias, tok)
			}
			for alias := range javaOrder.Secrets() {
				s, ok := fixture.Secret(alias)
				if !ok {
					t.Fatalf("Java wrote secret alias %q, not in the fixture", alias)
				}
				ordered.AddSecret(alias, s)
			}
			var goBytes bytes.Buffer
			if _, err := ordered.WriteFormat(&goBytes, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(goBytes.Bytes(), javaBytes) {
				n := 0
				for n < min(goBytes.Len(), len(javaBytes)) && goBytes.Bytes()[n] == javaBytes[n] {
					n++
				}
				t.Errorf("Go wrote %d bytes, Java %d; first difference at byte %d", goBytes.Len(), len(javaBytes), n)
			}
		})
	}
}

// TestCredentialsURLStringsMatchJava: Token.encodeToUrlString and
// URLString agree on every fixture token, and Go and Java's
// decodeFromUrlString agree on which strings are tokens and what they hold.
func TestCredentialsURLStringsMatchJava(t *testing.T) {
	want := make(map[string]yarn.Token)
	for alias, tok := range credFixture().Tokens() {
		want[credShow([]byte(alias))] = tok
	}
	lines := strings.Split(strings.TrimSpace(runCredentialsTool(t, "urlencode")), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Java encoded %d tokens, want %d", len(lines), len(want))
	}
	for _, line := range lines {
		alias, javaString, _ := strings.Cut(line, " ")
		tok, ok := want[alias]
		if !ok {
			t.Fatalf("Java encoded unknown alias %s", alias)
		}
		goString, err := tok.URLString()
		if err != nil {
			t.Fatal(err)
		}
		if goString != javaString {
			t.Errorf("alias %s: URLString differs from Java's encodeToUrlString", alias)
		}
	}

	tok := yarn.Token{Identifier: []byte{0xff, 0xff, 0xff, 0xfb, 0xef}, Password: credPattern(9, 2),
		Kind: yarn.KindHDFSDelegationToken, Service: "ha-hdfs:ns1"}
	good, err := tok.URLString()
	if err != nil {
		t.Fatal(err)
	}
	decodedGood, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		good,
		base64.URLEncoding.EncodeToString(decodedGood),
		base64.StdEncoding.EncodeToString(decodedGood),
		base64.RawStdEncoding.EncodeToString(decodedGood),
		good[:10] + "\n \t" + good[10:],
		base64.URLEncoding.EncodeToString(decodedGood) + "!!junk==",
		good + "A",  // a lone trailing character
		good + "AB", // a trailing byte after the token
		base64.RawURLEncoding.EncodeToString(append(bytes.Clone(decodedGood), 1, 2, 3)),
		good[:len(good)-1],
		good[:20],
		"",
		"!!!!",
		base64.RawURLEncoding.EncodeToString(writable.AppendVInt(nil, -5)),
		base64.RawURLEncoding.EncodeToString(writable.AppendVInt(nil, 1<<31-1)),
	}
	inputs = append(inputs, credFixtureStrings(t)...)
	javaLines := strings.Split(strings.TrimRight(runCredentialsTool(t, append([]string{"urldecode"}, inputs...)...), "\n"), "\n")
	if len(javaLines) != len(inputs) {
		t.Fatalf("Java answered %d lines for %d inputs", len(javaLines), len(inputs))
	}
	for i, in := range inputs {
		got, err := yarn.ParseTokenURLString(in)
		javaOK := strings.HasPrefix(javaLines[i], "ok ")
		if (err == nil) != javaOK {
			t.Errorf("input %d %.40q: Go error %v, Java %s", i, in, err, javaLines[i])
			continue
		}
		if err == nil && "ok "+credTokenLine(got) != javaLines[i] {
			t.Errorf("input %d %.40q: Go decoded %s, Java %s", i, in, credTokenLine(got), javaLines[i])
		}
	}
}

// credFixtureStrings are the fixture tokens as URL strings.
func credFixtureStrings(t *testing.T) []string {
	var out []string
	for _, tok := range credFixture().Tokens() {
		if len(tok.Password) > 1000 {
			continue // keep the command line short
		}
		s, err := tok.URLString()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestCredentialsVLongMatchesJava: writable.AppendVLong against
// WritableUtils.writeVLong at the edges of each encoded length.
func TestCredentialsVLongMatchesJava(t *testing.T) {
	values := []int64{0, 1, -1, 127, 128, -112, -113, 255, 256, -256, -257, 65535, 65536, 70000, -70000,
		1<<31 - 1, -1 << 31, 1 << 31, 1<<40 + 5, 1<<63 - 1, -1 << 63}
	for shift := 8; shift < 63; shift += 8 {
		values = append(values, 1<<shift-1, 1<<shift, -(1 << shift), -(1<<shift + 1))
	}
	args := []string{"vlong"}
	for _, v := range values {
		args = append(args, strconv.FormatInt(v, 10))
	}
	javaLines := strings.Split(strings.TrimSpace(runCredentialsTool(t, args...)), "\n")
	if len(javaLines) != len(values) {
		t.Fatalf("Java answered %d lines for %d values", len(javaLines), len(values))
	}
	for i, v := range values {
		goHex := hex.EncodeToString(writable.AppendVLong(nil, v))
		if goHex != javaLines[i] {
			t.Errorf("VLong %d: Go %s, Java %s", v, goHex, javaLines[i])
		}
		javaBytes, _ := hex.DecodeString(javaLines[i])
		if back, err := writable.NewBytesReader(javaBytes).VLong(); err != nil || back != v {
			t.Errorf("reading Java's VLong %s: %d, %v; want %d", javaLines[i], back, err, v)
		}
	}
}

// TestCredentialsIdentifiersFromJava: identifiers written by Hadoop's
// DelegationTokenIdentifier (HDFS, Writable), RMDelegationTokenIdentifier
// (protobuf) and AMRMTokenIdentifier (protobuf) decode to the values Java set.
func TestCredentialsIdentifiersFromJava(t *testing.T) {
	got := make(map[string]any)
	for _, line := range strings.Split(strings.TrimSpace(runCredentialsTool(t, "identifiers")), "\n") {
		sep := strings.LastIndexByte(line, ' ')
		kind, s := line[:sep], line[sep+1:]
		tok, err := yarn.ParseTokenURLString(s)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if tok.Kind != kind {
			t.Errorf("token kind %q, Java said %q", tok.Kind, kind)
		}
		if kind == yarn.KindAMRMToken {
			got[kind], err = tok.AMRMIdentifier()
		} else {
			got[kind], err = tok.DelegationIdentifier()
		}
		if err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		if strings.Contains(tok.String(), string(tok.Password)) {
			t.Errorf("%s: String() shows the password", kind)
		}
		t.Logf("%s", tok)
	}
	want := map[string]any{
		yarn.KindHDFSDelegationToken: yarn.DelegationTokenIdentifier{
			Owner: "alice", Renewer: "yarn", RealUser: "oozie",
			IssueDate: time.UnixMilli(1700000000123).UTC(), MaxDate: time.UnixMilli(1700604800123).UTC(),
			SequenceNumber: 42, MasterKeyID: 7,
		},
		yarn.KindRMDelegationToken: yarn.DelegationTokenIdentifier{
			Owner: "bob@EXAMPLE.COM", Renewer: "rm",
			IssueDate: time.UnixMilli(1700000000456).UTC(), MaxDate: time.UnixMilli(1700604800456).UTC(),
			SequenceNumber: 300, MasterKeyID: -3,
		},
		yarn.KindAMRMToken: yarn.AMRMTokenIdentifier{ClusterTimestamp: 1700000000000, Application: 12345, Attempt: 2, KeyID: 99},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded identifiers (-want +got):\n%s", diff)
	}
}

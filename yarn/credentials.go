package yarn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/redact"
	"github.com/spindle-yarn/spindle/internal/token"
	"github.com/spindle-yarn/spindle/internal/writable"
)

// TokenFileEnv is the environment variable in which a NodeManager passes a
// container the path of its credentials file (format 0). An
// ApplicationMaster finds its AMRMToken there, by kind KindAMRMToken.
const TokenFileEnv = "HADOOP_TOKEN_FILE_LOCATION"

// CredentialsFormat selects the layout of Hadoop token storage ("HDTS").
type CredentialsFormat byte

const (
	// CredentialsFormatWritable is format 0, Hadoop's Writable layout. Java
	// writes it by default everywhere (container token files, launch
	// contexts, `hadoop dtutil`), and every Hadoop version reads it.
	CredentialsFormatWritable CredentialsFormat = 0
	// CredentialsFormatProtobuf is format 1: a length-delimited
	// hadoop.common.CredentialsProto. Hadoop 3 reads it; older releases
	// do not.
	CredentialsFormatProtobuf CredentialsFormat = 1
)

func (f CredentialsFormat) String() string {
	switch f {
	case CredentialsFormatWritable:
		return "writable"
	case CredentialsFormatProtobuf:
		return "protobuf"
	}
	return fmt.Sprintf("CredentialsFormat(%d)", byte(f))
}

// tokenStorageMagic opens every token storage stream.
var tokenStorageMagic = [4]byte{'H', 'D', 'T', 'S'}

// Credentials is a set of tokens and secret keys, each under an alias, as
// Hadoop's org.apache.hadoop.security.Credentials holds them: what a
// container's token file, an application's launch context and `hadoop
// dtutil` carry.
//
// Aliases are unique within tokens and within secrets. Entries keep the
// order in which they were first added, and are written in that order; Java
// keeps them in a hash map, so the order carries no meaning to Hadoop.
//
// The zero value is an empty set ready to use. Credentials copies the byte
// slices it is given and returns copies, so callers can never change its
// contents by accident. It is not safe for concurrent modification.
//
// Formatted with fmt or slog, or encoded as JSON, Credentials shows its
// aliases and tokens as Token does, and each secret key only by its
// length. To store or send credentials, use WriteTo or MarshalBinary.
type Credentials struct {
	tokens       []aliasedToken
	secrets      []aliasedSecret
	tokenIndex   map[string]int
	secretsIndex map[string]int
}

type aliasedToken struct {
	alias string
	token Token
}

type aliasedSecret struct {
	alias  string
	secret []byte
}

// AddToken stores t under alias. A token already under that alias is
// replaced where it stands.
func (c *Credentials) AddToken(alias string, t Token) {
	t = token.Clone(t)
	if i, ok := c.tokenIndex[alias]; ok {
		c.tokens[i].token = t
		return
	}
	if c.tokenIndex == nil {
		c.tokenIndex = make(map[string]int)
	}
	c.tokenIndex[alias] = len(c.tokens)
	c.tokens = append(c.tokens, aliasedToken{alias, t})
}

// Token returns the token under alias.
func (c *Credentials) Token(alias string) (Token, bool) {
	i, ok := c.tokenIndex[alias]
	if !ok {
		return Token{}, false
	}
	return token.Clone(c.tokens[i].token), true
}

// RemoveToken removes the token under alias and reports whether there was
// one.
func (c *Credentials) RemoveToken(alias string) bool {
	i, ok := c.tokenIndex[alias]
	if !ok {
		return false
	}
	c.tokens = append(c.tokens[:i], c.tokens[i+1:]...)
	delete(c.tokenIndex, alias)
	for j := i; j < len(c.tokens); j++ {
		c.tokenIndex[c.tokens[j].alias] = j
	}
	return true
}

// Tokens yields every alias and token, in order.
func (c *Credentials) Tokens() iter.Seq2[string, Token] {
	return func(yield func(string, Token) bool) {
		for _, e := range c.tokens {
			if !yield(e.alias, token.Clone(e.token)) {
				return
			}
		}
	}
}

// TokensByKind returns the tokens of the given kind, in order. An
// ApplicationMaster finds its AMRMToken with TokensByKind(KindAMRMToken):
// the NodeManager files it under alias "" with service "".
func (c *Credentials) TokensByKind(kind string) []Token {
	var out []Token
	for _, e := range c.tokens {
		if e.token.Kind == kind {
			out = append(out, token.Clone(e.token))
		}
	}
	return out
}

// NumTokens is the number of tokens.
func (c *Credentials) NumTokens() int { return len(c.tokens) }

// AddSecret stores key under alias. A secret already under that alias is
// replaced where it stands.
func (c *Credentials) AddSecret(alias string, key []byte) {
	key = token.NonNil(token.CloneBytes(key))
	if i, ok := c.secretsIndex[alias]; ok {
		c.secrets[i].secret = key
		return
	}
	if c.secretsIndex == nil {
		c.secretsIndex = make(map[string]int)
	}
	c.secretsIndex[alias] = len(c.secrets)
	c.secrets = append(c.secrets, aliasedSecret{alias, key})
}

// Secret returns the secret key under alias.
func (c *Credentials) Secret(alias string) ([]byte, bool) {
	i, ok := c.secretsIndex[alias]
	if !ok {
		return nil, false
	}
	return token.CloneBytes(c.secrets[i].secret), true
}

// RemoveSecret removes the secret under alias and reports whether there was
// one.
func (c *Credentials) RemoveSecret(alias string) bool {
	i, ok := c.secretsIndex[alias]
	if !ok {
		return false
	}
	c.secrets = append(c.secrets[:i], c.secrets[i+1:]...)
	delete(c.secretsIndex, alias)
	for j := i; j < len(c.secrets); j++ {
		c.secretsIndex[c.secrets[j].alias] = j
	}
	return true
}

// Secrets yields every alias and secret key, in order.
func (c *Credentials) Secrets() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for _, e := range c.secrets {
			if !yield(e.alias, token.CloneBytes(e.secret)) {
				return
			}
		}
	}
}

// NumSecrets is the number of secret keys.
func (c *Credentials) NumSecrets() int { return len(c.secrets) }

// AddAll copies every token and secret of other into c, replacing entries
// under the same alias (Java's Credentials.addAll).
func (c *Credentials) AddAll(other *Credentials) {
	for _, e := range other.tokens {
		c.AddToken(e.alias, e.token)
	}
	for _, e := range other.secrets {
		c.AddSecret(e.alias, e.secret)
	}
}

// Clone returns a deep copy of c.
func (c *Credentials) Clone() *Credentials {
	var out Credentials
	out.AddAll(c)
	return &out
}

// WriteTo writes c as token storage in format 0 (Writable), the format Java
// writes by default and every Hadoop release reads. It implements
// io.WriterTo.
func (c *Credentials) WriteTo(w io.Writer) (int64, error) {
	return c.WriteFormat(w, CredentialsFormatWritable)
}

// WriteFormat writes c as token storage in the given format: "HDTS", the
// format byte, then the credentials. The output is byte for byte what Java's
// Credentials.writeTokenStorageToStream writes for the same entries in the
// same order.
func (c *Credentials) WriteFormat(w io.Writer, format CredentialsFormat) (int64, error) {
	b, err := c.appendFormat(nil, format)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// MarshalBinary returns c as format 0 token storage, the bytes a
// ContainerLaunchContext's tokens field holds.
func (c *Credentials) MarshalBinary() ([]byte, error) {
	return c.appendFormat(nil, CredentialsFormatWritable)
}

// UnmarshalBinary replaces c's contents with the token storage in b (either
// format).
func (c *Credentials) UnmarshalBinary(b []byte) error {
	read, err := ReadCredentials(bytes.NewReader(b))
	if err != nil {
		return err
	}
	*c = *read
	return nil
}

func (c *Credentials) appendFormat(b []byte, format CredentialsFormat) ([]byte, error) {
	if err := c.checkWritable(); err != nil {
		return nil, err
	}
	b = append(b, tokenStorageMagic[:]...)
	b = append(b, byte(format))
	switch format {
	case CredentialsFormatWritable:
		return c.appendWritable(b), nil
	case CredentialsFormatProtobuf:
		return c.appendProtobuf(b)
	}
	return nil, fmt.Errorf("yarn: unknown credentials format %d", byte(format))
}

// checkWritable reports an alias, token field or secret too long for
// Hadoop's 32-bit lengths.
func (c *Credentials) checkWritable() error {
	for _, e := range c.tokens {
		if err := writable.CheckLen(len(e.alias)); err != nil {
			return fmt.Errorf("yarn: token alias: %w", err)
		}
		if err := token.CheckWritable(e.token); err != nil {
			return err
		}
	}
	for _, e := range c.secrets {
		if err := writable.CheckLen(max(len(e.alias), len(e.secret))); err != nil {
			return fmt.Errorf("yarn: secret %q: %w", e.alias, err)
		}
	}
	return nil
}

// appendWritable appends Credentials.write's layout: VInt token count, then
// Text alias and Writable token for each; VInt secret count, then Text alias
// and VInt-length-prefixed bytes for each.
func (c *Credentials) appendWritable(b []byte) []byte {
	b = writable.AppendVInt(b, int32(len(c.tokens)))
	for _, e := range c.tokens {
		b = writable.AppendText(b, e.alias)
		b = token.AppendWritable(b, e.token)
	}
	b = writable.AppendVInt(b, int32(len(c.secrets)))
	for _, e := range c.secrets {
		b = writable.AppendText(b, e.alias)
		b = writable.AppendBytes(b, e.secret)
	}
	return b
}

// appendProtobuf appends a CredentialsProto preceded by its varint length,
// as Java's writeDelimitedTo does.
func (c *Credentials) appendProtobuf(b []byte) ([]byte, error) {
	msg := &hadoopcommon.CredentialsProto{}
	for _, e := range c.tokens {
		msg.Tokens = append(msg.Tokens, &hadoopcommon.CredentialsKVProto{
			Alias: proto.String(e.alias),
			Token: tokenToProto(e.token),
		})
	}
	for _, e := range c.secrets {
		msg.Secrets = append(msg.Secrets, &hadoopcommon.CredentialsKVProto{
			Alias:  proto.String(e.alias),
			Secret: token.NonNil(e.secret),
		})
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("yarn: encoding credentials: %w", err)
	}
	if len(body) > math.MaxInt32 {
		return nil, fmt.Errorf("yarn: encoding credentials: %d bytes exceed protobuf's 2 GiB limit", len(body))
	}
	b = appendUvarint(b, uint64(len(body)))
	return append(b, body...), nil
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// ReadCredentials reads token storage in either format, as Java's
// Credentials.readTokenStorageStream does. Like Java it stops at the end of
// the credentials and does not look at what follows; when r is not an
// io.ByteReader it is buffered and may be read further than that.
//
// When an alias occurs twice the later entry replaces the earlier one in the
// earlier one's place, as in Java. Errors match ErrMalformedCredentials and
// are *CredentialsDecodeError values naming the element that failed and its
// byte offset; a stream that ends early also matches io.ErrUnexpectedEOF.
// Lengths in the input are trusted only as far as the input backs them: a
// hostile length makes ReadCredentials fail, not allocate it.
func ReadCredentials(r io.Reader) (*Credentials, error) {
	wr := writable.NewReader(r)
	fail := func(field string, off int64, err error) (*Credentials, error) {
		return nil, &CredentialsDecodeError{Input: "token storage", Field: field, Offset: off, Err: err}
	}
	header, err := wr.Full(len(tokenStorageMagic))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("header", 0, fmt.Errorf("bad header found in token storage: %w", err))
		}
		return fail("header", 0, err)
	}
	if !bytes.Equal(header, tokenStorageMagic[:]) {
		return fail("header", 0, fmt.Errorf("bad header found in token storage: got %q, want %q", header, tokenStorageMagic[:]))
	}
	version, err := wr.Byte()
	if err != nil {
		return fail("version", 4, token.UnexpectedEOF(err))
	}
	switch CredentialsFormat(version) {
	case CredentialsFormatWritable:
		return readWritableCredentials(wr)
	case CredentialsFormatProtobuf:
		return readProtobufCredentials(wr)
	}
	return fail("version", 4, fmt.Errorf("unknown token storage version %d", version))
}

func readWritableCredentials(r *writable.Reader) (*Credentials, error) {
	fail := func(field string, off int64, err error) (*Credentials, error) {
		return nil, &CredentialsDecodeError{Input: "token storage", Field: field, Offset: off, Err: token.UnexpectedEOF(err)}
	}
	var c Credentials
	off := r.Offset()
	n, err := r.VInt()
	if err != nil {
		return fail("token count", off, err)
	}
	if n < 0 {
		return fail("token count", off, fmt.Errorf("negative count %d", n))
	}
	// The count is not used to size anything: each entry must be read.
	for i := range int(n) {
		off := r.Offset()
		alias, err := r.Text(-1)
		if err != nil {
			return fail(fmt.Sprintf("token[%d].alias", i), off, err)
		}
		t, field, off, err := token.ReadWritable(r, fmt.Sprintf("token[%d].", i))
		if err != nil {
			return fail(field, off, err)
		}
		c.AddToken(alias, t)
	}
	off = r.Offset()
	if n, err = r.VInt(); err != nil {
		return fail("secret count", off, err)
	}
	if n < 0 {
		return fail("secret count", off, fmt.Errorf("negative count %d", n))
	}
	for i := range int(n) {
		off := r.Offset()
		alias, err := r.Text(-1)
		if err != nil {
			return fail(fmt.Sprintf("secret[%d].alias", i), off, err)
		}
		off = r.Offset()
		secret, err := r.Bytes(-1)
		if err != nil {
			return fail(fmt.Sprintf("secret[%d].value", i), off, err)
		}
		c.AddSecret(alias, secret)
	}
	return &c, nil
}

func readProtobufCredentials(r *writable.Reader) (*Credentials, error) {
	fail := func(field string, off int64, err error) (*Credentials, error) {
		return nil, &CredentialsDecodeError{Input: "token storage", Field: field, Offset: off, Err: err}
	}
	off := r.Offset()
	var size uint64
	for shift := 0; ; shift += 7 {
		c, err := r.Byte()
		if err != nil {
			return fail("CredentialsProto length", off, token.UnexpectedEOF(err))
		}
		if shift == 63 && c > 1 {
			return fail("CredentialsProto length", off, errors.New("varint overflows 64 bits"))
		}
		size |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if size > math.MaxInt32 {
		return fail("CredentialsProto length", off, fmt.Errorf("length %d exceeds protobuf's 2 GiB limit", size))
	}
	off = r.Offset()
	body, err := r.Full(int(size))
	if err != nil {
		return fail("CredentialsProto", off, err)
	}
	var msg hadoopcommon.CredentialsProto
	if err := proto.Unmarshal(body, &msg); err != nil {
		return fail("CredentialsProto", off, err)
	}
	// Like Java, an entry without its token or secret yields an empty one.
	var c Credentials
	for _, kv := range msg.GetTokens() {
		c.AddToken(kv.GetAlias(), tokenFromProto(kv.GetToken()))
	}
	for _, kv := range msg.GetSecrets() {
		c.AddSecret(kv.GetAlias(), kv.GetSecret())
	}
	return &c, nil
}

// ReadCredentialsFile reads the token storage file at path, in either
// format. In a YARN container the path is in the TokenFileEnv environment
// variable.
func ReadCredentialsFile(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ReadCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}

// The methods below are on the value, not the pointer, so that a
// Credentials printed or logged by value is redacted too.

// String lists the aliases with their tokens (as Token.String shows them)
// and the aliases of the secret keys with their lengths, never a password
// or key.
func (c Credentials) String() string {
	var sb strings.Builder
	sb.WriteString("Credentials{tokens: [")
	for i, e := range c.tokens {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Quote(e.alias))
		sb.WriteString(": ")
		sb.WriteString(e.token.String())
	}
	sb.WriteString("], secrets: [")
	for i, e := range c.secrets {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Quote(e.alias))
		sb.WriteString(": ")
		sb.WriteString(redact.Bytes(len(e.secret)))
	}
	sb.WriteString("]}")
	return sb.String()
}

// GoString keeps %#v from printing passwords and keys.
func (c Credentials) GoString() string {
	var sb strings.Builder
	sb.WriteString("yarn.Credentials{tokens:[]{")
	for i, e := range c.tokens {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "{alias:%q, token:%s}", e.alias, e.token.GoString())
	}
	sb.WriteString("}, secrets:[]{")
	for i, e := range c.secrets {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "{alias:%q, secret:%s}", e.alias, redact.Bytes(len(e.secret)))
	}
	sb.WriteString("}}")
	return sb.String()
}

// Format prints String (GoString for %#v) whatever the verb.
func (c Credentials) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }

// LogValue logs the tokens and secrets by position: tokens.0.alias,
// tokens.0.kind, ..., secrets.0.alias, secrets.0.secret (its length).
func (c Credentials) LogValue() slog.Value {
	tokens := make([]slog.Attr, len(c.tokens))
	for i, e := range c.tokens {
		tokens[i] = slog.Attr{Key: strconv.Itoa(i), Value: slog.GroupValue(
			append([]slog.Attr{slog.String("alias", e.alias)}, token.RedactedAttrs(e.token)...)...)}
	}
	secrets := make([]slog.Attr, len(c.secrets))
	for i, e := range c.secrets {
		secrets[i] = slog.Group(strconv.Itoa(i), "alias", e.alias, "secret", redact.Bytes(len(e.secret)))
	}
	return slog.GroupValue(slog.Attr{Key: "tokens", Value: slog.GroupValue(tokens...)},
		slog.Attr{Key: "secrets", Value: slog.GroupValue(secrets...)})
}

// MarshalJSON encodes what String shows: {"tokens":[{"alias":...,
// "kind":..., ...}], "secrets":[{"alias":..., "secret":"<redacted: n
// bytes>"}]}. It is for logs and reports, not for storing credentials.
func (c Credentials) MarshalJSON() ([]byte, error) {
	type entry = json.RawMessage
	out := struct {
		Tokens  []entry `json:"tokens"`
		Secrets []entry `json:"secrets"`
	}{Tokens: []entry{}, Secrets: []entry{}}
	for _, e := range c.tokens {
		b, err := token.AttrsJSON(append([]slog.Attr{slog.String("alias", e.alias)}, token.RedactedAttrs(e.token)...))
		if err != nil {
			return nil, err
		}
		out.Tokens = append(out.Tokens, b)
	}
	for _, e := range c.secrets {
		b, err := token.AttrsJSON([]slog.Attr{slog.String("alias", e.alias), slog.String("secret", redact.Bytes(len(e.secret)))})
		if err != nil {
			return nil, err
		}
		out.Secrets = append(out.Secrets, b)
	}
	return json.Marshal(out)
}

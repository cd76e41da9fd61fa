// Package token is Hadoop's security token, the one type packages yarn and
// hdfs both name Token (each by a type alias): its fields, the Writable and
// URL-string encodings Java reads, the decoding of delegation-token and
// AMRMToken identifiers, and its redacted formatting (no fmt verb, slog
// handler or json.Marshal ever shows the password).
//
// The functions for the encodings (AppendWritable, ReadWritable, Clone,
// ...) are functions rather than methods so that they stay out of the
// public types' method sets.
package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/spindle-yarn/spindle/internal/redact"
	"github.com/spindle-yarn/spindle/internal/writable"
)

// Token kinds Spindle meets. A token's kind names the service that issued it
// and the layout of its identifier.
const (
	// KindAMRMToken authenticates an ApplicationMaster to the scheduler. In a
	// container's token file it has alias "" and service "".
	KindAMRMToken = "YARN_AM_RM_TOKEN"
	// KindNMToken authenticates an ApplicationMaster to one NodeManager.
	KindNMToken = "NMToken"
	// KindContainerToken authorizes starting one container.
	KindContainerToken = "ContainerToken"
	// KindRMDelegationToken is a ResourceManager delegation token.
	KindRMDelegationToken = "RM_DELEGATION_TOKEN"
	// KindTimelineDelegationToken is a timeline service delegation token.
	KindTimelineDelegationToken = "TIMELINE_DELEGATION_TOKEN"
	// KindHDFSDelegationToken is a NameNode delegation token.
	KindHDFSDelegationToken = "HDFS_DELEGATION_TOKEN"
	// KindWebHDFSDelegationToken and KindSWebHDFSDelegationToken are NameNode
	// delegation tokens handed out for (secure) WebHDFS; their identifier is
	// the HDFS one.
	KindWebHDFSDelegationToken  = "WEBHDFS delegation"
	KindSWebHDFSDelegationToken = "SWEBHDFS delegation"
)

// Token is a Hadoop security token: an identifier the issuing service can
// check, the password it derived from that identifier, the token's kind, and
// the service (usually "host:port") it is meant for.
//
// The password is a secret. String, GoString, Format, LogValue and
// MarshalJSON never show it, so a Token, and any value holding one in an
// exported field, can be logged with fmt or slog and encoded as JSON as it
// is. To store or send a token, use URLString or a Credentials file.
type Token struct {
	// Identifier is what the issuing service checks: who the token is
	// for, issued when, signed with which master key. Not secret on its
	// own, but opaque: formatted values show its decoded fields or a
	// digest.
	Identifier []byte
	// Password is the secret: the issuer's HMAC of Identifier, which
	// proves the holder got the token from the issuer.
	Password []byte
	// Kind names the issuer and the identifier's layout (the Kind*
	// constants).
	Kind string
	// Service tells clients which server the token is for: usually that
	// server's "ip:port", "ha-hdfs:<nameservice>" for an HA HDFS, and ""
	// for the AMRMToken in a container's token file.
	Service string
}

// ErrMalformedCredentials is matched by errors.Is for every error that
// reports input which could not be decoded: token storage (credentials
// files), token URL strings and token identifiers. The error is a
// *CredentialsDecodeError saying what failed and where.
var ErrMalformedCredentials = errors.New("malformed credentials")

// CredentialsDecodeError reports undecodable credentials input.
type CredentialsDecodeError struct {
	// Input is what was being decoded: "token storage", "token URL string",
	// or "<kind> identifier".
	Input string
	// Field is the element that failed, such as "header", "version",
	// "token[2].password" or "secret[0].alias".
	Field string
	// Offset is the byte offset at which that element starts (in the
	// base64-decoded bytes for a URL string).
	Offset int64
	// Err is the cause; io.ErrUnexpectedEOF when the input ended early.
	Err error
}

func (e *CredentialsDecodeError) Error() string {
	cause := e.Err.Error()
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		cause = "truncated: " + cause
	}
	return fmt.Sprintf("yarn: malformed %s: %s at byte %d: %s", e.Input, e.Field, e.Offset, cause)
}

// Unwrap returns the cause.
func (e *CredentialsDecodeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrMalformedCredentials) true.
func (e *CredentialsDecodeError) Is(target error) bool { return target == ErrMalformedCredentials }

// clone returns a Token that shares no memory with t.
func Clone(t Token) Token {
	t.Identifier = CloneBytes(t.Identifier)
	t.Password = CloneBytes(t.Password)
	return t
}

// CloneBytes copies b; nil stays nil.
func CloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// CheckWritable reports a field too long for Hadoop's 32-bit lengths.
func CheckWritable(t Token) error {
	for _, n := range []int{len(t.Identifier), len(t.Password), len(t.Kind), len(t.Service)} {
		if err := writable.CheckLen(n); err != nil {
			return fmt.Errorf("token of kind %q: %w", t.Kind, err)
		}
	}
	return nil
}

// AppendWritable appends the token in Token.write layout: VInt length and
// identifier, VInt length and password, Text kind, Text service.
func AppendWritable(b []byte, t Token) []byte {
	b = writable.AppendBytes(b, t.Identifier)
	b = writable.AppendBytes(b, t.Password)
	b = writable.AppendText(b, t.Kind)
	return writable.AppendText(b, t.Service)
}

// ReadWritable reads a token in Token.readFields layout. On error it
// returns the failing field's name (prefixed by prefix) and start offset.
func ReadWritable(r *writable.Reader, prefix string) (Token, string, int64, error) {
	var t Token
	start := r.Offset()
	var err error
	if t.Identifier, err = r.Bytes(-1); err != nil {
		return Token{}, prefix + "identifier", start, err
	}
	start = r.Offset()
	if t.Password, err = r.Bytes(-1); err != nil {
		return Token{}, prefix + "password", start, err
	}
	start = r.Offset()
	if t.Kind, err = r.Text(-1); err != nil {
		return Token{}, prefix + "kind", start, err
	}
	start = r.Offset()
	if t.Service, err = r.Text(-1); err != nil {
		return Token{}, prefix + "service", start, err
	}
	return t, "", 0, nil
}

// URLString encodes t as Hadoop's Token.encodeToUrlString does: URL-safe
// base64 without padding of the token's Writable form. This is how tokens
// travel in the ResourceManager REST API and WebHDFS. It fails only when a
// field is 2 GiB or longer.
func (t Token) URLString() (string, error) {
	if err := CheckWritable(t); err != nil {
		return "", err
	}
	return base64URLEncode(AppendWritable(nil, t)), nil
}

// ParseURLString decodes a token string made by Hadoop's
// Token.encodeToUrlString (or URLString). It accepts what Hadoop's
// decodeFromUrlString accepts: the URL-safe and the standard base64
// alphabet (mixed, even), with or without padding; characters outside the
// alphabet are skipped, the first '=' ends the input, and bytes after the
// token are ignored.
func ParseURLString(s string) (Token, error) {
	r := writable.NewBytesReader(base64DecodeLenient(s))
	t, field, off, err := ReadWritable(r, "")
	if err != nil {
		return Token{}, &CredentialsDecodeError{Input: "token URL string", Field: field, Offset: off, Err: UnexpectedEOF(err)}
	}
	return t, nil
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// base64URLEncode is base64.RawURLEncoding, kept beside its lenient decoder.
func base64URLEncode(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)*8 + 5) / 6)
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := range n {
			v |= uint32(b[i+j]) << (16 - 8*j)
		}
		for j := range n + 1 {
			sb.WriteByte(base64URLAlphabet[v>>(18-6*j)&0x3f])
		}
	}
	return sb.String()
}

// base64Value maps a character of either base64 alphabet to its value.
func base64Value(c byte) (uint32, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return uint32(c - 'A'), true
	case c >= 'a' && c <= 'z':
		return uint32(c-'a') + 26, true
	case c >= '0' && c <= '9':
		return uint32(c-'0') + 52, true
	case c == '+' || c == '-':
		return 62, true
	case c == '/' || c == '_':
		return 63, true
	}
	return 0, false
}

// base64DecodeLenient decodes like commons-codec 1.15's Base64.decode with
// its default lenient policy, which Hadoop's Token uses: both alphabets,
// anything else skipped, '=' ends the input, a lone trailing character is
// dropped and the unused low bits of a final partial group are ignored.
func base64DecodeLenient(s string) []byte {
	out := make([]byte, 0, len(s)*3/4+2)
	var acc uint32
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			break
		}
		v, ok := base64Value(c)
		if !ok {
			continue
		}
		acc = acc<<6 | v
		if n++; n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// NonNil returns b, or an empty non-nil slice, so that a proto2 bytes field
// is present on the wire even when empty.
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// DelegationTokenIdentifier is the decoded identifier of a delegation token
// (HDFS, WebHDFS, ResourceManager or timeline service).
type DelegationTokenIdentifier struct {
	Owner    string // the user the token acts for
	Renewer  string // the user allowed to renew it, usually the RM principal's short name
	RealUser string // the proxying user, when Owner is impersonated; otherwise ""
	// IssueDate and MaxDate are when the token was issued and when it
	// expires for good, whatever renewals happen.
	IssueDate      time.Time
	MaxDate        time.Time
	SequenceNumber int32
	MasterKeyID    int32
}

// delegationTextMax is the limit Hadoop's AbstractDelegationTokenIdentifier
// puts on the owner, renewer and real user (Text.DEFAULT_MAX_LEN).
const delegationTextMax = 1 << 20

// DelegationIdentifier decodes t's identifier for the delegation token kinds
// whose layout is known: HDFS and (S)WebHDFS tokens use Hadoop's Writable
// layout (version byte 0, Text owner, renewer and real user, VLong issue and
// max dates, VInt sequence number and master key id); ResourceManager and
// timeline tokens use YARN's protobuf identifier. For other kinds the error
// matches errors.ErrUnsupported; an undecodable identifier gives a
// *CredentialsDecodeError.
func (t Token) DelegationIdentifier() (DelegationTokenIdentifier, error) {
	switch t.Kind {
	case KindHDFSDelegationToken, KindWebHDFSDelegationToken, KindSWebHDFSDelegationToken:
		return decodeWritableDelegationIdentifier(t.Kind, t.Identifier)
	case KindRMDelegationToken, KindTimelineDelegationToken:
		return decodeProtoDelegationIdentifier(t.Kind, t.Identifier)
	}
	return DelegationTokenIdentifier{}, fmt.Errorf("token kind %q: no delegation identifier layout known: %w", t.Kind, errors.ErrUnsupported)
}

func decodeWritableDelegationIdentifier(kind string, b []byte) (DelegationTokenIdentifier, error) {
	r := writable.NewBytesReader(b)
	fail := func(field string, off int64, err error) (DelegationTokenIdentifier, error) {
		return DelegationTokenIdentifier{}, &CredentialsDecodeError{Input: kind + " identifier", Field: field, Offset: off, Err: err}
	}
	version, err := r.Byte()
	if err != nil {
		return fail("version", 0, io.ErrUnexpectedEOF)
	}
	if version != 0 {
		return fail("version", 0, fmt.Errorf("unknown version of delegation token %d", version))
	}
	var id DelegationTokenIdentifier
	for _, f := range []struct {
		name string
		dst  *string
	}{{"owner", &id.Owner}, {"renewer", &id.Renewer}, {"realUser", &id.RealUser}} {
		off := r.Offset()
		if *f.dst, err = r.Text(delegationTextMax); err != nil {
			return fail(f.name, off, err)
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"issueDate", &id.IssueDate}, {"maxDate", &id.MaxDate}} {
		off := r.Offset()
		ms, err := r.VLong()
		if err != nil {
			return fail(f.name, off, UnexpectedEOF(err))
		}
		*f.dst = time.UnixMilli(ms).UTC()
	}
	for _, f := range []struct {
		name string
		dst  *int32
	}{{"sequenceNumber", &id.SequenceNumber}, {"masterKeyId", &id.MasterKeyID}} {
		off := r.Offset()
		if *f.dst, err = r.VInt(); err != nil {
			return fail(f.name, off, UnexpectedEOF(err))
		}
	}
	return id, nil
}

func decodeProtoDelegationIdentifier(kind string, b []byte) (DelegationTokenIdentifier, error) {
	// YARNDelegationTokenIdentifierProto: owner=1, renewer=2, realUser=3
	// (string), issueDate=4, maxDate=5 (int64), sequenceNumber=6,
	// masterKeyId=7 (int32).
	id := DelegationTokenIdentifier{IssueDate: time.UnixMilli(0).UTC(), MaxDate: time.UnixMilli(0).UTC()}
	err := WalkProto(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		want := protowire.VarintType
		if num <= 3 {
			want = protowire.BytesType
		}
		if num <= 7 && typ != want {
			return errWireType
		}
		switch num {
		case 1:
			id.Owner = string(raw)
		case 2:
			id.Renewer = string(raw)
		case 3:
			id.RealUser = string(raw)
		case 4:
			id.IssueDate = time.UnixMilli(int64(v)).UTC()
		case 5:
			id.MaxDate = time.UnixMilli(int64(v)).UTC()
		case 6:
			id.SequenceNumber = int32(v)
		case 7:
			id.MasterKeyID = int32(v)
		}
		return nil
	})
	if err != nil {
		return DelegationTokenIdentifier{}, &CredentialsDecodeError{Input: kind + " identifier", Field: "YARNDelegationTokenIdentifierProto", Err: err}
	}
	return id, nil
}

// AMRMTokenIdentifier is the decoded identifier of an AMRMToken: the
// application attempt it authenticates and the ResourceManager master key
// that signed it (a new key means the token rolled).
//
// ClusterTimestamp, Application and Attempt name the attempt
// appattempt_<ClusterTimestamp>_<Application>_<Attempt>; package yarn's
// AMRMAttempt gives it as a yarn.ApplicationAttemptID.
type AMRMTokenIdentifier struct {
	ClusterTimestamp int64
	Application      int32
	Attempt          int32
	KeyID            int32
}

// AttemptString is the attempt's id as YARN writes it:
// appattempt_<ClusterTimestamp>_<Application, 4 digits>_<Attempt, 6 digits>.
func (id AMRMTokenIdentifier) AttemptString() string {
	return fmt.Sprintf("appattempt_%d_%04d_%06d", id.ClusterTimestamp, id.Application, id.Attempt)
}

// AMRMIdentifier decodes the identifier of a YARN_AM_RM_TOKEN, which Hadoop
// 3 writes as the bare protobuf AMRMTokenIdentifierProto. For other kinds
// the error matches errors.ErrUnsupported.
func (t Token) AMRMIdentifier() (AMRMTokenIdentifier, error) {
	if t.Kind != KindAMRMToken {
		return AMRMTokenIdentifier{}, fmt.Errorf("token kind %q is not %s: %w", t.Kind, KindAMRMToken, errors.ErrUnsupported)
	}
	// AMRMTokenIdentifierProto{appAttemptId=1 ApplicationAttemptIdProto,
	// keyId=2 int32}; ApplicationAttemptIdProto{application_id=1
	// ApplicationIdProto, attemptId=2 int32}; ApplicationIdProto{id=1 int32,
	// cluster_timestamp=2 int64}.
	var id AMRMTokenIdentifier
	appID := func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if typ != protowire.VarintType {
			return errWireType
		}
		switch num {
		case 1:
			id.Application = int32(v)
		case 2:
			id.ClusterTimestamp = int64(v)
		}
		return nil
	}
	attempt := func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errWireType
			}
			return WalkProto(raw, appID)
		case 2:
			if typ != protowire.VarintType {
				return errWireType
			}
			id.Attempt = int32(v)
		}
		return nil
	}
	err := WalkProto(t.Identifier, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errWireType
			}
			return WalkProto(raw, attempt)
		case 2:
			if typ != protowire.VarintType {
				return errWireType
			}
			id.KeyID = int32(v)
		}
		return nil
	})
	if err != nil {
		return AMRMTokenIdentifier{}, &CredentialsDecodeError{Input: t.Kind + " identifier", Field: "AMRMTokenIdentifierProto", Err: err}
	}
	return id, nil
}

var errWireType = errors.New("field has the wrong wire type")

// WalkProto calls f for each field of the protobuf message b, with the
// varint value for varint fields and the payload for length-delimited ones.
// Fields of other wire types are passed with neither.
func WalkProto(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var raw []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			raw, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, raw); err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
	}
	return nil
}

// UnexpectedEOF turns io.EOF inside a structure into io.ErrUnexpectedEOF.
func UnexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// identifierAttrs are the decoded identifier fields shown by String and
// LogValue, or the identifier's size and digest when it cannot be decoded.
func (t Token) identifierAttrs() []slog.Attr {
	if id, err := t.DelegationIdentifier(); err == nil {
		return []slog.Attr{
			slog.String("owner", id.Owner),
			slog.String("renewer", id.Renewer),
			slog.String("realUser", id.RealUser),
			slog.String("issueDate", id.IssueDate.Format(time.RFC3339Nano)),
			slog.String("maxDate", id.MaxDate.Format(time.RFC3339Nano)),
			slog.Int("sequenceNumber", int(id.SequenceNumber)),
			slog.Int("masterKeyId", int(id.MasterKeyID)),
		}
	}
	if id, err := t.AMRMIdentifier(); err == nil {
		return []slog.Attr{
			slog.String("appAttempt", id.AttemptString()),
			slog.Int("keyId", int(id.KeyID)),
		}
	}
	return []slog.Attr{slog.Int("identifierBytes", len(t.Identifier)), slog.String("identifier", redact.Digest(t.Identifier))}
}

// RedactedAttrs are what String, LogValue and MarshalJSON show: kind,
// service, the identifier's fields (or digest) and the password's length.
func RedactedAttrs(t Token) []slog.Attr {
	attrs := append([]slog.Attr{slog.String("kind", t.Kind), slog.String("service", t.Service)}, t.identifierAttrs()...)
	return append(attrs, slog.String("password", redact.Bytes(len(t.Password))))
}

// String describes t for logs and error messages: kind, service and what
// can be decoded from the identifier (owner, renewer, dates... of a
// delegation token; the application attempt of an AMRMToken; else the
// identifier's size and SHA-256 digest). It never includes the password,
// only its length.
func (t Token) String() string {
	var sb strings.Builder
	for i, a := range RedactedAttrs(t) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(a.Key)
		sb.WriteByte('=')
		if a.Value.Kind() == slog.KindString && a.Key != "password" {
			sb.WriteString(strconv.Quote(a.Value.String()))
		} else {
			sb.WriteString(a.Value.String())
		}
	}
	return sb.String()
}

// GoString keeps %#v from printing the password.
func (t Token) GoString() string {
	return fmt.Sprintf("Token{Kind:%q, Service:%q, Identifier:<%d bytes %s>, Password:%s}",
		t.Kind, t.Service, len(t.Identifier), redact.Digest(t.Identifier), redact.Bytes(len(t.Password)))
}

// Format prints String for %v, %+v and %s (and GoString for %#v) and
// never the fields, whatever the verb: %d or %x would otherwise print the
// password's bytes.
func (t Token) Format(f fmt.State, verb rune) { redact.Format(f, verb, t.String(), t.GoString()) }

// LogValue makes slog log the same fields as String, as a group.
func (t Token) LogValue() slog.Value { return slog.GroupValue(RedactedAttrs(t)...) }

// MarshalJSON encodes the fields String shows, as an object, so that a
// Token, or a report holding one, can be logged or dumped as JSON. The
// password is not in it: JSON is not a way to store or send a token. Use
// URLString (or a Credentials file) for that.
func (t Token) MarshalJSON() ([]byte, error) { return AttrsJSON(RedactedAttrs(t)) }

// UnmarshalJSON refuses: the JSON form of a Token has no password. JSON
// null leaves t as it is.
func (t *Token) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	return errors.New("a Token's JSON form has no password and cannot be decoded; use URLString and yarn.ParseTokenURLString")
}

// AttrsJSON encodes slog attributes as a JSON object, in order; a group
// becomes a nested object.
func AttrsJSON(attrs []slog.Attr) ([]byte, error) {
	b := []byte{'{'}
	for i, a := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(a.Key)
		if err != nil {
			return nil, err
		}
		b = append(append(b, k...), ':')
		var v []byte
		if a.Value.Kind() == slog.KindGroup {
			v, err = AttrsJSON(a.Value.Group())
		} else {
			v, err = json.Marshal(a.Value.Any())
		}
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// Package redact formats values that hold secrets (token passwords, secret
// keys, keytabs) without their secret bytes, for the String, GoString,
// Format, LogValue and MarshalJSON methods of the public types that hold
// them.
//
// A type with a secret implements fmt.Formatter through Format, so that no
// verb (%d and %x included, which bypass String) reaches fmt's reflective
// printing of its fields.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// Bytes stands in for n secret bytes: "<redacted: 20 bytes>".
func Bytes(n int) string {
	if n == 1 {
		return "<redacted: 1 byte>"
	}
	return fmt.Sprintf("<redacted: %d bytes>", n)
}

// Digest names non-secret bytes too long or too opaque to print, such as a
// token identifier, by the first 8 bytes of their SHA-256:
// "sha256:0123456789abcdef". It lets logs tell tokens apart and match them
// to one another.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// Format implements fmt.Formatter for a value whose redacted forms are
// text (for %v, %+v, %s, %q, %x, %X, with their flags and width) and
// goText (for %#v). Other verbs print fmt's bad-verb form around text,
// never the value's fields.
func Format(f fmt.State, verb rune, text, goText string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			io.WriteString(f, goText)
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, verb), text)
	case 's', 'q', 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), text)
	default:
		fmt.Fprintf(f, "%%!%c(%s)", verb, text)
	}
}

// Hide maps the names of a struct's secret fields to what they show
// instead of their value.
type Hide map[string]func(reflect.Value) string

// Struct implements fmt.Formatter for the struct v as fmt would print it,
// field by field with the same verb and flags (so that nested values'
// own Format and String methods apply), except that each field named in
// hide prints as hide returns it. Unexported fields are printed too, as
// fmt does; v's own type must not be printed through fmt by hide's
// functions, or Struct recurses.
func Struct(f fmt.State, verb rune, v any, hide Hide) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	sharp := verb == 'v' && f.Flag('#')
	names := sharp || (verb == 'v' && f.Flag('+'))
	spec := "%"
	for _, flag := range "+-# 0" {
		if f.Flag(int(flag)) {
			spec += string(flag)
		}
	}
	spec += string(verb)
	var b strings.Builder
	if sharp {
		b.WriteString(rt.String())
	}
	b.WriteByte('{')
	for i := range rt.NumField() {
		if i > 0 {
			if sharp {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		name := rt.Field(i).Name
		if names {
			b.WriteString(name)
			b.WriteByte(':')
		}
		if h, ok := hide[name]; ok {
			b.WriteString(h(rv.Field(i)))
			continue
		}
		// fmt prints the value a reflect.Value holds, with its methods
		// when the field is exported.
		fmt.Fprintf(&b, spec, rv.Field(i))
	}
	b.WriteByte('}')
	io.WriteString(f, b.String())
}

// StructJSON encodes the exported fields of the struct v as encoding/json
// would (v's fields have no json tags but "-"), except that each field
// named in hide is encoded as the string hide returns.
func StructJSON(v any, hide Hide) ([]byte, error) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	b := []byte{'{'}
	first := true
	for i := range rt.NumField() {
		sf := rt.Field(i)
		if !sf.IsExported() || sf.Tag.Get("json") == "-" {
			continue
		}
		var val any
		if h, ok := hide[sf.Name]; ok {
			val = h(rv.Field(i))
		} else {
			val = rv.Field(i).Interface()
		}
		enc, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", rt.Name(), sf.Name, err)
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		key, _ := json.Marshal(sf.Name)
		b = append(append(append(b, key...), ':'), enc...)
	}
	return append(b, '}'), nil
}

// Len is a Hide function for a []byte, string or map field: the redacted
// length, or for a map each key with its value's redacted length.
func Len(v reflect.Value) string {
	if v.Kind() != reflect.Map {
		return Bytes(v.Len())
	}
	keys := v.MapKeys()
	entries := make([]string, 0, len(keys))
	for _, k := range keys {
		entries = append(entries, fmt.Sprint(k.Interface())+":"+Bytes(v.MapIndex(k).Len()))
	}
	slices.Sort(entries)
	return "map[" + strings.Join(entries, " ") + "]"
}

// URL is a Hide function for a string field holding a URL: URLString of
// it.
func URL(v reflect.Value) string { return URLString(v.String()) }

// URLString is the URL s with its password, if any, replaced by "xxxxx"
// (url.URL.Redacted). A string that does not parse as a URL is shown by
// its length, since it may be anything.
func URLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Bytes(len(s))
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

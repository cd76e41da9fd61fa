package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type inner struct {
	N int
	S string
}

type plain struct {
	Name  string
	Count int
	Tags  []string
	In    inner
	P     *inner
	M     map[string]int
}

// asFmt prints through Struct with nothing hidden.
type asFmt plain

func (p asFmt) Format(f fmt.State, verb rune) { Struct(f, verb, plain(p), nil) }

type withKey struct {
	Name string
	Key  []byte
	Data map[string][]byte
	URL  string
}

func (w withKey) Format(f fmt.State, verb rune) {
	Struct(f, verb, w, Hide{"Key": Len, "Data": Len, "URL": URL})
}

func (w withKey) MarshalJSON() ([]byte, error) {
	return StructJSON(w, Hide{"Key": Len, "Data": Len, "URL": URL})
}

// TestStructPrintsAsFmt: with nothing hidden, Struct prints what fmt
// prints. (A non-nil pointer field is the exception: Struct prints it as
// fmt prints a top-level pointer, &{...}, where fmt prints an address.)
func TestStructPrintsAsFmt(t *testing.T) {
	v := plain{Name: "a b", Count: 3, Tags: []string{"x", "y"}, In: inner{1, "s"}, M: map[string]int{"k": 1}}
	for _, verb := range []string{"%v", "%+v", "%s", "%d", "%x", "%q"} {
		want := fmt.Sprintf(verb, v)
		if got := fmt.Sprintf(verb, asFmt(v)); got != want {
			t.Errorf("%s: Struct printed %s, fmt %s", verb, got, want)
		}
	}
	want := fmt.Sprintf("%#v", v)
	if got := fmt.Sprintf("%#v", asFmt(v)); got != want {
		t.Errorf("%%#v: Struct printed %s, fmt %s", got, want)
	}
}

func TestStructHides(t *testing.T) {
	w := withKey{Name: "n", Key: []byte("SECRETKEY"), Data: map[string][]byte{"b": []byte("SECRET2"), "a": []byte("SECRET1x")},
		URL: "s3a://id:SECRETPW@bucket/f"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		out := fmt.Sprintf(verb, w)
		if strings.Contains(out, "SECRET") || strings.Contains(out, fmt.Sprintf("%x", "SECRET")) {
			t.Errorf("%s shows a secret: %s", verb, out)
		}
	}
	if got, want := fmt.Sprintf("%+v", w), "{Name:n Key:<redacted: 9 bytes> Data:map[a:<redacted: 8 bytes> b:<redacted: 7 bytes>] URL:s3a://id:xxxxx@bucket/f}"; got != want {
		t.Errorf("%%+v = %s, want %s", got, want)
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"Name":"n","Key":"\u003credacted: 9 bytes\u003e","Data":"map[a:\u003credacted: 8 bytes\u003e b:\u003credacted: 7 bytes\u003e]","URL":"s3a://id:xxxxx@bucket/f"}`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
}

func TestFormatVerbs(t *testing.T) {
	f := formatted{}
	for verb, want := range map[string]string{
		"%v":   "text",
		"%+v":  "text",
		"%#v":  "go-text",
		"%s":   "text",
		"%6s":  "  text",
		"%q":   `"text"`,
		"%x":   "74657874",
		"%d":   "%!d(text)",
		"%08b": "%!b(text)",
	} {
		if got := fmt.Sprintf(verb, f); got != want {
			t.Errorf("%s: %q, want %q", verb, got, want)
		}
	}
}

type formatted struct{ secret []byte }

func (formatted) Format(f fmt.State, verb rune) { Format(f, verb, "text", "go-text") }

func TestURLString(t *testing.T) {
	for in, want := range map[string]string{
		"hdfs://nn:8020/user/a/f":     "hdfs://nn:8020/user/a/f",
		"s3a://key:secret@bucket/x":   "s3a://key:xxxxx@bucket/x",
		"http://user@host/p":          "http://user@host/p",
		"http://[::1:bad/secret:pass": "<redacted: 27 bytes>",
	} {
		if got := URLString(in); got != want {
			t.Errorf("URLString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBytesAndDigest(t *testing.T) {
	if Bytes(1) != "<redacted: 1 byte>" || Bytes(20) != "<redacted: 20 bytes>" {
		t.Errorf("Bytes: %s, %s", Bytes(1), Bytes(20))
	}
	if d := Digest([]byte("abc")); d != "sha256:ba7816bf8f01cfea" {
		t.Errorf("Digest(abc) = %s", d)
	}
}

package hdfs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManifestRoundTrip(t *testing.T) {
	m := manifest{Version: 1, Application: "application_1_0001", Entries: []string{"/user/a/.spindle/cache/abc", "/tmp/spindle-cache/a/def.tar"}}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestDecodeManifestErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, "EOF"},
		{`{"version":2,"entries":[]}`, "version"},
		{`{"version":1,"entries":["relative/x"]}`, "absolute"},
		{`{"version":1,"entries":["/a/../b"]}`, "clean"},
		{`{"version":1,"extra":true}`, "unknown field"},
		{`[1,2]`, "cannot unmarshal"},
	} {
		_, err := decodeManifest([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want one saying %q", tt.in, err, tt.want)
		}
	}
}

// FuzzDecodeManifest: a manifest read back from HDFS (which anyone with
// write access to the staging directory could have altered) is either
// refused or yields clean absolute paths, and never panics.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"application":"application_1_0001","entries":["/c/abc","/c/def.tar"]}`))
	f.Add([]byte(`{"version":1,"entries":null}`))
	f.Add([]byte(`{"version":1,"entries":["/"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if !strings.HasPrefix(e, "/") || strings.Contains(e, "/../") || strings.HasSuffix(e, "/..") {
				t.Fatalf("accepted entry %q", e)
			}
		}
		if _, err := m.encode(); err != nil {
			t.Fatal(err)
		}
	})
}

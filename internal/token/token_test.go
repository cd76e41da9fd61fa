package token

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pattern is n bytes that differ for each seed.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + seed*7 + 1)
	}
	return b
}

func TestBase64URLEncodeMatchesStdlib(t *testing.T) {
	for n := range 70 {
		b := pattern(n, n)
		if got, want := base64URLEncode(b), base64.RawURLEncoding.EncodeToString(b); got != want {
			t.Errorf("len %d: %q, want %q", n, got, want)
		}
	}
}

func TestBase64DecodeLenientPartialGroups(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		{"", []byte{}},
		{"A", []byte{}},      // a lone character is dropped
		{"AB", []byte{0x00}}, // low bits of a partial group are ignored
		{"AP", []byte{0x00}}, // even when they are not zero
		{"ABC", []byte{0, 0x10}},
		{"ABCD", []byte{0x00, 0x10, 0x83}},
		{"AB=CD", []byte{0x00}}, // '=' ends the input
		{"é-_", []byte{0xfb}},   // non-ASCII is skipped; both alphabets count
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, base64DecodeLenient(tc.in)); diff != "" {
			t.Errorf("decode(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

package writable

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The encodings below follow WritableUtils.writeVLong; the integration test
// TestCredentialsVLongMatchesJava checks the same values against Java.
var vlongCases = []struct {
	v    int64
	wire string
}{
	{0, "00"},
	{1, "01"},
	{-1, "ff"},
	{-112, "90"},
	{127, "7f"},
	{-113, "87 70"},
	{128, "8f 80"},
	{255, "8f ff"},
	{256, "8e 01 00"},
	{-129, "87 80"},
	{-256, "87 ff"},
	{-257, "86 01 00"},
	{70000, "8d 01 11 70"},
	{math.MaxInt32, "8c 7f ff ff ff"},
	{math.MinInt32, "84 7f ff ff ff"},
	{math.MaxInt32 + 1, "8c 80 00 00 00"},
	{1 << 32, "8b 01 00 00 00 00"},
	{math.MaxInt64, "88 7f ff ff ff ff ff ff ff"},
	{math.MinInt64, "80 7f ff ff ff ff ff ff ff"},
	{-1 << 63 >> 1, "80 3f ff ff ff ff ff ff ff"},
}

func TestAppendVLong(t *testing.T) {
	for _, tc := range vlongCases {
		got := AppendVLong(nil, tc.v)
		if diff := cmp.Diff(unhex(t, tc.wire), got); diff != "" {
			t.Errorf("AppendVLong(%d) (-want +got):\n%s", tc.v, diff)
		}
		if n := VLongSize(tc.v); n != len(got) {
			t.Errorf("VLongSize(%d) = %d, want %d", tc.v, n, len(got))
		}
	}
}

func TestReaderVLong(t *testing.T) {
	for _, tc := range vlongCases {
		r := NewBytesReader(unhex(t, tc.wire))
		got, err := r.VLong()
		if err != nil {
			t.Errorf("VLong(% x): %v", tc.wire, err)
			continue
		}
		if got != tc.v {
			t.Errorf("VLong(%s) = %d, want %d", tc.wire, got, tc.v)
		}
		if r.Offset() != int64(len(unhex(t, tc.wire))) {
			t.Errorf("VLong(%s) consumed %d bytes", tc.wire, r.Offset())
		}
	}
}

func TestReaderVLongOddInputs(t *testing.T) {
	tests := []struct {
		name    string
		wire    string
		want    int64
		wantErr error
	}{
		// Java's readVLong accepts encodings longer than needed.
		{"non-minimal positive", "8f 05", 5, nil},
		{"non-minimal zero", "88 00 00 00 00 00 00 00 00", 0, nil},
		{"non-minimal negative", "87 00", -1, nil},
		{"empty", "", 0, io.EOF},
		{"marker only", "8f", 0, io.ErrUnexpectedEOF},
		{"short payload", "8c 7f ff", 0, io.ErrUnexpectedEOF},
		{"short negative payload", "80 7f ff ff", 0, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewBytesReader(unhex(t, tc.wire)).VLong()
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("VLong(%s) error = %v, want %v", tc.wire, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("VLong(%s) = %d, want %d", tc.wire, got, tc.want)
			}
		})
	}
}

func TestReaderVIntRange(t *testing.T) {
	tests := []struct {
		wire    string
		want    int32
		wantErr bool
	}{
		{"8c 7f ff ff ff", math.MaxInt32, false},
		{"84 7f ff ff ff", math.MinInt32, false},
		{"8c 80 00 00 00", 0, true},
		{"84 80 00 00 00", 0, true},
		{"88 7f ff ff ff ff ff ff ff", 0, true},
	}
	for _, tc := range tests {
		got, err := NewBytesReader(unhex(t, tc.wire)).VInt()
		if tc.wantErr {
			var le *LengthError
			if !errors.As(err, &le) || !errors.Is(err, ErrLength) {
				t.Errorf("VInt(%s) error = %v, want a *LengthError", tc.wire, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("VInt(%s) = %d, %v; want %d", tc.wire, got, err, tc.want)
		}
	}
}

func TestTextAndBytes(t *testing.T) {
	long := strings.Repeat("x", 300)
	var b []byte
	b = AppendText(b, "")
	b = AppendText(b, "héllo ✓")
	b = AppendText(b, long)
	b = AppendBytes(b, []byte{0, 0xff, 0x80})
	b = AppendText(b, "\xff\xfe not utf-8")

	wantPrefix := unhex(t, "00 0a 68 c3 a9 6c 6c 6f 20 e2 9c 93 8e 01 2c")
	if !bytes.HasPrefix(b, wantPrefix) {
		t.Fatalf("encoding starts % x, want % x", b[:len(wantPrefix)], wantPrefix)
	}

	r := NewReader(bytes.NewReader(b))
	var got []string
	for range 3 {
		s, err := r.Text(-1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	p, err := r.Bytes(3)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, string(p))
	s, err := r.Text(100)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, s)
	want := []string{"", "héllo ✓", long, "\x00\xff\x80", "\xff\xfe not utf-8"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if r.Offset() != int64(len(b)) {
		t.Errorf("Offset = %d, want %d", r.Offset(), len(b))
	}
	if _, err := r.Text(-1); err != io.EOF {
		t.Errorf("reading past the end: %v, want io.EOF", err)
	}
}

func TestBytesBadLengths(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr error
	}{
		{"negative", AppendVInt(nil, -1), -1, ErrLength},
		{"over max", AppendBytes(nil, make([]byte, 11)), 10, ErrLength},
		{"vint out of int range", AppendVLong(nil, 1<<40), -1, ErrLength},
		{"truncated", AppendVInt(nil, 5), -1, io.ErrUnexpectedEOF},
		{"huge length, little data", append(AppendVInt(nil, math.MaxInt32), "abc"...), -1, io.ErrUnexpectedEOF},
		{"just over the chunk, little data", append(AppendVInt(nil, chunk+1), "abc"...), -1, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBytesReader(tc.in).Bytes(tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Bytes error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestBytesHugeLengthAllocatesLittle(t *testing.T) {
	in := append(AppendVInt(nil, math.MaxInt32), make([]byte, 1000)...)
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := NewBytesReader(in).Bytes(-1); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
	})
	// A handful of small allocations, not a 2 GiB buffer (which would also
	// fail the test by running out of memory or time).
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestFullLargeAcrossChunks(t *testing.T) {
	want := make([]byte, 3*chunk+17)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got, err := NewReader(io.MultiReader(bytes.NewReader(AppendBytes(nil, want)))).Bytes(-1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("large payload changed in the round trip")
	}
}

func FuzzVLong(f *testing.F) {
	for _, tc := range vlongCases {
		f.Add(unhex(f, tc.wire))
	}
	f.Add([]byte{0x8f})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewBytesReader(in)
		v, err := r.VLong()
		if err != nil {
			if len(in) > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Re-encoding gives the minimal form, never longer than the input.
		enc := AppendVLong(nil, v)
		if int64(len(enc)) > r.Offset() {
			t.Fatalf("value %d re-encoded in %d bytes, read from %d", v, len(enc), r.Offset())
		}
		back, err := NewBytesReader(enc).VLong()
		if err != nil || back != v {
			t.Fatalf("round trip of %d gave %d, %v", v, back, err)
		}
		// A positive marker with eight bytes can overflow into a negative
		// value, as in Java; only a sign-consistent input must be minimal.
		m := int8(in[0])
		overflowed := m < -112 && (m >= -120) != (v >= 0)
		if int64(len(enc)) == r.Offset() && !overflowed && !bytes.Equal(enc, in[:len(enc)]) {
			t.Fatalf("minimal encoding of %d is % x, input % x", v, enc, in[:len(enc)])
		}
	})
}

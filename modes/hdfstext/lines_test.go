package hdfstext

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantLines is the lines of data as the source must emit them: split at
// "\n", one "\r" before it dropped, no empty line after a final "\n".
func wantLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	parts := strings.Split(string(data), "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for i := range parts {
		if i < len(parts)-1 || bytes.HasSuffix(data, []byte("\n")) {
			parts[i] = strings.TrimSuffix(parts[i], "\r")
		}
	}
	return parts
}

// readAllSplits cuts data into consecutive ranges of the given lengths and
// returns the lines every range emits, in order, and the bytes read.
func readAllSplits(t testing.TB, data []byte, lengths []int64, bufSize int) ([]string, int64) {
	t.Helper()
	var got []string
	var read int64
	start := int64(0)
	for _, n := range lengths {
		r, err := splitLinesAt(bytes.NewReader(data), start, n, bufSize, 1<<20, func(line []byte) error {
			got = append(got, string(line))
			return nil
		})
		if err != nil {
			t.Fatalf("split [%d, %d): %v", start, start+n, err)
		}
		read += r
		start += n
	}
	return got, read
}

// randomText makes lines of random length: empty ones, long ones (beyond
// a 16-byte buffer), "\r\n" and "\n" endings, multi-byte runes, and a last
// line with or without "\n".
func randomText(r *rand.Rand) []byte {
	var b bytes.Buffer
	lines := r.IntN(40)
	for i := range lines {
		n := r.IntN(8)
		if r.IntN(5) == 0 {
			n = r.IntN(100)
		}
		for range n {
			switch r.IntN(10) {
			case 0:
				b.WriteString("ß")
			case 1:
				b.WriteByte('\r')
			default:
				b.WriteByte(byte('a' + r.IntN(26)))
			}
		}
		if i == lines-1 && r.IntN(2) == 0 {
			break // no final newline
		}
		if r.IntN(3) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// randomCut cuts size bytes into consecutive ranges of random lengths.
func randomCut(r *rand.Rand, size int64) []int64 {
	var lengths []int64
	if size == 0 {
		return []int64{0}
	}
	max := 1 + r.Int64N(size+1)
	for left := size; left > 0; {
		n := min(left, 1+r.Int64N(max))
		lengths = append(lengths, n)
		left -= n
	}
	return lengths
}

// TestSplitLinesExactlyOnce: for many random texts and random cuts into
// splits, at buffer sizes below and above the line lengths, the splits
// together emit every line exactly once, in order, and together read at
// least the whole file.
func TestSplitLinesExactlyOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		data := randomText(r)
		lengths := randomCut(r, int64(len(data)))
		for _, buf := range []int{16, 4096} {
			got, read := readAllSplits(t, data, lengths, buf)
			if diff := cmp.Diff(wantLines(data), got); diff != "" {
				t.Fatalf("case %d, data %q cut %v, buffer %d: lines (-want +got):\n%s", i, data, lengths, buf, diff)
			}
			if read < int64(len(data)) {
				t.Fatalf("case %d: read %d bytes of %d", i, read, len(data))
			}
		}
	}
}

// TestSplitLinesCases pins the boundary cases by hand.
func TestSplitLinesCases(t *testing.T) {
	for _, tc := range []struct {
		data    string
		lengths []int64
		want    [][]string // lines per split
	}{
		// A split starting right after "\n" owns the line there.
		{"ab\ncd\n", []int64{3, 3}, [][]string{{"ab"}, {"cd"}}},
		// A split starting inside a line skips it; the previous split
		// reads past its end to finish it.
		{"ab\ncd\n", []int64{4, 2}, [][]string{{"ab", "cd"}, nil}},
		{"ab\ncd\n", []int64{2, 4}, [][]string{{"ab"}, {"cd"}}},
		// A line starting exactly at a split's end is the next split's.
		{"ab\ncd", []int64{3, 2}, [][]string{{"ab"}, {"cd"}}},
		// "\r\n" split between two ranges.
		{"ab\r\ncd", []int64{3, 3}, [][]string{{"ab"}, {"cd"}}},
		// A lone "\r" is kept; only "\r\n" ends a line with it.
		{"a\rb\nc\r", []int64{6}, [][]string{{"a\rb", "c\r"}}},
		// Empty lines are lines.
		{"\n\n\n", []int64{1, 1, 1}, [][]string{{""}, {""}, {""}}},
		// A split inside one long line emits nothing.
		{"abcdefgh\n", []int64{2, 3, 4}, [][]string{{"abcdefgh"}, nil, nil}},
	} {
		start := int64(0)
		for i, n := range tc.lengths {
			var got []string
			_, err := splitLinesAt(strings.NewReader(tc.data), start, n, 16, 100, func(line []byte) error {
				got = append(got, string(line))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want[i], got); diff != "" {
				t.Errorf("%q split %d [%d, %d) (-want +got):\n%s", tc.data, i, start, start+n, diff)
			}
			start += n
		}
	}
}

// TestSplitLinesTooLong: a line beyond max-line-bytes fails the split
// with its offset, whether it fits the buffer or not.
func TestSplitLinesTooLong(t *testing.T) {
	data := "ok\n" + strings.Repeat("x", 50) + "\nok\n"
	for _, buf := range []int{16, 4096} {
		_, err := splitLinesAt(strings.NewReader(data), 0, int64(len(data)), buf, 40, func([]byte) error { return nil })
		if !errors.Is(err, errLineTooLong) || !strings.Contains(err.Error(), "offset 3") {
			t.Errorf("buffer %d: err %v, want errLineTooLong at offset 3", buf, err)
		}
	}
	// Exactly max-line-bytes, with "\r\n", is fine.
	data = strings.Repeat("y", 40) + "\r\n"
	if _, err := splitLinesAt(strings.NewReader(data), 0, int64(len(data)), 16, 40, func([]byte) error { return nil }); err != nil {
		t.Errorf("a line of exactly the limit: %v", err)
	}
}

// TestSplitLinesOwned: emitted lines stay intact after later lines are
// read (they are copies, not views of the buffer).
func TestSplitLinesOwned(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 5000 {
		l := fmt.Sprintf("line %d %s", i, strings.Repeat("z", i%300))
		want = append(want, l)
		b.WriteString(l + "\n")
	}
	var got [][]byte
	_, err := splitLinesAt(strings.NewReader(b.String()), 0, int64(b.Len()), 4096, 1<<20, func(line []byte) error {
		got = append(got, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("line %d is %q, want %q", i, got[i], want[i])
		}
		got[i] = append(got[i], '!') // must not write into the next line
	}
	for i := range got {
		if string(got[i]) != want[i]+"!" {
			t.Fatalf("line %d is %q after appends", i, got[i])
		}
	}
}

// FuzzSplitLines: any bytes cut anywhere into two or three splits give
// every line exactly once.
func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("ab\r\ncd\n\nef"), uint16(3), uint16(5))
	f.Add([]byte("\n\r\n\r"), uint16(1), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		n := int64(len(data))
		x, y := min(int64(a), n), min(int64(b), n)
		if x > y {
			x, y = y, x
		}
		got, _ := readAllSplits(t, data, []int64{x, y - x, n - y}, 16)
		if diff := cmp.Diff(wantLines(data), got); diff != "" {
			t.Fatalf("data %q cut at %d, %d (-want +got):\n%s", data, x, y, diff)
		}
	})
}

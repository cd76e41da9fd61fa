package modes

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func sumOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestHashBinaryKeepsDigest: the digest is kept and used again for the
// same bytes, and never for a file rewritten in place with the same size
// and modification time.
func TestHashBinaryKeepsDigest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("digests are kept on Linux only")
	}
	home := t.TempDir()
	t.Setenv("SPINDLE_HOME", home)
	bin := filepath.Join(t.TempDir(), "prog")
	first := []byte("first program bytes")
	if err := os.WriteFile(bin, first, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := hashBinary(bin)
	if err != nil || got.sha256 != sumOf(first) || got.size != int64(len(first)) {
		t.Fatalf("hashBinary = %+v, %v; want %s", got, err, sumOf(first))
	}
	kept, _ := filepath.Glob(filepath.Join(home, "binaries", "*"))
	if len(kept) != 1 {
		t.Fatalf("kept digests: %v, want 1", kept)
	}
	if fi, err := os.Stat(kept[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept digest %s: %v, %v; want mode 0600", kept[0], fi.Mode(), err)
	}
	// Used again: a planted digest under the same name is what comes back.
	planted := sumOf([]byte("planted"))
	if err := os.WriteFile(kept[0], []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := hashBinary(bin); got.sha256 != planted {
		t.Fatalf("second hashBinary = %s, want the kept %s", got.sha256, planted)
	}
	// Rewritten in place, same size, modification time put back: the change
	// time differs, so the bytes are hashed again.
	st, _ := os.Stat(bin)
	time.Sleep(10 * time.Millisecond)
	second := []byte("other program bytes")
	if err := os.WriteFile(bin, second, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(bin, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got, _ := hashBinary(bin); got.sha256 != sumOf(second) {
		t.Fatalf("after a rewrite hashBinary = %s, want %s", got.sha256, sumOf(second))
	}
	// A malformed kept digest is not used.
	kept, _ = filepath.Glob(filepath.Join(home, "binaries", "*"))
	for _, k := range kept {
		os.WriteFile(k, []byte("not a digest"), 0o600)
	}
	if got, _ := hashBinary(bin); got.sha256 != sumOf(second) {
		t.Fatalf("with a malformed kept digest hashBinary = %s, want %s", got.sha256, sumOf(second))
	}
}

package modes

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	"github.com/spindle-yarn/spindle/modes/internal/record"
)

// A client hashes its own binary for every session job it submits (the
// session compares it with its own), some 20 ms for a 20 MiB binary:
// on the order of the job itself for a small one. The digest is
// therefore kept in $SPINDLE_HOME/binaries (0700), in a 0600 file named
// by the binary's identity: device, inode, size, modification and change
// time. Any write to the binary changes its change time, so a kept digest
// is used only for the very bytes it was computed from; anything odd (no
// home, an unreadable or malformed entry) means hashing again.

// hashBinary is the path, hex SHA-256 and size of the binary at path.
func hashBinary(path string) (binaryInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return binaryInfo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return binaryInfo{}, err
	}
	keep, ok := digestFile(st)
	if ok {
		if b, err := os.ReadFile(keep); err == nil && validDigest(string(b)) {
			return binaryInfo{path: path, sha256: string(b), size: st.Size()}, nil
		}
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return binaryInfo{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if ok && n == st.Size() {
		storeDigest(keep, sum)
	}
	return binaryInfo{path: path, sha256: sum, size: n}, nil
}

// digestFile is where the digest of the file st describes is kept.
func digestFile(st os.FileInfo) (string, bool) {
	key, ok := fileIdentity(st)
	if !ok {
		return "", false
	}
	home, err := record.Home()
	if err != nil {
		return "", false
	}
	return filepath.Join(home, "binaries", key), true
}

func validDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// storeDigest keeps sum in p (0600, its directory 0700). Failures are
// ignored: the next client hashes again.
func storeDigest(p, sum string) {
	_ = record.WritePrivate(p, []byte(sum))
}

package hdfs

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// archiveSuffixes are the endings by which a NodeManager decides how to
// unpack an ARCHIVE resource (FSDownload), longest first.
var archiveSuffixes = []string{".tar.gz", ".tgz", ".tar", ".zip", ".jar"}

// archiveSuffix returns the archive ending of name, lower-cased, or "".
func archiveSuffix(name string) string {
	lower := strings.ToLower(name)
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lower, s) && len(lower) > len(s) {
			return s
		}
	}
	return ""
}

// A source is one local file or directory to upload. A directory is sent
// as a tar archive built the same way every time (entries sorted, times,
// owners and devices left out), so an unchanged tree hashes the same.
type source struct {
	local string
	dir   bool
	size  int64    // bytes uploaded: the file's, or the tar's
	sum   [32]byte // sha256 of those bytes
}

// digest names the content: the hex sha256.
func (s *source) digest() string { return hex.EncodeToString(s.sum[:]) }

// tarModTime is the modification time of every tar entry: fixed, so that
// the archive depends on content and permissions only.
var tarModTime = time.Unix(0, 0)

// hash reads the source once, computing its size and sha256.
func (s *source) hash() error {
	h := sha256.New()
	n, err := s.writeTo(h)
	if err != nil {
		return err
	}
	s.size = n
	copy(s.sum[:], h.Sum(nil))
	return nil
}

// writeTo writes the source's bytes (the file, or the directory's tar) to
// w and returns their number.
func (s *source) writeTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	if !s.dir {
		f, err := os.Open(s.local)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		_, err = io.Copy(cw, f)
		return cw.n, err
	}
	err := writeTar(cw, s.local)
	return cw.n, err
}

// open returns a reader of the source's bytes. A directory's tar is
// written by a goroutine that ends when the reader is closed.
func (s *source) open() (io.ReadCloser, error) {
	if !s.dir {
		return os.Open(s.local)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, s.local)) }()
	return pr, nil
}

// writeTar writes the tree under root as a tar whose entry names are
// relative to root. Symbolic links to files are followed; links to
// directories and special files are refused, as they would not survive
// the trip or could loop.
func writeTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if info, err = os.Stat(p); err != nil {
				return err
			}
			if info.IsDir() {
				return fmt.Errorf("%s: a symbolic link to a directory cannot be shipped; ship its target", p)
			}
		}
		hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), ModTime: tarModTime, Format: tar.FormatPAX}
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.Copy(tw, io.LimitReader(f, info.Size()))
			if err == nil && n != info.Size() {
				err = fmt.Errorf("%s: %w (shrank to %d bytes)", p, ErrChanged, n)
			}
			return err
		default:
			return fmt.Errorf("%s: %s files cannot be shipped", p, info.Mode().Type())
		}
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// verifyingReader hashes what it reads and, at EOF, fails with ErrChanged
// unless the bytes are the ones the source was hashed as: a file changed
// between hashing and upload must not be published under the old hash.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want *source
}

func newVerifyingReader(r io.Reader, s *source) *verifyingReader {
	return &verifyingReader{r: r, h: sha256.New(), want: s}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.want.size {
		return n, fmt.Errorf("%s: %w (grew past %d bytes)", v.want.local, ErrChanged, v.want.size)
	}
	if errors.Is(err, io.EOF) {
		var sum [32]byte
		copy(sum[:], v.h.Sum(nil))
		if v.n != v.want.size || sum != v.want.sum {
			return n, fmt.Errorf("%s: %w", v.want.local, ErrChanged)
		}
	}
	return n, err
}

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
	// private, once hashed, names the first file of the source others
	// may not read locally (a file not world-readable, a directory in
	// the tree they cannot list and traverse); "" when there is none.
	private string
}

// digest names the content: the hex sha256.
func (s *source) digest() string { return hex.EncodeToString(s.sum[:]) }

// tarModTime is the modification time of every tar entry: fixed, so that
// the archive depends on content and permissions only.
var tarModTime = time.Unix(0, 0)

// hash reads the source once, computing its size and sha256, and
// whether others may read what it holds (not the directories above it:
// untraversable checks those).
func (s *source) hash() error {
	h := sha256.New()
	cw := &countingWriter{w: h}
	var err error
	if s.dir {
		s.private, err = writeTar(cw, s.local)
	} else {
		s.private, err = copyFile(cw, s.local)
	}
	if err != nil {
		return err
	}
	s.size = cw.n
	copy(s.sum[:], h.Sum(nil))
	return nil
}

// copyFile copies the file at p to w and returns p if others may not
// read it.
func copyFile(w io.Writer, p string) (private string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if info.Mode().Perm()&0o004 == 0 {
		private = p
	}
	_, err = io.Copy(w, f)
	return private, err
}

// untraversable returns the first directory above p (its real path, links
// resolved) that others may not traverse, or "".
func untraversable(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", err
	}
	for d := filepath.Dir(real); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return "", err
		}
		if info.Mode().Perm()&0o001 == 0 {
			return d, nil
		}
		if next := filepath.Dir(d); next == d {
			return "", nil
		}
	}
}

// open returns a reader of the source's bytes. A directory's tar is
// written by a goroutine that ends when the reader is closed.
func (s *source) open() (io.ReadCloser, error) {
	if !s.dir {
		return os.Open(s.local)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := writeTar(pw, s.local)
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// writeTar writes the tree under root as a tar whose entry names are
// relative to root, and returns the first entry others may not read
// locally (a file not world-readable, a directory not world-readable and
// executable), or "".
//
// A symbolic link to a file in the tree is shipped as that file. A link
// that leads out of the tree is refused: following it would ship
// whatever it points to, which the user did not choose to ship (a link
// to ~/.ssh/id_rsa in a shipped conf/ directory). Links to directories
// and special files are refused too, as they would not survive the trip
// or could loop.
func writeTar(w io.Writer, root string) (private string, err error) {
	// Walk the real directory: WalkDir does not follow a root that is
	// itself a link, and links inside are judged against where the tree
	// really is.
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return "", err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(realRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		shown := filepath.Join(root, strings.TrimPrefix(p, realRoot))
		info, err := d.Info()
		if err != nil {
			return err
		}
		open := p
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return err
			}
			if !within(realRoot, target) {
				return fmt.Errorf("%s: a symbolic link to %s, outside the shipped directory %s, cannot be shipped; copy the file into the directory", shown, target, root)
			}
			if info, err = os.Stat(target); err != nil {
				return err
			}
			if info.IsDir() {
				return fmt.Errorf("%s: a symbolic link to a directory cannot be shipped; ship its target", shown)
			}
			open = target
		}
		need := fs.FileMode(0o004)
		if info.IsDir() {
			need = 0o005
		}
		if private == "" && info.Mode().Perm()&need != need {
			private = shown
		}
		if p == realRoot {
			return nil
		}
		rel, err := filepath.Rel(realRoot, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), ModTime: tarModTime, Format: tar.FormatPAX}
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			f, err := os.Open(open)
			if err != nil {
				return err
			}
			defer f.Close()
			// What was opened must be what was checked: a link retargeted
			// meanwhile could lead out of the tree.
			if opened, err := f.Stat(); err != nil {
				return err
			} else if !os.SameFile(opened, info) {
				return fmt.Errorf("%s: %w (replaced while it was read)", shown, ErrChanged)
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			n, err := io.Copy(tw, io.LimitReader(f, info.Size()))
			if err == nil && n != info.Size() {
				err = fmt.Errorf("%s: %w (shrank to %d bytes)", shown, ErrChanged, n)
			}
			return err
		default:
			return fmt.Errorf("%s: %s files cannot be shipped", shown, info.Mode().Type())
		}
	})
	if err != nil {
		return "", err
	}
	return private, tw.Close()
}

// within reports whether the clean absolute path p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
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

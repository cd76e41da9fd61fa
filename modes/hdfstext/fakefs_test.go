package hdfstext

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/hdfs"
)

// memFS is a namespace in memory, with HDFS's semantics for what the
// splitter and committer call: Rename refuses an existing target and a
// missing parent, Remove without recursion refuses a non-empty directory.
// failRename, when positive, makes the n-th Rename from now fail, as a
// NameNode lost mid-commit would.
type memFS struct {
	entries    map[string]int64 // path -> size; -1 for a directory
	failRename int
}

func newMemFS() *memFS { return &memFS{entries: map[string]int64{"/": -1}} }

func (m *memFS) URL(p string) string { return "hdfs://nn.example:8020" + p }

func (m *memFS) file(p string, size int64) {
	m.MkdirAll(context.Background(), path.Dir(p), 0o755)
	m.entries[p] = size
}

func (m *memFS) Stat(_ context.Context, p string) (hdfs.FileStatus, error) {
	size, ok := m.entries[p]
	if !ok {
		return hdfs.FileStatus{}, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return status(p, size), nil
}

func status(p string, size int64) hdfs.FileStatus {
	if size < 0 {
		return hdfs.FileStatus{Name: path.Base(p), Mode: fs.ModeDir | 0o755}
	}
	return hdfs.FileStatus{Name: path.Base(p), Size: size, Mode: 0o644}
}

func (m *memFS) children(dir string) []string {
	var out []string
	for p := range m.entries {
		if p != "/" && path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (m *memFS) ReadDir(_ context.Context, dir string) ([]hdfs.FileStatus, error) {
	size, ok := m.entries[dir]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	if size >= 0 {
		return nil, fmt.Errorf("readdir %s: not a directory", dir)
	}
	var out []hdfs.FileStatus
	for _, p := range m.children(dir) {
		out = append(out, status(p, m.entries[p]))
	}
	return out, nil
}

func (m *memFS) Rename(_ context.Context, src, dst string, overwrite bool) error {
	if m.failRename > 0 {
		m.failRename--
		if m.failRename == 0 {
			return errors.New("rename: connection lost")
		}
	}
	if _, ok := m.entries[src]; !ok {
		return &fs.PathError{Op: "rename", Path: src, Err: fs.ErrNotExist}
	}
	if _, ok := m.entries[dst]; ok && !overwrite {
		return &fs.PathError{Op: "rename", Path: dst, Err: fs.ErrExist}
	}
	if s, ok := m.entries[path.Dir(dst)]; !ok || s >= 0 {
		return fmt.Errorf("rename: parent of %s missing", dst)
	}
	for p, size := range m.entries {
		if p == src || strings.HasPrefix(p, src+"/") {
			delete(m.entries, p)
			m.entries[dst+strings.TrimPrefix(p, src)] = size
		}
	}
	return nil
}

func (m *memFS) Remove(_ context.Context, p string, recursive bool) error {
	if _, ok := m.entries[p]; !ok {
		return &fs.PathError{Op: "remove", Path: p, Err: fs.ErrNotExist}
	}
	if !recursive && len(m.children(p)) > 0 {
		return fmt.Errorf("remove %s: directory is not empty", p)
	}
	for q := range m.entries {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(m.entries, q)
		}
	}
	return nil
}

func (m *memFS) MkdirAll(_ context.Context, p string, _ fs.FileMode) error {
	for q := p; q != "/"; q = path.Dir(q) {
		if s, ok := m.entries[q]; ok && s >= 0 {
			return fmt.Errorf("mkdir %s: %s is a file", p, q)
		}
		m.entries[q] = -1
	}
	return nil
}

// tree lists every path in m under root, with "/" after directories.
func (m *memFS) tree(t *testing.T, root string) []string {
	t.Helper()
	prefix := strings.TrimSuffix(root, "/") + "/"
	var out []string
	for p, size := range m.entries {
		if p == root || !strings.HasPrefix(p, prefix) {
			continue
		}
		if size < 0 {
			p += "/"
		}
		out = append(out, strings.TrimPrefix(p, prefix))
	}
	sort.Strings(out)
	return out
}

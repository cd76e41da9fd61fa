package hdfs

import (
	"context"
	"io/fs"
	"path"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

// FileStatus is what the NameNode reports of one file or directory.
type FileStatus struct {
	// Name is the last component of the path.
	Name string
	// Size in bytes; 0 for directories.
	Size int64
	// Mode holds the permission bits, fs.ModeSticky, and fs.ModeDir or
	// fs.ModeSymlink.
	Mode fs.FileMode
	// Owner and Group own the file.
	Owner, Group string
	// ModTime is the modification time, exact to the NameNode's
	// millisecond: ModTime.UnixMilli() is what a LocalResource's timestamp
	// must be.
	ModTime time.Time
	// AccessTime is the last read, to the NameNode's
	// dfs.namenode.accesstime.precision (an hour by default); zero if the
	// NameNode does not record access times.
	AccessTime time.Time
	// Replication and BlockSize of a file; 0 for directories.
	Replication int
	BlockSize   int64
}

// IsDir reports whether the status is a directory's.
func (s FileStatus) IsDir() bool { return s.Mode.IsDir() }

func statusFromProto(p *pb.HdfsFileStatusProto, name string) FileStatus {
	perm := p.GetPermission().GetPerm()
	mode := fs.FileMode(perm & 0o777)
	if perm&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch p.GetFileType() {
	case pb.HdfsFileStatusProto_IS_DIR:
		mode |= fs.ModeDir
	case pb.HdfsFileStatusProto_IS_SYMLINK:
		mode |= fs.ModeSymlink
	}
	s := FileStatus{
		Name:        name,
		Size:        int64(p.GetLength()),
		Mode:        mode,
		Owner:       p.GetOwner(),
		Group:       p.GetGroup(),
		ModTime:     time.UnixMilli(int64(p.GetModificationTime())),
		Replication: int(p.GetBlockReplication()),
		BlockSize:   int64(p.GetBlocksize()),
	}
	if at := p.GetAccessTime(); at > 0 {
		s.AccessTime = time.UnixMilli(int64(at))
	}
	if s.IsDir() {
		s.Size = 0
	}
	return s
}

func perm(m fs.FileMode) *pb.FsPermissionProto {
	p := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return &pb.FsPermissionProto{Perm: proto.Uint32(p)}
}

// Stat returns the status of an absolute path. A missing path gives an
// error matching fs.ErrNotExist.
func (c *Client) Stat(ctx context.Context, p string) (FileStatus, error) {
	resp := &pb.GetFileInfoResponseProto{}
	if err := c.call(ctx, "getFileInfo", &pb.GetFileInfoRequestProto{Src: proto.String(p)}, resp); err != nil {
		return FileStatus{}, &PathError{Op: "stat", Path: p, Err: err}
	}
	if resp.Fs == nil {
		return FileStatus{}, &PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return statusFromProto(resp.Fs, path.Base(p)), nil
}

// ReadDir lists a directory, sorted by name as the NameNode returns it.
// It reads the listing in pages of the NameNode's dfs.ls.limit entries
// (1000 by default), one call each.
func (c *Client) ReadDir(ctx context.Context, dir string) ([]FileStatus, error) {
	var out []FileStatus
	err := c.listPages(ctx, dir, func(page []FileStatus) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// listPages calls fn with each page of dir's listing.
func (c *Client) listPages(ctx context.Context, dir string, fn func([]FileStatus) error) error {
	var after []byte
	for {
		req := &pb.GetListingRequestProto{Src: proto.String(dir), StartAfter: nonNil(after), NeedLocation: proto.Bool(false)}
		resp := &pb.GetListingResponseProto{}
		if err := c.call(ctx, "getListing", req, resp); err != nil {
			return &PathError{Op: "list", Path: dir, Err: err}
		}
		if resp.DirList == nil {
			return &PathError{Op: "list", Path: dir, Err: fs.ErrNotExist}
		}
		entries := resp.DirList.GetPartialListing()
		page := make([]FileStatus, len(entries))
		for i, e := range entries {
			page[i] = statusFromProto(e, string(e.GetPath()))
		}
		if err := fn(page); err != nil {
			return err
		}
		if resp.DirList.GetRemainingEntries() == 0 || len(entries) == 0 {
			return nil
		}
		after = entries[len(entries)-1].GetPath()
	}
}

// MkdirAll creates a directory and any missing parents with permission
// m, as given (no umask is applied; parents the NameNode creates also get
// u+wx). An existing directory is left as it is.
func (c *Client) MkdirAll(ctx context.Context, p string, m fs.FileMode) error {
	req := &pb.MkdirsRequestProto{Src: proto.String(p), Masked: perm(m), CreateParent: proto.Bool(true)}
	if err := c.call(ctx, "mkdirs", req, &pb.MkdirsResponseProto{}); err != nil {
		return &PathError{Op: "mkdir", Path: p, Err: err}
	}
	return nil
}

// Chmod sets the permission of a path, sticky bit included.
func (c *Client) Chmod(ctx context.Context, p string, m fs.FileMode) error {
	req := &pb.SetPermissionRequestProto{Src: proto.String(p), Permission: perm(m)}
	if err := c.call(ctx, "setPermission", req, &pb.SetPermissionResponseProto{}); err != nil {
		return &PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}

// Remove deletes a file, or a directory with everything in it when
// recursive is set. A missing path gives an error matching fs.ErrNotExist.
func (c *Client) Remove(ctx context.Context, p string, recursive bool) error {
	resp := &pb.DeleteResponseProto{}
	if err := c.call(ctx, "delete", &pb.DeleteRequestProto{Src: proto.String(p), Recursive: proto.Bool(recursive)}, resp); err != nil {
		return &PathError{Op: "delete", Path: p, Err: err}
	}
	if !resp.GetResult() {
		return &PathError{Op: "delete", Path: p, Err: fs.ErrNotExist}
	}
	return nil
}

// Rename moves src to dst atomically. Without overwrite it fails with an
// error matching fs.ErrExist when dst exists; with it, an existing file
// (or empty directory) dst is replaced.
func (c *Client) Rename(ctx context.Context, src, dst string, overwrite bool) error {
	req := &pb.Rename2RequestProto{Src: proto.String(src), Dst: proto.String(dst), OverwriteDest: proto.Bool(overwrite)}
	if err := c.call(ctx, "rename2", req, &pb.Rename2ResponseProto{}); err != nil {
		return &PathError{Op: "rename", Path: src + " -> " + dst, Err: err}
	}
	return nil
}

// serverDefaults are the NameNode's defaults for new files.
type serverDefaults struct {
	replication int
	blockSize   int64
}

// fileDefaults returns the replication and block size new files get:
// Config's, or the NameNode's (asked once).
//
// The lock guards only the cached value, never the NameNode call: a
// NameNode slow to answer would otherwise hold up every other caller,
// whatever its context says. Two first callers may both ask; the answers
// are the same, and the first stored wins.
func (c *Client) fileDefaults(ctx context.Context) (serverDefaults, error) {
	if c.cfg.Replication > 0 && c.cfg.BlockSize > 0 {
		return serverDefaults{c.cfg.Replication, c.cfg.BlockSize}, nil
	}
	c.defaultsMu.Lock()
	cached := c.defaults
	c.defaultsMu.Unlock()
	if cached == nil {
		resp := &pb.GetServerDefaultsResponseProto{}
		if err := c.call(ctx, "getServerDefaults", &pb.GetServerDefaultsRequestProto{}, resp); err != nil {
			return serverDefaults{}, &PathError{Op: "server defaults", Path: c.authority, Err: err}
		}
		sd := resp.GetServerDefaults()
		asked := &serverDefaults{int(sd.GetReplication()), int64(sd.GetBlockSize())}
		c.defaultsMu.Lock()
		if c.defaults == nil {
			c.defaults = asked
		}
		cached = c.defaults
		c.defaultsMu.Unlock()
	}
	d := *cached
	if c.cfg.Replication > 0 {
		d.replication = c.cfg.Replication
	}
	if c.cfg.BlockSize > 0 {
		d.blockSize = c.cfg.BlockSize
	}
	return d, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

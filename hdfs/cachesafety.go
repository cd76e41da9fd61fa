package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
)

// ErrUnsafeCache is matched by the error of a Stage that refused to
// publish into a public cache directory another user could tamper with.
// Nothing was published; the message names the directory and what to do.
var ErrUnsafeCache = errors.New("hdfs: unsafe public cache directory")

// unsafeCacheError says which directory is unsafe, why, and what to do.
// It travels in a *PathError whose Path is dir.
type unsafeCacheError struct {
	dir, why, fix string
}

func (e *unsafeCacheError) Error() string {
	return fmt.Sprintf("%v: %s, so another user could replace what is published there; %s", ErrUnsafeCache, e.why, e.fix)
}

func (e *unsafeCacheError) Is(target error) bool { return target == ErrUnsafeCache }

// pathStatus is a FileStatus with its full path.
type pathStatus struct {
	path string
	FileStatus
}

// groupOrOtherWrite are the permission bits that let others than the
// owner add, remove and rename entries.
const groupOrOtherWrite fs.FileMode = 0o022

// unsafeAbove reports the first directory in chain, from "/" down to a
// public cache root (the last element), under which another user could
// swap what user publishes.
//
// The HDFS superuser is taken to be the owner of "/" (the user who
// formatted the file system): whoever owns "/" can rename anything
// below it anyway, so trusting them adds nothing. A directory above the
// root must not be writable by group or others unless it is sticky (as
// /tmp is), or they could rename the root away and put their own in its
// place. The root itself must be sticky (1777, so users cannot move each
// other's directories) or else owned by the superuser or by user and not
// writable by group or others. What a sticky root does not stop is its
// owner moving users' directories, which is why an administrator should
// create it as the superuser; the message says how.
func unsafeAbove(chain []pathStatus, user string) error {
	if len(chain) == 0 {
		return nil
	}
	superuser := chain[0].Owner
	for i, d := range chain {
		sticky := d.Mode&fs.ModeSticky != 0
		shared := d.Mode&groupOrOtherWrite != 0
		if !d.IsDir() {
			return &unsafeCacheError{dir: d.path, why: "it is not a directory", fix: "set Config.PublicCacheRoot to a directory"}
		}
		if i < len(chain)-1 {
			if shared && !sticky {
				return &unsafeCacheError{dir: d.path,
					why: fmt.Sprintf("it is writable by group or others (%v, owner %s) without the sticky bit", d.Mode, d.Owner),
					fix: fmt.Sprintf("ask an HDFS administrator to make it sticky (hdfs dfs -chmod +t %s) or not writable by others", d.path)}
			}
			continue
		}
		if sticky {
			return nil
		}
		if shared || d.Owner != superuser && d.Owner != user {
			return &unsafeCacheError{dir: d.path,
				why: fmt.Sprintf("this public cache root has mode %v without the sticky bit and is owned by %s, not the superuser %s", d.Mode, d.Owner, superuser),
				fix: fmt.Sprintf("ask an HDFS administrator to make it sticky (hdfs dfs -chmod 1777 %s) and owned by the superuser (hdfs dfs -chown %s %s), or set Config.PublicCacheRoot elsewhere", d.path, superuser, d.path)}
		}
	}
	return nil
}

// unsafeUserDir reports why user's directory in a public cache is unsafe
// to publish in: another user owns it, or group or others may write it.
func unsafeUserDir(d pathStatus, user string) error {
	switch {
	case !d.IsDir():
		return &unsafeCacheError{dir: d.path, why: fmt.Sprintf("it is not a directory but a file of %s", d.Owner),
			fix: fmt.Sprintf("ask an HDFS administrator to remove it (hdfs dfs -rm %s), or set Config.PublicCacheRoot elsewhere", d.path)}
	case d.Owner != user:
		return &unsafeCacheError{dir: d.path, why: fmt.Sprintf("%s's public cache directory is owned by %s (mode %v)", user, d.Owner, d.Mode),
			fix: fmt.Sprintf("ask an HDFS administrator to remove it (hdfs dfs -rm -r %s); Stage then creates it as %s", d.path, user)}
	case d.Mode&groupOrOtherWrite != 0:
		return &unsafeCacheError{dir: d.path, why: fmt.Sprintf("it is writable by group or others (%v)", d.Mode),
			fix: fmt.Sprintf("check what it holds and make it 0755 (hdfs dfs -chmod 755 %s)", d.path)}
	}
	return nil
}

// preparePublicDir makes sure dir, this user's directory in the public
// cache root, exists and that no other user can change what is published
// in it, before anything is: it creates the root (1777) and dir (0755)
// when missing, refuses with ErrUnsafeCache when the root, a directory
// above it, or dir is unsafe (see unsafeAbove and unsafeUserDir), and
// fails when others cannot traverse down to dir (checkTraversable, left
// with nothing more to ask about dir).
func (c *Client) preparePublicDir(ctx context.Context, dir string, checked map[string]bool) error {
	root := path.Dir(dir)
	var chain []pathStatus
	for _, p := range ancestry(root) {
		s, err := c.Stat(ctx, p)
		if p == root && errors.Is(err, fs.ErrNotExist) {
			if err := c.MkdirAll(ctx, root, 0o777|fs.ModeSticky); err != nil {
				return err
			}
			s, err = c.Stat(ctx, root)
		}
		if p == root && err == nil && s.Owner == c.user && s.Mode&(fs.ModePerm|fs.ModeSticky) != 0o777|fs.ModeSticky {
			// Ours (created now or earlier): make it what other users
			// need, exactly 1777.
			if err = c.Chmod(ctx, root, 0o777|fs.ModeSticky); err == nil {
				s, err = c.Stat(ctx, root)
			}
		}
		if err != nil {
			return err
		}
		chain = append(chain, pathStatus{p, s})
	}
	if err := unsafeAbove(chain, c.user); err != nil {
		return unsafePathError(err)
	}

	s, err := c.Stat(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := c.MkdirAll(ctx, dir, 0o755); err != nil {
			return err
		}
		// Stat again rather than trust the create: mkdirs succeeds on a
		// directory someone else made a moment ago.
		s, err = c.Stat(ctx, dir)
	}
	if err != nil {
		return err
	}
	if err := unsafeUserDir(pathStatus{dir, s}, c.user); err != nil {
		return unsafePathError(err)
	}
	// checkTraversable takes a marked directory to mean all above it
	// are world-executable too; mark from "/" down while that holds.
	for _, d := range append(chain, pathStatus{dir, s}) {
		if d.Mode&0o001 == 0 {
			break
		}
		checked[d.path] = true
	}
	// NodeManagers refuse PUBLIC resources others cannot reach; say so
	// before uploading rather than after.
	return c.checkTraversable(ctx, dir, checked)
}

func unsafePathError(err error) error {
	return &PathError{Op: "stage", Path: err.(*unsafeCacheError).dir, Err: err}
}

// ancestry lists "/" and every directory down to p, p last.
func ancestry(p string) []string {
	var out []string
	for d := path.Clean(p); ; d = path.Dir(d) {
		out = append(out, d)
		if d == "/" {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

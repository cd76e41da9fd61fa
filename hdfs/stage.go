package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// StageOptions are the optional parts of a Stage call.
type StageOptions struct {
	// Progress, when set, is called as files are found in the cache and
	// uploaded: after the cache was checked, after each chunk written
	// and after each file. Calls come one at a time from the uploading
	// goroutines; it must return quickly.
	Progress func(Progress)
}

// Progress is how far a Stage call has come, for a progress bar: files
// and bytes of local dependencies done (found in the cache or uploaded)
// of the total.
type Progress struct {
	FilesDone, FilesTotal int
	BytesDone, BytesTotal int64
	// BytesUploaded is the part of BytesDone actually sent.
	BytesUploaded int64
}

// Staged is one staged dependency, with what a YARN LocalResource needs
// (yarn.LocalResourceFromStaged converts it).
type Staged struct {
	// Name in the container's working directory.
	Name string
	// URL of the file in HDFS, hdfs://<authority>/<path>.
	URL string
	// Path of the file in HDFS.
	Path string
	// Size in bytes and Timestamp (modification time, milliseconds since
	// the epoch) as the NameNode reports them after the file was closed;
	// the NodeManager refuses the resource if the timestamp differs.
	Size      int64
	Timestamp int64
	// Type is TypeFile or TypeArchive, never TypeAuto.
	Type ResourceType
	// Visibility of the LocalResource: the Dependency's, except PRIVATE
	// for a local one asked to be PUBLIC that others may not read (see
	// VisibilityPublic).
	Visibility Visibility
	// Uploaded reports that this call wrote the file; false for cache
	// hits and references.
	Uploaded bool
}

// Staging is the result of a Stage call.
type Staging struct {
	// ApplicationID the dependencies were staged for.
	ApplicationID string
	// Dir is the application's staging directory.
	Dir string
	// Resources are the staged dependencies, in the order given.
	Resources []Staged
	// UploadedFiles and UploadedBytes were written by this call;
	// ReusedFiles and ReusedBytes were found in the cache.
	UploadedFiles, ReusedFiles int
	UploadedBytes, ReusedBytes int64
}

// manifestPrefix starts the names Spindle keeps for itself in a staging
// directory.
const manifestPrefix = ".spindle"

// An item is one dependency being staged.
type item struct {
	dep    Dependency
	name   string
	typ    ResourceType
	vis    Visibility
	src    *source // local dependencies
	remote string  // path of a referenced HDFS file
	dir    string  // where the file goes (local dependencies)
	entry  string  // its name there
	up     *upload
	status FileStatus
}

// Stage puts an application's dependencies where its containers can
// localize them, and returns for each the URL, size and timestamp a
// LocalResource needs.
//
// Local dependencies are hashed (sha256). Private and public ones are
// stored by content in the caches and uploaded only if the cache does not
// hold them yet; whether it does costs one directory listing per cache
// (in pages of 1000 entries), however many dependencies there are.
// Application-visibility ones go into the staging directory,
// <StagingRoot>/<appID>, created with mode 0700. Uploads run
// Config.Concurrency at a time; each is written under a temporary name
// and renamed into place once complete and verified, so an interrupted
// or concurrent deployment never leaves a partial or corrupt entry. A
// file that changes while it is staged fails the call with ErrChanged.
//
// The staging directory also receives a manifest naming the cache entries
// the application uses; Evict keeps those. Remove the directory with
// RemoveStaging when the application has ended, or when it could not be
// submitted.
func (c *Client) Stage(ctx context.Context, appID string, deps []Dependency, opts StageOptions) (*Staging, error) {
	start := time.Now()
	if err := checkAppID("stage", appID); err != nil {
		return nil, err
	}
	items, err := c.plan(deps)
	if err != nil {
		return nil, err
	}
	var locals []*item
	for _, it := range items {
		if it.src != nil {
			locals = append(locals, it)
		}
	}
	if err := forEach(ctx, len(locals), c.cfg.Concurrency, func(ctx context.Context, i int) error {
		if err := locals[i].src.hash(); err != nil {
			return &PathError{Op: "stage", Path: locals[i].src.local, Err: err}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := c.narrowVisibility(locals); err != nil {
		return nil, err
	}

	// Before anything is written: refuse a public cache directory other
	// users could tamper with.
	publicDir := path.Join(c.cfg.PublicCacheRoot, c.user)
	checked := map[string]bool{} // directories known world-executable
	for _, it := range locals {
		if it.vis == VisibilityPublic {
			if err := c.preparePublicDir(ctx, publicDir, checked); err != nil {
				return nil, err
			}
			break
		}
	}

	st := &Staging{ApplicationID: appID, Dir: c.StagingDir(appID)}
	if err := c.MkdirAll(ctx, st.Dir, 0o700); err != nil {
		return nil, err
	}
	var cached []string
	for _, it := range locals {
		it.entry = it.src.digest()
		if it.typ == TypeArchive {
			it.entry += it.suffix()
		}
		switch it.vis {
		case VisibilityPrivate:
			it.dir = c.cfg.PrivateCacheDir
		case VisibilityPublic:
			it.dir = publicDir
		default:
			it.dir = st.Dir
		}
		if it.dir != st.Dir {
			cached = append(cached, path.Join(it.dir, it.entry))
		}
	}

	pool := &dataPool{c: c}
	defer pool.close()
	if len(cached) > 0 {
		// Before looking at the cache, so that an Evict running now either
		// sees the manifest or is seen by this listing (see Evict).
		if err := c.writeManifest(ctx, pool, st.Dir, manifest{Version: 1, Application: appID, Entries: cached}); err != nil {
			return nil, err
		}
	}

	// What the caches hold, one listing each.
	listings := map[string]map[string]FileStatus{}
	for _, it := range locals {
		if it.dir == st.Dir || listings[it.dir] != nil {
			continue
		}
		l, err := c.cacheListing(ctx, it.dir, it.dir != publicDir)
		if err != nil {
			return nil, err
		}
		listings[it.dir] = l
	}

	prog := &progressState{fn: opts.Progress}
	uploads := map[string]*upload{}
	var order []*upload
	for _, it := range locals {
		prog.p.FilesTotal++
		prog.p.BytesTotal += it.src.size
		p := path.Join(it.dir, it.entry)
		if up := uploads[p]; up != nil {
			up.items = append(up.items, it)
			it.up = up
			continue
		}
		if l := listings[it.dir]; l != nil {
			e, ok := l[it.entry]
			if ok && c.validEntry(e, it.src.size, it.vis == VisibilityPublic) {
				it.status = e
				prog.p.FilesDone++
				prog.p.BytesDone += it.src.size
				continue
			}
			if ok {
				c.log.Warn("hdfs: replacing a cache entry that is not what its name says", "path", p, "size", e.Size, "owner", e.Owner, "mode", e.Mode)
			}
			uploads[p] = &upload{replace: ok}
		} else {
			uploads[p] = &upload{}
		}
		up := uploads[p]
		up.src, up.dir, up.name, up.perm, up.items = it.src, it.dir, it.entry, 0o600, []*item{it}
		if it.vis == VisibilityPublic {
			up.perm = 0o644
		}
		it.up = up
		order = append(order, up)
	}
	prog.report()

	if len(order) > 0 {
		defaults, err := c.fileDefaults(ctx)
		if err != nil {
			return nil, err
		}
		err = forEach(ctx, len(order), c.cfg.Concurrency, func(ctx context.Context, i int) error {
			up := order[i]
			dc, err := pool.get(ctx)
			if err != nil {
				return err
			}
			err = c.publish(ctx, dc, up, defaults, prog)
			pool.put(dc)
			if err != nil {
				return err
			}
			prog.fileDone(len(up.items), up.src.size)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if err := c.readBack(ctx, order, listings); err != nil {
			return nil, err
		}
	}

	for _, it := range items {
		if it.src != nil {
			continue
		}
		s, err := c.Stat(ctx, it.remote)
		if err != nil {
			return nil, err
		}
		if s.IsDir() && it.typ == TypeArchive {
			return nil, &PathError{Op: "stage", Path: it.remote, Err: errors.New("a directory cannot be an ARCHIVE resource")}
		}
		if it.vis == VisibilityPublic && s.Mode&0o004 == 0 {
			return nil, &PathError{Op: "stage", Path: it.remote, Err: fmt.Errorf("PUBLIC needs it world-readable, it has mode %v", s.Mode)}
		}
		it.status = s
	}

	// PUBLIC resources need every directory above them world-executable,
	// or the NodeManager refuses them; say so now, clearly.
	for _, it := range items {
		if it.vis != VisibilityPublic {
			continue
		}
		dir := it.dir
		if it.src == nil {
			dir = path.Dir(it.remote)
		}
		if err := c.checkTraversable(ctx, dir, checked); err != nil {
			return nil, err
		}
	}

	for _, it := range items {
		s := Staged{Name: it.name, Type: it.typ, Visibility: it.vis}
		fst := it.status
		switch {
		case it.src == nil:
			s.Path = it.remote
		case it.up != nil:
			s.Path, fst, s.Uploaded = path.Join(it.up.dir, it.up.name), it.up.status, true
		default:
			s.Path = path.Join(it.dir, it.entry)
		}
		s.URL, s.Size, s.Timestamp = c.URL(s.Path), fst.Size, fst.ModTime.UnixMilli()
		st.Resources = append(st.Resources, s)
	}
	for _, up := range order {
		st.UploadedFiles++
		st.UploadedBytes += up.src.size
	}
	for _, it := range locals {
		if it.up == nil {
			st.ReusedFiles++
			st.ReusedBytes += it.src.size
		}
	}
	if m := c.metrics; m != nil {
		m.uploaded.Add(float64(st.UploadedBytes))
		m.reused.Add(float64(st.ReusedBytes))
		m.files.WithLabelValues("uploaded").Add(float64(st.UploadedFiles))
		m.files.WithLabelValues("reused").Add(float64(st.ReusedFiles))
		m.files.WithLabelValues("referenced").Add(float64(len(items) - len(locals)))
		m.duration.Observe(time.Since(start).Seconds())
	}
	c.log.Debug("hdfs: staged", "application", appID, "uploaded_files", st.UploadedFiles, "uploaded_bytes", st.UploadedBytes,
		"reused_files", st.ReusedFiles, "reused_bytes", st.ReusedBytes, "took", time.Since(start))
	return st, nil
}

// narrowVisibility stages PRIVATE what was asked to be PUBLIC but others
// may not read locally, as YARN itself decides: a file is public only if
// others can read it and traverse every directory above it (for a
// directory shipped, also read every file and list every directory in
// it). Publishing it would show everyone what the local file system
// hides. It is logged, and the Staged result says PRIVATE.
func (c *Client) narrowVisibility(locals []*item) error {
	for _, it := range locals {
		if it.vis != VisibilityPublic {
			continue
		}
		hidden := it.src.private
		if hidden == "" {
			var err error
			if hidden, err = untraversable(it.src.local); err != nil {
				return &PathError{Op: "stage", Path: it.src.local, Err: err}
			}
		}
		if hidden != "" {
			c.log.Warn("hdfs: staging PRIVATE, not PUBLIC: others may not read it locally", "local", it.src.local, "hidden", hidden)
			it.vis = VisibilityPrivate
		}
	}
	return nil
}

// validEntry reports whether a cache entry listed under the name of
// content of the given size can be used as that content: a file of that
// size written by this user (only they write their cache directories),
// world-readable if public.
func (c *Client) validEntry(e FileStatus, size int64, public bool) bool {
	return e.Mode.IsRegular() && e.Size == size && e.Owner == c.user && (!public || e.Mode&0o004 != 0)
}

// cacheListing lists a cache directory: entry name to status, temporary
// files left out. A missing directory is listed as empty, and created
// (0700) when mkdir is set; preparePublicDir made the public one.
func (c *Client) cacheListing(ctx context.Context, dir string, mkdir bool) (map[string]FileStatus, error) {
	out := map[string]FileStatus{}
	err := c.listPages(ctx, dir, func(page []FileStatus) error {
		for _, e := range page {
			if !strings.HasPrefix(e.Name, ".") {
				out[e.Name] = e
			}
		}
		return nil
	})
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !mkdir {
		return out, err
	}
	return out, c.MkdirAll(ctx, dir, 0o700)
}

// checkTraversable checks that dir and every directory above it are
// world-executable, as NodeManagers require of PUBLIC resources.
func (c *Client) checkTraversable(ctx context.Context, dir string, checked map[string]bool) error {
	for d := dir; ; d = path.Dir(d) {
		if checked[d] {
			return nil
		}
		s, err := c.Stat(ctx, d)
		if err != nil {
			return err
		}
		if s.Mode&0o001 == 0 {
			return &PathError{Op: "stage", Path: dir, Err: fmt.Errorf("PUBLIC resources need every directory above them world-executable, and %s has mode %v; choose a PublicCacheRoot others can traverse", d, s.Mode)}
		}
		checked[d] = true
		if d == "/" {
			return nil
		}
	}
}

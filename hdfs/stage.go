package hdfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ResourceType says how a NodeManager localizes a staged dependency. The
// zero value, TypeAuto, picks by what is staged.
type ResourceType int

const (
	// TypeAuto: a directory, or a file whose name ends in .tar.gz, .tgz,
	// .tar, .zip or .jar, is an archive; anything else a file.
	TypeAuto ResourceType = iota
	// TypeFile is copied as it is.
	TypeFile
	// TypeArchive is unpacked into a directory named after the
	// dependency. The NodeManager picks the format by the name's ending.
	TypeArchive
)

func (t ResourceType) String() string {
	switch t {
	case TypeAuto:
		return "AUTO"
	case TypeFile:
		return "FILE"
	case TypeArchive:
		return "ARCHIVE"
	}
	return fmt.Sprintf("ResourceType(%d)", int(t))
}

// Visibility says where a dependency is stored and who shares the copies
// NodeManagers localize. The zero value is VisibilityPrivate.
type Visibility int

const (
	// VisibilityPrivate: stored once in the user's private cache
	// (Config.PrivateCacheDir) by content, localized once per node for
	// all of the user's applications (PRIVATE).
	VisibilityPrivate Visibility = iota
	// VisibilityPublic: stored once in the public cache
	// (<Config.PublicCacheRoot>/<user>) by content, world-readable,
	// localized once per node for every application of every user
	// (PUBLIC). For what is no secret: frameworks, libraries.
	//
	// A local dependency is published only as widely as its mode
	// allows, by YARN's own rule for public resources: others must be
	// able to read it and traverse every directory above it (for a
	// directory, also read every file and list every directory in it).
	// One that fails this is staged PRIVATE instead, logged as a
	// warning, and its Staged.Visibility says so; chmod it (o+r, and o+x
	// on the directories) to share it.
	VisibilityPublic
	// VisibilityApplication: uploaded into the application's staging
	// directory on every deployment and localized for that application
	// only (APPLICATION); removed with the staging directory.
	VisibilityApplication
)

func (v Visibility) String() string {
	switch v {
	case VisibilityPrivate:
		return "PRIVATE"
	case VisibilityPublic:
		return "PUBLIC"
	case VisibilityApplication:
		return "APPLICATION"
	}
	return fmt.Sprintf("Visibility(%d)", int(v))
}

// Dependency is one thing an application needs in its containers'
// working directories: a local file or directory to upload, or a file
// already in HDFS to reference. Set exactly one of Local and Remote.
type Dependency struct {
	// Name is the name in the container's working directory. Empty means
	// the base name of Local or Remote. It may not contain '/' or start
	// with ".spindle".
	Name string
	// Local is a local file or directory. A directory is shipped as a tar
	// archive that the NodeManager unpacks into a directory called Name,
	// so the tree appears there as it is locally (file modes become
	// those the NodeManager sets: r-x for the owner, and for others too
	// when PUBLIC). A symbolic link in the tree is shipped as the file it
	// points to when that file is in the tree; a link leading out of the
	// tree, or to a directory, fails the Stage.
	Local string
	// Remote is a file or directory already in this file system,
	// "hdfs://<authority>/path", "hdfs:///path" or "/path", referenced
	// without copying. Its Visibility must suit its permissions: PUBLIC
	// needs it world-readable and every directory above it
	// world-executable.
	Remote string
	// Type says how it is localized; the zero value picks by name.
	Type ResourceType
	// Visibility says where it is stored and who shares it; the zero
	// value is the user's private cache.
	Visibility Visibility
}

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

// An upload is one file to write; items with the same content and
// destination share it.
type upload struct {
	src     *source
	dir     string
	name    string
	perm    fs.FileMode
	replace bool // the cache holds a broken entry of this name
	items   []*item
	status  FileStatus
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

// suffix is the ending an archive's stored name needs for the NodeManager
// to unpack it.
func (it *item) suffix() string {
	if it.src.dir {
		return ".tar"
	}
	return archiveSuffix(filepath.Base(it.src.local))
}

// plan checks the dependencies and resolves their names, types and local
// files, without touching HDFS.
func (c *Client) plan(deps []Dependency) ([]*item, error) {
	names := map[string]bool{}
	items := make([]*item, len(deps))
	for i, d := range deps {
		it := &item{dep: d, name: d.Name, typ: d.Type, vis: d.Visibility}
		fail := func(format string, args ...any) error {
			what := d.Local
			if what == "" {
				what = d.Remote
			}
			return &PathError{Op: "stage", Path: what, Err: fmt.Errorf(format, args...)}
		}
		if (d.Local == "") == (d.Remote == "") {
			return nil, &PathError{Op: "stage", Path: d.Name, Err: errors.New("set exactly one of Local and Remote")}
		}
		if d.Visibility < VisibilityPrivate || d.Visibility > VisibilityApplication {
			return nil, fail("unknown %v", d.Visibility)
		}
		if d.Type < TypeAuto || d.Type > TypeArchive {
			return nil, fail("unknown %v", d.Type)
		}
		if d.Local != "" {
			info, err := os.Stat(d.Local)
			if err != nil {
				return nil, &PathError{Op: "stage", Path: d.Local, Err: err}
			}
			if !info.IsDir() && !info.Mode().IsRegular() {
				return nil, fail("not a regular file or directory")
			}
			it.src = &source{local: d.Local, dir: info.IsDir()}
			if it.name == "" {
				it.name = filepath.Base(filepath.Clean(d.Local))
			}
			switch {
			case info.IsDir() && it.typ == TypeFile:
				return nil, fail("a directory is shipped as an archive; leave Type as TypeAuto or TypeArchive")
			case info.IsDir():
				it.typ = TypeArchive
			case it.typ == TypeArchive && archiveSuffix(filepath.Base(d.Local)) == "":
				return nil, fail("an ARCHIVE must end in .tar.gz, .tgz, .tar, .zip or .jar, by which the NodeManager unpacks it")
			case it.typ == TypeAuto && archiveSuffix(filepath.Base(d.Local)) != "":
				it.typ = TypeArchive
			case it.typ == TypeAuto:
				it.typ = TypeFile
			}
		} else {
			p, err := c.remotePath(d.Remote)
			if err != nil {
				return nil, fail("%v", err)
			}
			it.remote = p
			if it.name == "" {
				it.name = path.Base(p)
			}
			if it.typ == TypeAuto {
				it.typ = TypeFile
				if archiveSuffix(path.Base(p)) != "" {
					it.typ = TypeArchive
				}
			}
		}
		if it.name == "" || it.name == "." || it.name == ".." || strings.Contains(it.name, "/") || strings.HasPrefix(it.name, manifestPrefix) {
			return nil, fail("name %q: want a file name, not starting with %q", it.name, manifestPrefix)
		}
		if names[it.name] {
			return nil, fail("two dependencies are named %q", it.name)
		}
		names[it.name] = true
		items[i] = it
	}
	return items, nil
}

// remotePath turns a dependency's Remote into a path in this file system.
func (c *Client) remotePath(remote string) (string, error) {
	if strings.HasPrefix(remote, "/") {
		return path.Clean(remote), nil
	}
	u, err := url.Parse(remote)
	if err != nil || u.Scheme != "hdfs" || u.RawQuery != "" || u.Fragment != "" || !path.IsAbs(u.Path) {
		return "", fmt.Errorf("want an absolute path or an hdfs:// URL")
	}
	if u.Host != "" && u.Host != c.authority && withDefaultPort(u.Host) != c.authority {
		return "", fmt.Errorf("%s is another file system than this client's (%s)", u.Host, c.authority)
	}
	return path.Clean(u.Path), nil
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

// publish uploads one file under a temporary name in its directory and
// renames it into place. If another deployment published the same
// content meanwhile (the rename finds the name taken), its file is used
// when it is right, and replaced when not.
func (c *Client) publish(ctx context.Context, dc *dataClient, up *upload, d serverDefaults, prog *progressState) error {
	tmp := path.Join(up.dir, ".tmp-"+up.name+"-"+randomHex(6))
	rc, err := up.src.open()
	if err != nil {
		return &PathError{Op: "upload", Path: up.src.local, Err: err}
	}
	err = dc.writeFile(ctx, tmp, newVerifyingReader(rc, up.src), up.perm, d, prog.wrote)
	rc.Close()
	if err != nil {
		return &PathError{Op: "upload", Path: up.src.local, Err: err}
	}
	final := path.Join(up.dir, up.name)
	err = c.Rename(ctx, tmp, final, up.replace)
	if errors.Is(err, fs.ErrExist) {
		s, serr := c.Stat(ctx, final)
		if serr == nil && c.validEntry(s, up.src.size, up.perm&0o004 != 0) {
			c.log.Debug("hdfs: another deployment published the same content first", "path", final)
			c.removeQuietly(ctx, tmp)
			up.status = s
			return nil
		}
		err = c.Rename(ctx, tmp, final, true)
	}
	if err != nil {
		c.removeQuietly(ctx, tmp)
		return err
	}
	c.log.Debug("hdfs: uploaded", "local", up.src.local, "path", final, "bytes", up.src.size)
	return nil
}

// listPage is the number of entries a NameNode returns per listing call
// by default (dfs.ls.limit).
const listPage = 1000

// readBack asks the NameNode for the size and modification time of the
// files just uploaded, now that all are closed: one stat per file, or one
// listing of their directory when that takes fewer calls.
func (c *Client) readBack(ctx context.Context, uploads []*upload, listings map[string]map[string]FileStatus) error {
	byDir := map[string][]*upload{}
	var dirs []string
	for _, up := range uploads {
		if up.status.Name != "" {
			continue // found already, when another deployment won the rename
		}
		if byDir[up.dir] == nil {
			dirs = append(dirs, up.dir)
		}
		byDir[up.dir] = append(byDir[up.dir], up)
	}
	for _, dir := range dirs {
		ups := byDir[dir]
		var listed map[string]FileStatus
		if pages := (len(listings[dir])+len(ups))/listPage + 1; len(ups) > pages {
			listed = map[string]FileStatus{}
			err := c.listPages(ctx, dir, func(page []FileStatus) error {
				for _, e := range page {
					listed[e.Name] = e
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, up := range ups {
			s, ok := listed[up.name]
			if !ok {
				var err error
				if s, err = c.Stat(ctx, path.Join(up.dir, up.name)); err != nil {
					return err
				}
			}
			up.status = s
		}
	}
	return nil
}

// removeQuietly deletes a file of ours that is no longer wanted, even
// when ctx has ended, and only logs failures.
func (c *Client) removeQuietly(ctx context.Context, p string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.Remove(rctx, p, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("hdfs: removing a temporary file", "path", p, "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// progressState accumulates Progress and reports it.
type progressState struct {
	mu sync.Mutex
	fn func(Progress)
	p  Progress
}

func (s *progressState) report() {
	if s.fn != nil {
		s.fn(s.p)
	}
}

func (s *progressState) wrote(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.BytesDone += n
	s.p.BytesUploaded += n
	s.report()
}

// fileDone counts the files an upload served; the bytes of all but the
// first were not written again.
func (s *progressState) fileDone(files int, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.FilesDone += files
	s.p.BytesDone += int64(files-1) * size
	s.report()
}

// dataPool hands out colinmarc clients, one per concurrent upload, made
// as needed and closed together.
type dataPool struct {
	c   *Client
	mu  sync.Mutex
	all []*dataClient
	idl []*dataClient
}

func (p *dataPool) get(ctx context.Context) (*dataClient, error) {
	p.mu.Lock()
	if n := len(p.idl); n > 0 {
		dc := p.idl[n-1]
		p.idl = p.idl[:n-1]
		p.mu.Unlock()
		return dc, nil
	}
	p.mu.Unlock()
	dc, err := p.c.newDataClient(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.all = append(p.all, dc)
	p.mu.Unlock()
	return dc, nil
}

func (p *dataPool) put(dc *dataClient) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idl = append(p.idl, dc)
}

func (p *dataPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, dc := range p.all {
		dc.Close()
	}
	p.all, p.idl = nil, nil
}

// forEach runs fn for 0..n-1, at most limit at a time, and returns the
// first error; the first error cancels the context the others get.
func forEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(limit, 1))
	var once sync.Once
	var first error
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}(i)
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

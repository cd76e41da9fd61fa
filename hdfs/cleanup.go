package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// RemoveStaging deletes an application's staging directory with
// everything in it: its APPLICATION resources and its manifest. A
// directory already gone is not an error.
//
// PRIVATE and PUBLIC cache entries outlive it: they are stored by
// content in the user's caches (Config.PrivateCacheDir,
// <PublicCacheRoot>/<user>) for the next deployment to reuse, and
// removing the manifest only stops protecting them. Evict removes them
// from HDFS by age and size, never while an application's manifest names
// them; the copies NodeManagers localized stay in each node's local
// cache until its own cleanup trims it to
// yarn.nodemanager.localizer.cache.target-size-mb (checked every
// yarn.nodemanager.localizer.cache.cleanup.interval-ms). For one-off
// files that should go with the application, stage them with
// VisibilityApplication: RemoveStaging removes them from HDFS, and
// NodeManagers delete their copies when the application finishes.
//
// Call it when the application has reached a final state: from the
// ApplicationMaster once it has unregistered (or on its last attempt),
// and from the client when the submission failed or when it saw the
// application end (killed applications get no say). It needs only
// namespace access, so a Client holding just the application's delegation
// tokens can do it inside a container.
func (c *Client) RemoveStaging(ctx context.Context, appID string) error {
	if err := checkAppID("remove staging", appID); err != nil {
		return err
	}
	err := c.Remove(ctx, c.StagingDir(appID), true)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	c.log.Debug("hdfs: removed staging directory", "dir", c.StagingDir(appID))
	return nil
}

// DefaultSweepMinAge is SweepOptions.MinAge when it is zero.
const DefaultSweepMinAge = time.Hour

// SweepOptions are the optional parts of a Sweep.
type SweepOptions struct {
	// MinAge spares staging directories modified more recently: a
	// deployment may be between creating its directory and submitting the
	// application, when the ResourceManager does not know it yet. Zero
	// means DefaultSweepMinAge; negative spares none.
	MinAge time.Duration
}

// Sweep removes the staging directories (those under StagingRoot named
// application_*) of applications that are no longer running: those a client left when it died before cleaning up,
// or an ApplicationMaster that was killed. isRunning reports whether the
// ResourceManager still runs an application (yarn.RunningCheck(rm) is
// one, for either RM client); it must answer false for applications it
// does not know. A directory whose application isRunning fails for is
// left, and the failure is returned with the others after the sweep.
//
// It returns the application ids whose directories it removed.
func (c *Client) Sweep(ctx context.Context, isRunning func(ctx context.Context, appID string) (bool, error), opts SweepOptions) ([]string, error) {
	minAge := opts.MinAge
	if minAge == 0 {
		minAge = DefaultSweepMinAge
	}
	entries, err := c.ReadDir(ctx, c.cfg.StagingRoot)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := c.now()
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || c.StagingDir(e.Name) == c.cfg.PrivateCacheDir || !validAppID(e.Name) {
			continue
		}
		if minAge > 0 && now.Sub(e.ModTime) < minAge {
			continue
		}
		running, err := isRunning(ctx, e.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("hdfs: sweep: is %s running: %w", e.Name, err))
			continue
		}
		if running {
			continue
		}
		if err := c.RemoveStaging(ctx, e.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		c.log.Info("hdfs: swept the staging directory of an application no longer running", "application", e.Name)
		removed = append(removed, e.Name)
	}
	return removed, errors.Join(errs...)
}

// DefaultTempAge is EvictOptions.TempAge when it is zero.
const DefaultTempAge = time.Hour

// EvictOptions say what Evict removes. With neither MaxAge nor MaxBytes
// set it removes only stale temporary files.
type EvictOptions struct {
	// MaxAge removes entries unused for longer: not uploaded and not read
	// (by a NodeManager localizing it) within MaxAge. Reads are seen to
	// the NameNode's dfs.namenode.accesstime.precision (an hour by
	// default). Zero means no age limit.
	MaxAge time.Duration
	// MaxBytes removes the least recently used entries while the user's
	// two caches together hold more. Zero means no size limit.
	MaxBytes int64
	// IsRunning, when set, says which applications still run; the
	// manifests of those that do not (directories Sweep has yet to
	// remove) then protect nothing. Nil counts every staging directory's
	// manifest.
	IsRunning func(ctx context.Context, appID string) (bool, error)
	// TempAge removes temporary files of uploads and evictions that
	// were interrupted (their process died) once this old. Zero means
	// DefaultTempAge.
	TempAge time.Duration
}

// Evicted reports what Evict did.
type Evicted struct {
	// Removed are the paths of the entries removed, and RemovedBytes
	// their size.
	Removed      []string
	RemovedBytes int64
	// InUse counts entries kept because an application's manifest names
	// them; Kept all entries left, and KeptBytes their size.
	InUse, Kept int
	KeptBytes   int64
}

// A cacheEntry is one file of a cache directory.
type cacheEntry struct {
	path    string
	size    int64
	lastUse time.Time
}

// Evict trims this user's private cache and public cache directory by age
// and size, never removing an entry that an application still uses.
//
// An application uses the entries its staging directory's manifest
// names; Stage writes the manifest before it looks at the cache, and the
// directory lives until the application has ended. So that a deployment
// racing with Evict cannot lose an entry it has just found, Evict first
// renames the entries it means to remove aside, then reads the manifests
// again, renames back those that became used, and only then deletes the
// rest: a deployment either wrote its manifest before that second reading
// (and the entry comes back, under the same name and timestamp) or lists
// the cache after the entry was moved (and uploads it again).
func (c *Client) Evict(ctx context.Context, opts EvictOptions) (Evicted, error) {
	var res Evicted
	tempAge := opts.TempAge
	if tempAge == 0 {
		tempAge = DefaultTempAge
	}
	now := c.now()
	pool := &dataPool{c: c}
	defer pool.close()
	inUse, err := c.usedEntries(ctx, pool, opts.IsRunning)
	if err != nil {
		return res, err
	}

	var entries []cacheEntry
	var total int64
	for _, dir := range []string{c.cfg.PrivateCacheDir, path.Join(c.cfg.PublicCacheRoot, c.user)} {
		list, err := c.ReadDir(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return res, err
		}
		for _, e := range list {
			p := path.Join(dir, e.Name)
			if e.IsDir() || e.Owner != c.user {
				continue
			}
			if strings.HasPrefix(e.Name, ".") {
				if now.Sub(e.ModTime) > tempAge {
					c.removeQuietly(ctx, p)
				}
				continue
			}
			last := e.ModTime
			if e.AccessTime.After(last) {
				last = e.AccessTime
			}
			entries = append(entries, cacheEntry{path: p, size: e.Size, lastUse: last})
			total += e.Size
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].lastUse.Before(entries[j].lastUse) })

	var doomed []cacheEntry
	remaining := total
	for _, e := range entries {
		old := opts.MaxAge > 0 && now.Sub(e.lastUse) > opts.MaxAge
		big := opts.MaxBytes > 0 && remaining > opts.MaxBytes
		if inUse[e.path] || !(old || big) {
			continue
		}
		doomed = append(doomed, e)
		remaining -= e.size
	}

	// Move aside, read the manifests again, then delete or restore.
	type moved struct {
		cacheEntry
		aside string
	}
	var aside []moved
	for _, e := range doomed {
		a := path.Join(path.Dir(e.path), ".evict-"+path.Base(e.path)+"-"+randomHex(6))
		if err := c.Rename(ctx, e.path, a, false); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return res, err
		}
		aside = append(aside, moved{e, a})
	}
	inUse2, err := c.usedEntries(ctx, pool, opts.IsRunning)
	if err != nil {
		// Not knowing who uses them now, put everything back.
		for _, m := range aside {
			c.restore(ctx, m.aside, m.path)
		}
		return res, err
	}
	removed := map[string]bool{}
	for _, m := range aside {
		if inUse2[m.path] {
			c.restore(ctx, m.aside, m.path)
			continue
		}
		if err := c.Remove(ctx, m.aside, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.restore(ctx, m.aside, m.path)
			return res, err
		}
		removed[m.path] = true
		res.Removed = append(res.Removed, m.path)
		res.RemovedBytes += m.size
	}
	for _, e := range entries {
		if removed[e.path] {
			continue
		}
		res.Kept++
		res.KeptBytes += e.size
		if inUse[e.path] || inUse2[e.path] {
			res.InUse++
		}
	}
	c.log.Info("hdfs: evicted cache entries", "removed", len(res.Removed), "removed_bytes", res.RemovedBytes, "kept", res.Kept, "in_use", res.InUse)
	return res, nil
}

// restore renames an entry moved aside back to its name; if a deployment
// has meanwhile uploaded the same content there, the moved copy goes.
func (c *Client) restore(ctx context.Context, aside, p string) {
	if err := c.Rename(ctx, aside, p, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			c.removeQuietly(ctx, aside)
			return
		}
		c.log.Warn("hdfs: restoring a cache entry still in use", "path", p, "from", aside, "err", err)
	}
}

// usedEntries reads the manifests of the staging directories under
// StagingRoot: the cache entries applications use. With isRunning, the
// manifests of applications no longer running are skipped.
func (c *Client) usedEntries(ctx context.Context, pool *dataPool, isRunning func(context.Context, string) (bool, error)) (map[string]bool, error) {
	used := map[string]bool{}
	dirs, err := c.ReadDir(ctx, c.cfg.StagingRoot)
	if errors.Is(err, fs.ErrNotExist) {
		return used, nil
	}
	if err != nil {
		return nil, err
	}
	var dc *dataClient
	for _, d := range dirs {
		dir := c.StagingDir(d.Name)
		if !d.IsDir() || dir == c.cfg.PrivateCacheDir {
			continue
		}
		if isRunning != nil {
			running, err := isRunning(ctx, d.Name)
			if err != nil {
				return nil, fmt.Errorf("hdfs: evict: is %s running: %w", d.Name, err)
			}
			if !running {
				continue
			}
		}
		if dc == nil {
			if dc, err = pool.get(ctx); err != nil {
				return nil, err
			}
			defer pool.put(dc)
		}
		b, err := dc.readFile(ctx, path.Join(dir, manifestName))
		if errors.Is(err, fs.ErrNotExist) {
			continue // not a staging directory, or one without cache entries
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeManifest(b)
		if err != nil {
			// A manifest we cannot read protects nothing we could name;
			// keep going, but say so.
			c.log.Warn("hdfs: unreadable manifest", "dir", dir, "err", err)
			continue
		}
		for _, e := range m.Entries {
			used[e] = true
		}
	}
	return used, nil
}

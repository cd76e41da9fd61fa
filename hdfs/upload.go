package hdfs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"path"
	"sync"
	"time"
)

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

// dataPool hands out data clients, one per concurrent upload, made as
// needed and closed together.
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

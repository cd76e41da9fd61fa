package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	colhdfs "github.com/colinmarc/hdfs/v2"
)

// A dataClient is a colinmarc/hdfs client, for file data. Each is used by
// one goroutine at a time (colinmarc's Client fetches its defaults lazily
// without locking) and lives for one operation: its dials are bound to
// that operation's context, and its lease renewer (a NameNode call every
// second) runs only while it is open.
type dataClient struct {
	*colhdfs.Client
	c          *Client
	wroteBlock bool
}

// writeChunk is how much is written between context checks.
const writeChunk = 1 << 20

// writeTimeout bounds one chunk's write to the DataNodes.
const writeTimeout = 2 * time.Minute

// newDataClient connects a colinmarc/hdfs client. Its dials use ctx, so
// they end with it.
func (c *Client) newDataClient(ctx context.Context) (*dataClient, error) {
	if c.cfg.Kerberos == nil && len(c.cfg.Tokens) > 0 {
		return nil, ErrNoDataTransfer
	}
	dial := func(_ context.Context, network, addr string) (net.Conn, error) {
		return c.dialer.DialContext(ctx, network, addr)
	}
	opts := colhdfs.ClientOptions{
		Addresses:              c.cfg.NameNodes,
		User:                   c.user,
		UseDatanodeHostname:    c.cfg.UseDatanodeHostname,
		NamenodeDialFunc:       dial,
		DatanodeDialFunc:       dial,
		DataTransferProtection: c.cfg.DataTransferProtection,
	}
	if k := c.cfg.Kerberos; k != nil {
		if k.ServerPrincipal == "" {
			return nil, configErrorf("Kerberos.ServerPrincipal is empty; reading and writing files needs dfs.namenode.kerberos.principal")
		}
		opts.KerberosClient = k.Client
		opts.KerberosServicePrincipleName, _, _ = strings.Cut(k.ServerPrincipal, "@")
	}
	// colinmarc/hdfs connects without a context: connect aside and give up
	// when ctx ends (the dial, bound to ctx, fails soon after).
	type result struct {
		dc  *colhdfs.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		dc, err := colhdfs.NewClient(opts)
		ch <- result{dc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("hdfs: connecting for data transfer: %w", r.err)
		}
		return &dataClient{Client: r.dc, c: c}, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.dc != nil {
				r.dc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// count adds n calls of method to the NameNode call metric.
func (c *Client) count(method string, n int) {
	if c.metrics != nil && n > 0 {
		c.metrics.calls.WithLabelValues(method).Add(float64(n))
	}
}

// writeFile streams r into a new file p (which must not exist), checking
// ctx between chunks, and closes it. onWrite is told of each chunk
// written. On failure the partial file is deleted.
func (dc *dataClient) writeFile(ctx context.Context, p string, r io.Reader, m fs.FileMode, d serverDefaults, onWrite func(int64)) (err error) {
	c := dc.c
	w, err := dc.CreateFile(p, d.replication, d.blockSize, m)
	c.count("create", 1)
	if err != nil {
		return &PathError{Op: "create", Path: p, Err: err}
	}
	var written int64
	defer func() {
		blocks := int((written + d.blockSize - 1) / d.blockSize)
		if blocks > 0 && !dc.wroteBlock {
			dc.wroteBlock = true
			// colinmarc asks for the defaults (or the data encryption
			// key) before its first block.
			if c.cfg.DataTransferProtection == "" {
				c.count("getServerDefaults", 1)
			} else {
				c.count("getDataEncryptionKey", 1)
			}
		}
		c.count("addBlock", blocks)
		c.count("updateBlockForPipeline", blocks)
		if err != nil {
			// Stop the pipeline at once, then drop the partial file.
			w.SetDeadline(time.Now())
			w.Close()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if rerr := c.Remove(rctx, p, false); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				c.log.Warn("hdfs: removing a partial upload", "path", p, "err", rerr)
			}
		}
	}()
	buf := make([]byte, writeChunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			dl := time.Now().Add(writeTimeout)
			if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
				dl = cdl
			}
			w.SetDeadline(dl)
			if _, err := w.Write(buf[:n]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &PathError{Op: "write", Path: p, Err: err}
			}
			written += int64(n)
			if onWrite != nil {
				onWrite(int64(n))
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	return dc.closeFile(ctx, w, p)
}

// closeFile completes a file, repeating the NameNode's complete while it
// answers that the last block is not yet replicated, as Java's client
// does.
func (dc *dataClient) closeFile(ctx context.Context, w *colhdfs.FileWriter, p string) error {
	w.SetDeadline(time.Now().Add(writeTimeout))
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := w.Close()
		dc.c.count("complete", 1)
		if err == nil {
			return nil
		}
		if !colhdfs.IsErrReplicating(err) || attempt == 10 {
			return &PathError{Op: "close", Path: p, Err: err}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// ReadFile reads a whole file. It needs Kerberos or simple
// authentication (ErrNoDataTransfer otherwise).
func (c *Client) ReadFile(ctx context.Context, p string) ([]byte, error) {
	dc, err := c.newDataClient(ctx)
	if err != nil {
		return nil, &PathError{Op: "read", Path: p, Err: err}
	}
	defer dc.Close()
	return dc.readFile(ctx, p)
}

func (dc *dataClient) readFile(ctx context.Context, p string) ([]byte, error) {
	r, err := dc.Open(p)
	dc.c.count("getFileInfo", 1)
	if err != nil {
		return nil, &PathError{Op: "open", Path: p, Err: err}
	}
	defer r.Close()
	if dl, ok := ctx.Deadline(); ok {
		r.SetDeadline(dl)
	}
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if len(out) == n && n > 0 {
			dc.c.count("getBlockLocations", 1)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, &PathError{Op: "read", Path: p, Err: err}
		}
	}
}

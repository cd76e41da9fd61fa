package hdfs

import (
	"context"
	"io"
	"io/fs"
)

// A dataClient reads and writes file data for staging and cleanup. It is
// the Client's own block reader and writer (read.go, write.go): staging
// and callers of Create write through the same block path. It holds
// nothing of its own; dataPool hands them out so that callers can keep
// treating it as a per-operation resource.
type dataClient struct {
	c *Client
}

// writeChunk is how much is written between context checks.
const writeChunk = 1 << 20

// newDataClient returns the data client of c. It works with every kind
// of authentication, delegation tokens alone included.
func (c *Client) newDataClient(ctx context.Context) (*dataClient, error) {
	return &dataClient{c: c}, nil
}

// Close releases nothing: each read or write closes its own connections.
func (dc *dataClient) Close() error { return nil }

// count adds n calls of method to the NameNode call metric. Calls made
// through Client.call are counted there; this is for callers that count
// work done elsewhere.
func (c *Client) count(method string, n int) {
	if c.metrics != nil && n > 0 {
		c.metrics.calls.WithLabelValues(method).Add(float64(n))
	}
}

// writeFile streams r into a new file p (which must not exist), checking
// ctx between chunks, and closes it. onWrite is told of each chunk
// written. On failure the partial file is deleted.
func (dc *dataClient) writeFile(ctx context.Context, p string, r io.Reader, m fs.FileMode, d serverDefaults, onWrite func(int64)) (err error) {
	w, err := dc.c.Create(ctx, p, CreateOptions{Perm: m, NoCreateParent: true, Replication: d.replication, BlockSize: d.blockSize})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if aerr := w.Abort(); aerr != nil {
				dc.c.log.Warn("hdfs: removing a partial upload", "path", p, "err", aerr)
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
			if _, err := w.Write(buf[:n]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
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
	return w.Close()
}

// ReadFile reads a whole file.
func (c *Client) ReadFile(ctx context.Context, p string) ([]byte, error) {
	dc, _ := c.newDataClient(ctx)
	return dc.readFile(ctx, p)
}

func (dc *dataClient) readFile(ctx context.Context, p string) ([]byte, error) {
	r, err := dc.c.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]byte, 0, r.Size())
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF { // the reader's own end, never a wrapped one
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

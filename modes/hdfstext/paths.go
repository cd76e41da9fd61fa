package hdfstext

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
)

// namespace is what the splitter and committer need of the file system;
// *hdfs.Client has it, and unit tests a map in memory.
type namespace interface {
	Stat(ctx context.Context, p string) (hdfs.FileStatus, error)
	ReadDir(ctx context.Context, dir string) ([]hdfs.FileStatus, error)
	Rename(ctx context.Context, src, dst string, overwrite bool) error
	Remove(ctx context.Context, p string, recursive bool) error
	MkdirAll(ctx context.Context, p string, m fs.FileMode) error
	URL(p string) string
}

var _ namespace = (*hdfs.Client)(nil)

// hidden reports whether a file name is one readers skip: Hadoop's
// convention for _SUCCESS, _temporary, .crc files and the like.
func hidden(name string) bool {
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
}

// resolve turns an "input" or "output" setting, an absolute path or an
// hdfs:// URL, into a path in the file system ns is a client of.
func resolve(ns namespace, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("want an HDFS path, hdfs:///dir or /dir")
	}
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), nil
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "hdfs" || u.RawQuery != "" || u.Fragment != "" || !path.IsAbs(u.Path) {
		return "", fmt.Errorf("%q: want an absolute path or an hdfs:// URL (hdfs:///dir)", p)
	}
	if u.Host != "" {
		own := strings.TrimSuffix(strings.TrimPrefix(ns.URL("/"), "hdfs://"), "/")
		if u.Host != own && u.Host+":8020" != own {
			return "", fmt.Errorf("%q is in another file system than the job's (hdfs://%s): use hdfs:///path or /path", p, own)
		}
	}
	return path.Clean(u.Path), nil
}

package hdfs

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
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

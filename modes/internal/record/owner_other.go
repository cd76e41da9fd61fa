//go:build !unix

package record

import "io/fs"

// owner is unknown where files have no unix owner.
func owner(fs.FileInfo) (int, bool) { return 0, false }

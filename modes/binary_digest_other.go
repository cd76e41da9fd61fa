//go:build !linux

package modes

import "os"

// fileIdentity: elsewhere than on Linux, digests are not kept.
func fileIdentity(os.FileInfo) (string, bool) { return "", false }

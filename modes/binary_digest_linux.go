package modes

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity names a file's bytes as the kernel knows them: device,
// inode, size, modification and change time (ns).
func fileIdentity(st os.FileInfo) (string, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%x-%x-%d-%d-%d", s.Dev, s.Ino, st.Size(), st.ModTime().UnixNano(), s.Ctim.Nano()), true
}

package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// A TaskManager becomes a session job's own binary (taskmanager.Config.
// Become) by fetching it into its working directory and executing it in
// place of itself: same container, same environment and log files, and
// the same data exchange listener, whose descriptor the new process
// inherits, so the data address the JobManager handed to other subtasks
// stays right. These variables tell the new process what to take over.
const (
	// envListenerFD is the inherited exchange listener's descriptor.
	envListenerFD = "SPINDLE_TM_LISTENER_FD"
	// envAfter is the sequence number of the last command handled.
	envAfter = "SPINDLE_TM_AFTER"
)

// ownSHA256 is the hex SHA-256 of this process's binary, "" when it
// cannot be read (a job's binary is then always fetched).
var ownSHA256 = sync.OnceValue(func() string {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
})

// exchangeListener is the data exchange's listener: inherited from the
// process this one replaced, else a new one on host.
func exchangeListener(host string) (net.Listener, int64, error) {
	fdText := os.Getenv(envListenerFD)
	if fdText == "" {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		return ln, 0, err
	}
	os.Unsetenv(envListenerFD)
	after, _ := strconv.ParseInt(os.Getenv(envAfter), 10, 64)
	os.Unsetenv(envAfter)
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return nil, 0, fmt.Errorf("%s=%q is not an inherited descriptor", envListenerFD, fdText)
	}
	f := os.NewFile(uintptr(fd), "exchange-listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, 0, fmt.Errorf("taking over the exchange listener: %w", err)
	}
	return ln, after, nil
}

// becomer fetches binaries and executes them in this process's place.
type becomer struct {
	ln net.Listener
	// exec replaces the process (syscall.Exec); tests put another.
	exec func(path string, argv, env []string) error
}

// become fetches b with fs into the working directory, checks its size
// and SHA-256, and executes it with the exchange listener inherited. It
// returns only on failure.
func (w *becomer) become(ctx context.Context, b control.BinaryRef, fs *hdfs.Client, after int64) error {
	name := "./program-" + b.SHA256[:16]
	if err := fetchBinary(ctx, fs, b, name); err != nil {
		return err
	}
	tl, ok := w.ln.(*net.TCPListener)
	if !ok {
		return errors.New("the exchange listener is not a TCP listener")
	}
	f, err := tl.File() // a duplicate, closed on exec: cleared below
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_SETFD, 0); errno != 0 {
		return fmt.Errorf("keeping the exchange listener across exec: %w", errno)
	}
	env := append(os.Environ(), envListenerFD+"="+strconv.Itoa(int(f.Fd())), envAfter+"="+strconv.FormatInt(after, 10))
	return w.exec(name, []string{name}, env)
}

// fetchBinary copies b from HDFS to the local file name, mode 0700, and
// checks what arrived.
func fetchBinary(ctx context.Context, fs *hdfs.Client, b control.BinaryRef, name string) error {
	r, err := fs.Open(ctx, b.Path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", b.Path, err)
	}
	defer r.Close()
	tmp := name + ".part"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fetching %s: %w", b.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != b.Size || got != b.SHA256 {
		os.Remove(tmp)
		return fmt.Errorf("%s holds %d bytes of sha256 %s, not the %d bytes of sha256 %s the job's client shipped: it changed in HDFS", b.Path, n, got, b.Size, b.SHA256)
	}
	return os.Rename(tmp, name)
}

package deploy

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// The checks Deploy makes before it writes anything: the local files it
// would ship (checkLocal), and, once it has the cluster's answer to
// NewApplication, the node label (checkNodeLabel; spec.go's
// checkResources and deploy.go's checkQueue are the others).

// ClusterArchKey is the -D key naming the processor architecture of the
// cluster's NodeManagers, as GOARCH spells it; the binary shipped must be
// a Linux executable for it. Empty means amd64.
const ClusterArchKey = "spindle.cluster.arch"

// elfMachines maps the GOARCH values YARN clusters run on to the ELF
// machine their executables declare.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkLocal refuses, before the cluster is contacted, a binary the
// cluster's NodeManagers could not run and shipped paths staging could not
// read.
func checkLocal(req *Request) error {
	arch := req.Config[ClusterArchKey]
	if arch == "" {
		arch = "amd64"
	}
	if err := checkBinary(req.Binary, arch); err != nil {
		return err
	}
	for _, p := range req.Ship {
		if isRemote(p) {
			continue // checked against HDFS before staging (checkRemoteShip)
		}
		if err := checkShip(p); err != nil {
			return err
		}
	}
	return nil
}

// checkBinary reads the ELF header of the binary to ship: YARN runs it on
// Linux NodeManagers of arch, so a Mach-O or Windows build, a script, or a
// build for another processor would fail only in the container, after
// staging and scheduling.
func checkBinary(path, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("deploy: -D %s=%s is not an architecture Spindle knows; use one of amd64, arm64, ppc64le, s390x or riscv64", ClusterArchKey, arch)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("deploy: the binary to ship: %w", err)
	}
	defer f.Close()
	var hdr [20]byte // through e_machine, the same offsets in 32- and 64-bit ELF
	n, err := io.ReadFull(f, hdr[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("deploy: reading the binary to ship, %s: %w", path, err)
	}
	build := fmt.Sprintf("build the program with GOOS=linux GOARCH=%s and run that build", arch)
	if n < len(hdr) || string(hdr[:4]) != elf.ELFMAG {
		return fmt.Errorf("deploy: the binary to ship, %s, is not a Linux executable (no ELF header), and the cluster's NodeManagers run Linux: %s", path, build)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if elf.Data(hdr[elf.EI_DATA]) == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	switch t := elf.Type(order.Uint16(hdr[16:18])); t {
	case elf.ET_EXEC, elf.ET_DYN:
	default:
		return fmt.Errorf("deploy: the binary to ship, %s, is an ELF %s, not an executable: %s", path, t, build)
	}
	if m := elf.Machine(order.Uint16(hdr[18:20])); m != want || elf.Class(hdr[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return fmt.Errorf("deploy: the binary to ship, %s, is built for %s (%s), not for the cluster's %s: %s (or, if the NodeManagers are not %s, say what they are with -D %s=GOARCH)",
			path, m, elf.Class(hdr[elf.EI_CLASS]), arch, build, arch, ClusterArchKey)
	}
	return nil
}

// checkShip refuses a -ship path that does not exist or cannot be read,
// and named pipes, sockets and devices, which staging would block on or
// could not upload.
func checkShip(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return shipError(p, err)
	}
	if !st.IsDir() {
		return checkShipFile(p, st.Mode())
	}
	return filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return shipError(path, err)
		}
		if d.IsDir() {
			return nil
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(path)
			if err != nil {
				return shipError(path, err)
			}
			mode = st.Mode()
		}
		return checkShipFile(path, mode)
	})
}

func checkShipFile(p string, mode fs.FileMode) error {
	if !mode.IsRegular() && !mode.IsDir() {
		return fmt.Errorf("deploy: -ship %s: is a %s, not a file or directory; ship regular files", p, fileKind(mode))
	}
	if mode.IsDir() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return shipError(p, err)
	}
	return f.Close()
}

func shipError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("deploy: -ship %s: no such file or directory; give the path of an existing local file or directory", p)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("deploy: -ship %s: cannot be read (permission denied); make it readable by the user running the client, or ship another path", p)
	}
	return fmt.Errorf("deploy: -ship %s: %w", p, err)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// checkNodeLabel refuses a node label the queue q may not use or no
// running NodeManager carries: the ResourceManager would refuse the
// submission only after staging, or leave the application waiting for
// nodes that never come.
func checkNodeLabel(ctx context.Context, rm *yarn.RMClient, q yarn.QueueInfo, label string) error {
	if label == "" {
		return nil
	}
	if !slices.Contains(q.AccessibleNodeLabels, "*") && !slices.Contains(q.AccessibleNodeLabels, label) {
		var may []string
		for _, l := range q.AccessibleNodeLabels {
			if l != "" {
				may = append(may, l)
			}
		}
		if len(may) == 0 {
			return fmt.Errorf("-node-label %q: queue %q may use no node label; drop -node-label, or submit to a queue that may use it", label, q.Name)
		}
		return fmt.Errorf("-node-label %q: queue %q may not use it; use one of %s, or another queue", label, q.Name, strings.Join(may, ", "))
	}
	nodes, err := rm.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("listing the NodeManagers to check -node-label %q: %w", label, err)
	}
	var carried []string
	for _, n := range nodes {
		for _, l := range n.Labels {
			if l == label {
				return nil
			}
			if !slices.Contains(carried, l) {
				carried = append(carried, l)
			}
		}
	}
	if len(carried) == 0 {
		return fmt.Errorf("-node-label %q: no running NodeManager carries a node label; drop -node-label", label)
	}
	slices.Sort(carried)
	return fmt.Errorf("-node-label %q: no running NodeManager carries it; use one of %s, or drop -node-label", label, strings.Join(carried, ", "))
}

// isRemote reports whether a -ship path names a file already in HDFS.
func isRemote(p string) bool { return strings.HasPrefix(p, "hdfs://") }

// checkRemoteShip checks that every hdfs:// path of req.Ship exists, so
// that a mistyped one is reported before anything is staged.
func checkRemoteShip(ctx context.Context, hc *hdfs.Client, req *Request) error {
	for _, p := range req.Ship {
		if !isRemote(p) {
			continue
		}
		u, err := url.Parse(p)
		if err != nil || u.Path == "" {
			return fmt.Errorf("-ship %s: not an HDFS path; write hdfs:///path (the cluster's file system) or hdfs://host:port/path", p)
		}
		if _, err := hc.Stat(ctx, u.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("-ship %s: no such file or directory in HDFS; upload it first (hdfs dfs -put) or correct the path", p)
			}
			return fmt.Errorf("-ship %s: %w", p, err)
		}
	}
	return nil
}

package deploy

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// elfHeader is the first 20 bytes of a little-endian 64-bit ELF file of
// type t for machine m.
func elfHeader(t elf.Type, m elf.Machine) []byte {
	b := make([]byte, 64)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(b[16:], uint16(t))
	binary.LittleEndian.PutUint16(b[18:], uint16(m))
	return b
}

func TestCheckBinary(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, arch string
		want             string // "" for no error
	}{
		{"amd64 executable", write("amd64", elfHeader(elf.ET_EXEC, elf.EM_X86_64)), "amd64", ""},
		{"amd64 position-independent", write("pie", elfHeader(elf.ET_DYN, elf.EM_X86_64)), "amd64", ""},
		{"arm64 for an arm64 cluster", write("arm64", elfHeader(elf.ET_EXEC, elf.EM_AARCH64)), "arm64", ""},
		{"arm64 for an amd64 cluster", filepath.Join(dir, "arm64"), "amd64", "is built for EM_AARCH64 (ELFCLASS64), not for the cluster's amd64: build the program with GOOS=linux GOARCH=amd64"},
		{"script", write("script.sh", []byte("#!/bin/sh\necho hi\n")), "amd64", "is not a Linux executable (no ELF header)"},
		{"Mach-O", write("macho", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "amd64", "no ELF header"},
		{"empty", write("empty", nil), "amd64", "no ELF header"},
		{"object file", write("obj.o", elfHeader(elf.ET_REL, elf.EM_X86_64)), "amd64", "is an ELF ET_REL, not an executable"},
		{"missing", filepath.Join(dir, "nope"), "amd64", "no such file"},
		{"unknown arch", filepath.Join(dir, "amd64"), "vax", "-D spindle.cluster.arch=vax is not an architecture"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBinary(tc.path, tc.arch)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if runtime.GOOS == "linux" {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		if err := checkBinary(self, runtime.GOARCH); err != nil {
			t.Errorf("this test's own binary: %v", err)
		}
	}
}

func TestCheckShip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	clean := filepath.Join(t.TempDir(), "tree")
	if err := os.MkdirAll(filepath.Join(clean, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clean, "sub", "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, filepath.Join(clean, "link")); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(t.TempDir(), "dangling")
	if err := os.MkdirAll(dangling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dangling, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"file", file, ""},
		{"directory", clean, ""},
		{"missing", filepath.Join(dir, "nope"), "-ship " + filepath.Join(dir, "nope") + ": no such file or directory; give the path of an existing local file or directory"},
		{"named pipe", fifo, "is a named pipe, not a file or directory; ship regular files"},
		{"directory holding a named pipe", dir, "-ship " + fifo + ": is a named pipe"},
		{"dangling link in a directory", dangling, "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkShip(tc.path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads files of any mode")
		}
		p := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(p, []byte("x"), 0o000); err != nil {
			t.Fatal(err)
		}
		if err := checkShip(p); err == nil || !strings.Contains(err.Error(), "cannot be read (permission denied)") {
			t.Fatalf("err = %v", err)
		}
	})
}

//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The files of these tests span blocks: 1 MiB blocks, a few MiB and a
// partial chunk at the end.
const (
	tokenIOBlock = 1 << 20
	tokenIOSize  = 3<<20 + 12345
)

// generate returns size bytes determined by seed, as integration/cmd/hdfsio
// generates them.
func generate(seed uint64, size int64) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, size)
	rand.NewChaCha8(key).Read(b)
	return b
}

// tokenTestDir makes a fresh directory for alice, removed with the test,
// and returns it with her delegation tokens.
func tokenTestDir(t *testing.T, ctx context.Context, tb *testbed.TestBed) (*hdfs.Client, []hdfs.Token, string) {
	t.Helper()
	if tb.Ready.Kerberos == nil {
		t.Skip("delegation tokens are issued on the Kerberos bed only")
	}
	alice := stagingClient(t, tb, "alice", nil)
	toks, err := alice.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := "/user/alice/.spindle-test-tokens-" + strings.TrimPrefix(testAppID(t), "application_")
	if err := alice.MkdirAll(ctx, dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		alice.Remove(cctx, dir, true)
	})
	return alice, toks, dir
}

// writeTokenFile writes data to p through c in odd-sized pieces.
func writeTokenFile(t *testing.T, ctx context.Context, c *hdfs.Client, p string, data []byte) {
	t.Helper()
	w, err := c.Create(ctx, p, hdfs.CreateOptions{BlockSize: tokenIOBlock})
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 77_777)
		if _, err := w.Write(rest[:n]); err != nil {
			w.Abort()
			t.Fatalf("write: %v", err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestHDFSTokensReadWrite: a client holding only alice's delegation token
// (no Kerberos login) writes a file of several 1 MiB blocks at each RPC
// protection level the bed offers and reads it back byte for byte, by
// Read, by ReadAt across block boundaries and after Seek; the NameNode
// reports the size and block size written, and Kerberos-authenticated
// alice reads the same bytes.
func TestHDFSTokensReadWrite(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 4*time.Minute)
	alice, toks, dir := tokenTestDir(t, ctx, tb)
	for i, prot := range protections(tb) {
		t.Run(prot, func(t *testing.T) {
			c := tokenOnlyClient(t, tb, toks, prot)
			p := path.Join(dir, "file-"+prot)
			want := generate(uint64(100+i), tokenIOSize)
			writeTokenFile(t, ctx, c, p, want)

			st, err := c.Stat(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size != tokenIOSize || st.BlockSize != tokenIOBlock {
				t.Errorf("stat: size %d, block size %d; want %d in blocks of %d", st.Size, st.BlockSize, tokenIOSize, tokenIOBlock)
			}
			r, err := c.Open(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes (sha256 %x), wrote %d (sha256 %x)", len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
			}
			// A range across the first block boundary, and the tail.
			for _, rg := range [][2]int64{{tokenIOBlock - 1000, 5000}, {2*tokenIOBlock - 7, 107}, {tokenIOSize - 10, 10}} {
				buf := make([]byte, rg[1])
				if n, err := r.ReadAt(buf, rg[0]); err != nil || !bytes.Equal(buf[:n], want[rg[0]:rg[0]+rg[1]]) {
					t.Errorf("ReadAt(%d bytes at %d): %d bytes, %v, equal %v", rg[1], rg[0], n, err, bytes.Equal(buf[:n], want[rg[0]:rg[0]+int64(n)]))
				}
			}
			if _, err := r.Seek(tokenIOBlock+513, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 3000)
			if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, want[tokenIOBlock+513:tokenIOBlock+3513]) {
				t.Errorf("read after Seek: %v, equal %v", err, bytes.Equal(buf, want[tokenIOBlock+513:tokenIOBlock+3513]))
			}
			if n, err := r.ReadAt(buf, tokenIOSize-100); n != 100 || !errors.Is(err, io.EOF) {
				t.Errorf("ReadAt past the end: %d bytes, %v; want 100 and io.EOF", n, err)
			}

			// Kerberos-authenticated alice sees the same bytes.
			if kb, err := alice.ReadFile(ctx, p); err != nil || !bytes.Equal(kb, want) {
				t.Errorf("alice with Kerberos read %d bytes, %v; equal %v", len(kb), err, bytes.Equal(kb, want))
			}
			// An existing file is refused without Overwrite.
			if _, err := c.Create(ctx, p, hdfs.CreateOptions{}); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Create over an existing file: %v, want fs.ErrExist", err)
			}
		})
	}
}

// TestHDFSTokensInContainer: a real YARN container whose launch context
// carries alice's HDFS delegation token, and no keytab, runs
// integration/cmd/hdfsio, which reads the token from the file YARN gives
// it and, at every RPC protection level, writes a multi-block file, reads
// it back, and reads a multi-block file the test wrote with the token;
// the test then reads what the container wrote and checks every byte.
func TestHDFSTokensInContainer(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 5*time.Minute)
	_, toks, dir := tokenTestDir(t, ctx, tb)

	bin := filepath.Join(t.TempDir(), "hdfsio")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/spindle-yarn/spindle/integration/cmd/hdfsio").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bst, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}

	c := tokenOnlyClient(t, tb, toks, "")
	input := path.Join(dir, "input")
	in := generate(7, tokenIOSize)
	writeTokenFile(t, ctx, c, input, in)

	const seed = 42
	prots := protections(tb)
	line, err := yarn.Command{
		Args: yarn.LiteralArgs("./hdfsio",
			"-namenode", strings.TrimPrefix(tb.Ready.NameNode, "hdfs://"),
			"-user", "alice",
			"-protections", strings.Join(prots, ","),
			"-dir", dir,
			"-size", fmt.Sprint(tokenIOSize),
			"-blocksize", fmt.Sprint(tokenIOBlock),
			"-seed", fmt.Sprint(seed),
			"-input", input,
			"-input-sha256", fmt.Sprintf("%x", sha256.Sum256(in))),
		Stdout: yarn.LogFile("stdout"), Stderr: yarn.LogFile("stderr"),
	}.Line()
	if err != nil {
		t.Fatal(err)
	}
	creds := &yarn.Credentials{}
	for _, tok := range toks {
		creds.AddToken(tok.Service, yarn.Token(tok))
	}
	rm := rmClient(t, tb, "alice", "")
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = rm.Submit(ctx, &yarn.ApplicationSubmission{
		ID: id, Name: t.Name(), Queue: "default", Type: "SPINDLE-TEST", MaxAttempts: 1,
		AMResource: yarn.Resource{MemoryMB: 128, VCores: 1},
		AM: yarn.ContainerLaunchContext{
			// The NodeManagers run on this machine, so they localize the
			// binary straight from the local file system.
			LocalResources: map[string]yarn.LocalResource{"hdfsio": {URL: "file://" + bin, Size: bst.Size(),
				Timestamp: bst.ModTime().UnixMilli(), Type: yarn.LocalResourceFile, Visibility: yarn.VisibilityApplication}},
			Credentials: creds,
			Commands:    []string{line},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done, err := rm.WaitForCompletion(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// A command that never registers as an ApplicationMaster leaves the
	// application FAILED; its exit status says whether hdfsio passed.
	if !done.AMExitKnown || done.AMExitStatus != 0 {
		t.Fatalf("hdfsio exited %d (known %v); diagnostics: %s\n%s", done.AMExitStatus, done.AMExitKnown, done.Report.Diagnostics, containerLogs(tb, id.String()))
	}
	want := generate(seed, tokenIOSize)
	for _, prot := range prots {
		p := path.Join(dir, "container-"+prot)
		got, err := c.ReadFile(ctx, p)
		if err != nil {
			t.Errorf("%s: %v", prot, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the container wrote %d bytes (sha256 %x), want %d (sha256 %x)", prot, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		}
		if st, err := c.Stat(ctx, p); err != nil || st.BlockSize != tokenIOBlock {
			t.Errorf("%s: stat %+v, %v; want block size %d", prot, st, err, tokenIOBlock)
		}
	}
	t.Logf("container output:\n%s", containerLogs(tb, id.String()))
}

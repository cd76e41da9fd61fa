//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSessionConcurrentIdentities: on the Kerberos bed a service
// principal runs one session, and alice's and bob's wordcounts (proxy
// users) are submitted to it at the same time, each reading its own home
// directory, together with a job of bob's that reads alice's input. Both
// own jobs give the right counts, in output owned by their user; bob's
// job on alice's input fails in its tasks with the NameNode's
// AccessControlException (alice's directory is listable, her file is not
// readable: the JobManager's splitter succeeds, the tasks' reads fail).
//
// Where each job's tokens went. A session's containers carry the
// session's own tokens in their launch context (container_tokens,
// HADOOP_TOKEN_FILE_LOCATION); a job's own HDFS delegation tokens reach
// only the TaskManagers that run it, over the control channel, and live in
// their memory. So the test asks, of the real bytes:
//
//   - Memory: while the jobs run (and once more after), it reads the
//     anonymous memory of every TaskManager process of the session
//     (/proc/PID/mem) and looks for the identifiers of alice's and of
//     bob's HDFS delegation tokens. Every TaskManager that held one
//     user's tokens never held the other's, and each user's tokens are
//     found in some TaskManager (the check sees tokens where they live).
//   - Files and environment: every file the NodeManagers keep for the
//     application's containers (work directory with container_tokens and
//     launch_container.sh, nmPrivate's token file and launch script, the
//     logs) and the environment and command line of every process of the
//     containers hold neither user's token identifiers, the JobManager's
//     included. The scan finds the session's own token, decoded from each
//     container's token file, in that container's files (it reads what it
//     claims to read).
//
// A token identifier is searched for by its head: version, owner, renewer
// and real user (HDFS's Writable layout), which every HDFS delegation
// token the service obtains for that user starts with, whatever its
// sequence number and dates; the test takes the head from a token it
// obtains the same way and checks that the layout holds. The head is
// searched raw, in base64 at each of the three alignments (JSON, SASL
// DIGEST-MD5 user names) and in hex.
func TestSessionConcurrentIdentities(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	svcKeytab := filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab")
	svc := []string{"-keytab", svcKeytab, "-principal", k.ServicePrincipal}
	users := []string{"alice", "bob"}
	heads := map[string][]byte{}
	for _, u := range users {
		heads[u] = proxyTokenHead(t, tb, svcKeytab, u)
	}
	needles := tokenNeedles(heads)
	checkNeedles(t, heads, needles)

	// alice's input: a directory anyone may list, a file only she reads.
	ctx := testContext(t, 3*time.Minute)
	stamp := time.Now().UnixNano()
	afs := stagingClient(t, tb, "alice", nil)
	bfs := stagingClient(t, tb, "bob", nil)
	aliceIn := fmt.Sprintf("/user/alice/session-identities-%d/in", stamp)
	bobIn := fmt.Sprintf("/user/bob/session-identities-%d/in", stamp)
	if err := afs.MkdirAll(ctx, aliceIn, 0o755); err != nil {
		t.Fatal(err)
	}
	aliceWant := writeCorpus(t, afs, aliceIn+"/text.txt", 11, 2<<20, 0o600)
	bobWant := writeCorpus(t, bfs, bobIn+"/text.txt", 12, 2<<20, 0)
	if st, err := afs.Stat(ctx, aliceIn+"/text.txt"); err != nil || st.Mode.Perm() != 0o600 {
		t.Fatalf("alice's input: mode %v, err %v; want -rw-------", st.Mode, err)
	}

	name := fmt.Sprintf("c%d", stamp%1_000_000_000)
	start := runWordcountLogin(t, tb, svc, "session", "start", "-name", name, "-d", "-min-taskmanagers", "1", "-max-taskmanagers", "4")
	if start.code != 0 {
		t.Fatalf("session start: exit %d", start.code)
	}
	appID := regexp.MustCompile(`(?m)^(application_\d+_\d+)$`).FindString(start.stdout)
	if appID == "" {
		t.Fatal("session start printed no application id")
	}
	t.Cleanup(func() { runWordcountLogin(t, tb, svc, "session", "stop", "-name", name) })

	aliceOut := fmt.Sprintf("/user/alice/session-identities-out-%d", stamp)
	bobOut := fmt.Sprintf("/user/bob/session-identities-out-%d", stamp)
	bobOnAliceOut := fmt.Sprintf("/user/bob/session-identities-denied-%d", stamp)
	submit := func(user, in, out string, extra ...string) *clientProc {
		args := append([]string{"run", "-t", "yarn-session", "-session", name, "-proxy-user", user, "-input", in, "-output", out}, extra...)
		return startWordcountLogin(t, tb, svc, args...)
	}
	alice := submit("alice", aliceIn, aliceOut)
	bob := submit("bob", bobIn, bobOut)
	denied := submit("bob", aliceIn, bobOnAliceOut, "-restarts", "0")

	// While they run, and once after: whose token identifiers each
	// TaskManager's memory holds.
	held := map[string]map[string]bool{} // container → users
	var memErrs []string
	scanMemory := func() {
		for _, p := range applicationProcesses(appID) {
			if p.role != "taskmanager" || !p.program {
				continue
			}
			found, err := processMemoryHolds(p.pid, needles)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errProcessGone) {
					memErrs = append(memErrs, err.Error())
				}
				continue
			}
			if held[p.container] == nil {
				held[p.container] = map[string]bool{}
			}
			for _, u := range found {
				held[p.container][u] = true
			}
		}
	}
	scans := 0
	for !(alice.exited() && bob.exited() && denied.exited()) {
		scanMemory()
		scans++
		time.Sleep(100 * time.Millisecond)
	}
	scanMemory()
	scans++

	if r := alice.wait(t); r.code != 0 {
		t.Errorf("alice's job: exit %d", r.code)
	} else {
		checkWordcountOutput(t, tb, aliceOut, aliceWant)
		checkOwner(t, afs, aliceOut, "alice")
	}
	if r := bob.wait(t); r.code != 0 {
		t.Errorf("bob's job: exit %d", r.code)
	} else {
		checkWordcountOutput(t, tb, bobOut, bobWant)
		checkOwner(t, bfs, bobOut, "bob")
	}
	r := denied.wait(t)
	if r.code == 0 {
		t.Error("bob's job read alice's unreadable input")
	}
	cause := regexp.MustCompile(`(?m)^root cause: .*$`).FindString(r.out)
	if !strings.Contains(cause, "AccessControlException") || !strings.Contains(cause, `vertex "read"`) || !strings.Contains(cause, "user=bob") {
		t.Errorf("bob's job on alice's input: root cause %q, want the read tasks' AccessControlException for user=bob", cause)
	}
	checkNoOutput(t, tb, bobOnAliceOut)

	t.Logf("memory of the TaskManagers, %d scans: %v", scans, held)
	for _, e := range memErrs {
		t.Errorf("reading a TaskManager's memory: %s", e)
	}
	holders := map[string]int{}
	for c, us := range held {
		if len(us) > 1 {
			t.Errorf("TaskManager %s held the tokens of %v: one job's tokens reached another user's job's TaskManager", c, slices.Sorted(maps.Keys(us)))
		}
		for u := range us {
			holders[u]++
		}
	}
	for _, u := range users {
		if holders[u] == 0 {
			t.Errorf("no TaskManager's memory held %s's token identifier: the check did not see the tokens where they live", u)
		}
	}

	// Files and environment: no per-job token anywhere in the containers;
	// the session's own token found where the NodeManager put it.
	files := containerFiles(tb, appID)
	procs := applicationProcesses(appID)
	if len(files) < 3 {
		t.Errorf("found files of %d containers, want at least 3 (the JobManager, alice's and bob's TaskManagers)", len(files))
	}
	for c, paths := range files {
		var own [][]byte // heads of the container's own HDFS tokens
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) { // the NodeManager may clean up meanwhile
					t.Errorf("reading %s: %v", p, err)
				}
				continue
			}
			if base := filepath.Base(p); base == "container_tokens" || strings.HasSuffix(base, ".tokens") {
				creds, err := yarn.ReadCredentials(bytes.NewReader(b))
				if err != nil {
					t.Errorf("%s: %v", p, err)
					creds = &yarn.Credentials{}
				}
				for _, tok := range creds.TokensByKind(hdfs.KindDelegationToken) {
					if id, err := tok.DelegationIdentifier(); err == nil {
						own = append(own, delegationHead(id.Owner, id.Renewer, id.RealUser))
					}
				}
			}
			if found := bytesHold(b, needles); len(found) > 0 {
				t.Errorf("%s (container %s) holds the token identifier of %v", p, c, found)
			}
		}
		for _, h := range own {
			hit := false
			for _, p := range paths {
				b, _ := os.ReadFile(p)
				hit = hit || bytes.Contains(b, h)
			}
			if !hit {
				t.Errorf("container %s: the scan did not find the session's own token in its files", c)
			}
		}
		if len(own) == 0 {
			t.Errorf("container %s: no token file with the session's HDFS token among %v", c, paths)
		}
	}
	for _, p := range procs {
		for _, f := range []string{"environ", "cmdline"} {
			b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), f))
			if err != nil {
				continue // exited
			}
			if found := bytesHold(b, needles); len(found) > 0 {
				t.Errorf("process %d of container %s: its %s holds the token identifier of %v", p.pid, p.container, f, found)
			}
		}
	}
	t.Logf("scanned the files of %d containers and the environment of %d processes", len(files), len(procs))
}

// proxyTokenHead obtains an HDFS delegation token as the bed's service
// principal impersonating user, with user as renewer, exactly as a
// session job's client does,
// and returns the head of its identifier (delegationHead), checked against
// the token's bytes.
func proxyTokenHead(t *testing.T, tb *testbed.TestBed, keytab, user string) []byte {
	t.Helper()
	k := tb.Ready.Kerberos
	ctx := testContext(t, time.Minute)
	id, err := hdfs.LoginKeytab(ctx, k.ServicePrincipal, keytab, k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { id.Close() })
	cfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithIdentity(id.WithProxyUser(user))
	// A session job's tokens name its user as renewer: its client renews
	// them while it follows the job (modes/session_credentials.go).
	cfg.TokenRenewer = user
	c := newStagingClient(t, cfg)
	toks, err := c.DelegationTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	did, err := toks[0].DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if did.Owner != user || did.RealUser == "" {
		t.Fatalf("%s's token as the service: owner %q, real user %q", user, did.Owner, did.RealUser)
	}
	h := delegationHead(did.Owner, did.Renewer, did.RealUser)
	if !bytes.HasPrefix(toks[0].Identifier, h) {
		t.Fatalf("the identifier of %s's token does not start as HDFS's Writable layout says: %x", user, toks[0].Identifier)
	}
	return h
}

// delegationHead is the start of an HDFS delegation token identifier:
// version 0, then owner, renewer and real user as Hadoop Text (a VInt
// length, one byte below 128, and the bytes).
func delegationHead(owner, renewer, realUser string) []byte {
	b := []byte{0}
	for _, s := range []string{owner, renewer, realUser} {
		if len(s) > 127 {
			panic("delegationHead: a name of 128 bytes or more")
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

// tokenNeedles gives each user's head in every form it is searched in:
// raw, base64 at the three alignments a longer base64 text can hold it in
// (only the characters that depend on the head alone), hex in both cases.
func tokenNeedles(heads map[string][]byte) map[string][][]byte {
	out := map[string][][]byte{}
	for u, h := range heads {
		forms := [][]byte{h, []byte(hex.EncodeToString(h)), []byte(strings.ToUpper(hex.EncodeToString(h)))}
		for pad := 0; pad < 3; pad++ {
			enc := base64.RawStdEncoding.EncodeToString(append(make([]byte, pad), h...))
			from := (8*pad + 5) / 6      // the first characters mix in the bytes before
			to := 8 * (pad + len(h)) / 6 // and the last partial one the bytes after
			forms = append(forms, []byte(enc[from:to]))
		}
		out[u] = forms
	}
	return out
}

// checkNeedles: each user's needles find the head embedded in random
// bytes at every offset, raw, in base64 (standard and as JSON writes
// []byte) and in hex; and they find nothing in random bytes alone.
func checkNeedles(t *testing.T, heads map[string][]byte, needles map[string][][]byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for u, h := range heads {
		for off := 0; off < 6; off++ {
			raw := append(append(noise(off+10), h...), noise(9)...)
			for _, form := range [][]byte{raw, []byte(base64.StdEncoding.EncodeToString(raw)), []byte(hex.EncodeToString(raw))} {
				if found := bytesHold(form, needles); !slices.Contains(found, u) {
					t.Fatalf("the needles of %s miss its head at offset %d in %q", u, off, form)
				}
			}
		}
	}
	if found := bytesHold(noise(1<<20), needles); len(found) > 0 {
		t.Fatalf("the needles of %v match random bytes", found)
	}
}

// bytesHold returns the users whose needles occur in b.
func bytesHold(b []byte, needles map[string][][]byte) []string {
	var out []string
	for u, forms := range needles {
		for _, f := range forms {
			if bytes.Contains(b, f) {
				out = append(out, u)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// writeCorpus writes size bytes of generated text (seed) to p, mode perm
// (0: the default), and returns its word counts.
func writeCorpus(t *testing.T, c *hdfs.Client, p string, seed uint64, size int64, perm fs.FileMode) map[string]int64 {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	var text bytes.Buffer
	if err := corpus.Generate(&text, seed, size); err != nil {
		t.Fatal(err)
	}
	want, err := corpus.Count(bytes.NewReader(text.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Create(ctx, p, hdfs.CreateOptions{Perm: perm})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(text.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := closeRetrying(ctx, w); err != nil {
		t.Fatal(err)
	}
	return want
}

func checkOwner(t *testing.T, c *hdfs.Client, p, owner string) {
	t.Helper()
	st, err := c.Stat(testContext(t, time.Minute), p)
	if err != nil {
		t.Errorf("%s: %v", p, err)
	} else if st.Owner != owner {
		t.Errorf("%s belongs to %q, want %q", p, st.Owner, owner)
	}
}

// appProcess is a process of one of an application's containers.
type appProcess struct {
	pid       int
	container string
	role      string // SPINDLE_ROLE
	program   bool   // the program itself, not the NodeManager's wrapper shells
}

// applicationProcesses finds the processes of appID's containers on this
// machine by their CONTAINER_ID.
func applicationProcesses(appID string) []appProcess {
	prefix := "CONTAINER_ID=container_" + strings.TrimPrefix(appID, "application_") + "_"
	ents, _ := os.ReadDir("/proc")
	var out []appProcess
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		p := appProcess{pid: pid}
		for _, kv := range strings.Split(string(env), "\x00") {
			if strings.HasPrefix(kv, prefix) {
				p.container = strings.TrimPrefix(kv, "CONTAINER_ID=")
			}
			if v, ok := strings.CutPrefix(kv, "SPINDLE_ROLE="); ok {
				p.role = v
			}
		}
		if p.container == "" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		p.program = strings.HasPrefix(string(cmdline), "./program\x00")
		out = append(out, p)
	}
	return out
}

var errProcessGone = errors.New("process exited")

// processMemoryHolds reads the anonymous memory (heap, stacks, Go's
// arenas) of process pid and returns the users whose needles occur in it.
// File-backed mappings (the program's text and data) are skipped.
func processMemoryHolds(pid int, needles map[string][][]byte) ([]string, error) {
	mapsFile, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer mapsFile.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	found := map[string]bool{}
	sc := bufio.NewScanner(mapsFile)
	var buf []byte
	regions := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !strings.HasPrefix(f[1], "r") {
			continue
		}
		if len(f) >= 6 && f[5] != "[heap]" && f[5] != "[stack]" {
			continue // a file's mapping, or [vvar], [vdso]...
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a || b-a > 1<<30 {
			continue
		}
		if n := int(b - a); cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:b-a]
		n, err := mem.ReadAt(buf, int64(a))
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("process %d: %w", pid, err)
			}
			continue // unmapped meanwhile
		}
		regions++
		for _, u := range bytesHold(buf[:n], needles) {
			found[u] = true
		}
	}
	if regions == 0 {
		return nil, errProcessGone
	}
	return slices.Sorted(maps.Keys(found)), nil
}

var containerIDPattern = regexp.MustCompile(`container_(?:e\d+_)?\d+_\d+_\d+_\d{6}`)

// containerFiles lists, by container, the regular files the bed's
// NodeManagers keep for appID's containers: the work directories under
// usercache, nmPrivate's launch scripts and token files, the log
// directories. Symbolic links (localized resources) are not followed.
func containerFiles(tb *testbed.TestBed, appID string) map[string][]string {
	var mu sync.Mutex
	out := map[string][]string{}
	appNum := strings.TrimPrefix(appID, "application_")
	roots, _ := filepath.Glob(filepath.Join(tb.Dir, "work", "yarn", "*", "*", "*"))
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if name == "filecache" || strings.HasPrefix(name, "application_") && name != appID {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			c := containerIDPattern.FindString(p)
			if c == "" || !strings.Contains(c, "_"+appNum+"_") {
				return nil
			}
			mu.Lock()
			out[c] = append(out[c], p)
			mu.Unlock()
			return nil
		})
	}
	return out
}

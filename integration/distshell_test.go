//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/colinmarc/hdfs/v2"

	spindlehdfs "github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// Hadoop's Java DistributedShell ApplicationMaster, from the
// hadoop-yarn-applications-distributedshell jar the test bed's pom.xml
// resolves (3.4.2: Maven Central has no 3.5.0).
const distShellAM = "org.apache.hadoop.yarn.applications.distributedshell.ApplicationMaster"

// TestDistributedShellJavaAM: Spindle's Go RM client submits Hadoop's own
// Java DistributedShell ApplicationMaster, staged in HDFS by Go code the way
// Hadoop's DS Client stages it, and the application finishes SUCCEEDED.
// Every worker container really ran the shell command (its stdout is in the
// NodeManager's log directory), and the AM, which talks to HDFS itself,
// removed the staging directory. On the Kerberos bed the AM gets an HDFS
// delegation token obtained by Spindle.
func TestDistributedShellJavaAM(t *testing.T) {
	tb := testbed.Get(t)
	ctx := testContext(t, 5*time.Minute)
	jars, classpath := distShellJars(t)
	cfg := yarnConfig(t, tb, "alice", "")
	rm, err := yarn.NewRMClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	fs := hdfsClient(t, tb, "alice")

	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appID := id.String()
	// The DS AM deletes <homedir>/<appname>/<app id> when it ends, the
	// layout its own Client stages into. With --appname .spindle that is
	// exactly Spindle's staging directory, so the AM's cleanup is part of
	// what the test checks.
	const home, appDir = "/user/alice", ".spindle"
	staging := path.Join(home, appDir, appID)
	if err := fs.MkdirAll(staging, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fs.RemoveAll(staging); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("removing %s: %v", staging, err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container logs of %s:\n%s", appID, containerLogs(tb, appID))
		}
	})

	// What Hadoop's DS Client ships: the AM jar as AppMaster.jar, and the
	// shell command and its arguments as files the AM reads with
	// DataInput.readUTF. Jersey 1's client jar comes along, as the
	// cluster's 3.5.0 classpath lacks it.
	marker := "spindle-ds-" + randomHex(t, 6)
	resources := map[string]yarn.LocalResource{
		"shellCommands": stage(t, fs, tb.Ready.NameNode, staging, "shellCommands", bytes.NewReader(javaWriteUTF(t, "echo"))),
		// Expanded by the worker's launch script, so each stdout names its
		// shell id and container.
		"shellArgs": stage(t, fs, tb.Ready.NameNode, staging, "shellArgs",
			bytes.NewReader(javaWriteUTF(t, marker+" shell=$YARN_SHELL_ID container=$CONTAINER_ID"))),
	}
	for name, local := range jars {
		f, err := os.Open(local)
		if err != nil {
			t.Fatal(err)
		}
		resources[name] = stage(t, fs, tb.Ready.NameNode, staging, name, f)
		f.Close()
	}

	var creds *yarn.Credentials
	if cfg.Kerberos != nil {
		// NodeManagers localize APPLICATION resources with the
		// application's tokens, and the AM reaches HDFS with them.
		hcfg, err := spindlehdfs.LoadConfig(tb.Ready.ConfDir)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := yarn.HDFSDelegationToken(ctx, yarn.HDFSTokenConfig{
			NameNode: strings.TrimPrefix(tb.Ready.NameNode, "hdfs://"),
			Kerberos: &yarn.KerberosConfig{Client: cfg.Kerberos.Client, ServerPrincipal: hcfg.Kerberos.ServerPrincipal},
			Renewer:  spindlehdfs.ShortName(cfg.Kerberos.ServerPrincipal),
		})
		if err != nil {
			t.Fatal(err)
		}
		creds = &yarn.Credentials{}
		creds.AddToken(tok.Service, tok)
	}

	const workers = 3
	am := []string{
		// {{JAVA_HOME}} is YARN's cross-platform form, which the
		// NodeManager rewrites to $JAVA_HOME for the launch script, and
		// <ADD_OPENS> becomes its Java 17 options, as with Hadoop's Client.
		`"{{JAVA_HOME}}/bin/java"`, "-Xmx256m", "<ADD_OPENS>", distShellAM,
		"--container_memory", "64",
		"--container_vcores", "1",
		"--num_containers", fmt.Sprint(workers),
		"--priority", "0",
		"--appname", appDir,
		// On the default file system: the AM deletes with FileSystem.get.
		"--homedir", tb.Ready.DefaultFS + home,
		"1><LOG_DIR>/AppMaster.stdout", "2><LOG_DIR>/AppMaster.stderr",
	}
	sub := &yarn.ApplicationSubmission{
		ID:          id,
		Name:        "spindle-distshell-java-am",
		Queue:       "default",
		Type:        "YARN",
		AMResource:  yarn.Resource{MemoryMB: 256, VCores: 1},
		MaxAttempts: 1,
		AM: yarn.ContainerLaunchContext{
			LocalResources: resources,
			Environment: map[string]string{
				// The DS AM insists on these; empty means no shell script.
				"DISTRIBUTEDSHELLSCRIPTLOCATION":  "",
				"DISTRIBUTEDSHELLSCRIPTTIMESTAMP": "0",
				"DISTRIBUTEDSHELLSCRIPTLEN":       "0",
				// The localized jars first, then the cluster's configuration
				// (the AM finds the scheduler address there) and the test
				// bed's Hadoop 3.5.0 jars, which are on this machine.
				"CLASSPATH": strings.Join(append([]string{"./*", "{{HADOOP_CONF_DIR}}"}, classpath...), "<CPS>"),
			},
			Commands:    []string{strings.Join(am, " ")},
			Credentials: creds,
		},
	}
	submitted := time.Now()
	if err := rm.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave nothing running on the shared test bed when the test gives
		// up early.
		kctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if r, err := rm.ApplicationReport(kctx, id); err == nil && !r.State.IsFinal() {
			if _, err := rm.KillAndWait(kctx, id, "TestDistributedShellJavaAM gave up"); err != nil {
				t.Logf("killing %s: %v", appID, err)
			}
		}
	})
	r, err := rm.WaitForState(ctx, id, 250*time.Millisecond, func(r yarn.ApplicationReport) bool { return r.State.IsFinal() })
	if err != nil {
		t.Fatal(err)
	}
	// The RM's report over RPC carries no submit time (3.5.0 leaves it out).
	t.Logf("%s: %s / %s, seen %.1f s after submission; by the RM's clock the AM was launched %.1f s and the application finished %.1f s after it started",
		appID, r.State, r.FinalStatus, time.Since(submitted).Seconds(),
		r.Launched.Sub(r.Started).Seconds(), r.Finished.Sub(r.Started).Seconds())
	if r.State != yarn.ApplicationFinished || r.FinalStatus != yarn.FinalSucceeded {
		t.Fatalf("%s ended %s / %s, want FINISHED / SUCCEEDED; diagnostics: %s", appID, r.State, r.FinalStatus, r.Diagnostics)
	}

	checkWorkersRan(t, tb, appID, marker, workers)

	// The AM unregisters before it cleans up, so give it a moment.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := fs.Stat(staging)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AM did not remove the staging directory %s (stat: %v)", staging, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkWorkersRan: exactly n worker containers of the application wrote
// their shell command's output, each with its own shell id and its own
// container id.
func checkWorkersRan(t *testing.T, tb *testbed.TestBed, appID, marker string, n int) {
	t.Helper()
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(marker) + ` shell=(\d+) container=(\S+)$`)
	var shells []string
	for _, dir := range containerDirs(tb, appID) {
		out, err := os.ReadFile(filepath.Join(dir, "stdout"))
		if err != nil {
			continue // the AM's container writes AppMaster.stdout
		}
		m := line.FindStringSubmatch(strings.TrimSpace(string(out)))
		if m == nil {
			t.Errorf("%s/stdout: %q, want %q", dir, out, marker+" shell=<n> container=<id>")
			continue
		}
		if m[2] != filepath.Base(dir) {
			t.Errorf("%s/stdout names container %s", dir, m[2])
		}
		shells = append(shells, m[1])
	}
	slices.Sort(shells)
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if !slices.Equal(shells, want) {
		t.Errorf("worker containers ran shell ids %v, want %v", shells, want)
	}
}

// distShellJars splits the test bed's classpath (written by
// testbed/build.sh) into the jars the DistributedShell AM ships, by the name
// each gets in the AM's working directory, and the Hadoop 3.5.0 rest.
func distShellJars(t *testing.T) (map[string]string, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testbed", "target", "classpath.txt"))
	if err != nil {
		t.Fatalf("the test bed's classpath (run integration/testbed/build.sh): %v", err)
	}
	ship := map[string]string{}
	var rest []string
	for _, p := range strings.Split(strings.TrimSpace(string(b)), ":") {
		switch {
		case strings.Contains(p, "/org/apache/hadoop/hadoop-yarn-applications-distributedshell/"):
			ship["AppMaster.jar"] = p
		case strings.Contains(p, "/com/sun/jersey/jersey-client/"):
			ship[filepath.Base(p)] = p
		default:
			rest = append(rest, p)
		}
	}
	if len(ship) != 2 {
		t.Fatalf("testbed/target/classpath.txt has %v; want the distributedshell and Jersey 1 client jars from testbed/pom.xml", ship)
	}
	return ship, rest
}

// stage uploads r to dir/name and returns its LocalResource, with the size
// and modification time the NameNode reports after the file was closed.
func stage(t *testing.T, fs *hdfs.Client, namenode, dir, name string, r io.Reader) yarn.LocalResource {
	t.Helper()
	p := path.Join(dir, name)
	w, err := fs.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		t.Fatalf("writing %s: %v", p, err)
	}
	// The NameNode completes the file once the DataNode has reported the
	// last block; until then Close says "replication in progress" and may
	// be called again (the Java client retries too).
	wait := 50 * time.Millisecond
	for deadline := time.Now().Add(time.Minute); ; wait = min(2*wait, time.Second) {
		err := w.Close()
		if err == nil {
			break
		}
		if !hdfs.IsErrReplicating(err) || time.Now().After(deadline) {
			t.Fatalf("closing %s: %v", p, err)
		}
		time.Sleep(wait)
	}
	fi, err := fs.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return yarn.LocalResource{
		URL:        strings.TrimSuffix(namenode, "/") + p,
		Size:       fi.Size(),
		Timestamp:  fi.ModTime().UnixMilli(),
		Type:       yarn.LocalResourceFile,
		Visibility: yarn.VisibilityApplication,
	}
}

// javaWriteUTF encodes s as Java's DataOutput.writeUTF does: a big-endian
// uint16 byte count, then modified UTF-8, which is plain UTF-8 for text
// without NUL and without characters beyond U+FFFF (the only kind used
// here).
func javaWriteUTF(t *testing.T, s string) []byte {
	t.Helper()
	if !utf8.ValidString(s) || len(s) > 0xffff || strings.ContainsFunc(s, func(r rune) bool { return r == 0 || r > 0xffff }) {
		t.Fatalf("javaWriteUTF: %q needs modified UTF-8 beyond plain UTF-8", s)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// containerDirs lists the application's container log directories under
// the test bed's NodeManagers (work/yarn/<cluster>/<run>/<...logDir...>).
func containerDirs(tb *testbed.TestBed, appID string) []string {
	dirs, _ := filepath.Glob(filepath.Join(tb.Dir, "work", "yarn", "*", "*", "*logDir*", appID, "container_*"))
	return dirs
}

// containerLogs returns the tail of every log file of the application's
// containers, the AM's AppMaster.stdout and AppMaster.stderr included.
func containerLogs(tb *testbed.TestBed, appID string) string {
	var b strings.Builder
	for _, dir := range containerDirs(tb, appID) {
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if f.Name() == "launch_container.sh" || f.Name() == "directory.info" {
				continue // long, and the same for every run
			}
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			if len(lines) > 60 {
				lines = append([]string{"..."}, lines[len(lines)-60:]...)
			}
			fmt.Fprintf(&b, "--- %s/%s ---\n%s\n", filepath.Base(dir), f.Name(), strings.Join(lines, "\n"))
		}
	}
	if b.Len() == 0 {
		return "(none found under " + filepath.Join(tb.Dir, "work", "yarn") + ")"
	}
	return b.String()
}

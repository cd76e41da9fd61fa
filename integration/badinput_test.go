//go:build integration

package integration

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/identity/identitytest"
	"github.com/spindle-yarn/spindle/yarn"
)

var (
	badgraphOnce sync.Once
	badgraphPath string
	badgraphErr  error
)

// badgraphBinary builds integration/cmd/badgraph once per test binary.
func badgraphBinary(t testing.TB) string {
	t.Helper()
	badgraphOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spindle-badgraph-")
		if err != nil {
			badgraphErr = err
			return
		}
		badgraphPath = filepath.Join(dir, "badgraph")
		if out, err := exec.Command("go", "build", "-o", badgraphPath, "github.com/spindle-yarn/spindle/integration/cmd/badgraph").CombinedOutput(); err != nil {
			badgraphErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if badgraphErr != nil {
		t.Fatalf("building badgraph: %v", badgraphErr)
	}
	return badgraphPath
}

// badCase is one mistake a user can make on the command line.
type badCase struct {
	name string
	// prog is the program run: "badgraph" (default), "wordcount" or
	// "probe" (deployprobe, whose -binary sets deploy.Request.Binary).
	prog string
	// args are the program's arguments; in those of `run` and `session
	// start`, -name gets the case's unique application name. Placeholders: {fifo}, {unreadable},
	// {arm64}, {output}, {finished} (the id of an application that ended).
	args []string
	// bed limits the case to the Kerberos or plain bed; empty runs it on
	// both.
	bed testbed.Mode
	// noLogin leaves out alice's -keytab and -principal on the Kerberos
	// bed.
	noLogin bool
	// conf, when set, edits a copy of the bed's configuration directory
	// the command gets as HADOOP_CONF_DIR; noConf unsets HADOOP_CONF_DIR.
	conf   func(t *testing.T, dir string)
	noConf bool
	// env is added to the command's environment.
	env []string
	// submits: the mistake is found only once the application runs (in
	// the JobManager), so the application exists and must have ended;
	// otherwise the RM must know no application of the case's name.
	submits bool
	// want are in stderr (in the whole output when submits: the
	// JobManager's diagnostics go to stdout): the problem and the fix.
	want []string
	// within, when set, bounds the command's run time.
	within time.Duration
}

// badInputCases is the table: each case fails with a message naming the
// mistake and its fix, and leaves nothing behind.
func badInputCases() []badCase {
	const app, perJob = "yarn-application", "yarn-per-job"
	return []badCase{
		// The command line, checked before anything else.
		{name: "malformed -D", args: []string{"run", "-t", app, "-D", "spindle.x"},
			want: []string{`invalid value "spindle.x" for flag -D`, "not key=value; write -D spindle.x=VALUE"}},
		{name: "-D without key", args: []string{"run", "-t", perJob, "-D", "=v"},
			want: []string{"the key before '=' is empty; write -D key=value"}},
		{name: "unknown target", args: []string{"run", "-t", "yarn-cloud"},
			want: []string{`-t "yarn-cloud" is not a deployment target; use -t yarn-application`}},
		{name: "zero slots", args: []string{"run", "-t", app, "-slots", "0"},
			want: []string{"-slots must be at least 1, got 0"}},
		{name: "negative parallelism", args: []string{"run", "-t", perJob, "-parallelism", "-2"},
			want: []string{"-parallelism must be at least 1, got -2"}},
		{name: "zero TaskManager vcores", args: []string{"run", "-t", app, "-tm-vcores", "0"},
			want: []string{"-tm-vcores must be at least 1, got 0"}},
		{name: "negative JobManager memory", args: []string{"run", "-t", perJob, "-jm-memory", "-5"},
			want: []string{"-jm-memory must be at least 1 (MB), got -5"}},

		// Against the cluster, after NewApplication and before staging.
		{name: "unknown queue application", args: []string{"run", "-t", app, "-queue", "nosuch"},
			want: []string{`-queue "nosuch": the scheduler has no such queue; use one of: `, "default"}},
		{name: "unknown queue per-job", args: []string{"run", "-t", perJob, "-queue", "nosuch"},
			want: []string{`-queue "nosuch": the scheduler has no such queue; use one of: `, "default"}},
		{name: "parent queue", args: []string{"run", "-t", app, "-queue", "root"},
			want: []string{`-queue "root": a parent queue takes no applications; use one of its leaves: `, "default"}},
		{name: "JobManager memory above maximum", args: []string{"run", "-t", app, "-jm-memory", "1000000"},
			want: []string{"the JobManager's 1000000 MB exceed the largest container the scheduler grants", "lower -jm-memory"}},
		{name: "TaskManager memory above maximum", args: []string{"run", "-t", perJob, "-tm-memory", "1000000"},
			want: []string{"a TaskManager's 1000000 MB exceed the largest container the scheduler grants", "lower -tm-memory"}},
		{name: "TaskManager vcores above maximum", args: []string{"run", "-t", app, "-tm-vcores", "1000"},
			want: []string{"a TaskManager's 1000 vcores exceed the largest container the scheduler grants", "lower -tm-vcores"}},
		{name: "unknown node label", args: []string{"run", "-t", app, "-node-label", "gpu"},
			want: []string{`-node-label "gpu": `, "drop -node-label"}},

		// Broken job graphs: Per-Job validates in the client before
		// anything is staged; Application mode in the JobManager, which
		// fails the application with the error in its diagnostics.
		{name: "empty graph per-job", args: []string{"run", "-t", perJob, "-graph", "empty"},
			want: []string{"the graph has no vertices; add at least one operator"}},
		{name: "cycle per-job", args: []string{"run", "-t", perJob, "-graph", "cycle"},
			want: []string{"cycle a -> b -> a: remove one of its edges"}},
		{name: "unknown operator per-job", args: []string{"run", "-t", perJob, "-graph", "unknown-operator"},
			want: []string{`operator "badgraph.nosuch" is not registered in this binary; register it under that name or fix the name`}},
		{name: "forward parallelism per-job", args: []string{"run", "-t", perJob, "-graph", "forward-parallelism"},
			want: []string{`"a" has parallelism 2 and "b" has 3; give both the same parallelism, or use a rebalance or hash edge`}},
		{name: "empty graph application", args: []string{"run", "-t", app, "-graph", "empty"}, submits: true,
			want: []string{"final status FAILED", "the graph has no vertices; add at least one operator"}},
		{name: "cycle application", args: []string{"run", "-t", app, "-graph", "cycle"}, submits: true,
			want: []string{"final status FAILED", "cycle a -> b -> a: remove one of its edges"}},
		{name: "unknown operator application", args: []string{"run", "-t", app, "-graph", "unknown-operator"}, submits: true,
			want: []string{"final status FAILED", `operator "badgraph.nosuch" is not registered in this binary`}},
		{name: "forward parallelism application", args: []string{"run", "-t", app, "-graph", "forward-parallelism"}, submits: true,
			want: []string{"final status FAILED", `"a" has parallelism 2 and "b" has 3; give both the same parallelism`}},

		// Local files, checked before the cluster is contacted.
		{name: "ship path missing", args: []string{"run", "-t", app, "-ship", "/nonexistent/spindle-badinput"},
			want: []string{"-ship /nonexistent/spindle-badinput: no such file or directory; give the path of an existing local file or directory"}},
		{name: "ship path a named pipe", args: []string{"run", "-t", perJob, "-ship", "{fifo}"},
			want: []string{"is a named pipe, not a file or directory; ship regular files"}},
		{name: "ship path unreadable", args: []string{"run", "-t", app, "-ship", "{unreadable}"},
			want: []string{"cannot be read (permission denied); make it readable by the user running the client"}},
		{name: "binary not ELF", prog: "probe", args: []string{"run", "-t", app, "-binary", "/etc/hostname"},
			want: []string{"the binary to ship, /etc/hostname, is not a Linux executable (no ELF header)", "build the program with GOOS=linux GOARCH=amd64"}},
		{name: "binary for arm64", prog: "probe", args: []string{"run", "-t", perJob, "-binary", "{arm64}"},
			want: []string{"is built for EM_AARCH64 (ELFCLASS64), not for the cluster's amd64: build the program with GOOS=linux GOARCH=amd64"}},

		// HDFS input that does not exist: the job fails at once, naming it.
		{name: "input missing application", prog: "wordcount", submits: true,
			args: []string{"run", "-t", app, "-input", "hdfs:///user/alice/spindle-badinput-nonexistent", "-output", "{output}"},
			want: []string{"input hdfs://", "/user/alice/spindle-badinput-nonexistent does not exist"}},
		{name: "input missing per-job", prog: "wordcount", submits: true,
			args: []string{"run", "-t", perJob, "-input", "/user/alice/spindle-badinput-nonexistent", "-output", "{output}"},
			want: []string{"input hdfs://", "/user/alice/spindle-badinput-nonexistent does not exist"}},

		// The client's configuration.
		{name: "no HADOOP_CONF_DIR", args: []string{"run", "-t", app}, noConf: true,
			want: []string{"HADOOP_CONF_DIR: not set; set it to the directory holding the cluster's core-site.xml, hdfs-site.xml and yarn-site.xml"}},
		{name: "invalid XML", args: []string{"run", "-t", app},
			conf: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "yarn-site.xml"), "<configuration><property><name>x</name>\n")
			},
			want: []string{"yarn-site.xml is not a Hadoop configuration file (XML syntax error on line 2", "fix it, or point HADOOP_CONF_DIR at the cluster's client configuration"}},
		{name: "unreachable ResourceManager", args: []string{"run", "-t", app}, within: 100 * time.Second,
			conf: func(t *testing.T, dir string) {
				setProperty(t, dir, "yarn.resourcemanager.address", "localhost:"+closedPort(t))
			},
			want: []string{"asking the ResourceManager for an application id", "no active ResourceManager after", "tried localhost:", "connection refused"}},
		{name: "wrong server principal", args: []string{"run", "-t", app}, bed: testbed.ModeKerberos,
			conf: func(t *testing.T, dir string) {
				setProperty(t, dir, "yarn.resourcemanager.principal", "yarn/elsewhere@EXAMPLE.COM")
			},
			want: []string{`server has Kerberos principal "hadoop/localhost", expected "yarn/elsewhere"`, "yarn.resourcemanager.principal"}},
		{name: "missing ticket cache", args: []string{"run", "-t", app}, bed: testbed.ModeKerberos, noLogin: true,
			env:  []string{"KRB5CCNAME=/nonexistent/spindle-badinput-cc"},
			want: []string{"no ticket cache at /nonexistent/spindle-badinput-cc: run `kinit <principal>` first"}},
		{name: "ship hdfs path missing", args: []string{"run", "-t", app, "-ship", "hdfs:///user/alice/badinput-nosuch-file"},
			want: []string{"-ship hdfs:///user/alice/badinput-nosuch-file: no such file or directory in HDFS; upload it first"}},
		{name: "expired ticket cache", args: []string{"run", "-t", app}, bed: testbed.ModeKerberos, noLogin: true,
			env:  []string{"KRB5CCNAME=FILE:{expired-cc}"},
			want: []string{"the ticket of alice@", "expired at", "run `kinit alice@"}},
		{name: "keytab without the principal", bed: testbed.ModeKerberos, noLogin: true,
			args: []string{"run", "-t", perJob, "-keytab", "{alice-keytab}", "-principal", "bob@{realm}"},
			want: []string{"has no key for bob@", "it holds alice@", "give one of those as the principal"}},
		{name: "keytab missing", bed: testbed.ModeKerberos, noLogin: true,
			args: []string{"run", "-t", app, "-keytab", "/nonexistent/alice.keytab", "-principal", "alice@{realm}"},
			want: []string{"cannot read keytab /nonexistent/alice.keytab: check the path"}},

		// Sessions.
		{name: "session unknown", args: []string{"run", "-t", "yarn-session", "-session", "badinput-nosuch-session"},
			want: []string{`no running session named "badinput-nosuch-session"; start one with ` + "`badgraph session start -name badinput-nosuch-session`"}},
		{name: "session id of no session", args: []string{"run", "-t", "yarn-session", "-session", "{finished}"},
			want: []string{"is not a Spindle session; list the sessions with `badgraph session list`"}},
		{name: "zero TaskManagers", args: []string{"session", "start", "-d", "-max-taskmanagers", "0"},
			want: []string{"-max-taskmanagers must be at least 1, got 0"}},
		{name: "negative TaskManagers", args: []string{"session", "start", "-d", "-min-taskmanagers", "-1"},
			want: []string{"-min-taskmanagers must be at least 0, got -1"}},
		{name: "cancel a job the session does not have", args: []string{"cancel", "-session", "{session}", "-job", "job-999"},
			want: []string{"-job job-999:", "has no such job", "run without -job to cancel its running one"}},
		{name: "session name started twice", args: []string{"session", "start", "-d", "-min-taskmanagers", "0", "-name", "{session}"},
			want: []string{"is already running", "stop it with `badgraph session stop -name badinput-session-"}},

		// The commands besides run.
		{name: "cancel unknown application", args: []string{"cancel", "-id", "{unknown}"},
			want: []string{"the ResourceManager does not know this application", "list -all shows those it knows"}},
		{name: "cancel finished application", args: []string{"cancel", "-id", "{finished}"},
			want: []string{"has ended (FINISHED, final status SUCCEEDED): it has no job to cancel"}},
	}
}

// TestBadInput runs the table on the plain and Kerberos beds. Each case
// exits non-zero with the problem and the fix in its message, and leaves
// no application running or waiting and no staging directory: those the
// RM lists under the case's unique name, those the output names, and the
// staging directories that appeared while the table ran.
func TestBadInput(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() == testbed.ModeHA {
		t.Skip("bad input is refused the same on every bed; proven on the plain and Kerberos beds")
	}
	// The programs first: building them is no part of the table's time.
	buildStart := time.Now()
	for _, prog := range []string{"badgraph", "wordcount", "probe"} {
		badProgram(t, prog)
	}
	t.Logf("built the programs in %s", time.Since(buildStart).Round(time.Millisecond))
	rm := rmClient(t, tb, "alice", "")
	fs := stagingClient(t, tb, "alice", nil)
	before := stagingEntries(t, fs)
	start := time.Now()

	var mu sync.Mutex
	ours := map[string]string{} // application id -> case
	t.Run("cases", func(t *testing.T) {
		// Several cases at once, whatever -parallel says (it defaults to
		// the 2 cores of CI): most wait on the cluster, not the CPU. Run
		// may be called from several goroutines. The slow ones (a timeout,
		// an application to start) go first; a bound on how many run keeps
		// a loaded machine and bed answering the others quickly.
		cases := badInputCases()
		slices.SortStableFunc(cases, func(a, b badCase) int {
			rank := func(c badCase) int {
				switch {
				case c.within > 0:
					return 0
				case c.submits || slices.ContainsFunc(c.args, func(a string) bool { return a == "{finished}" || a == "{session}" }):
					return 1
				}
				return 2
			}
			return rank(a) - rank(b)
		})
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, c := range cases {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				t.Run(c.name, func(t *testing.T) {
					if c.bed != "" && c.bed != tb.Mode() {
						t.Skipf("a %s bed case", c.bed)
					}
					ids := runBadCase(t, tb, rm, fs, c)
					mu.Lock()
					for _, id := range ids {
						ours[id] = c.name
					}
					mu.Unlock()
				})
			}()
		}
		wg.Wait()
	})
	t.Logf("the table took %s", time.Since(start).Round(time.Millisecond))

	// Every staging directory that appeared meanwhile and belongs to a
	// case is gone by now; others belong to other tests sharing the bed.
	ctx := testContext(t, time.Minute)
	for _, e := range stagingEntries(t, fs) {
		if slices.Contains(before, e) {
			continue
		}
		if c, ok := ours[e]; ok {
			t.Errorf("case %q left its staging directory %s", c, fs.StagingDir(e))
			continue
		}
		if id, err := yarn.ParseApplicationID(e); err == nil {
			if r, err := rm.ApplicationReport(ctx, id); err == nil && strings.HasPrefix(r.Name, "badinput-") {
				t.Errorf("application %s (%s) left its staging directory", e, r.Name)
				continue
			}
		}
		t.Logf("staging directory %s appeared meanwhile, of another test", e)
	}
}

var badAppIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// runBadCase runs c and checks it; it returns the ids of the
// applications the case made.
func runBadCase(t *testing.T, tb *testbed.TestBed, rm *yarn.RMClient, fs *hdfs.Client, c badCase) []string {
	// Lowercase: a session's name must be.
	name := fmt.Sprintf("badinput-%s-%d", regexp.MustCompile(`\W+`).ReplaceAllString(strings.ToLower(c.name), "-"), time.Now().UnixNano())
	home := t.TempDir()
	args, session := expandBadArgs(t, tb, c.args, home)
	switch {
	case len(args) > 0 && args[0] == "run":
		args = append([]string{"run", "-name", name}, args[1:]...)
	case len(args) > 1 && args[0] == "session" && args[1] == "start" && !slices.Contains(args, "-name"):
		args = append([]string{"session", "start", "-name", name}, args[2:]...)
	}
	if k := tb.Ready.Kerberos; k != nil && !c.noLogin {
		args = append(args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	conf := tb.Ready.ConfDir
	if c.conf != nil {
		conf = copyConf(t, tb.Ready.ConfDir)
		c.conf(t, conf)
	}
	env := []string{"HADOOP_USER_NAME=alice", "SPINDLE_HOME=" + home}
	if !c.noConf {
		env = append(env, "HADOOP_CONF_DIR="+conf)
	}
	if k := tb.Ready.Kerberos; k != nil {
		env = append(env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	for _, e := range c.env {
		if strings.Contains(e, "{expired-cc}") {
			e = strings.ReplaceAll(e, "{expired-cc}", expiredCCache(t, tb, home))
		}
		env = append(env, e)
	}
	code, stderr, all, took := runBadCommand(t, badProgram(t, c.prog), env, args)

	if code == 0 {
		t.Errorf("exit 0, want non-zero")
	}
	where := stderr
	if c.submits {
		where = all
	}
	for _, w := range c.want {
		if !strings.Contains(where, w) {
			t.Errorf("the message lacks %q", w)
		}
	}
	if c.within > 0 && took > c.within {
		t.Errorf("took %s, want under %s", took.Round(time.Millisecond), c.within)
	}

	// Nothing left behind: no application of the case's name waiting or
	// running (none at all when the mistake is found before submission),
	// and no staging directory of any application the case made.
	ctx := testContext(t, 3*time.Minute)
	reports, err := rm.Applications(ctx, yarn.ApplicationFilter{Name: name, Types: []string{"SPINDLE"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := badAppIDPattern.FindAllString(all, -1)
	for _, r := range reports {
		if r.Name != name {
			continue
		}
		ids = append(ids, r.ID.String())
		switch {
		case !c.submits:
			t.Errorf("application %s of the case's name was submitted (%s)", r.ID, r.State)
		case !r.State.IsFinal():
			t.Errorf("application %s is still %s", r.ID, r.State)
		}
	}
	if c.submits && len(reports) == 0 {
		t.Errorf("no application named %s: the case did not reach the JobManager", name)
	}
	if session != "" {
		// The session the case tried to start a second time is the only
		// one of its name.
		others, err := rm.Applications(ctx, yarn.ApplicationFilter{Name: session, Types: []string{"SPINDLE"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(others) != 1 {
			t.Errorf("%d applications named %s, want the 1 session started first", len(others), session)
		}
		// It runs until the cleanup stops it: its staging directory stays.
		for _, o := range others {
			ids = slices.DeleteFunc(ids, func(id string) bool { return id == o.ID.String() })
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if strings.HasSuffix(id, "_999999") {
			continue // the unknown application -id names
		}
		dir := fs.StagingDir(id)
		// The JobManager removes it as it unregisters and the client once
		// it saw the end; allow for a slow NameNode.
		deadline := time.Now().Add(time.Minute)
		for {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := fs.Stat(sctx, dir)
			cancel()
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("staging directory %s is still there (stat: %v)", dir, err)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return ids
}

func badProgram(t *testing.T, prog string) string {
	switch prog {
	case "", "badgraph":
		return badgraphBinary(t)
	case "wordcount":
		return wordcountBinary(t)
	case "probe":
		return deployProbe(t)
	}
	t.Fatalf("unknown program %q", prog)
	return ""
}

// runBadCommand runs bin with args and env added to this process's; it
// returns the exit code, stderr, both streams together and the run time.
func runBadCommand(t *testing.T, bin string, env, args []string) (int, string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(s string) bool {
		return strings.HasPrefix(s, "HADOOP_CONF_DIR=") || strings.HasPrefix(s, "KRB5CCNAME=")
	})
	cmd.Env = append(cmd.Env, env...)
	var all, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &all, io.MultiWriter(&all, &stderr)
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s did not finish: %v\n%s", filepath.Base(bin), err, all.String())
	}
	t.Logf("%s %s: exit %d in %s\n%s", filepath.Base(bin), strings.Join(args, " "), code, took.Round(time.Millisecond), all.String())
	return code, stderr.String(), all.String(), took
}

// expandBadArgs fills the placeholders of a case's arguments.
func expandBadArgs(t *testing.T, tb *testbed.TestBed, args []string, dir string) (out []string, session string) {
	t.Helper()
	out = make([]string, len(args))
	for i, a := range args {
		switch a {
		case "{fifo}":
			a = filepath.Join(dir, "pipe")
			if err := syscall.Mkfifo(a, 0o600); err != nil {
				t.Fatal(err)
			}
		case "{unreadable}":
			if os.Geteuid() == 0 {
				t.Skip("root reads files of any mode; the unit test TestCheckShip covers the message for others")
			}
			a = filepath.Join(dir, "unreadable")
			if err := os.WriteFile(a, []byte("x"), 0o000); err != nil {
				t.Fatal(err)
			}
		case "{arm64}":
			// The ELF header of a Linux arm64 executable is what the
			// client reads; the rest does not matter.
			b := make([]byte, 64)
			copy(b, elf.ELFMAG)
			b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
			binary.LittleEndian.PutUint16(b[16:], uint16(elf.ET_EXEC))
			binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_AARCH64))
			a = filepath.Join(dir, "program-linux-arm64")
			if err := os.WriteFile(a, b, 0o755); err != nil {
				t.Fatal(err)
			}
		case "{output}":
			a = outputDir(t)
		case "{unknown}":
			a = unknownApplication(t, tb)
		case "{finished}":
			a = finishedApplication(t, tb, dir)
		case "{session}":
			a = runningSession(t, tb, dir)
			session = a
		case "{alice-keytab}":
			a = tb.Ready.Kerberos.Users["alice"]
		}
		if tb.Ready.Kerberos != nil {
			a = strings.ReplaceAll(a, "{realm}", tb.Ready.Kerberos.Realm)
		}
		out[i] = a
	}
	return out, session
}

// runningSession starts a session of badgraph without TaskManagers, with
// home as SPINDLE_HOME, and returns its name; the test's cleanup stops it.
func runningSession(t *testing.T, tb *testbed.TestBed, home string) string {
	t.Helper()
	name := fmt.Sprintf("badinput-session-%d", time.Now().UnixNano())
	var login []string
	if k := tb.Ready.Kerberos; k != nil {
		login = []string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}
	}
	env := []string{"HADOOP_USER_NAME=alice", "SPINDLE_HOME=" + home, "HADOOP_CONF_DIR=" + tb.Ready.ConfDir}
	if k := tb.Ready.Kerberos; k != nil {
		env = append(env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	code, _, all, _ := runBadCommand(t, badgraphBinary(t), env, append([]string{"session", "start", "-d", "-min-taskmanagers", "0", "-name", name}, login...))
	if code != 0 {
		t.Fatalf("starting session %s: exit %d", name, code)
	}
	id, err := yarn.ParseApplicationID(badAppIDPattern.FindString(all))
	if err != nil {
		t.Fatalf("session start printed no application id: %v", err)
	}
	// Running, as a user's session is: a session stopped before its
	// JobManager registered is killed through the RM, and then (as of
	// this writing) its staging directory stays behind.
	rm := rmClient(t, tb, "alice", "")
	r, err := rm.WaitForState(testContext(t, 2*time.Minute), id, 250*time.Millisecond, func(r yarn.ApplicationReport) bool {
		return r.State == yarn.ApplicationRunning || r.State.IsFinal()
	})
	if err != nil || r.State != yarn.ApplicationRunning {
		t.Fatalf("session %s: %v %v", id, r.State, err)
	}
	t.Cleanup(func() {
		code, _, _, _ := runBadCommand(t, badgraphBinary(t), env, append([]string{"session", "stop", "-name", name}, login...))
		if code != 0 {
			t.Errorf("stopping session %s: exit %d", name, code)
		}
		if _, err := rm.WaitForCompletion(testContext(t, 2*time.Minute), id); err != nil {
			t.Errorf("session %s did not end: %v", id, err)
		}
	})
	return name
}

// unknownApplication is an application id of this cluster the RM never
// gave out.
func unknownApplication(t *testing.T, tb *testbed.TestBed) string {
	t.Helper()
	id, _, err := rmClient(t, tb, "alice", "").NewApplication(testContext(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("application_%d_999999", id.ClusterTimestamp)
}

// finishedApplication deploys badgraph's good graph in Application mode,
// with home as SPINDLE_HOME, and returns its id once it succeeded.
func finishedApplication(t *testing.T, tb *testbed.TestBed, home string) string {
	t.Helper()
	args := []string{"run", "-t", "yarn-application", "-name", fmt.Sprintf("badinput-finished-%d", time.Now().UnixNano())}
	if k := tb.Ready.Kerberos; k != nil {
		args = append(args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
	}
	env := []string{"HADOOP_USER_NAME=alice", "SPINDLE_HOME=" + home, "HADOOP_CONF_DIR=" + tb.Ready.ConfDir}
	if k := tb.Ready.Kerberos; k != nil {
		env = append(env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	code, _, all, _ := runBadCommand(t, badgraphBinary(t), env, args)
	id := badAppIDPattern.FindString(all)
	if code != 0 || id == "" {
		t.Fatalf("the good graph's application: exit %d, id %q", code, id)
	}
	return id
}

// copyConf copies the bed's configuration directory (site files, and on
// the Kerberos bed krb5.conf and keytabs) for a case to edit.
func copyConf(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// setProperty sets key to value in every site file of dir that has it.
func setProperty(t *testing.T, dir, key, value string) {
	t.Helper()
	re := regexp.MustCompile(`(<name>` + regexp.QuoteMeta(key) + `</name>\s*<value>)[^<]*(</value>)`)
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, "-site.xml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		nb := re.ReplaceAll(b, []byte("${1}"+value+"${2}"))
		if !bytes.Equal(b, nb) {
			found = true
			return os.WriteFile(p, nb, 0o600)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no site file in %s sets %s", dir, key)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// closedPort is a local TCP port nothing listens on (one just closed).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// stagingEntries lists alice's staging root.
func stagingEntries(t *testing.T, c *hdfs.Client) []string {
	t.Helper()
	entries, err := c.ReadDir(testContext(t, time.Minute), c.StagingRoot())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return names
}

// expiredCCache writes alice's ticket cache holding a real TGT from the
// bed's KDC whose end time lies in the past (the KDC issues none so short
// that it could expire during a test), as a cache kinit filled a day ago
// would hold, and returns its path.
func expiredCCache(t *testing.T, tb *testbed.TestBed, dir string) string {
	t.Helper()
	return aliceCCache(t, tb, filepath.Join(dir, "krb5cc_expired"), func(c *identitytest.Cred) {
		c.EndTime = time.Now().Add(-time.Hour)
		c.RenewTill = c.EndTime
	})
}

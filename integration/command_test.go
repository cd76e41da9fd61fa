//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestCommandArgvOnBed: containers started with a yarn.Command receive
// exactly their arguments from the real NodeManager's launch script:
// quotes, $, backticks, backslashes, newlines, non-ASCII, %, empty
// arguments, globs, shell syntax and the NodeManager's own markers as
// literal text, and LogDir, ClassPathSeparator and EnvVar expanded where
// put on purpose. One unmanaged application runs a container per row; each
// writes its arguments, NUL-terminated, into a file in its log directory,
// which the test reads from the bed's disk.
//
// Plain bed only: the quoting does not depend on authentication or on
// ResourceManager failover, and one application proves it.
func TestCommandArgvOnBed(t *testing.T) {
	tb := testbed.Get(t)
	if tb.Mode() != testbed.ModePlain {
		t.Skip("the NodeManager's quoting is the same in every mode; proven once, on the plain bed")
	}
	ctx := testContext(t, 3*time.Minute)
	_, am, appID := unmanagedAM(t, tb, "")
	nm, err := yarn.NewNMClient(yarn.NMConfig{NMTokens: am.NMToken})
	if err != nil {
		t.Fatal(err)
	}
	defer nm.Close()

	// echo is the program and its leading arguments: bash's printf writes
	// every further argument NUL-terminated to stdout, that is to
	// <LOG_DIR>/argv.
	echo := yarn.LiteralArgs("printf", `%s\0`)
	// A shell that gets its arguments through "$@", as dshell users write.
	shEcho := []yarn.Arg{yarn.Literal("sh"), yarn.Literal("-c"), yarn.Literal(`printf '%s\0' "$@" > "$0"`), yarn.LogFile("argv")}
	type want struct{ containerID, logDir string }
	rows := []struct {
		name    string
		program []yarn.Arg
		args    []yarn.Arg
		want    func(w want) []string // nil: the arguments' literal text
	}{
		{name: "quotes", args: yarn.LiteralArgs(`'`, `"`, `''`, `""`, `'"'"'`, `it's`, `say "hi"`, `\'`, `\"`)},
		{name: "dollar and backticks", args: yarn.LiteralArgs("$HOME", "${HOME}", "$(id)", "`id`", "$", "$$", "$'x'", "$1", "$@", "$CONTAINER_ID", `"$CONTAINER_ID"`)},
		{name: "backslashes and newlines", args: yarn.LiteralArgs(`\`, `\\`, `\n`, "a\nb", "\n", "\\\n", "\r\n", `a\`, `\$HOME`)},
		{name: "non-ASCII and percent", args: yarn.LiteralArgs("ünïcødé ✓ 日本語 🚀", "%", "%PATH%", "%s", "%1", "100%", "%%")},
		{name: "empty and blanks", args: yarn.LiteralArgs("", " ", "  two  spaces  ", "\t", "a b", "")},
		{name: "globs and braces", args: yarn.LiteralArgs("*", "?", "[a]", "*.sh", "~", "~root", "{a,b}", "{}", "{", "}", "{{", "}}", "{{{", "}}}")},
		{name: "NodeManager markers", args: yarn.LiteralArgs("<LOG_DIR>", "<CPS>", "<ADD_OPENS>", "<<LOG_DIR>>", "a<b>c", "{{CONTAINER_ID}}", "{{ HOME }}", "<")},
		{name: "shell syntax", args: yarn.LiteralArgs("!", "!!", "#", "a#b", ";", "&&", "|", "2>&1", "(", ")", "-n", "--", "A=b", "exit 3", `sh -c 'test "$(cat f)" = x'`)},
		{name: "through sh -c", program: shEcho, args: yarn.LiteralArgs(`it's "$HOME" \ `+"`id`", "", "*", "{{HOME}}", "<LOG_DIR>")},
		{
			name: "expansions on purpose",
			args: []yarn.Arg{
				yarn.EnvVar("CONTAINER_ID").Arg(),
				yarn.LogDir.Arg(),
				yarn.LogFile("x.log"),
				yarn.Literal("a.jar").Expand(yarn.ClassPathSeparator).Append("b.jar"),
				yarn.EnvVar("SPINDLE_SPACED").Arg(),
				yarn.Literal("[").Expand(yarn.EnvVar("SPINDLE_SPACED")).Append("]"),
				yarn.EnvVar("SPINDLE_UNSET").Arg(),
				yarn.Literal("{{CONTAINER_ID}} <LOG_DIR> $CONTAINER_ID"),
			},
			want: func(w want) []string {
				return []string{w.containerID, w.logDir, w.logDir + "/x.log", "a.jar:b.jar", "a  b *", "[a  b *]", "", "{{CONTAINER_ID}} <LOG_DIR> $CONTAINER_ID"}
			},
		},
	}

	ask := []yarn.ResourceRequest{{Priority: 1, ResourceName: "*", Resource: yarn.Resource{MemoryMB: 64, VCores: 1}, NumContainers: int32(len(rows))}}
	req := yarn.AllocateRequest{Asks: ask}
	var got []yarn.Container
	for len(got) < len(rows) {
		resp, err := am.Allocate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req = yarn.AllocateRequest{}
		got = append(got, resp.Allocated...)
		time.Sleep(50 * time.Millisecond)
	}
	started := time.Now()
	rowOf := map[yarn.ContainerID]int{}
	for i, row := range rows {
		c := got[i]
		program := row.program
		if program == nil {
			program = echo
		}
		cmd := yarn.Command{Args: append(append([]yarn.Arg(nil), program...), row.args...), Stderr: yarn.LogFile("stderr")}
		if row.program == nil {
			cmd.Stdout = yarn.LogFile("argv")
		}
		line, err := cmd.Line()
		if err != nil {
			t.Fatalf("%s: %v", row.name, err)
		}
		launch := yarn.ContainerLaunchContext{
			Environment: map[string]string{"SPINDLE_SPACED": "a  b *"},
			Commands:    []string{line},
		}
		if err := nm.Start(ctx, c, launch); err != nil {
			t.Fatalf("%s: starting %s: %v", row.name, c.ID, err)
		}
		rowOf[c.ID] = i
	}
	if len(got) > len(rows) {
		extra := yarn.AllocateRequest{}
		for _, c := range got[len(rows):] {
			extra.Release = append(extra.Release, c.ID)
		}
		if _, err := am.Allocate(ctx, extra); err != nil {
			t.Fatal(err)
		}
	}

	exit := map[yarn.ContainerID]yarn.ContainerStatus{}
	for len(exit) < len(rows) {
		resp, err := am.Allocate(ctx, yarn.AllocateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.Completed {
			if _, ours := rowOf[s.ID]; ours {
				exit[s.ID] = s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d containers ran and completed in %v", len(rows), time.Since(started).Round(time.Millisecond))

	logDirs := map[string]string{}
	for _, d := range containerDirs(tb, appID.String()) {
		logDirs[filepath.Base(d)] = d
	}
	for id, i := range rowOf {
		row := rows[i]
		if s := exit[id]; s.ExitStatus != 0 {
			t.Errorf("%s: container %s exited %d: %s", row.name, id, s.ExitStatus, s.Diagnostics)
			continue
		}
		dir := logDirs[id.String()]
		if dir == "" {
			t.Errorf("%s: no log directory of %s on the bed", row.name, id)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, "argv"))
		if err != nil {
			t.Errorf("%s: %v", row.name, err)
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if args[len(args)-1] != "" {
			t.Errorf("%s: argv %q does not end in NUL", row.name, raw)
			continue
		}
		args = args[:len(args)-1]
		var wantArgs []string
		if row.want != nil {
			wantArgs = row.want(want{containerID: id.String(), logDir: dir})
		} else {
			for _, a := range row.args {
				wantArgs = append(wantArgs, a.String())
			}
		}
		if diff := cmp.Diff(wantArgs, args); diff != "" {
			t.Errorf("%s: container %s received other arguments (-want +got):\n%s", row.name, id, diff)
		}
	}
	if err := am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded}); err != nil {
		t.Fatal(err)
	}
}

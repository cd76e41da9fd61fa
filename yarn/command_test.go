package yarn

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// trickyArgs are arguments that a command passed to the NodeManager
// without care loses or changes: shell syntax of either bash layer, the
// NodeManager's markers, and characters bash treats specially.
var trickyArgs = []string{
	"plain", "", " ", "  two  spaces  ", "\t", "a b",
	`'`, `"`, `''`, `""`, `'"'"'`, `"'"`, `it's`, `say "hi"`,
	"$HOME", "${HOME}", "$(id)", "`id`", "$", "$$", "$'x'", `$"x"`, "$1", "$@", "$*",
	`\`, `\\`, `\n`, `\"`, `\'`, `\$HOME`, "a\\", "\\\n",
	"a\nb", "\n", "\r\n", "\x01\x7f",
	"ünïcødé ✓ 日本語 🚀",
	"%", "%PATH%", "100%", "%s", "%1",
	"*", "?", "[a]", "*.go", "~", "~root", "{a,b}", "{", "}", "{}", "{{", "}}", "{{{", "}}}", "{{HOME}}", "{{ HOME }}",
	"<LOG_DIR>", "<CPS>", "<ADD_OPENS>", "<", ">", "<<", "<LOG_DIR", "a<b>c", "<<LOG_DIR>>",
	"!", "!!", "!$", "#", "a#b", "# comment", ";", "&&", "||", "|", "&", "2>&1", "> x", "(", ")",
	"-n", "-e", "--", "=", "A=b", "time", "if", "exec", "exit 3",
	`sh -c 'test "$(cat f)" = x'`, `test "$(cat f)" = x`,
}

// launchScript is the launch_container.sh a Linux NodeManager (Hadoop 3.5)
// writes for commands: in each, its markers replaced in ContainerLaunch's
// order (Java's String.replace, like strings.ReplaceAll, replaces
// leftmost non-overlapping matches), then all joined with spaces inside
// exec /bin/bash -c "…", after the exported environment.
func launchScript(logDir string, env map[string]string, commands ...string) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n\n")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("export " + k + "=\"" + env[k] + "\"\n")
	}
	expanded := make([]string, len(commands))
	for i, c := range commands {
		c = strings.ReplaceAll(c, "<LOG_DIR>", logDir)
		c = strings.ReplaceAll(c, "<CPS>", ":")
		c = strings.ReplaceAll(c, "<ADD_OPENS>", "")
		c = strings.ReplaceAll(c, "{{", "$")
		c = strings.ReplaceAll(c, "}}", "")
		expanded[i] = c
	}
	b.WriteString("exec /bin/bash -c \"" + strings.Join(expanded, " ") + "\"\n")
	return b.String()
}

// echoCommand is a Command whose program writes each of its arguments,
// after a first "argv:", NUL-terminated into argv in the log directory.
func echoCommand(args ...Arg) Command {
	return Command{
		Args:   append(LiteralArgs("printf", `%s\0`, "argv:"), args...),
		Stdout: LogFile("argv"),
	}
}

// runLaunchScript runs c as a NodeManager would, in a log directory whose
// path holds a space, and returns the arguments the program received.
func runLaunchScript(t testing.TB, c Command, env map[string]string) (args []string, logDir string) {
	t.Helper()
	line, err := c.Line()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logDir = filepath.Join(dir, "log dir")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "launch_container.sh")
	if err := os.WriteFile(script, []byte(launchScript(logDir, env, line)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/bash", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent-home"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("launch script failed: %v\n%s\nline: %s", err, out, line)
	}
	out, err := os.ReadFile(filepath.Join(logDir, "argv"))
	if err != nil {
		t.Fatalf("the program wrote no argv: %v\nline: %s", err, line)
	}
	got := strings.Split(string(out), "\x00")
	if len(got) < 2 || got[0] != "argv:" || got[len(got)-1] != "" {
		t.Fatalf("argv file %q is not NUL-terminated arguments after argv:\nline: %s", out, line)
	}
	return got[1 : len(got)-1], logDir
}

// TestCommandLiteralArgs: every tricky argument reaches the program
// exactly, through the NodeManager's replacements and both bash layers,
// alone and all together in one command.
func TestCommandLiteralArgs(t *testing.T) {
	for _, arg := range trickyArgs {
		got, _ := runLaunchScript(t, echoCommand(Literal(arg)), nil)
		if diff := cmp.Diff([]string{arg}, got); diff != "" {
			t.Errorf("argument %q arrived changed (-want +got):\n%s", arg, diff)
		}
	}
	got, _ := runLaunchScript(t, echoCommand(LiteralArgs(trickyArgs...)...), nil)
	if diff := cmp.Diff(trickyArgs, got); diff != "" {
		t.Errorf("all arguments in one command (-want +got):\n%s", diff)
	}
}

// TestCommandExpansions: expansions put on purpose reach the program
// expanded, each as one argument however many spaces or glob characters
// the value holds, while the same markers in literal text stay literal.
func TestCommandExpansions(t *testing.T) {
	env := map[string]string{"SPACED": "a  b * ?", "JAVA_HOME": "/opt/java home"}
	c := echoCommand(
		EnvVar("SPACED").Arg(),
		EnvVar("JAVA_HOME").Arg().Append("/bin/java"),
		EnvVar("UNSET_VARIABLE").Arg(),
		LogDir.Arg(),
		LogFile("x.log"),
		Literal("-Dlog.dir=").Expand(LogDir).Append("/{{SPACED}}"),
		Literal("a.jar").Expand(ClassPathSeparator).Append("b.jar").Expand(ClassPathSeparator).Expand(EnvVar("SPACED")),
		Literal("{").Expand(EnvVar("SPACED")).Append("}"),
		Literal("<").Expand(LogDir).Append(">"),
		Literal("{{SPACED}} <LOG_DIR> <CPS> $SPACED"),
		Arg{},
	)
	got, logDir := runLaunchScript(t, c, env)
	want := []string{
		"a  b * ?",
		"/opt/java home/bin/java",
		"",
		logDir,
		logDir + "/x.log",
		"-Dlog.dir=" + logDir + "/{{SPACED}}",
		"a.jar:b.jar:a  b * ?",
		"{a  b * ?}",
		"<" + logDir + ">",
		"{{SPACED}} <LOG_DIR> <CPS> $SPACED",
		"",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestCommandLineText pins the text Line writes, as the doc of Command
// describes it.
func TestCommandLineText(t *testing.T) {
	tests := []struct {
		c    Command
		want string
	}{
		{Command{Args: LiteralArgs("/bin/true")}, `'/bin/true'`},
		{Command{Args: LiteralArgs("sh", "-c", `test "$(cat f)" = x`), Stdout: LogFile("stdout"), Stderr: LogFile("stderr")},
			`'sh' '-c' 'test \"\$(cat f)\" = x' 1>\"<LOG_DIR>\"'/stdout' 2>\"<LOG_DIR>\"'/stderr'`},
		{Command{Args: LiteralArgs("echo", "it's", "", `a\b`, "`x`")}, `'echo' 'it'\\''s' '' 'a\\b' '\` + "`" + `x\` + "`" + `'`},
		{Command{Args: LiteralArgs("<LOG_DIR>", "{{X}}", "}}}")}, `'<''LOG_DIR>' '{''{X}''}' '}''}''}'`},
		{Command{Args: []Arg{EnvVar("JAVA_HOME").Arg().Append("/bin/java"), Literal("-cp"), Literal("a").Expand(ClassPathSeparator).Append("b")}},
			`\"\{{JAVA_HOME}}\"'/bin/java' '-cp' 'a'\"<CPS>\"'b'`},
	}
	for _, tt := range tests {
		got, err := tt.c.Line()
		if err != nil {
			t.Errorf("%v: %v", tt.c.Args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.c.Args, got, tt.want)
		}
	}
}

// TestCommandLineRefuses: what no argument can carry, or what the
// NodeManager would alter, is refused with the field and the reason.
func TestCommandLineRefuses(t *testing.T) {
	tests := []struct {
		c    Command
		want []string // in the error text
	}{
		{Command{}, []string{"Command.Args", "empty"}},
		{Command{Args: LiteralArgs("echo", "a\x00b")}, []string{"Command.Args[1]", "NUL"}},
		{Command{Args: LiteralArgs("echo", "\xff")}, []string{"Command.Args[1]", "UTF-8"}},
		{Command{Args: []Arg{Literal("echo"), EnvVar("1X").Arg()}}, []string{"Command.Args[1]", "{{1X}}"}},
		{Command{Args: []Arg{Literal("echo"), EnvVar("A-B").Arg()}}, []string{"Command.Args[1]", "{{A-B}}"}},
		{Command{Args: []Arg{Literal("echo"), EnvVar("").Arg()}}, []string{"Command.Args[1]"}},
		{Command{Args: []Arg{Literal("echo"), Expansion("$(rm -rf /)").Arg()}}, []string{"Command.Args[1]", "LogDir"}},
		{Command{Args: []Arg{Literal("java"), Expansion("<ADD_OPENS>").Arg()}}, []string{"Command.Args[1]"}},
		{Command{Args: LiteralArgs("echo"), Stderr: Literal("\xfe")}, []string{"Command.Stderr", "UTF-8"}},
	}
	for _, tt := range tests {
		line, err := tt.c.Line()
		if err == nil {
			t.Errorf("%v: no error, line %s", tt.c.Args, line)
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%v: %T is no *FieldError", tt.c.Args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tt.c.Args, err, w)
			}
		}
	}
}

// TestArgValues: Append and Expand never change the Arg they extend, so
// one prefix can start several arguments.
func TestArgValues(t *testing.T) {
	base := Literal("a").Append("b")
	x, y := base.Append("x"), base.Expand(LogDir)
	if base.String() != "ab" || x.String() != "abx" || y.String() != "ab<LOG_DIR>" {
		t.Errorf("base %q, x %q, y %q; want ab, abx, ab<LOG_DIR>", base, x, y)
	}
}

// FuzzCommandLine: any arguments Line accepts reach the program exactly
// through the NodeManager's replacements and real bash. The input is the
// arguments separated by NUL bytes. Each execution starts two bash
// processes (about 180 a second here), hence the smaller budget.
//
// fuzz budget: 2000x
func FuzzCommandLine(f *testing.F) {
	f.Add(strings.Join(trickyArgs, "\x00"))
	for _, a := range trickyArgs {
		f.Add(a)
	}
	f.Add("{\x00{")
	f.Add("'\\''\x00$\x00`")
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		c := echoCommand(LiteralArgs(args...)...)
		if _, err := c.Line(); err != nil {
			if utf8Valid(args) {
				t.Fatalf("Line refused valid arguments %q: %v", args, err)
			}
			return
		}
		got, _ := runLaunchScript(t, c, nil)
		if diff := cmp.Diff(args, got); diff != "" {
			t.Fatalf("arguments %q arrived changed (-want +got):\n%s", args, diff)
		}
	})
}

func utf8Valid(args []string) bool {
	for _, a := range args {
		if checkLiteral(a) != nil {
			return false
		}
	}
	return true
}

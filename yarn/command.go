package yarn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A Command is a container's command line given as a program and its
// arguments: Line turns it into the text for ContainerLaunchContext.Commands
// such that the program receives exactly these arguments, whatever
// characters they hold, with the NodeManager's own expansions (LogDir,
// ClassPathSeparator, EnvVar) only where the caller put them.
//
// # Why the text needs care
//
// A NodeManager on Linux (Hadoop 3.5, ContainerLaunch and its
// UnixShellScriptBuilder) makes the last line of the container's
// launch_container.sh from ContainerLaunchContext.Commands in three steps,
// each of which changes text:
//
//  1. In every element it replaces, in this order and wherever they
//     occur, "<LOG_DIR>" by the container's log directory, "<CPS>" by ":",
//     "<ADD_OPENS>" by the JVM's --add-opens flags (or by nothing before
//     Java 17), "{{" by "$" and "}}" by nothing. No other text is touched;
//     "%VAR%" is only produced, from "{{" and "}}", by a Windows
//     NodeManager, which this type does not target.
//  2. It joins the elements with single spaces and puts them, without
//     escaping anything, between the double quotes of an exec /bin/bash -c
//     line. The outer bash, running the script, reads the joined text as
//     one double-quoted string, where $ ` " and \ are special: $VAR, ${…},
//     $(…) and `…` are expanded by this outer shell, a " ends the string
//     early (the "unexpected EOF while looking for matching quote" of a
//     command holding one), and \ is removed before $ ` " \ and newline (a
//     backslash-newline pair vanishes). Every other character, newline and
//     non-ASCII included, passes through unchanged.
//  3. The inner bash parses what the outer one produced as a command line:
//     quotes, expansions, globbing, word splitting, redirections.
//
// # What Line writes
//
// Line works from the inside out. Each argument is one word for the inner
// bash, the words separated by single spaces:
//
//   - Literal text is written in single quotes, inside which bash takes
//     every character as it is; a single quote in it closes the quotes,
//     is written escaped and reopens them. Every literal piece is quoted,
//     even a plain one, so that a first argument such as "time", "if" or
//     "A=b" is a program name and not a shell keyword or an assignment.
//   - To hide literal text from step 1, an empty single-quoted string,
//     which the inner bash drops, is put after every "<", between two "{"
//     and between two "}", so no marker, present or future, of the form
//     <NAME>, {{ or }} is left for the NodeManager to replace.
//   - An expansion is written in double quotes for the inner bash, so that
//     it stays one argument whatever it expands to, spaces included. For
//     EnvVar("X") Line writes {{X}} after a backslash, which the
//     NodeManager turns into \$X and the outer bash into $X, so that the
//     inner bash expands X from the container's environment (the launch
//     script exports every variable it sets), or to the empty string when
//     X is unset.
//   - Finally, for step 2, a backslash is put before every $ ` " and \ of
//     the literal parts of the result (and before the " around
//     expansions), which the outer bash removes again.
//
// Stdout and Stderr, when set, are appended as " 1>" and " 2>" followed by
// their word, written the same way. For example:
//
//	argument        for the inner bash    in Line's result
//	it's            'it'\''s'             'it'\\''s'
//	say "$HOME"     'say "$HOME"'         'say \"\$HOME\"'
//	<LOG_DIR>       '<''LOG_DIR>'         '<''LOG_DIR>'
//	{{X}}           '{''{X}''}'           '{''{X}''}'
//	(empty)         ''                    ''
//	LogDir          "<LOG_DIR>"           \"<LOG_DIR>\"
//	EnvVar("X")     "$X"                  \"\{{X}}\"
//
// The NodeManager's log directory is inserted as it is, in step 1: like
// Hadoop's own commands, a Command assumes the cluster's log directories
// hold none of $ ` " \ (their spaces, if any, are safe).
//
// Put the line as the only element of ContainerLaunchContext.Commands;
// further elements would be joined after it with a space, unescaped.
type Command struct {
	// Args are the program and its arguments, at least one. Each reaches
	// the program as exactly one argument; the program is looked up as
	// bash looks up a command (a bash builtin first, then PATH, unless it
	// holds a /).
	Args []Arg
	// Stdout and Stderr are the files the process's standard output and
	// error are written to, truncated first, typically LogFile("stdout")
	// and LogFile("stderr"). The zero Arg leaves the stream where the
	// launch script points it (on Hadoop 3.5, prelaunch.out and
	// prelaunch.err in the log directory).
	Stdout, Stderr Arg
}

// An Arg is one argument of a container's Command: literal text and, where
// the caller adds them, NodeManager expansions, concatenated into a single
// argument. The zero Arg is the empty argument (or, as Command.Stdout and
// Command.Stderr, no redirection). Args are values: Append and Expand
// return a new Arg and never change the one they are called on.
type Arg struct{ parts []argPart }

type argPart struct {
	text      string
	expansion bool // text is an Expansion, not literal
}

// Literal is an argument that reaches the program exactly as s.
func Literal(s string) Arg { return Arg{parts: []argPart{{text: s}}} }

// LiteralArgs is argv as Args, each reaching the program exactly as given:
// Command{Args: LiteralArgs("sh", "-c", script)}.
func LiteralArgs(argv ...string) []Arg {
	args := make([]Arg, len(argv))
	for i, s := range argv {
		args[i] = Literal(s)
	}
	return args
}

// LogFile is the argument naming the file name in the container's log
// directory, where the NodeManager serves it from and, with log
// aggregation, collects it: LogDir followed by "/" and name.
func LogFile(name string) Arg { return LogDir.Arg().Append("/" + name) }

// Append returns a followed by the literal text s.
func (a Arg) Append(s string) Arg {
	return Arg{parts: append(slices.Clip(a.parts), argPart{text: s})}
}

// Expand returns a followed by the NodeManager expansion e.
func (a Arg) Expand(e Expansion) Arg {
	return Arg{parts: append(slices.Clip(a.parts), argPart{text: string(e), expansion: true})}
}

// String gives the argument with its expansions in the NodeManager's
// notation, e.g. "-Dlog.dir=<LOG_DIR>", for messages.
func (a Arg) String() string {
	var b strings.Builder
	for _, p := range a.parts {
		b.WriteString(p.text)
	}
	return b.String()
}

// An Expansion is text the NodeManager replaces when it writes a
// container's launch script: LogDir, ClassPathSeparator, or EnvVar(name).
// Other values are refused by Command.Line. The NodeManager's
// "<ADD_OPENS>" is not offered: it stands for several JVM arguments or for
// none, which no single argument can be.
type Expansion string

const (
	// LogDir is the container's log directory on its node ("<LOG_DIR>"),
	// the place for files a user reads through the NodeManager or its log
	// aggregation; see LogFile.
	LogDir Expansion = "<LOG_DIR>"
	// ClassPathSeparator is the node's class path separator ("<CPS>"),
	// ":" on Linux.
	ClassPathSeparator Expansion = "<CPS>"
)

// EnvVar is the value of the environment variable name in the container
// (YARN's "{{name}}"), such as JAVA_HOME, CONTAINER_ID or one set in
// ContainerLaunchContext.Environment: the empty string when unset. The name
// must be a shell variable name: letters, digits and _, not starting with a
// digit.
func EnvVar(name string) Expansion { return Expansion("{{" + name + "}}") }

// Arg is the argument made of e alone.
func (e Expansion) Arg() Arg { return Arg{}.Expand(e) }

// Line is c's text for ContainerLaunchContext.Commands, written as the doc
// of Command explains. It returns *FieldError values when c has no
// arguments or an argument cannot be passed as given: a NUL byte (which no
// argument can carry), text that is not valid UTF-8 (which the
// NodeManager, decoding the command as a protobuf string, would replace),
// or an Expansion other than LogDir, ClassPathSeparator and EnvVar with a
// valid name.
func (c Command) Line() (string, error) {
	var errs []error
	if len(c.Args) == 0 {
		errs = append(errs, &FieldError{Field: "Command.Args", Problem: "is empty: give at least the program"})
	}
	var b strings.Builder
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := writeArg(&b, a, fmt.Sprintf("Command.Args[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range []struct {
		field, op string
		arg       Arg
	}{{"Command.Stdout", " 1>", c.Stdout}, {"Command.Stderr", " 2>", c.Stderr}} {
		if len(r.arg.parts) == 0 {
			continue
		}
		b.WriteString(r.op)
		if err := writeArg(&b, r.arg, r.field); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return b.String(), nil
}

// writeArg writes a as one word, as Command's doc describes.
func writeArg(b *strings.Builder, a Arg, field string) error {
	if len(a.parts) == 0 {
		b.WriteString("''")
		return nil
	}
	for _, p := range a.parts {
		if !p.expansion {
			if err := checkLiteral(p.text); err != nil {
				return &FieldError{Field: field, Problem: fmt.Sprintf("%q %s", a.String(), err)}
			}
			writeLiteral(b, p.text)
			continue
		}
		raw, ok := expansionText(Expansion(p.text))
		if !ok {
			return &FieldError{Field: field, Problem: fmt.Sprintf("holds the expansion %q: use LogDir, ClassPathSeparator or EnvVar with a variable name (letters, digits, _)", p.text)}
		}
		b.WriteString(`\"`)
		b.WriteString(raw)
		b.WriteString(`\"`)
	}
	return nil
}

func checkLiteral(s string) error {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return errors.New("holds a NUL byte, which no program argument can carry")
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8, which the NodeManager would alter (it decodes the command as a protobuf string)")
	}
	return nil
}

// writeLiteral writes s single-quoted for the inner bash, with the
// NodeManager's markers broken up and escaped for the outer bash's double
// quotes.
func writeLiteral(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			// '\'' for the inner bash; its \ is doubled for the outer one.
			b.WriteString(`'\\''`)
		case '$', '`', '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '<':
			b.WriteString("<''")
		case '{', '}':
			b.WriteByte(c)
			if i+1 < len(s) && s[i+1] == c {
				b.WriteString("''")
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

// expansionText is what stands for e between the inner bash's double
// quotes, before the NodeManager's replacements, and whether e is one
// Command supports.
func expansionText(e Expansion) (string, bool) {
	switch e {
	case LogDir, ClassPathSeparator:
		return string(e), true
	}
	name, hasPrefix := strings.CutPrefix(string(e), "{{")
	name, hasSuffix := strings.CutSuffix(name, "}}")
	if !hasPrefix || !hasSuffix || !isShellName(name) {
		return "", false
	}
	// The NodeManager turns "{{" into "$" and drops "}}"; the \ keeps
	// the outer bash from expanding the variable, so the inner one does,
	// inside its double quotes.
	return `\{{` + name + `}}`, true
}

func isShellName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

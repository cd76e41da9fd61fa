package yarn_test

import (
	"fmt"

	"github.com/spindle-yarn/spindle/yarn"
)

// A shell script as one argument, passed untouched through the
// NodeManager's bash -c "…", with output into the container's log
// directory.
func ExampleCommand() {
	line, err := yarn.Command{
		Args:   yarn.LiteralArgs("sh", "-c", `test "$(cat f)" = x`),
		Stdout: yarn.LogFile("stdout"),
		Stderr: yarn.LogFile("stderr"),
	}.Line()
	if err != nil {
		panic(err)
	}
	launch := yarn.ContainerLaunchContext{Commands: []string{line}}
	fmt.Println(launch.Commands[0])
	// Output:
	// 'sh' '-c' 'test \"\$(cat f)\" = x' 1>\"<LOG_DIR>\"'/stdout' 2>\"<LOG_DIR>\"'/stderr'
}

// A Java program with the NodeManager's expansions put on purpose: the
// container's JAVA_HOME and CLASSPATH, the class path separator and the log
// directory, each kept one argument.
func ExampleExpansion() {
	line, err := yarn.Command{
		Args: []yarn.Arg{
			yarn.EnvVar("JAVA_HOME").Arg().Append("/bin/java"),
			yarn.Literal("-Dapp.log.dir=").Expand(yarn.LogDir),
			yarn.Literal("-cp"),
			yarn.Literal("app.jar").Expand(yarn.ClassPathSeparator).Expand(yarn.EnvVar("CLASSPATH")),
			yarn.Literal("example.Main"),
			yarn.Literal("--greeting=it's $5"),
		},
		Stdout: yarn.LogFile("stdout"),
	}.Line()
	if err != nil {
		panic(err)
	}
	fmt.Println(line)
	// Output:
	// \"\{{JAVA_HOME}}\"'/bin/java' '-Dapp.log.dir='\"<LOG_DIR>\" '-cp' 'app.jar'\"<CPS>\"\"\{{CLASSPATH}}\" 'example.Main' '--greeting=it'\\''s \$5' 1>\"<LOG_DIR>\"'/stdout'
}

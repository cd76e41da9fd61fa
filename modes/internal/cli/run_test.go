package cli

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// parse parses args as a program's run command would: the run flags and
// the program's own on one FlagSet.
func parse(args ...string) (*RunFlags, *string, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := NewRunFlags(fs)
	input := fs.String("input", "", "program flag")
	err := fs.Parse(args)
	return f, input, err
}

func TestRunFlagsParseWithProgramFlags(t *testing.T) {
	f, input, err := parse("-t", "yarn-application", "-d", "-input", "hdfs:///in", "-parallelism", "4",
		"-D", "a=b", "-D", "c=d=e", "-D", "empty=", "-ship", "x.txt", "-ship", "dir", "-tags", "a, b,,c",
		"-jm-memory", "300", "-tm-memory", "1024", "-tm-vcores", "2", "-slots", "3", "-timeout", "90s", "-queue", "q1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	want := &RunFlags{
		Target: "yarn-application", Detached: true, Queue: "q1", Tags: []string{"a", "b", "c"},
		JobManagerMemoryMB: 300, TaskManagerMemoryMB: 1024, TaskManagerVCores: 2, Slots: 3, Parallelism: 4,
		Ship: []string{"x.txt", "dir"}, Config: map[string]string{"a": "b", "c": "d=e", "empty": ""}, Timeout: 90 * time.Second,
	}
	if d := cmp.Diff(want, f); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	if *input != "hdfs:///in" {
		t.Errorf("program flag -input = %q", *input)
	}
	if f.Mode() != "application" {
		t.Errorf("Mode() = %q", f.Mode())
	}
}

func TestRunFlagsDefaults(t *testing.T) {
	f, _, err := parse("-t", "yarn-per-job")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	want := &RunFlags{Target: "yarn-per-job", Queue: "default", JobManagerMemoryMB: 256, TaskManagerMemoryMB: 512,
		TaskManagerVCores: 1, Slots: 2, Parallelism: 2, Config: map[string]string{}}
	if d := cmp.Diff(want, f); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	if f.Mode() != "per-job" {
		t.Errorf("Mode() = %q", f.Mode())
	}
}

func TestRunFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// parseErr is a part of the Parse error; else validateErr of
		// Validate's.
		parseErr, validateErr string
	}{
		{name: "D without =", args: []string{"-t", "yarn-application", "-D", "foo"}, parseErr: `-D: not key=value; write -D foo=VALUE`},
		{name: "D empty key", args: []string{"-t", "yarn-application", "-D", "=v"}, parseErr: `-D: the key before '=' is empty; write -D key=value`},
		{name: "ship empty", args: []string{"-ship", ""}, parseErr: `-ship: empty path`},
		{name: "slots not a number", args: []string{"-slots", "two"}, parseErr: `invalid value "two" for flag -slots`},
		{name: "unknown flag", args: []string{"-bogus"}, parseErr: `flag provided but not defined: -bogus`},
		{name: "no target", args: nil, validateErr: "-t is required: -t yarn-application, -t yarn-per-job or -t yarn-session -session NAME"},
		{name: "unknown target", args: []string{"-t", "yarn-cluster"}, validateErr: `-t "yarn-cluster" is not a deployment target; use -t yarn-application or -t yarn-per-job`},
		{name: "session without -session", args: []string{"-t", "yarn-session"}, validateErr: "-t yarn-session needs -session NAME"},
		{name: "-session without yarn-session", args: []string{"-t", "yarn-per-job", "-session", "a"}, validateErr: "-session is for -t yarn-session"},
		{name: "zero slots", args: []string{"-t", "yarn-per-job", "-slots", "0"}, validateErr: "-slots must be at least 1, got 0"},
		{name: "zero parallelism", args: []string{"-t", "yarn-per-job", "-parallelism", "0"}, validateErr: "-parallelism must be at least 1, got 0"},
		{name: "negative jm memory", args: []string{"-t", "yarn-per-job", "-jm-memory", "-5"}, validateErr: "-jm-memory must be at least 1 (MB), got -5"},
		{name: "zero tm memory", args: []string{"-t", "yarn-per-job", "-tm-memory", "0"}, validateErr: "-tm-memory must be at least 1 (MB), got 0"},
		{name: "zero tm vcores", args: []string{"-t", "yarn-per-job", "-tm-vcores", "0"}, validateErr: "-tm-vcores must be at least 1, got 0"},
		{name: "empty queue", args: []string{"-t", "yarn-per-job", "-queue", " "}, validateErr: "-queue is empty"},
		{name: "keytab alone", args: []string{"-t", "yarn-per-job", "-keytab", "a.keytab"}, validateErr: "-keytab needs -principal"},
		{name: "principal alone", args: []string{"-t", "yarn-per-job", "-principal", "alice"}, validateErr: "-principal needs -keytab"},
		{name: "negative timeout", args: []string{"-t", "yarn-per-job", "-timeout", "-1s"}, validateErr: "-timeout must not be negative"},
		{name: "long tag", args: []string{"-t", "yarn-per-job", "-tags", strings.Repeat("x", 101)}, validateErr: "-tags: "},
		{name: "acl with two spaces", args: []string{"-t", "yarn-per-job", "-modify-acl", "alice bob ops"}, validateErr: `-modify-acl "alice bob ops" has more than one space`},
		{name: "acl on two lines", args: []string{"-t", "yarn-per-job", "-view-acl", "alice\nbob"}, validateErr: `-view-acl "alice\nbob": an ACL is users, a space, then groups`},
		{name: "access-fs with a path", args: []string{"-access-fs", "hdfs://nn:8020/data"}, parseErr: `is not a file system: write hdfs://host:port or hdfs://NAMESERVICE, without a path`},
		{name: "access-fs not hdfs", args: []string{"-access-fs", "s3a://bucket"}, parseErr: `is not a file system`},
		{name: "too many tags", args: []string{"-t", "yarn-per-job", "-tags", "a,b,c,d,e,f,g,h,i,j,k"}, validateErr: "-tags: 11 tags, YARN allows 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, err := parse(tc.args...)
			if tc.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.parseErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tc.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = f.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.validateErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.validateErr)
			}
		})
	}
}

func TestRunFlagsRequest(t *testing.T) {
	f, _, err := parse("-t", "yarn-per-job", "-name", "wc", "-queue", "q", "-node-label", "x", "-tags", "t1",
		"-jm-memory", "300", "-tm-memory", "700", "-tm-vcores", "2", "-slots", "4", "-parallelism", "8",
		"-ship", "a.txt", "-D", "k=v", "-keep-staging", "-proxy-user", "bob", "-view-acl", "*", "-modify-acl", "carol,dave ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	req := f.Request([]string{"-input", "x"})
	want := deploy.Request{
		Mode: "per-job", Name: "wc", Queue: "q", NodeLabel: "x", Tags: []string{"t1"},
		AMResource:  yarn.Resource{MemoryMB: 300, VCores: 1},
		TaskManager: launch.TaskManagerSpec{MemoryMB: 700, VCores: 2, Slots: 4, NodeLabel: "x"},
		Parallelism: 8, Args: []string{"-input", "x"}, Ship: []string{"a.txt"}, Config: map[string]string{"k": "v"},
		KeepStaging: true, ProxyUser: "bob",
		ACLs: map[yarn.ApplicationAccessType]string{yarn.AccessViewApp: "*", yarn.AccessModifyApp: "carol,dave ops"},
	}
	if d := cmp.Diff(want, req, cmpopts.IgnoreFields(deploy.Request{}, "Progress", "Logger")); d != "" {
		t.Errorf("Request (-want +got):\n%s", d)
	}
}

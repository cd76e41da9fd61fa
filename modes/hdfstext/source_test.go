package hdfstext

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// TestCutSplits: files are cut into split-bytes ranges covering each file
// exactly, the last up to 1.1 times split-bytes; empty files give none;
// the largest splits come first.
func TestCutSplits(t *testing.T) {
	got := cutSplits([]file{{"/a", 250}, {"/b", 0}, {"/c", 105}, {"/d", 111}, {"/e", 7}}, 100)
	want := []operator.Split{
		{Path: "/c", Start: 0, Length: 105},
		{Path: "/a", Start: 0, Length: 100},
		{Path: "/a", Start: 100, Length: 100},
		{Path: "/d", Start: 0, Length: 100},
		{Path: "/a", Start: 200, Length: 50},
		{Path: "/d", Start: 100, Length: 11},
		{Path: "/e", Start: 0, Length: 7},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splits (-want +got):\n%s", diff)
	}
}

// TestListFiles: a directory is read recursively without hidden names
// (nor what is under them); a file is itself; a missing input fails
// naming it, matching fs.ErrNotExist.
func TestListFiles(t *testing.T) {
	ctx := context.Background()
	m := newMemFS()
	m.file("/in/a", 1)
	m.file("/in/sub/b", 2)
	m.file("/in/_SUCCESS", 0)
	m.file("/in/.a.crc", 3)
	m.file("/in/_temporary/x/part-00000", 4)
	m.MkdirAll(ctx, "/in/emptydir", 0o755)
	got, err := listFiles(ctx, m, "/in")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]file{{"/in/a", 1}, {"/in/sub/b", 2}}, got, cmp.AllowUnexported(file{})); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	got, err = listFiles(ctx, m, "/in/sub/b")
	if err != nil || len(got) != 1 || got[0] != (file{"/in/sub/b", 2}) {
		t.Errorf("a file input: %v, %v", got, err)
	}
	_, err = listFiles(ctx, m, "/nope")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "hdfs://nn.example:8020/nope") {
		t.Errorf("missing input: %v", err)
	}
}

// TestSplitInputSettings: the Splitter refuses missing or bad settings
// by name, before it needs HDFS.
func TestSplitInputSettings(t *testing.T) {
	for _, tc := range []struct {
		config map[string]string
		want   string
	}{
		{map[string]string{}, `config "input" is missing`},
		{map[string]string{ConfigInput: "/in", ConfigSplitBytes: "0"}, `config "split-bytes" is "0": want a positive number of bytes`},
		{map[string]string{ConfigInput: "/in", ConfigSplitBytes: "1MiB"}, `config "split-bytes" is "1MiB"`},
		{map[string]string{ConfigInput: "/in"}, operator.ErrNoHDFS.Error()},
	} {
		_, err := splitInput(context.Background(), operator.SplitEnv{Config: tc.config})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.config, err, tc.want)
		}
	}
	if n, err := sizeSetting(map[string]string{ConfigSplitBytes: "1048576"}, ConfigSplitBytes, 5); n != 1<<20 || err != nil {
		t.Errorf("split-bytes 1048576: %d, %v", n, err)
	}
	if n, err := sizeSetting(nil, ConfigSplitBytes, 5); n != 5 || err != nil {
		t.Errorf("default: %d, %v", n, err)
	}
}

// TestResolve: absolute paths and hdfs:// URLs of the job's file system
// name paths in it; anything else is refused with the fix.
func TestResolve(t *testing.T) {
	m := newMemFS()
	for in, want := range map[string]string{
		"/a/b/":                    "/a/b",
		"hdfs:///a//b":             "/a/b",
		"hdfs://nn.example:8020/a": "/a",
		"hdfs://nn.example/a":      "/a",
		"hdfs://other:8020/a":      "",
		"a/b":                      "",
		"":                         "",
		"file:///a":                "",
		"hdfs:///a?x=1":            "",
	} {
		got, err := resolve(m, in)
		if want == "" {
			if err == nil {
				t.Errorf("%q resolved to %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q resolved to %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestVertices: the helpers name the registered operators and their
// settings.
func TestVertices(t *testing.T) {
	src, sink := Source("read", "hdfs:///in", 3), Sink("write", "/out", 2)
	if src.Operator != SourceOperator || src.Parallelism != 3 || src.Config[ConfigInput] != "hdfs:///in" {
		t.Errorf("Source: %+v", src)
	}
	if sink.Operator != SinkOperator || sink.Parallelism != 2 || sink.Config[ConfigOutput] != "/out" {
		t.Errorf("Sink: %+v", sink)
	}
	for _, name := range []string{SourceOperator, SinkOperator} {
		o, ok := operator.Lookup(name)
		if !ok {
			t.Fatalf("%s is not registered", name)
		}
		if (name == SourceOperator) != (o.Splitter != nil) || (name == SinkOperator) != (o.Committer != nil) {
			t.Errorf("%s: splitter %v, committer %v", name, o.Splitter != nil, o.Committer != nil)
		}
	}
}

package hdfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"app", "lib.jar", "deps.tar.gz"} {
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "conf"), 0o755)
	c := testClient(t)
	items, err := c.plan([]Dependency{
		{Local: filepath.Join(dir, "app")},
		{Local: filepath.Join(dir, "lib.jar")},
		{Local: filepath.Join(dir, "lib.jar"), Name: "lib-plain.jar", Type: TypeFile},
		{Local: filepath.Join(dir, "deps.tar.gz"), Visibility: VisibilityPublic},
		{Local: filepath.Join(dir, "conf") + "/"},
		{Remote: "hdfs://nn.example.com:8020/shared/flink.tgz"},
		{Remote: "hdfs:///shared/tool", Name: "tool"},
		{Remote: "/shared/x.zip", Type: TypeFile, Visibility: VisibilityApplication},
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Remote string
		Type         ResourceType
		Vis          Visibility
	}
	var got []row
	for _, it := range items {
		got = append(got, row{it.name, it.remote, it.typ, it.vis})
	}
	want := []row{
		{"app", "", TypeFile, VisibilityPrivate},
		{"lib.jar", "", TypeArchive, VisibilityPrivate},
		{"lib-plain.jar", "", TypeFile, VisibilityPrivate},
		{"deps.tar.gz", "", TypeArchive, VisibilityPublic},
		{"conf", "", TypeArchive, VisibilityPrivate},
		{"flink.tgz", "/shared/flink.tgz", TypeArchive, VisibilityPrivate},
		{"tool", "/shared/tool", TypeFile, VisibilityPrivate},
		{"x.zip", "/shared/x.zip", TypeFile, VisibilityApplication},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("x"), 0o644)
	tests := []struct {
		name string
		deps []Dependency
		want string
	}{
		{"neither", []Dependency{{Name: "x"}}, "exactly one"},
		{"both", []Dependency{{Local: f, Remote: "/x"}}, "exactly one"},
		{"missing", []Dependency{{Local: filepath.Join(dir, "nope")}}, "no such file"},
		{"duplicate names", []Dependency{{Local: f}, {Remote: "/a/f"}}, "two dependencies"},
		{"slash in name", []Dependency{{Local: f, Name: "a/b"}}, "want a file name"},
		{"reserved name", []Dependency{{Local: f, Name: ".spindle-manifest.json"}}, "want a file name"},
		{"archive without ending", []Dependency{{Local: f, Type: TypeArchive}}, "must end in"},
		{"directory as file", []Dependency{{Local: dir, Type: TypeFile}}, "shipped as an archive"},
		{"other file system", []Dependency{{Remote: "hdfs://elsewhere:8020/x"}}, "another file system"},
		{"not hdfs", []Dependency{{Remote: "s3a://bucket/x"}}, "hdfs://"},
		{"relative", []Dependency{{Remote: "x/y"}}, "absolute"},
		{"bad visibility", []Dependency{{Local: f, Visibility: 7}}, "unknown"},
	}
	c := testClient(t)
	for _, tt := range tests {
		_, err := c.plan(tt.deps)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

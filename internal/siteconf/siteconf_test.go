package siteconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeSite(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func site(props ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for _, p := range props {
		b.WriteString("  <property>" + p + "</property>\n")
	}
	b.WriteString("</configuration>\n")
	return b.String()
}

func TestLoadMergesInHadoopOrder(t *testing.T) {
	dir := t.TempDir()
	writeSite(t, dir, "core-site.xml", site(
		"<name>fs.defaultFS</name><value>hdfs://nn:8020</value>",
		"<name>locked</name><value>core</value><final>true</final>",
		"<name>over</name><value>core</value>",
	))
	writeSite(t, dir, "yarn-site.xml", site(
		"<name> yarn.resourcemanager.hostname </name><value> rm \n</value>",
		"<name>locked</name><value>yarn</value>",
		"<name>over</name><value>yarn</value>",
		"<name></name><value>nameless</value>",
	))
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"fs.defaultFS":                  "hdfs://nn:8020",
		"locked":                        "core", // final in core-site: yarn-site cannot override
		"over":                          "yarn",
		"yarn.resourcemanager.hostname": "rm",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Load (-want +got):\n%s", d)
	}
}

func TestLoadErrorsNameTheDirectory(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(empty, "nope")
	file := filepath.Join(empty, "core-site.xml.bak")
	writeSite(t, empty, "core-site.xml.bak", "x")
	bad := t.TempDir()
	writeSite(t, bad, "hdfs-site.xml", "<configuration><property>")

	for _, tc := range []struct {
		name, dir string
		want      []string
	}{
		{"empty", empty, []string{empty, "holds none of core-site.xml"}},
		{"missing", missing, []string{missing, "cannot be read"}},
		{"file", file, []string{file, "is not a directory"}},
		{"malformed", bad, []string{bad, "hdfs-site.xml is not a Hadoop configuration file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.dir)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load(%s) = %v, want *Error", tc.dir, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	t.Setenv(EnvVar, "")
	_, err := Load("")
	if err == nil || !strings.Contains(err.Error(), "HADOOP_CONF_DIR") || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("Load with HADOOP_CONF_DIR unset = %v, want an error naming HADOOP_CONF_DIR", err)
	}
	dir := t.TempDir()
	t.Setenv(EnvVar, dir)
	_, err = Load("")
	if err == nil || !strings.Contains(err.Error(), "HADOOP_CONF_DIR "+dir) {
		t.Fatalf("Load with an empty HADOOP_CONF_DIR = %v, want an error naming HADOOP_CONF_DIR and %s", err, dir)
	}
	writeSite(t, dir, "core-site.xml", site("<name>a</name><value>b</value>"))
	got, err := Load("")
	if err != nil || got["a"] != "b" {
		t.Fatalf("Load from HADOOP_CONF_DIR = %v, %v", got, err)
	}
}

func TestExpand(t *testing.T) {
	conf := map[string]string{
		"host": "rm1",
		"addr": "${host}:8032",
		"self": "${self}x",
		"deep": "${addr}/${unknown}",
	}
	for in, want := range map[string]string{
		"${addr}":        "rm1:8032",
		"${deep}":        "rm1:8032/${unknown}",
		"plain":          "plain",
		"${host}${host}": "rm1rm1",
	} {
		if got := Expand(conf, in); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
	// A self-reference ends, with the reference left in place.
	if got := Get(conf, "self"); !strings.HasPrefix(got, "${self}") || !strings.HasSuffix(got, "x") {
		t.Errorf("Get(self) = %q", got)
	}
}

func TestSplitList(t *testing.T) {
	if d := cmp.Diff([]string{"a", "b", "c"}, SplitList(" a, ,b ,c,")); d != "" {
		t.Error(d)
	}
	if got := SplitList(""); got != nil {
		t.Errorf("SplitList(\"\") = %v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(site("<name>a</name><value>b</value><final>true</final>")))
	f.Add([]byte("<configuration/>"))
	f.Add([]byte("<configuration><property><name>x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		props, err := Parse(b)
		if err != nil {
			return
		}
		for _, p := range props {
			if p.Name == "" || p.Name != strings.TrimSpace(p.Name) {
				t.Fatalf("Parse returned property name %q", p.Name)
			}
		}
	})
}

// TestLoadParsesChangedFilesAgain: Load's parse cache is keyed by the
// files' contents, so a rewritten file's new values are read.
func TestLoadParsesChangedFilesAgain(t *testing.T) {
	dir := t.TempDir()
	write := func(v string) {
		t.Helper()
		b := []byte(`<configuration><property><name>k</name><value>` + v + `</value></property></configuration>`)
		if err := os.WriteFile(filepath.Join(dir, "core-site.xml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"one", "one", "two", "one"} {
		write(v)
		conf, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if conf["k"] != v {
			t.Fatalf("k = %q after writing %q", conf["k"], v)
		}
		conf["k"] = "changed by a caller" // must not reach the next Load
	}
}

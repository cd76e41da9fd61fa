package deploy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/hdfs"
)

// TestAccessNameServices: the JobManager learns the NameNodes of the
// -access-fs file systems named by nameservice, the default one's too;
// those named by address need none.
func TestAccessNameServices(t *testing.T) {
	base := hdfs.Config{NameNodes: []string{"nn1:8020", "nn2:8020"}, NameService: "ns1",
		NameServices: map[string][]string{"other": {"o1:8020", "o2:8020"}}}
	got := accessNameServices(base, []string{"hdfs://other", "hdfs://ns1", "hdfs://far.example.com:8020"})
	want := map[string][]string{"other": {"o1:8020", "o2:8020"}, "ns1": {"nn1:8020", "nn2:8020"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if got := accessNameServices(base, []string{"hdfs://far.example.com:8020"}); got != nil {
		t.Errorf("addresses only: %v, want nil", got)
	}
}

func TestFileSystemConfig(t *testing.T) {
	base := hdfs.Config{NameNodes: []string{"nn1:8020", "nn2:8020"}, NameService: "ns1",
		NameServices: map[string][]string{"other": {"o1:8020", "o2:8020"}}}
	for _, tc := range []struct {
		uri     string
		nns     []string
		ns      string
		wantErr string
	}{
		{uri: "hdfs://other", nns: []string{"o1:8020", "o2:8020"}, ns: "other"},
		{uri: "hdfs://ns1", nns: []string{"nn1:8020", "nn2:8020"}, ns: "ns1"},
		{uri: "hdfs://far.example.com:8020", nns: []string{"far.example.com:8020"}},
		{uri: "hdfs://nowhere", wantErr: "neither a nameservice of the configuration"},
		{uri: "webhdfs://x:1", wantErr: "write hdfs://host:port"},
		{uri: "hdfs://x:1/path", wantErr: "write hdfs://host:port"},
	} {
		cfg, err := fileSystemConfig(base, tc.uri)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.uri, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		if d := cmp.Diff(tc.nns, cfg.NameNodes); d != "" || cfg.NameService != tc.ns {
			t.Errorf("%s: NameNodes (-want +got) %s, NameService %q want %q", tc.uri, d, cfg.NameService, tc.ns)
		}
	}
	if len(base.NameNodes) != 2 || base.NameService != "ns1" {
		t.Error("fileSystemConfig changed its base")
	}
}

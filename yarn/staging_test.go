package yarn

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/hdfs"
)

func TestLocalResourcesFromStaging(t *testing.T) {
	st := &hdfs.Staging{Resources: []hdfs.Staged{
		{Name: "app", URL: "hdfs://nn:8020/c/abc", Size: 10, Timestamp: 1700000000123, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityPrivate},
		{Name: "conf", URL: "hdfs://nn:8020/c/def.tar", Size: 20, Timestamp: 2, Type: hdfs.TypeArchive, Visibility: hdfs.VisibilityPublic},
		{Name: "job", URL: "hdfs://nn:8020/s/ghi", Size: 30, Timestamp: 3, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityApplication},
	}}
	want := map[string]LocalResource{
		"app":  {URL: "hdfs://nn:8020/c/abc", Size: 10, Timestamp: 1700000000123, Type: LocalResourceFile, Visibility: VisibilityPrivate},
		"conf": {URL: "hdfs://nn:8020/c/def.tar", Size: 20, Timestamp: 2, Type: LocalResourceArchive, Visibility: VisibilityPublic},
		"job":  {URL: "hdfs://nn:8020/s/ghi", Size: 30, Timestamp: 3, Type: LocalResourceFile, Visibility: VisibilityApplication},
	}
	if d := cmp.Diff(want, LocalResourcesFromStaging(st)); d != "" {
		t.Errorf("LocalResources (-want +got):\n%s", d)
	}
}

func TestHDFSTokens(t *testing.T) {
	c := &Credentials{}
	c.AddToken("", Token{Kind: KindAMRMToken, Identifier: []byte("amrm")})
	c.AddToken("127.0.0.1:8020", Token{Kind: KindHDFSDelegationToken, Service: "127.0.0.1:8020", Identifier: []byte("id"), Password: []byte("pw")})
	got := HDFSTokens(c)
	want := []hdfs.Token{{Kind: hdfs.KindDelegationToken, Service: "127.0.0.1:8020", Identifier: []byte("id"), Password: []byte("pw")}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("HDFSTokens (-want +got):\n%s", d)
	}
}

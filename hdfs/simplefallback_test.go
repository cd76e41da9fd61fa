package hdfs_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
)

// TestTokenClientRefusesSimpleNameNode: a client holding only a
// delegation token meets a NameNode that answers SASL negotiation with
// "use SIMPLE" (ipctest without WithTokens). It refuses, and no call
// reaches the NameNode, unless Config.AllowSimpleFallback, read from
// ipc.client.fallback-to-simple-auth-allowed, allows it; then the call goes
// out as the configured user.
func TestTokenClientRefusesSimpleNameNode(t *testing.T) {
	var user string
	nn := ipctest.NewServer(t, ipctest.Methods{
		"getFileInfo": func(c *ipctest.Call) ipctest.Reply {
			user = c.User
			return ipctest.Respond(&pb.GetFileInfoResponseProto{})
		},
	})
	conf := map[string]string{"fs.defaultFS": "hdfs://" + nn.Addr}
	for _, allow := range []bool{false, true} {
		if allow {
			conf["ipc.client.fallback-to-simple-auth-allowed"] = "true"
		}
		cfg, err := hdfs.ConfigFromHadoopConf(conf)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AllowSimpleFallback != allow {
			t.Fatalf("AllowSimpleFallback = %v from %v", cfg.AllowSimpleFallback, conf)
		}
		cfg.User = "alice"
		cfg.Tokens = []hdfs.Token{{Kind: hdfs.KindDelegationToken, Identifier: []byte("id"), Password: []byte("pw"), Service: nn.Addr}}
		c, err := hdfs.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Stat(t.Context(), "/x")
		c.Close()
		var fe *ipc.SimpleFallbackError
		if !allow && (!errors.As(err, &fe) || !errors.Is(err, hdfs.ErrUnauthorized)) {
			t.Errorf("fallback not allowed: %v, want a refused SIMPLE fallback", err)
		}
		if allow && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("fallback allowed: %v, want the NameNode's answer (not found)", err)
		}
	}
	if n := nn.Calls(""); n != 1 || user != "alice" {
		t.Errorf("%d calls reached the NameNode as %q, want only the allowed one as alice", n, user)
	}
}

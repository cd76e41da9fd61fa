package hdfs_test

import (
	"errors"
	"io/fs"
	"testing"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

func TestConfigWithIdentity(t *testing.T) {
	kc := krbclient.NewWithKeytab("svc/host1", "EXAMPLE.COM", keytab.New(), krbconfig.New())
	id, err := hdfs.IdentityFromClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	orig := hdfs.Config{
		NameNodes: []string{"nn:8020"},
		Kerberos:  &hdfs.KerberosConfig{ServerPrincipal: "nn/_HOST@EXAMPLE.COM"},
		Tokens:    []hdfs.Token{{Kind: hdfs.KindDelegationToken}},
	}
	cfg := orig.WithIdentity(id.WithProxyUser("carol"))
	if cfg.Kerberos.Client != kc || cfg.Kerberos.ServerPrincipal != "nn/_HOST@EXAMPLE.COM" || cfg.User != "svc" || cfg.ProxyUser != "carol" || cfg.Tokens != nil {
		t.Fatalf("WithIdentity gave Kerberos %+v User %q ProxyUser %q Tokens %v", cfg.Kerberos, cfg.User, cfg.ProxyUser, cfg.Tokens)
	}
	if orig.Kerberos.Client != nil || orig.User != "" || len(orig.Tokens) != 1 {
		t.Fatal("WithIdentity modified the caller's Config")
	}
	if errors.Is(hdfs.ErrTicketExpired, yarn.ErrTicketExpired) != true || hdfs.ErrClockSkew != yarn.ErrClockSkew {
		t.Fatal("hdfs and yarn login sentinels differ")
	}
	var yid *yarn.Identity = id // one type in both packages
	_ = yid
}

// TestProxyUserActsForTheEndUser: with Config.ProxyUser the calls carry
// the proxy user as effective user, and the staging directory is in its
// home.
func TestProxyUserActsForTheEndUser(t *testing.T) {
	var user string
	nn := ipctest.NewServer(t, ipctest.Methods{
		"getFileInfo": func(c *ipctest.Call) ipctest.Reply {
			user = c.User
			return ipctest.Respond(&pb.GetFileInfoResponseProto{})
		},
	})
	c, err := hdfs.NewClient(hdfs.Config{NameNodes: []string{nn.Addr}, User: "svc", ProxyUser: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Stat(t.Context(), "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat: %v", err)
	}
	if user != "carol" || c.User() != "carol" || c.StagingRoot() != "/user/carol/.spindle" {
		t.Fatalf("call as %q, client user %q, staging root %q; want carol's", user, c.User(), c.StagingRoot())
	}
}

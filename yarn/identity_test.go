package yarn_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"testing"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

func TestConfigWithIdentity(t *testing.T) {
	kc := krbclient.NewWithKeytab("alice", "EXAMPLE.COM", keytab.New(), krbconfig.New())
	id, err := yarn.IdentityFromClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	orig := yarn.Config{
		ResourceManagers: []yarn.RMAddress{{RPC: "rm:8032"}},
		Kerberos:         &yarn.KerberosConfig{ServerPrincipal: "rm/_HOST@EXAMPLE.COM", HTTPPrincipal: "HTTP/_HOST"},
	}
	cfg := orig.WithIdentity(id)
	if cfg.Kerberos.Client != kc || cfg.Kerberos.ServerPrincipal != "rm/_HOST@EXAMPLE.COM" || cfg.Kerberos.HTTPPrincipal != "HTTP/_HOST" || cfg.User != "alice" || cfg.ProxyUser != "" {
		t.Fatalf("WithIdentity gave Kerberos %+v User %q ProxyUser %q", cfg.Kerberos, cfg.User, cfg.ProxyUser)
	}
	if orig.Kerberos.Client != nil || orig.User != "" {
		t.Fatal("WithIdentity modified the caller's Config")
	}
	if p := orig.WithIdentity(id.WithProxyUser("carol")); p.ProxyUser != "carol" || p.User != "alice" {
		t.Fatalf("proxy identity gave User %q ProxyUser %q", p.User, p.ProxyUser)
	}
	if _, err := yarn.NewRMClient(cfg); err != nil {
		t.Fatalf("NewRMClient of a WithIdentity config: %v", err)
	}
}

func TestLoginErrorsMatchSentinels(t *testing.T) {
	_, err := yarn.LoginTicketCache(filepath.Join(t.TempDir(), "no-cache"), filepath.Join(t.TempDir(), "no-krb5.conf"))
	var le *yarn.LoginError
	if !errors.Is(err, yarn.ErrKrb5Conf) || !errors.Is(err, yarn.ErrLogin) || !errors.As(err, &le) {
		t.Fatalf("got %v, want a LoginError matching ErrKrb5Conf", err)
	}
	_, err = yarn.LoginKeytab(context.Background(), "alice@EXAMPLE.COM", filepath.Join(t.TempDir(), "none.keytab"), filepath.Join(t.TempDir(), "no-krb5.conf"))
	if !errors.Is(err, yarn.ErrKrb5Conf) {
		t.Fatalf("got %v, want ErrKrb5Conf", err)
	}
}

// One login serves a deployment's ResourceManager and HDFS clients; a
// service deploying for an end user adds WithProxyUser. (It needs a KDC,
// so it is compiled, not run.)
func ExampleLoginKeytab() {
	ctx := context.Background()
	id, err := yarn.LoginKeytab(ctx, "alice@EXAMPLE.COM", "/etc/security/keytabs/alice.keytab", "")
	if errors.Is(err, yarn.ErrClockSkew) {
		log.Fatal(err) // the message says to synchronise the clock
	}
	if err != nil {
		log.Fatal(err)
	}
	defer id.Close()

	ycfg, err := yarn.LoadConfig("") // $HADOOP_CONF_DIR
	if err != nil {
		log.Fatal(err)
	}
	rm, err := yarn.NewRMClient(ycfg.WithIdentity(id))
	if err != nil {
		log.Fatal(err)
	}
	defer rm.Close()

	hcfg, err := hdfs.LoadConfig("")
	if err != nil {
		log.Fatal(err)
	}
	staging, err := hdfs.NewClient(hcfg.WithIdentity(id)) // same login, same user
	if err != nil {
		log.Fatal(err)
	}
	defer staging.Close()
	fmt.Println(staging.User())
}

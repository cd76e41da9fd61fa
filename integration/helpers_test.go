//go:build integration

package integration

import (
	"context"
	"os/user"
	"strings"
	"testing"
	"time"

	colinmarc "github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
	krbclient "github.com/jcmturner/gokrb5/v8/client"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// The helpers every integration test shares: one context, one way to
// read the bed's configuration and log in, and the clients built on them.

// testContext bounds a test's calls to d; it ends with the test.
func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// login gives user's Kerberos login on the Kerberos bed, destroyed with
// the test, and nil on the others.
func login(t testing.TB, tb *testbed.TestBed, user string) *krbclient.Client {
	t.Helper()
	if tb.Ready.Kerberos == nil {
		return nil
	}
	kc, err := tb.KerberosClient(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Destroy)
	return kc
}

// yarnConfig builds a yarn.Config from the test bed's site XML, as user:
// Kerberos from user's keytab on the Kerberos bed (with hadoop.rpc.protection
// overridden by protection when not empty), simple auth otherwise.
func yarnConfig(t testing.TB, tb *testbed.TestBed, user, protection string) yarn.Config {
	t.Helper()
	cfg, err := yarn.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = user
	if protection != "" {
		cfg.RPCProtection = protection
	}
	if cfg.Kerberos != nil {
		cfg.Kerberos.Client = login(t, tb, user)
	}
	return cfg
}

// hdfsConfig builds an hdfs.Config from the test bed's site XML, as user,
// the way yarnConfig does.
func hdfsConfig(t testing.TB, tb *testbed.TestBed, user string) hdfs.Config {
	t.Helper()
	cfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = user
	if cfg.Kerberos != nil {
		cfg.Kerberos.Client = login(t, tb, user)
	}
	return cfg
}

func rmClient(t testing.TB, tb *testbed.TestBed, user, protection string) *yarn.RMClient {
	t.Helper()
	c, err := yarn.NewRMClient(yarnConfig(t, tb, user, protection))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func restClient(t testing.TB, tb *testbed.TestBed, user string) *yarn.RESTClient {
	t.Helper()
	c, err := yarn.NewRESTClient(yarnConfig(t, tb, user, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rmClients returns the RPC and REST clients as alice, by name.
func rmClients(t testing.TB, tb *testbed.TestBed) map[string]yarn.ResourceManager {
	return map[string]yarn.ResourceManager{
		"rpc":  rmClient(t, tb, "alice", ""),
		"rest": restClient(t, tb, "alice"),
	}
}

// stagingClient is an hdfs.Client for user on the test bed. edit, when
// not nil, adjusts the Config first.
func stagingClient(t testing.TB, tb *testbed.TestBed, user string, edit func(*hdfs.Config)) *hdfs.Client {
	t.Helper()
	cfg := hdfsConfig(t, tb, user)
	if edit != nil {
		edit(&cfg)
	}
	return newStagingClient(t, cfg)
}

// newStagingClient is an hdfs.Client of cfg, closed with the test.
func newStagingClient(t testing.TB, cfg hdfs.Config) *hdfs.Client {
	t.Helper()
	c, err := hdfs.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tokenOnlyClient is an hdfs.Client holding only toks (no Kerberos login)
// at RPC protection prot, as a container's would be.
func tokenOnlyClient(t testing.TB, tb *testbed.TestBed, toks []hdfs.Token, prot string) *hdfs.Client {
	t.Helper()
	cfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kerberos = nil
	cfg.User = "alice"
	cfg.Tokens = toks
	if prot != "" {
		cfg.RPCProtection = prot
	}
	return newStagingClient(t, cfg)
}

// hdfsClient is colinmarc/hdfs's client (not Spindle's) for user, the
// independent reader and writer the smoke and staging tests check
// Spindle against.
func hdfsClient(t testing.TB, tb *testbed.TestBed, user string) *colinmarc.Client {
	t.Helper()
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := colinmarc.ClientOptionsFromConf(conf)
	opts.User = user
	if kc := login(t, tb, user); kc != nil {
		opts.KerberosClient = kc
		opts.User = user + "@" + tb.Ready.Kerberos.Realm
		opts.KerberosServicePrincipleName = strings.SplitN(tb.Ready.Kerberos.ServicePrincipal, "@", 2)[0]
	}
	c, err := colinmarc.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// protections lists the hadoop.rpc.protection levels a test runs at: all
// three on the Kerberos bed, whose servers offer every level; the default
// on the others.
func protections(tb *testbed.TestBed) []string {
	if tb.Ready.Kerberos == nil {
		return []string{""}
	}
	return strings.Split(tb.Ready.Kerberos.RPCProtection, ",")
}

func currentUser(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

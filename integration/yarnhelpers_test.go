//go:build integration

package integration

import (
	"strings"
	"testing"

	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// yarnConfig builds a yarn.Config from the test bed's site XML, as user:
// Kerberos from user's keytab on the Kerberos bed (with hadoop.rpc.protection
// overridden by protection when not empty), simple auth otherwise.
func yarnConfig(t testing.TB, tb *testbed.TestBed, user, protection string) yarn.Config {
	t.Helper()
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := yarn.ConfigFromHadoopConf(conf)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = user
	if protection != "" {
		cfg.RPCProtection = protection
	}
	if cfg.Kerberos != nil {
		kc, err := tb.KerberosClient(user)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(kc.Destroy)
		cfg.Kerberos.Client = kc
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

// protections lists the hadoop.rpc.protection levels a test runs at: all
// three on the Kerberos bed, whose servers offer every level; the default
// on the others.
func protections(tb *testbed.TestBed) []string {
	if tb.Ready.Kerberos == nil {
		return []string{""}
	}
	return strings.Split(tb.Ready.Kerberos.RPCProtection, ",")
}

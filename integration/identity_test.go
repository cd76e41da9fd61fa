//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/identity/identitytest"
	"github.com/spindle-yarn/spindle/yarn"
)

// useIdentity builds an RMClient and an hdfs.Client from the bed's site
// XML with id, and checks that both act as id.User(): it owns a directory
// made in its home, and the RM and HDFS delegation tokens name it as
// owner (Hadoop writes the full principal there, or the proxy user with
// the principal as real user).
func useIdentity(t *testing.T, tb *testbed.TestBed, id *yarn.Identity) {
	t.Helper()
	owner, realUser := id.Principal(), ""
	if id.ProxyUser() != "" {
		owner, realUser = id.ProxyUser(), id.Principal()
	}
	ctx := testContext(t, 2*time.Minute)
	ycfg, err := yarn.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := yarn.NewRMClient(ycfg.WithIdentity(id))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	rmTok, err := rm.DelegationToken(ctx, "yarn")
	if err != nil {
		t.Fatalf("RM delegation token as %v: %v", id, err)
	}
	rmID, err := rmTok.DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if rmID.Owner != owner || rmID.RealUser != realUser {
		t.Errorf("RM token of %v: owner %q real user %q; want %q and %q", id, rmID.Owner, rmID.RealUser, owner, realUser)
	}

	hcfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := hdfs.NewClient(hcfg.WithIdentity(id))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	dir := fmt.Sprintf("/user/%s/identity-test-%d", id.User(), time.Now().UnixNano())
	if err := hc.MkdirAll(ctx, dir, 0o700); err != nil {
		t.Fatalf("mkdir %s as %v: %v", dir, id, err)
	}
	defer hc.Remove(context.Background(), dir, true)
	st, err := hc.Stat(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != id.User() {
		t.Errorf("%s made as %v is owned by %q", dir, id, st.Owner)
	}
	toks, err := hc.DelegationTokens(ctx)
	if err != nil {
		t.Fatalf("HDFS delegation tokens as %v: %v", id, err)
	}
	nnID, err := toks[0].DelegationIdentifier()
	if err != nil {
		t.Fatal(err)
	}
	if nnID.Owner != owner || nnID.RealUser != realUser {
		t.Errorf("HDFS token of %v: owner %q real user %q; want %q and %q", id, nnID.Owner, nnID.RealUser, owner, realUser)
	}
}

// TestIdentityKeytab: alice logs in from her keytab, and the one Identity
// serves an RMClient and an hdfs.Client.
func TestIdentityKeytab(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	id, err := yarn.LoginKeytab(testContext(t, time.Minute), "alice", k.Users["alice"], k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	if id.Principal() != "alice@"+k.Realm || id.User() != "alice" {
		t.Fatalf("identity %v: principal %q user %q", id, id.Principal(), id.User())
	}
	useIdentity(t, tb, id)
}

// TestIdentityProxyUser: the bed's service principal, allowed to
// impersonate by hadoop.proxyuser.hadoop.*, acts for bob: tokens are
// bob's with the service as real user, and bob owns what it makes.
func TestIdentityProxyUser(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	kt := filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab")
	svc, err := hdfs.LoginKeytab(testContext(t, time.Minute), k.ServicePrincipal, kt, k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	useIdentity(t, tb, svc.WithProxyUser("bob"))
}

// TestIdentityTicketCache: a ticket cache holding a real TGT from the
// bed's KDC (written as kinit would; the bed has no kinit) logs alice in
// without her keytab, and the TGT gets the service tickets of the RM and
// the NameNode.
func TestIdentityTicketCache(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	cc := aliceCCache(t, tb, filepath.Join(t.TempDir(), "krb5cc_alice"), nil)
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	t.Setenv("KRB5_CONFIG", k.KRB5Conf)
	id, err := yarn.LoginTicketCache("", "")
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	if id.Client().Credentials.HasKeytab() || id.Principal() != "alice@"+k.Realm {
		t.Fatalf("ticket cache login %v has a keytab or the wrong principal", id)
	}
	useIdentity(t, tb, id)
}

// TestIdentityKinitCache: a ticket cache MIT's kinit wrote (krb5-user,
// which .ci/run installs) logs alice in through KRB5CCNAME, and the
// identity serves the RM and HDFS clients. kinit takes the keytab here
// (-k -t) so no password is typed or passed.
func TestIdentityKinitCache(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	kinit, err := exec.LookPath("kinit")
	if err != nil {
		t.Fatal("kinit not found: install krb5-user (.ci/run does)")
	}
	cc := filepath.Join(t.TempDir(), "krb5cc_alice")
	cmd := exec.CommandContext(testContext(t, time.Minute), kinit, "-k", "-t", k.Users["alice"], "-c", "FILE:"+cc, "alice@"+k.Realm)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+k.KRB5Conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	id, err := yarn.LoginTicketCache("", k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	if id.Principal() != "alice@"+k.Realm {
		t.Fatalf("kinit cache login is %v", id)
	}
	useIdentity(t, tb, id)
}

// TestIdentityLoginErrors: each bad login against the bed's KDC fails
// with its sentinel and a message that says what to do.
func TestIdentityLoginErrors(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	dir := t.TempDir()
	confText, err := os.ReadFile(k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	writeConf := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// clockskew 1ns: any KDC reply looks skewed, as it would from a KDC
	// whose clock is off, without touching a clock.
	skewConf := writeConf("skew.conf", strings.Replace(string(confText), "[libdefaults]", "[libdefaults]\n  clockskew = 1ns", 1))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.Addr().String()
	closed.Close()
	deadConf := writeConf("dead.conf", strings.Replace(string(confText), k.KDC, dead, 1))
	if !strings.Contains(string(confText), k.KDC) {
		t.Fatalf("%s does not name the KDC %s", k.KRB5Conf, k.KDC)
	}
	fakeKeytab := func(principal, password string) string {
		kt := keytab.New()
		name, realm, _ := strings.Cut(principal, "@")
		for _, e := range []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96} {
			if err := kt.AddEntry(name, realm, password, time.Now(), 1, e); err != nil {
				t.Fatal(err)
			}
		}
		b, err := kt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return writeConf(strings.NewReplacer("/", "_", "@", "_").Replace(principal)+"-"+password+".keytab", string(b))
	}

	for _, tc := range []struct {
		name, principal, keytab, conf string
		kind                          error
		says                          []string
	}{
		{"keytab without the principal", "bob", k.Users["alice"], k.KRB5Conf, yarn.ErrKeytabPrincipal, []string{"bob@" + k.Realm, "alice@" + k.Realm}},
		{"clock skew", "alice", k.Users["alice"], skewConf, yarn.ErrClockSkew, []string{"clock", "NTP"}},
		{"unknown principal", "mallory", fakeKeytab("mallory@"+k.Realm, "pw"), k.KRB5Conf, yarn.ErrUnknownPrincipal, []string{"mallory@" + k.Realm, k.KDC}},
		{"stale keytab", "alice", fakeKeytab("alice@"+k.Realm, "not-alices-key"), k.KRB5Conf, yarn.ErrKeytabRejected, []string{"out of date"}},
		{"realm without a KDC", "alice@OTHER.ORG", fakeKeytab("alice@OTHER.ORG", "pw"), k.KRB5Conf, yarn.ErrKDCUnreachable, []string{"OTHER.ORG", "[realms]"}},
		{"KDC unreachable", "alice", k.Users["alice"], deadConf, yarn.ErrKDCUnreachable, []string{dead}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := yarn.LoginKeytab(testContext(t, time.Minute), tc.principal, tc.keytab, tc.conf)
			if err == nil {
				id.Close()
				t.Fatal("login succeeded")
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			t.Log(err)
		})
	}
}

// TestHDFSProxyUserSimple: under simple authentication the OS user, a
// proxy user on the bed, acts for alice through hdfs.Config.ProxyUser:
// what it makes is alice's, and its staging root is in her home.
func TestHDFSProxyUserSimple(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	cfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ProxyUser = "alice"
	hc := newStagingClient(t, cfg)
	if hc.User() != "alice" || hc.StagingRoot() != "/user/alice/.spindle" {
		t.Fatalf("client user %q staging root %q; want alice's", hc.User(), hc.StagingRoot())
	}
	dir := fmt.Sprintf("/user/alice/proxy-test-%d", time.Now().UnixNano())
	if err := hc.MkdirAll(ctx, dir, 0o700); err != nil {
		t.Fatal(err)
	}
	defer hc.Remove(context.Background(), dir, true)
	st, err := hc.Stat(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != "alice" {
		t.Errorf("%s made for alice is owned by %q", dir, st.Owner)
	}
}

// aliceCCache writes to path a ticket cache holding a real TGT of alice's
// from the bed's KDC (as kinit would; edit, when set, changes it first),
// and returns path.
func aliceCCache(t *testing.T, tb *testbed.TestBed, path string, edit func(*identitytest.Cred)) string {
	t.Helper()
	k := tb.Ready.Kerberos
	conf, err := krbconfig.Load(k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(k.Users["alice"])
	if err != nil {
		t.Fatal(err)
	}
	kc := krbclient.NewWithKeytab("alice", k.Realm, kt, conf, krbclient.DisablePAFXFAST(true))
	tgt, err := identitytest.TGT(kc)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&tgt)
	}
	if err := identitytest.WriteCCache(path, kc.Credentials.CName(), k.Realm, tgt); err != nil {
		t.Fatal(err)
	}
	return path
}

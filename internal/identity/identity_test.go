package identity

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/spindle-yarn/spindle/internal/identity/identitytest"
)

// writeKrb5Conf writes a krb5.conf for realm EXAMPLE.COM whose KDC is kdc,
// reached over TCP only.
func writeKrb5Conf(t *testing.T, kdc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "krb5.conf")
	conf := fmt.Sprintf("[libdefaults]\n default_realm = EXAMPLE.COM\n udp_preference_limit = 1\n\n[realms]\n EXAMPLE.COM = {\n  kdc = %s\n }\n", kdc)
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeKeytab writes a keytab holding a key for each principal.
func writeKeytab(t *testing.T, principals ...string) string {
	t.Helper()
	kt := keytab.New()
	for _, p := range principals {
		name, realm, _ := strings.Cut(p, "@")
		if err := kt.AddEntry(name, realm, "not-a-real-secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "user.keytab")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTGTCache writes a ticket cache for alice@EXAMPLE.COM whose TGT ends
// at end. The ticket's encrypted part is junk: only times are checked
// before a KDC would see it.
func writeTGTCache(t *testing.T, end time.Time) string {
	t.Helper()
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "EXAMPLE.COM"}}
	tkt := messages.Ticket{TktVNO: 5, Realm: "EXAMPLE.COM", SName: sname,
		EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 1, Cipher: []byte("junk")}}
	der, err := tkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "krb5cc_test")
	alice := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	err = identitytest.WriteCCache(p, alice, "EXAMPLE.COM", identitytest.Cred{
		Server: sname, ServerRealm: "EXAMPLE.COM",
		Key:      types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: make([]byte, 32)},
		AuthTime: end.Add(-10 * time.Hour), StartTime: end.Add(-10 * time.Hour), EndTime: end,
		Ticket: der,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantLoginError(t *testing.T, err, kind error, contains ...string) {
	t.Helper()
	if !errors.Is(err, kind) || !errors.Is(err, ErrLogin) {
		t.Fatalf("error %v: want one matching %v and ErrLogin", err, kind)
	}
	var le *LoginError
	if !errors.As(err, &le) {
		t.Fatalf("error %T is not a *LoginError", err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestLoginTicketCacheMissing(t *testing.T) {
	conf := writeKrb5Conf(t, "127.0.0.1:1")
	missing := filepath.Join(t.TempDir(), "krb5cc_none")
	_, err := LoginTicketCache(missing, conf)
	wantLoginError(t, err, ErrNoTicketCache, missing, "kinit", "keytab")

	t.Setenv("KRB5CCNAME", "FILE:"+missing)
	_, err = LoginTicketCache("", conf)
	wantLoginError(t, err, ErrNoTicketCache, missing)

	t.Setenv("KRB5CCNAME", "KEYRING:persistent:1000")
	_, err = LoginTicketCache("", conf)
	wantLoginError(t, err, ErrNoTicketCache, "KEYRING", "FILE:")
}

func TestTicketCachePathDefault(t *testing.T) {
	t.Setenv("KRB5CCNAME", "")
	p, err := TicketCachePath("")
	if want := fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()); err != nil || p != want {
		t.Fatalf("TicketCachePath(\"\") = %q, %v; want %q", p, err, want)
	}
	t.Setenv("KRB5CCNAME", "/run/cc")
	if p, _ := TicketCachePath(""); p != "/run/cc" {
		t.Fatalf("with KRB5CCNAME=/run/cc got %q", p)
	}
	if p, _ := TicketCachePath("FILE:/x/y"); p != "/x/y" {
		t.Fatalf("FILE:/x/y gave %q", p)
	}
}

func TestKrb5ConfPath(t *testing.T) {
	t.Setenv("KRB5_CONFIG", "")
	if p := Krb5ConfPath(""); p != DefaultKrb5Conf {
		t.Fatalf("got %q", p)
	}
	t.Setenv("KRB5_CONFIG", "/a/krb5.conf:/b/krb5.conf")
	if p := Krb5ConfPath(""); p != "/a/krb5.conf" {
		t.Fatalf("got %q", p)
	}
	if p := Krb5ConfPath("/c"); p != "/c" {
		t.Fatalf("got %q", p)
	}
	_, err := LoginTicketCache("/nonexistent-cache", filepath.Join(t.TempDir(), "none.conf"))
	wantLoginError(t, err, ErrKrb5Conf, "none.conf", "KRB5_CONFIG")
}

func TestLoginTicketCacheExpired(t *testing.T) {
	conf := writeKrb5Conf(t, "127.0.0.1:1")
	end := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	cc := writeTGTCache(t, end)
	_, err := LoginTicketCache(cc, conf)
	wantLoginError(t, err, ErrTicketExpired, "alice@EXAMPLE.COM", cc, end.UTC().Format(time.RFC3339), "kinit alice@EXAMPLE.COM")
}

func TestLoginTicketCacheValid(t *testing.T) {
	conf := writeKrb5Conf(t, "127.0.0.1:1")
	cc := writeTGTCache(t, time.Now().Add(8*time.Hour))
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	id, err := LoginTicketCache("", conf)
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	if id.Principal() != "alice@EXAMPLE.COM" || id.ShortName() != "alice" || id.User() != "alice" || id.ProxyUser() != "" {
		t.Fatalf("identity %v: principal %q short %q user %q", id, id.Principal(), id.ShortName(), id.User())
	}
	if id.Client() == nil || id.Client().Credentials.UserName() != "alice" {
		t.Fatal("no client for alice")
	}
}

func TestLoginKeytabWithoutPrincipal(t *testing.T) {
	conf := writeKrb5Conf(t, "127.0.0.1:1")
	kt := writeKeytab(t, "bob@EXAMPLE.COM", "hadoop/node1@EXAMPLE.COM")
	_, err := LoginKeytab(context.Background(), "alice", kt, conf)
	wantLoginError(t, err, ErrKeytabPrincipal, "alice@EXAMPLE.COM", kt, "bob@EXAMPLE.COM", "hadoop/node1@EXAMPLE.COM")
	if strings.Contains(err.Error(), "not-a-real-secret") {
		t.Fatal("error shows the key's password")
	}

	_, err = LoginKeytab(context.Background(), "alice@EXAMPLE.COM", filepath.Join(t.TempDir(), "none.keytab"), conf)
	wantLoginError(t, err, ErrKeytabPrincipal, "none.keytab")
}

// fakeKDC answers every request over TCP with a KRB_ERROR of code, as a
// KDC does when it refuses an AS-REQ. It returns the KDC's address.
func fakeKDC(t *testing.T, code int32) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "EXAMPLE.COM"}}
	kerr := messages.NewKRBError(sname, "EXAMPLE.COM", code, "")
	reply, err := kerr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var n uint32
				if binary.Read(c, binary.BigEndian, &n) != nil || n > 1<<20 {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
					return
				}
				binary.Write(c, binary.BigEndian, uint32(len(reply)))
				c.Write(reply)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestLoginKeytabKDCErrors(t *testing.T) {
	kt := writeKeytab(t, "alice@EXAMPLE.COM")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name string
		kdc  string
		kind error
		says []string
	}{
		{"clock skew", fakeKDC(t, errorcode.KRB_AP_ERR_SKEW), ErrClockSkew, []string{"clock", "NTP", "5m0s"}},
		{"unknown principal", fakeKDC(t, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN), ErrUnknownPrincipal, []string{"does not know alice@EXAMPLE.COM", "realm"}},
		{"stale keytab", fakeKDC(t, errorcode.KRB_AP_ERR_BAD_INTEGRITY), ErrKeytabRejected, []string{"out of date"}},
		{"unreachable", deadAddr, ErrKDCUnreachable, []string{deadAddr, "EXAMPLE.COM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := writeKrb5Conf(t, tc.kdc)
			_, err := LoginKeytab(context.Background(), "alice@EXAMPLE.COM", kt, conf)
			wantLoginError(t, err, tc.kind, tc.says...)
		})
	}
}

func TestLoginKeytabRealmWithoutKDC(t *testing.T) {
	conf := writeKrb5Conf(t, "127.0.0.1:1")
	kt := writeKeytab(t, "alice@OTHER.ORG")
	_, err := LoginKeytab(context.Background(), "alice@OTHER.ORG", kt, conf)
	wantLoginError(t, err, ErrKDCUnreachable, "OTHER.ORG", conf)
}

func TestLoginKeytabContext(t *testing.T) {
	// A KDC that accepts and never answers: the login waits on it until
	// the context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	conf := writeKrb5Conf(t, ln.Addr().String())
	kt := writeKeytab(t, "alice@EXAMPLE.COM")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = LoginKeytab(ctx, "alice", kt, conf)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

func TestFromClientAndProxyUser(t *testing.T) {
	if _, err := FromClient(nil); !errors.Is(err, ErrKrb5Conf) {
		t.Fatalf("FromClient(nil) = %v", err)
	}
	conf := krbconfig.New()
	kt := keytab.New()
	kc := krbclient.NewWithKeytab("svc/host1", "EXAMPLE.COM", kt, conf)
	id, err := FromClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	p := id.WithProxyUser("carol")
	if p.Principal() != "svc/host1@EXAMPLE.COM" || p.ShortName() != "svc" || p.User() != "carol" || p.ProxyUser() != "carol" || p.Client() != kc {
		t.Fatalf("proxy identity %v: principal %q short %q user %q", p, p.Principal(), p.ShortName(), p.User())
	}
	if id.User() != "svc" || id.ProxyUser() != "" {
		t.Fatalf("WithProxyUser changed the original: %v", id)
	}
	if p.String() != "svc/host1@EXAMPLE.COM as carol" {
		t.Fatalf("String() = %q", p)
	}
	p.Close()
	id.Close()
	if kc.Credentials.UserName() != "svc/host1" {
		t.Fatal("Close destroyed a client the caller owns")
	}
}

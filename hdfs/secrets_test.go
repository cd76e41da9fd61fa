package hdfs

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

var (
	secretPassword   = []byte("PW-4f1d-hdfs-token-password-SECRET-a9")
	secretKrbPass    = "KRBPW-9d2b-kerberos-password-SECRET-f8"
	secretIdentifier = []byte("ID-5e4c-opaque-identifier-bytes-0123")
)

// secretForms: raw, as fmt prints a []byte, hex, and base64 in both
// alphabets at each alignment inside a longer buffer.
func secretForms(s []byte) []string {
	forms := []string{string(s), strings.Trim(fmt.Sprint(s), "[]"), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			e := enc.EncodeToString(append(make([]byte, shift), s...))
			forms = append(forms, e[4:len(e)-4])
		}
	}
	return forms
}

// renderings formats v every way a program might show it, alone and
// nested in a struct.
func renderings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		out[verb] = fmt.Sprintf(verb, v)
		out["nested "+verb] = fmt.Sprintf(verb, struct{ V any }{v})
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("msg", "v", v, slog.Group("g", "nested", struct{ V any }{v}))
		out[name] = b.String()
	}
	j, err := json.Marshal(v)
	out["json"] = string(j) + fmt.Sprint(err)
	j, err = json.Marshal(struct{ V any }{v})
	out["nested json"] = string(j) + fmt.Sprint(err)
	return out
}

// secretHolders are a value of every exported type of this package that
// holds a secret, by type name, and the secrets they hold.
func secretHolders(t *testing.T) (map[string]any, [][]byte) {
	cfg := krbconfig.New()
	kt := keytab.New()
	if err := kt.AddEntry("alice", "EXAMPLE.COM", secretKrbPass, time.Unix(1700000000, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	withKeytab := krbclient.NewWithKeytab("alice", "EXAMPLE.COM", kt, cfg)
	withPassword := krbclient.NewWithPassword("alice", "EXAMPLE.COM", secretKrbPass, cfg)
	tok := Token{Identifier: secretIdentifier, Password: secretPassword, Kind: KindDelegationToken, Service: "ha-hdfs:ns"}
	tokenCfg := Config{NameNodes: []string{"127.0.0.1:1"}, User: "alice", Tokens: []Token{tok}}
	c, err := NewClient(tokenCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	holders := map[string]any{
		"Token":           tok,
		"*Token":          &tok,
		"[]Token":         []Token{tok},
		"Config":          tokenCfg,
		"*Config":         &Config{NameNodes: []string{"nn:8020"}, Kerberos: &KerberosConfig{Client: withKeytab}},
		"KerberosConfig":  KerberosConfig{Client: withPassword},
		"*KerberosConfig": &KerberosConfig{Client: withKeytab},
		"*Client":         c,
	}
	return holders, [][]byte{secretPassword, []byte(secretKrbPass), kt.Entries[0].Key.KeyValue, secretIdentifier}
}

// TestNoSecretInFormattedValues: no value of a type holding a delegation
// token or Kerberos credentials shows a password, key or identifier under
// fmt, slog or encoding/json.
func TestNoSecretInFormattedValues(t *testing.T) {
	holders, secrets := secretHolders(t)
	for name, v := range holders {
		for how, out := range renderings(v) {
			for _, s := range secrets {
				for _, form := range secretForms(s) {
					if strings.Contains(out, form) {
						t.Errorf("%s under %s shows secret %q as %q:\n%s", name, how, s, form, out)
					}
				}
			}
		}
	}
	tok := holders["Token"].(Token)
	for how, out := range renderings(tok) {
		if strings.Contains(how, "%v") || strings.Contains(how, "json") || strings.HasPrefix(how, "slog") {
			if !strings.Contains(out, "ha-hdfs:ns") || !strings.Contains(out, KindDelegationToken) || !strings.Contains(out, "sha256:") {
				t.Errorf("Token under %s lacks its kind, service or identifier digest: %s", how, out)
			}
		}
	}
	if b, _ := json.Marshal(tok); !strings.Contains(string(b), "redacted: 37 bytes") {
		t.Errorf("Token JSON %s lacks the password's length", b)
	}
	var back Token
	if err := json.Unmarshal([]byte(`{"kind":"k","password":"<redacted: 3 bytes>"}`), &back); err == nil {
		t.Errorf("a Token decoded from redacted JSON: %v", back)
	}
}

// TestSecretHoldersListed: every exported type of this package whose
// fields (followed through the package's own types) reach a Token, a byte
// slice or a Kerberos client is in secretHolders.
func TestSecretHoldersListed(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]string{}
	for _, f := range pkgs["hdfs"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if _, ok := ts.Type.(*ast.StructType); !ok {
				return true
			}
			ast.Inspect(ts.Type, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.SelectorExpr:
					refs[ts.Name.Name] = append(refs[ts.Name.Name], fmt.Sprint(x.X)+"."+x.Sel.Name)
					return false
				case *ast.ArrayType:
					if id, ok := x.Elt.(*ast.Ident); ok && id.Name == "byte" {
						refs[ts.Name.Name] = append(refs[ts.Name.Name], "[]byte")
					}
				case *ast.Ident:
					refs[ts.Name.Name] = append(refs[ts.Name.Name], x.Name)
				}
				return true
			})
			return true
		})
	}
	roots := map[string]bool{"Token": true, "[]byte": true, "krbclient.Client": true}
	var holds func(string, map[string]bool) bool
	holds = func(name string, seen map[string]bool) bool {
		if roots[name] {
			return true
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(refs[name], func(r string) bool { return holds(r, seen) })
	}
	holders, _ := secretHolders(t)
	for name := range refs {
		_, listed := holders[name]
		_, listedPtr := holders["*"+name]
		if ast.IsExported(name) && !roots[name] && holds(name, map[string]bool{}) && !listed && !listedPtr {
			t.Errorf("type %s can hold a secret but is not in secretHolders", name)
		}
	}
}

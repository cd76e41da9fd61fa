// Package redacttest checks, in tests, that values holding secrets never
// show them: it renders a value every way a program might (fmt verbs,
// slog's text and JSON handlers, encoding/json, alone and nested) and
// looks for a secret in every encoding it could take there.
package redacttest

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

// Forms are the ways secret s could show in output: raw, as fmt prints a
// []byte, hex in both cases, and base64 in both alphabets at each of the
// three alignments s can have inside a longer encoded buffer. s should be
// printable (so that quoted forms contain it raw) and at least 12 bytes.
func Forms(s []byte) []string {
	forms := []string{string(s), strings.Trim(fmt.Sprint(s), "[]"), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			e := enc.EncodeToString(append(make([]byte, shift), s...))
			forms = append(forms, e[4:len(e)-4])
		}
	}
	return forms
}

// Renderings formats v under %v %+v %#v %s %d %x %q, slog's text and
// JSON handlers and json.Marshal, each alone and nested in a struct, by
// the name of the way.
func Renderings(v any) map[string]string {
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

// NoLeaks fails t for each rendering of each holder that shows any of
// secrets in any of its Forms.
func NoLeaks(t *testing.T, holders map[string]any, secrets [][]byte) {
	t.Helper()
	for name, v := range holders {
		for how, out := range Renderings(v) {
			for _, s := range secrets {
				for _, form := range Forms(s) {
					if strings.Contains(out, form) {
						t.Errorf("%s under %s shows secret %q as %q:\n%s", name, how, s, form, out)
					}
				}
			}
		}
	}
}

// Holders returns the exported struct types declared in the non-test Go
// files of dir whose fields, followed through the package's own types,
// mention one of roots: a type name of the package ("Token"), a qualified
// name ("krbclient.Client"), "[]byte", or "field:Name" for a field so
// named.
func Holders(t *testing.T, dir string, roots ...string) []string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]string{} // type name -> what its fields mention
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				name := ts.Name.Name
				for _, fld := range st.Fields.List {
					for _, id := range fld.Names {
						refs[name] = append(refs[name], "field:"+id.Name)
					}
				}
				ast.Inspect(st, func(n ast.Node) bool {
					switch x := n.(type) {
					case *ast.SelectorExpr:
						refs[name] = append(refs[name], fmt.Sprint(x.X)+"."+x.Sel.Name)
						return false
					case *ast.ArrayType:
						if id, ok := x.Elt.(*ast.Ident); ok && id.Name == "byte" && x.Len == nil {
							refs[name] = append(refs[name], "[]byte")
						}
					case *ast.Ident:
						refs[name] = append(refs[name], x.Name)
					}
					return true
				})
				return true
			})
		}
	}
	var holds func(string, map[string]bool) bool
	holds = func(name string, seen map[string]bool) bool {
		if slices.Contains(roots, name) {
			return true
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(refs[name], func(r string) bool { return holds(r, seen) })
	}
	var out []string
	for name := range refs {
		if ast.IsExported(name) && holds(name, map[string]bool{}) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// KerberosClients returns two gokrb5 clients for alice@EXAMPLE.COM, never
// logged in: one holding password, one holding a keytab derived from it,
// and the keytab's key bytes, a secret too.
func KerberosClients(t *testing.T, password string) (withPassword, withKeytab *krbclient.Client, key []byte) {
	t.Helper()
	cfg := krbconfig.New()
	kt := keytab.New()
	if err := kt.AddEntry("alice", "EXAMPLE.COM", password, time.Unix(1700000000, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	return krbclient.NewWithPassword("alice", "EXAMPLE.COM", password, cfg),
		krbclient.NewWithKeytab("alice", "EXAMPLE.COM", kt, cfg), kt.Entries[0].Key.KeyValue
}

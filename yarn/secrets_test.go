package yarn

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
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// Distinctive secrets: printable, so that a leak shows in quoted forms
// too, and long enough that every encoding of them is recognizable.
var (
	secretPassword   = []byte("PW-4f1d-token-password-SECRET-a9c3")
	secretKey        = []byte("KEY-77e2-credentials-secret-SECRET-b4")
	secretMasterKey  = []byte("MK-1b8e-client-to-am-master-SECRET-c5")
	secretService    = []byte("SD-6a0f-shuffle-service-data-SECRET-d6")
	secretURLPass    = "URLPW-3c7a-in-a-resource-url-SECRET-e7"
	secretKrbPass    = "KRBPW-9d2b-kerberos-password-SECRET-f8"
	secretIdentifier = []byte("ID-5e4c-opaque-identifier-bytes-0123")
)

func secretToken() Token {
	return Token{Identifier: secretIdentifier, Password: secretPassword, Kind: "OPAQUE_KIND", Service: "10.0.0.1:8020"}
}

func secretCredentials() *Credentials {
	var c Credentials
	c.AddToken("hdfs", secretToken())
	c.AddToken("", Token{Identifier: amrmIdentifier(1700000000000, 7, 1, 3), Password: secretPassword, Kind: KindAMRMToken})
	c.AddSecret("key", secretKey)
	return &c
}

// secretForms are the ways a secret could show in output: raw, Go-quoted,
// as fmt prints a []byte, hex, and base64 in both alphabets at each of
// the three alignments it can have inside a longer encoded buffer.
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

// fill sets every field of v that can hold a secret, recursively: tokens,
// credentials, byte slices, maps of byte slices, resource URLs; structs,
// pointers to structs, slices and maps of them are filled with one entry.
func fill(v reflect.Value, depth int) {
	if depth > 4 || !v.CanSet() {
		return
	}
	switch v.Type() {
	case reflect.TypeFor[Token]():
		v.Set(reflect.ValueOf(secretToken()))
		return
	case reflect.TypeFor[*Credentials]():
		v.Set(reflect.ValueOf(secretCredentials()))
		return
	case reflect.TypeFor[[]byte]():
		v.Set(reflect.ValueOf(bytes.Clone(secretMasterKey)))
		return
	case reflect.TypeFor[map[string][]byte]():
		v.Set(reflect.ValueOf(map[string][]byte{"mapreduce_shuffle": secretService}))
		return
	case reflect.TypeFor[LocalResource]():
		v.Set(reflect.ValueOf(LocalResource{URL: "s3a://AKIA:" + secretURLPass + "@bucket/app.jar", Size: 1}))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		if k := v.Type().Elem().Kind(); k == reflect.Struct || k == reflect.Pointer {
			s := reflect.MakeSlice(v.Type(), 1, 1)
			fill(s.Index(0), depth+1)
			v.Set(s)
		}
	case reflect.Map:
		if k := v.Type().Elem().Kind(); (k == reflect.Struct || k == reflect.Pointer) && v.Type().Key().Kind() == reflect.String {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, depth+1)
			m := reflect.MakeMap(v.Type())
			m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
			v.Set(m)
		}
	}
}

func filled[T any]() T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), 0)
	return v
}

// kerberosClients are logged-out gokrb5 clients holding a password and a
// keytab; the keytab's key bytes are returned as a secret too.
func kerberosClients(t *testing.T) (*krbclient.Client, *krbclient.Client, []byte) {
	cfg := krbconfig.New()
	withPassword := krbclient.NewWithPassword("alice", "EXAMPLE.COM", secretKrbPass, cfg, krbclient.DisablePAFXFAST(true))
	kt := keytab.New()
	if err := kt.AddEntry("alice", "EXAMPLE.COM", secretKrbPass, time.Unix(1700000000, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	return withPassword, krbclient.NewWithKeytab("alice", "EXAMPLE.COM", kt, cfg), kt.Entries[0].Key.KeyValue
}

// secretHolders are a value of every exported type that holds a secret,
// filled with the secrets above, by the name of its type.
func secretHolders(t *testing.T) (map[string]any, [][]byte) {
	krbPass, krbKeytab, keyBytes := kerberosClients(t)
	tok := secretToken()
	creds := secretCredentials()
	amc, err := NewAMClient(AMConfig{ResourceManagers: []RMAddress{{Scheduler: "127.0.0.1:1"}}, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { amc.Close() })
	nmc, err := NewNMClient(NMConfig{NMTokens: amc.NMToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nmc.Close() })
	cfg := Config{ResourceManagers: []RMAddress{{RPC: "127.0.0.1:1", Web: "http://127.0.0.1:1"}}, Kerberos: &KerberosConfig{Client: krbKeytab}}
	rmc, err := NewRMClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rmc.Close() })
	restCfg := cfg
	restCfg.Kerberos = &KerberosConfig{Client: krbPass}
	rc, err := NewRESTClient(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })

	holders := map[string]any{
		"Token":                  tok,
		"*Token":                 &tok,
		"[]Token":                []Token{tok},
		"map[string]Token":       map[string]Token{"a": tok},
		"Credentials":            *creds,
		"*Credentials":           creds,
		"NMToken":                filled[NMToken](),
		"AMRegistrationResponse": filled[AMRegistrationResponse](),
		"AllocateResponse":       filled[AllocateResponse](),
		"ApplicationReport":      filled[ApplicationReport](),
		"Container":              filled[Container](),
		"ContainerLaunchContext": filled[ContainerLaunchContext](),
		"ApplicationSubmission":  filled[ApplicationSubmission](),
		"LocalResource":          filled[LocalResource](),
		"AMConfig":               AMConfig{ResourceManagers: []RMAddress{{Scheduler: "h:1"}}, Token: tok},
		"Config":                 cfg,
		"KerberosConfig":         KerberosConfig{Client: krbPass},
		"*KerberosConfig":        &KerberosConfig{Client: krbKeytab},
		"HDFSTokenConfig":        HDFSTokenConfig{NameNode: "nn:8020", Kerberos: &KerberosConfig{Client: krbPass}, Renewer: "rm"},
		"NMConfig":               NMConfig{NMTokens: amc.NMToken},
		"QueueInfo":              filled[QueueInfo](),
		"Completion":             filled[Completion](),
		"UpdatedContainer":       filled[UpdatedContainer](),
		"*URLError":              &URLError{URL: "s3a://AKIA:" + secretURLPass + "@bucket/f", Reason: "has no host"},
		"error":                  fmt.Errorf("wrapped: %w", &URLError{URL: "s3a://AKIA:" + secretURLPass + "@bucket/f"}),
		"*AMClient":              amc,
		"*NMClient":              nmc,
		"*RMClient":              rmc,
		"*RESTClient":            rc,
	}
	secrets := [][]byte{secretPassword, secretKey, secretMasterKey, secretService, []byte(secretURLPass), []byte(secretKrbPass), keyBytes}
	return holders, secrets
}

// renderings formats v every way a program might show it.
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

// TestNoSecretInFormattedValues: no value of a type holding a token,
// credentials, a secret key, a password in a URL or Kerberos credentials
// shows any of them under fmt, slog or encoding/json.
func TestNoSecretInFormattedValues(t *testing.T) {
	holders, secrets := secretHolders(t)
	secrets = append(secrets, secretIdentifier) // shown only by its digest
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
}

// TestFormattedTokensStayUseful: redacted output still tells tokens apart.
func TestFormattedTokensStayUseful(t *testing.T) {
	tok := secretToken()
	for how, out := range renderings(tok) {
		if how == "%d" || how == "nested %d" || strings.HasSuffix(how, "%x") || how == "%q" || how == "nested %q" {
			continue
		}
		for _, want := range []string{"OPAQUE_KIND", "10.0.0.1:8020", "redacted: 34 bytes", "sha256:"} {
			if !strings.Contains(out, want) {
				t.Errorf("Token under %s lacks %q: %s", how, want, out)
			}
		}
	}
	creds := secretCredentials()
	for how, out := range renderings(creds) {
		if strings.HasSuffix(how, "%v") || strings.HasPrefix(how, "slog") || strings.HasSuffix(how, "json") {
			for _, want := range []string{"hdfs", "key", "OPAQUE_KIND", "YARN_AM_RM_TOKEN", "redacted: 37 bytes"} {
				if !strings.Contains(out, want) {
					t.Errorf("Credentials under %s lacks %q: %s", how, want, out)
				}
			}
		}
	}
	redacted, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	var back Token
	if err := json.Unmarshal(redacted, &back); err == nil {
		t.Errorf("a Token decoded from its redacted JSON %s: %v", redacted, back)
	}
}

// TestValidationHidesURLPassword: a submission refused for a local
// resource URL does not quote the URL's password in the error.
func TestValidationHidesURLPassword(t *testing.T) {
	sub := secretSubmission()
	sub.AM.Credentials = nil
	sub.AM.LocalResources = map[string]LocalResource{"f": {URL: "s3a://AKIA:" + secretURLPass + "@bucket:99999/f", Size: 1, Timestamp: 1}}
	err := sub.Validate()
	if err == nil || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("Validate: %v, want an error about the URL", err)
	}
	if strings.Contains(err.Error(), secretURLPass) || strings.Contains(fmt.Sprintf("%+v", err), secretURLPass) {
		t.Errorf("Validate's error shows the URL password: %v", err)
	}
}

// TestSecretsStillTravel: the encoders meant to carry secrets still do:
// the REST submission body, token URL strings and token files.
func TestSecretsStillTravel(t *testing.T) {
	sub := secretSubmission()
	sub.AM.Credentials = secretCredentials()
	sub.AM.ServiceData = map[string][]byte{"mapreduce_shuffle": secretService}
	rs, err := submissionToREST(sub)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	urlTok, err := secretToken().URLString()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{urlTok, base64.URLEncoding.EncodeToString(secretKey), base64.URLEncoding.EncodeToString(secretService)} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("the REST submission body lacks %q:\n%s", want, body)
		}
	}
	if back, err := ParseTokenURLString(urlTok); err != nil || !bytes.Equal(back.Password, secretPassword) {
		t.Errorf("token URL string round trip: %v, %v", back, err)
	}
	file, err := secretCredentials().MarshalBinary()
	if err != nil || !bytes.Contains(file, secretPassword) || !bytes.Contains(file, secretKey) {
		t.Errorf("the token file lacks the password or key (%v)", err)
	}
}

// TestSecretHoldersListed: every exported type of this package whose
// fields (followed through the package's own types) reach a token,
// credentials, a byte slice, a resource URL or a Kerberos client is in
// secretHolders, so a new one cannot escape TestNoSecretInFormattedValues.
func TestSecretHoldersListed(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]string{} // type name -> names its fields mention
	for _, f := range pkgs["yarn"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				ast.Inspect(fld.Type, func(n ast.Node) bool {
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
				for _, name := range fld.Names {
					if name.Name == "URL" {
						refs[ts.Name.Name] = append(refs[ts.Name.Name], "URL")
					}
				}
			}
			return true
		})
	}
	roots := map[string]bool{"Token": true, "Credentials": true, "[]byte": true, "URL": true, "krbclient.Client": true}
	var holds func(name string, seen map[string]bool) bool
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
	listed := map[string]bool{}
	for name := range holders {
		listed[strings.TrimPrefix(name, "*")] = true
	}
	for name := range refs {
		if ast.IsExported(name) && holds(name, map[string]bool{}) && !listed[name] && !roots[name] {
			t.Errorf("type %s can hold a secret but is not in secretHolders", name)
		}
	}
}

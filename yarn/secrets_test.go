package yarn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/internal/redact/redacttest"
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

// secretHolders are a value of every exported type that holds a secret,
// filled with the secrets above, by the name of its type.
func secretHolders(t *testing.T) (map[string]any, [][]byte) {
	krbPass, krbKeytab, keyBytes := redacttest.KerberosClients(t, secretKrbPass)
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

// TestNoSecretInFormattedValues: no value of a type holding a token,
// credentials, a secret key, a password in a URL or Kerberos credentials
// shows any of them under fmt, slog or encoding/json.
func TestNoSecretInFormattedValues(t *testing.T) {
	holders, secrets := secretHolders(t)
	redacttest.NoLeaks(t, holders, append(secrets, secretIdentifier)) // the identifier shows only by its digest
}

// TestFormattedTokensStayUseful: redacted output still tells tokens apart.
func TestFormattedTokensStayUseful(t *testing.T) {
	tok := secretToken()
	for how, out := range redacttest.Renderings(tok) {
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
	for how, out := range redacttest.Renderings(creds) {
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
// credentials, a byte slice, a URL or a Kerberos client is in
// secretHolders, so a new one cannot escape TestNoSecretInFormattedValues.
func TestSecretHoldersListed(t *testing.T) {
	holders, _ := secretHolders(t)
	for _, name := range redacttest.Holders(t, ".", "Token", "Credentials", "[]byte", "field:URL", "krbclient.Client") {
		_, listed := holders[name]
		_, listedPtr := holders["*"+name]
		if !listed && !listedPtr {
			t.Errorf("type %s can hold a secret but is not in secretHolders", name)
		}
	}
}

package hdfs

import (
	"encoding/json"
	"strings"
	"testing"

	pbc "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/redact/redacttest"
)

var (
	secretPassword   = []byte("PW-4f1d-hdfs-token-password-SECRET-a9")
	secretKrbPass    = "KRBPW-9d2b-kerberos-password-SECRET-f8"
	secretIdentifier = []byte("ID-5e4c-opaque-identifier-bytes-0123")
)

// secretHolders are a value of every exported type of this package that
// holds a secret, by type name, and the secrets they hold.
func secretHolders(t *testing.T) (map[string]any, [][]byte) {
	withPassword, withKeytab, keyBytes := redacttest.KerberosClients(t, secretKrbPass)
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
		"*FileReader":     &FileReader{c: c, path: "/r", blocks: []*pb.LocatedBlockProto{{BlockToken: &pbc.TokenProto{Identifier: secretIdentifier, Password: secretPassword}}}},
		"*FileWriter":     &FileWriter{c: c, path: "/w", name: "spindle_x"},
	}
	return holders, [][]byte{secretPassword, []byte(secretKrbPass), keyBytes, secretIdentifier}
}

// TestNoSecretInFormattedValues: no value of a type holding a delegation
// token or Kerberos credentials shows a password, key or identifier under
// fmt, slog or encoding/json.
func TestNoSecretInFormattedValues(t *testing.T) {
	holders, secrets := secretHolders(t)
	redacttest.NoLeaks(t, holders, secrets)
	tok := holders["Token"].(Token)
	for how, out := range redacttest.Renderings(tok) {
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
	holders, _ := secretHolders(t)
	for _, name := range redacttest.Holders(t, ".", "Token", "[]byte", "krbclient.Client") {
		_, listed := holders[name]
		_, listedPtr := holders["*"+name]
		if !listed && !listedPtr {
			t.Errorf("type %s can hold a secret but is not in secretHolders", name)
		}
	}
}

package hdfs

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigFromHadoopConf(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]string
		want Config
	}{{
		name: "single NameNode, simple",
		conf: map[string]string{"fs.defaultFS": "hdfs://nn.example.com:9000"},
		want: Config{NameNodes: []string{"nn.example.com:9000"}},
	}, {
		name: "default port, Kerberos, protections, renewer",
		conf: map[string]string{
			"fs.defaultFS":                     "hdfs://nn.example.com",
			"hadoop.security.authentication":   "Kerberos",
			"dfs.namenode.kerberos.principal":  "nn/_HOST@EXAMPLE.COM",
			"hadoop.rpc.protection":            "privacy",
			"dfs.data.transfer.protection":     "integrity,authentication",
			"dfs.client.use.datanode.hostname": "true",
			"yarn.resourcemanager.principal":   "rm/_HOST@EXAMPLE.COM",
		},
		want: Config{
			NameNodes:              []string{"nn.example.com:8020"},
			Kerberos:               &KerberosConfig{ServerPrincipal: "nn/_HOST@EXAMPLE.COM"},
			RPCProtection:          "privacy",
			DataTransferProtection: "integrity",
			UseDatanodeHostname:    true,
			TokenRenewer:           "rm",
		},
	}, {
		name: "HA nameservice and another one",
		conf: map[string]string{
			"fs.defaultFS":                       "hdfs://ns1",
			"dfs.nameservices":                   "ns1, ns2",
			"dfs.ha.namenodes.ns1":               "a,b",
			"dfs.namenode.rpc-address.ns1.a":     "nn1:8020",
			"dfs.namenode.rpc-address.ns1.b":     "nn2:8020",
			"dfs.ha.namenodes.ns2":               "x",
			"dfs.namenode.rpc-address.ns2.x":     "other:8020",
			"dfs.encrypt.data.transfer":          "true",
			"dfs.data.transfer.protection":       "authentication",
			"hadoop.security.authentication":     "simple",
			"dfs.namenode.kerberos.principal":    "ignored",
			"dfs.client.use.datanode.hostname":   "false",
			"yarn.resourcemanager.principal":     "",
			"dfs.namenode.rpc-address.ns1.extra": "unused:1",
		},
		want: Config{
			NameNodes:              []string{"nn1:8020", "nn2:8020"},
			NameService:            "ns1",
			NameServices:           map[string][]string{"ns2": {"other:8020"}},
			DataTransferProtection: "privacy",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromHadoopConf(tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Config (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigFromHadoopConfErrors(t *testing.T) {
	for _, conf := range []map[string]string{
		{},
		{"fs.defaultFS": "file:///"},
		{"fs.defaultFS": "hdfs:///path"},
	} {
		if _, err := ConfigFromHadoopConf(conf); !errors.Is(err, ErrConfig) {
			t.Errorf("%v: err %v, want ErrConfig", conf, err)
		}
	}
}

func TestNewClientValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no NameNodes", Config{User: "u"}},
		{"NameNode without port", Config{User: "u", NameNodes: []string{"nn"}}},
		{"Kerberos without client", Config{NameNodes: []string{"nn:1"}, Kerberos: &KerberosConfig{}}},
		{"tokens without user", Config{NameNodes: []string{"nn:1"}, Tokens: []Token{{Kind: KindDelegationToken}}}},
		{"bad protection", Config{User: "u", NameNodes: []string{"nn:1"}, RPCProtection: "secret"}},
		{"bad data protection", Config{User: "u", NameNodes: []string{"nn:1"}, DataTransferProtection: "full"}},
		{"relative staging root", Config{User: "u", NameNodes: []string{"nn:1"}, StagingRoot: "staging"}},
		{"negative concurrency", Config{User: "u", NameNodes: []string{"nn:1"}, Concurrency: -1}},
		{"negative failover timeout", Config{User: "u", NameNodes: []string{"nn:1"}, FailoverTimeout: -1}},
	}
	for _, tt := range tests {
		if _, err := NewClient(tt.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tt.name, err)
		}
	}
}

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient(Config{User: "alice", NameNodes: []string{"nn:8020"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := map[string]string{
		"staging":  c.StagingDir("application_1_0001"),
		"private":  c.cfg.PrivateCacheDir,
		"public":   c.cfg.PublicCacheRoot,
		"url":      c.URL("/a/b"),
		"user":     c.User(),
		"parallel": string(rune('0' + c.cfg.Concurrency)),
	}
	want := map[string]string{
		"staging":  "/user/alice/.spindle/application_1_0001",
		"private":  "/user/alice/.spindle/cache",
		"public":   "/tmp/spindle-cache",
		"url":      "hdfs://nn:8020/a/b",
		"user":     "alice",
		"parallel": "4",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}

	ha, err := NewClient(Config{Tokens: []Token{{Kind: KindDelegationToken}}, User: "bob", NameNodes: []string{"a:1", "b:1"}, NameService: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	if u := ha.URL("/x"); u != "hdfs://ns1/x" {
		t.Errorf("HA URL %q, want hdfs://ns1/x", u)
	}
}

func TestShortName(t *testing.T) {
	for in, want := range map[string]string{
		"rm/host.example.com@EXAMPLE.COM": "rm",
		"alice@EXAMPLE.COM":               "alice",
		"hadoop":                          "hadoop",
	} {
		if got := ShortName(in); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenNeverShowsPassword(t *testing.T) {
	tok := Token{Identifier: []byte("id"), Password: []byte("hunter2-secret"), Kind: KindDelegationToken, Service: "1.2.3.4:8020"}
	for _, s := range []string{tok.String(), tok.GoString(), tok.LogValue().String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("%q shows the password", s)
		}
	}
}

func TestPickToken(t *testing.T) {
	other := Token{Kind: KindDelegationToken, Service: "10.9.9.9:8020", Identifier: []byte("other")}
	mine := Token{Kind: KindDelegationToken, Service: "127.0.0.1:8020", Identifier: []byte("mine")}
	ha := Token{Kind: KindDelegationToken, Service: "ha-hdfs:ns1", Identifier: []byte("ha")}
	amrm := Token{Kind: "YARN_AM_RM_TOKEN", Identifier: []byte("amrm")}
	tests := []struct {
		name   string
		tokens []Token
		addr   string
		ns     string
		want   string
		ok     bool
	}{
		{"by resolved address", []Token{amrm, other, mine}, "localhost:8020", "", "mine", true},
		{"by nameservice", []Token{mine, ha}, "10.1.1.1:8020", "ns1", "ha", true},
		{"first HDFS token otherwise", []Token{amrm, other}, "127.0.0.1:9999", "", "other", true},
		{"none", []Token{amrm}, "127.0.0.1:8020", "", "", false},
	}
	for _, tt := range tests {
		got, ok := pickToken(tt.tokens, tt.addr, tt.ns)
		if ok != tt.ok || string(got.Identifier) != tt.want {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, got.Identifier, ok, tt.want, tt.ok)
		}
	}
}

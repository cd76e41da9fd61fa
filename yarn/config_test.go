package yarn

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigFromHadoopConf(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]string
		want Config
	}{{
		name: "single RM with explicit addresses",
		conf: map[string]string{
			"yarn.resourcemanager.address":           "rm.example.com:8032",
			"yarn.resourcemanager.scheduler.address": "rm.example.com:8030",
			"yarn.resourcemanager.webapp.address":    "rm.example.com:8088",
			"hadoop.rpc.protection":                  "privacy",
		},
		want: Config{
			ResourceManagers: []RMAddress{{RPC: "rm.example.com:8032", Scheduler: "rm.example.com:8030", Web: "http://rm.example.com:8088"}},
			RPCProtection:    "privacy",
		},
	}, {
		name: "single RM from the host name and default ports, expanded as Hadoop's defaults write them",
		conf: map[string]string{
			"yarn.resourcemanager.hostname":          "rm",
			"yarn.resourcemanager.address":           "${yarn.resourcemanager.hostname}:8032",
			"yarn.resourcemanager.scheduler.address": "${yarn.resourcemanager.hostname}:8030",
		},
		want: Config{ResourceManagers: []RMAddress{{RPC: "rm:8032", Scheduler: "rm:8030", Web: "http://rm:8088"}}},
	}, {
		name: "HA with per-id host names and one explicit address",
		conf: map[string]string{
			"yarn.resourcemanager.ha.enabled":              "true",
			"yarn.resourcemanager.ha.rm-ids":               "rm1, rm2",
			"yarn.resourcemanager.hostname.rm1":            "a",
			"yarn.resourcemanager.hostname.rm2":            "b",
			"yarn.resourcemanager.address.rm2":             "b:9032",
			"yarn.http.policy":                             "HTTPS_ONLY",
			"hadoop.security.authentication":               "kerberos",
			"yarn.resourcemanager.principal":               "rm/_HOST@EXAMPLE.COM",
			"yarn.resourcemanager.webapp.spnego-principal": "HTTP/_HOST@EXAMPLE.COM",
		},
		want: Config{
			ResourceManagers: []RMAddress{
				{ID: "rm1", RPC: "a:8032", Scheduler: "a:8030", Web: "https://a:8090"},
				{ID: "rm2", RPC: "b:9032", Scheduler: "b:8030", Web: "https://b:8090"},
			},
			Kerberos: &KerberosConfig{ServerPrincipal: "rm/_HOST@EXAMPLE.COM", HTTPPrincipal: "HTTP/_HOST@EXAMPLE.COM"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromHadoopConf(tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConfigFromHadoopConf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigFromHadoopConfErrors(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]string
	}{
		{"nothing configured", map[string]string{}},
		{"wildcard address", map[string]string{"yarn.resourcemanager.hostname": "0.0.0.0"}},
		{"HA without ids", map[string]string{"yarn.resourcemanager.ha.enabled": "true"}},
		{"HA id without address", map[string]string{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromHadoopConf(tt.conf)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := RMAddress{ID: "rm1", RPC: "a:8032"}
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"one RM", Config{ResourceManagers: []RMAddress{{RPC: "a:8032"}}}, true},
		{"no RMs", Config{}, false},
		{"bad address", Config{ResourceManagers: []RMAddress{{RPC: "a"}}}, false},
		{"HA needs ids", Config{ResourceManagers: []RMAddress{ok, {RPC: "b:8032"}}}, false},
		{"HA duplicate ids", Config{ResourceManagers: []RMAddress{ok, ok}}, false},
		{"kerberos without a client", Config{ResourceManagers: []RMAddress{ok}, Kerberos: &KerberosConfig{}}, false},
		{"bad protection", Config{ResourceManagers: []RMAddress{ok}, RPCProtection: "secret"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if (err == nil) != tt.ok {
				t.Fatalf("validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("%v does not match ErrConfig", err)
			}
		})
	}
}

package yarn_test

import (
	"errors"
	"testing"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/ipc/ipctest"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestKerberosClientRefusesSimpleRM: a Kerberos RMClient meets an RM that
// answers SASL negotiation with "use SIMPLE" (ipctest without
// WithTokens). It refuses, and no call reaches the RM, unless
// Config.AllowSimpleFallback, read from
// ipc.client.fallback-to-simple-auth-allowed, allows it. No KDC is needed:
// the GSSAPI exchange never starts.
func TestKerberosClientRefusesSimpleRM(t *testing.T) {
	rm := ipctest.NewServer(t, ipctest.Methods{
		"getClusterMetrics": func(*ipctest.Call) ipctest.Reply {
			return ipctest.Respond(&pb.GetClusterMetricsResponseProto{
				ClusterMetrics: &pb.YarnClusterMetricsProto{NumNodeManagers: proto.Int32(2)}})
		},
	})
	kc := krbclient.NewWithPassword("alice", "EXAMPLE.COM", "unused", krbconfig.New())
	conf := map[string]string{
		"yarn.resourcemanager.address":   rm.Addr,
		"hadoop.security.authentication": "kerberos",
		"yarn.resourcemanager.principal": "rm/_HOST@EXAMPLE.COM",
	}
	for _, allow := range []bool{false, true} {
		if allow {
			conf["ipc.client.fallback-to-simple-auth-allowed"] = "true"
		}
		cfg, err := yarn.ConfigFromHadoopConf(conf)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AllowSimpleFallback != allow {
			t.Fatalf("AllowSimpleFallback = %v from %v", cfg.AllowSimpleFallback, conf)
		}
		cfg.Kerberos.Client = kc
		c, err := yarn.NewRMClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.ClusterMetrics(t.Context())
		c.Close()
		var fe *ipc.SimpleFallbackError
		if !allow && (!errors.As(err, &fe) || !errors.Is(err, yarn.ErrUnauthorized)) {
			t.Errorf("fallback not allowed: %v, want a refused SIMPLE fallback", err)
		}
		if allow && (err != nil || m.NodeManagers != 2) {
			t.Errorf("fallback allowed: %+v, %v", m, err)
		}
	}
	if n := rm.Calls(""); n != 1 {
		t.Errorf("%d calls reached the RM, want only the allowed one", n)
	}
}

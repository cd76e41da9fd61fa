//go:build integration

package integration

import (
	"errors"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/internal/ipc"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// TestIPCSimpleDowngradeRefused: the plain test bed's RM offers TOKEN and
// SIMPLE. A client holding Kerberos credentials but no token could only
// use SIMPLE, and refuses it, having sent nothing after its NEGOTIATE;
// with AllowSimpleFallback (ipc.client.fallback-to-simple-auth-allowed) it
// falls back and its call succeeds as the principal. No KDC is involved:
// the GSSAPI exchange never starts.
func TestIPCSimpleDowngradeRefused(t *testing.T) {
	tb := testbed.RequirePlain(t)
	ctx := testContext(t, time.Minute)
	for _, allow := range []bool{false, true} {
		c := newRMClient(t, tb, func(cfg *ipc.Config) {
			cfg.Auth = ipc.Auth{AllowSimpleFallback: allow, Kerberos: &ipc.KerberosAuth{
				Principal:       currentUser(t) + "@EXAMPLE.COM",
				ServerPrincipal: "rm/_HOST@EXAMPLE.COM",
				NewClient: func(string) (sasl.Client, error) {
					return nil, errors.New("GSSAPI must not start against a server that offers no KERBEROS")
				},
			}}
		})
		n, err := getClusterMetrics(ctx, c)
		var fe *ipc.SimpleFallbackError
		if !allow && (!errors.As(err, &fe) || !errors.Is(err, ipc.ErrUnauthorized)) {
			t.Errorf("fallback not allowed: %v, want a *ipc.SimpleFallbackError", err)
		}
		if allow && (err != nil || n != int64(tb.Ready.NodeManagers)) {
			t.Errorf("fallback allowed: %d NodeManagers, %v", n, err)
		}
	}
}

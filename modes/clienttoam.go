package modes

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spindle-yarn/spindle/modes/internal/clienttoam"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/yarn"
)

// tokenControl is the control client of the running application r for a
// client without its local record (so without the deployment secret):
// it authenticates with the ClientToAMToken the ResourceManager put in
// r, which it does on Kerberos clusters for users with VIEW access. What
// the JobManager then allows depends on the user (package clienttoam).
// recordDir names where the record would have been, for the error.
func tokenControl(r yarn.ApplicationReport, recordDir string) (*control.Client, error) {
	if r.ClientToAMToken == nil {
		return nil, fmt.Errorf("no local record of %s (looked in %s) and the ResourceManager gave no ClientToAMToken for it: "+
			"on a cluster without Kerberos only the user and machine that started it can use it; on a Kerberos cluster you need VIEW access to it (its owner is %s)",
			r.ID, recordDir, r.User)
	}
	addr := net.JoinHostPort(r.Host, strconv.Itoa(int(r.RPCPort)))
	return control.NewClientTransport(addr, &clienttoam.Transport{Token: *r.ClientToAMToken}), nil
}

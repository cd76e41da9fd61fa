package deploy

import (
	"errors"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/internal/identity"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// keytabDependencies are the JobManager-only files staged for a shipped
// keytab: the keytab and the krb5.conf this client logs in with, both
// uploaded into the application's 0700 staging directory (never the
// shared caches), so they are removed with it.
func keytabDependencies(req *Request) ([]hdfs.Dependency, error) {
	if req.ShipKeytab == "" {
		return nil, nil
	}
	if req.ShipPrincipal == "" {
		return nil, errors.New("deploy: shipping a keytab needs its principal (-principal)")
	}
	st, err := os.Stat(req.ShipKeytab)
	if err != nil {
		return nil, fmt.Errorf("deploy: -ship-keytab: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("deploy: -ship-keytab: %s is not a file", req.ShipKeytab)
	}
	deps := []hdfs.Dependency{{Local: req.ShipKeytab, Name: launch.KeytabResource, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityApplication}}
	if conf := identity.Krb5ConfPath(""); fileExists(conf) {
		deps = append(deps, hdfs.Dependency{Local: conf, Name: launch.Krb5ConfResource, Type: hdfs.TypeFile, Visibility: hdfs.VisibilityApplication})
	}
	return deps, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// splitKeytab moves the shipped keytab's resources out of the spec's (the
// TaskManagers localize those) and returns the JobManager's: the spec's
// plus the keytab and krb5.conf as PRIVATE resources. It records the
// principal and the NameNodes' principal in the spec. Without a shipped
// keytab it returns the spec's resources.
func splitKeytab(req *Request, spec *launch.ClusterSpec) (map[string]yarn.LocalResource, error) {
	if req.ShipKeytab == "" {
		return spec.Resources, nil
	}
	hcfg, err := hdfs.LoadConfig(req.HadoopConfDir)
	if err != nil {
		return nil, err
	}
	if hcfg.Kerberos == nil {
		return nil, errors.New("deploy: -ship-keytab: the cluster does not use Kerberos (hadoop.security.authentication)")
	}
	spec.Keytab = &launch.KeytabSpec{Principal: req.ShipPrincipal, NameNodePrincipal: hcfg.Kerberos.ServerPrincipal}
	am := make(map[string]yarn.LocalResource, len(spec.Resources))
	tm := make(map[string]yarn.LocalResource, len(spec.Resources))
	for name, r := range spec.Resources {
		switch name {
		case launch.KeytabResource, launch.Krb5ConfResource:
			r.Visibility = yarn.VisibilityPrivate
		default:
			tm[name] = r
		}
		am[name] = r
	}
	spec.Resources = tm
	return am, nil
}

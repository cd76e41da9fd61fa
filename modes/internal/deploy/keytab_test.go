package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestShipKeytab: the keytab and krb5.conf go into the staging directory
// (APPLICATION storage), reach the JobManager as PRIVATE resources and are
// not among the spec's resources, which TaskManagers localize; the spec
// names the principal and the NameNodes' principal.
func TestShipKeytab(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("core-site.xml", `<configuration>
<property><name>fs.defaultFS</name><value>hdfs://nn.example:8020</value></property>
<property><name>hadoop.security.authentication</name><value>kerberos</value></property>
</configuration>`)
	write("hdfs-site.xml", `<configuration>
<property><name>dfs.namenode.kerberos.principal</name><value>nn/_HOST@EXAMPLE.COM</value></property>
</configuration>`)
	keytab := write("alice.keytab", "not really a keytab")
	t.Setenv("KRB5_CONFIG", write("krb5.conf", "[libdefaults]\n"))

	req := &Request{HadoopConfDir: dir, ShipKeytab: keytab, ShipPrincipal: "alice@EXAMPLE.COM"}
	deps, err := keytabDependencies(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 || deps[0].Name != launch.KeytabResource || deps[1].Name != launch.Krb5ConfResource {
		t.Fatalf("dependencies %+v", deps)
	}
	for _, d := range deps {
		if d.Visibility != hdfs.VisibilityApplication {
			t.Errorf("%s staged %v, want into the staging directory (APPLICATION), not a cache", d.Name, d.Visibility)
		}
	}

	spec := &launch.ClusterSpec{Resources: map[string]yarn.LocalResource{
		launch.BinaryResource:   {URL: "hdfs:///cache/bin"},
		launch.KeytabResource:   {URL: "hdfs:///staging/k", Visibility: yarn.VisibilityApplication},
		launch.Krb5ConfResource: {URL: "hdfs:///staging/c", Visibility: yarn.VisibilityApplication},
	}}
	am, err := splitKeytab(req, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := spec.Resources[launch.KeytabResource]; ok || len(spec.Resources) != 1 {
		t.Errorf("the TaskManagers' resources %v hold more than the binary", spec.Resources)
	}
	if len(am) != 3 || am[launch.KeytabResource].Visibility != yarn.VisibilityPrivate || am[launch.Krb5ConfResource].Visibility != yarn.VisibilityPrivate {
		t.Errorf("the JobManager's resources %v: want the binary and PRIVATE keytab and krb5.conf", am)
	}
	if spec.Keytab == nil || spec.Keytab.Principal != "alice@EXAMPLE.COM" || spec.Keytab.NameNodePrincipal != "nn/_HOST@EXAMPLE.COM" {
		t.Errorf("spec.Keytab = %+v", spec.Keytab)
	}

	if _, err := keytabDependencies(&Request{ShipKeytab: keytab}); err == nil {
		t.Error("a keytab without principal was accepted")
	}
	if _, err := keytabDependencies(&Request{ShipKeytab: dir, ShipPrincipal: "a"}); err == nil {
		t.Error("a directory was accepted as keytab")
	}
	noKeytab := &launch.ClusterSpec{Resources: spec.Resources}
	if got, err := splitKeytab(&Request{}, noKeytab); err != nil || len(got) != 1 || noKeytab.Keytab != nil {
		t.Errorf("without a keytab: %v, %v, %+v", got, err, noKeytab.Keytab)
	}
}

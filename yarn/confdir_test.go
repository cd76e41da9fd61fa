package yarn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HADOOP_CONF_DIR", dir)
	_, err := LoadConfig("")
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "HADOOP_CONF_DIR "+dir) {
		t.Fatalf("LoadConfig on an empty HADOOP_CONF_DIR = %v, want ErrConfig naming HADOOP_CONF_DIR and the path", err)
	}
	site := `<configuration>
<property><name>yarn.resourcemanager.hostname</name><value>rm.example</value></property>
<property><name>yarn.resourcemanager.scheduler.address</name><value>${yarn.resourcemanager.hostname}:9030</value></property>
</configuration>`
	if err := os.WriteFile(filepath.Join(dir, "yarn-site.xml"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ResourceManagers) != 1 || cfg.ResourceManagers[0].RPC != "rm.example:8032" || cfg.ResourceManagers[0].Scheduler != "rm.example:9030" {
		t.Errorf("LoadConfig ResourceManagers = %+v", cfg.ResourceManagers)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing")); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("LoadConfig(missing) = %v", err)
	}
}

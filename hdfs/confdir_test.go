package hdfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(dir); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("LoadConfig on an empty directory = %v, want ErrConfig naming %s", err, dir)
	}
	t.Setenv("HADOOP_CONF_DIR", "")
	if _, err := LoadConfig(""); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "HADOOP_CONF_DIR") {
		t.Fatalf("LoadConfig with HADOOP_CONF_DIR unset = %v, want ErrConfig naming HADOOP_CONF_DIR", err)
	}
	core := `<configuration><property><name>fs.defaultFS</name><value>hdfs://nn.example</value></property></configuration>`
	if err := os.WriteFile(filepath.Join(dir, "core-site.xml"), []byte(core), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.NameNodes) != 1 || cfg.NameNodes[0] != "nn.example:8020" {
		t.Errorf("LoadConfig NameNodes = %v", cfg.NameNodes)
	}
}

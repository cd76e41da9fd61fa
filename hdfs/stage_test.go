package hdfs

import (
	"os"
	"path/filepath"
	"testing"
)

func testClient(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(Config{User: "alice", NameNodes: []string{"nn.example.com:8020"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package hdfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// manifestName is the file in a staging directory that lists the cache
// entries the application uses. Evict keeps every entry a manifest names.
const manifestName = manifestPrefix + "-manifest.json"

// manifest is the content of manifestName.
type manifest struct {
	// Version is 1.
	Version int `json:"version"`
	// Application is the application id.
	Application string `json:"application"`
	// Entries are the absolute HDFS paths of the cache entries used.
	Entries []string `json:"entries"`
}

// maxManifest bounds the manifest read back: 64 MiB holds about 500,000
// entries.
const maxManifest = 64 << 20

func (m manifest) encode() ([]byte, error) { return json.Marshal(m) }

// decodeManifest parses and checks a manifest read from HDFS.
func decodeManifest(b []byte) (manifest, error) {
	var m manifest
	if len(b) > maxManifest {
		return m, fmt.Errorf("manifest of %d bytes is larger than %d", len(b), maxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if m.Version != 1 {
		return manifest{}, fmt.Errorf("manifest version %d, want 1", m.Version)
	}
	for _, e := range m.Entries {
		if !path.IsAbs(e) || path.Clean(e) != e || strings.ContainsRune(e, 0) {
			return manifest{}, fmt.Errorf("manifest entry %q is not a clean absolute path", e)
		}
	}
	return m, nil
}

// writeManifest writes dir's manifest (replacing an earlier one).
func (c *Client) writeManifest(ctx context.Context, pool *dataPool, dir string, m manifest) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	d, err := c.fileDefaults(ctx)
	if err != nil {
		return err
	}
	dc, err := pool.get(ctx)
	if err != nil {
		return err
	}
	defer pool.put(dc)
	p := path.Join(dir, manifestName)
	tmp := path.Join(dir, manifestPrefix+"-tmp-"+randomHex(6))
	if err := dc.writeFile(ctx, tmp, bytes.NewReader(b), 0o600, d, nil); err != nil {
		return err
	}
	if err := c.Rename(ctx, tmp, p, true); err != nil {
		c.removeQuietly(ctx, tmp)
		return err
	}
	return nil
}

//go:build integration

package integration

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestSecretsNowhere (Kerberos bed): an Application-mode job deployed
// with its keytab shipped and the client's calls logged (-v) leaks no
// secret: the deployment secret, the password of every token in its
// containers' credentials (HDFS delegation tokens, the AMRMToken) and the
// keys of the shipped keytab appear, raw, in hex or in base64, in none of
// the client's output, the containers' logs, launch scripts and other
// files, the application's diagnostics, or the JobManager's tracking
// pages and metrics read while the job ran. The credentials files
// themselves, and the keytab the JobManager's container localized, are
// where they belong and not scanned; the keytab must be in the
// JobManager's container only.
func TestSecretsNowhere(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	kt, err := keytab.Load(k.Users["alice"])
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	for _, e := range kt.Entries {
		secrets = append(secrets, e.Key.KeyValue)
	}
	if len(secrets) == 0 {
		t.Fatal("alice's keytab holds no keys")
	}

	p := startRuntimeProbe(t, tb, "-t", "yarn-application", "-ship-keytab", "-v", "-records", "300000", "-delay-ms", "30", "-parallelism", "2")
	appID := recv(t, p, p.appID, "application id")
	url := recv(t, p, p.tracking, "tracking URL")
	waitAllRunning(t, url)
	var pages []string
	for _, path := range []string{"", "api/status", "metrics"} {
		resp, err := http.Get(strings.TrimSuffix(url, "/") + "/" + path)
		if err != nil {
			t.Fatalf("tracking page /%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) == 0 {
			t.Fatalf("tracking page /%s: %d, %d bytes", path, resp.StatusCode, len(b))
		}
		pages = append(pages, string(b))
	}
	// The application's files are read while it runs: its NodeManager
	// deletes the containers' directories (credentials, launch scripts,
	// the localized keytab) once it ends; the logs stay and are read again
	// after.
	running := snapshotAppFiles(t, tb, appID)
	out := p.wait(t)
	if p.code != 0 {
		t.Fatalf("exit %d, want 0", p.code)
	}
	ended := snapshotAppFiles(t, tb, appID)

	tokens := len(running.tokenPasswords)
	if tokens < 2 {
		t.Fatalf("found %d tokens in the application's credentials files while it ran", tokens)
	}
	secrets = append(secrets, running.tokenPasswords...)
	secrets = append(secrets, ended.tokenPasswords...)
	if running.deploymentSecret == nil {
		t.Fatal("no deployment secret in the application's credentials files while it ran")
	}
	secrets = append(secrets, running.deploymentSecret)
	for c := range running.keytabIn {
		if !strings.HasSuffix(c, "_000001") {
			t.Errorf("the shipped keytab reached container %s, not the JobManager's alone", c)
		}
	}
	if len(running.keytabIn) == 0 {
		t.Error("the shipped keytab was localized in no container")
	}
	contents := running.contents
	for path, b := range ended.contents {
		contents[path+" (after the end)"] = b
	}

	sc := newSecretScanner(t, "a secret", secrets...)
	scanned := sc.contents(contents)
	if scanned < 4 {
		t.Errorf("scanned only %d files of the application", scanned)
	}
	sc.scan("the client's output (-v)", out)
	for i, pg := range pages {
		sc.scan(fmt.Sprintf("tracking page %d", i), pg)
	}
	sc.diagnostics(tb, appID)
	t.Logf("scanned %d files, %d bytes of client output and %d tracking pages of %s for %d secrets (%d token passwords, the deployment secret, %d keytab keys)",
		scanned, len(out), len(pages), appID, len(secrets), tokens, len(kt.Entries))
}

// secretScanner looks for secrets in texts, raw and in the encodings a
// leak would use (hex, every base64 alphabet, padded or not).
type secretScanner struct {
	t     *testing.T
	what  string
	forms []string
}

func newSecretScanner(t *testing.T, what string, secrets ...[]byte) *secretScanner {
	sc := &secretScanner{t: t, what: what}
	for _, s := range secrets {
		if len(s) < 8 {
			continue // too short to tell from chance
		}
		sc.forms = append(sc.forms, string(s), hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s),
			base64.RawStdEncoding.EncodeToString(s), base64.URLEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s))
	}
	return sc
}

// scan fails the test when text, found where, holds a secret.
func (sc *secretScanner) scan(where, text string) {
	sc.t.Helper()
	for _, f := range sc.forms {
		if strings.Contains(text, f) {
			sc.t.Errorf("%s appears in %s", sc.what, where)
			return
		}
	}
}

// appFiles is what an application's files on the bed held at one moment.
type appFiles struct {
	creds            map[string]*yarn.Credentials // its credentials files, by path
	tokenPasswords   [][]byte                     // of every token in them
	deploymentSecret []byte                       // from them
	keytabIn         map[string]bool              // containers holding the shipped keytab
	contents         map[string][]byte            // every other file, by path
}

// snapshotAppFiles reads every file of appID under the bed's work
// directory: credentials files (the NodeManager's private copy and the
// container's container_tokens) are decoded, the localized keytab noted,
// the others kept for scanning (checksums and the program binary aside).
func snapshotAppFiles(t *testing.T, tb *testbed.TestBed, appID string) appFiles {
	t.Helper()
	snap := appFiles{creds: map[string]*yarn.Credentials{}, keytabIn: map[string]bool{}, contents: map[string][]byte{}}
	filepath.Walk(filepath.Join(tb.Dir, "work"), func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.Contains(path, appID) {
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".tokens") || filepath.Base(path) == "container_tokens":
			creds, err := yarn.ReadCredentialsFile(path)
			if err != nil {
				if !os.IsNotExist(err) {
					t.Errorf("%s: %v", path, err)
				}
				return nil
			}
			snap.creds[path] = creds
			if s, ok := creds.Secret("spindle.deployment.secret"); ok {
				snap.deploymentSecret = s
			}
			for _, tok := range creds.Tokens() {
				snap.tokenPasswords = append(snap.tokenPasswords, tok.Password)
			}
		case strings.HasSuffix(path, "spindle-am.keytab"):
			snap.keytabIn[containerIDPattern.FindString(path)] = true
		case strings.HasSuffix(path, ".crc") || strings.HasSuffix(path, "/program"):
		default:
			if b, err := os.ReadFile(path); err == nil {
				snap.contents[path] = b
			}
		}
		return nil
	})
	return snap
}

// contents scans files read earlier, by path, and returns how many.
func (sc *secretScanner) contents(files map[string][]byte) int {
	sc.t.Helper()
	for path, b := range files {
		sc.scan(path, string(b))
	}
	return len(files)
}

// diagnostics scans the application's final diagnostics.
func (sc *secretScanner) diagnostics(tb *testbed.TestBed, appID string) {
	sc.t.Helper()
	id, _ := yarn.ParseApplicationID(appID)
	rep, err := rmClient(sc.t, tb, "alice", "").ApplicationReport(testContext(sc.t, time.Minute), id)
	if err != nil {
		sc.t.Fatal(err)
	}
	sc.scan("the application's diagnostics", rep.Diagnostics)
}

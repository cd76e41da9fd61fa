// Package record keeps the client's local record of the applications it
// deployed, one file per application, the way Flink's CLI keeps
// .yarn-properties: ~/.spindle/applications/<appid>.json ($SPINDLE_HOME
// replaces ~/.spindle), written after a successful submission and removed
// once the client sees the application end.
//
// A record holds the deployment secret, the only copy outside the
// cluster, with which the client authenticates to the JobManager to
// cancel jobs. So the directory is created 0700 and a record 0600, and
// Read refuses a record that its group or others may read, or that
// another user owns. A Record prints no secret (String, GoString,
// LogValue).
//
// The functions are safe for concurrent use by several processes: Write
// replaces a record atomically (a temporary file renamed over it).
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

// EnvHome names the directory that replaces ~/.spindle.
const EnvHome = "SPINDLE_HOME"

// A Record is what the client knows of an application it deployed.
type Record struct {
	// AppID is the application's id, application_<ts>_<n>.
	AppID string `json:"app_id"`
	Name  string `json:"name,omitempty"`
	// Mode is launch.ModeApplication or launch.ModePerJob.
	Mode string `json:"mode,omitempty"`
	// Control is the JobManager's control address (host:port), empty
	// until known: the application report's Host and RPCPort give it once
	// the JobManager registered.
	Control string `json:"control,omitempty"`
	// Secret is the deployment secret (base64 in the file). Never print it.
	Secret    []byte    `json:"secret"`
	Submitted time.Time `json:"submitted,omitzero"`
}

// String names the application; it holds no secret.
func (r *Record) String() string { return "record of " + r.AppID }

// GoString is String, so that %#v shows no secret either.
func (r *Record) GoString() string { return r.String() }

// LogValue logs the application id only.
func (r *Record) LogValue() slog.Value { return slog.StringValue(r.AppID) }

// ErrNotFound is Read's error when there is no record of the application.
var ErrNotFound = errors.New("no record of the application")

// maxRecord bounds the file Read reads.
const maxRecord = 1 << 16

// Home is the client's own directory: $SPINDLE_HOME, or ~/.spindle.
func Home() (string, error) {
	if home := os.Getenv(EnvHome); home != "" {
		return home, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("record: finding the home directory (set %s): %w", EnvHome, err)
	}
	return filepath.Join(h, ".spindle"), nil
}

// Dir is the directory of the records: $SPINDLE_HOME/applications, or
// ~/.spindle/applications.
func Dir() (string, error) {
	home, err := Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "applications"), nil
}

// file is the path of appID's record in dir; appID must be an
// application id, so that it names no other path.
func file(dir, appID string) (string, error) {
	if _, err := yarn.ParseApplicationID(appID); err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	return filepath.Join(dir, appID+".json"), nil
}

// Write stores r in dir, creating dir (0700) if needed; the file is 0600.
func Write(dir string, r *Record) error {
	p, err := file(dir, r.AppID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if err := WritePrivate(p, append(b, '\n')); err != nil {
		return fmt.Errorf("record %s: %w", p, err)
	}
	return nil
}

// WritePrivate writes data to the file p, 0600, creating its directory
// (0700) if needed, through a temporary file renamed into place, so that
// a reader sees the old contents or all of the new, never part.
func WritePrivate(p string, data []byte) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// CreateTemp makes the file 0600.
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Read returns appID's record in dir. No record gives an error matching
// ErrNotFound; a record others may read, or that another user owns, is
// refused with an error naming the file and the fix.
func Read(dir, appID string) (*Record, error) {
	p, err := file(dir, appID)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s (%s)", ErrNotFound, appID, p)
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if err := checkPrivate(p, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", p, err)
	}
	return decode(p, appID, b)
}

// checkPrivate refuses a record that is not a regular file only its owner,
// this process's user, may read.
func checkPrivate(p string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("record %s is not a regular file; remove it", p)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("record %s is readable by others (mode %04o) and holds the deployment's secret: run `chmod 600 %s` if only you had access, or stop the application", p, perm, p)
	}
	if uid, ok := owner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("record %s belongs to user id %d, not to you (%d); use the account that submitted the application", p, uid, os.Getuid())
	}
	return nil
}

// decode parses a record file's bytes.
func decode(p, appID string, b []byte) (*Record, error) {
	if len(b) > maxRecord {
		return nil, fmt.Errorf("record %s is larger than %d bytes; it is not a record", p, maxRecord)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record %s is damaged (%v); remove it", p, err)
	}
	if r.AppID != appID {
		return nil, fmt.Errorf("record %s is of %q, not %s; remove it", p, r.AppID, appID)
	}
	if len(r.Secret) == 0 {
		return nil, fmt.Errorf("record %s holds no secret; remove it", p)
	}
	return &r, nil
}

// Remove removes appID's record from dir; no record is no error.
func Remove(dir, appID string) error {
	p, err := file(dir, appID)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// List returns the application ids dir holds records of, in no order.
// A missing dir holds none.
func List(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var ids []string
	for _, e := range es {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || e.IsDir() {
			continue
		}
		if _, err := yarn.ParseApplicationID(id); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

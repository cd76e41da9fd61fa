package hdfs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func dirStatus(p, owner string, mode fs.FileMode) pathStatus {
	return pathStatus{p, FileStatus{Name: p, Owner: owner, Mode: fs.ModeDir | mode}}
}

func TestUnsafeAbove(t *testing.T) {
	const sticky = fs.ModeSticky
	slash := dirStatus("/", "hdfs", 0o755)
	tmp := dirStatus("/tmp", "hdfs", 0o777|sticky)
	tests := []struct {
		name    string
		chain   []pathStatus
		unsafe  string // directory the error names; "" for safe
		mention string // what the message must say
	}{
		{"sticky root of the superuser", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "hdfs", 0o777|sticky)}, "", ""},
		{"sticky root another user made first", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "carol", 0o777|sticky)}, "", ""},
		{"superuser's root, not writable by others", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "hdfs", 0o755)}, "", ""},
		{"user's own root", []pathStatus{slash, dirStatus("/user", "hdfs", 0o755), dirStatus("/user/alice", "alice", 0o755), dirStatus("/user/alice/pub", "alice", 0o755)}, "", ""},
		{"root writable by all, not sticky", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "bob", 0o777)},
			"/tmp/spindle-cache", "hdfs dfs -chmod 1777 /tmp/spindle-cache"},
		{"superuser's root writable by all, not sticky", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "hdfs", 0o777)},
			"/tmp/spindle-cache", "without the sticky bit"},
		{"root writable by group, not sticky", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "hdfs", 0o775)},
			"/tmp/spindle-cache", "without the sticky bit"},
		{"another user's root, not sticky", []pathStatus{slash, tmp, dirStatus("/tmp/spindle-cache", "bob", 0o755)},
			"/tmp/spindle-cache", "owned by bob, not the superuser hdfs"},
		{"parent writable by all, not sticky", []pathStatus{slash, dirStatus("/tmp", "hdfs", 0o777), dirStatus("/tmp/spindle-cache", "hdfs", 0o777|sticky)},
			"/tmp", "hdfs dfs -chmod +t /tmp"},
		{"root a file", []pathStatus{slash, tmp, {"/tmp/spindle-cache", FileStatus{Owner: "hdfs", Mode: 0o644}}},
			"/tmp/spindle-cache", "not a directory"},
	}
	for _, tt := range tests {
		err := unsafeAbove(tt.chain, "alice")
		if tt.unsafe == "" {
			if err != nil {
				t.Errorf("%s: %v, want safe", tt.name, err)
			}
			continue
		}
		var ue *unsafeCacheError
		if !errors.Is(err, ErrUnsafeCache) || !errors.As(err, &ue) {
			t.Errorf("%s: %v, want ErrUnsafeCache", tt.name, err)
			continue
		}
		if ue.dir != tt.unsafe || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: %v; want it to name %s and say %q", tt.name, err, tt.unsafe, tt.mention)
		}
	}
}

func TestUnsafeUserDir(t *testing.T) {
	const dir = "/tmp/spindle-cache/alice"
	tests := []struct {
		name    string
		d       pathStatus
		mention string // "" for safe
	}{
		{"alice's 0755", dirStatus(dir, "alice", 0o755), ""},
		{"alice's 0700", dirStatus(dir, "alice", 0o700), ""},
		{"bob made it world-writable", dirStatus(dir, "bob", 0o777), "owned by bob"},
		{"bob made it like alice would", dirStatus(dir, "bob", 0o755), "hdfs dfs -rm -r " + dir},
		{"alice's, writable by others", dirStatus(dir, "alice", 0o757), "hdfs dfs -chmod 755 " + dir},
		{"alice's, writable by group", dirStatus(dir, "alice", 0o775), "writable by group or others"},
		{"a file", pathStatus{dir, FileStatus{Owner: "bob", Mode: 0o644}}, "not a directory"},
	}
	for _, tt := range tests {
		err := unsafeUserDir(tt.d, "alice")
		if tt.mention == "" {
			if err != nil {
				t.Errorf("%s: %v, want safe", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrUnsafeCache) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: %v; want ErrUnsafeCache saying %q", tt.name, err, tt.mention)
		}
	}
}

func TestAncestry(t *testing.T) {
	for p, want := range map[string][]string{
		"/":                   {"/"},
		"/tmp":                {"/", "/tmp"},
		"/tmp/spindle-cache/": {"/", "/tmp", "/tmp/spindle-cache"},
	} {
		if d := cmp.Diff(want, ancestry(p)); d != "" {
			t.Errorf("ancestry(%q) (-want +got):\n%s", p, d)
		}
	}
}

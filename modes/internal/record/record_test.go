package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const appID = "application_1764480000000_0007"

func testRecord() *Record {
	return &Record{AppID: appID, Name: "wordcount", Mode: "application", Secret: []byte("0123456789abcdef0123456789abcdef"),
		Submitted: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
}

func TestWriteReadRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", "applications")
	want := testRecord()
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %04o, want 0700", perm)
	}
	fi, err := os.Stat(filepath.Join(dir, appID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("record mode %04o, want 0600", perm)
	}
	got, err := Read(dir, appID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("read back (-want +got):\n%s", d)
	}
	// Rewriting (the control address learned later) replaces it.
	want.Control = "nm1:40123"
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err = Read(dir, appID); err != nil || got.Control != "nm1:40123" {
		t.Fatalf("after rewrite: %+v, %v", got, err)
	}
	ids, err := List(dir)
	if err != nil || len(ids) != 1 || ids[0] != appID {
		t.Errorf("List = %v, %v; want only %s (no temporary files)", ids, err, appID)
	}
	if err := Remove(dir, appID); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, appID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read after Remove: %v, want ErrNotFound", err)
	}
	if err := Remove(dir, appID); err != nil {
		t.Errorf("Remove of a removed record: %v", err)
	}
}

func TestReadRefusesOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, testRecord()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, appID+".json")
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			_, err := Read(dir, appID)
			if err == nil {
				t.Fatal("Read accepted a record others may read")
			}
			for _, s := range []string{p, "chmod 600"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, appID); err != nil {
		t.Errorf("a 0400 record: %v", err)
	}
}

func TestReadRefusesBadRecords(t *testing.T) {
	dir := t.TempDir()
	write := func(b string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, appID+".json"), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, body, want string }{
		{"damaged", "{not json", "damaged"},
		{"other application", `{"app_id":"application_1_2","secret":"AAAA"}`, "not " + appID},
		{"no secret", `{"app_id":"` + appID + `"}`, "no secret"},
		{"too large", `{"app_id":"` + appID + `","name":"` + strings.Repeat("x", maxRecord) + `"}`, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(tc.body)
			if _, err := Read(dir, appID); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: %v, want an error with %q", err, tc.want)
			}
		})
	}
	for _, id := range []string{"../../etc/passwd", "application_1", ""} {
		if _, err := Read(dir, id); err == nil {
			t.Errorf("Read(%q) accepted a name that is no application id", id)
		}
		if err := Write(dir, &Record{AppID: id, Secret: []byte("x")}); err == nil {
			t.Errorf("Write(%q) accepted a name that is no application id", id)
		}
	}
}

func TestDir(t *testing.T) {
	t.Setenv(EnvHome, "/opt/sp")
	if d, err := Dir(); err != nil || d != "/opt/sp/applications" {
		t.Errorf("Dir with %s = %q, %v", EnvHome, d, err)
	}
	t.Setenv(EnvHome, "")
	t.Setenv("HOME", "/home/u")
	if d, err := Dir(); err != nil || d != "/home/u/.spindle/applications" {
		t.Errorf("Dir = %q, %v", d, err)
	}
}

func TestRecordPrintsNoSecret(t *testing.T) {
	r := testRecord()
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r)} {
		if strings.Contains(s, string(r.Secret)) || strings.Contains(s, "MDEy") {
			t.Errorf("%q shows the secret", s)
		}
	}
}

package yarn

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The testdata files were captured from a NodeManager of the test bed
// (Hadoop 3.5.0) for a container whose stdout was
// "hello from container_1796021329611_0006_01_000001\n".
func TestParseContainerLogCaptured(t *testing.T) {
	data, err := os.ReadFile("testdata/nm-log-stdout.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseContainerLog(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from container_1796021329611_0006_01_000001\n"; string(got) != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	files, err := os.ReadFile("testdata/nm-log-list.json")
	if err != nil {
		t.Fatal(err)
	}
	list, err := parseContainerLogFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int64{}
	for _, f := range list {
		names[f.Name] = f.Size
	}
	if names["stdout"] != 50 || names["stderr"] != 0 || len(list) != 6 {
		t.Errorf("log files %+v", list)
	}
}

func TestParseContainerLogFraming(t *testing.T) {
	frame := func(length, body string) []byte {
		return []byte("Container: c on n\nLogType:stdout\nLogLength:" + length + "\nLogContents:\n" + body + "\nEnd of LogType:stdout.\n")
	}
	// Contents that look like framing stay contents: LogLength decides.
	tricky := "LogContents:\nLogLength:1\nEnd of LogType:stdout."
	got, err := parseContainerLog(frame(strconv.Itoa(len(tricky)), tricky))
	if err != nil || string(got) != tricky {
		t.Errorf("tricky contents: %q, %v", got, err)
	}
	for _, bad := range [][]byte{
		frame("-1", "x"), frame("x", "x"), frame("100", "short"),
		[]byte("no marker"), []byte("LogContents:\nno length"),
	} {
		if _, err := parseContainerLog(bad); err == nil {
			t.Errorf("parseContainerLog(%q) succeeded", bad)
		}
	}
}

func TestContainerLogNeverFollowsRedirects(t *testing.T) {
	var foreign int
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign++ }))
	defer evil.Close()
	nm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/logs/stdout"):
			if r.URL.Query().Get("user.name") != "alice" {
				t.Errorf("NodeManager request without user.name=alice: %s", r.URL)
			}
			w.Write([]byte("LogType:stdout\nLogLength:2\nLogContents:\nhi\nEnd of LogType:stdout.\n"))
		case strings.HasSuffix(r.URL.Path, "/logs/gone"):
			http.Error(w, "HTTP 404 Not Found", http.StatusNotFound)
		default:
			http.Redirect(w, r, evil.URL+"/steal", http.StatusTemporaryRedirect)
		}
	}))
	defer nm.Close()
	c, err := NewRESTClient(Config{User: "alice", ResourceManagers: []RMAddress{{RPC: "rm:8032", Web: "http://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := ContainerID{Attempt: ApplicationAttemptID{Application: ApplicationID{ClusterTimestamp: 1, ID: 2}, Attempt: 1}, ID: 3}
	addr := strings.TrimPrefix(nm.URL, "http://")
	got, err := c.ContainerLog(ctx, addr, id, "stdout")
	if err != nil || !bytes.Equal(got, []byte("hi")) {
		t.Fatalf("ContainerLog = %q, %v", got, err)
	}
	if _, err := c.ContainerLog(ctx, addr, id, "gone"); !errors.Is(err, ErrLogNotFound) {
		t.Errorf("missing log: %v, want ErrLogNotFound", err)
	}
	if _, err := c.ContainerLog(ctx, addr, id, "stderr"); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("redirected log: %v, want a not-followed error", err)
	}
	if foreign != 0 {
		t.Errorf("the redirect target received %d requests", foreign)
	}
	if _, err := c.ContainerLog(ctx, addr, id, "../x"); err == nil {
		t.Error("a path as log file name was accepted")
	}
	c.Close()
	if _, err := c.ContainerLog(ctx, addr, id, "stdout"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func FuzzParseContainerLog(f *testing.F) {
	if b, err := os.ReadFile("testdata/nm-log-stdout.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("LogLength:3\nLogContents:\nabc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseContainerLog(b)
		if err == nil && len(out) > len(b) {
			t.Fatalf("%d bytes of log from %d bytes", len(out), len(b))
		}
	})
}

func FuzzParseContainerLogFiles(f *testing.F) {
	if b, err := os.ReadFile("testdata/nm-log-list.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`[{"containerLogsInfo":{}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseContainerLogFiles(b)
	})
}

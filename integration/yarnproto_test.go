//go:build integration

package integration

// TestYarnProtoJavaProof reruns Hadoop's Java side of the YARN protobuf
// proof (integration/testbed/.../ProtoDump.java) and checks that it still
// produces the fixtures in yarn/testdata/javaproof, which the yarn
// package's unit tests hold Spindle's conversions against:
//
//   - Java's reading of the submissions Go encodes (URL.toPath of every
//     local resource, the tokens read back with readTokenStorageStream,
//     defaults of absent fields, custom resource types, ...);
//   - Hadoop's parsing and printing of application, attempt and container
//     ids, epoch ids included;
//   - the protobuf descriptors compiled into Hadoop, against which every
//     field of our .proto files is checked;
//   - messages built with Hadoop's record API, which Go must read.
//
// So the chain Go value -> bytes -> Java view -> Go expectation is checked
// end to end: the unit test TestGoldenSubmissionBytes pins the bytes, this
// test the Java view, and the unit tests TestJavaReads* the expectations.
// SPINDLE_UPDATE_JAVA_FIXTURES=1 writes Java's fresh output over the
// fixtures instead (review the diff). It needs Java and the test bed's
// classpath, not a running cluster.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestYarnProtoJavaProof(t *testing.T) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	root := filepath.Dir(filepath.Dir(file))
	fixtures := filepath.Join(root, "yarn", "testdata", "javaproof")
	testbedDir := filepath.Join(root, "integration", "testbed")

	if out, err := exec.Command(filepath.Join(testbedDir, "build.sh")).CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	cp, err := os.ReadFile(filepath.Join(testbedDir, "target", "classpath.txt"))
	if err != nil {
		t.Fatal(err)
	}

	// ProtoDump reads its inputs from the directory and writes its outputs
	// beside them.
	work := t.TempDir()
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, e := range entries {
		name := e.Name()
		if (strings.HasPrefix(name, "submission-") && strings.HasSuffix(name, ".bin")) || name == "ids.txt" {
			b, err := os.ReadFile(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			outputs = append(outputs, name)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	classpath := filepath.Join(testbedDir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp))
	cmd := exec.CommandContext(ctx, "java", "-cp", classpath, "io.spindle.testbed.ProtoDump", work)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ProtoDump: %v\n%s", err, out)
	}

	fresh, err := os.ReadDir(work)
	if err != nil {
		t.Fatal(err)
	}
	produced := map[string]bool{}
	for _, e := range fresh {
		produced[e.Name()] = true
	}
	if os.Getenv("SPINDLE_UPDATE_JAVA_FIXTURES") != "" {
		for name := range produced {
			b, err := os.ReadFile(filepath.Join(work, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fixtures, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote Java's output into %s", fixtures)
		return
	}

	if len(outputs) < 7 {
		t.Fatalf("only %d Java outputs among the fixtures: %v", len(outputs), outputs)
	}
	for _, name := range outputs {
		if !produced[name] {
			t.Errorf("%s: ProtoDump no longer writes it", name)
			continue
		}
		want, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, ".json"):
			var w, g any
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s from Java: %v", name, err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s: Java's view changed (-fixture +java):\n%s", name, diff)
			}
		case name == "descriptors.bin":
			var w, g descriptorpb.FileDescriptorSet
			if err := proto.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if err := proto.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&w, &g) {
				t.Errorf("%s: Hadoop's protobuf descriptors changed", name)
			}
		default:
			if !bytes.Equal(want, got) {
				t.Errorf("%s: the message Java builds changed (%d bytes, fixture %d)", name, len(got), len(want))
			}
		}
	}
}

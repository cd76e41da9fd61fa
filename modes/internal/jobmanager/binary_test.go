package jobmanager

import (
	"errors"
	"strings"
	"testing"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
)

func TestShippedBinary(t *testing.T) {
	own := strings.Repeat("a", 64)
	other := strings.Repeat("b", 64)
	m := &JobManager{cfg: Config{BinarySHA256: own}}
	ref := &control.BinaryRef{Path: "/user/alice/.spindle/cache/x", SHA256: other, Size: 10}
	for _, tc := range []struct {
		name    string
		req     SubmitRequest
		want    *control.BinaryRef
		wantErr string
		is      error
	}{
		{name: "no digest: the session's binary", req: SubmitRequest{}},
		{name: "the session's own binary", req: SubmitRequest{BinarySHA256: own, Binary: ref}},
		{name: "another binary, not shipped", req: SubmitRequest{BinarySHA256: other}, is: ErrNeedBinary},
		{name: "another binary, shipped", req: SubmitRequest{BinarySHA256: other, Binary: ref}, want: ref},
		{name: "not a digest", req: SubmitRequest{BinarySHA256: "xyz", Binary: ref}, wantErr: "is not a hex SHA-256"},
		{name: "shipped another than said", req: SubmitRequest{BinarySHA256: strings.Repeat("c", 64), Binary: ref}, wantErr: "does not match the client's sha256"},
		{name: "relative path", req: SubmitRequest{BinarySHA256: other, Binary: &control.BinaryRef{Path: "x", SHA256: other, Size: 1}}, wantErr: "does not match"},
		{name: "operators the JobManager lacks", req: SubmitRequest{BinarySHA256: other, Binary: ref, JobManagerOperators: []string{"zz.commit", "aa.split"}},
			wantErr: "operators aa.split, zz.commit split their input or commit their output in the JobManager"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.shippedBinary(tc.req)
			switch {
			case tc.is != nil:
				if !errors.Is(err, tc.is) {
					t.Fatalf("err = %v, want %v", err, tc.is)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want):
				t.Fatalf("shippedBinary = %+v, want %+v", got, tc.want)
			}
		})
	}
	// A session that does not know its own digest runs every job on it.
	if got, err := (&JobManager{}).shippedBinary(SubmitRequest{BinarySHA256: other}); got != nil || err != nil {
		t.Errorf("without its own digest: %v, %v", got, err)
	}
}

func TestShippedIdentity(t *testing.T) {
	b := &control.BinaryRef{SHA256: strings.Repeat("0123456789", 7)[:64]}
	if got := shippedIdentity("alice", nil); got != "alice" {
		t.Errorf("own binary: %q", got)
	}
	if got := shippedIdentity("alice", b); got != "alice (binary 012345678901)" || got == shippedIdentity("bob", b) {
		t.Errorf("shipped binary: %q", got)
	}
}

func TestOperatorNamesOfShippedJob(t *testing.T) {
	g := &jobgraph.JobGraph{Vertices: []jobgraph.Vertex{{ID: "a", Operator: "elsewhere.gen"}}}
	if operatorNames(g, nil)["elsewhere.gen"] {
		t.Error("an operator this binary lacks is known for a job of the session's binary")
	}
	if !operatorNames(g, &control.BinaryRef{})["elsewhere.gen"] {
		t.Error("a shipped job's operator is refused by name")
	}
}

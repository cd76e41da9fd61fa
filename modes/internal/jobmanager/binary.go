package jobmanager

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/internal/control"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// A session runs jobs of its own binary, and jobs whose client shipped
// another (SubmitRequest.Binary): that job's TaskManagers fetch the
// binary and become it (package taskmanager), and serve only later jobs
// of the same identity and binary. The JobManager itself keeps its own
// binary: it plans the job and runs the splitters and committers of the
// operators it knows by name, so a shipped job whose operators split or
// commit must use operators the session's binary has too (the built-in
// HDFS text source and sink are in every program that imports them).

// ErrNeedBinary answers a session submission made without the binary its
// client runs, when that binary is not the session's: the client ships it
// (stages it by content in HDFS) and submits again. HTTP 409.
var ErrNeedBinary = errors.New("the session runs another binary than the client's: ship the client's binary with the job")

// hexSHA256 is a SHA-256 in hex, as clients send it.
var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// shippedBinary decides what binary a submitted job runs: nil for the
// session's own, else the shipped one. It refuses a shipped job whose
// JobManager-side operators this binary lacks.
func (m *JobManager) shippedBinary(req SubmitRequest) (*control.BinaryRef, error) {
	if req.BinarySHA256 == "" || m.cfg.BinarySHA256 == "" || req.BinarySHA256 == m.cfg.BinarySHA256 {
		return nil, nil
	}
	if !hexSHA256.MatchString(req.BinarySHA256) {
		return nil, fmt.Errorf("binary_sha256 %q is not a hex SHA-256", req.BinarySHA256)
	}
	if req.Binary == nil {
		return nil, ErrNeedBinary
	}
	if req.Binary.SHA256 != req.BinarySHA256 || req.Binary.Path == "" || !strings.HasPrefix(req.Binary.Path, "/") || req.Binary.Size <= 0 {
		return nil, fmt.Errorf("the shipped binary (%s, %d bytes, sha256 %s) does not match the client's sha256 %s", req.Binary.Path, req.Binary.Size, req.Binary.SHA256, req.BinarySHA256)
	}
	known := operator.Names()
	var missing []string
	for _, name := range req.JobManagerOperators {
		if !known[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("operators %s split their input or commit their output in the JobManager, and the session's binary does not have them: start a session of this program (`PROGRAM session start`), or run the job with -t yarn-application", strings.Join(missing, ", "))
	}
	b := *req.Binary
	return &b, nil
}

// shippedIdentity is the identity key of a job with a shipped binary:
// its TaskManagers become that binary, so they serve only jobs of the same
// user and binary.
func shippedIdentity(identity string, b *control.BinaryRef) string {
	if b == nil {
		return identity
	}
	return identity + " (binary " + b.SHA256[:12] + ")"
}

// operatorNames are the names a job's graph is checked against: this
// binary's, and for a job that shipped its binary every name the graph
// uses (its client checked them against that binary, and its
// TaskManagers refuse a name the binary lacks).
func operatorNames(g *jobgraph.JobGraph, b *control.BinaryRef) map[string]bool {
	names := operator.Names()
	if b == nil {
		return names
	}
	all := make(map[string]bool, len(names)+len(g.Vertices))
	for n := range names {
		all[n] = true
	}
	for _, v := range g.Vertices {
		if v.Operator != "" {
			all[v.Operator] = true
		}
	}
	return all
}

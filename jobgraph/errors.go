package jobgraph

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for what is wrong with a graph. The errors Validate, NewPlan
// and Decode return wrap them; match with errors.Is, and get the vertex or
// edge with errors.As on *VertexError, *EdgeError, *CycleError,
// *ResourceError or *JobError.
var (
	// ErrCycle: the edges form a cycle; a job graph must be acyclic.
	ErrCycle = errors.New("jobgraph: cycle")
	// ErrUnknownOperator: a vertex names an operator the binary did not
	// register.
	ErrUnknownOperator = errors.New("jobgraph: unknown operator")
	// ErrForwardParallelism: a forward edge joins vertices of different
	// parallelism.
	ErrForwardParallelism = errors.New("jobgraph: forward edge between different parallelisms")
	// ErrParallelism: a vertex's parallelism is below 1 or above MaxParallelism.
	ErrParallelism = errors.New("jobgraph: parallelism out of range")
	// ErrDuplicateID: two vertices share an ID.
	ErrDuplicateID = errors.New("jobgraph: duplicate vertex ID")
	// ErrDuplicateEdge: two edges join the same source and target.
	ErrDuplicateEdge = errors.New("jobgraph: duplicate edge")
	// ErrDanglingEdge: an edge names a vertex the graph does not have.
	ErrDanglingEdge = errors.New("jobgraph: edge to a missing vertex")
	// ErrDoesNotFit: a subtask or a slot needs more than one TaskManager
	// has, or the plan needs more TaskManagers than allowed.
	ErrDoesNotFit = errors.New("jobgraph: does not fit")
	// ErrInvalid: any other invalid value (an empty ID, a negative
	// resource, an unknown partitioner or restart strategy, a bad
	// TaskManager spec).
	ErrInvalid = errors.New("jobgraph: invalid value")
	// ErrEncoding: bytes that are not an encoded job graph.
	ErrEncoding = errors.New("jobgraph: bad encoding")
	// ErrUnsupportedVersion: an encoding from a newer Spindle than this
	// binary; *VersionError says which.
	ErrUnsupportedVersion = errors.New("jobgraph: unsupported encoding version")
)

// what returns a sentinel's text without the package prefix, for use
// inside the message of an error that already has it.
func what(err error) string { return strings.TrimPrefix(err.Error(), "jobgraph: ") }

// A VertexError is a problem with one vertex.
type VertexError struct {
	Vertex string // its ID, possibly empty when the ID is what is missing
	Index  int    // its position in JobGraph.Vertices
	Err    error  // one of the sentinels
	Hint   string // what is wrong in detail and what to do
}

func (e *VertexError) Error() string {
	return fmt.Sprintf("jobgraph: vertex %q (#%d): %s: %s", e.Vertex, e.Index, what(e.Err), e.Hint)
}

func (e *VertexError) Unwrap() error { return e.Err }

// An EdgeError is a problem with one edge.
type EdgeError struct {
	Index          int // its position in JobGraph.Edges
	Source, Target string
	Err            error
	Hint           string
}

func (e *EdgeError) Error() string {
	return fmt.Sprintf("jobgraph: edge #%d %q -> %q: %s: %s", e.Index, e.Source, e.Target, what(e.Err), e.Hint)
}

func (e *EdgeError) Unwrap() error { return e.Err }

// A CycleError names the vertices of one cycle, in edge order, the first
// repeated at the end.
type CycleError struct {
	Vertices []string
}

func (e *CycleError) Error() string {
	return "jobgraph: cycle " + strings.Join(e.Vertices, " -> ") + ": remove one of its edges; a job graph must be acyclic"
}

func (e *CycleError) Unwrap() error { return ErrCycle }

// A ResourceError says that what one slot needs does not fit a
// TaskManager, or that the plan needs more TaskManagers than allowed. It
// wraps ErrDoesNotFit.
type ResourceError struct {
	// Group is the slot-sharing group; Vertices the vertices whose
	// subtasks would share the slot (one vertex when a single subtask is
	// too big). Both are empty when the TaskManager count is the problem.
	Group    string
	Vertices []string
	// Need is what the slot needs, Capacity what one TaskManager has,
	// Short the resource types that fall short.
	Need, Capacity Resources
	Short          []string
	// TaskManagers and MaxTaskManagers are set when the plan needs more
	// TaskManagers than TaskManagerSpec.MaxTaskManagers allows.
	TaskManagers, MaxTaskManagers int
}

func (e *ResourceError) Error() string {
	if e.MaxTaskManagers > 0 {
		return fmt.Sprintf("jobgraph: does not fit: the plan needs %d TaskManagers but at most %d are allowed: raise the limit, give TaskManagers more slots, or lower parallelism",
			e.TaskManagers, e.MaxTaskManagers)
	}
	if len(e.Vertices) == 1 {
		return fmt.Sprintf("jobgraph: vertex %q: does not fit: one subtask needs %s but a TaskManager has %s (short of %s): ask for larger TaskManagers or lower the vertex's Resources",
			e.Vertices[0], e.Need, e.Capacity, strings.Join(e.Short, ", "))
	}
	return fmt.Sprintf("jobgraph: slot-sharing group %q: does not fit: a slot holds one subtask of each of %s and needs %s but a TaskManager has %s (short of %s): ask for larger TaskManagers, lower the vertices' Resources, or split them into different slot-sharing groups",
		e.Group, strings.Join(e.Vertices, ", "), e.Need, e.Capacity, strings.Join(e.Short, ", "))
}

func (e *ResourceError) Unwrap() error { return ErrDoesNotFit }

// A JobError is a problem with a job-wide setting: the restart strategy
// or the TaskManager spec.
type JobError struct {
	Field string // "Restart", "TaskManagerSpec.Slots", ...
	Err   error
	Hint  string
}

func (e *JobError) Error() string {
	return fmt.Sprintf("jobgraph: %s: %s: %s", e.Field, what(e.Err), e.Hint)
}

func (e *JobError) Unwrap() error { return e.Err }

// A VersionError is an encoding written by a newer format version than
// this binary reads.
type VersionError struct {
	Version, Max int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("jobgraph: unsupported encoding version: the graph is encoded in format version %d but this binary reads up to version %d: decode it with the Spindle version that encoded it (or newer)",
		e.Version, e.Max)
}

func (e *VersionError) Unwrap() error { return ErrUnsupportedVersion }

// joinErrors returns nil, the only error, or all of them joined.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// Package jobgraph models a job as a graph of operators, validates it,
// encodes it for shipping to a cluster, finds its pipelined regions, and
// plans it into the TaskManagers (containers) and slots that the runtime
// asks YARN for.
//
// The package is pure: no I/O, no clock (callers pass the time), no
// goroutines. Everything in it is a function of its arguments (but for the
// default jitter of Restarts), so a client, a JobManager and a test all get
// the same answer from the same graph.
//
// # Lifecycle of a graph
//
//  1. Build: a JobGraph literal of Vertices (an operator registered by name
//     in the binary, a parallelism, per-subtask Resources, a slot-sharing
//     group, config) and Edges (forward, hash, rebalance or broadcast),
//     with the job's config and RestartStrategy.
//  2. Validate against the binary's registered operators and, when known,
//     the TaskManagerSpec. Every problem comes back at once, each naming
//     the vertex or edge and what to do.
//  3. Ship (Per-Job mode): Encode writes the bytes the client puts next to
//     the binary; the JobManager Decodes them and validates again with its
//     own registry. In Application mode the graph is built in the
//     JobManager and never encoded.
//  4. Plan: NewPlan turns the graph and a TaskManagerSpec into the number
//     of TaskManagers to request and the slot of every subtask.
//  5. Run: PipelinedRegions tells the JobManager which subtasks to restart
//     together when one fails, and Restarts, fed every failure with its
//     time, whether the job's RestartStrategy allows it and after how long.
//
// # The encoding, and why JSON
//
// Encode writes canonical JSON: the first key, "spindle-jobgraph", holds
// the format version (FormatVersion) and names the format, "graph" holds
// the graph; map keys are sorted and empty values left out, so equal
// graphs give equal bytes (content-addressed staging then uploads an
// unchanged graph once). Decode reads the version before anything else
// and refuses a newer one with a *VersionError that says to use the
// newer binary.
//
// JSON rather than a hand-written binary format: a graph is small (a few
// kilobytes) and shipped once per job, so compactness buys nothing, while
// an operator debugging a failed Per-Job submission can read the staged
// graph with any tool. Go's encoding/json is a widely used, fuzzed decoder
// (FuzzDecode fuzzes ours on top of it), and JSON has no length prefixes,
// so a hostile input can make
// the decoder allocate only in proportion to its own size (bounded by
// MaxEncodedSize); a binary format would need its own care for both.
// Durations are integer nanoseconds and strings must be UTF-8, so that
// decoding an encoding gives back exactly the graph that was encoded.
//
// # Slots and plans
//
// As in Flink, a slot holds at most one subtask of each vertex of its
// slot-sharing group, so a group needs as many slots as its largest
// parallelism, and subtask i of every vertex of the group shares slot i
// (forward-joined subtasks thus exchange records within a slot). A
// TaskManager offers Slots slots and its Resources; a slot takes the
// resources its subtasks declare. See NewPlan for the placement rules.
//
// # Concurrency and errors
//
// Functions do not modify their arguments and are safe to call
// concurrently on the same graph; a *Plan and *Regions are read-only
// after they are returned; a *Restarts belongs to one goroutine. Errors wrap the sentinels (ErrCycle,
// ErrUnknownOperator, ErrDoesNotFit, ...) for errors.Is, and errors.As
// finds *VertexError, *EdgeError, *CycleError, *ResourceError, *JobError
// and *VersionError with the vertex, edge or setting at fault.
package jobgraph

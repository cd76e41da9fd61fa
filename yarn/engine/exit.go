package engine

import "github.com/spindle-yarn/spindle/yarn"

// A Cause is why a container ended, from its exit status.
type Cause int

const (
	// CauseSucceeded: the process exited 0.
	CauseSucceeded Cause = iota
	// CauseFailed: the process exited non-zero, or never ran (YARN reports
	// a failed launch or localization as exit status -1000): the
	// application's own failure.
	CauseFailed
	// CauseExceededMemory: the NodeManager killed the container for using
	// more physical or virtual memory than it asked for. The application's
	// fault (it asked for too little), as Spark counts it.
	CauseExceededMemory
	// CauseExcessLogs: killed for writing more logs than allowed; the
	// application's fault.
	CauseExcessLogs
	// CauseStartFailed: the NodeManager refused to start the container, or
	// the caller's launch context could not be built.
	CauseStartFailed
	// CausePreempted: the scheduler took the resources back for another
	// application.
	CausePreempted
	// CauseAborted: released by this ApplicationMaster before it ended, or
	// lost with its node.
	CauseAborted
	// CauseDisksFailed: the node's disks went bad.
	CauseDisksFailed
	// CauseKilledByAppMaster: stopped by this ApplicationMaster.
	CauseKilledByAppMaster
	// CauseKilledByResourceManager: killed by the RM (e.g. the node is
	// being decommissioned).
	CauseKilledByResourceManager
	// CauseKilledAfterAppCompletion: killed because the application ended.
	CauseKilledAfterAppCompletion
	// CauseKilledByContainerScheduler: an OPPORTUNISTIC container killed
	// to make room for a GUARANTEED one.
	CauseKilledByContainerScheduler
)

var causeNames = [...]string{"succeeded", "failed", "exceeded_memory", "excess_logs", "start_failed",
	"preempted", "aborted", "disks_failed", "killed_by_appmaster", "killed_by_resourcemanager",
	"killed_after_app_completion", "killed_by_container_scheduler"}

// String returns the cause's name as used in metric labels ("preempted").
func (c Cause) String() string {
	if c >= 0 && int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "unknown"
}

// CountsAgainstBudget reports whether a container that ended this way is
// the application's own failure, and so uses up the failure budget.
// Containers the cluster took away (preempted, aborted, lost disks, killed
// by the RM, this AM or the opportunistic scheduler) do not count: the
// application could not have avoided them (Hadoop's Apps.shouldCountTowardsNodeBlacklisting
// and RMAppAttemptImpl draw the same line).
func (c Cause) CountsAgainstBudget() bool {
	switch c {
	case CauseFailed, CauseExceededMemory, CauseExcessLogs, CauseStartFailed:
		return true
	}
	return false
}

// countsAgainstNode reports whether an end of this kind hints that the node
// is bad: the application failing there (a missing library, a full disk),
// a refused start, or its disks failing.
func (c Cause) countsAgainstNode() bool {
	switch c {
	case CauseFailed, CauseStartFailed, CauseDisksFailed:
		return true
	}
	return false
}

// Classify maps a completed container's exit status to its cause.
func Classify(exitStatus int32) Cause {
	switch exitStatus {
	case yarn.ExitSuccess:
		return CauseSucceeded
	case yarn.ExitAborted:
		return CauseAborted
	case yarn.ExitDisksFailed:
		return CauseDisksFailed
	case yarn.ExitPreempted:
		return CausePreempted
	case yarn.ExitKilledExceededVMem, yarn.ExitKilledExceededPMem:
		return CauseExceededMemory
	case yarn.ExitKilledByAppMaster:
		return CauseKilledByAppMaster
	case yarn.ExitKilledByResourceManager:
		return CauseKilledByResourceManager
	case yarn.ExitKilledAfterAppCompletion:
		return CauseKilledAfterAppCompletion
	case yarn.ExitKilledByContainerScheduler:
		return CauseKilledByContainerScheduler
	case yarn.ExitKilledForExcessLogs:
		return CauseExcessLogs
	}
	return CauseFailed
}

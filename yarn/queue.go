package yarn

// A QueueState says whether a scheduler queue accepts applications. The zero
// value means the state is unknown (not reported).
type QueueState int32

const (
	QueueStopped  QueueState = 1
	QueueRunning  QueueState = 2
	QueueDraining QueueState = 3 // stopping: takes no new applications, runs the ones it has
)

// String returns Hadoop's name for s ("STOPPED", "RUNNING", "DRAINING").
func (s QueueState) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName([]string{"", "STOPPED", "RUNNING", "DRAINING"}, int(s), "QueueState")
}

// A QueueInfo describes a scheduler queue, optionally with its children and
// applications.
type QueueInfo struct {
	// Name is the queue's leaf name ("default"); Path its full name
	// ("root.default").
	Name, Path string
	// Capacity, MaxCapacity and CurrentCapacity are fractions (0..1) of the
	// parent queue: the guaranteed share, the ceiling and what is in use.
	Capacity, MaxCapacity, CurrentCapacity float32
	State                                  QueueState
	// Children are filled only when asked for.
	Children []QueueInfo
	// Applications are filled only when asked for.
	Applications         []ApplicationReport
	AccessibleNodeLabels []string
	DefaultNodeLabel     string
	// Statistics are nil when the scheduler sent none.
	Statistics                   *QueueStatistics
	PreemptionDisabled           bool
	IntraQueuePreemptionDisabled bool
	// Weight is the queue's weight under weight-based capacity; 0 when not
	// used.
	Weight          float32
	MaxParallelApps int32
	// SchedulerType names the scheduler ("capacity", "fair", "fifo"), when
	// the ResourceManager says.
	SchedulerType string
}

// QueueStatistics counts a queue's applications and resources.
type QueueStatistics struct {
	AppsSubmitted, AppsRunning, AppsPending, AppsCompleted, AppsKilled, AppsFailed int64
	ActiveUsers                                                                    int64
	AvailableMemoryMB, AllocatedMemoryMB, PendingMemoryMB, ReservedMemoryMB        int64
	AvailableVCores, AllocatedVCores, PendingVCores, ReservedVCores                int64
	AllocatedContainers, PendingContainers, ReservedContainers                     int64
}

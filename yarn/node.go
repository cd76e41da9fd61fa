package yarn

import "time"

// A NodeState is a NodeManager's state as the ResourceManager sees it. The
// zero value means the state is unknown (not reported).
type NodeState int32

const (
	NodeNew             NodeState = 1
	NodeRunning         NodeState = 2
	NodeUnhealthy       NodeState = 3
	NodeDecommissioned  NodeState = 4
	NodeLost            NodeState = 5
	NodeRebooted        NodeState = 6
	NodeDecommissioning NodeState = 7
	NodeShutdown        NodeState = 8
)

var nodeStateNames = [...]string{"", "NEW", "RUNNING", "UNHEALTHY", "DECOMMISSIONED", "LOST",
	"REBOOTED", "DECOMMISSIONING", "SHUTDOWN"}

// String returns Hadoop's name for s ("RUNNING", "LOST", ...).
func (s NodeState) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName(nodeStateNames[:], int(s), "NodeState")
}

// IsUnusable reports whether no new containers can run on a node in state
// s (unhealthy, decommissioned, lost or shut down), as Hadoop's
// NodeState.isUnusable.
func (s NodeState) IsUnusable() bool {
	switch s {
	case NodeUnhealthy, NodeDecommissioned, NodeLost, NodeShutdown:
		return true
	}
	return false
}

// A NodeUpdateType says why a node appears in AllocateResponse.UpdatedNodes.
// The zero value is NodeUsable.
type NodeUpdateType int32

const (
	NodeUsable NodeUpdateType = iota
	NodeUnusable
	NodeBecameDecommissioning
)

// String returns Hadoop's name for t.
func (t NodeUpdateType) String() string {
	return enumName([]string{"NODE_USABLE", "NODE_UNUSABLE", "NODE_DECOMMISSIONING"}, int(t), "NodeUpdateType")
}

// A NodeReport describes a NodeManager: where it is, what it has and how it
// is doing.
type NodeReport struct {
	ID          NodeID
	HTTPAddress string
	Rack        string
	// Used and Capability are the resources allocated on the node and its
	// total.
	Used, Capability Resource
	NumContainers    int32
	State            NodeState
	HealthReport     string
	// LastHealthReport is when the node last reported its health; zero if
	// never.
	LastHealthReport time.Time
	Labels           []string
	// DecommissioningTimeout is how long a decommissioning node still has;
	// zero when not decommissioning or not reported.
	DecommissioningTimeout time.Duration
	// UpdateType says why the node is in an allocate response; meaningless
	// elsewhere.
	UpdateType NodeUpdateType
}

// ClusterMetrics counts a cluster's NodeManagers by state.
type ClusterMetrics struct {
	NodeManagers    int32 // all registered NodeManagers
	Active          int32
	Decommissioned  int32
	Decommissioning int32
	Lost            int32
	Unhealthy       int32
	Rebooted        int32
	Shutdown        int32
}

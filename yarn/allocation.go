package yarn

// This file holds the messages an ApplicationMaster exchanges with the
// ResourceManager (ApplicationMasterProtocol): registration, the allocate
// heartbeat and unregistration.

// An AMRegistration is what an ApplicationMaster tells the ResourceManager
// when it registers: where clients can reach it.
type AMRegistration struct {
	// Host and RPCPort are where the ApplicationMaster serves clients; empty
	// and zero when it serves none.
	Host    string
	RPCPort int32
	// TrackingURL is the ApplicationMaster's web UI, proxied by the RM.
	// Empty means none.
	TrackingURL string
}

// An AMRegistrationResponse is the ResourceManager's answer to a
// registration.
type AMRegistrationResponse struct {
	// MaxCapability is the largest container the scheduler grants.
	MaxCapability Resource
	// ClientToAMTokenMasterKey is the key the ApplicationMaster uses to
	// verify client-to-AM tokens in secure clusters.
	ClientToAMTokenMasterKey []byte
	ACLs                     map[ApplicationAccessType]string
	// Queue is the queue the application actually runs in.
	Queue string
	// ContainersFromPreviousAttempts are the containers still running from
	// earlier attempts, when the submission kept containers across
	// attempts.
	ContainersFromPreviousAttempts []Container
	// NMTokensFromPreviousAttempts are NMTokens for the nodes those
	// containers run on.
	NMTokensFromPreviousAttempts []NMToken
	// ResourceTypes are the resource types the cluster knows, memory and
	// vcores included.
	ResourceTypes []ResourceTypeInfo
}

// ResourceTypeInfo describes one of a cluster's resource types.
type ResourceTypeInfo struct {
	Name  string // "memory-mb", "vcores", "yarn.io/gpu", ...
	Units string // "Mi", "" (a plain count), "Gi", ...
}

// An NMToken authenticates an ApplicationMaster to one NodeManager. The
// ResourceManager sends one per node only when the ApplicationMaster does
// not hold a current one, so keep them by NodeID.
type NMToken struct {
	NodeID NodeID
	Token  Token
}

// An AMCommand is an order the ResourceManager gives an ApplicationMaster in
// an allocate response. The zero value means none.
type AMCommand int32

const (
	// AMResync: the ResourceManager lost the ApplicationMaster's state
	// (e.g. it restarted); register again and resend all requests.
	AMResync AMCommand = 1
	// AMShutdown: the attempt is no longer valid; exit.
	AMShutdown AMCommand = 2
)

// String returns Hadoop's name for c ("AM_RESYNC", "AM_SHUTDOWN").
func (c AMCommand) String() string {
	if c == 0 {
		return "NONE"
	}
	return enumName([]string{"", "AM_RESYNC", "AM_SHUTDOWN"}, int(c), "AMCommand")
}

// A ContainerUpdateType is a change an ApplicationMaster asks for a running
// container. The zero value is IncreaseResource.
type ContainerUpdateType int32

const (
	IncreaseResource ContainerUpdateType = iota
	DecreaseResource
	PromoteExecutionType
	DemoteExecutionType
)

// String returns Hadoop's name for t.
func (t ContainerUpdateType) String() string {
	return enumName([]string{"INCREASE_RESOURCE", "DECREASE_RESOURCE", "PROMOTE_EXECUTION_TYPE",
		"DEMOTE_EXECUTION_TYPE"}, int(t), "ContainerUpdateType")
}

// An UpdateContainerRequest asks to resize a running container or change
// its execution type.
type UpdateContainerRequest struct {
	// Version is the container's current Container.Version.
	Version     int32
	ContainerID ContainerID
	Type        ContainerUpdateType
	// Capability is the new size, for resource updates.
	Capability Resource
	// ExecutionType is the new type, for execution type updates.
	ExecutionType ExecutionType
}

// An UpdateContainerError is an update the scheduler refused.
type UpdateContainerError struct {
	Reason  string
	Request UpdateContainerRequest
	// CurrentVersion is the container's version now, when the request
	// carried a stale one.
	CurrentVersion int32
}

// An UpdatedContainer is a container after an update took effect; it
// carries a new token to pass to the NodeManager.
type UpdatedContainer struct {
	Type      ContainerUpdateType
	Container Container
}

// An AllocateRequest is one heartbeat of an ApplicationMaster: what it
// still wants, what it gives back, and how far it is.
//
// The response id that links each heartbeat to the one before is the
// AMClient's business, not the caller's.
type AllocateRequest struct {
	// Asks are changes to outstanding requests; a request not mentioned
	// stays as it was.
	Asks []ResourceRequest
	// Release gives containers back.
	Release []ContainerID
	// BlacklistAdditions and BlacklistRemovals are node or rack names the
	// scheduler must avoid (or no longer avoid) for this application.
	BlacklistAdditions, BlacklistRemovals []string
	// Progress is the application's progress, 0..1.
	Progress float32
	// UpdateRequests change running containers.
	UpdateRequests []UpdateContainerRequest
	// TrackingURL replaces the registered tracking URL; empty keeps it.
	TrackingURL string
	// SchedulingRequests ask for containers with placement constraints
	// (see SchedulingRequest); each is sent once.
	SchedulingRequests []SchedulingRequest
}

// An AllocateResponse is the ResourceManager's answer to a heartbeat.
type AllocateResponse struct {
	// Command, when not zero, must be obeyed before anything else.
	Command    AMCommand
	ResponseID int32
	// Allocated are new containers; each carries the token its NodeManager
	// wants.
	Allocated []Container
	// Completed are containers that ended since the last heartbeat.
	Completed []ContainerStatus
	// Headroom is what the application could still get.
	Headroom Resource
	// UpdatedNodes are nodes whose state changed.
	UpdatedNodes    []NodeReport
	NumClusterNodes int32
	// Preemption announces containers the scheduler will take back; nil if
	// none.
	Preemption *PreemptionMessage
	// NMTokens are new tokens for the NodeManagers of Allocated containers.
	NMTokens []NMToken
	// AMRMToken, when not nil, replaces the ApplicationMaster's AMRMToken
	// (the RM rolled its key). The AMClient adopts it itself: every
	// connection it makes from then on authenticates with it.
	AMRMToken *Token
	// Priority is the application's priority, when it changed.
	Priority Priority
	// UpdateErrors and UpdatedContainers answer UpdateRequests.
	UpdateErrors      []UpdateContainerError
	UpdatedContainers []UpdatedContainer
	// ContainersFromPreviousAttempts are containers of earlier attempts
	// recovered after registration (with work-preserving AM restart).
	ContainersFromPreviousAttempts []Container
}

// A PreemptionMessage announces containers the scheduler will reclaim.
type PreemptionMessage struct {
	// Strict lists containers that will be killed whatever the
	// ApplicationMaster does.
	Strict []ContainerID
	// Negotiable lists containers that will be killed unless the
	// ApplicationMaster frees resources matching Asks some other way.
	Negotiable []ContainerID
	Asks       []ResourceRequest
}

// An AMUnregistration is what an ApplicationMaster reports when it is done.
type AMUnregistration struct {
	FinalStatus FinalStatus
	// Diagnostics are shown in the application report.
	Diagnostics string
	// TrackingURL replaces the tracking URL (e.g. with a history server
	// link); empty keeps it.
	TrackingURL string
}

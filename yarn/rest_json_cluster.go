package yarn

import (
	"slices"
	"time"
)

// The REST answers about the cluster: info, metrics, nodes, queues.

// restClusterInfo is ClusterInfo, under "clusterInfo".
type restClusterInfo struct {
	ClusterInfo struct {
		ID                         int64  `json:"id"`
		StartedOn                  int64  `json:"startedOn"`
		State                      string `json:"state"`
		HAState                    string `json:"haState"`
		RMStateStoreName           string `json:"rmStateStoreName"`
		ResourceManagerVersion     string `json:"resourceManagerVersion"`
		HadoopVersion              string `json:"hadoopVersion"`
		HAZooKeeperConnectionState string `json:"haZooKeeperConnectionState"`
	} `json:"clusterInfo"`
}

func (r *restClusterInfo) toClusterInfo() ClusterInfo {
	c := r.ClusterInfo
	return ClusterInfo{
		ClusterTimestamp: c.ID, Started: millisToTime(c.StartedOn), State: c.State, HAState: c.HAState,
		StateStore: c.RMStateStoreName, Version: c.ResourceManagerVersion, HadoopVersion: c.HadoopVersion,
		HAZooKeeperConnectionState: c.HAZooKeeperConnectionState,
	}
}

// restClusterMetrics is ClusterMetricsInfo, under "clusterMetrics".
type restClusterMetrics struct {
	ClusterMetrics struct {
		TotalNodes           int32 `json:"totalNodes"`
		ActiveNodes          int32 `json:"activeNodes"`
		LostNodes            int32 `json:"lostNodes"`
		UnhealthyNodes       int32 `json:"unhealthyNodes"`
		DecommissioningNodes int32 `json:"decommissioningNodes"`
		DecommissionedNodes  int32 `json:"decommissionedNodes"`
		RebootedNodes        int32 `json:"rebootedNodes"`
		ShutdownNodes        int32 `json:"shutdownNodes"`
	} `json:"clusterMetrics"`
}

func (r *restClusterMetrics) toMetrics() ClusterMetrics {
	m := r.ClusterMetrics
	return ClusterMetrics{
		NodeManagers: m.TotalNodes, Active: m.ActiveNodes, Lost: m.LostNodes, Unhealthy: m.UnhealthyNodes,
		Decommissioning: m.DecommissioningNodes, Decommissioned: m.DecommissionedNodes,
		Rebooted: m.RebootedNodes, Shutdown: m.ShutdownNodes,
	}
}

// restNodes is NodesInfo, under "nodes".
type restNodes struct {
	Nodes *struct {
		Node jsonList[restNode] `json:"node"`
	} `json:"nodes"`
}

type restNode struct {
	Rack                   string        `json:"rack"`
	State                  string        `json:"state"`
	ID                     string        `json:"id"`
	NodeHTTPAddress        string        `json:"nodeHTTPAddress"`
	LastHealthUpdate       int64         `json:"lastHealthUpdate"`
	HealthReport           string        `json:"healthReport"`
	NumContainers          int32         `json:"numContainers"`
	UsedMemoryMB           int64         `json:"usedMemoryMB"`
	AvailMemoryMB          int64         `json:"availMemoryMB"`
	UsedVirtualCores       int32         `json:"usedVirtualCores"`
	AvailableVirtualCores  int32         `json:"availableVirtualCores"`
	NodeLabels             []string      `json:"nodeLabels"`
	UsedResource           *restResource `json:"usedResource"`
	TotalResource          *restResource `json:"totalResource"`
	DecommissioningTimeout int64         `json:"decommissioningTimeout"`
}

func (n *restNode) toReport() (NodeReport, error) {
	id, err := ParseNodeID(n.ID)
	if err != nil {
		return NodeReport{}, err
	}
	r := NodeReport{
		ID: id, HTTPAddress: n.NodeHTTPAddress, Rack: n.Rack, NumContainers: n.NumContainers,
		State: parseName[NodeState](n.State), HealthReport: n.HealthReport,
		LastHealthReport:       millisToTime(n.LastHealthUpdate),
		Labels:                 slices.Clone(n.NodeLabels),
		DecommissioningTimeout: durationOf(n.DecommissioningTimeout, time.Second),
		Used:                   Resource{MemoryMB: n.UsedMemoryMB, VCores: n.UsedVirtualCores},
		Capability:             Resource{MemoryMB: n.UsedMemoryMB + n.AvailMemoryMB, VCores: n.UsedVirtualCores + n.AvailableVirtualCores},
	}
	if n.UsedResource != nil {
		r.Used = n.UsedResource.toResource()
	}
	if n.TotalResource != nil {
		r.Capability = n.TotalResource.toResource()
	}
	return r, nil
}

// restScheduler is SchedulerTypeInfo, under "scheduler". Only the capacity
// scheduler's queue tree and the FIFO scheduler's single queue are read.
type restScheduler struct {
	Scheduler struct {
		SchedulerInfo restQueue `json:"schedulerInfo"`
	} `json:"scheduler"`
}

// restQueue is CapacitySchedulerInfo (the root) or
// CapacitySchedulerQueueInfo. Capacities are percentages.
type restQueue struct {
	Type                         string   `json:"type"`
	QueueName                    string   `json:"queueName"`
	QueuePath                    string   `json:"queuePath"`
	Capacity                     float32  `json:"capacity"`
	UsedCapacity                 float32  `json:"usedCapacity"`
	MaxCapacity                  float32  `json:"maxCapacity"`
	Weight                       float32  `json:"weight"`
	MaxParallelApps              int32    `json:"maxParallelApps"`
	State                        string   `json:"state"`
	QState                       string   `json:"qstate"` // FIFO scheduler
	NodeLabels                   []string `json:"nodeLabels"`
	DefaultNodeLabelExpression   string   `json:"defaultNodeLabelExpression"`
	PreemptionDisabled           bool     `json:"preemptionDisabled"`
	IntraQueuePreemptionDisabled bool     `json:"intraQueuePreemptionDisabled"`
	Queues                       *struct {
		Queue jsonList[restQueue] `json:"queue"`
	} `json:"queues"`
}

func (q *restQueue) children() []restQueue {
	if q.Queues == nil {
		return nil
	}
	return q.Queues.Queue
}

// find returns the queue named name (a leaf name or a full path) in the
// tree under q.
func (q *restQueue) find(name string) *restQueue {
	if q.QueueName == name || q.QueuePath == name {
		return q
	}
	kids := q.children()
	for i := range kids {
		if f := kids[i].find(name); f != nil {
			return f
		}
	}
	return nil
}

// toQueueInfo converts q, with its children when children is set, and
// their children too when recursive is.
func (q *restQueue) toQueueInfo(children, recursive bool) QueueInfo {
	state := q.State
	if state == "" {
		state = q.QState
	}
	info := QueueInfo{
		Name: q.QueueName, Path: q.QueuePath,
		Capacity: q.Capacity / 100, MaxCapacity: q.MaxCapacity / 100, CurrentCapacity: q.UsedCapacity / 100,
		State:                        parseName[QueueState](state),
		AccessibleNodeLabels:         slices.Clone(q.NodeLabels),
		DefaultNodeLabel:             q.DefaultNodeLabelExpression,
		PreemptionDisabled:           q.PreemptionDisabled,
		IntraQueuePreemptionDisabled: q.IntraQueuePreemptionDisabled,
		Weight:                       q.Weight,
		MaxParallelApps:              q.MaxParallelApps,
	}
	if children {
		for _, c := range q.children() {
			info.Children = append(info.Children, c.toQueueInfo(recursive, recursive))
		}
	}
	return info
}

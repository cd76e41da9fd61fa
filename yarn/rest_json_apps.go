package yarn

import (
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The REST answers about applications, attempts and containers.

// restNewApplication is NewApplication.
type restNewApplication struct {
	ApplicationID             string       `json:"application-id"`
	MaximumResourceCapability restResource `json:"maximum-resource-capability"`
}

// restApps is AppsInfo, under "apps"; an RM with no applications sends
// {"apps":{}} or {"apps":null}.
type restApps struct {
	Apps *struct {
		App jsonList[restApp] `json:"app"`
	} `json:"apps"`
}

// restAppWrapper is one AppInfo, under "app".
type restAppWrapper struct {
	App *restApp `json:"app"`
}

// restApp is AppInfo. Fields the RM fills only for callers with view
// access are zero otherwise, as in the RPC report.
type restApp struct {
	ID                     string        `json:"id"`
	User                   string        `json:"user"`
	Name                   string        `json:"name"`
	Queue                  string        `json:"queue"`
	State                  string        `json:"state"`
	FinalStatus            string        `json:"finalStatus"`
	Progress               float32       `json:"progress"` // percent
	TrackingURL            string        `json:"trackingUrl"`
	Diagnostics            string        `json:"diagnostics"`
	RMClusterID            string        `json:"rmClusterId"`
	ApplicationType        string        `json:"applicationType"`
	ApplicationTags        string        `json:"applicationTags"` // comma-separated
	Priority               int32         `json:"priority"`
	StartedTime            int64         `json:"startedTime"`
	LaunchTime             int64         `json:"launchTime"`
	FinishedTime           int64         `json:"finishedTime"`
	AMRPCAddress           string        `json:"amRPCAddress"` // host:port once the AM registered
	AllocatedMB            int64         `json:"allocatedMB"`
	AllocatedVCores        int64         `json:"allocatedVCores"`
	ReservedMB             int64         `json:"reservedMB"`
	ReservedVCores         int64         `json:"reservedVCores"`
	RunningContainers      int32         `json:"runningContainers"`
	MemorySeconds          int64         `json:"memorySeconds"`
	VcoreSeconds           int64         `json:"vcoreSeconds"`
	QueueUsagePercentage   float32       `json:"queueUsagePercentage"`
	ClusterUsagePercentage float32       `json:"clusterUsagePercentage"`
	PreemptedMemorySeconds int64         `json:"preemptedMemorySeconds"`
	PreemptedVcoreSeconds  int64         `json:"preemptedVcoreSeconds"`
	LogAggregationStatus   string        `json:"logAggregationStatus"`
	UnmanagedApplication   bool          `json:"unmanagedApplication"`
	AppNodeLabelExpression string        `json:"appNodeLabelExpression"`
	AMNodeLabelExpression  string        `json:"amNodeLabelExpression"`
	Timeouts               *restTimeouts `json:"timeouts"`
}

type restTimeouts struct {
	Timeout jsonList[struct {
		Type                   string `json:"type"`
		RemainingTimeInSeconds int64  `json:"remainingTimeInSeconds"`
	}] `json:"timeout"`
}

// toReport converts an AppInfo. What AppInfo does not carry stays zero:
// CurrentAttempt (the client fills it from the attempts),
// OriginalTrackingURL, Submitted, the ClientToAMToken and AMRMToken, and the
// Needed resources of Usage.
func (a *restApp) toReport() (ApplicationReport, error) {
	id, err := ParseApplicationID(a.ID)
	if err != nil {
		return ApplicationReport{}, err
	}
	r := ApplicationReport{
		ID: id, User: a.User, Queue: a.Queue, Name: a.Name,
		// As the RPC report says before the AM registers.
		Host: "N/A", RPCPort: -1,
		FinalStatus:          parseName[FinalStatus](a.FinalStatus),
		Diagnostics:          a.Diagnostics,
		TrackingURL:          a.TrackingURL,
		Launched:             millisToTime(a.LaunchTime),
		Started:              millisToTime(a.StartedTime),
		Finished:             millisToTime(a.FinishedTime),
		Progress:             a.Progress / 100,
		Type:                 a.ApplicationType,
		LogAggregationStatus: parseName[LogAggregationStatus](a.LogAggregationStatus),
		Unmanaged:            a.UnmanagedApplication,
		Priority:             Priority(a.Priority),
		AppNodeLabel:         a.AppNodeLabelExpression,
		AMNodeLabel:          a.AMNodeLabelExpression,
		RMClusterID:          a.RMClusterID,
		Usage: &ApplicationResourceUsage{
			UsedContainers:         a.RunningContainers,
			ReservedContainers:     -1,
			Used:                   Resource{MemoryMB: a.AllocatedMB, VCores: int32(a.AllocatedVCores)},
			Reserved:               Resource{MemoryMB: a.ReservedMB, VCores: int32(a.ReservedVCores)},
			MemorySeconds:          a.MemorySeconds,
			VCoreSeconds:           a.VcoreSeconds,
			PreemptedMemorySeconds: a.PreemptedMemorySeconds,
			PreemptedVCoreSeconds:  a.PreemptedVcoreSeconds,
			QueueUsage:             a.QueueUsagePercentage,
			ClusterUsage:           a.ClusterUsagePercentage,
		},
	}
	if s, ok := ParseApplicationState(a.State); ok {
		r.State = s
	}
	if a.RunningContainers < 0 {
		// The RM's placeholder for "no usage known" (a finished or not yet
		// scheduled application) is -1 throughout, as over RPC.
		r.Usage.Needed = Resource{MemoryMB: -1, VCores: -1}
	} else {
		// AppInfo counts no reserved containers; the scheduler's needed
		// resources are what is used plus what is reserved.
		r.Usage.ReservedContainers = 0
		r.Usage.Needed = Resource{MemoryMB: a.AllocatedMB + a.ReservedMB, VCores: int32(a.AllocatedVCores + a.ReservedVCores)}
	}
	for _, t := range strings.Split(a.ApplicationTags, ",") {
		if t != "" {
			r.Tags = append(r.Tags, t)
		}
	}
	if a.AMRPCAddress != "" {
		host, port, err := net.SplitHostPort(a.AMRPCAddress)
		if p, perr := strconv.ParseInt(port, 10, 32); err == nil && perr == nil {
			r.Host, r.RPCPort = host, int32(p)
		}
	}
	if a.Timeouts != nil {
		for _, t := range a.Timeouts.Timeout {
			if t.Type == "LIFETIME" && t.RemainingTimeInSeconds > 0 {
				r.LifetimeRemaining = durationOf(t.RemainingTimeInSeconds, time.Second)
			}
		}
	}
	return r, nil
}

// restAttempts is AppAttemptsInfo, under "appAttempts".
type restAttempts struct {
	AppAttempts *struct {
		AppAttempt jsonList[restAttempt] `json:"appAttempt"`
	} `json:"appAttempts"`
}

// restAttempt is the RM's AppAttemptInfo. It has no host, RPC port,
// tracking URLs or diagnostics of the attempt.
type restAttempt struct {
	ID              int32  `json:"id"`
	StartTime       int64  `json:"startTime"`
	FinishedTime    int64  `json:"finishedTime"`
	ContainerID     string `json:"containerId"`
	NodeID          string `json:"nodeId"`
	AppAttemptID    string `json:"appAttemptId"`
	AppAttemptState string `json:"appAttemptState"`
}

func (a *restAttempt) toReport() (ApplicationAttemptReport, error) {
	id, err := ParseApplicationAttemptID(a.AppAttemptID)
	if err != nil {
		return ApplicationAttemptReport{}, err
	}
	r := ApplicationAttemptReport{
		ID:       id,
		State:    parseName[AttemptState](a.AppAttemptState),
		Started:  millisToTime(a.StartTime),
		Finished: millisToTime(a.FinishedTime),
	}
	if a.ContainerID != "" {
		if r.AMContainer, err = ParseContainerID(a.ContainerID); err != nil {
			return ApplicationAttemptReport{}, err
		}
	}
	return r, nil
}

// restContainers is ContainersInfo. Hadoop 3.5.0 writes it without its
// root element ({"container":[...]}); the wrapped form is read too.
type restContainers struct {
	Container  jsonList[restContainer] `json:"container"`
	Containers *struct {
		Container jsonList[restContainer] `json:"container"`
	} `json:"containers"`
}

func (c *restContainers) list() []restContainer {
	if c.Containers != nil {
		return append(slices.Clone(c.Container), c.Containers.Container...)
	}
	return c.Container
}

// restContainer is the generic web services' ContainerInfo.
type restContainer struct {
	ContainerID         string                `json:"containerId"`
	AllocatedMB         int64                 `json:"allocatedMB"`
	AllocatedVCores     int32                 `json:"allocatedVCores"`
	AssignedNodeID      string                `json:"assignedNodeId"`
	Priority            int32                 `json:"priority"`
	StartedTime         int64                 `json:"startedTime"`
	FinishedTime        int64                 `json:"finishedTime"`
	DiagnosticsInfo     string                `json:"diagnosticsInfo"`
	LogURL              string                `json:"logUrl"`
	ContainerExitStatus int32                 `json:"containerExitStatus"`
	ContainerState      string                `json:"containerState"`
	NodeHTTPAddress     string                `json:"nodeHttpAddress"`
	NodeID              string                `json:"nodeId"`
	ExecutionType       string                `json:"executionType"`
	AllocatedResources  *jaxbMap[json.Number] `json:"allocatedResources"`
}

func (c *restContainer) toReport() (ContainerReport, error) {
	id, err := ParseContainerID(c.ContainerID)
	if err != nil {
		return ContainerReport{}, err
	}
	r := ContainerReport{
		ID:              id,
		Resource:        Resource{MemoryMB: c.AllocatedMB, VCores: c.AllocatedVCores},
		Priority:        Priority(c.Priority),
		Created:         millisToTime(c.StartedTime),
		Finished:        millisToTime(c.FinishedTime),
		Diagnostics:     c.DiagnosticsInfo,
		LogURL:          c.LogURL,
		ExitStatus:      c.ContainerExitStatus,
		State:           parseName[ContainerState](c.ContainerState),
		NodeHTTPAddress: c.NodeHTTPAddress,
		ExecutionType:   parseName[ExecutionType](c.ExecutionType),
	}
	node := c.NodeID
	if node == "" {
		node = c.AssignedNodeID
	}
	if node != "" {
		if r.NodeID, err = ParseNodeID(node); err != nil {
			return ContainerReport{}, err
		}
	}
	if c.AllocatedResources != nil {
		for _, e := range c.AllocatedResources.Entry {
			v, err := e.Value.Int64()
			if err != nil || v == 0 || e.Key == ResourceMemory || e.Key == ResourceVCores {
				continue
			}
			if r.Resource.Custom == nil {
				r.Resource.Custom = map[string]int64{}
			}
			r.Resource.Custom[e.Key] = v
		}
	}
	return r, nil
}

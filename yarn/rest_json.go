package yarn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON the ResourceManager's REST API (/ws/v1/cluster) reads and
// writes, and its conversion to and from this package's types. Field names
// are those of Hadoop's JAXB DAOs (ApplicationSubmissionContextInfo,
// AppInfo, AppAttemptInfo, ...) as Hadoop 3.5.0 marshals them; the samples
// in testdata/rest were captured from a real RM.

// jsonList is a JAXB list. Hadoop 3 writes a list as an array; older RMs
// (Jersey 1 with Jettison) wrote a list of one as the bare object, so a
// single object is read as a list of one too.
type jsonList[T any] []T

func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]T)(l))
	}
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = jsonList[T]{one}
	return nil
}

// jaxbMap is how JAXB writes a java.util.Map: {"entry":[{"key":..,"value":..}]}.
type jaxbMap[V any] struct {
	Entry jsonList[jaxbEntry[V]] `json:"entry"`
}

type jaxbEntry[V any] struct {
	Key   string `json:"key"`
	Value V      `json:"value"`
}

// newJAXBMap converts m with conv, in key order (so the JSON is stable);
// nil for an empty map.
func newJAXBMap[K ~string, V, W any](m map[K]V, conv func(V) (W, error)) (*jaxbMap[W], error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := &jaxbMap[W]{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w, err := conv(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out.Entry = append(out.Entry, jaxbEntry[W]{Key: string(k), Value: w})
	}
	return out, nil
}

func same[V any](v V) (V, error) { return v, nil }

// ---------------------------------------------------------------- requests

// restSubmission is ApplicationSubmissionContextInfo. Fields left out take
// the DAO's defaults: priority undefined (the queue's default), no
// attempt-failures window (-1), no labels.
type restSubmission struct {
	ApplicationID                   string              `json:"application-id"`
	ApplicationName                 string              `json:"application-name"`
	Queue                           string              `json:"queue,omitempty"`
	Priority                        int32               `json:"priority"`
	AMContainerSpec                 restLaunchContext   `json:"am-container-spec"`
	UnmanagedAM                     bool                `json:"unmanaged-AM"`
	CancelTokensWhenComplete        bool                `json:"cancel-tokens-when-complete"`
	MaxAppAttempts                  int32               `json:"max-app-attempts,omitempty"`
	Resource                        restResource        `json:"resource"`
	ApplicationType                 string              `json:"application-type"`
	KeepContainers                  bool                `json:"keep-containers-across-application-attempts"`
	ApplicationTags                 *restTags           `json:"application-tags,omitempty"`
	AppNodeLabelExpression          string              `json:"app-node-label-expression,omitempty"`
	AMContainerNodeLabelExpression  string              `json:"am-container-node-label-expression,omitempty"`
	LogAggregationContext           *restLogAggregation `json:"log-aggregation-context,omitempty"`
	AttemptFailuresValidityInterval int64               `json:"attempt-failures-validity-interval,omitempty"`
}

type restTags struct {
	Tag []string `json:"tag"`
}

// restLaunchContext is ContainerLaunchContextInfo.
type restLaunchContext struct {
	LocalResources *jaxbMap[restLocalResource] `json:"local-resources,omitempty"`
	Environment    *jaxbMap[string]            `json:"environment,omitempty"`
	Commands       *restCommands               `json:"commands,omitempty"`
	ServiceData    *jaxbMap[string]            `json:"service-data,omitempty"`
	Credentials    *restCredentials            `json:"credentials,omitempty"`
	ACLs           *jaxbMap[string]            `json:"application-acls,omitempty"`
}

type restCommands struct {
	Command []string `json:"command"`
}

// restLocalResource is LocalResourceInfo.
type restLocalResource struct {
	Resource   string `json:"resource"`
	Type       string `json:"type"`
	Visibility string `json:"visibility"`
	Size       int64  `json:"size"`
	Timestamp  int64  `json:"timestamp"`
}

// restCredentials is CredentialsInfo: tokens as Token.encodeToUrlString,
// secrets in base64.
type restCredentials struct {
	Tokens  *jaxbMap[string] `json:"tokens,omitempty"`
	Secrets *jaxbMap[string] `json:"secrets,omitempty"`
}

type restLogAggregation struct {
	LogIncludePattern       string `json:"log-include-pattern,omitempty"`
	LogExcludePattern       string `json:"log-exclude-pattern,omitempty"`
	RolledLogIncludePattern string `json:"rolled-log-include-pattern,omitempty"`
	RolledLogExcludePattern string `json:"rolled-log-exclude-pattern,omitempty"`
	PolicyClassName         string `json:"log-aggregation-policy-class-name,omitempty"`
	PolicyParameters        string `json:"log-aggregation-policy-parameters,omitempty"`
}

// restResource is ResourceInfo. The RM reads only memory and vCores from a
// submission; in responses resourceInformations lists every type.
type restResource struct {
	Memory               int64                 `json:"memory"`
	VCores               int32                 `json:"vCores"`
	ResourceInformations *restResourceInfoList `json:"resourceInformations,omitempty"`
}

type restResourceInfoList struct {
	ResourceInformation jsonList[restResourceInformation] `json:"resourceInformation"`
}

type restResourceInformation struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

func (r restResource) toResource() Resource {
	out := Resource{MemoryMB: r.Memory, VCores: r.VCores}
	if r.ResourceInformations != nil {
		for _, ri := range r.ResourceInformations.ResourceInformation {
			if ri.Name == ResourceMemory || ri.Name == ResourceVCores || ri.Value == 0 {
				continue
			}
			if out.Custom == nil {
				out.Custom = map[string]int64{}
			}
			out.Custom[ri.Name] = ri.Value
		}
	}
	return out
}

// submissionToREST converts s, refusing what the REST API cannot carry
// rather than dropping it: the RM's DAO has no field for a lifetime,
// scheduling properties, custom resource types, a retry policy or token
// renewal configuration, and ignores a local resource's pattern and shared
// cache flag.
func submissionToREST(s *ApplicationSubmission) (*restSubmission, error) {
	var errs []string
	unsupported := func(field, why string) {
		errs = append(errs, "ApplicationSubmission."+field+" "+why)
	}
	if s.Lifetime != 0 {
		unsupported("Lifetime", "has no field in the REST submission; submit over RPC")
	}
	if len(s.SchedulingProperties) > 0 {
		unsupported("SchedulingProperties", "has no field in the REST submission; submit over RPC")
	}
	if len(s.AMResource.Custom) > 0 {
		unsupported("AMResource.Custom", "is ignored by the RM's REST submission (memory and vcores only); submit over RPC")
	}
	if s.AM.Retry != nil {
		unsupported("AM.Retry", "has no field in the REST submission")
	}
	if len(s.AM.TokensConf) > 0 {
		unsupported("AM.TokensConf", "has no field in the REST submission; submit over RPC")
	}
	for _, name := range slices.Sorted(maps.Keys(s.AM.LocalResources)) {
		lr := s.AM.LocalResources[name]
		if lr.Pattern != "" {
			unsupported("AM.LocalResources["+name+"].Pattern", "is ignored by the RM's REST submission; submit over RPC")
		}
		if lr.UploadToSharedCache {
			unsupported("AM.LocalResources["+name+"].UploadToSharedCache", "is ignored by the RM's REST submission; submit over RPC")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("not expressible in the REST API: %s", strings.Join(errs, "; "))
	}

	out := &restSubmission{
		ApplicationID:                   s.ID.String(),
		ApplicationName:                 s.Name,
		Queue:                           s.Queue,
		Priority:                        int32(s.Priority),
		UnmanagedAM:                     s.Unmanaged,
		CancelTokensWhenComplete:        !s.KeepTokensOnCompletion,
		MaxAppAttempts:                  s.MaxAttempts,
		Resource:                        restResource{Memory: s.AMResource.MemoryMB, VCores: s.AMResource.VCores},
		ApplicationType:                 s.Type,
		KeepContainers:                  s.KeepContainersAcrossAttempts,
		AppNodeLabelExpression:          s.NodeLabel,
		AMContainerNodeLabelExpression:  s.AMNodeLabel,
		AttemptFailuresValidityInterval: s.AttemptFailuresValidityInterval.Milliseconds(),
	}
	// The RPC record has defaults for these; the DAO's are empty strings.
	if out.ApplicationName == "" {
		out.ApplicationName = "N/A"
	}
	if out.ApplicationType == "" {
		out.ApplicationType = "YARN"
	}
	if len(s.Tags) > 0 {
		out.ApplicationTags = &restTags{Tag: slices.Clone(s.Tags)}
	}
	if l := s.LogAggregation; l != nil {
		out.LogAggregationContext = &restLogAggregation{
			LogIncludePattern:       l.IncludePattern,
			LogExcludePattern:       l.ExcludePattern,
			RolledLogIncludePattern: l.RolledLogsIncludePattern,
			RolledLogExcludePattern: l.RolledLogsExcludePattern,
			PolicyClassName:         l.PolicyClassName,
			PolicyParameters:        l.PolicyParameters,
		}
	}
	clc, err := launchContextToREST(&s.AM)
	if err != nil {
		return nil, err
	}
	out.AMContainerSpec = clc
	return out, nil
}

func launchContextToREST(c *ContainerLaunchContext) (restLaunchContext, error) {
	var out restLaunchContext
	var err error
	if out.LocalResources, err = newJAXBMap(c.LocalResources, func(lr LocalResource) (restLocalResource, error) {
		// The RM parses the URL with java.net.URI; check it as the RPC
		// conversion does, so both transports refuse the same URLs.
		if _, err := urlToProto(lr.URL); err != nil {
			return restLocalResource{}, err
		}
		return restLocalResource{
			Resource: lr.URL, Type: lr.Type.String(), Visibility: lr.Visibility.String(),
			Size: lr.Size, Timestamp: lr.Timestamp,
		}, nil
	}); err != nil {
		return out, fmt.Errorf("local resource %w", err)
	}
	out.Environment, _ = newJAXBMap(c.Environment, same[string])
	if len(c.Commands) > 0 {
		out.Commands = &restCommands{Command: slices.Clone(c.Commands)}
	}
	// The RM decodes service data with commons-codec's URL-safe decoder,
	// which reads the standard alphabet too.
	out.ServiceData, _ = newJAXBMap(c.ServiceData, func(b []byte) (string, error) {
		return base64.URLEncoding.EncodeToString(b), nil
	})
	out.ACLs, _ = newJAXBMap(aclNames(c.ACLs), same[string])
	if cr := c.Credentials; cr != nil && (cr.NumTokens() > 0 || cr.NumSecrets() > 0) {
		rc := &restCredentials{}
		tokens := map[string]Token{}
		for alias, t := range cr.Tokens() {
			tokens[alias] = t
		}
		if rc.Tokens, err = newJAXBMap(tokens, Token.URLString); err != nil {
			return out, fmt.Errorf("credentials: token %w", err)
		}
		secrets := map[string][]byte{}
		for alias, s := range cr.Secrets() {
			secrets[alias] = s
		}
		rc.Secrets, _ = newJAXBMap(secrets, func(b []byte) (string, error) {
			return base64.URLEncoding.EncodeToString(b), nil
		})
		out.Credentials = rc
	}
	return out, nil
}

func aclNames(acls map[ApplicationAccessType]string) map[string]string {
	if len(acls) == 0 {
		return nil
	}
	out := make(map[string]string, len(acls))
	for t, v := range acls {
		out[t.String()] = v
	}
	return out
}

// restAppState is AppState, the body of PUT .../apps/{id}/state.
type restAppState struct {
	State       string `json:"state"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

// ---------------------------------------------------------------- responses

// restRemoteException is the body of every error the RM's web services
// return.
type restRemoteException struct {
	RemoteException *struct {
		Exception     string `json:"exception"`
		Message       string `json:"message"`
		JavaClassName string `json:"javaClassName"`
	} `json:"RemoteException"`
}

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

// parseName returns the value of type T whose String() is name, or 0.
func parseName[T interface {
	~int32
	String() string
}](name string) T {
	if name == "" {
		return 0
	}
	for i := range T(32) {
		if i.String() == name {
			return i
		}
	}
	return 0
}

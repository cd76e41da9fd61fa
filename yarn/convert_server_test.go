package yarn

// Conversions only tests need: the server side of the messages the
// clients send and receive, for replaying and checking them in unit tests.

import (
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/token"
)

func containerIDsFromProto(ps []*pb.ContainerIdProto) []ContainerID {
	var out []ContainerID
	for _, p := range ps {
		out = append(out, containerIDFromProto(p))
	}
	return out
}

func nodeIDToProto(n NodeID) *pb.NodeIdProto {
	return &pb.NodeIdProto{Host: proto.String(n.Host), Port: proto.Int32(n.Port)}
}

func resourceRequestsFromProto(ps []*pb.ResourceRequestProto) []ResourceRequest {
	var out []ResourceRequest
	for _, p := range ps {
		out = append(out, resourceRequestFromProto(p))
	}
	return out
}

func attemptReportToProto(r ApplicationAttemptReport) *pb.ApplicationAttemptReportProto {
	p := &pb.ApplicationAttemptReportProto{
		ApplicationAttemptId: attemptIDToProto(r.ID),
		Host:                 proto.String(r.Host),
		RpcPort:              proto.Int32(r.RPCPort),
		TrackingUrl:          proto.String(r.TrackingURL),
		Diagnostics:          proto.String(r.Diagnostics),
		OriginalTrackingUrl:  proto.String(r.OriginalTrackingURL),
		StartTime:            timeToMillis(r.Started),
		FinishTime:           timeToMillis(r.Finished),
	}
	if r.State != 0 {
		p.YarnApplicationAttemptState = pb.YarnApplicationAttemptStateProto(r.State).Enum()
	}
	if !r.AMContainer.IsZero() {
		p.AmContainerId = containerIDToProto(r.AMContainer)
	}
	return p
}

func filterFromProto(p *pb.GetApplicationsRequestProto) ApplicationFilter {
	f := ApplicationFilter{
		Types:        slices.Clone(p.GetApplicationTypes()),
		Users:        slices.Clone(p.GetUsers()),
		Queues:       slices.Clone(p.GetQueues()),
		Tags:         slices.Clone(p.GetApplicationTags()),
		Name:         p.GetName(),
		Scope:        ApplicationScope(p.GetScope()),
		Limit:        p.GetLimit(),
		StartedFrom:  millisToTime(p.GetStartBegin()),
		FinishedFrom: millisToTime(p.GetFinishBegin()),
	}
	for _, s := range p.GetApplicationStates() {
		f.States = append(f.States, ApplicationState(s))
	}
	if e := p.GetStartEnd(); e != math.MaxInt64 {
		f.StartedTo = millisToTime(e)
	}
	if e := p.GetFinishEnd(); e != math.MaxInt64 {
		f.FinishedTo = millisToTime(e)
	}
	return f
}

func metricsToProto(m ClusterMetrics) *pb.YarnClusterMetricsProto {
	return &pb.YarnClusterMetricsProto{
		NumNodeManagers:       proto.Int32(m.NodeManagers),
		NumDecommissionedNms:  proto.Int32(m.Decommissioned),
		NumActiveNms:          proto.Int32(m.Active),
		NumLostNms:            proto.Int32(m.Lost),
		NumUnhealthyNms:       proto.Int32(m.Unhealthy),
		NumRebootedNms:        proto.Int32(m.Rebooted),
		NumDecommissioningNms: proto.Int32(m.Decommissioning),
		NumShutdownNms:        proto.Int32(m.Shutdown),
	}
}

func nodeReportToProto(n NodeReport) *pb.NodeReportProto {
	p := &pb.NodeReportProto{
		NodeId:               nodeIDToProto(n.ID),
		HttpAddress:          proto.String(n.HTTPAddress),
		RackName:             proto.String(n.Rack),
		Used:                 resourceToProto(n.Used),
		Capability:           resourceToProto(n.Capability),
		NumContainers:        proto.Int32(n.NumContainers),
		HealthReport:         proto.String(n.HealthReport),
		LastHealthReportTime: timeToMillis(n.LastHealthReport),
		NodeLabels:           slices.Clone(n.Labels),
		NodeUpdateType:       pb.NodeUpdateTypeProto(n.UpdateType).Enum(),
	}
	if n.State != 0 {
		p.NodeState = pb.NodeStateProto(n.State).Enum()
	}
	if n.DecommissioningTimeout > 0 {
		p.DecommissioningTimeout = proto.Uint32(uint32(min(n.DecommissioningTimeout/time.Second, math.MaxUint32)))
	}
	return p
}

func containerToProto(c Container) *pb.ContainerProto {
	return &pb.ContainerProto{
		Id:                  containerIDToProto(c.ID),
		NodeId:              nodeIDToProto(c.NodeID),
		NodeHttpAddress:     proto.String(c.NodeHTTPAddress),
		Resource:            resourceToProto(c.Resource),
		Priority:            priorityToProto(c.Priority),
		ContainerToken:      optTokenToProto(c.Token),
		ExecutionType:       executionTypeToProto(c.ExecutionType),
		AllocationRequestId: proto.Int64(c.AllocationRequestID),
		Version:             proto.Int32(c.Version),
		AllocationTags:      slices.Clone(c.AllocationTags),
	}
}

func containersToProto(cs []Container) []*pb.ContainerProto {
	var out []*pb.ContainerProto
	for _, c := range cs {
		out = append(out, containerToProto(c))
	}
	return out
}

func containerStatusToProto(s ContainerStatus) *pb.ContainerStatusProto {
	p := &pb.ContainerStatusProto{
		ContainerId:   containerIDToProto(s.ID),
		Diagnostics:   proto.String(s.Diagnostics),
		ExitStatus:    proto.Int32(s.ExitStatus),
		Capability:    resourceToProto(s.Capability),
		ExecutionType: executionTypeToProto(s.ExecutionType),
	}
	if s.State != 0 {
		p.State = pb.ContainerStateProto(s.State).Enum()
	}
	return p
}

func containerReportToProto(r ContainerReport) *pb.ContainerReportProto {
	p := &pb.ContainerReportProto{
		ContainerId:         containerIDToProto(r.ID),
		Resource:            resourceToProto(r.Resource),
		NodeId:              nodeIDToProto(r.NodeID),
		Priority:            priorityToProto(r.Priority),
		CreationTime:        timeToMillis(r.Created),
		FinishTime:          timeToMillis(r.Finished),
		DiagnosticsInfo:     proto.String(r.Diagnostics),
		LogUrl:              proto.String(r.LogURL),
		ContainerExitStatus: proto.Int32(r.ExitStatus),
		NodeHttpAddress:     proto.String(r.NodeHTTPAddress),
		ExecutionType:       executionTypeToProto(r.ExecutionType),
	}
	if r.State != 0 {
		p.ContainerState = pb.ContainerStateProto(r.State).Enum()
	}
	return p
}

func registrationFromProto(p *pb.RegisterApplicationMasterRequestProto) AMRegistration {
	return AMRegistration{Host: p.GetHost(), RPCPort: p.GetRpcPort(), TrackingURL: p.GetTrackingUrl()}
}

func registrationResponseToProto(r *AMRegistrationResponse) *pb.RegisterApplicationMasterResponseProto {
	p := &pb.RegisterApplicationMasterResponseProto{
		MaximumCapability:              resourceToProto(r.MaxCapability),
		ClientToAmTokenMasterKey:       token.CloneBytes(r.ClientToAMTokenMasterKey),
		Application_ACLs:               aclsToProto(r.ACLs),
		ContainersFromPreviousAttempts: containersToProto(r.ContainersFromPreviousAttempts),
		Queue:                          proto.String(r.Queue),
		NmTokensFromPreviousAttempts:   nmTokensToProto(r.NMTokensFromPreviousAttempts),
	}
	for _, t := range r.ResourceTypes {
		p.ResourceTypes = append(p.ResourceTypes, &pb.ResourceTypeInfoProto{
			Name: proto.String(t.Name), Units: proto.String(t.Units), Type: pb.ResourceTypesProto_COUNTABLE.Enum(),
		})
	}
	return p
}

func unregistrationFromProto(p *pb.FinishApplicationMasterRequestProto) AMUnregistration {
	return AMUnregistration{
		FinalStatus: FinalStatus(p.GetFinalApplicationStatus()),
		Diagnostics: p.GetDiagnostics(),
		TrackingURL: p.GetTrackingUrl(),
	}
}

func nmTokensToProto(ts []NMToken) []*pb.NMTokenProto {
	var out []*pb.NMTokenProto
	for _, t := range ts {
		out = append(out, &pb.NMTokenProto{NodeId: nodeIDToProto(t.NodeID), Token: tokenToProto(t.Token)})
	}
	return out
}

func allocateRequestFromProto(p *pb.AllocateRequestProto) AllocateRequest {
	r := AllocateRequest{
		Asks:               resourceRequestsFromProto(p.GetAsk()),
		Release:            containerIDsFromProto(p.GetRelease()),
		BlacklistAdditions: slices.Clone(p.GetBlacklistRequest().GetBlacklistAdditions()),
		BlacklistRemovals:  slices.Clone(p.GetBlacklistRequest().GetBlacklistRemovals()),
		Progress:           p.GetProgress(),
		TrackingURL:        p.GetTrackingUrl(),
	}
	for _, u := range p.GetUpdateRequests() {
		r.UpdateRequests = append(r.UpdateRequests, updateRequestFromProto(u))
	}
	return r
}

func allocateResponseToProto(r *AllocateResponse) *pb.AllocateResponseProto {
	p := &pb.AllocateResponseProto{
		ResponseId:                     proto.Int32(r.ResponseID),
		AllocatedContainers:            containersToProto(r.Allocated),
		Limit:                          resourceToProto(r.Headroom),
		NumClusterNodes:                proto.Int32(r.NumClusterNodes),
		NmTokens:                       nmTokensToProto(r.NMTokens),
		AmRmToken:                      optTokenToProto(r.AMRMToken),
		ContainersFromPreviousAttempts: containersToProto(r.ContainersFromPreviousAttempts),
	}
	if r.Command != 0 {
		p.AMCommand = pb.AMCommandProto(r.Command).Enum()
	}
	if r.Priority != 0 {
		p.ApplicationPriority = priorityToProto(r.Priority)
	}
	for _, s := range r.Completed {
		p.CompletedContainerStatuses = append(p.CompletedContainerStatuses, containerStatusToProto(s))
	}
	for _, n := range r.UpdatedNodes {
		p.UpdatedNodes = append(p.UpdatedNodes, nodeReportToProto(n))
	}
	if m := r.Preemption; m != nil {
		p.Preempt = &pb.PreemptionMessageProto{}
		if len(m.Strict) > 0 {
			p.Preempt.StrictContract = &pb.StrictPreemptionContractProto{Container: preemptionContainersToProto(m.Strict)}
		}
		if len(m.Negotiable) > 0 || len(m.Asks) > 0 {
			c := &pb.PreemptionContractProto{Container: preemptionContainersToProto(m.Negotiable)}
			for _, a := range m.Asks {
				c.Resource = append(c.Resource, &pb.PreemptionResourceRequestProto{Resource: resourceRequestToProto(a)})
			}
			p.Preempt.Contract = c
		}
	}
	for _, e := range r.UpdateErrors {
		p.UpdateErrors = append(p.UpdateErrors, &pb.UpdateContainerErrorProto{
			Reason:                  proto.String(e.Reason),
			UpdateRequest:           updateRequestToProto(e.Request),
			CurrentContainerVersion: proto.Int32(e.CurrentVersion),
		})
	}
	for _, u := range r.UpdatedContainers {
		p.UpdatedContainers = append(p.UpdatedContainers, &pb.UpdatedContainerProto{
			UpdateType: pb.ContainerUpdateTypeProto(u.Type).Enum(),
			Container:  containerToProto(u.Container),
		})
	}
	return p
}

func preemptionContainersToProto(ids []ContainerID) []*pb.PreemptionContainerProto {
	var out []*pb.PreemptionContainerProto
	for _, id := range ids {
		out = append(out, &pb.PreemptionContainerProto{Id: containerIDToProto(id)})
	}
	return out
}

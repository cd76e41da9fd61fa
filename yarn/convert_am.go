package yarn

// Conversions of the ApplicationMasterProtocol messages: registration,
// allocation and unregistration.

import (
	"slices"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/token"
)

func registrationToProto(r AMRegistration) *pb.RegisterApplicationMasterRequestProto {
	return &pb.RegisterApplicationMasterRequestProto{
		Host:        proto.String(r.Host),
		RpcPort:     proto.Int32(r.RPCPort),
		TrackingUrl: proto.String(r.TrackingURL),
	}
}

func registrationResponseFromProto(p *pb.RegisterApplicationMasterResponseProto) AMRegistrationResponse {
	r := AMRegistrationResponse{
		MaxCapability:                  resourceFromProto(p.GetMaximumCapability()),
		ClientToAMTokenMasterKey:       token.CloneBytes(p.GetClientToAmTokenMasterKey()),
		ACLs:                           aclsFromProto(p.GetApplication_ACLs()),
		Queue:                          p.GetQueue(),
		ContainersFromPreviousAttempts: containersFromProto(p.GetContainersFromPreviousAttempts()),
		NMTokensFromPreviousAttempts:   nmTokensFromProto(p.GetNmTokensFromPreviousAttempts()),
	}
	for _, t := range p.GetResourceTypes() {
		r.ResourceTypes = append(r.ResourceTypes, ResourceTypeInfo{Name: t.GetName(), Units: t.GetUnits()})
	}
	return r
}

func unregistrationToProto(u AMUnregistration) *pb.FinishApplicationMasterRequestProto {
	return &pb.FinishApplicationMasterRequestProto{
		Diagnostics:            proto.String(u.Diagnostics),
		TrackingUrl:            proto.String(u.TrackingURL),
		FinalApplicationStatus: pb.FinalApplicationStatusProto(u.FinalStatus).Enum(),
	}
}

func nmTokensFromProto(ps []*pb.NMTokenProto) []NMToken {
	var out []NMToken
	for _, p := range ps {
		out = append(out, NMToken{NodeID: nodeIDFromProto(p.GetNodeId()), Token: tokenFromProto(p.GetToken())})
	}
	return out
}

func updateRequestToProto(u UpdateContainerRequest) *pb.UpdateContainerRequestProto {
	p := &pb.UpdateContainerRequestProto{
		ContainerVersion: proto.Int32(u.Version),
		ContainerId:      containerIDToProto(u.ContainerID),
		UpdateType:       pb.ContainerUpdateTypeProto(u.Type).Enum(),
	}
	switch u.Type {
	case IncreaseResource, DecreaseResource:
		p.Capability = resourceToProto(u.Capability)
	case PromoteExecutionType, DemoteExecutionType:
		p.ExecutionType = executionTypeToProto(u.ExecutionType)
	}
	return p
}

func updateRequestFromProto(p *pb.UpdateContainerRequestProto) UpdateContainerRequest {
	if p == nil {
		p = &pb.UpdateContainerRequestProto{}
	}
	return UpdateContainerRequest{
		Version:       p.GetContainerVersion(),
		ContainerID:   containerIDFromProto(p.GetContainerId()),
		Type:          ContainerUpdateType(p.GetUpdateType()),
		Capability:    resourceFromProto(p.GetCapability()),
		ExecutionType: executionTypeFromProto(p.ExecutionType),
	}
}

func allocateRequestToProto(r *AllocateRequest) *pb.AllocateRequestProto {
	p := &pb.AllocateRequestProto{
		Ask:         resourceRequestsToProto(r.Asks),
		Release:     containerIDsToProto(r.Release),
		Progress:    proto.Float32(r.Progress),
		TrackingUrl: optString(r.TrackingURL),
	}
	p.SchedulingRequests = schedulingRequestsToProto(r.SchedulingRequests)
	if len(r.BlacklistAdditions) > 0 || len(r.BlacklistRemovals) > 0 {
		p.BlacklistRequest = &pb.ResourceBlacklistRequestProto{
			BlacklistAdditions: slices.Clone(r.BlacklistAdditions),
			BlacklistRemovals:  slices.Clone(r.BlacklistRemovals),
		}
	}
	for _, u := range r.UpdateRequests {
		p.UpdateRequests = append(p.UpdateRequests, updateRequestToProto(u))
	}
	return p
}

func allocateResponseFromProto(p *pb.AllocateResponseProto) AllocateResponse {
	if p == nil {
		p = &pb.AllocateResponseProto{}
	}
	r := AllocateResponse{
		Command:                        AMCommand(p.GetAMCommand()),
		ResponseID:                     p.GetResponseId(),
		Allocated:                      containersFromProto(p.GetAllocatedContainers()),
		Completed:                      containerStatusesFromProto(p.GetCompletedContainerStatuses()),
		Headroom:                       resourceFromProto(p.GetLimit()),
		UpdatedNodes:                   nodeReportsFromProto(p.GetUpdatedNodes()),
		NumClusterNodes:                p.GetNumClusterNodes(),
		NMTokens:                       nmTokensFromProto(p.GetNmTokens()),
		AMRMToken:                      optTokenFromProto(p.GetAmRmToken()),
		Priority:                       priorityFromProto(p.GetApplicationPriority()),
		ContainersFromPreviousAttempts: containersFromProto(p.GetContainersFromPreviousAttempts()),
	}
	if p.AMCommand == nil {
		r.Command = 0
	}
	if m := p.GetPreempt(); m != nil {
		pm := &PreemptionMessage{
			Strict:     preemptionContainersFromProto(m.GetStrictContract().GetContainer()),
			Negotiable: preemptionContainersFromProto(m.GetContract().GetContainer()),
		}
		for _, rr := range m.GetContract().GetResource() {
			pm.Asks = append(pm.Asks, resourceRequestFromProto(rr.GetResource()))
		}
		r.Preemption = pm
	}
	for _, e := range p.GetUpdateErrors() {
		r.UpdateErrors = append(r.UpdateErrors, UpdateContainerError{
			Reason:         e.GetReason(),
			Request:        updateRequestFromProto(e.GetUpdateRequest()),
			CurrentVersion: e.GetCurrentContainerVersion(),
		})
	}
	for _, u := range p.GetUpdatedContainers() {
		r.UpdatedContainers = append(r.UpdatedContainers, UpdatedContainer{
			Type:      ContainerUpdateType(u.GetUpdateType()),
			Container: containerFromProto(u.GetContainer()),
		})
	}
	return r
}

func preemptionContainersFromProto(ps []*pb.PreemptionContainerProto) []ContainerID {
	var out []ContainerID
	for _, p := range ps {
		out = append(out, containerIDFromProto(p.GetId()))
	}
	return out
}

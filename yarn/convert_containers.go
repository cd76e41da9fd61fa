package yarn

// Conversions of containers, their statuses and reports, and the
// ContainerManagementProtocol requests.

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

func containerFromProto(p *pb.ContainerProto) Container {
	if p == nil {
		p = &pb.ContainerProto{}
	}
	return Container{
		ID:                  containerIDFromProto(p.GetId()),
		NodeID:              nodeIDFromProto(p.GetNodeId()),
		NodeHTTPAddress:     p.GetNodeHttpAddress(),
		Resource:            resourceFromProto(p.GetResource()),
		Priority:            priorityFromProto(p.GetPriority()),
		Token:               optTokenFromProto(p.GetContainerToken()),
		ExecutionType:       executionTypeFromProto(p.ExecutionType),
		AllocationRequestID: p.GetAllocationRequestId(),
		Version:             p.GetVersion(),
		AllocationTags:      slices.Clone(p.GetAllocationTags()),
	}
}

func containersFromProto(ps []*pb.ContainerProto) []Container {
	var out []Container
	for _, p := range ps {
		out = append(out, containerFromProto(p))
	}
	return out
}

// containerStatusFromProto reads an absent exit status as ExitInvalid, as
// Java does.
func containerStatusFromProto(p *pb.ContainerStatusProto) ContainerStatus {
	if p == nil {
		p = &pb.ContainerStatusProto{}
	}
	s := ContainerStatus{
		ID:            containerIDFromProto(p.GetContainerId()),
		ExitStatus:    p.GetExitStatus(),
		Diagnostics:   derefString(p.Diagnostics),
		Capability:    resourceFromProto(p.GetCapability()),
		ExecutionType: executionTypeFromProto(p.ExecutionType),
	}
	if p.State != nil {
		s.State = ContainerState(*p.State)
	}
	return s
}

func containerStatusesFromProto(ps []*pb.ContainerStatusProto) []ContainerStatus {
	var out []ContainerStatus
	for _, p := range ps {
		out = append(out, containerStatusFromProto(p))
	}
	return out
}

func containerReportFromProto(p *pb.ContainerReportProto) ContainerReport {
	if p == nil {
		p = &pb.ContainerReportProto{}
	}
	r := ContainerReport{
		ID:              containerIDFromProto(p.GetContainerId()),
		Resource:        resourceFromProto(p.GetResource()),
		NodeID:          nodeIDFromProto(p.GetNodeId()),
		Priority:        priorityFromProto(p.GetPriority()),
		Created:         millisToTime(p.GetCreationTime()),
		Finished:        millisToTime(p.GetFinishTime()),
		Diagnostics:     derefString(p.DiagnosticsInfo),
		LogURL:          p.GetLogUrl(),
		ExitStatus:      p.GetContainerExitStatus(),
		NodeHTTPAddress: p.GetNodeHttpAddress(),
		ExecutionType:   executionTypeFromProto(p.ExecutionType),
	}
	if p.ContainerState != nil {
		r.State = ContainerState(*p.ContainerState)
	}
	return r
}

// startContainerRequestToProto pairs a launch context with the container
// token the NodeManager checks.
func startContainerRequestToProto(c Container, clc ContainerLaunchContext) (*pb.StartContainerRequestProto, error) {
	if c.Token == nil {
		return nil, fmt.Errorf("yarn: container %s has no container token; start only containers the ResourceManager allocated", c.ID)
	}
	lc, err := launchContextToProto(clc)
	if err != nil {
		return nil, fmt.Errorf("yarn: launch context of container %s: %w", c.ID, err)
	}
	return &pb.StartContainerRequestProto{ContainerLaunchContext: lc, ContainerToken: tokenToProto(*c.Token)}, nil
}

func serializedExceptionToProto(e *SerializedException) *pb.SerializedExceptionProto {
	if e == nil {
		return nil
	}
	return &pb.SerializedExceptionProto{
		Message:   proto.String(e.Message),
		Trace:     optString(e.Trace),
		ClassName: proto.String(e.Class),
		Cause:     serializedExceptionToProto(e.Cause),
	}
}

func serializedExceptionFromProto(p *pb.SerializedExceptionProto) *SerializedException {
	if p == nil {
		return nil
	}
	return &SerializedException{
		Class:   p.GetClassName(),
		Message: p.GetMessage(),
		Trace:   p.GetTrace(),
		Cause:   serializedExceptionFromProto(p.GetCause()),
	}
}

// containerFailuresFromProto maps each failed container to its exception.
// An entry without an exception still counts as a failure.
func containerFailuresFromProto(ps []*pb.ContainerExceptionMapProto) map[ContainerID]*SerializedException {
	var m map[ContainerID]*SerializedException
	for _, p := range ps {
		if m == nil {
			m = make(map[ContainerID]*SerializedException, len(ps))
		}
		e := serializedExceptionFromProto(p.GetException())
		if e == nil {
			e = &SerializedException{Message: "the NodeManager reported a failure without an exception"}
		}
		m[containerIDFromProto(p.GetContainerId())] = e
	}
	return m
}

package yarn

// Conversions between the public types of this package and the generated
// YARN protobuf messages. Nothing here is exported: the clients convert at
// the edge, so no generated type reaches the API.
//
// Direction conventions:
//   - xToProto builds the message Hadoop's Java PBImpl would read back as x.
//     Maps become repeated key/value messages in sorted key order, so equal
//     values always encode to equal bytes.
//   - xFromProto never panics, whatever the message holds (missing
//     sub-messages read as zero values), and copies everything it keeps, so
//     the result shares no memory with the message.
//   - Optional proto2 fields whose Java default differs from Go's zero
//     value are read through their presence (the pointer), not the
//     generated getter, so an absent field becomes the documented zero value.

import (
	"maps"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

func appIDToProto(a ApplicationID) *pb.ApplicationIdProto {
	return &pb.ApplicationIdProto{Id: proto.Int32(a.ID), ClusterTimestamp: proto.Int64(a.ClusterTimestamp)}
}

func appIDFromProto(p *pb.ApplicationIdProto) ApplicationID {
	return ApplicationID{ClusterTimestamp: p.GetClusterTimestamp(), ID: p.GetId()}
}

func attemptIDToProto(a ApplicationAttemptID) *pb.ApplicationAttemptIdProto {
	return &pb.ApplicationAttemptIdProto{ApplicationId: appIDToProto(a.Application), AttemptId: proto.Int32(a.Attempt)}
}

func attemptIDFromProto(p *pb.ApplicationAttemptIdProto) ApplicationAttemptID {
	return ApplicationAttemptID{Application: appIDFromProto(p.GetApplicationId()), Attempt: p.GetAttemptId()}
}

// containerIDToProto sets app_attempt_id only, as Java's ContainerIdPBImpl
// does; the older app_id field is still read when the attempt is missing.
func containerIDToProto(c ContainerID) *pb.ContainerIdProto {
	return &pb.ContainerIdProto{AppAttemptId: attemptIDToProto(c.Attempt), Id: proto.Int64(c.ID)}
}

func containerIDFromProto(p *pb.ContainerIdProto) ContainerID {
	c := ContainerID{Attempt: attemptIDFromProto(p.GetAppAttemptId()), ID: p.GetId()}
	if p.GetAppAttemptId() == nil && p.GetAppId() != nil {
		c.Attempt.Application = appIDFromProto(p.GetAppId())
	}
	return c
}

func containerIDsToProto(ids []ContainerID) []*pb.ContainerIdProto {
	var out []*pb.ContainerIdProto
	for _, id := range ids {
		out = append(out, containerIDToProto(id))
	}
	return out
}

func nodeIDFromProto(p *pb.NodeIdProto) NodeID {
	return NodeID{Host: p.GetHost(), Port: p.GetPort()}
}

// resourceToProto writes memory and vcores in the scalar fields, which is
// where Java reads them, and each custom type as a resource_value_map entry
// without units, which Java reads in the type's configured unit.
func resourceToProto(r Resource) *pb.ResourceProto {
	p := &pb.ResourceProto{Memory: proto.Int64(r.MemoryMB), VirtualCores: proto.Int32(r.VCores)}
	for _, k := range slices.Sorted(maps.Keys(r.Custom)) {
		p.ResourceValueMap = append(p.ResourceValueMap, &pb.ResourceInformationProto{
			Key: proto.String(k), Value: proto.Int64(r.Custom[k]),
		})
	}
	return p
}

// resourceFromProto reads memory and vcores from the scalar fields, falling
// back to their resource_value_map entries when the scalars are absent, and
// every other entry with a non-zero value into Custom.
func resourceFromProto(p *pb.ResourceProto) Resource {
	if p == nil {
		p = &pb.ResourceProto{}
	}
	var r Resource
	for _, ri := range p.GetResourceValueMap() {
		switch k := ri.GetKey(); k {
		case ResourceMemory:
			r.MemoryMB = ri.GetValue()
		case ResourceVCores:
			r.VCores = int32(ri.GetValue())
		default:
			if ri.GetValue() == 0 {
				// Java lists every configured type, most of them at zero;
				// an absent type means zero too.
				delete(r.Custom, k)
				continue
			}
			if r.Custom == nil {
				r.Custom = make(map[string]int64)
			}
			r.Custom[k] = ri.GetValue()
		}
	}
	if p.Memory != nil {
		r.MemoryMB = p.GetMemory()
	}
	if p.VirtualCores != nil {
		r.VCores = p.GetVirtualCores()
	}
	return r
}

func priorityToProto(p Priority) *pb.PriorityProto {
	return &pb.PriorityProto{Priority: proto.Int32(int32(p))}
}

func priorityFromProto(p *pb.PriorityProto) Priority { return Priority(p.GetPriority()) }

// optPriority sends a priority only when set: an absent priority means the
// queue's default, which zero need not be.
func optPriority(p Priority) *pb.PriorityProto {
	if p == 0 {
		return nil
	}
	return priorityToProto(p)
}

func executionTypeToProto(t ExecutionType) *pb.ExecutionTypeProto {
	v := pb.ExecutionTypeProto_GUARANTEED
	if t == ExecutionOpportunistic {
		v = pb.ExecutionTypeProto_OPPORTUNISTIC
	}
	return &v
}

func executionTypeFromProto(p *pb.ExecutionTypeProto) ExecutionType {
	if p != nil && *p == pb.ExecutionTypeProto_OPPORTUNISTIC {
		return ExecutionOpportunistic
	}
	return ExecutionGuaranteed
}

func resourceRequestToProto(r ResourceRequest) *pb.ResourceRequestProto {
	name := r.ResourceName
	if name == "" {
		name = AnyResourceName
	}
	return &pb.ResourceRequestProto{
		Priority:            priorityToProto(r.Priority),
		ResourceName:        proto.String(name),
		Capability:          resourceToProto(r.Resource),
		NumContainers:       proto.Int32(r.NumContainers),
		RelaxLocality:       proto.Bool(!r.StrictLocality),
		NodeLabelExpression: optString(r.NodeLabel),
		ExecutionTypeRequest: &pb.ExecutionTypeRequestProto{
			ExecutionType:        executionTypeToProto(r.ExecutionType),
			EnforceExecutionType: proto.Bool(r.EnforceExecutionType),
		},
		AllocationRequestId: proto.Int64(r.AllocationRequestID),
	}
}

func resourceRequestFromProto(p *pb.ResourceRequestProto) ResourceRequest {
	var et *pb.ExecutionTypeProto
	if e := p.GetExecutionTypeRequest(); e != nil {
		et = e.ExecutionType
	}
	name := p.GetResourceName()
	if name == "" {
		name = AnyResourceName // as resourceRequestToProto sends an empty name
	}
	return ResourceRequest{
		Priority:             priorityFromProto(p.GetPriority()),
		Resource:             resourceFromProto(p.GetCapability()),
		NumContainers:        p.GetNumContainers(),
		ResourceName:         name,
		StrictLocality:       !p.GetRelaxLocality(),
		NodeLabel:            p.GetNodeLabelExpression(),
		ExecutionType:        executionTypeFromProto(et),
		EnforceExecutionType: p.GetExecutionTypeRequest().GetEnforceExecutionType(),
		AllocationRequestID:  p.GetAllocationRequestId(),
	}
}

func resourceRequestsToProto(rs []ResourceRequest) []*pb.ResourceRequestProto {
	var out []*pb.ResourceRequestProto
	for _, r := range rs {
		out = append(out, resourceRequestToProto(r))
	}
	return out
}

func optTokenToProto(t *Token) *hadoopcommon.TokenProto {
	if t == nil {
		return nil
	}
	return tokenToProto(*t)
}

func optTokenFromProto(p *hadoopcommon.TokenProto) *Token {
	if p == nil {
		return nil
	}
	t := tokenFromProto(p)
	return &t
}

// optString leaves a proto2 string field absent when s is empty, so that
// Java applies the field's default.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

// derefString reads a proto2 string field by presence: absent is "", not
// the field's declared default.
func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// timeToMillis leaves the field absent for the zero time.
func timeToMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	return proto.Int64(t.UnixMilli())
}

// millisToTime reads Hadoop's "0 means never" convention; negative values
// count as never too.
func millisToTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// durationOf converts n units to a Duration, saturating instead of
// overflowing for counts beyond about 292 years.
func durationOf(n int64, unit time.Duration) time.Duration {
	if n > int64(math.MaxInt64/unit) {
		return math.MaxInt64 / unit * unit
	}
	if n < int64(math.MinInt64/unit) {
		return math.MinInt64 / unit * unit
	}
	return time.Duration(n) * unit
}

func isZeroResource(r Resource) bool {
	return r.MemoryMB == 0 && r.VCores == 0 && len(r.Custom) == 0
}

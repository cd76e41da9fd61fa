package yarn

import (
	"slices"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

// A SchedulingRequest asks for containers that carry allocation tags and
// obey a placement constraint on the tags of containers already placed,
// e.g. anti-affinity: at most one container tagged "worker" per node. The
// ResourceManager serves it only when yarn.resourcemanager.placement-
// constraints.handler is "scheduler" or "placement-processor"; with the
// default ("disabled") the allocate call fails. Unlike a ResourceRequest
// it is not a total the next heartbeat replaces: each one adds
// NumAllocations containers to what the application waits for.
type SchedulingRequest struct {
	// AllocationRequestID tells the containers of this request apart from
	// others; allocated containers carry it. It must differ from the ids
	// of the application's ResourceRequests.
	AllocationRequestID int64
	// Priority among this application's requests; lower is served first.
	Priority Priority
	// ExecutionType is GUARANTEED (the zero value) or OPPORTUNISTIC;
	// EnforceExecutionType refuses containers of the other type.
	ExecutionType        ExecutionType
	EnforceExecutionType bool
	// AllocationTags are put on each container, for constraints to name.
	AllocationTags []string
	// NumAllocations containers of Resource each are asked for.
	NumAllocations int32
	Resource       Resource
	// Constraint limits where the containers go. Nil means anywhere.
	Constraint *PlacementConstraint
}

// Placement constraint scopes: the set of nodes a cardinality counts over.
const (
	ScopeNode = "node"
	ScopeRack = "rack"
)

// A PlacementConstraint says that, within each Scope (a node, or a rack),
// a container may be placed only where the number of this application's
// containers carrying any of TargetTags lies between MinCardinality and
// MaxCardinality. It is Hadoop's single constraint on allocation tags;
// composite and node-attribute constraints are not offered.
type PlacementConstraint struct {
	Scope                          string
	TargetTags                     []string
	MinCardinality, MaxCardinality int32
}

// AntiAffinity places a container only in a scope holding no container
// tagged with any of tags (Hadoop's targetNotIn): with the request's own
// tag, its containers spread one per node (or rack).
func AntiAffinity(scope string, tags ...string) *PlacementConstraint {
	return &PlacementConstraint{Scope: scope, TargetTags: slices.Clone(tags)}
}

func schedulingRequestsToProto(rs []SchedulingRequest) []*pb.SchedulingRequestProto {
	var out []*pb.SchedulingRequestProto
	for _, r := range rs {
		p := &pb.SchedulingRequestProto{
			AllocationRequestId: proto.Int64(r.AllocationRequestID),
			Priority:            priorityToProto(r.Priority),
			ExecutionType: &pb.ExecutionTypeRequestProto{
				ExecutionType:        executionTypeToProto(r.ExecutionType),
				EnforceExecutionType: proto.Bool(r.EnforceExecutionType),
			},
			AllocationTags: slices.Clone(r.AllocationTags),
			ResourceSizing: &pb.ResourceSizingProto{
				NumAllocations: proto.Int32(r.NumAllocations),
				Resources:      resourceToProto(r.Resource),
			},
		}
		if c := r.Constraint; c != nil {
			p.PlacementConstraint = &pb.PlacementConstraintProto{SimpleConstraint: &pb.SimplePlacementConstraintProto{
				Scope: proto.String(c.Scope),
				TargetExpressions: []*pb.PlacementConstraintTargetProto{{
					TargetType:   pb.PlacementConstraintTargetProto_ALLOCATION_TAG.Enum(),
					TargetValues: slices.Clone(c.TargetTags),
				}},
				MinCardinality: proto.Int32(c.MinCardinality),
				MaxCardinality: proto.Int32(c.MaxCardinality),
			}}
		}
		out = append(out, p)
	}
	return out
}

package yarn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

func TestSchedulingRequestsToProto(t *testing.T) {
	req := &AllocateRequest{SchedulingRequests: []SchedulingRequest{{
		AllocationRequestID: 7, Priority: 2, AllocationTags: []string{"spread"},
		NumAllocations: 3, Resource: Resource{MemoryMB: 64, VCores: 1},
		ExecutionType: ExecutionOpportunistic, EnforceExecutionType: true,
		Constraint: AntiAffinity(ScopeNode, "spread"),
	}, {
		AllocationRequestID: 8, NumAllocations: 1, Resource: Resource{MemoryMB: 128, VCores: 2},
	}}}
	got := allocateRequestToProto(req).GetSchedulingRequests()
	want := []*pb.SchedulingRequestProto{{
		AllocationRequestId: proto.Int64(7),
		Priority:            priorityToProto(2),
		ExecutionType: &pb.ExecutionTypeRequestProto{
			ExecutionType: pb.ExecutionTypeProto_OPPORTUNISTIC.Enum(), EnforceExecutionType: proto.Bool(true),
		},
		AllocationTags: []string{"spread"},
		ResourceSizing: &pb.ResourceSizingProto{NumAllocations: proto.Int32(3), Resources: resourceToProto(Resource{MemoryMB: 64, VCores: 1})},
		// Hadoop's targetNotIn(NODE, allocationTag("spread")): cardinality 0..0 on the node.
		PlacementConstraint: &pb.PlacementConstraintProto{SimpleConstraint: &pb.SimplePlacementConstraintProto{
			Scope: proto.String("node"),
			TargetExpressions: []*pb.PlacementConstraintTargetProto{{
				TargetType: pb.PlacementConstraintTargetProto_ALLOCATION_TAG.Enum(), TargetValues: []string{"spread"},
			}},
			MinCardinality: proto.Int32(0), MaxCardinality: proto.Int32(0),
		}},
	}, {
		AllocationRequestId: proto.Int64(8),
		Priority:            priorityToProto(0),
		ExecutionType: &pb.ExecutionTypeRequestProto{
			ExecutionType: pb.ExecutionTypeProto_GUARANTEED.Enum(), EnforceExecutionType: proto.Bool(false),
		},
		ResourceSizing: &pb.ResourceSizingProto{NumAllocations: proto.Int32(1), Resources: resourceToProto(Resource{MemoryMB: 128, VCores: 2})},
	}}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("scheduling requests (-want +got):\n%s", d)
	}
	// The request must survive Hadoop's required fields.
	for _, p := range got {
		if _, err := proto.Marshal(p); err != nil {
			t.Errorf("marshal: %v", err)
		}
	}
	if got := allocateRequestToProto(&AllocateRequest{}).GetSchedulingRequests(); got != nil {
		t.Errorf("no scheduling requests sent %v", got)
	}
}

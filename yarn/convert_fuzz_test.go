package yarn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

// The fuzz targets feed arbitrary bytes, as a ResourceManager or NodeManager
// could send them, through proto.Unmarshal and the converters. Whatever
// decodes must convert without panicking, convert back to a message that
// marshals (required fields included), and reach a fixed point: converting
// the re-encoded message gives the same value again.

func fuzzSeed[P proto.Message](f *testing.F, msgs ...P) {
	f.Helper()
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
}

// fixedPoint checks from(to(v)) == v for a v that came out of from.
func fixedPoint[T any, P proto.Message](t *testing.T, v T, to func(T) (P, error), from func(P) (T, error)) {
	t.Helper()
	p, err := to(v)
	if err != nil {
		t.Fatalf("converting back: %v", err)
	}
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatalf("marshal of converted value: %v", err)
	}
	p2 := p.ProtoReflect().New().Interface().(P)
	if err := proto.Unmarshal(b, p2); err != nil {
		t.Fatalf("unmarshal of re-encoded value: %v", err)
	}
	again, err := from(p2)
	if err != nil {
		t.Fatalf("converting the re-encoded value: %v", err)
	}
	if diff := cmp.Diff(v, again, credentialsEqual, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("not a fixed point (-first +second):\n%s", diff)
	}
}

func noErr[A, B any](f func(A) B) func(A) (B, error) {
	return func(a A) (B, error) { return f(a), nil }
}

func FuzzApplicationReportFromProto(f *testing.F) {
	r := fullReport()
	fuzzSeed(f, reportToProto(&r), &pb.ApplicationReportProto{Diagnostics: str("x")})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.ApplicationReportProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		fixedPoint(t, reportFromProto(&p), noErr(func(r ApplicationReport) *pb.ApplicationReportProto { return reportToProto(&r) }),
			noErr(reportFromProto))
	})
}

func FuzzAllocateResponseFromProto(f *testing.F) {
	resp := allocateResponseToProto(&AllocateResponse{Command: AMResync, Allocated: []Container{fullContainer()},
		Completed:  []ContainerStatus{{ID: testCID, State: ContainerComplete, ExitStatus: 1}},
		Preemption: &PreemptionMessage{Strict: []ContainerID{testCID}, Asks: []ResourceRequest{{NumContainers: 1}}},
		NMTokens:   []NMToken{{NodeID: testNode, Token: testToken}}, UpdatedNodes: []NodeReport{{ID: testNode, State: NodeLost}}})
	fuzzSeed(f, resp)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.AllocateResponseProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		fixedPoint(t, allocateResponseFromProto(&p),
			noErr(func(r AllocateResponse) *pb.AllocateResponseProto { return allocateResponseToProto(&r) }),
			noErr(allocateResponseFromProto))
	})
}

func FuzzSubmissionFromProto(f *testing.F) {
	p, err := submissionToProto(fullSubmission())
	if err != nil {
		f.Fatal(err)
	}
	fuzzSeed(f, p)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.ApplicationSubmissionContextProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		s, err := submissionFromProto(&p)
		if err != nil {
			return // tokens that are not a credentials file
		}
		// Conversion back may refuse what Validate refuses (bad URLs);
		// when it accepts, the result must be stable.
		if _, err := submissionToProto(&s); err != nil {
			return
		}
		fixedPoint(t, s, func(s ApplicationSubmission) (*pb.ApplicationSubmissionContextProto, error) {
			return submissionToProto(&s)
		},
			submissionFromProto)
	})
}

func FuzzQueueInfoFromProto(f *testing.F) {
	q := QueueInfo{Name: "root", State: QueueRunning, Children: []QueueInfo{{Name: "a", Statistics: &QueueStatistics{AppsRunning: 1}}},
		Applications: []ApplicationReport{fullReport()}}
	fuzzSeed(f, queueInfoToProto(&q))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.QueueInfoProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		fixedPoint(t, queueInfoFromProto(&p), noErr(func(q QueueInfo) *pb.QueueInfoProto { return queueInfoToProto(&q) }),
			noErr(queueInfoFromProto))
	})
}

func FuzzRegistrationResponseFromProto(f *testing.F) {
	fuzzSeed(f, registrationResponseToProto(&AMRegistrationResponse{MaxCapability: Resource{MemoryMB: 1, VCores: 1},
		ContainersFromPreviousAttempts: []Container{fullContainer()}, NMTokensFromPreviousAttempts: []NMToken{{NodeID: testNode, Token: testToken}},
		ACLs: map[ApplicationAccessType]string{AccessViewApp: "*"}, ResourceTypes: []ResourceTypeInfo{{Name: "vcores"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.RegisterApplicationMasterResponseProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		fixedPoint(t, registrationResponseFromProto(&p),
			noErr(func(r AMRegistrationResponse) *pb.RegisterApplicationMasterResponseProto {
				return registrationResponseToProto(&r)
			}),
			noErr(registrationResponseFromProto))
	})
}

// FuzzContainerManagementResponses covers what a NodeManager sends back:
// start results with serialized exceptions, and container statuses.
func FuzzContainerManagementResponses(f *testing.F) {
	fuzzSeed(f, &pb.StartContainersResponseProto{
		SucceededRequests: []*pb.ContainerIdProto{containerIDToProto(testCID)},
		FailedRequests: []*pb.ContainerExceptionMapProto{{ContainerId: containerIDToProto(testCID),
			Exception: &pb.SerializedExceptionProto{Message: str("m"), Cause: &pb.SerializedExceptionProto{ClassName: str("c")}}}},
		ServicesMetaData: []*pb.StringBytesMapProto{{Key: str("k"), Value: []byte("v")}},
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pb.StartContainersResponseProto
		if proto.Unmarshal(b, &p) == nil {
			_ = containerIDsFromProto(p.GetSucceededRequests())
			for id, e := range containerFailuresFromProto(p.GetFailedRequests()) {
				_ = id.String()
				_ = e.Error()
			}
			_ = stringBytesMapFromProto(p.GetServicesMetaData())
		}
		var s pb.GetContainerStatusesResponseProto
		if proto.Unmarshal(b, &s) == nil {
			for _, st := range containerStatusesFromProto(s.GetStatus()) {
				fixedPoint(t, st, noErr(containerStatusToProto), noErr(containerStatusFromProto))
			}
		}
	})
}

func FuzzReadConfiguration(f *testing.F) {
	b, err := appendConfiguration(nil, map[string]string{"dfs.nameservices": "remote", "x": ""})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{1, 1, 'k', 1, 'v', 0, 0, 0, 2, 0, 0, 0, 3, 0x1f, 0x8b, 0x08, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		conf, err := readConfiguration(b)
		if err != nil {
			return
		}
		again, err := appendConfiguration(nil, conf)
		if err != nil {
			t.Fatal(err)
		}
		back, err := readConfiguration(again)
		if err != nil {
			t.Fatalf("re-encoded configuration does not read: %v", err)
		}
		if diff := cmp.Diff(conf, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("not a fixed point (-first +second):\n%s", diff)
		}
	})
}

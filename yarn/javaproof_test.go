package yarn

// Proof against Hadoop's Java code. testdata/javaproof holds:
//
//   - submission-*.bin: what submissionToProto makes of fullSubmission and
//     minimalSubmission (TestGoldenSubmissionBytes keeps them current; set
//     SPINDLE_UPDATE_GOLDEN=1 to rewrite them);
//   - ids.txt: id strings to parse;
//   - everything else: the output of the Java program
//     integration/testbed/.../ProtoDump.java run on those inputs with Hadoop
//     3.5.0: Java's view of each submission (submission-*.json), Hadoop's
//     parse-then-print of each id (ids.json), the protobuf descriptors
//     compiled into Hadoop (descriptors.bin), and messages built with
//     Hadoop's record API (java-*.bin).
//
// The integration test integration/yarnproto_test.go reruns ProtoDump on the
// inputs and checks that it still writes exactly these outputs
// (SPINDLE_UPDATE_JAVA_FIXTURES=1 rewrites them). The tests here check the
// outputs against what the Go side means, so they run without Java.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

const javaProofDir = "testdata/javaproof"

func minimalSubmission() *ApplicationSubmission {
	return &ApplicationSubmission{
		ID:         ApplicationID{ClusterTimestamp: 1700000000000, ID: 8},
		AMResource: Resource{MemoryMB: 512, VCores: 1},
		AM: ContainerLaunchContext{
			Commands: []string{"./spindle"},
			LocalResources: map[string]LocalResource{
				"spindle": {URL: "hdfs://nn.example.com/user/alice/spindle", Size: 10, Timestamp: 1700000000999},
			},
		},
	}
}

func goldenSubmissions() map[string]*ApplicationSubmission {
	return map[string]*ApplicationSubmission{"full": fullSubmission(), "minimal": minimalSubmission()}
}

func readProof(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(javaProofDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenSubmissionBytes pins the encoding the Java proof was made from.
func TestGoldenSubmissionBytes(t *testing.T) {
	for name, s := range goldenSubmissions() {
		p, err := submissionToProto(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		file := "submission-" + name + ".bin"
		if os.Getenv("SPINDLE_UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(filepath.Join(javaProofDir, file), got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if want := readProof(t, file); !bytes.Equal(got, want) {
			t.Errorf("%s: the encoding changed; rerun the Java proof (SPINDLE_UPDATE_GOLDEN=1, then integration/yarnproto_test.go with SPINDLE_UPDATE_JAVA_FIXTURES=1) and review the diff", file)
		}
	}
}

// javaLocalResource is ProtoDump's view of one LocalResource.
type javaLocalResource struct {
	Path          string `json:"path"`
	Port          int32  `json:"port"`
	SameAsFromURI bool   `json:"sameAsFromURI"`
	Size          int64  `json:"size"`
	Timestamp     int64  `json:"timestamp"`
	Type          string `json:"type"`
	Visibility    string `json:"visibility"`
	Pattern       *string
	Upload        bool `json:"shouldBeUploadedToSharedCache"`
}

type javaResource struct {
	Memory int64            `json:"memory"`
	VCores int32            `json:"vcores"`
	Custom map[string]int64 `json:"custom"`
}

type javaToken struct {
	Kind, Service, Identifier, Password string
}

type javaSubmissionView struct {
	ApplicationID                   string        `json:"applicationId"`
	Name                            *string       `json:"name"`
	Queue                           *string       `json:"queue"`
	Priority                        *int32        `json:"priority"`
	Resource                        *javaResource `json:"resource"`
	Type                            *string       `json:"type"`
	Tags                            []string      `json:"tags"`
	MaxAppAttempts                  int32         `json:"maxAppAttempts"`
	AttemptFailuresValidityInterval int64         `json:"attemptFailuresValidityInterval"`
	KeepContainers                  bool          `json:"keepContainersAcrossApplicationAttempts"`
	UnmanagedAM                     bool          `json:"unmanagedAM"`
	CancelTokensWhenComplete        bool          `json:"cancelTokensWhenComplete"`
	NodeLabelExpression             *string       `json:"nodeLabelExpression"`
	AMRequests                      []struct {
		Priority            int32        `json:"priority"`
		ResourceName        string       `json:"resourceName"`
		Capability          javaResource `json:"capability"`
		NumContainers       int32        `json:"numContainers"`
		RelaxLocality       bool         `json:"relaxLocality"`
		NodeLabelExpression string       `json:"nodeLabelExpression"`
		ExecutionType       string       `json:"executionType"`
		AllocationRequestID int64        `json:"allocationRequestId"`
	} `json:"amContainerResourceRequests"`
	LogAggregation       map[string]*string `json:"logAggregationContext"`
	Timeouts             map[string]int64   `json:"applicationTimeouts"`
	SchedulingProperties map[string]string  `json:"schedulingProperties"`
	AM                   struct {
		LocalResources map[string]javaLocalResource `json:"localResources"`
		Environment    map[string]string            `json:"environment"`
		Commands       []string                     `json:"commands"`
		ACLs           map[string]string            `json:"acls"`
		ServiceData    map[string]string            `json:"serviceData"`
		Credentials    *struct {
			Format  int                  `json:"format"`
			Tokens  map[string]javaToken `json:"tokens"`
			Secrets map[string]string    `json:"secrets"`
		} `json:"credentials"`
		TokensConf map[string]string `json:"tokensConf"`
		Retry      *struct {
			Policy                   string  `json:"policy"`
			ErrorCodes               []int32 `json:"errorCodes"`
			MaxRetries               int32   `json:"maxRetries"`
			RetryInterval            int32   `json:"retryInterval"`
			FailuresValidityInterval int64   `json:"failuresValidityInterval"`
		} `json:"retry"`
	} `json:"am"`
}

func readJavaView(t *testing.T, name string) javaSubmissionView {
	t.Helper()
	var v javaSubmissionView
	dec := json.NewDecoder(bytes.NewReader(readProof(t, name)))
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJavaReadsFullSubmission checks, field by field, what Hadoop's
// ApplicationSubmissionContextPBImpl reads from fullSubmission's encoding.
func TestJavaReadsFullSubmission(t *testing.T) {
	v := readJavaView(t, "submission-full.json")
	s := fullSubmission()
	b64 := base64.StdEncoding.EncodeToString
	checks := []struct {
		what      string
		got, want any
	}{
		{"applicationId", v.ApplicationID, "application_1700000000000_0007"},
		{"name", *v.Name, s.Name},
		{"queue", *v.Queue, s.Queue},
		{"priority", *v.Priority, int32(3)},
		{"resource", *v.Resource, javaResource{Memory: 2048, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1}}},
		{"type", *v.Type, "SPINDLE"},
		{"tags", v.Tags, []string{"job:wordcount", "team:data"}},
		{"maxAppAttempts", v.MaxAppAttempts, int32(4)},
		{"attemptFailuresValidityInterval", v.AttemptFailuresValidityInterval, int64(600000)},
		{"keepContainers", v.KeepContainers, true},
		{"unmanagedAM", v.UnmanagedAM, false},
		{"cancelTokensWhenComplete", v.CancelTokensWhenComplete, false},
		{"nodeLabelExpression", *v.NodeLabelExpression, "batch"},
		{"AM request count", len(v.AMRequests), 1},
		{"AM request name", v.AMRequests[0].ResourceName, "*"},
		{"AM request label", v.AMRequests[0].NodeLabelExpression, "stable"},
		{"AM request capability", v.AMRequests[0].Capability, javaResource{Memory: 2048, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1}}},
		{"AM request containers", v.AMRequests[0].NumContainers, int32(1)},
		{"AM request relax", v.AMRequests[0].RelaxLocality, true},
		{"AM request execution type", v.AMRequests[0].ExecutionType, "GUARANTEED"},
		{"AM request allocation id", v.AMRequests[0].AllocationRequestID, int64(0)},
		{"log aggregation include", *v.LogAggregation["includePattern"], "std.*"},
		{"log aggregation exclude", *v.LogAggregation["excludePattern"], "gc.*"},
		{"log aggregation rolled include", *v.LogAggregation["rolledLogsIncludePattern"], ".*\\.log"},
		{"log aggregation rolled exclude", *v.LogAggregation["rolledLogsExcludePattern"], "tmp.*"},
		{"log aggregation policy", *v.LogAggregation["policyClassName"], s.LogAggregation.PolicyClassName},
		{"log aggregation parameters", *v.LogAggregation["policyParameters"], "x=1"},
		{"timeouts", v.Timeouts, map[string]int64{"LIFETIME": 7200}},
		{"scheduling properties", v.SchedulingProperties, map[string]string{"placement": "spread"}},
		{"local resources", v.AM.LocalResources, map[string]javaLocalResource{
			"spindle": {Path: "hdfs://nn.example.com:8020/user/alice/.spindle/abc/spindle", Port: 8020, SameAsFromURI: true,
				Size: 12345678, Timestamp: 1700000000123, Type: "FILE", Visibility: "PRIVATE"},
			// No port: -1, and the path has no ":0" in it.
			"conf.jar": {Path: "hdfs://nn.example.com/conf.jar", Port: -1, SameAsFromURI: true,
				Size: 5, Timestamp: 1700000000789, Type: "PATTERN", Visibility: "APPLICATION", Pattern: ptr("^conf/.*")},
			// No host: the default file system's.
			"lib.tgz": {Path: "hdfs:/user/alice/lib.tgz", Port: -1, SameAsFromURI: true,
				Size: 99, Timestamp: 1700000000456, Type: "ARCHIVE", Visibility: "PUBLIC", Upload: true},
		}},
		{"environment", v.AM.Environment, s.AM.Environment},
		{"commands", v.AM.Commands, s.AM.Commands},
		{"acls", v.AM.ACLs, map[string]string{"VIEW_APP": "bob,carol admins", "MODIFY_APP": "bob"}},
		{"service data", v.AM.ServiceData, map[string]string{"spindle_shuffle": b64([]byte{1, 2, 3})}},
		{"credentials format", v.AM.Credentials.Format, 0},
		{"tokens", v.AM.Credentials.Tokens, map[string]javaToken{
			"hdfs-nn": {Kind: "HDFS_DELEGATION_TOKEN", Service: "127.0.0.1:8020",
				Identifier: b64([]byte{0, 5, 'a', 'l', 'i', 'c', 'e'}), Password: b64([]byte{0xde, 0xad, 0xbe, 0xef})},
			"rm": {Kind: "RM_DELEGATION_TOKEN", Service: "127.0.0.1:8032", Identifier: b64([]byte("rm-id")), Password: b64([]byte("rm-pw"))},
		}},
		{"secrets", v.AM.Credentials.Secrets, map[string]string{"spindle.secret": b64([]byte("s3cr3t"))}},
		// As the ResourceManager reads it, with Configuration.readFields.
		{"tokens conf", v.AM.TokensConf, map[string]string{"a": "", "dfs.nameservices": "remote"}},
		{"retry policy", v.AM.Retry.Policy, "RETRY_ON_SPECIFIC_ERROR_CODES"},
		{"retry codes", v.AM.Retry.ErrorCodes, []int32{137, 143}},
		{"retry max", v.AM.Retry.MaxRetries, int32(3)},
		{"retry interval", v.AM.Retry.RetryInterval, int32(1500)},
		{"retry validity", v.AM.Retry.FailuresValidityInterval, int64(60000)},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("Java's %s (-want +got):\n%s", c.what, diff)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestJavaReadsMinimalSubmission checks that the fields Go leaves out come
// out as Hadoop's defaults on the Java side. Name, queue and type read as
// null, exactly as from a Java client that never set them; the
// ResourceManager's ClientRMService then fills in "N/A", "default" and
// "YARN".
func TestJavaReadsMinimalSubmission(t *testing.T) {
	v := readJavaView(t, "submission-minimal.json")
	checks := []struct {
		what      string
		got, want any
	}{
		{"applicationId", v.ApplicationID, "application_1700000000000_0008"},
		{"name", v.Name, (*string)(nil)},
		{"queue", v.Queue, (*string)(nil)},
		{"priority", v.Priority, (*int32)(nil)},
		{"type", v.Type, (*string)(nil)},
		{"maxAppAttempts", v.MaxAppAttempts, int32(0)},
		{"attemptFailuresValidityInterval", v.AttemptFailuresValidityInterval, int64(-1)},
		{"cancelTokensWhenComplete", v.CancelTokensWhenComplete, true},
		{"keepContainers", v.KeepContainers, false},
		{"nodeLabelExpression", v.NodeLabelExpression, (*string)(nil)},
		{"AM requests", len(v.AMRequests), 0},
		{"log aggregation", v.LogAggregation, map[string]*string(nil)},
		{"credentials", v.AM.Credentials == nil, true},
		{"tokens conf", v.AM.TokensConf, map[string]string(nil)},
		{"resource", *v.Resource, javaResource{Memory: 512, VCores: 1, Custom: map[string]int64{"yarn.io/gpu": 0}}},
		{"local resource", v.AM.LocalResources["spindle"], javaLocalResource{Path: "hdfs://nn.example.com/user/alice/spindle",
			Port: -1, SameAsFromURI: true, Size: 10, Timestamp: 1700000000999, Type: "FILE", Visibility: "APPLICATION"}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("Java's %s (-want +got):\n%s", c.what, diff)
		}
	}
}

// TestIDsMatchJava parses every id of ids.txt as Hadoop did and prints it
// back; an id Hadoop refused must be refused here too.
func TestIDsMatchJava(t *testing.T) {
	var results []struct {
		Kind, In, Out, Error string
		ID                   *int64
	}
	if err := json.Unmarshal(readProof(t, "ids.json"), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) < 10 {
		t.Fatalf("only %d ids in ids.json", len(results))
	}
	for _, r := range results {
		var got string
		var err error
		switch r.Kind {
		case "application":
			var id ApplicationID
			id, err = ParseApplicationID(r.In)
			got = id.String()
		case "attempt":
			var id ApplicationAttemptID
			id, err = ParseApplicationAttemptID(r.In)
			got = id.String()
		case "container":
			var id ContainerID
			id, err = ParseContainerID(r.In)
			got = id.String()
			if err == nil && r.ID != nil && id.ID != *r.ID {
				t.Errorf("ParseContainerID(%q).ID = %d, Java %d", r.In, id.ID, *r.ID)
			}
		case "containerFields":
			var f [4]int64
			for i, s := range strings.Fields(r.In) {
				f[i] = mustInt(t, s)
			}
			got = ContainerID{Attempt: ApplicationAttemptID{Application: ApplicationID{f[0], int32(f[1])}, Attempt: int32(f[2])}, ID: f[3]}.String()
		case "node":
			var id NodeID
			id, err = ParseNodeID(r.In)
			got = id.String()
		default:
			t.Fatalf("unknown kind %q", r.Kind)
		}
		switch {
		case r.Error != "" && err == nil:
			// Go is allowed to be stricter only where documented: negative
			// container sequences.
			t.Errorf("%s %q: Java refused it (%s), Go parsed %q", r.Kind, r.In, r.Error, got)
		case r.Error == "" && err != nil:
			if r.Kind == "container" && strings.Contains(err.Error(), "negative sequence") {
				continue
			}
			t.Errorf("%s %q: Java printed %q, Go failed: %v", r.Kind, r.In, r.Out, err)
		case r.Error == "" && got != r.Out:
			t.Errorf("%s %q: Java printed %q, Go %q", r.Kind, r.In, r.Out, got)
		}
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJavaDescriptorsMatch checks every field and enum value declared in
// our .proto files against the descriptors compiled into Hadoop 3.5.0:
// same number, label, type, referenced type and default. Our files
// register under the package spindle.hadoop.* and Hadoop's under
// hadoop.*; names are compared without the "spindle." prefix.
func TestJavaDescriptorsMatch(t *testing.T) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(readProof(t, "descriptors.bin"), &set); err != nil {
		t.Fatal(err)
	}
	javaFiles, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(n protoreflect.FullName) protoreflect.FullName {
		return protoreflect.FullName(strings.TrimPrefix(string(n), "spindle."))
	}
	checked := 0
	for _, fd := range []protoreflect.FileDescriptor{pb.File_hadoopyarn_yarn_protos_proto, pb.File_hadoopyarn_yarn_service_protos_proto} {
		enums := fd.Enums()
		for i := range enums.Len() {
			ours := enums.Get(i)
			d, err := javaFiles.FindDescriptorByName(strip(ours.FullName()))
			if err != nil {
				t.Errorf("enum %s: not in Hadoop's descriptors", ours.FullName())
				continue
			}
			java := d.(protoreflect.EnumDescriptor)
			vals := ours.Values()
			for j := range vals.Len() {
				v := vals.Get(j)
				jv := java.Values().ByName(v.Name())
				if jv == nil || jv.Number() != v.Number() {
					t.Errorf("enum value %s = %d: Hadoop has %v", v.FullName(), v.Number(), jv)
				}
				checked++
			}
		}
		msgs := fd.Messages()
		for i := range msgs.Len() {
			ours := msgs.Get(i)
			d, err := javaFiles.FindDescriptorByName(strip(ours.FullName()))
			if err != nil {
				t.Errorf("message %s: not in Hadoop's descriptors", ours.FullName())
				continue
			}
			java := d.(protoreflect.MessageDescriptor)
			fields := ours.Fields()
			for j := range fields.Len() {
				f := fields.Get(j)
				jf := java.Fields().ByNumber(f.Number())
				if jf == nil {
					t.Errorf("field %s = %d: Hadoop has no field %d", f.FullName(), f.Number(), f.Number())
					continue
				}
				checked++
				if diff := cmp.Diff(describeField(jf, strip), describeField(f, strip)); diff != "" {
					t.Errorf("field %s (-Hadoop +ours):\n%s", f.FullName(), diff)
				}
			}
		}
	}
	t.Logf("checked %d fields and enum values against Hadoop's descriptors", checked)
	if checked < 400 {
		t.Errorf("only %d fields and enum values checked", checked)
	}
}

type fieldShape struct {
	Name, Kind, Cardinality, Type, Default string
	HasDefault                             bool
}

func describeField(f protoreflect.FieldDescriptor, strip func(protoreflect.FullName) protoreflect.FullName) fieldShape {
	s := fieldShape{Name: string(f.Name()), Kind: f.Kind().String(), Cardinality: f.Cardinality().String(), HasDefault: f.HasDefault()}
	switch {
	case f.Message() != nil:
		s.Type = string(strip(f.Message().FullName()))
	case f.Enum() != nil:
		s.Type = string(strip(f.Enum().FullName()))
	}
	if f.HasDefault() {
		if f.Enum() != nil {
			s.Default = string(f.DefaultEnumValue().Name())
		} else {
			s.Default = f.Default().String()
		}
	}
	return s
}

// TestGoReadsJavaSubmission decodes a submission built with Hadoop's Java
// API (ProtoDump.javaSubmission).
func TestGoReadsJavaSubmission(t *testing.T) {
	var p pb.ApplicationSubmissionContextProto
	if err := proto.Unmarshal(readProof(t, "java-submission.bin"), &p); err != nil {
		t.Fatal(err)
	}
	got, err := submissionFromProto(&p)
	if err != nil {
		t.Fatal(err)
	}
	var creds Credentials
	creds.AddToken("hdfs", Token{Identifier: []byte("id-bytes"), Password: []byte("pw-bytes"), Kind: KindHDFSDelegationToken, Service: "127.0.0.1:8020"})
	creds.AddSecret("k", []byte{9, 8, 7})
	want := ApplicationSubmission{
		ID: ApplicationID{1700000000000, 42}, Name: "java-built", Queue: "root.q", Priority: 2,
		AM: ContainerLaunchContext{
			LocalResources: map[string]LocalResource{
				"app.jar": {URL: "hdfs://nn.example.com:8020/user/bob/app.jar", Size: 1234, Timestamp: 1700000000111},
				"deps": {URL: "hdfs://nn.example.com/user/bob/deps.tgz", Size: 99, Timestamp: 1700000000222,
					Type: LocalResourceArchive, Visibility: VisibilityPublic},
			},
			Environment: map[string]string{"CLASSPATH": "{{PWD}}<CPS>app.jar", "JAVA_HOME": "/usr/lib/jvm"},
			Commands:    []string{"java", "-jar", "app.jar"},
			Credentials: &creds,
			ServiceData: map[string][]byte{"svc": {1}},
			ACLs:        map[ApplicationAccessType]string{AccessViewApp: "alice"},
			// Written by Configuration.write with its sources.
			TokensConf: map[string]string{"dfs.nameservices": "remote"},
		},
		AMResource: Resource{MemoryMB: 1536, VCores: 2, Custom: map[string]int64{"yarn.io/gpu": 1}},
		Type:       "MAPREDUCE", Tags: []string{"t1"}, NodeLabel: "label-x", AMNodeLabel: "am-label",
		MaxAttempts: 3, AttemptFailuresValidityInterval: 30 * time.Second, Lifetime: 10 * time.Minute,
	}
	if diff := cmp.Diff(want, got, credentialsEqual); diff != "" {
		t.Errorf("submission built in Java (-want +got):\n%s", diff)
	}
}

func TestGoReadsJavaReport(t *testing.T) {
	var p pb.ApplicationReportProto
	if err := proto.Unmarshal(readProof(t, "java-report.bin"), &p); err != nil {
		t.Fatal(err)
	}
	const ts = 1700000000000
	app := ApplicationID{ts, 42}
	want := ApplicationReport{
		ID: app, CurrentAttempt: ApplicationAttemptID{app, 1}, User: "bob", Queue: "root.q", Name: "java-built",
		Host: "am.example.com", RPCPort: 4242, State: ApplicationRunning, FinalStatus: FinalUndefined, Diagnostics: "all good",
		TrackingURL: "http://rm:8088/proxy/application_1700000000000_0042/", OriginalTrackingURL: "http://am:4243/",
		Started: time.UnixMilli(ts + 1000), Submitted: time.UnixMilli(ts + 500), Launched: time.UnixMilli(ts + 700),
		Progress: 0.75, Type: "MAPREDUCE", Tags: []string{"t1"}, Unmanaged: true, Priority: 2,
		AMRMToken: &Token{Identifier: []byte("amrm-id"), Password: []byte("amrm-pw"), Kind: KindAMRMToken},
		Usage: &ApplicationResourceUsage{UsedContainers: 2, Used: Resource{MemoryMB: 2048, VCores: 2},
			Needed: Resource{MemoryMB: 2048, VCores: 2}, MemorySeconds: 4096, VCoreSeconds: 4, PreemptedMemorySeconds: 10,
			QueueUsage: 0.5, ClusterUsage: 0.25},
	}
	if diff := cmp.Diff(want, reportFromProto(&p)); diff != "" {
		t.Errorf("report built in Java (-want +got):\n%s", diff)
	}
}

func TestGoReadsJavaAllocateResponse(t *testing.T) {
	var p pb.AllocateResponseProto
	if err := proto.Unmarshal(readProof(t, "java-allocate.bin"), &p); err != nil {
		t.Fatal(err)
	}
	att := ApplicationAttemptID{ApplicationID{1700000000000, 42}, 1}
	c2 := ContainerID{att, 3<<40 | 2}
	node := NodeID{"nm1.example.com", 45454}
	want := AllocateResponse{
		ResponseID: 5,
		Allocated: []Container{{ID: c2, NodeID: node, NodeHTTPAddress: "nm1.example.com:8042",
			Resource: Resource{MemoryMB: 1024, VCores: 1}, Priority: 1, AllocationRequestID: 7,
			Token: &Token{Identifier: []byte("ctok-id"), Password: []byte("ctok-pw"), Kind: KindContainerToken, Service: "127.0.0.1:45454"}}},
		Completed: []ContainerStatus{{ID: ContainerID{att, 1}, State: ContainerComplete, ExitStatus: ExitKilledByAppMaster,
			Diagnostics: "Container killed by the ApplicationMaster."}},
		Headroom: Resource{MemoryMB: 4096, VCores: 4},
		UpdatedNodes: []NodeReport{{ID: NodeID{"nm2.example.com", 45454}, HTTPAddress: "nm2.example.com:8042", Rack: "/default-rack",
			Capability: Resource{MemoryMB: 8192, VCores: 8}, State: NodeLost, HealthReport: "lost",
			LastHealthReport: time.UnixMilli(1700000000005)}},
		NumClusterNodes: 3,
		Preemption:      &PreemptionMessage{Strict: []ContainerID{c2}},
		NMTokens: []NMToken{{NodeID: node, Token: Token{Identifier: []byte("nm-id"), Password: []byte("nm-pw"), Kind: KindNMToken,
			Service: "nm1.example.com:45454"}}},
		AMRMToken: &Token{Identifier: []byte("amrm2-id"), Password: []byte("amrm2-pw"), Kind: KindAMRMToken},
		Priority:  2,
	}
	if diff := cmp.Diff(want, allocateResponseFromProto(&p)); diff != "" {
		t.Errorf("allocate response built in Java (-want +got):\n%s", diff)
	}
}

// TestIDsInputCoversEpochs keeps ids.txt honest: it must exercise the
// epoch form that motivated checking against Java.
func TestIDsInputCoversEpochs(t *testing.T) {
	sc := bufio.NewScanner(bytes.NewReader(readProof(t, "ids.txt")))
	epochs := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "container container_e") {
			epochs++
		}
	}
	if epochs < 2 {
		t.Errorf("ids.txt has %d epoch container ids", epochs)
	}
}

package yarn

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readRESTSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rest", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubmissionToREST: every field of a full submission lands under the
// name Hadoop's ApplicationSubmissionContextInfo (and its
// ContainerLaunchContextInfo, LocalResourceInfo, CredentialsInfo,
// LogAggregationContextInfo and ResourceInfo) reads it from, in the form
// RMWebAppUtil.createAppSubmissionContext decodes.
func TestSubmissionToREST(t *testing.T) {
	tok := Token{Identifier: []byte{1, 2, 3}, Password: []byte{4, 5}, Kind: "HDFS_DELEGATION_TOKEN", Service: "127.0.0.1:8020"}
	creds := &Credentials{}
	creds.AddToken("hdfs", tok)
	creds.AddSecret("key", []byte{0xfb, 0xff, 0x00})
	sub := &ApplicationSubmission{
		ID:                              ApplicationID{ClusterTimestamp: 1795467394964, ID: 7},
		Name:                            "full",
		Queue:                           "batch",
		Priority:                        5,
		AMResource:                      Resource{MemoryMB: 256, VCores: 2},
		Type:                            "SPINDLE",
		Tags:                            []string{"b", "a"},
		NodeLabel:                       "gpu",
		AMNodeLabel:                     "cpu",
		MaxAttempts:                     3,
		AttemptFailuresValidityInterval: 90 * time.Second,
		KeepContainersAcrossAttempts:    true,
		KeepTokensOnCompletion:          true,
		LogAggregation: &LogAggregationContext{
			IncludePattern: "inc", ExcludePattern: "exc", RolledLogsIncludePattern: "rinc",
			RolledLogsExcludePattern: "rexc", PolicyClassName: "P", PolicyParameters: "p=1",
		},
		AM: ContainerLaunchContext{
			LocalResources: map[string]LocalResource{
				"app.jar": {URL: "hdfs://nn:8020/user/alice/app.jar", Size: 10, Timestamp: 1700000000123, Type: LocalResourceArchive, Visibility: VisibilityPublic},
				"conf":    {URL: "hdfs:///user/alice/conf", Timestamp: 5},
			},
			Environment: map[string]string{"B": "2", "A": `{{JAVA_HOME}}/x "q"`},
			Commands:    []string{"./run", "1><LOG_DIR>/stdout"},
			Credentials: creds,
			ServiceData: map[string][]byte{"mapreduce_shuffle": {0xff, 0xfe}},
			ACLs:        map[ApplicationAccessType]string{AccessModifyApp: "alice", AccessViewApp: "bob admins"},
		},
	}
	tokString, err := tok.URLString()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
	  "application-id": "application_1795467394964_0007",
	  "application-name": "full",
	  "queue": "batch",
	  "priority": 5,
	  "unmanaged-AM": false,
	  "cancel-tokens-when-complete": false,
	  "max-app-attempts": 3,
	  "resource": {"memory": 256, "vCores": 2},
	  "application-type": "SPINDLE",
	  "keep-containers-across-application-attempts": true,
	  "application-tags": {"tag": ["b", "a"]},
	  "app-node-label-expression": "gpu",
	  "am-container-node-label-expression": "cpu",
	  "attempt-failures-validity-interval": 90000,
	  "log-aggregation-context": {
	    "log-include-pattern": "inc", "log-exclude-pattern": "exc",
	    "rolled-log-include-pattern": "rinc", "rolled-log-exclude-pattern": "rexc",
	    "log-aggregation-policy-class-name": "P", "log-aggregation-policy-parameters": "p=1"
	  },
	  "am-container-spec": {
	    "local-resources": {"entry": [
	      {"key": "app.jar", "value": {"resource": "hdfs://nn:8020/user/alice/app.jar", "type": "ARCHIVE", "visibility": "PUBLIC", "size": 10, "timestamp": 1700000000123}},
	      {"key": "conf", "value": {"resource": "hdfs:///user/alice/conf", "type": "FILE", "visibility": "APPLICATION", "size": 0, "timestamp": 5}}
	    ]},
	    "environment": {"entry": [{"key": "A", "value": "{{JAVA_HOME}}/x \"q\""}, {"key": "B", "value": "2"}]},
	    "commands": {"command": ["./run", "1><LOG_DIR>/stdout"]},
	    "service-data": {"entry": [{"key": "mapreduce_shuffle", "value": "__4="}]},
	    "credentials": {
	      "tokens": {"entry": [{"key": "hdfs", "value": "` + tokString + `"}]},
	      "secrets": {"entry": [{"key": "key", "value": "-_8A"}]}
	    },
	    "application-acls": {"entry": [{"key": "MODIFY_APP", "value": "alice"}, {"key": "VIEW_APP", "value": "bob admins"}]}
	  }
	}`
	got, err := submissionToREST(sub)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var gotAny, wantAny any
	if err := json.Unmarshal(b, &gotAny); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantAny); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantAny, gotAny); d != "" {
		t.Errorf("submission JSON (-want +got):\n%s", d)
	}
	// The token string is Hadoop's encodeToUrlString of the token.
	if back, err := ParseTokenURLString(tokString); err != nil || !cmp.Equal(back, tok) {
		t.Errorf("token string %q decodes to %+v, %v", tokString, back, err)
	}
}

// TestSubmissionToRESTDefaults: an empty name and type get the RPC
// record's defaults, zero values are left to the DAO's defaults, and
// tokens are not cancelled only when asked.
func TestSubmissionToRESTDefaults(t *testing.T) {
	got, err := submissionToREST(&ApplicationSubmission{
		ID: ApplicationID{ClusterTimestamp: 1, ID: 2}, AMResource: Resource{MemoryMB: 64, VCores: 1},
		AM: ContainerLaunchContext{Commands: []string{"true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	var m map[string]any
	json.Unmarshal(b, &m)
	want := map[string]any{
		"application-id": "application_1_0002", "application-name": "N/A", "application-type": "YARN",
		"priority": 0.0, "unmanaged-AM": false, "cancel-tokens-when-complete": true,
		"keep-containers-across-application-attempts": false,
		"resource":          map[string]any{"memory": 64.0, "vCores": 1.0},
		"am-container-spec": map[string]any{"commands": map[string]any{"command": []any{"true"}}},
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("minimal submission JSON (-want +got):\n%s", d)
	}
}

// TestSubmissionToRESTRefuses: what the REST DAO cannot carry is refused,
// naming the field, rather than silently dropped.
func TestSubmissionToRESTRefuses(t *testing.T) {
	base := func() *ApplicationSubmission {
		return &ApplicationSubmission{ID: ApplicationID{ClusterTimestamp: 1, ID: 2}, AMResource: Resource{MemoryMB: 64, VCores: 1},
			AM: ContainerLaunchContext{Commands: []string{"true"}}}
	}
	tests := []struct {
		field  string
		change func(*ApplicationSubmission)
	}{
		{"Lifetime", func(s *ApplicationSubmission) { s.Lifetime = time.Minute }},
		{"SchedulingProperties", func(s *ApplicationSubmission) { s.SchedulingProperties = map[string]string{"a": "b"} }},
		{"AMResource.Custom", func(s *ApplicationSubmission) { s.AMResource.Custom = map[string]int64{"yarn.io/gpu": 1} }},
		{"AM.Retry", func(s *ApplicationSubmission) { s.AM.Retry = &ContainerRetryContext{Policy: RetryOnAllErrors} }},
		{"AM.TokensConf", func(s *ApplicationSubmission) { s.AM.TokensConf = map[string]string{"k": "v"} }},
		{"AM.LocalResources[x].Pattern", func(s *ApplicationSubmission) {
			s.AM.LocalResources = map[string]LocalResource{"x": {URL: "hdfs:///x", Type: LocalResourcePattern, Pattern: ".*"}}
		}},
		{"AM.LocalResources[x].UploadToSharedCache", func(s *ApplicationSubmission) {
			s.AM.LocalResources = map[string]LocalResource{"x": {URL: "hdfs:///x", UploadToSharedCache: true}}
		}},
	}
	for _, tt := range tests {
		s := base()
		tt.change(s)
		_, err := submissionToREST(s)
		if err == nil || !strings.Contains(err.Error(), "ApplicationSubmission."+tt.field) {
			t.Errorf("%s: %v, want a refusal naming it", tt.field, err)
		}
	}
}

// TestRESTDecodeApp: AppInfo captured from Hadoop 3.5.0 converts to the
// report the RPC API gives for the same application.
func TestRESTDecodeApp(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v) }
	tests := []struct {
		file string
		want ApplicationReport
	}{{
		file: "app-running.json",
		want: ApplicationReport{
			ID: ApplicationID{ClusterTimestamp: 1795467394964, ID: 24}, User: "alice", Queue: "root.default",
			Name: "dshell sleep 25", Host: "localhost", RPCPort: 0, State: ApplicationRunning, FinalStatus: FinalUndefined,
			TrackingURL: "http://localhost:33077/proxy/application_1795467394964_0024/",
			Launched:    ms(1795468166828), Started: ms(1795468166787), Type: "SPINDLE-DSHELL",
			LogAggregationStatus: LogAggregationDisabled, Priority: 0,
			Usage: &ApplicationResourceUsage{
				UsedContainers: 3, Used: Resource{MemoryMB: 384, VCores: 3}, Needed: Resource{MemoryMB: 384, VCores: 3},
				MemorySeconds: 5773, VCoreSeconds: 43, QueueUsage: 2.9297323, ClusterUsage: 2.34375,
			},
		},
	}, {
		file: "app-finished.json",
		want: ApplicationReport{
			ID: ApplicationID{ClusterTimestamp: 1795467394964, ID: 24}, User: "alice", Queue: "root.default",
			Name: "dshell sleep 25", Host: "localhost", RPCPort: 0, State: ApplicationFinished, FinalStatus: FinalSucceeded,
			Diagnostics: "2 of 2 containers exited 0", Progress: 1,
			TrackingURL: "http://localhost:33077/proxy/application_1795467394964_0024/",
			Launched:    ms(1795468166828), Started: ms(1795468166787), Finished: ms(1795468195652), Type: "SPINDLE-DSHELL",
			LogAggregationStatus: LogAggregationDisabled,
			Usage: &ApplicationResourceUsage{
				UsedContainers: -1, ReservedContainers: -1, Used: Resource{MemoryMB: -1, VCores: -1},
				Reserved: Resource{MemoryMB: -1, VCores: -1}, Needed: Resource{MemoryMB: -1, VCores: -1},
				MemorySeconds: 10833, VCoreSeconds: 83,
			},
		},
	}, {
		file: "app-lifetime.json",
		want: ApplicationReport{
			ID: ApplicationID{ClusterTimestamp: 1795467394964, ID: 39}, User: "alice", Queue: "root.batch",
			Name: "lifetime", Host: "N/A", RPCPort: -1, State: ApplicationAccepted,
			Diagnostics: "AM container is launched, waiting for AM container to Register with RM",
			Launched:    ms(1795468921226), Started: ms(1795468921199), Type: "SPINDLE-CAPTURE",
			Tags: []string{"Capture", "two"}, LogAggregationStatus: LogAggregationDisabled,
			LifetimeRemaining: 3596 * time.Second,
			Usage: &ApplicationResourceUsage{
				UsedContainers: 1, Used: Resource{MemoryMB: 128, VCores: 1}, Needed: Resource{MemoryMB: 128, VCores: 1},
				MemorySeconds: 385, VCoreSeconds: 3, QueueUsage: 3.9072042, ClusterUsage: 0.78125,
			},
		},
	}}
	for _, tt := range tests {
		var w restAppWrapper
		if err := json.Unmarshal(readRESTSample(t, tt.file), &w); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got, err := w.App.toReport()
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.file, d)
		}
	}
}

// TestRESTDecodeLists: the other captured responses decode to what the RM
// said.
func TestRESTDecodeLists(t *testing.T) {
	var apps restApps
	if err := json.Unmarshal(readRESTSample(t, "apps.json"), &apps); err != nil {
		t.Fatal(err)
	}
	if apps.Apps == nil || len(apps.Apps.App) != 3 {
		t.Fatalf("apps.json: %+v", apps)
	}
	var empty restApps
	if err := json.Unmarshal(readRESTSample(t, "apps-empty.json"), &empty); err != nil || empty.Apps == nil || len(empty.Apps.App) != 0 {
		t.Errorf("apps-empty.json: %+v, %v", empty, err)
	}
	var killed restApps
	if err := json.Unmarshal(readRESTSample(t, "apps-killed.json"), &killed); err != nil {
		t.Fatal(err)
	}
	kr, err := killed.Apps.App[0].toReport()
	if err != nil || kr.State != ApplicationKilled || kr.FinalStatus != FinalKilled || !cmp.Equal(kr.Tags, []string{"spindle-test"}) {
		t.Errorf("apps-killed.json: %+v, %v", kr, err)
	}

	var at restAttempts
	if err := json.Unmarshal(readRESTSample(t, "attempts.json"), &at); err != nil {
		t.Fatal(err)
	}
	ar, err := at.AppAttempts.AppAttempt[0].toReport()
	if err != nil {
		t.Fatal(err)
	}
	wantAttempt := ApplicationAttemptReport{
		ID:          ApplicationAttemptID{Application: ApplicationID{ClusterTimestamp: 1795467394964, ID: 24}, Attempt: 1},
		State:       AttemptRunning,
		AMContainer: ContainerID{Attempt: ApplicationAttemptID{Application: ApplicationID{ClusterTimestamp: 1795467394964, ID: 24}, Attempt: 1}, ID: 1},
		Started:     time.UnixMilli(1795468166788),
	}
	if d := cmp.Diff(wantAttempt, ar); d != "" {
		t.Errorf("attempts.json (-want +got):\n%s", d)
	}

	var cs restContainers
	if err := json.Unmarshal(readRESTSample(t, "containers.json"), &cs); err != nil {
		t.Fatal(err)
	}
	if n := len(cs.list()); n != 3 {
		t.Fatalf("containers.json: %d containers, want 3", n)
	}
	cr, err := cs.list()[1].toReport()
	if err != nil {
		t.Fatal(err)
	}
	wantContainer := ContainerReport{
		ID:       ContainerID{Attempt: wantAttempt.ID, ID: 2},
		Resource: Resource{MemoryMB: 128, VCores: 1}, NodeID: NodeID{Host: "localhost", Port: 46355}, Priority: 1,
		Created: time.UnixMilli(1795468167649), State: ContainerRunning, NodeHTTPAddress: "http://localhost:46043",
		LogURL: "http://localhost:46043/node/containerlogs/container_1795467394964_0024_01_000002/alice",
	}
	if d := cmp.Diff(wantContainer, cr, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("containers.json (-want +got):\n%s", d)
	}

	var nodes restNodes
	if err := json.Unmarshal(readRESTSample(t, "nodes.json"), &nodes); err != nil {
		t.Fatal(err)
	}
	nr, err := nodes.Nodes.Node[0].toReport()
	if err != nil {
		t.Fatal(err)
	}
	wantNode := NodeReport{
		ID: NodeID{Host: "localhost", Port: 46861}, HTTPAddress: "localhost:41281", Rack: "/default-rack",
		Used: Resource{MemoryMB: 128, VCores: 1}, Capability: Resource{MemoryMB: 8192, VCores: 16}, NumContainers: 1,
		State: NodeRunning, LastHealthReport: time.UnixMilli(1795468118035),
	}
	if d := cmp.Diff(wantNode, nr, cmpopts.EquateEmpty()); d != "" || len(nodes.Nodes.Node) != 2 {
		t.Errorf("nodes.json: %d nodes (-want +got):\n%s", len(nodes.Nodes.Node), d)
	}

	var sched restScheduler
	if err := json.Unmarshal(readRESTSample(t, "scheduler.json"), &sched); err != nil {
		t.Fatal(err)
	}
	q := sched.Scheduler.SchedulerInfo.find("batch")
	if q == nil {
		t.Fatal("scheduler.json: no queue batch")
	}
	qi := q.toQueueInfo(false, false)
	if qi.Name != "batch" || qi.Path != "root.batch" || qi.Capacity != 0.2 || qi.MaxCapacity != 1 || qi.State != QueueRunning {
		t.Errorf("scheduler.json batch: %+v", qi)
	}
	root := sched.Scheduler.SchedulerInfo.toQueueInfo(true, false)
	if len(root.Children) != 2 || root.Name != "root" {
		t.Errorf("scheduler.json root: %d children, name %q", len(root.Children), root.Name)
	}

	var m restClusterMetrics
	if err := json.Unmarshal(readRESTSample(t, "metrics.json"), &m); err != nil {
		t.Fatal(err)
	}
	if got := m.toMetrics(); got != (ClusterMetrics{NodeManagers: 2, Active: 2}) {
		t.Errorf("metrics.json: %+v", got)
	}
	var info restClusterInfo
	if err := json.Unmarshal(readRESTSample(t, "info.json"), &info); err != nil {
		t.Fatal(err)
	}
	if ci := info.toClusterInfo(); ci.ClusterTimestamp != 1795467394964 || ci.HAState != "ACTIVE" || ci.State != "STARTED" || ci.Version != "3.5.0" {
		t.Errorf("info.json: %+v", ci)
	}
	var na restNewApplication
	if err := json.Unmarshal(readRESTSample(t, "new-application.json"), &na); err != nil {
		t.Fatal(err)
	}
	if na.ApplicationID != "application_1795467394964_0038" || !cmp.Equal(na.MaximumResourceCapability.toResource(), Resource{MemoryMB: 8192, VCores: 4}, cmpopts.EquateEmpty()) {
		t.Errorf("new-application.json: %+v", na)
	}
}

// TestJSONListSingleObject: a list of one written as a bare object (older
// RMs) reads as a list of one.
func TestJSONListSingleObject(t *testing.T) {
	var a restAttempts
	if err := json.Unmarshal([]byte(`{"appAttempts":{"appAttempt":{"id":1,"appAttemptId":"appattempt_1_0002_000001","appAttemptState":"FAILED"}}}`), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.AppAttempts.AppAttempt) != 1 || a.AppAttempts.AppAttempt[0].AppAttemptState != "FAILED" {
		t.Errorf("%+v", a)
	}
}

// TestRESTErrorMapping: RemoteException bodies (captured, and made from
// Hadoop's exception classes) become RemoteErrors matching the same
// sentinels as over RPC.
func TestRESTErrorMapping(t *testing.T) {
	remote := func(class, msg string) []byte {
		short := class[strings.LastIndexByte(class, '.')+1:]
		b, _ := json.Marshal(map[string]any{"RemoteException": map[string]string{"exception": short, "message": msg, "javaClassName": class}})
		return b
	}
	tests := []struct {
		name      string
		status    int
		body      []byte
		app       bool
		want      error // sentinel, or nil for none
		wantClass string
	}{
		{"unknown app", 404, readRESTSample(t, "error-not-found.json"), true, ErrApplicationNotFound, "org.apache.hadoop.yarn.webapp.NotFoundException"},
		{"404 not about an app", 404, readRESTSample(t, "error-not-found.json"), false, nil, "org.apache.hadoop.yarn.webapp.NotFoundException"},
		{"bad request", 400, readRESTSample(t, "error-bad-request.json"), true, nil, "org.apache.hadoop.yarn.webapp.BadRequestException"},
		{"bad state", 400, readRESTSample(t, "error-state.json"), true, nil, "org.apache.hadoop.yarn.webapp.BadRequestException"},
		{"standby", 500, remote("org.apache.hadoop.ipc.StandbyException", "Operation category READ is not supported in state standby"), false, ErrStandby, "org.apache.hadoop.ipc.StandbyException"},
		{"acl", 403, remote("org.apache.hadoop.security.authorize.AuthorizationException", "User bob cannot perform operation MODIFY_APP"), true, ErrAccessControl, "org.apache.hadoop.security.authorize.AuthorizationException"},
		{"forbidden", 403, remote("org.apache.hadoop.yarn.webapp.ForbiddenException", "no"), false, ErrAccessControl, "org.apache.hadoop.yarn.webapp.ForbiddenException"},
		{"app not found class", 500, remote("org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", "gone"), false, ErrApplicationNotFound, "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"},
		{"unauthorized html", 401, []byte("<html><body>Authentication required</body></html>"), false, ErrUnauthorized, ""},
		{"no body", 503, nil, false, nil, ""},
	}
	for _, tt := range tests {
		err := restError(tt.status, tt.body, tt.app, "rm1")
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v does not match %v", tt.name, err, tt.want)
		}
		for _, s := range []error{ErrApplicationNotFound, ErrStandby, ErrAccessControl, ErrUnauthorized, ErrInvalidToken} {
			if s != tt.want && errors.Is(err, s) {
				t.Errorf("%s: %v matches %v too", tt.name, err, s)
			}
		}
		var re *RemoteError
		if tt.wantClass == "" {
			if errors.As(err, &re) {
				t.Errorf("%s: %v is a RemoteError, want a plain HTTP error", tt.name, err)
			}
			if !strings.Contains(err.Error(), "HTTP "+http.StatusText(tt.status)) && !strings.Contains(err.Error(), http.StatusText(tt.status)) {
				t.Errorf("%s: %q does not give the status", tt.name, err)
			}
			continue
		}
		if !errors.As(err, &re) || re.Class != tt.wantClass || re.Server != "rm1" || re.Message == "" {
			t.Errorf("%s: %#v, want a RemoteError of %s from rm1", tt.name, err, tt.wantClass)
		}
	}
}

// FuzzRESTResponses feeds arbitrary bytes, as an RM could answer, through
// every REST response decoder and converter: none may panic.
func FuzzRESTResponses(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "rest"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(readRESTSample(f, e.Name()))
	}
	f.Add([]byte(`{"appAttempts":{"appAttempt":{"id":1}}}`))
	f.Add([]byte(`{"scheduler":{"schedulerInfo":{"queues":{"queue":{"queueName":"a","queues":{"queue":[{"queueName":"b"}]}}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var app restAppWrapper
		if json.Unmarshal(b, &app) == nil && app.App != nil {
			app.App.toReport()
		}
		var apps restApps
		if json.Unmarshal(b, &apps) == nil && apps.Apps != nil {
			for _, a := range apps.Apps.App {
				a.toReport()
			}
		}
		var at restAttempts
		if json.Unmarshal(b, &at) == nil && at.AppAttempts != nil {
			for _, a := range at.AppAttempts.AppAttempt {
				a.toReport()
			}
		}
		var cs restContainers
		if json.Unmarshal(b, &cs) == nil {
			for _, c := range cs.list() {
				c.toReport()
			}
		}
		var ns restNodes
		if json.Unmarshal(b, &ns) == nil && ns.Nodes != nil {
			for _, n := range ns.Nodes.Node {
				n.toReport()
			}
		}
		var s restScheduler
		if json.Unmarshal(b, &s) == nil {
			s.Scheduler.SchedulerInfo.find("default")
			s.Scheduler.SchedulerInfo.toQueueInfo(true, true)
		}
		var m restClusterMetrics
		if json.Unmarshal(b, &m) == nil {
			m.toMetrics()
		}
		var info restClusterInfo
		if json.Unmarshal(b, &info) == nil {
			info.toClusterInfo()
		}
		var na restNewApplication
		if json.Unmarshal(b, &na) == nil {
			na.MaximumResourceCapability.toResource()
		}
		for _, status := range []int{400, 404, 500} {
			if err := restError(status, b, true, "rm"); err == nil || err.Error() == "" {
				t.Fatalf("restError(%d) gave no error", status)
			}
		}
	})
}

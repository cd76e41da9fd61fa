package deploy

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

func TestCheckResources(t *testing.T) {
	max := yarn.Resource{MemoryMB: 8192, VCores: 4}
	for _, tc := range []struct {
		name    string
		am      yarn.Resource
		tm      launch.TaskManagerSpec
		wantErr string
	}{
		{name: "fits", am: yarn.Resource{MemoryMB: 256, VCores: 1}, tm: launch.TaskManagerSpec{MemoryMB: 512, VCores: 1}},
		{name: "exactly the max", am: max, tm: launch.TaskManagerSpec{MemoryMB: 8192, VCores: 4}},
		{name: "jm memory", am: yarn.Resource{MemoryMB: 8193, VCores: 1}, tm: launch.TaskManagerSpec{MemoryMB: 512, VCores: 1},
			wantErr: "the JobManager's 8193 MB exceed the largest container the scheduler grants (8192 MB); lower -jm-memory"},
		{name: "jm vcores", am: yarn.Resource{MemoryMB: 256, VCores: 5}, tm: launch.TaskManagerSpec{MemoryMB: 512, VCores: 1},
			wantErr: "the JobManager's 5 vcores exceed"},
		{name: "tm memory", am: yarn.Resource{MemoryMB: 256, VCores: 1}, tm: launch.TaskManagerSpec{MemoryMB: 10000, VCores: 1},
			wantErr: "a TaskManager's 10000 MB exceed the largest container the scheduler grants (8192 MB); lower -tm-memory"},
		{name: "tm vcores", am: yarn.Resource{MemoryMB: 256, VCores: 1}, tm: launch.TaskManagerSpec{MemoryMB: 512, VCores: 8},
			wantErr: "a TaskManager's 8 vcores exceed the largest container the scheduler grants (4 vcores); lower -tm-vcores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkResources(tc.am, tc.tm, max)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkResources = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkResources = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAMCommand(t *testing.T) {
	line, err := amCommand()
	if err != nil {
		t.Fatal(err)
	}
	// As yarn.Command writes it for the NodeManager's two shells.
	want := `'./program' 1>\"<LOG_DIR>\"'/jobmanager.out' 2>\"<LOG_DIR>\"'/jobmanager.err'`
	if line != want {
		t.Errorf("amCommand() = %s, want %s", line, want)
	}
}

func TestSubmission(t *testing.T) {
	id := yarn.ApplicationID{ClusterTimestamp: 1700000000000, ID: 7}
	req := &Request{Mode: launch.ModeApplication, Queue: "q", NodeLabel: "gpu", Tags: []string{"a"},
		AMResource: yarn.Resource{MemoryMB: 300, VCores: 1},
		ACLs:       map[yarn.ApplicationAccessType]string{yarn.AccessModifyApp: "bob ops"}}
	spec := &launch.ClusterSpec{
		Mode: launch.ModeApplication, AppID: id.String(), Name: "wordcount",
		Args:          []string{"-input", `hdfs:///in "quoted" $HOME`},
		RMs:           schedulerAddresses([]yarn.RMAddress{{ID: "rm1", RPC: "rm1:8032", Scheduler: "rm1:8030"}, {ID: "rm2", Scheduler: "rm2:8030"}}),
		TaskManager:   launch.TaskManagerSpec{MemoryMB: 512, VCores: 1, Slots: 2},
		Resources:     map[string]yarn.LocalResource{launch.BinaryResource: {URL: "hdfs://nn/x/program", Size: 10, Timestamp: 5}},
		Parallelism:   4,
		Config:        map[string]string{"k": "v"},
		RPCProtection: "privacy",
	}
	secret := bytes.Repeat([]byte{0xAB}, 32)
	creds := &yarn.Credentials{}
	creds.AddSecret(launch.SecretAlias, secret)
	sub, err := submission(req, id, spec, creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Validate(); err != nil {
		t.Fatal(err)
	}
	if sub.Type != "SPINDLE" || sub.Queue != "q" || sub.NodeLabel != "gpu" || sub.MaxAttempts != 1 || sub.Name != "wordcount" {
		t.Errorf("submission = %+v", sub)
	}
	if d := cmp.Diff(req.ACLs, sub.AM.ACLs); d != "" {
		t.Errorf("AM ACLs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"rm1:8030", "rm2:8030"}, spec.RMs); d != "" {
		t.Errorf("RMs (-want +got):\n%s", d)
	}
	env := sub.AM.Environment
	if env[launch.EnvRole] != launch.RoleJobManager {
		t.Errorf("%s = %q", launch.EnvRole, env[launch.EnvRole])
	}
	// The JobManager reads back exactly the spec sent.
	t.Setenv(launch.EnvSpec, env[launch.EnvSpec])
	got, err := launch.SpecFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(spec, got); d != "" {
		t.Errorf("spec read back (-sent +read):\n%s", d)
	}
	if d := cmp.Diff(spec.Resources, sub.AM.LocalResources); d != "" {
		t.Errorf("AM local resources (-want +got):\n%s", d)
	}
	// The secret is in the credentials and nowhere in what is readable.
	if s, ok := sub.AM.Credentials.Secret(launch.SecretAlias); !ok || !bytes.Equal(s, secret) {
		t.Errorf("credentials lack the secret")
	}
	for k, v := range env {
		if strings.Contains(v, string(secret)) || strings.Contains(strings.ToLower(v), "abababab") {
			t.Errorf("environment %s holds the secret", k)
		}
	}
	for _, c := range sub.AM.Commands {
		if strings.Contains(strings.ToLower(c), "abababab") {
			t.Errorf("command line holds the secret: %s", c)
		}
	}
}

func TestCheckRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     Request
		wantErr string
	}{
		{name: "application", req: Request{Mode: launch.ModeApplication, AMResource: yarn.Resource{MemoryMB: 1}, Binary: "/bin/true"}},
		{name: "per-job", req: Request{Mode: launch.ModePerJob, Graph: []byte{1}, AMResource: yarn.Resource{MemoryMB: 1}, Binary: "/bin/true"}},
		{name: "unknown mode", req: Request{Mode: "sessions", AMResource: yarn.Resource{MemoryMB: 1}}, wantErr: `mode "sessions"`},
		{name: "per-job without graph", req: Request{Mode: launch.ModePerJob, AMResource: yarn.Resource{MemoryMB: 1}}, wantErr: "needs the encoded job graph"},
		{name: "application with graph", req: Request{Mode: launch.ModeApplication, Graph: []byte{1}, AMResource: yarn.Resource{MemoryMB: 1}}, wantErr: "only in Per-Job mode"},
		{name: "no memory", req: Request{Mode: launch.ModeApplication}, wantErr: "-jm-memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			err := checkRequest(&req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("checkRequest = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Queue != "default" || req.Name != "true" || req.AMResource.VCores != 1 {
				t.Errorf("defaults not filled: %+v", req)
			}
		})
	}
}

func TestDeploymentPrintsNoSecret(t *testing.T) {
	d := &Deployment{ID: yarn.ApplicationID{ClusterTimestamp: 1, ID: 2}, Secret: []byte("s3cr3t-s3cr3t")}
	for _, s := range []string{
		strings.Join([]string{d.String(), d.GoString(), d.LogValue().String()}, " "),
		fmt.Sprintf("%v %+v %#v %s", d, d, d, d),
	} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("printed the secret: %s", s)
		}
	}
}

func TestLeafQueues(t *testing.T) {
	root := yarn.QueueInfo{Name: "root", Children: []yarn.QueueInfo{
		{Name: "default"},
		{Name: "eng", Children: []yarn.QueueInfo{{Name: "batch"}, {Name: "adhoc"}}},
	}}
	if d := cmp.Diff([]string{"default", "batch", "adhoc"}, leafQueues(root, nil)); d != "" {
		t.Errorf("leafQueues (-want +got):\n%s", d)
	}
}

func TestEncryptData(t *testing.T) {
	for _, tc := range []struct {
		asked      bool
		protection string
		want       bool
	}{
		{false, "", false},
		{false, "authentication", false},
		{false, "integrity", false},
		{true, "authentication", true},
		{false, "privacy", true},
		{false, "authentication, privacy", true},
	} {
		if got := encryptData(tc.asked, tc.protection); got != tc.want {
			t.Errorf("encryptData(%v, %q) = %v, want %v", tc.asked, tc.protection, got, tc.want)
		}
	}
}

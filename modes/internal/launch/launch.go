// Package launch holds the contract between a Spindle client and the
// containers it starts: the environment variables that tell the program's
// binary which role to take, and the cluster spec (JSON, no secrets) the
// client hands the JobManager and the JobManager hands its TaskManagers.
//
// Secrets never travel here: the deployment secret is a secret key of the
// containers' Hadoop credentials (SecretAlias), read from the file YARN
// names in HADOOP_TOKEN_FILE_LOCATION.
package launch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/yarn"
)

// Environment variables of the containers.
const (
	// EnvRole is RoleJobManager in the AM container, RoleTaskManager in a
	// worker container; unset in the client.
	EnvRole = "SPINDLE_ROLE"
	// EnvSpec holds the ClusterSpec as base64 of its JSON (see Encode).
	EnvSpec = "SPINDLE_SPEC"
	// EnvJobManager is the JobManager's control address (host:port), in
	// TaskManager containers.
	EnvJobManager = "SPINDLE_JOBMANAGER"
)

// Roles.
const (
	RoleJobManager  = "jobmanager"
	RoleTaskManager = "taskmanager"
	// RoleGuard is a client's deployment guard (modes/guard.go), started
	// by the client on its own machine, not by YARN.
	RoleGuard = "guard"
)

// Modes.
const (
	ModeApplication = "application"
	ModePerJob      = "per-job"
	ModeSession     = "session"
)

// SecretAlias is the alias of the deployment secret in the containers'
// credentials (a secret key, as Hadoop's Credentials hold them).
const SecretAlias = "spindle.deployment.secret"

// Local resource names in the containers.
const (
	// BinaryResource is the program's executable.
	BinaryResource = "program"
	// GraphResource is the encoded JobGraph of a Per-Job deployment.
	GraphResource = "job.graph"
)

// ClusterSpec is what a deployment's JobManager needs to know; it travels
// in EnvSpec.
type ClusterSpec struct {
	// Mode is ModeApplication, ModePerJob or ModeSession.
	Mode string `json:"mode"`
	// AppID is the application's id.
	AppID string `json:"app_id"`
	// Name of the application (-name; by default the program's), for
	// logs and pages; a session's name in Session mode.
	Name string `json:"name"`
	// Program is the base name of the program's binary, for the commands
	// messages tell users to run.
	Program string `json:"program,omitempty"`
	// Args is the program's command line after the subcommand (`run`),
	// flags included: in Application mode main runs in the JobManager with
	// it.
	Args []string `json:"args,omitempty"`
	// RMs are the ResourceManagers' scheduler addresses (AM protocol).
	RMs           []string `json:"rms"`
	RPCProtection string   `json:"rpc_protection,omitempty"`
	HDFS          HDFSSpec `json:"hdfs"`
	// TaskManager is what every TaskManager container gets.
	TaskManager TaskManagerSpec `json:"taskmanager"`
	// Resources are the files every container localizes: the binary
	// (BinaryResource), shipped files and, in Per-Job mode, the graph.
	Resources map[string]yarn.LocalResource `json:"resources"`
	// Parallelism is the default parallelism of vertices that set none.
	Parallelism int `json:"parallelism,omitempty"`
	// KeepStaging keeps the staging directory after the application ends.
	KeepStaging bool `json:"keep_staging,omitempty"`
	// EncryptData encrypts the data exchange between TaskManagers.
	EncryptData bool `json:"encrypt_data,omitempty"`
	// Config are the -D overrides.
	Config map[string]string `json:"config,omitempty"`
	// Session configures a session (ModeSession).
	Session *SessionSpec `json:"session,omitempty"`
	// Keytab is set when the client shipped a keytab to the JobManager's
	// container (KeytabResource), which then obtains fresh delegation
	// tokens itself.
	Keytab *KeytabSpec `json:"keytab,omitempty"`
	// ClientLeaseMS, when positive, ties the application to its attached
	// client: the client heartbeats the JobManager (HeartbeatPath), and
	// the JobManager ends the application, failed, once no heartbeat came
	// for this long (the client was killed or lost its network). Zero:
	// the application outlives its client (detached).
	ClientLeaseMS int64 `json:"client_lease_ms,omitempty"`
}

// HeartbeatPath is the control endpoint an attached client POSTs to, with
// the deployment secret, to keep its lease (ClusterSpec.ClientLeaseMS).
const HeartbeatPath = "/v1/client/heartbeat"

// KeytabSpec describes a keytab shipped to the JobManager.
type KeytabSpec struct {
	// Principal is the keytab's principal to log in as.
	Principal string `json:"principal"`
	// NameNodePrincipal is the NameNodes' Kerberos principal
	// (dfs.namenode.kerberos.principal).
	NameNodePrincipal string `json:"namenode_principal"`
}

// Resources only the JobManager's container gets, as PRIVATE resources
// in the 0700 staging directory: never in ClusterSpec.Resources, which
// TaskManagers localize too.
const (
	// KeytabResource is the shipped keytab.
	KeytabResource = "spindle-am.keytab"
	// Krb5ConfResource is the client's krb5.conf, shipped with the keytab
	// so the JobManager reaches the same KDC.
	Krb5ConfResource = "spindle-krb5.conf"
)

// SessionSpec describes a session: its name and how many TaskManagers it
// keeps.
type SessionSpec struct {
	Name string `json:"name"`
	// MinTaskManagers are kept even when idle; MaxTaskManagers bound
	// the session (zero: no bound); MaxTaskManagersPerJob bounds one job
	// (zero: MaxTaskManagers).
	MinTaskManagers       int `json:"min_taskmanagers"`
	MaxTaskManagers       int `json:"max_taskmanagers,omitempty"`
	MaxTaskManagersPerJob int `json:"max_taskmanagers_per_job,omitempty"`
	// IdleTimeoutMS: idle TaskManagers beyond the minimum are released
	// after it; zero keeps them.
	IdleTimeoutMS int64 `json:"idle_timeout_ms,omitempty"`
}

// SessionTagPrefix starts the application tag naming a session
// (SessionTagPrefix + name), by which clients find it. YARN lowercases
// tags, so session names are lowercase.
const SessionTagPrefix = "spindle-session:"

// HDFSSpec is how containers reach HDFS, as the client's user.
type HDFSSpec struct {
	NameNodes   []string `json:"namenodes"`
	NameService string   `json:"nameservice,omitempty"`
	User        string   `json:"user"`
	StagingRoot string   `json:"staging_root,omitempty"`
	// AccessFS are the other file systems of -access-fs (hdfs://host:port
	// or hdfs://NAMESERVICE), whose tokens the JobManager obtains afresh
	// with the default file system's; NameServices the NameNodes of those
	// named by nameservice, from the client's site files.
	AccessFS     []string            `json:"access_fs,omitempty"`
	NameServices map[string][]string `json:"nameservices,omitempty"`
}

// TaskManagerSpec describes the worker containers.
type TaskManagerSpec struct {
	MemoryMB  int64  `json:"memory_mb"`
	VCores    int32  `json:"vcores"`
	Slots     int    `json:"slots"`
	NodeLabel string `json:"node_label,omitempty"`
	// Max bounds the TaskManagers of one job; zero means no bound.
	Max int `json:"max,omitempty"`
}

// Encode returns the spec as the value of EnvSpec: base64 of its JSON,
// because the NodeManager writes environment values into the container's
// launch script between double quotes without escaping them, so JSON's own
// quotes (and any $ or space in a value) would not survive.
func (s *ClusterSpec) Encode() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// SpecFromEnv reads the spec from EnvSpec.
func SpecFromEnv() (*ClusterSpec, error) {
	v := os.Getenv(EnvSpec)
	if v == "" {
		return nil, fmt.Errorf("launch: %s is not set: the container was not started by a Spindle client", EnvSpec)
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("launch: decoding %s: %w", EnvSpec, err)
	}
	var s ClusterSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("launch: decoding %s: %w", EnvSpec, err)
	}
	return &s, nil
}

// ErrNoSecret means the container's credentials hold no deployment secret.
var ErrNoSecret = errors.New("launch: the container's credentials hold no deployment secret (" + SecretAlias + ")")

// ContainerCredentials reads the credentials YARN gave this container and
// the deployment secret among them.
func ContainerCredentials() (*yarn.Credentials, []byte, error) {
	loc := os.Getenv("HADOOP_TOKEN_FILE_LOCATION")
	if loc == "" {
		return nil, nil, fmt.Errorf("launch: HADOOP_TOKEN_FILE_LOCATION is not set: not running in a YARN container")
	}
	creds, err := yarn.ReadCredentialsFile(loc)
	if err != nil {
		return nil, nil, fmt.Errorf("launch: reading the container's credentials: %w", err)
	}
	secret, ok := creds.Secret(SecretAlias)
	if !ok {
		return nil, nil, ErrNoSecret
	}
	return creds, secret, nil
}

package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spindle-yarn/spindle/yarn"
)

// Environment variables through which the client tells the copy of itself
// that YARN starts in the AM container what to do.
const (
	envRole = "SPINDLE_DSHELL_ROLE" // "am" in the ApplicationMaster
	envSpec = "SPINDLE_DSHELL_SPEC" // the JSON jobSpec
)

// jobSpec is everything the ApplicationMaster needs, passed in its
// environment.
type jobSpec struct {
	Containers    int                           `json:"containers"`
	MemoryMB      int64                         `json:"memory_mb"`
	VCores        int32                         `json:"vcores"`
	Command       []string                      `json:"command"`
	Resources     map[string]yarn.LocalResource `json:"resources"` // shipped paths, by name in the working directory
	RMs           []yarn.RMAddress              `json:"rms"`
	RPCProtection string                        `json:"rpc_protection"`
	Priority      int32                         `json:"priority"`
	AppID         string                        `json:"app_id"`
	KeepStaging   bool                          `json:"keep_staging"`
	HDFS          hdfsSpec                      `json:"hdfs"`
	// MaxFailures is -max-failures: 0 runs each container once and
	// reports failures; F > 0 runs failed ones again until F failures.
	MaxFailures int `json:"max_failures,omitempty"`
	// The containers' profile beyond memory and vcores (see engine.Profile).
	Custom         map[string]int64 `json:"custom,omitempty"`
	NodeLabel      string           `json:"node_label,omitempty"`
	Nodes          []string         `json:"nodes,omitempty"`
	RackNames      []string         `json:"rack_names,omitempty"`
	StrictLocality bool             `json:"strict_locality,omitempty"`
	Opportunistic  bool             `json:"opportunistic,omitempty"`
	AntiAffinity   bool             `json:"anti_affinity,omitempty"`
	// Racks maps the hosts of Nodes to their racks, as the RM reported
	// them to the client, for the engine's rack rows.
	Racks map[string]string `json:"racks,omitempty"`
	// Keytab, with -ship-keytab, is the principal of the keytab shipped
	// to the AM (keytabResource) and the NameNodes' principal.
	Keytab *keytabSpec `json:"keytab,omitempty"`
}

// keytabSpec names the shipped keytab's principal and the NameNodes'.
type keytabSpec struct {
	Principal         string `json:"principal"`
	NameNodePrincipal string `json:"namenode_principal"`
}

// The AM's own PRIVATE resources with -ship-keytab.
const (
	keytabResource   = "dshell-am.keytab"
	krb5ConfResource = "dshell-krb5.conf"
)

// hdfsSpec is where the application's staging directory is, for the
// ApplicationMaster to remove it with the application's delegation tokens
// (or, without Kerberos, as the user).
type hdfsSpec struct {
	NameNodes   []string `json:"namenodes"`
	NameService string   `json:"nameservice,omitempty"`
	User        string   `json:"user"`
	StagingRoot string   `json:"staging_root"`
}

// encode gives the spec as base64 of its JSON: the NodeManager writes
// environment values into launch_container.sh inside double quotes without
// escaping them, so JSON's own quotes would not survive.
func (s *jobSpec) encode() (string, error) {
	b, err := json.Marshal(s)
	return base64.StdEncoding.EncodeToString(b), err
}

func specFromEnv() (*jobSpec, error) {
	v := os.Getenv(envSpec)
	if v == "" {
		return nil, fmt.Errorf("%s is not set", envSpec)
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envSpec, err)
	}
	var s jobSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", envSpec, err)
	}
	return &s, nil
}

// workerCommand is the line that runs the user's command in a worker
// container, each word reaching the program exactly as typed (quotes, $,
// backslashes and all), with stdout and stderr in the container's log
// directory.
func workerCommand(words []string) (string, error) {
	return yarn.Command{
		Args:   yarn.LiteralArgs(words...),
		Stdout: yarn.LogFile("stdout"),
		Stderr: yarn.LogFile("stderr"),
	}.Line()
}

// amCommand is the line that runs this binary as the ApplicationMaster.
func amCommand() (string, error) {
	return yarn.Command{
		Args:   yarn.LiteralArgs("./dshell"),
		Stdout: yarn.LogFile("am.stdout"),
		Stderr: yarn.LogFile("am.stderr"),
	}.Line()
}

// containerResult is what the AM reports of one container.
type containerResult struct {
	ID          string `json:"id"`
	Node        string `json:"node"`
	State       string `json:"state"` // one of the state* constants
	ExitStatus  int32  `json:"exit_status"`
	Cause       string `json:"cause,omitempty"` // engine.Cause of an ended container
	Diagnostics string `json:"diagnostics,omitempty"`
}

// amStatus is what the AM serves at its tracking URL, for the client's
// progress lines.
type amStatus struct {
	Wanted     int               `json:"wanted"`
	Allocated  int               `json:"allocated"`
	Running    int               `json:"running"`
	Completed  int               `json:"completed"` // containers whose command ran to its end (or failed to start)
	Failed     int               `json:"failed"`    // of them, those that failed
	Containers []containerResult `json:"containers"`
}

package deploy

import (
	"fmt"
	"strings"

	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

// checkResources refuses, before anything is staged, containers larger than
// the largest the scheduler grants (max, from NewApplication), naming the
// flag to lower.
func checkResources(am yarn.Resource, tm launch.TaskManagerSpec, max yarn.Resource) error {
	switch {
	case am.MemoryMB > max.MemoryMB:
		return fmt.Errorf("the JobManager's %d MB exceed the largest container the scheduler grants (%d MB); lower -jm-memory", am.MemoryMB, max.MemoryMB)
	case am.VCores > max.VCores:
		return fmt.Errorf("the JobManager's %d vcores exceed the largest container the scheduler grants (%d vcores)", am.VCores, max.VCores)
	case tm.MemoryMB > max.MemoryMB:
		return fmt.Errorf("a TaskManager's %d MB exceed the largest container the scheduler grants (%d MB); lower -tm-memory", tm.MemoryMB, max.MemoryMB)
	case tm.VCores > max.VCores:
		return fmt.Errorf("a TaskManager's %d vcores exceed the largest container the scheduler grants (%d vcores); lower -tm-vcores", tm.VCores, max.VCores)
	}
	return nil
}

// amCommand is the line that runs the program's binary as the JobManager,
// its output in the container's log directory.
func amCommand() (string, error) {
	return yarn.Command{
		Args:   yarn.LiteralArgs("./" + launch.BinaryResource),
		Stdout: yarn.LogFile("jobmanager.out"),
		Stderr: yarn.LogFile("jobmanager.err"),
	}.Line()
}

// schedulerAddresses are the RMs' AM-protocol addresses, for the spec.
func schedulerAddresses(rms []yarn.RMAddress) []string {
	out := make([]string, 0, len(rms))
	for _, rm := range rms {
		out = append(out, rm.Scheduler)
	}
	return out
}

// submission is what Deploy submits: the JobManager's container with the
// spec in its environment and the deployment's credentials.
func submission(req *Request, id yarn.ApplicationID, spec *launch.ClusterSpec, creds *yarn.Credentials) (*yarn.ApplicationSubmission, error) {
	specEnv, err := spec.Encode()
	if err != nil {
		return nil, fmt.Errorf("encoding the cluster spec: %w", err)
	}
	line, err := amCommand()
	if err != nil {
		return nil, err
	}
	return &yarn.ApplicationSubmission{
		ID:          id,
		Name:        spec.Name,
		Queue:       req.Queue,
		Type:        ApplicationType,
		Tags:        req.Tags,
		NodeLabel:   req.NodeLabel,
		AMResource:  req.AMResource,
		MaxAttempts: max(req.MaxAttempts, 1),
		// The next attempt adopts the TaskManagers (cluster/attempts.go).
		KeepContainersAcrossAttempts: true,
		AM: yarn.ContainerLaunchContext{
			LocalResources: spec.Resources,
			Environment:    map[string]string{launch.EnvRole: launch.RoleJobManager, launch.EnvSpec: specEnv},
			Commands:       []string{line},
			Credentials:    creds,
			ACLs:           req.ACLs,
		},
	}, nil
}

// encryptData says whether the TaskManagers encrypt the records they
// exchange: when asked, and always on a cluster whose RPC protection is
// privacy, whose data would otherwise leave its nodes less protected than
// its RPC traffic.
func encryptData(asked bool, rpcProtection string) bool {
	if asked {
		return true
	}
	for _, p := range strings.Split(rpcProtection, ",") {
		if strings.TrimSpace(p) == "privacy" {
			return true
		}
	}
	return false
}

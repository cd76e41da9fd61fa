package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spindle-yarn/spindle/yarn"
)

// DefaultRack is the rack Hadoop puts a node in when no topology script
// or table names one.
const DefaultRack = "/default-rack"

// A Profile is one kind of container the caller wants: its shape, where it
// may run, and how many. Each profile gets its own allocation request id,
// so the RM's answers are matched to it exactly.
type Profile struct {
	// Name identifies the profile in SetTarget, callbacks, Status and
	// metric labels. Required and unique.
	Name string
	// Resource is each container's capability, custom resource types (e.g.
	// "yarn.io/gpu") included. Memory and vcores must be positive.
	Resource yarn.Resource
	// Priority among this application's requests; lower is served first.
	// Zero is valid.
	Priority yarn.Priority
	// NodeLabel is a node label expression. Empty means the queue's
	// default. Hadoop refuses a label together with Nodes or Racks, and so
	// does New.
	NodeLabel string
	// Nodes and Racks are preferred (or, with StrictLocality, required)
	// locations: host names and rack names. Empty means anywhere.
	Nodes, Racks []string
	// StrictLocality forbids the scheduler to place containers outside
	// Nodes and Racks. False, the zero value, only prefers them. Ignored
	// when both are empty.
	StrictLocality bool
	// ExecutionType is GUARANTEED (the zero value) or OPPORTUNISTIC.
	ExecutionType yarn.ExecutionType
	// EnforceExecutionType refuses containers of the other execution type.
	EnforceExecutionType bool
	// AntiAffinity puts at most one of the profile's containers on a node.
	// The profile is then asked for with a SchedulingRequest instead of
	// ResourceRequests: its containers carry the allocation tag
	// AllocationTag(Name) and the request's placement constraint keeps
	// them off nodes already holding a container with that tag (Hadoop's
	// node anti-affinity, counted among this application's containers).
	// The ResourceManager serves it only with
	// yarn.resourcemanager.placement-constraints.handler "scheduler" (the
	// CapacityScheduler), which holds a SchedulingRequest's
	// numAllocations as a total just like a ResourceRequest's, so the
	// engine's asks keep their meaning; elsewhere the heartbeat fails.
	// Not with NodeLabel, Nodes, Racks or OPPORTUNISTIC, which such a
	// request cannot carry, and the Name must be a plain tag (letters,
	// digits, '.', '_', '-'). A target above the number of usable nodes
	// stays outstanding for the rest.
	AntiAffinity bool
	// RunOnce makes the profile a batch: a container that exits 0 lowers
	// the target by one instead of being replaced, so Target containers
	// each run once to success. False keeps Target containers running,
	// replacing any that end, successfully or not.
	RunOnce bool
	// Target is how many containers of this profile are wanted at first;
	// SetTarget changes it. Zero is valid.
	Target int
}

func (p *Profile) validate() error {
	switch {
	case p.Name == "":
		return errors.New("profile has no name")
	case p.Resource.MemoryMB <= 0 || p.Resource.VCores <= 0:
		return fmt.Errorf("profile %q: memory and vcores must be positive, got %d MB, %d vcores", p.Name, p.Resource.MemoryMB, p.Resource.VCores)
	case p.Target < 0:
		return fmt.Errorf("profile %q: negative target %d", p.Name, p.Target)
	case p.NodeLabel != "" && (len(p.Nodes) > 0 || len(p.Racks) > 0):
		// Hadoop's AMRMClient refuses this too: the label applies to the
		// ANY row only, and the scheduler would ignore the locations.
		return fmt.Errorf("profile %q: a node label cannot be combined with nodes or racks", p.Name)
	case p.AntiAffinity && (p.NodeLabel != "" || len(p.Nodes) > 0 || len(p.Racks) > 0):
		return fmt.Errorf("profile %q: anti-affinity cannot be combined with a node label, nodes or racks", p.Name)
	case p.AntiAffinity && p.ExecutionType == yarn.ExecutionOpportunistic:
		// The RM places OPPORTUNISTIC containers from ResourceRequests only.
		return fmt.Errorf("profile %q: anti-affinity is for GUARANTEED containers only", p.Name)
	case p.AntiAffinity && !plainTag(p.Name):
		return fmt.Errorf("profile %q: an anti-affinity profile's name is its allocation tag and must consist of letters, digits, '.', '_' and '-'", p.Name)
	}
	for k, v := range p.Resource.Custom {
		if k == yarn.ResourceMemory || k == yarn.ResourceVCores || v < 0 {
			return fmt.Errorf("profile %q: invalid custom resource %q = %d", p.Name, k, v)
		}
	}
	return nil
}

// rows are the ResourceRequests asking for n containers of p: one per node,
// one per rack (given, and the racks of the given nodes, since the
// scheduler places on a node only while the node's rack row is positive),
// and the ANY row. Every row carries the same total: totals, never deltas.
// As in Hadoop's AMRMClient, node rows and the rows of racks the profile
// names always relax (they are where containers may go); the racks
// inferred from nodes and the ANY row relax unless the profile is strict.
func (p *Profile) rows(id int64, n int, rackOf func(string) string) []yarn.ResourceRequest {
	base := yarn.ResourceRequest{
		Priority: p.Priority, Resource: p.Resource, NumContainers: int32(n),
		ExecutionType: p.ExecutionType, EnforceExecutionType: p.EnforceExecutionType,
		AllocationRequestID: id,
	}
	var out []yarn.ResourceRequest
	var inferred []string
	for _, node := range dedupe(p.Nodes) {
		r := base
		r.ResourceName = node
		out = append(out, r)
		inferred = append(inferred, rackOf(node))
	}
	strict := p.StrictLocality && (len(p.Nodes) > 0 || len(p.Racks) > 0)
	explicit := dedupe(p.Racks)
	for _, rack := range explicit {
		// A rack the caller names is a place the container may go, so its
		// row always relaxes: the CapacityScheduler never places
		// rack-local on a rack whose row does not.
		r := base
		r.ResourceName = rack
		out = append(out, r)
	}
	for _, rack := range dedupe(inferred) {
		if slices.Contains(explicit, rack) {
			continue
		}
		// The racks of the given nodes: strict keeps containers off the
		// rest of the rack.
		r := base
		r.ResourceName, r.StrictLocality = rack, strict
		out = append(out, r)
	}
	r := base
	r.ResourceName, r.StrictLocality, r.NodeLabel = yarn.AnyResourceName, strict, p.NodeLabel
	return append(out, r)
}

// AllocationTag is the allocation tag the containers of an AntiAffinity
// profile carry, for the RM's container reports and other requests'
// constraints: the profile's name.
func AllocationTag(profile string) string { return profile }

// plainTag reports whether s is safe as an allocation tag: Hadoop parses
// tags out of constraint expressions, where '/', '=', ',' and spaces have
// meanings of their own.
func plainTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// schedulingRequest asks for n containers of an AntiAffinity profile: a
// total, as rows are (the "scheduler" handler replaces the outstanding
// numAllocations of an allocation request id with each request; every
// other field must stay as first sent, and does, since a profile does not
// change).
func (p *Profile) schedulingRequest(id int64, n int) yarn.SchedulingRequest {
	tag := AllocationTag(p.Name)
	return yarn.SchedulingRequest{
		AllocationRequestID: id, Priority: p.Priority,
		ExecutionType: p.ExecutionType, EnforceExecutionType: p.EnforceExecutionType,
		AllocationTags: []string{tag}, NumAllocations: int32(n), Resource: p.Resource,
		Constraint: yarn.AntiAffinity(yarn.ScopeNode, tag),
	}
}

// dedupe returns s without repeats, in first-seen order.
func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

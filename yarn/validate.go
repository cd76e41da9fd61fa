package yarn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/internal/redact"
)

// A FieldError reports a field of a request that YARN would refuse or, worse,
// silently misread.
type FieldError struct {
	// Field is the path of the field from the validated value, e.g.
	// "ApplicationSubmission.AMResource.MemoryMB" or
	// `ApplicationSubmission.AM.LocalResources["app.jar"].Timestamp`.
	Field string
	// Problem says what is wrong and what to do about it.
	Problem string
}

func (e *FieldError) Error() string { return "yarn: " + e.Field + " " + e.Problem }

// applicationTypeMaxLen is Hadoop's YarnConfiguration.APPLICATION_TYPE_LENGTH.
const applicationTypeMaxLen = 20

// Validate checks s for mistakes the ResourceManager or NodeManager would
// reject late (after the submission, in the ApplicationMaster's container)
// or would take in a different sense than meant. It returns nil or every
// problem found, as *FieldError values joined with errors.Join.
//
// It does not check what depends on the cluster's configuration (queue
// names, maximum resources, tag limits): the ResourceManager does.
func (s *ApplicationSubmission) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "ApplicationSubmission." + field, Problem: fmt.Sprintf(format, args...)})
	}

	if s.ID.IsZero() {
		add("ID", "is not set; ask the ResourceManager for a new application id first")
	} else if s.ID.ID <= 0 || s.ID.ClusterTimestamp <= 0 {
		add("ID", "%s is not an id the ResourceManager hands out; use the one it returned for a new application", s.ID)
	}
	if len(s.Type) > applicationTypeMaxLen {
		add("Type", "%q is longer than %d characters; the ResourceManager would cut it", s.Type, applicationTypeMaxLen)
	}
	for i, t := range s.Tags {
		if t == "" || strings.TrimSpace(t) != t {
			add(fmt.Sprintf("Tags[%d]", i), "%q is empty or has surrounding spaces", t)
		}
		for _, r := range t {
			if r > 0x7f {
				add(fmt.Sprintf("Tags[%d]", i), "%q has non-ASCII characters, which the ResourceManager refuses", t)
				break
			}
		}
	}
	if s.MaxAttempts < 0 {
		add("MaxAttempts", "is %d; use 0 for the cluster's default or a positive count", s.MaxAttempts)
	}
	if d := s.AttemptFailuresValidityInterval; d < 0 || d%time.Millisecond != 0 {
		add("AttemptFailuresValidityInterval", "is %v; use 0 to count every failure, or a positive number of whole milliseconds", d)
	}
	if d := s.Lifetime; d < 0 || d%time.Second != 0 {
		add("Lifetime", "is %v; use 0 for no limit, or a positive number of whole seconds", d)
	}
	if !s.Unmanaged {
		if s.AMResource.MemoryMB <= 0 {
			add("AMResource.MemoryMB", "must be > 0; size the ApplicationMaster's container")
		}
		if s.AMResource.VCores <= 0 {
			add("AMResource.VCores", "must be > 0; give the ApplicationMaster at least 1 virtual core")
		}
		if len(s.AM.Commands) == 0 {
			add("AM.Commands", "is empty; a managed ApplicationMaster needs a command to run (or set Unmanaged)")
		}
	} else if s.AMNodeLabel != "" {
		add("AMNodeLabel", "is set for an unmanaged ApplicationMaster, which runs outside the cluster")
	}
	validateResource(s.AMResource, "AMResource", s.Unmanaged, add)
	if l := s.LogAggregation; l != nil {
		if l.PolicyParameters != "" && l.PolicyClassName == "" {
			add("LogAggregation.PolicyParameters", "is set without PolicyClassName")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.SchedulingProperties)) {
		if k == "" {
			add("SchedulingProperties", "has an empty key")
		}
	}
	validateLaunchContext(&s.AM, "AM", add)
	return errors.Join(errs...)
}

// validateResource checks r's custom types, and its memory and vcores for
// negative values when checkBuiltins is set (the caller checks them
// otherwise).
func validateResource(r Resource, field string, checkBuiltins bool, add func(field, format string, args ...any)) {
	if checkBuiltins && r.MemoryMB < 0 {
		add(field+".MemoryMB", "is negative")
	}
	if checkBuiltins && r.VCores < 0 {
		add(field+".VCores", "is negative")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Custom)) {
		switch {
		case k == ResourceMemory || k == ResourceVCores:
			add(fmt.Sprintf("%s.Custom[%q]", field, k), "duplicates a built-in type; use %s.MemoryMB or %s.VCores", field, field)
		case k == "":
			add(field+".Custom", "has an empty resource type name")
		case r.Custom[k] < 0:
			add(fmt.Sprintf("%s.Custom[%q]", field, k), "is negative")
		}
	}
}

func validateLaunchContext(c *ContainerLaunchContext, field string, add func(field, format string, args ...any)) {
	for _, name := range slices.Sorted(maps.Keys(c.LocalResources)) {
		lr := c.LocalResources[name]
		f := fmt.Sprintf("%s.LocalResources[%q]", field, name)
		if name == "" || strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") || name == "." {
			add(f, "is not a link name inside the container's working directory")
		}
		if _, err := urlToProto(lr.URL); err != nil {
			var ue *URLError
			if errors.As(err, &ue) {
				add(f+".URL", "%q %s", redact.URLString(ue.URL), ue.Reason)
			} else {
				add(f+".URL", "%v", err)
			}
		}
		if lr.Timestamp <= 0 {
			add(f+".Timestamp", "must be the file's modification time in ms as the file system reports it; the NodeManager refuses any other value")
		}
		if lr.Size < 0 {
			add(f+".Size", "is negative")
		}
		if _, ok := localResourceTypeToProto[lr.Type]; !ok {
			add(f+".Type", "is %v, not one of LocalResourceFile, LocalResourceArchive, LocalResourcePattern", lr.Type)
		}
		if _, ok := visibilityToProto[lr.Visibility]; !ok {
			add(f+".Visibility", "is %v, not one of VisibilityApplication, VisibilityPrivate, VisibilityPublic", lr.Visibility)
		}
		switch {
		case lr.Type == LocalResourcePattern && lr.Pattern == "":
			add(f+".Pattern", "is empty; a LocalResourcePattern needs the pattern of the entries to unpack")
		case lr.Type != LocalResourcePattern && lr.Pattern != "":
			add(f+".Pattern", "is set but Type is %v; the pattern applies only to LocalResourcePattern", lr.Type)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Environment)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add(fmt.Sprintf("%s.Environment[%q]", field, k), "is not a valid environment variable name")
		}
	}
	for i, cmd := range c.Commands {
		if strings.ContainsRune(cmd, 0) {
			add(fmt.Sprintf("%s.Commands[%d]", field, i), "contains a NUL byte")
		}
	}
	for _, t := range slices.Sorted(maps.Keys(c.ACLs)) {
		if t != AccessViewApp && t != AccessModifyApp {
			add(fmt.Sprintf("%s.ACLs[%v]", field, t), "is not AccessViewApp or AccessModifyApp")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.TokensConf)) {
		if k == "" {
			add(field+".TokensConf", "has an empty property name")
		}
	}
	if r := c.Retry; r != nil {
		if r.Policy < RetryNever || r.Policy > RetryOnErrorCodes {
			add(field+".Retry.Policy", "is %v, not a known policy", r.Policy)
		}
		if r.Policy == RetryOnErrorCodes && len(r.ErrorCodes) == 0 {
			add(field+".Retry.ErrorCodes", "is empty under RetryOnErrorCodes, so nothing would be retried")
		}
		if r.MaxRetries < -1 {
			add(field+".Retry.MaxRetries", "is %d; use -1 for unlimited", r.MaxRetries)
		}
		if r.Interval < 0 || r.Interval%time.Millisecond != 0 || r.Interval.Milliseconds() > 1<<31-1 {
			add(field+".Retry.Interval", "is %v; use whole milliseconds below 2^31", r.Interval)
		}
		if r.FailuresValidityInterval < 0 || r.FailuresValidityInterval%time.Millisecond != 0 {
			add(field+".Retry.FailuresValidityInterval", "is %v; use 0 or whole milliseconds", r.FailuresValidityInterval)
		}
	}
}

package yarn

import "strconv"

// Names YARN gives its two built-in resource types. They may not be used as
// keys of Resource.Custom.
const (
	ResourceMemory = "memory-mb"
	ResourceVCores = "vcores"
)

// A Resource is an amount of each resource type: memory, virtual cores and
// any custom types the cluster declares in resource-types.xml (GPUs, FPGAs,
// ...). The zero value is "nothing".
type Resource struct {
	// MemoryMB is memory in mebibytes.
	MemoryMB int64
	// VCores is virtual cores.
	VCores int32
	// Custom holds custom resource types by name, e.g. "yarn.io/gpu": 2.
	// Values are in the unit the cluster configures for the type (no unit
	// conversion is done). Nil or empty means none; a zero amount is the
	// same as an absent one, and reports from the cluster leave zeros out.
	// A type the
	// ResourceManager does not know is dropped by it with a warning in its
	// log, not refused.
	Custom map[string]int64
}

// A Priority orders an application among others in its queue, or a
// ResourceRequest among an ApplicationMaster's requests. For applications
// a higher number is more important; for container requests a lower number
// is served first.
type Priority int32

// An ExecutionType says whether a container is guaranteed its resources or
// runs opportunistically in spare capacity and may be preempted at once.
// The zero value is ExecutionGuaranteed.
type ExecutionType int32

const (
	ExecutionGuaranteed ExecutionType = iota
	ExecutionOpportunistic
)

var executionTypeNames = [...]string{"GUARANTEED", "OPPORTUNISTIC"}

// String returns Hadoop's name for t ("GUARANTEED", "OPPORTUNISTIC").
func (t ExecutionType) String() string {
	return enumName(executionTypeNames[:], int(t), "ExecutionType")
}

// AnyResourceName is the ResourceRequest.ResourceName that accepts any
// node.
const AnyResourceName = "*"

// A ResourceRequest asks the scheduler for containers of one shape at one
// priority and location. YARN keeps one outstanding request per (priority,
// location, shape, allocation request id): sending a request again replaces
// its NumContainers, it does not add to it.
type ResourceRequest struct {
	// Priority among this application's requests; lower is served first.
	// Zero is a valid priority.
	Priority Priority
	// Resource is the capability of each container.
	Resource Resource
	// NumContainers is how many containers are still wanted at this
	// location. Zero cancels the request.
	NumContainers int32
	// ResourceName is a host name, a rack name (e.g. "/default-rack") or
	// AnyResourceName. Empty means AnyResourceName.
	ResourceName string
	// StrictLocality forbids the scheduler to fall back from this location
	// to a wider one (node to rack, rack to any). False, the zero value, is
	// Hadoop's default (relax_locality = true).
	StrictLocality bool
	// NodeLabel is a node label expression restricting where the
	// containers may run. Empty means the queue's default label.
	NodeLabel string
	// ExecutionType of the containers; the zero value is guaranteed.
	ExecutionType ExecutionType
	// EnforceExecutionType refuses containers of another execution type.
	EnforceExecutionType bool
	// AllocationRequestID lets the ApplicationMaster tell which request an
	// allocated container answers: the container carries the same id.
	// Zero is a valid id and the one Hadoop's AMRMClient uses by default.
	AllocationRequestID int64
}

// A LocalResourceType says how a NodeManager localizes a resource. The zero
// value is LocalResourceFile.
type LocalResourceType int32

const (
	// LocalResourceFile is copied as is.
	LocalResourceFile LocalResourceType = iota
	// LocalResourceArchive is unpacked into a directory (.jar, .zip,
	// .tar.gz, .tgz, .tar).
	LocalResourceArchive
	// LocalResourcePattern is a jar of which only the entries matching
	// LocalResource.Pattern are unpacked; the jar itself is kept too.
	LocalResourcePattern
)

var localResourceTypeNames = [...]string{"FILE", "ARCHIVE", "PATTERN"}

// String returns Hadoop's name for t ("FILE", "ARCHIVE", "PATTERN").
func (t LocalResourceType) String() string {
	return enumName(localResourceTypeNames[:], int(t), "LocalResourceType")
}

// A LocalResourceVisibility says who may share a localized copy on a node.
// The zero value is VisibilityApplication.
type LocalResourceVisibility int32

const (
	// VisibilityApplication: shared by the containers of one application,
	// deleted when it ends.
	VisibilityApplication LocalResourceVisibility = iota
	// VisibilityPrivate: shared by the applications of one user.
	VisibilityPrivate
	// VisibilityPublic: shared by every user of the node. The file must be
	// world-readable and every directory above it world-executable, or
	// localization fails.
	VisibilityPublic
)

var visibilityNames = [...]string{"APPLICATION", "PRIVATE", "PUBLIC"}

// String returns Hadoop's name for v ("APPLICATION", "PRIVATE", "PUBLIC").
func (v LocalResourceVisibility) String() string {
	return enumName(visibilityNames[:], int(v), "LocalResourceVisibility")
}

// A LocalResource is a file a NodeManager downloads into a container's
// working directory before starting it.
type LocalResource struct {
	// URL of the file, e.g. "hdfs://nn:8020/user/alice/app.jar" or
	// "hdfs:///user/alice/app.jar" (default file system). Percent-escapes
	// are decoded, as Java's URI.getPath does. It may not carry a query or
	// fragment.
	URL string
	// Size in bytes. Hadoop 3.5 does not check it, but send the real size.
	Size int64
	// Timestamp is the file's modification time in milliseconds since the
	// epoch, exactly as the file system reports it after the file was
	// closed. The NodeManager refuses the resource when it differs ("changed
	// on src filesystem").
	Timestamp int64
	// Type says how the file is localized; the zero value is a plain file.
	Type LocalResourceType
	// Visibility says who shares the localized copy; the zero value is the
	// application.
	Visibility LocalResourceVisibility
	// Pattern is the regular expression selecting the entries unpacked
	// from a LocalResourcePattern jar. Empty for other types.
	Pattern string
	// UploadToSharedCache asks the NodeManager to upload the file to YARN's
	// shared cache after localizing it.
	UploadToSharedCache bool
}

// enumName returns names[i], or Type(i) for a value outside names.
func enumName(names []string, i int, typ string) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}

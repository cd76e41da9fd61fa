package yarn

import (
	"strings"
	"time"
)

// A Container is an allocation the ResourceManager granted an
// ApplicationMaster: a slice of one node's resources, to be started there
// with a NodeManager client.
type Container struct {
	ID ContainerID
	// NodeID is the NodeManager's RPC address; dial it (not the HTTP
	// address) to start the container.
	NodeID NodeID
	// NodeHTTPAddress is the NodeManager's web address (host:port).
	NodeHTTPAddress string
	Resource        Resource
	Priority        Priority
	// Token is the container token the NodeManager requires in the start
	// request. Nil only in containers that were never allocated (e.g. built
	// by hand).
	Token         *Token
	ExecutionType ExecutionType
	// AllocationRequestID is the ResourceRequest.AllocationRequestID this
	// container answers; -1 when the RM does not say.
	AllocationRequestID int64
	// Version grows with every resource or execution type update of the
	// container.
	Version int32
	// AllocationTags are the tags of the scheduling request the container
	// answers, if any.
	AllocationTags []string
}

// A ContainerState is where a container is in its life. The zero value
// means the state is unknown (not reported).
type ContainerState int32

const (
	ContainerNew      ContainerState = 1
	ContainerRunning  ContainerState = 2
	ContainerComplete ContainerState = 3
)

var containerStateNames = [...]string{"", "NEW", "RUNNING", "COMPLETE"}

// String returns Hadoop's name for s ("NEW", "RUNNING", "COMPLETE").
func (s ContainerState) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName(containerStateNames[:], int(s), "ContainerState")
}

// Exit statuses YARN reports for containers it ended itself, or whose
// process status it never saw (Hadoop's ContainerExitStatus). Any other
// value is the exit code of the container's process.
const (
	ExitSuccess                    = 0
	ExitInvalid                    = -1000 // no exit status (yet)
	ExitAborted                    = -100  // released by the AM or lost with its node
	ExitDisksFailed                = -101
	ExitPreempted                  = -102
	ExitKilledExceededVMem         = -103
	ExitKilledExceededPMem         = -104
	ExitKilledByAppMaster          = -105
	ExitKilledByResourceManager    = -106
	ExitKilledAfterAppCompletion   = -107
	ExitKilledByContainerScheduler = -108
	ExitKilledForExcessLogs        = -109
)

// A ContainerStatus is what the ResourceManager (for completed containers)
// or a NodeManager (on request) reports about a container.
type ContainerStatus struct {
	ID    ContainerID
	State ContainerState
	// ExitStatus is the process exit code or one of the Exit* constants;
	// ExitInvalid while the container runs.
	ExitStatus int32
	// Diagnostics explains the state, e.g. why the container was killed.
	// Empty when none was sent.
	Diagnostics   string
	Capability    Resource
	ExecutionType ExecutionType
}

// A ContainerReport is the ResourceManager's (or timeline server's) record
// of a container of an attempt, as listed by getContainers.
type ContainerReport struct {
	ID              ContainerID
	Resource        Resource
	NodeID          NodeID
	Priority        Priority
	Created         time.Time
	Finished        time.Time // zero while running
	Diagnostics     string
	LogURL          string
	ExitStatus      int32
	State           ContainerState
	NodeHTTPAddress string
	ExecutionType   ExecutionType
}

// An ApplicationAccessType is an operation an application ACL grants.
type ApplicationAccessType int32

const (
	// AccessViewApp lets users see the application's report and logs.
	AccessViewApp ApplicationAccessType = 1
	// AccessModifyApp lets users kill the application or change it.
	AccessModifyApp ApplicationAccessType = 2
)

// String returns Hadoop's name for t ("VIEW_APP", "MODIFY_APP").
func (t ApplicationAccessType) String() string {
	return enumName([]string{"", "VIEW_APP", "MODIFY_APP"}, int(t), "ApplicationAccessType")
}

// A ContainerRetryPolicy says when a NodeManager relaunches a container
// whose process exited with an error, without involving the
// ApplicationMaster. The zero value is RetryNever.
type ContainerRetryPolicy int32

const (
	RetryNever ContainerRetryPolicy = iota
	RetryOnAllErrors
	RetryOnErrorCodes
)

// String returns Hadoop's name for p.
func (p ContainerRetryPolicy) String() string {
	return enumName([]string{"NEVER_RETRY", "RETRY_ON_ALL_ERRORS", "RETRY_ON_SPECIFIC_ERROR_CODES"}, int(p), "ContainerRetryPolicy")
}

// A ContainerRetryContext configures NodeManager-side relaunches.
type ContainerRetryContext struct {
	Policy ContainerRetryPolicy
	// ErrorCodes are the exit codes that are retried under
	// RetryOnErrorCodes.
	ErrorCodes []int32
	// MaxRetries bounds relaunches; -1 means forever, 0 never.
	MaxRetries int32
	// Interval is the pause before a relaunch, in whole milliseconds.
	Interval time.Duration
	// FailuresValidityInterval counts only failures within this window
	// against MaxRetries. Zero counts all failures.
	FailuresValidityInterval time.Duration
}

// A ContainerLaunchContext is everything a NodeManager needs to start a
// container's process: the files to localize, the environment, the command
// line, the credentials and who may see the container.
type ContainerLaunchContext struct {
	// LocalResources maps the name a file gets in the working directory to
	// the file. Nil means none.
	LocalResources map[string]LocalResource
	// Environment of the process. Values may use YARN's cross-platform
	// expansion {{VAR}} and the <CPS> class path separator. Nil means only
	// what the NodeManager sets itself.
	Environment map[string]string
	// Commands are joined with spaces into one shell command line run by
	// the container's launch script; use the <LOG_DIR> placeholder to
	// redirect output into the container's log directory
	// ("1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"). Raw text here is read
	// by two shells; Command.Line builds a line that passes each argument
	// exactly as given.
	Commands []string
	// Credentials are the tokens and secrets the process receives (in the
	// file named by HADOOP_TOKEN_FILE_LOCATION), and with which the
	// NodeManager localizes PRIVATE and APPLICATION resources. For an
	// ApplicationMaster the ResourceManager adds the AMRMToken. Nil means
	// none.
	Credentials *Credentials
	// ServiceData is passed to NodeManager auxiliary services by service
	// name (e.g. "mapreduce_shuffle"). Nil means none.
	ServiceData map[string][]byte
	// ACLs grant other users access to the application (only meaningful in
	// an ApplicationMaster's context): a Hadoop ACL string, "user1,user2
	// group1". Nil means only the owner and admins.
	ACLs map[ApplicationAccessType]string
	// Retry configures NodeManager-side relaunches. Nil means never.
	Retry *ContainerRetryContext
	// TokensConf is Hadoop configuration the ResourceManager uses, instead
	// of its own, to renew the delegation tokens in Credentials: what it
	// needs to reach a file system it is not configured for, such as a
	// remote HDFS HA nameservice (dfs.nameservices, dfs.ha.namenodes.<ns>,
	// dfs.namenode.rpc-address.<ns>.<nn>, ...). Only read in an
	// ApplicationMaster's context; the ResourceManager refuses more than
	// yarn.resourcemanager.delegation-token.max-conf-size-bytes (12800 by
	// default) of it. Nil means the ResourceManager's own configuration.
	TokensConf map[string]string
}

// A SerializedException is an exception a NodeManager reports for one
// container of a batch request (start, stop, status), as Hadoop serializes
// it: the Java class, message, stack trace and cause.
type SerializedException struct {
	Class   string // Java class name, e.g. org.apache.hadoop.yarn.exceptions.YarnException
	Message string
	Trace   string
	Cause   *SerializedException
}

func (e *SerializedException) Error() string {
	var b strings.Builder
	b.WriteString("yarn: ")
	if e.Class != "" {
		b.WriteString(e.Class)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the cause, so errors.As can look through the chain.
func (e *SerializedException) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

package yarn

import (
	"strings"
	"time"
)

// An ApplicationState is where an application is in the ResourceManager's
// life cycle. The zero value means the state is unknown (not reported).
type ApplicationState int32

// The states in the order an application passes through them; it ends in
// exactly one of the last three.
const (
	ApplicationNew       ApplicationState = 1
	ApplicationNewSaving ApplicationState = 2 // being written to the RM state store
	ApplicationSubmitted ApplicationState = 3
	ApplicationAccepted  ApplicationState = 4 // scheduled, waiting for its ApplicationMaster
	ApplicationRunning   ApplicationState = 5
	ApplicationFinished  ApplicationState = 6 // the AM unregistered; see the FinalStatus
	ApplicationFailed    ApplicationState = 7
	ApplicationKilled    ApplicationState = 8
)

var applicationStateNames = [...]string{"", "NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED",
	"RUNNING", "FINISHED", "FAILED", "KILLED"}

// String returns Hadoop's name for s ("RUNNING", "FINISHED", ...), the form
// the REST API uses too.
func (s ApplicationState) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName(applicationStateNames[:], int(s), "ApplicationState")
}

// IsFinal reports whether s is one an application never leaves: finished,
// failed or killed.
func (s ApplicationState) IsFinal() bool {
	return s == ApplicationFinished || s == ApplicationFailed || s == ApplicationKilled
}

// ParseApplicationState parses Hadoop's name for a state, in any case.
func ParseApplicationState(s string) (ApplicationState, bool) {
	for i, n := range applicationStateNames {
		if i > 0 && strings.EqualFold(n, s) {
			return ApplicationState(i), true
		}
	}
	return 0, false
}

// A FinalStatus is the outcome an ApplicationMaster reports when it
// unregisters (or the ResourceManager records when the application fails or
// is killed). The zero value, FinalUndefined, means "not finished yet".
type FinalStatus int32

const (
	FinalUndefined FinalStatus = iota
	FinalSucceeded
	FinalFailed
	FinalKilled
	// FinalEnded is for applications that never end on their own
	// (services), stopped on purpose.
	FinalEnded
)

var finalStatusNames = [...]string{"UNDEFINED", "SUCCEEDED", "FAILED", "KILLED", "ENDED"}

// String returns Hadoop's name for s ("SUCCEEDED", ...).
func (s FinalStatus) String() string { return enumName(finalStatusNames[:], int(s), "FinalStatus") }

// LogAggregationContext chooses which container logs the NodeManagers
// upload when the application ends (and, with rolling aggregation, while
// it runs). Every empty field means Hadoop's default for it, not an empty
// value.
type LogAggregationContext struct {
	// IncludePattern and ExcludePattern are regular expressions over log
	// file names; defaults ".*" and none.
	IncludePattern, ExcludePattern string
	// RolledLogsIncludePattern and RolledLogsExcludePattern do the same for
	// rolling aggregation; defaults none and ".*" (so nothing rolls unless
	// an include pattern is given).
	RolledLogsIncludePattern, RolledLogsExcludePattern string
	// PolicyClassName names the Java ContainerLogAggregationPolicy; empty
	// means the cluster's default. PolicyParameters is its parameter
	// string.
	PolicyClassName, PolicyParameters string
}

// An ApplicationSubmission describes an application to run: what to call
// it, where to queue it and how to start its ApplicationMaster. The same
// value is submitted over Hadoop RPC or over the ResourceManager's REST API.
//
// Check it with Validate before submitting; the clients do.
type ApplicationSubmission struct {
	// ID is the id the ResourceManager handed out for this application
	// (RPC getNewApplication or REST new-application). Required.
	// Submitting an ID the ResourceManager already knows is not an error:
	// it keeps the first submission, ignores the second and returns nil, so
	// a retried Submit never starts a second application.
	ID ApplicationID
	// Name is shown in the ResourceManager UI. Empty means "N/A".
	Name string
	// Queue to submit to. Empty means "default"; the cluster's placement
	// rules may still move the application.
	Queue string
	// Priority within the queue; higher runs first. Zero means the queue's
	// default priority.
	Priority Priority
	// AM is how the NodeManager starts the ApplicationMaster. For an
	// unmanaged ApplicationMaster only its Credentials and ACLs matter.
	// A process that exits without registering with the ResourceManager
	// (AMClient.Register) and unregistering (AMClient.Finish) ends the
	// attempt FAILED, even with exit status 0; WaitForCompletion reports
	// that status.
	AM ContainerLaunchContext
	// AMResource is the ApplicationMaster container's size. Required unless
	// Unmanaged.
	AMResource Resource
	// Type is the application type (at most 20 characters). Empty means
	// "YARN".
	Type string
	// Tags are free-form labels, searchable with ApplicationFilter.Tags.
	// They are sent as given; Hadoop's Java client lower-cases them first,
	// so use lower case to find them with Java tools. Each may have at most
	// 100 ASCII characters and an application at most 10 (cluster
	// settings).
	Tags []string
	// NodeLabel is the node label expression for all of the application's
	// containers. Empty means the queue's default.
	NodeLabel string
	// AMNodeLabel is the node label expression for the ApplicationMaster's
	// container alone. Empty means NodeLabel.
	AMNodeLabel string
	// MaxAttempts is how many times YARN starts the ApplicationMaster before
	// it fails the application. Zero means the cluster's
	// yarn.resourcemanager.am.max-attempts; larger values are capped by it.
	MaxAttempts int32
	// AttemptFailuresValidityInterval counts only attempt failures within
	// this window toward MaxAttempts, so a long-running application
	// survives occasional failures. Zero counts all failures. Whole
	// milliseconds.
	AttemptFailuresValidityInterval time.Duration
	// KeepContainersAcrossAttempts keeps running containers alive when the
	// ApplicationMaster fails; the next attempt gets them back at
	// registration.
	KeepContainersAcrossAttempts bool
	// Unmanaged means the submitter runs the ApplicationMaster itself,
	// outside YARN; it reads the AMRMToken from the application report.
	Unmanaged bool
	// KeepTokensOnCompletion stops the ResourceManager from cancelling the
	// delegation tokens in AM.Credentials when the application ends, for
	// tokens shared with other applications. False, the zero value, is
	// Hadoop's default (cancel_tokens_when_complete = true).
	KeepTokensOnCompletion bool
	// LogAggregation chooses which logs are aggregated. Nil means the
	// cluster's defaults.
	LogAggregation *LogAggregationContext
	// Lifetime bounds the application's run time from submission; the
	// ResourceManager kills it afterwards. Zero means unbounded. Whole
	// seconds.
	Lifetime time.Duration
	// SchedulingProperties are passed to the scheduler (e.g. Hadoop's
	// multi-node placement). Nil means none.
	SchedulingProperties map[string]string
}

// LogAggregationStatus is the progress of log aggregation for an
// application. The zero value means not reported.
type LogAggregationStatus int32

const (
	LogAggregationDisabled           LogAggregationStatus = 1
	LogAggregationNotStarted         LogAggregationStatus = 2
	LogAggregationRunning            LogAggregationStatus = 3
	LogAggregationSucceeded          LogAggregationStatus = 4
	LogAggregationFailed             LogAggregationStatus = 5
	LogAggregationTimedOut           LogAggregationStatus = 6
	LogAggregationRunningWithFailure LogAggregationStatus = 7
)

// String returns Hadoop's name for s ("SUCCEEDED", ...).
func (s LogAggregationStatus) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName([]string{"", "DISABLED", "NOT_START", "RUNNING", "SUCCEEDED", "FAILED",
		"TIME_OUT", "RUNNING_WITH_FAILURE"}, int(s), "LogAggregationStatus")
}

// An ApplicationReport is the ResourceManager's view of an application.
// Times are zero when the event has not happened (or was not reported).
type ApplicationReport struct {
	ID ApplicationID
	// CurrentAttempt is the latest ApplicationMaster attempt; zero before
	// the first one starts.
	CurrentAttempt ApplicationAttemptID
	User           string
	Queue          string
	Name           string
	// Host and RPCPort are where the ApplicationMaster said it listens; Host
	// is "N/A" until it registers.
	Host    string
	RPCPort int32
	// ClientToAMToken authenticates the client to the ApplicationMaster, in
	// secure clusters; nil otherwise.
	ClientToAMToken *Token
	State           ApplicationState
	FinalStatus     FinalStatus
	// Diagnostics explains the state, e.g. why the application failed.
	Diagnostics string
	// TrackingURL is the RM proxy's URL for the application;
	// OriginalTrackingURL the one the ApplicationMaster registered.
	TrackingURL, OriginalTrackingURL       string
	Submitted, Launched, Started, Finished time.Time
	// Progress is the ApplicationMaster's own measure, 0..1.
	Progress float32
	Type     string
	Tags     []string
	// AMRMToken is set only for unmanaged applications, whose
	// ApplicationMaster needs it to register.
	AMRMToken            *Token
	LogAggregationStatus LogAggregationStatus
	Unmanaged            bool
	Priority             Priority
	// AppNodeLabel and AMNodeLabel are the node label expressions in force.
	AppNodeLabel, AMNodeLabel string
	// Usage is nil when the ResourceManager sent none.
	Usage *ApplicationResourceUsage
	// LifetimeRemaining is what is left of the application's lifetime; zero
	// when it has none.
	LifetimeRemaining time.Duration
	// RMClusterID names the ResourceManager cluster (set under federation
	// and HA).
	RMClusterID string
}

// ApplicationResourceUsage is what an application holds and has consumed.
type ApplicationResourceUsage struct {
	UsedContainers, ReservedContainers int32
	Used, Reserved, Needed             Resource
	// MemorySeconds and VCoreSeconds aggregate usage over the
	// application's life (MB·s and vcore·s); the Preempted variants what was
	// taken back.
	MemorySeconds, VCoreSeconds                   int64
	PreemptedMemorySeconds, PreemptedVCoreSeconds int64
	// QueueUsage and ClusterUsage are percentages of the queue's and
	// cluster's resources in use.
	QueueUsage, ClusterUsage float32
}

// An ApplicationScope limits which applications a listing returns. The
// zero value is ScopeAll.
type ApplicationScope int32

const (
	// ScopeAll lists every application the caller may see at all.
	ScopeAll ApplicationScope = iota
	// ScopeViewable lists those the caller may view in full.
	ScopeViewable
	// ScopeOwn lists the caller's own.
	ScopeOwn
)

// An ApplicationFilter selects applications to list. Every zero field
// means "any"; non-empty fields are combined with AND, the values within a
// field with OR.
type ApplicationFilter struct {
	Types  []string
	States []ApplicationState
	Users  []string
	Queues []string
	Tags   []string
	// Name matches the application name exactly.
	Name  string
	Scope ApplicationScope
	// Limit caps the number of reports; zero means no limit.
	Limit int64
	// StartedFrom..StartedTo and FinishedFrom..FinishedTo bound the start
	// and finish times, inclusively, to the millisecond; a zero bound is
	// open.
	StartedFrom, StartedTo   time.Time
	FinishedFrom, FinishedTo time.Time
}

// An AttemptState is where an ApplicationMaster attempt is in its life. The
// zero value means not reported.
type AttemptState int32

const (
	AttemptNew             AttemptState = 1
	AttemptSubmitted       AttemptState = 2
	AttemptScheduled       AttemptState = 3
	AttemptAllocatedSaving AttemptState = 4
	AttemptAllocated       AttemptState = 5
	AttemptLaunched        AttemptState = 6
	AttemptFailed          AttemptState = 7
	AttemptRunning         AttemptState = 8
	AttemptFinishing       AttemptState = 9
	AttemptFinished        AttemptState = 10
	AttemptKilled          AttemptState = 11
)

// String returns Hadoop's name for s ("RUNNING", ...).
func (s AttemptState) String() string {
	if s == 0 {
		return "UNKNOWN"
	}
	return enumName([]string{"", "NEW", "SUBMITTED", "SCHEDULED", "ALLOCATED_SAVING", "ALLOCATED",
		"LAUNCHED", "FAILED", "RUNNING", "FINISHING", "FINISHED", "KILLED"}, int(s), "AttemptState")
}

// An ApplicationAttemptReport is the ResourceManager's view of one
// ApplicationMaster attempt.
type ApplicationAttemptReport struct {
	ID          ApplicationAttemptID
	Host        string
	RPCPort     int32
	TrackingURL string
	// OriginalTrackingURL is the URL the ApplicationMaster registered;
	// TrackingURL the proxied one.
	OriginalTrackingURL string
	Diagnostics         string
	State               AttemptState
	// AMContainer is the attempt's ApplicationMaster container; zero until
	// allocated.
	AMContainer       ContainerID
	Started, Finished time.Time
}

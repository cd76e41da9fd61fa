package yarn

import (
	"errors"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

// Sentinels for the remote failures a caller acts on. Errors returned by
// this package match them with errors.Is, whichever transport carried them.
var (
	// ErrStandby: the ResourceManager is a standby. Clients fail over by
	// themselves; callers see it only when no RM is active.
	ErrStandby = ipc.ErrStandby
	// ErrRetriable: the server asks the caller to try again later.
	ErrRetriable = ipc.ErrRetriable
	// ErrInvalidToken: a token was rejected (expired, cancelled, or from
	// another cluster).
	ErrInvalidToken = ipc.ErrInvalidToken
	// ErrAccessControl: the caller is not allowed to do this (queue ACL,
	// application ACL, proxy-user rules).
	ErrAccessControl = ipc.ErrAccessControl
	// ErrUnauthorized: authentication failed (no or wrong credentials, a
	// server principal that does not match the configured one).
	ErrUnauthorized = ipc.ErrUnauthorized
	// ErrApplicationNotFound: the RM does not know the application.
	ErrApplicationNotFound = errors.New("yarn: application not found")
	// ErrApplicationMasterNotRegistered: the RM lost the AM's registration
	// (it restarted or failed over); the AM client registers again.
	ErrApplicationMasterNotRegistered = errors.New("yarn: application master not registered")
	// ErrInvalidResourceRequest: a request asks for more than the scheduler
	// grants, or for a resource type the cluster does not have.
	ErrInvalidResourceRequest = errors.New("yarn: invalid resource request")
	// ErrInvalidApplicationMasterRequest: an AM call out of order (allocate
	// before register, a stale response id).
	ErrInvalidApplicationMasterRequest = errors.New("yarn: invalid application master request")
	// ErrNoActiveResourceManager: none of the configured ResourceManagers
	// answered as the active one.
	ErrNoActiveResourceManager = errors.New("yarn: no active ResourceManager")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("yarn: client closed")
)

// RemoteError is a failure a Hadoop service reported: the Java exception's
// class, the first line of its message and the server that answered. It
// matches the sentinels above with errors.Is. It is the same type as
// hdfs.RemoteError.
type RemoteError = ipc.ServiceError

// yarnExceptions maps the Java exception classes only YARN's services send
// to this package's sentinels; the shared ones are internal/ipc's.
var yarnExceptions = map[string]error{
	"org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException":             ErrApplicationNotFound,
	"org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException":  ErrApplicationMasterNotRegistered,
	"org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException":          ErrInvalidResourceRequest,
	"org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException": ErrInvalidApplicationMasterRequest,
}

// OpError says which operation on which object failed, and why.
type OpError struct {
	Op  string // "submit", "kill", "allocate", ...
	ID  string // the application, container or node it was about; may be empty
	Err error
}

func (e *OpError) Error() string {
	if e.ID != "" {
		return "yarn: " + e.Op + " " + e.ID + ": " + e.Err.Error()
	}
	return "yarn: " + e.Op + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// remoteError turns a transport error into this package's error types.
func remoteError(err error, server string) error {
	var re *ipc.RemoteError
	if errors.As(err, &re) {
		return ipc.NewServiceError(re.Class, re.Message, server, err, yarnExceptions)
	}
	return err
}

package hdfs

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

// Sentinels for the failures a caller acts on. Errors returned by this
// package match them with errors.Is; they also match the io/fs sentinels
// (fs.ErrNotExist, fs.ErrExist, fs.ErrPermission) where one applies, so
// os.IsNotExist-style checks work too.
var (
	// ErrAccessControl: the NameNode refused the operation for lack of
	// permission (org.apache.hadoop.security.AccessControlException). Such
	// errors also match fs.ErrPermission.
	ErrAccessControl = ipc.ErrAccessControl
	// ErrUnauthorized: the connection could not authenticate (no or wrong
	// credentials, an expired token, a NameNode principal that does not
	// match the configured one).
	ErrUnauthorized = ipc.ErrUnauthorized
	// ErrInvalidToken: a delegation token was refused (expired, cancelled,
	// or from another cluster).
	ErrInvalidToken = ipc.ErrInvalidToken
	// ErrStandby: the NameNode is a standby. The client fails over by
	// itself; callers see it only when no NameNode is active.
	ErrStandby = ipc.ErrStandby
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("hdfs: client closed")
	// ErrChanged: a local file changed while it was being staged, so the
	// bytes uploaded are not the bytes hashed. Nothing was published.
	ErrChanged = errors.New("hdfs: local file changed while staging")
	// ErrNoDataTransfer was returned when a client holding only delegation
	// tokens read or wrote a file. Such clients now do, through the
	// package's own block reader and writer, so it is no longer returned.
	//
	// Deprecated: nothing returns it.
	ErrNoDataTransfer = errors.New("hdfs: reading and writing files needs Kerberos or simple authentication, not delegation tokens alone")
)

// Java exception classes the NameNode sends, mapped to the io/fs sentinels
// they mean.
var fsClasses = map[string]error{
	"java.io.FileNotFoundException":                         fs.ErrNotExist,
	"org.apache.hadoop.fs.FileAlreadyExistsException":       fs.ErrExist,
	"org.apache.hadoop.security.AccessControlException":     fs.ErrPermission,
	"org.apache.hadoop.fs.PathIsNotEmptyDirectoryException": errNotEmpty,
	"org.apache.hadoop.fs.ParentNotDirectoryException":      errNotDir,
}

var (
	errNotEmpty = errors.New("directory not empty")
	errNotDir   = errors.New("not a directory")
)

// RemoteError is an exception the NameNode reported: the Java class, the
// first line of its message and the NameNode that answered. It matches
// this package's sentinels and the io/fs ones with errors.Is. It is the
// same type as yarn.RemoteError.
type RemoteError = ipc.ServiceError

// PathError records the operation and HDFS path (or local path, for
// staging) that failed.
type PathError struct {
	Op   string // "stat", "list", "mkdir", "delete", "rename", "upload", "stage", ...
	Path string
	Err  error
}

func (e *PathError) Error() string { return "hdfs: " + e.Op + " " + e.Path + ": " + e.Err.Error() }

func (e *PathError) Unwrap() error { return e.Err }

// remoteError turns an ipc error into this package's RemoteError.
func remoteError(err error, server string) error {
	var re *ipc.RemoteError
	if errors.As(err, &re) && !re.Fatal {
		return ipc.NewServiceError(re.Class, re.Message, server, err, fsClasses)
	}
	return err
}

// ErrConfig is matched by every error a Config's validation returns.
var ErrConfig = errors.New("hdfs: invalid configuration")

type configError struct{ msg string }

func (e *configError) Error() string        { return "hdfs: invalid configuration: " + e.msg }
func (e *configError) Is(target error) bool { return target == ErrConfig }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

package control

import (
	"fmt"
	"log/slog"
)

// JobCredentialsPath is the session JobManager's endpoint to which a
// client POSTs fresh credentials of one job (a CredentialsUpdate holding
// Hadoop's token storage format), answered with a tokens.PushAnswer:
//
//	POST /v1/jobs/{id}/credentials
func JobCredentialsPath(job string) string { return "/v1/jobs/" + job + "/credentials" }

// JobCredentials carries one session job's fresh delegation tokens to the
// TaskManagers serving that job, which switch that job's HDFS client to
// them and no other job's. It travels only over this protocol's mutual
// TLS; it formats (fmt, slog) as its job and size alone, never its bytes.
type JobCredentials struct {
	Job string `json:"job"`
	// Tokens are the credentials in Hadoop's binary token storage format
	// (yarn.Credentials.MarshalBinary), base64 in the JSON.
	Tokens []byte `json:"tokens"`
}

// String shows the job and size only: the tokens hold passwords.
func (u JobCredentials) String() string {
	return fmt.Sprintf("credentials update of job %s (%d bytes)", u.Job, len(u.Tokens))
}

// GoString is String, so %#v shows no password either.
func (u JobCredentials) GoString() string { return u.String() }

// LogValue is String.
func (u JobCredentials) LogValue() slog.Value { return slog.StringValue(u.String()) }

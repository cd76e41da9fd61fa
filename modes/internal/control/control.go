// Package control is the JobManager's control protocol: the messages
// TaskManagers and clients exchange with it, as JSON over HTTPS with
// mutual TLS pinned on the deployment secret (package secure), so only
// the deployment's containers and its client can speak it. On Kerberos
// clusters a client without the secret may use the jobs' paths with
// YARN's ClientToAMToken instead (package clienttoam: reading for users
// with VIEW access, submitting, cancelling and stopping for the owner and
// the MODIFY_APP ACL); the TaskManagers' paths always need the secret.
//
// TaskManagers register, then long-poll for commands (deploy a subtask,
// cancel a job attempt, shut down) and post task updates; source subtasks
// ask for splits. Paths:
//
//	POST /v1/taskmanagers                    RegisterRequest → RegisterResponse
//	GET  /v1/taskmanagers/{id}/commands?after=N   → []Command (long poll)
//	POST /v1/taskmanagers/{id}/updates       []TaskUpdate
//	POST /v1/splits                          SplitRequest → SplitResponse
//	GET  /v1/jobs                            → []JobStatus
//	POST /v1/jobs/{id}/cancel
//	POST /v1/credentials                     CredentialsUpdate → tokens.PushAnswer (a client's fresh tokens)
//	POST /v1/jobs/{id}/credentials           CredentialsUpdate → tokens.PushAnswer (a session job's fresh tokens)
package control

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// RegisterRequest is a TaskManager's registration.
type RegisterRequest struct {
	// ID is the TaskManager's container id.
	ID string `json:"id"`
	// Host is the node it runs on; DataAddr its exchange server.
	Host     string `json:"host"`
	DataAddr string `json:"data_addr"`
	Slots    int    `json:"slots"`
}

// RegisterResponse answers a registration.
type RegisterResponse struct {
	// PollSeconds is how long a command poll may be held.
	PollSeconds int `json:"poll_seconds"`
}

// A Command is what the JobManager tells a TaskManager to do. Exactly one
// of its fields besides Seq is set.
type Command struct {
	Seq    int64       `json:"seq"`
	Deploy *Deployment `json:"deploy,omitempty"`
	Cancel *Attempt    `json:"cancel,omitempty"`
	// Only limits Cancel to these subtasks of the attempt (a failed
	// region's); empty cancels every subtask of it.
	Only     []SubtaskRef `json:"only,omitempty"`
	Shutdown bool         `json:"shutdown,omitempty"`
	// Forget names a job that ended: the TaskManager drops its
	// credentials (session mode).
	Forget string `json:"forget,omitempty"`
	// Credentials replaces the application's delegation tokens (their
	// renewal or re-obtaining, see package tokens).
	Credentials *CredentialsUpdate `json:"credentials,omitempty"`
	// JobCredentials replaces one session job's own delegation tokens
	// (pushed by its client, jobmanager's jobcredentials.go).
	JobCredentials *JobCredentials `json:"job_credentials,omitempty"`
}

// CredentialsUpdate carries an application's fresh delegation tokens to a
// TaskManager, which switches its HDFS access to them. It travels only
// over this protocol's mutual TLS; it formats (fmt, slog) as its size
// alone, never its bytes.
type CredentialsUpdate struct {
	// Tokens are the credentials in Hadoop's binary token storage format
	// (yarn.Credentials.MarshalBinary), base64 in the JSON.
	Tokens []byte `json:"tokens"`
}

// String shows the size only: the tokens hold passwords.
func (u CredentialsUpdate) String() string {
	return fmt.Sprintf("credentials update (%d bytes)", len(u.Tokens))
}

// GoString is String, so %#v shows no password either.
func (u CredentialsUpdate) GoString() string { return u.String() }

// LogValue is String.
func (u CredentialsUpdate) LogValue() slog.Value { return slog.StringValue(u.String()) }

// SubtaskRef names one subtask of a vertex.
type SubtaskRef struct {
	Vertex string `json:"vertex"`
	Index  int    `json:"index"`
}

// Attempt names one attempt of one job.
type Attempt struct {
	Job     string `json:"job"`
	Attempt int    `json:"attempt"`
}

// Deployment is one subtask to run.
type Deployment struct {
	Attempt
	JobName     string            `json:"job_name,omitempty"`
	Vertex      string            `json:"vertex"`
	Operator    string            `json:"operator"`
	Index       int               `json:"index"`
	Parallelism int               `json:"parallelism"`
	Config      map[string]string `json:"config,omitempty"`
	Inputs      []InputSpec       `json:"inputs,omitempty"`
	Outputs     []OutputSpec      `json:"outputs,omitempty"`
	Splits      bool              `json:"splits,omitempty"`
	// Credentials are the job's own tokens (Hadoop's credentials format)
	// in a session; nil means the container's.
	Credentials []byte `json:"credentials,omitempty"`
	// Binary, when set, is the program the subtask's operators are in, a
	// session job's own: a TaskManager running another binary fetches it
	// (with the job's credentials) and becomes it before running the
	// subtask. Nil means the deployment's binary.
	Binary *BinaryRef `json:"binary,omitempty"`
}

// BinaryRef names a program binary a session job shipped: staged by its
// client, by content, in HDFS.
type BinaryRef struct {
	// Path is the file in HDFS.
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of its bytes, checked after the fetch.
	SHA256 string `json:"sha256"`
	// Size in bytes.
	Size int64 `json:"size"`
}

// InputSpec is one incoming edge of a subtask.
type InputSpec struct {
	// Edge is the edge's index in the graph.
	Edge int `json:"edge"`
	// Producers are the source vertex's subtasks that send on it.
	Producers []int `json:"producers"`
}

// OutputSpec is one outgoing edge of a subtask.
type OutputSpec struct {
	Edge        int                  `json:"edge"`
	Partitioner jobgraph.Partitioner `json:"partitioner"`
	Targets     []Target             `json:"targets"`
}

// Target is one consumer subtask of an edge and where it runs.
type Target struct {
	Consumer int    `json:"consumer"`
	Addr     string `json:"addr"`
}

// Task states a TaskManager reports.
const (
	TaskRunning  = "running"
	TaskFinished = "finished"
	TaskFailed   = "failed"
	TaskCanceled = "canceled"
)

// TaskUpdate reports a subtask's state.
type TaskUpdate struct {
	Attempt
	Vertex string `json:"vertex"`
	Index  int    `json:"index"`
	State  string `json:"state"`
	Error  string `json:"error,omitempty"`
	// Secondary marks a failure caused by another subtask's (an upstream
	// producer failed, a downstream consumer went away): the JobManager
	// reports the primary one as the root cause.
	Secondary bool             `json:"secondary,omitempty"`
	Counters  map[string]int64 `json:"counters,omitempty"`
}

// SplitRequest asks for a source subtask's next split.
type SplitRequest struct {
	Attempt
	Vertex string `json:"vertex"`
	Index  int    `json:"index"`
}

// SplitResponse carries the next split, or Done when none is left.
type SplitResponse struct {
	Split *operator.Split `json:"split,omitempty"`
	Done  bool            `json:"done,omitempty"`
}

// JobStatus is a job as clients and the tracking page see it.
type JobStatus struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	State        string           `json:"state"`
	Attempt      int              `json:"attempt"`
	Subtasks     SubtaskCounts    `json:"subtasks"`
	RecordsOut   int64            `json:"records_out"`
	TaskManagers int              `json:"taskmanagers"`
	Counters     map[string]int64 `json:"counters,omitempty"`
	RootCause    string           `json:"root_cause,omitempty"`
	Started      time.Time        `json:"started"`
	Ended        time.Time        `json:"ended,omitzero"`
}

// SubtaskCounts counts a job's subtasks by state.
type SubtaskCounts struct {
	Running  int `json:"running"`
	Finished int `json:"finished"`
	Total    int `json:"total"`
}

// Error is an HTTP error answer of the JobManager.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("jobmanager answered %d: %s", e.Status, e.Message)
}

// Client speaks the protocol to one JobManager.
type Client struct {
	// Relocate, when set, says where the deployment's JobManager listens
	// now ("" while none is registered): a GET that cannot reach the
	// JobManager asks it, every RelocateInterval for up to RelocateFor,
	// and is sent again to a new address (a new ApplicationMaster
	// attempt's). Other methods are never sent twice.
	Relocate         func(ctx context.Context) (string, error)
	RelocateInterval time.Duration
	RelocateFor      time.Duration

	mu   sync.Mutex
	base string
	hc   *http.Client
}

// Addr is the JobManager's address (host:port) the client speaks to.
func (c *Client) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimPrefix(c.base, "https://")
}

// SetAddr points the client at another JobManager of the same deployment
// (the next ApplicationMaster attempt's, which holds the same secret).
func (c *Client) SetAddr(addr string) {
	c.mu.Lock()
	c.base = "https://" + addr
	c.mu.Unlock()
	c.hc.CloseIdleConnections()
}

// NewClient returns a client of the JobManager at addr (host:port), with
// the client TLS configuration pinned on the deployment secret.
func NewClient(addr string, tlsConf *tls.Config) *Client {
	tr := &http.Transport{TLSClientConfig: tlsConf.Clone(), MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true}
	return &Client{base: "https://" + addr, hc: &http.Client{Transport: tr}}
}

// NewClientTransport returns a client of the JobManager at addr that
// sends its requests through rt, which makes the TLS connections itself
// (package clienttoam's Transport, for clients without the deployment
// secret).
func NewClientTransport(addr string, rt http.RoundTripper) *Client {
	return &Client{base: "https://" + addr, hc: &http.Client{Transport: rt}}
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Do sends in (nil: no body) with method to path and decodes the answer
// into out (nil: discarded).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	err := c.do(ctx, method, path, in, out)
	if err == nil || c.Relocate == nil || method != http.MethodGet || ctx.Err() != nil {
		return err
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err // the JobManager answered
	}
	every, until := cmp.Or(c.RelocateInterval, time.Second), time.Now().Add(cmp.Or(c.RelocateFor, 2*time.Minute))
	for time.Now().Before(until) {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(every):
		}
		addr, rerr := c.Relocate(ctx)
		if rerr != nil || addr == "" || addr == c.Addr() {
			continue
		}
		c.SetAddr(addr)
		if err = c.do(ctx, method, path, in, out); err == nil || errors.As(err, &ce) {
			return err
		}
	}
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &Error{Status: resp.StatusCode, Message: string(bytes.TrimSpace(msg))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

// Register registers a TaskManager.
func (c *Client) Register(ctx context.Context, r RegisterRequest) (RegisterResponse, error) {
	var out RegisterResponse
	err := c.Do(ctx, http.MethodPost, "/v1/taskmanagers", r, &out)
	return out, err
}

// Commands long-polls for the TaskManager's commands after seq.
func (c *Client) Commands(ctx context.Context, id string, after int64) ([]Command, error) {
	var out []Command
	err := c.Do(ctx, http.MethodGet, "/v1/taskmanagers/"+url.PathEscape(id)+"/commands?after="+strconv.FormatInt(after, 10), nil, &out)
	return out, err
}

// Update posts task updates.
func (c *Client) Update(ctx context.Context, id string, u ...TaskUpdate) error {
	return c.Do(ctx, http.MethodPost, "/v1/taskmanagers/"+url.PathEscape(id)+"/updates", u, nil)
}

// NextSplit asks for a split.
func (c *Client) NextSplit(ctx context.Context, r SplitRequest) (SplitResponse, error) {
	var out SplitResponse
	err := c.Do(ctx, http.MethodPost, "/v1/splits", r, &out)
	return out, err
}

// Jobs lists the JobManager's jobs.
func (c *Client) Jobs(ctx context.Context) ([]JobStatus, error) {
	var out []JobStatus
	err := c.Do(ctx, http.MethodGet, "/v1/jobs", nil, &out)
	return out, err
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, job string) error {
	return c.Do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(job)+"/cancel", nil, nil)
}

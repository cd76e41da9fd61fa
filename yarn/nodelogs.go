package yarn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrLogNotFound: the NodeManager has no such log file for the container
// (never written, or already removed or aggregated).
var ErrLogNotFound = errors.New("yarn: container log not found")

// A ContainerLogFile is one file in a container's log directory, as its
// NodeManager lists it.
type ContainerLogFile struct {
	Name string
	Size int64
	// Modified is the NodeManager's text for the file's modification time
	// ("Mon Nov 30 06:59:14 +0000 2026").
	Modified string
}

// maxLogBytes caps how much of one log file ContainerLog reads.
const maxLogBytes = 64 << 20

// ContainerLogFiles lists a container's log files from its NodeManager's
// REST API. nodeHTTPAddress is the NodeManager's web address
// (ContainerReport.NodeHTTPAddress, Container.NodeHTTPAddress or
// NodeReport's), with or without a scheme; without one, the
// ResourceManagers' scheme is used.
//
// The NodeManager serves the files while the container runs and, after it
// ends, until it deletes them: after yarn.nodemanager.log.retain-seconds
// (3 hours by default) without log aggregation, or once aggregation has
// moved them to the remote log directory. An unknown container gives an
// empty list.
//
// Requests carry the client's authentication (SPNEGO for the NodeManager's
// HTTP principal, or user.name) and are never redirected: a NodeManager
// that answers with a redirect gets an error, not the credentials.
func (c *RESTClient) ContainerLogFiles(ctx context.Context, nodeHTTPAddress string, id ContainerID) ([]ContainerLogFile, error) {
	data, err := c.nodeGet(ctx, nodeHTTPAddress, "/ws/v1/node/containers/"+url.PathEscape(id.String())+"/logs", "application/json")
	if err != nil {
		return nil, &OpError{Op: "container log files", ID: id.String(), Err: err}
	}
	return parseContainerLogFiles(data)
}

// ContainerLog reads one of a container's log files ("stdout", "stderr",
// "prelaunch.err", ...) from its NodeManager's REST API, as
// ContainerLogFiles describes; at most 64 MiB are read. A file the
// NodeManager does not have gives an error matching ErrLogNotFound.
func (c *RESTClient) ContainerLog(ctx context.Context, nodeHTTPAddress string, id ContainerID, file string) ([]byte, error) {
	if file == "" || strings.ContainsAny(file, "/\\") || file == "." || file == ".." {
		return nil, &OpError{Op: "container log", ID: id.String(), Err: fmt.Errorf("log file name %q: give a plain file name such as stderr", file)}
	}
	data, err := c.nodeGet(ctx, nodeHTTPAddress, "/ws/v1/node/containers/"+url.PathEscape(id.String())+"/logs/"+url.PathEscape(file), "text/plain")
	if err != nil {
		return nil, &OpError{Op: "container log", ID: id.String() + "/" + file, Err: err}
	}
	out, err := parseContainerLog(data)
	if err != nil {
		return nil, &OpError{Op: "container log", ID: id.String() + "/" + file, Err: err}
	}
	return out, nil
}

// nodeGet performs one authenticated GET on a NodeManager.
func (c *RESTClient) nodeGet(ctx context.Context, nodeHTTPAddress, path, accept string) ([]byte, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	base := nodeHTTPAddress
	if !strings.Contains(base, "://") {
		scheme := "http"
		if u, err := url.Parse(c.rms[0].Web); err == nil && u.Scheme == "https" {
			scheme = "https"
		}
		base = scheme + "://" + base
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + path)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("NodeManager web address %q is not host:port or an http(s) URL", nodeHTTPAddress)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	hc := &http.Client{
		Transport: c.hc.HTTPClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLogBytes+64<<10))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return data, nil
	case resp.StatusCode == http.StatusNotFound || wrapsNotFound(data):
		// A NodeManager that does not know the application answers 503
		// wrapping a 404.
		return nil, fmt.Errorf("%w on %s: %s", ErrLogNotFound, u.Host, firstLine(data))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("NodeManager %s redirected to %q; not followed", u.Host, resp.Header.Get("Location"))
	default:
		return nil, restError(resp.StatusCode, data, false, u.Host)
	}
}

// wrapsNotFound reports whether a NodeManager's RemoteException answer
// carries a 404.
func wrapsNotFound(data []byte) bool {
	var e struct {
		RemoteException struct {
			Message string `json:"message"`
		} `json:"RemoteException"`
	}
	return json.Unmarshal(data, &e) == nil && strings.HasPrefix(e.RemoteException.Message, "HTTP 404")
}

// containerLogsJSON is the NodeManager's ContainerLogsInfo answer; some
// versions wrap it in an array.
type containerLogsJSON struct {
	Info struct {
		Files []struct {
			Name     string `json:"fileName"`
			Size     string `json:"fileSize"`
			Modified string `json:"lastModifiedTime"`
		} `json:"containerLogInfo"`
	} `json:"containerLogsInfo"`
}

func parseContainerLogFiles(data []byte) ([]ContainerLogFile, error) {
	var one containerLogsJSON
	var many []containerLogsJSON
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &many); err != nil {
			return nil, fmt.Errorf("decoding the NodeManager's log list: %w", err)
		}
	} else {
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("decoding the NodeManager's log list: %w", err)
		}
		many = []containerLogsJSON{one}
	}
	var out []ContainerLogFile
	for _, m := range many {
		for _, f := range m.Info.Files {
			size, _ := strconv.ParseInt(f.Size, 10, 64)
			out = append(out, ContainerLogFile{Name: f.Name, Size: size, Modified: f.Modified})
		}
	}
	return out, nil
}

// parseContainerLog takes a log file's contents out of the NodeManager's
// framing: header lines ("Container: …", "LogType:stdout",
// "LogLength:50"), "LogContents:\n", exactly LogLength bytes, then a
// trailer ("End of LogType:stdout.").
func parseContainerLog(data []byte) ([]byte, error) {
	const contents = "LogContents:\n"
	i := bytes.Index(data, []byte(contents))
	if i < 0 {
		return nil, fmt.Errorf("the NodeManager's answer has no %q marker", strings.TrimSpace(contents))
	}
	length := int64(-1)
	for _, line := range strings.Split(string(data[:i]), "\n") {
		if v, ok := strings.CutPrefix(line, "LogLength:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("the NodeManager's answer has a bad LogLength %q", v)
			}
			length = n
		}
	}
	body := data[i+len(contents):]
	if length < 0 {
		return nil, errors.New("the NodeManager's answer has no LogLength")
	}
	if length > int64(len(body)) {
		if length > maxLogBytes {
			return nil, fmt.Errorf("log is %d bytes, more than the %d this client reads", length, maxLogBytes)
		}
		return nil, fmt.Errorf("the NodeManager sent %d of %d log bytes", len(body), length)
	}
	return bytes.Clone(body[:length]), nil
}

package yarn

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ClusterInfo returns what the active ResourceManager says about itself.
func (c *RESTClient) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	var r restClusterInfo
	if _, err := c.do(ctx, restCall{op: "cluster info", method: "getClusterInfo", verb: http.MethodGet, path: "/info"}, &r); err != nil {
		return ClusterInfo{}, err
	}
	return r.toClusterInfo(), nil
}

// ClusterMetrics returns the cluster's node counts.
func (c *RESTClient) ClusterMetrics(ctx context.Context) (ClusterMetrics, error) {
	var r restClusterMetrics
	if _, err := c.do(ctx, restCall{op: "cluster metrics", method: "getClusterMetrics", verb: http.MethodGet, path: "/metrics"}, &r); err != nil {
		return ClusterMetrics{}, err
	}
	return r.toMetrics(), nil
}

// Nodes lists the cluster's NodeManagers in the given states; with no
// states, those the RM lists by default, as RMClient.Nodes.
func (c *RESTClient) Nodes(ctx context.Context, states ...NodeState) ([]NodeReport, error) {
	call := restCall{op: "list nodes", method: "getClusterNodes", verb: http.MethodGet, path: "/nodes"}
	if len(states) > 0 {
		names := make([]string, len(states))
		for i, s := range states {
			names[i] = s.String()
		}
		call.query = url.Values{"states": {strings.Join(names, ",")}}
	}
	var r restNodes
	if _, err := c.do(ctx, call, &r); err != nil {
		return nil, err
	}
	var out []NodeReport
	if r.Nodes != nil {
		for _, n := range r.Nodes.Node {
			nr, err := n.toReport()
			if err != nil {
				return nil, &OpError{Op: "list nodes", Err: err}
			}
			out = append(out, nr)
		}
	}
	return out, nil
}

// queueInfo describes a scheduler queue by leaf name ("default") or path
// ("root.default"), as RMClient.queueInfo. The REST API gives the queue
// tree of the capacity and FIFO schedulers; Statistics and Applications
// stay empty.
func (c *RESTClient) queueInfo(ctx context.Context, queue string, children, recursive bool) (QueueInfo, error) {
	var r restScheduler
	if _, err := c.do(ctx, restCall{op: "queue info", id: queue, method: "getQueueInfo", verb: http.MethodGet, path: "/scheduler"}, &r); err != nil {
		return QueueInfo{}, err
	}
	root := &r.Scheduler.SchedulerInfo
	if root.Type == "fifoScheduler" && root.QueueName == "" {
		root.QueueName, root.QueuePath = "default", "default"
	}
	q := root.find(queue)
	if q == nil {
		return QueueInfo{}, &OpError{Op: "queue info", ID: queue,
			Err: fmt.Errorf("%w in the %s scheduler's REST answer", ErrQueueNotFound, root.Type)}
	}
	return q.toQueueInfo(children, recursive), nil
}

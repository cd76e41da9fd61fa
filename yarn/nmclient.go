package yarn

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// The protocol an ApplicationMaster speaks to NodeManagers.
const containerManagementProtocol = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB"

// Stopping a container and asking for its status may be repeated;
// starting one may not.
var nmIdempotent = map[string]bool{"stopContainers": true, "getContainerStatuses": true}

// NMConfig configures an NMClient.
type NMConfig struct {
	// NMTokens returns the NMToken for a node; AMClient.NMToken does.
	// Required.
	NMTokens func(NodeID) (Token, bool)
	// RPCProtection is hadoop.rpc.protection, as in Config. Empty means
	// "authentication".
	RPCProtection string
	// Logger, Registerer and Dialer: nil means silent, no metrics and a
	// net.Dialer.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Dialer     Dialer
}

// NMClient starts, stops and inspects containers on NodeManagers
// (ContainerManagementProtocol), one connection per node, authenticated
// with that node's NMToken.
//
// An NMClient is safe for concurrent use; many containers can be started
// at once. Close releases its connections.
type NMClient struct {
	cfg     NMConfig
	prot    []sasl.QOP
	metrics *rpcMetrics

	mu     sync.Mutex
	conns  map[NodeID]*nmConn
	closed bool
}

type nmConn struct {
	client *ipc.Client
	token  []byte // identifier of the NMToken the connection authenticated with
}

// NewNMClient checks cfg and returns a client.
func NewNMClient(cfg NMConfig) (*NMClient, error) {
	if cfg.NMTokens == nil {
		return nil, configErrorf("NMConfig.NMTokens is nil; pass AMClient.NMToken")
	}
	prot, err := sasl.ParseProtection(cfg.RPCProtection)
	if err != nil {
		return nil, configErrorf("RPCProtection: %v", err)
	}
	return &NMClient{cfg: cfg, prot: prot, metrics: newRPCMetrics(cfg.Registerer, "nm"), conns: map[NodeID]*nmConn{}}, nil
}

// conn returns the client for node, replacing it when the node's NMToken
// changed (the RM rolls NMToken keys).
func (c *NMClient) conn(node NodeID) (*ipc.Client, error) {
	tok, ok := c.cfg.NMTokens(node)
	if !ok {
		return nil, fmt.Errorf("no NMToken for node %s; the RM sends one with the first container it allocates there", node)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cur, ok := c.conns[node]; ok {
		if bytes.Equal(cur.token, tok.Identifier) {
			return cur.client, nil
		}
		cur.client.Close()
		delete(c.conns, node)
	}
	cl, err := ipc.New(ipc.Config{
		Addr:       node.Addr(),
		Protocol:   containerManagementProtocol,
		Auth:       tokenAuth(tok, c.prot),
		Idempotent: nmIdempotent,
		Dialer:     c.cfg.Dialer,
		Logger:     loggerWith(c.cfg.Logger, "nm", node.Addr()),
	})
	if err != nil {
		return nil, err
	}
	c.conns[node] = &nmConn{client: cl, token: append([]byte(nil), tok.Identifier...)}
	return cl, nil
}

func (c *NMClient) call(ctx context.Context, op string, ctr Container, method string, req, resp proto.Message) error {
	cl, err := c.conn(ctr.NodeID)
	if err == nil {
		err = cl.Call(ctx, method, req, resp)
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		err = &OpError{Op: op, ID: ctr.ID.String(), Err: remoteError(err, "NodeManager "+ctr.NodeID.String())}
	}
	if c.metrics != nil {
		c.metrics.requests.WithLabelValues(method, outcome).Inc()
	}
	return err
}

// Start launches ctr (allocated by the RM) with clc on its node.
func (c *NMClient) Start(ctx context.Context, ctr Container, clc ContainerLaunchContext) error {
	sreq, err := startContainerRequestToProto(ctr, clc)
	if err != nil {
		return &OpError{Op: "start", ID: ctr.ID.String(), Err: err}
	}
	req := &pb.StartContainersRequestProto{StartContainerRequest: []*pb.StartContainerRequestProto{sreq}}
	resp := &pb.StartContainersResponseProto{}
	if err := c.call(ctx, "start", ctr, "startContainers", req, resp); err != nil {
		return err
	}
	if f, ok := containerFailuresFromProto(resp.GetFailedRequests())[ctr.ID]; ok {
		return &OpError{Op: "start", ID: ctr.ID.String(), Err: f}
	}
	return nil
}

// Stop stops ctr.
func (c *NMClient) Stop(ctx context.Context, ctr Container) error {
	req := &pb.StopContainersRequestProto{ContainerId: []*pb.ContainerIdProto{containerIDToProto(ctr.ID)}}
	resp := &pb.StopContainersResponseProto{}
	if err := c.call(ctx, "stop", ctr, "stopContainers", req, resp); err != nil {
		return err
	}
	if f, ok := containerFailuresFromProto(resp.GetFailedRequests())[ctr.ID]; ok {
		return &OpError{Op: "stop", ID: ctr.ID.String(), Err: f}
	}
	return nil
}

// Status returns what ctr's NodeManager knows of it.
func (c *NMClient) Status(ctx context.Context, ctr Container) (ContainerStatus, error) {
	req := &pb.GetContainerStatusesRequestProto{ContainerId: []*pb.ContainerIdProto{containerIDToProto(ctr.ID)}}
	resp := &pb.GetContainerStatusesResponseProto{}
	if err := c.call(ctx, "status", ctr, "getContainerStatuses", req, resp); err != nil {
		return ContainerStatus{}, err
	}
	if f, ok := containerFailuresFromProto(resp.GetFailedRequests())[ctr.ID]; ok {
		return ContainerStatus{}, &OpError{Op: "status", ID: ctr.ID.String(), Err: f}
	}
	for _, s := range containerStatusesFromProto(resp.GetStatus()) {
		if s.ID == ctr.ID {
			return s, nil
		}
	}
	return ContainerStatus{}, &OpError{Op: "status", ID: ctr.ID.String(), Err: fmt.Errorf("the NodeManager returned no status")}
}

// Close releases every connection.
func (c *NMClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for id, cn := range c.conns {
		cn.client.Close()
		delete(c.conns, id)
	}
	return nil
}

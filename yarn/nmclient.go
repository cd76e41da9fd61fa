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

	mu    sync.Mutex
	conns map[NodeID]*nmConn
	// retired are connections a newer NMToken replaced that calls still
	// use; the last of those calls closes it.
	retired map[*nmConn]bool
	closed  bool

	// closing tracks connections closed in the background (Close of an
	// ipc.Client waits for its dial and reader goroutines, which must
	// neither hold mu nor delay the call that dropped the connection).
	closing sync.WaitGroup
}

// nmConn is the connection to one node; users is guarded by NMClient.mu.
type nmConn struct {
	client *ipc.Client
	token  []byte // identifier of the NMToken the connection authenticated with
	users  int    // calls using client now
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
	return &NMClient{cfg: cfg, prot: prot, metrics: newRPCMetrics(cfg.Registerer, "nm"), conns: map[NodeID]*nmConn{}, retired: map[*nmConn]bool{}}, nil
}

// acquire returns the connection to node for one call, replacing it when
// the node's NMToken changed (the RM rolls NMToken keys); release it after
// the call. No lock is held while anything dials, calls or closes: a
// replaced connection is closed by the last call using it, in the
// background, so calls already on it finish and calls to other nodes never
// wait for it.
func (c *NMClient) acquire(node NodeID) (*nmConn, error) {
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
			cur.users++
			return cur, nil
		}
		delete(c.conns, node)
		if cur.users == 0 {
			c.closeLater(cur.client)
		} else {
			c.retired[cur] = true
		}
	}
	// ipc.New only checks its config; the first call dials.
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
	cn := &nmConn{client: cl, token: append([]byte(nil), tok.Identifier...), users: 1}
	c.conns[node] = cn
	return cn, nil
}

func (c *NMClient) release(cn *nmConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cn.users--
	if cn.users == 0 && c.retired[cn] {
		delete(c.retired, cn)
		c.closeLater(cn.client)
	}
}

// closeLater closes cl on its own goroutine; Close waits for it. c.mu is
// held.
func (c *NMClient) closeLater(cl *ipc.Client) {
	c.closing.Add(1)
	go func() {
		defer c.closing.Done()
		cl.Close()
	}()
}

func (c *NMClient) call(ctx context.Context, op string, ctr Container, method string, req, resp proto.Message) error {
	cn, err := c.acquire(ctr.NodeID)
	if err == nil {
		err = cn.client.Call(ctx, method, req, resp)
		c.release(cn)
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

// Close releases every connection, failing the calls still using them,
// and waits until they are closed.
func (c *NMClient) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for id, cn := range c.conns {
			c.closeLater(cn.client)
			delete(c.conns, id)
		}
		for cn := range c.retired {
			c.closeLater(cn.client)
			delete(c.retired, cn)
		}
	}
	c.mu.Unlock()
	c.closing.Wait()
	return nil
}

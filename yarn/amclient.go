package yarn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/ipc"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/sasl"
	"github.com/spindle-yarn/spindle/internal/token"
)

// The protocol an ApplicationMaster speaks to the RM's scheduler port.
const applicationMasterProtocol = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"

// The methods an AM may send again after a connection failure, to the
// same RM or, failing over, to another. Hadoop marks
// registerApplicationMaster @Idempotent; allocate and
// finishApplicationMaster are @AtMostOnce, and the RM makes their repeats
// harmless (so Java's client fails them over too): a heartbeat carrying a
// response id the RM has already answered gets that answer again, a
// repeated finish is answered like the first, and an RM that never saw
// the attempt answers ApplicationMasterNotRegistered, upon which the
// client registers again. Without them here, an allocate in flight while
// the RMs fail over would fail the AM.
var amIdempotent = map[string]bool{"registerApplicationMaster": true, "allocate": true, "finishApplicationMaster": true}

// AMConfig configures an AMClient.
type AMConfig struct {
	// ResourceManagers lists the cluster's ResourceManagers; their
	// Scheduler addresses are used. Required.
	ResourceManagers []RMAddress
	// Token is the AMRMToken the RM gave this application attempt. Required;
	// inside an AM container AMRMTokenFromCredentials finds it in the file
	// the NodeManager names in HADOOP_TOKEN_FILE_LOCATION.
	Token Token
	// RPCProtection is hadoop.rpc.protection, as in Config. Empty means
	// "authentication".
	RPCProtection string
	// FailoverTimeout bounds how long a call keeps trying ResourceManagers
	// that are standbys or unreachable. Zero means 60 seconds.
	FailoverTimeout time.Duration
	// Logger, Registerer and Dialer are as in Config; nil means silent, no
	// metrics and a net.Dialer.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Dialer     Dialer
}

// AMRMTokenFromCredentials returns the AMRMToken among c's tokens (the
// NodeManager stores it under an empty alias, so it is found by kind).
func AMRMTokenFromCredentials(c *Credentials) (Token, error) {
	ts := c.TokensByKind(KindAMRMToken)
	if len(ts) == 0 {
		return Token{}, fmt.Errorf("yarn: no %s token in the credentials; is this running in an ApplicationMaster container?", KindAMRMToken)
	}
	return ts[0], nil
}

// AMClient is an ApplicationMaster's client of the ResourceManager
// (ApplicationMasterProtocol): it registers, heartbeats with allocate
// requests and unregisters. It keeps the allocate response id, adopts the
// AMRMTokens the RM rolls, caches NMTokens by node, follows RM failover,
// and registers again when the RM has forgotten the attempt.
//
// An AMClient is safe for concurrent use. Allocate calls run one at a
// time (a second waits for the first), since each heartbeat carries the
// response id of the one before. Close releases its connections.
type AMClient struct {
	cfg  AMConfig
	prot []sasl.QOP
	rms  *rmSet

	// allocating admits one Allocate at a time: two in flight would send
	// the same response id, and the older answer, arriving last, would set
	// the id back.
	allocating chan struct{}

	mu           sync.Mutex
	token        Token
	registration *AMRegistration // for registering again after a resync
	// registrations counts Register calls: an allocate answer sent before
	// the latest registration must not set the response id it reset.
	registrations uint64
	responseID    int32
	nmTokens      map[NodeID]Token
	resyncs       int64
}

// NewAMClient checks cfg and returns a client. It does not dial.
func NewAMClient(cfg AMConfig) (*AMClient, error) {
	if len(cfg.ResourceManagers) == 0 {
		return nil, configErrorf("AMConfig.ResourceManagers is empty")
	}
	if len(cfg.Token.Identifier) == 0 || len(cfg.Token.Password) == 0 {
		return nil, configErrorf("AMConfig.Token is empty; read it with AMRMTokenFromCredentials")
	}
	prot, err := sasl.ParseProtection(cfg.RPCProtection)
	if err != nil {
		return nil, configErrorf("RPCProtection: %v", err)
	}
	c := &AMClient{cfg: cfg, prot: prot, token: token.Clone(cfg.Token), nmTokens: map[NodeID]Token{},
		allocating: make(chan struct{}, 1)}
	// The IPC client asks for a SASL mechanism at every handshake, so each
	// new connection (a reconnect after an idle close or a dropped
	// connection, a failover to another RM) authenticates with the newest
	// AMRMToken. Capturing the token here instead would make every reconnect
	// after the RM activates its next master key fail.
	auth := ipc.Auth{Token: &ipc.TokenAuth{
		NewClient: func(protocol, serverID string) (sasl.Client, error) {
			return tokenAuth(c.Token(), prot).Token.NewClient(protocol, serverID)
		},
	}}
	var targets []rmTarget
	for _, rm := range cfg.ResourceManagers {
		if rm.Scheduler == "" {
			return nil, configErrorf("ResourceManager %q has no Scheduler address", rm.ID)
		}
		targets = append(targets, rmTarget{id: rm.ID, addr: rm.Scheduler})
	}
	c.rms = newRMSet(targets, cfg.FailoverTimeout, cfg.Logger, newRPCMetrics(cfg.Registerer, "am"), func(addr string) (*ipc.Client, error) {
		return ipc.New(ipc.Config{
			Addr:       addr,
			Protocol:   applicationMasterProtocol,
			Auth:       auth,
			Idempotent: amIdempotent,
			Dialer:     cfg.Dialer,
			Logger:     loggerWith(cfg.Logger, "am", addr),
		})
	})
	return c, nil
}

// Close releases the client's connections.
func (c *AMClient) Close() error { return c.rms.close() }

// CurrentRM names the ResourceManager the client talks to now.
func (c *AMClient) CurrentRM() string { return c.rms.Current() }

// Failovers counts switches from one ResourceManager to another.
func (c *AMClient) Failovers() int64 { return c.rms.Failovers() }

// Resyncs counts how often the client registered again because the RM had
// forgotten the attempt.
func (c *AMClient) Resyncs() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resyncs
}

// Token returns the current AMRMToken (the RM rolls it periodically).
func (c *AMClient) Token() Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return token.Clone(c.token)
}

// NMToken returns the cached NMToken for a node, for the NMClient.
func (c *AMClient) NMToken(node NodeID) (Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.nmTokens[node]
	return t, ok
}

func (c *AMClient) call(ctx context.Context, op, method string, req, resp proto.Message) error {
	if err := c.rms.call(ctx, method, req, resp); err != nil {
		return &OpError{Op: op, Err: err}
	}
	return nil
}

// Register registers the ApplicationMaster. It must come before the first
// Allocate.
func (c *AMClient) Register(ctx context.Context, r AMRegistration) (AMRegistrationResponse, error) {
	resp := &pb.RegisterApplicationMasterResponseProto{}
	if err := c.call(ctx, "register", "registerApplicationMaster", registrationToProto(r), resp); err != nil {
		return AMRegistrationResponse{}, err
	}
	out := registrationResponseFromProto(resp)
	c.mu.Lock()
	reg := r
	c.registration = &reg
	c.registrations++
	c.responseID = 0
	c.addNMTokens(out.NMTokensFromPreviousAttempts)
	c.mu.Unlock()
	return out, nil
}

func (c *AMClient) addNMTokens(ts []NMToken) {
	for _, t := range ts {
		c.nmTokens[t.NodeID] = token.Clone(t.Token)
	}
}

// Allocate sends one heartbeat. The client keeps the response id the
// protocol threads from one heartbeat to the next; asks are absolute (an ask replaces the outstanding count for its priority,
// resource name and capability), so resending the full outstanding asks is
// always safe.
//
// When the RM has forgotten the attempt (it restarted or failed over
// without keeping it, or answered with the resync command), Allocate
// registers again with the last registration and returns a response whose
// Command is AMResync and which carries nothing else: the RM has
// dropped every outstanding ask, so the caller sends its full asks again.
//
// Calls run one at a time; a call waiting for another returns ctx's error
// if ctx ends first.
func (c *AMClient) Allocate(ctx context.Context, req AllocateRequest) (AllocateResponse, error) {
	select {
	case c.allocating <- struct{}{}:
	case <-ctx.Done():
		return AllocateResponse{}, &OpError{Op: "allocate", Err: ctx.Err()}
	}
	defer func() { <-c.allocating }()

	c.mu.Lock()
	if c.registration == nil {
		c.mu.Unlock()
		return AllocateResponse{}, &OpError{Op: "allocate", Err: errors.New("not registered; call Register first")}
	}
	responseID, registrations := c.responseID, c.registrations
	c.mu.Unlock()

	preq := allocateRequestToProto(&req)
	preq.ResponseId = proto.Int32(responseID)
	resp := &pb.AllocateResponseProto{}
	err := c.call(ctx, "allocate", "allocate", preq, resp)
	if errors.Is(err, ErrApplicationMasterNotRegistered) {
		return c.resync(ctx)
	}
	if err != nil {
		return AllocateResponse{}, err
	}
	out := allocateResponseFromProto(resp)
	if out.Command == AMResync {
		return c.resync(ctx)
	}
	c.mu.Lock()
	if c.registrations == registrations {
		// Else a registration (Finish's, or the caller's) came in between
		// and reset the id; this answer is from before it.
		c.responseID = out.ResponseID
	}
	c.addNMTokens(out.NMTokens)
	if out.AMRMToken != nil {
		// Connections made from now on authenticate with the new key; the
		// open one stays authenticated.
		c.token = token.Clone(*out.AMRMToken)
	}
	c.mu.Unlock()
	return out, nil
}

func (c *AMClient) resync(ctx context.Context) (AllocateResponse, error) {
	c.mu.Lock()
	reg := *c.registration
	c.resyncs++
	c.mu.Unlock()
	if c.cfg.Logger != nil {
		c.cfg.Logger.Info("yarn: the ResourceManager forgot this attempt; registering again", "rm", c.CurrentRM())
	}
	if _, err := c.Register(ctx, reg); err != nil {
		return AllocateResponse{}, &OpError{Op: "register again after resync", Err: err}
	}
	return AllocateResponse{Command: AMResync}, nil
}

// Finish unregisters the ApplicationMaster with its final status. The RM
// may take a few calls to acknowledge; Finish repeats until it does or ctx
// ends. The RM acknowledges once it has stored the final state, often
// within milliseconds, so the calls come after 10 ms, doubling to every
// 100 ms (Hadoop's AMRMClient waits 100 ms from the first).
func (c *AMClient) Finish(ctx context.Context, u AMUnregistration) error {
	wait := 10 * time.Millisecond
	for {
		resp := &pb.FinishApplicationMasterResponseProto{}
		err := c.call(ctx, "finish", "finishApplicationMaster", unregistrationToProto(u), resp)
		if errors.Is(err, ErrApplicationMasterNotRegistered) {
			c.mu.Lock()
			reg := c.registration
			c.mu.Unlock()
			if reg == nil {
				return err
			}
			if _, err := c.Register(ctx, *reg); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if resp.GetIsUnregistered() {
			return nil
		}
		select {
		case <-ctx.Done():
			return &OpError{Op: "finish", Err: ctx.Err()}
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

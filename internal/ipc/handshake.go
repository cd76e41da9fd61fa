package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// session is what a handshake established.
type session struct {
	method string      // SIMPLE, KERBEROS or TOKEN
	mech   sasl.Client // nil under SIMPLE
	qop    sasl.QOP    // sasl.Auth unless a security layer was negotiated
}

// wraps reports whether every packet after the handshake travels inside
// SASL WRAP messages, as it does at integrity and privacy.
func (s *session) wraps() bool { return s.mech != nil && s.qop != sasl.Auth }

// handshake runs the client side of connection setup on a fresh
// connection: the preamble, the SASL exchange when the Auth needs one, and
// the connection context. Like Java's client it does not wait for a reply
// to the context (none comes); a server that refuses it answers the first
// call with a FATAL reply.
func (c *Client) handshake(ctx context.Context, nc net.Conn, r io.Reader) (*session, error) {
	var s *session
	if !c.cfg.Auth.useSASL() {
		s = &session{method: methodSimple, qop: sasl.Auth}
		ctxPkt, err := c.contextPacket(s)
		if err != nil {
			return nil, err
		}
		// One write, as Java sends the preamble and the context together.
		if _, err := nc.Write(append(preamble(false), ctxPkt...)); err != nil {
			return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
		}
		return s, nil
	}

	s, err := c.negotiate(ctx, nc, r)
	if err != nil {
		var ce *ConnError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, &ConnError{Addr: c.cfg.Addr, Op: "sasl", Err: err}
	}
	ctxPkt, err := c.contextPacket(s)
	if err != nil {
		return nil, err
	}
	if s.wraps() {
		if ctxPkt, err = wrapPackets(ctxPkt, s.mech.Wrap); err != nil {
			return nil, &ConnError{Addr: c.cfg.Addr, Op: "sasl", Err: err}
		}
	}
	if _, err := nc.Write(ctxPkt); err != nil {
		return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
	}
	return s, nil
}

// negotiate runs the SASL exchange (SaslRpcClient.saslConnect): NEGOTIATE,
// the server's offer, INITIATE with the chosen method, CHALLENGE/RESPONSE
// rounds, SUCCESS.
func (c *Client) negotiate(ctx context.Context, nc net.Conn, r io.Reader) (*session, error) {
	out, err := appendPacket(preamble(true), nil, saslHeader(),
		&pb.RpcSaslProto{State: pb.RpcSaslProto_NEGOTIATE.Enum()})
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(out); err != nil {
		return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
	}
	s := &session{qop: sasl.Auth}
	for {
		pkt, err := readPacket(r, min(c.maxResponseLength(), MaxHandshakePacketLength))
		if err != nil {
			return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
		}
		m, err := parseSASL(pkt)
		if err != nil {
			return nil, err
		}
		var reply *pb.RpcSaslProto
		switch m.GetState() {
		case pb.RpcSaslProto_NEGOTIATE:
			if s.method != "" {
				return nil, protocolErrorf("second SASL NEGOTIATE from the server")
			}
			auth, mech, err := c.selectAuth(ctx, m.GetAuths())
			if err != nil {
				return nil, err
			}
			s.method, s.mech = auth.GetMethod(), mech
			if mech == nil {
				// SIMPLE chosen from the offer: tell the server with an
				// INITIATE naming it (a connection context instead is
				// refused as "Connection header sent during SASL
				// negotiation"), then go on without waiting: the server
				// sends no answer to it.
				out, err := appendPacket(nil, nil, saslHeader(),
					&pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Auths: []*pb.RpcSaslProto_SaslAuth{proto.CloneOf(auth)}})
				if err != nil {
					return nil, err
				}
				if _, err := nc.Write(out); err != nil {
					return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
				}
				c.log.Debug("ipc: switched to SIMPLE authentication from the server's offer", "addr", c.cfg.Addr)
				return s, nil
			}
			tok, err := mech.Start(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", mech.Mechanism(), err)
			}
			if auth.Challenge != nil {
				// DIGEST-MD5: the server's first challenge came with the
				// offer; answer it in INITIATE.
				if tok, err = mech.Step(ctx, auth.GetChallenge()); err != nil {
					return nil, fmt.Errorf("%s: %w", mech.Mechanism(), err)
				}
			}
			echo := proto.CloneOf(auth)
			echo.Challenge = nil
			reply = &pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Token: nonNil(tok), Auths: []*pb.RpcSaslProto_SaslAuth{echo}}
		case pb.RpcSaslProto_CHALLENGE:
			if s.mech == nil {
				return nil, protocolErrorf("SASL CHALLENGE before NEGOTIATE")
			}
			if m.Token == nil {
				return nil, protocolErrorf("SASL CHALLENGE without a token")
			}
			tok, err := s.mech.Step(ctx, m.GetToken())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.mech.Mechanism(), err)
			}
			reply = &pb.RpcSaslProto{State: pb.RpcSaslProto_RESPONSE.Enum(), Token: nonNil(tok)}
		case pb.RpcSaslProto_SUCCESS:
			if s.mech == nil {
				// A server without SASL answers NEGOTIATE with SUCCESS:
				// use SIMPLE.
				if err := c.simpleAllowed(); err != nil {
					return nil, err
				}
				c.log.Debug("ipc: server switched the connection to SIMPLE authentication", "addr", c.cfg.Addr)
				s.method = methodSimple
				return s, nil
			}
			if err := s.mech.Finish(m.GetToken()); err != nil {
				return nil, fmt.Errorf("%s: %w", s.mech.Mechanism(), err)
			}
			s.qop = s.mech.QOP()
			c.log.Debug("ipc: authenticated", "addr", c.cfg.Addr, "method", s.method, "qop", string(s.qop))
			return s, nil
		default:
			return nil, protocolErrorf("unexpected SASL state %v", m.GetState())
		}
		out, err := appendPacket(nil, nil, saslHeader(), reply)
		if err != nil {
			return nil, err
		}
		if _, err := nc.Write(out); err != nil {
			return nil, &ConnError{Addr: c.cfg.Addr, Op: "handshake", Err: err}
		}
	}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// selectAuth picks the first method in the server's offer the client has
// credentials for and starts its mechanism; the mechanism is nil for
// SIMPLE.
func (c *Client) selectAuth(ctx context.Context, offer []*pb.RpcSaslProto_SaslAuth) (*pb.RpcSaslProto_SaslAuth, sasl.Client, error) {
	a := &c.cfg.Auth
	var offered []string
	for _, o := range offer {
		offered = append(offered, o.GetMethod())
		if mech, ok := mechanisms[o.GetMethod()]; !ok || mech != o.GetMechanism() {
			continue // unknown to us, or a mechanism we do not speak
		}
		switch o.GetMethod() {
		case methodSimple:
			if err := c.simpleAllowed(); err != nil {
				return nil, nil, err
			}
			return o, nil, nil
		case methodToken:
			if a.Token == nil {
				continue
			}
			mech, err := a.Token.NewClient(o.GetProtocol(), o.GetServerId())
			if err != nil {
				return nil, nil, fmt.Errorf("TOKEN: %w", err)
			}
			return o, mech, nil
		case methodKerberos:
			if a.Kerberos == nil {
				continue
			}
			spn := o.GetProtocol() + "/" + o.GetServerId()
			if err := checkServerPrincipal(ctx, a.Kerberos.ServerPrincipal, spn, c.host); err != nil {
				return nil, nil, err
			}
			mech, err := a.Kerberos.NewClient(spn)
			if err != nil {
				return nil, nil, fmt.Errorf("KERBEROS: %w", err)
			}
			return o, mech, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: client cannot authenticate via %v", ErrUnauthorized, offered)
}

// simpleAllowed decides whether the client may switch to SIMPLE when the
// server asks: only with AllowSimpleFallback, since a client that
// negotiates SASL holds credentials (Kerberos or a token) it means to use.
func (c *Client) simpleAllowed() error {
	a := &c.cfg.Auth
	if a.useSASL() && !a.AllowSimpleFallback {
		return &SimpleFallbackError{Addr: c.cfg.Addr, Credentials: a.credentialNames()}
	}
	return nil
}

// contextPacket builds the connection context packet
// (ProtoUtil.makeIpcConnectionContext): SIMPLE names the user (and the
// real user of a proxy user), KERBEROS only the effective user, since
// authentication established the real one, and TOKEN nobody, since the
// token names its user.
func (c *Client) contextPacket(s *session) ([]byte, error) {
	a := &c.cfg.Auth
	ui := &pb.UserInformationProto{}
	switch s.method {
	case methodSimple:
		ui.EffectiveUser = proto.String(a.simpleUser())
		if a.ProxyUser != "" {
			ui.EffectiveUser = proto.String(a.ProxyUser)
			ui.RealUser = proto.String(a.simpleUser())
		}
	case methodKerberos:
		ui.EffectiveUser = proto.String(a.Kerberos.Principal)
		if a.ProxyUser != "" {
			ui.EffectiveUser = proto.String(a.ProxyUser)
		}
	}
	msg := &pb.IpcConnectionContextProto{UserInfo: ui, Protocol: proto.String(c.cfg.Protocol)}
	return appendPacket(nil, nil, requestHeader(callIDContext, c.clientID, -1), msg)
}

package hdfs

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	pbc "github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoophdfs"
	"github.com/spindle-yarn/spindle/internal/sasl"
)

// The SASL handshake a DataNode asks for before any operation when the
// cluster sets dfs.data.transfer.protection and the DataNode listens on
// an unprivileged port: the magic number, then DataTransferEncryptorMessage
// protos carrying DIGEST-MD5 on the block token (user the base64 of its
// identifier, password the base64 of its password, protocol "hdfs",
// server "0"). At integrity or privacy the rest of the connection is
// wrapped by the SASL layer, each wrapped message after its u32 length.
const (
	saslTransferMagic    = 0xDEADBEEF
	saslTransferProtocol = "hdfs"
	saslTransferServer   = "0"
)

// maxWrapped bounds one wrapped message from a DataNode.
const maxWrapped = 1 << 20

// wrapChunk is the most plain bytes wrapped in one message, well under
// the 64 KiB maxbuf both sides announce.
const wrapChunk = 32 << 10

// needsSASL reports whether a DataNode at addr expects the handshake:
// only with a protection configured, and not on a privileged port (below
// 1024), which the DataNode takes as proof enough, as Java's client does.
func (c *Client) needsSASL(addr string) bool {
	if c.cfg.DataTransferProtection == "" {
		return false
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	p, err := strconv.Atoi(port)
	return err != nil || p >= 1024
}

// dataTransferSASL runs the handshake on conn when the DataNode expects
// it, and returns the connection to use: conn itself, or conn wrapped in
// the negotiated security layer.
func (c *Client) dataTransferSASL(ctx context.Context, conn net.Conn, addr string, tok *pbc.TokenProto) (net.Conn, error) {
	if !c.needsSASL(addr) {
		return conn, nil
	}
	if len(tok.GetIdentifier()) == 0 {
		return nil, errors.New("the NameNode sent no block token to authenticate with (is dfs.block.access.token.enable off?)")
	}
	prot, err := sasl.ParseProtection(c.cfg.DataTransferProtection)
	if err != nil {
		return nil, err
	}
	sc, err := sasl.NewDigestMD5(sasl.DigestConfig{
		Identifier: tok.GetIdentifier(), Password: tok.GetPassword(),
		Protocol: saslTransferProtocol, ServerID: saslTransferServer, Protection: prot,
	})
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetDeadline(time.Now().Add(dataTimeout))
	defer conn.SetDeadline(time.Time{})
	r := bufio.NewReader(conn)

	first, err := sc.Start(ctx)
	if err != nil {
		return nil, err
	}
	msg := binary.BigEndian.AppendUint32(nil, saslTransferMagic)
	if msg, err = appendDelimited(msg, saslMessage(first)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	challenge, err := readSASLMessage(r)
	if err != nil {
		return nil, err
	}
	resp, err := sc.Step(ctx, challenge)
	if err != nil {
		return nil, err
	}
	if msg, err = appendDelimited(nil, saslMessage(resp)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	final, err := readSASLMessage(r)
	if err != nil {
		return nil, err
	}
	if err := sc.Finish(final); err != nil {
		return nil, err
	}
	if r.Buffered() > 0 {
		return nil, errors.New("data after the SASL handshake before any request")
	}
	if sc.QOP() == sasl.Auth {
		return conn, nil
	}
	return &saslConn{Conn: conn, sc: sc}, nil
}

func saslMessage(payload []byte) *pb.DataTransferEncryptorMessageProto {
	return &pb.DataTransferEncryptorMessageProto{
		Status:  pb.DataTransferEncryptorMessageProto_SUCCESS.Enum(),
		Payload: nonNil(payload),
	}
}

// errSASLToken is matched by a handshake the DataNode refused for the
// block token, worth new locations (and tokens) from the NameNode.
var errSASLToken = errors.New("the DataNode refused the block token")

// readSASLMessage reads one handshake message and returns its payload, or
// the DataNode's refusal as an error.
func readSASLMessage(r *bufio.Reader) ([]byte, error) {
	m := &pb.DataTransferEncryptorMessageProto{}
	if err := readDelimited(r, m); err != nil {
		return nil, err
	}
	if m.GetStatus() != pb.DataTransferEncryptorMessageProto_SUCCESS {
		err := fmt.Errorf("SASL handshake refused (%v): %s", m.GetStatus(), m.GetMessage())
		if m.GetAccessTokenError() {
			err = fmt.Errorf("%w: %w", errSASLToken, err)
		}
		return nil, err
	}
	return m.GetPayload(), nil
}

// saslConn is a DataNode connection under a SASL security layer. Read
// and Write may be used by one goroutine each at a time (the layer keeps
// a sequence number per direction).
type saslConn struct {
	net.Conn
	sc   sasl.Client
	rbuf []byte // unwrapped, not yet read
	head [4]byte
}

func (s *saslConn) Read(p []byte) (int, error) {
	for len(s.rbuf) == 0 {
		if _, err := io.ReadFull(s.Conn, s.head[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint32(s.head[:])
		if n > maxWrapped {
			return 0, fmt.Errorf("wrapped message of %d bytes", n)
		}
		tok := make([]byte, n)
		if _, err := io.ReadFull(s.Conn, tok); err != nil {
			return 0, err
		}
		plain, err := s.sc.Unwrap(tok)
		if err != nil {
			return 0, err
		}
		s.rbuf = plain
	}
	n := copy(p, s.rbuf)
	s.rbuf = s.rbuf[n:]
	return n, nil
}

func (s *saslConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), wrapChunk)
		tok, err := s.sc.Wrap(p[:k])
		if err != nil {
			return n, err
		}
		msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(tok)), uint32(len(tok)))
		if _, err := s.Conn.Write(append(msg, tok...)); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

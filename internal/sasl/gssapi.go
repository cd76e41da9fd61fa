package sasl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// GSSAPIConfig configures a Kerberos v5 GSSAPI exchange (RFC 4752).
type GSSAPIConfig struct {
	// Client is a logged-in gokrb5 client; it obtains (and caches) the
	// service ticket. Required.
	Client *client.Client
	// ServicePrincipal names the server without realm, "service/host",
	// e.g. "hadoop/localhost" or "nn/nn1.example.com". A Hadoop server
	// advertises it as its SaslAuth's protocol and serverId. Required.
	ServicePrincipal string
	// Protection lists the acceptable protection levels, most preferred
	// first; the first one the server offers is used. Empty means Auth.
	Protection []QOP
	// NoMutualAuth skips mutual authentication. The zero value asks the
	// server to prove itself with an AP-REP, as Hadoop's Java client does.
	NoMutualAuth bool
	// Rand is the source of the session subkey, the initial sequence
	// number and the confounders of sealed messages. Nil means crypto/rand.
	Rand io.Reader
	// Now is the clock of the authenticator's timestamp. Nil means
	// time.Now.
	Now func() time.Time
}

// NewGSSAPI returns a GSSAPI client. Start obtains a service ticket (gokrb5
// takes no context there; its KDC timeouts apply) and returns the krb5
// initial context token, not wrapped in SPNEGO.
func NewGSSAPI(cfg GSSAPIConfig) (Client, error) {
	if cfg.Client == nil {
		return nil, errors.New("sasl: GSSAPI: no Kerberos client")
	}
	if cfg.Client.Credentials == nil {
		return nil, errors.New("sasl: GSSAPI: Kerberos client has no credentials")
	}
	sp := strings.Split(cfg.ServicePrincipal, "/")
	if len(sp) != 2 || sp[0] == "" || sp[1] == "" || strings.Contains(cfg.ServicePrincipal, "@") {
		return nil, fmt.Errorf("sasl: GSSAPI: service principal %q is not service/host", cfg.ServicePrincipal)
	}
	prot, err := checkProtection(cfg.Protection)
	if err != nil {
		return nil, err
	}
	c := &gssapiClient{
		spn:        cfg.ServicePrincipal,
		protection: prot,
		mutual:     !cfg.NoMutualAuth,
		rand:       cfg.Rand,
		now:        cfg.Now,
		ticket:     cfg.Client.GetServiceTicket,
		realm:      cfg.Client.Credentials.Domain(),
		cname:      cfg.Client.Credentials.CName(),
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// GSSAPI exchange states.
const (
	gssInit        = iota // Start not yet called
	gssAwaitAPRep         // AP-REQ sent with mutual auth; AP-REP expected
	gssAwaitLayer         // security layer offer expected
	gssAwaitResult        // layer choice sent; SUCCESS expected
	gssDone
	gssFailed
)

type gssapiClient struct {
	spn        string
	protection []QOP
	mutual     bool
	rand       io.Reader
	now        func() time.Time
	ticket     func(spn string) (messages.Ticket, types.EncryptionKey, error)
	realm      string
	cname      types.PrincipalName

	state      int
	sessionKey types.EncryptionKey // of the ticket: decrypts the AP-REP
	ctime      time.Time           // authenticator timestamp, echoed in the AP-REP
	cusec      int
	layer      *cfxLayer
	qop        QOP
}

func (c *gssapiClient) Mechanism() string { return "GSSAPI" }

func (c *gssapiClient) Start(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.state != gssInit {
		return nil, fmt.Errorf("%w: GSSAPI: Start called twice", ErrState)
	}
	c.state = gssFailed
	tkt, key, err := c.ticket(c.spn)
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: service ticket for %s: %w", c.spn, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tok, err := c.initialToken(tkt, key)
	if err != nil {
		return nil, err
	}
	if c.mutual {
		c.state = gssAwaitAPRep
	} else {
		c.state = gssAwaitLayer
	}
	return tok, nil
}

// GSS checksum flags (RFC 4121 section 4.1.1.1).
const (
	gssFlagMutual   = 2
	gssFlagReplay   = 4
	gssFlagSequence = 8
	gssFlagConf     = 16
	gssFlagInteg    = 32
)

// krb5OID is the DER encoding of 1.2.840.113554.1.2.2.
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// initialToken builds the InitialContextToken of RFC 4121 section 4.1: the
// krb5 mechanism OID, token id 01 00 and an AP-REQ whose authenticator
// carries the GSS checksum, a fresh subkey of the session key's enctype and
// our initial sequence number.
func (c *gssapiClient) initialToken(tkt messages.Ticket, key types.EncryptionKey) ([]byte, error) {
	e, err := cfxEtype(key)
	if err != nil {
		return nil, err
	}
	subkey := make([]byte, e.GetKeyByteSize())
	if _, err := io.ReadFull(c.rand, subkey); err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: reading random subkey: %w", err)
	}
	var seqb [4]byte
	if _, err := io.ReadFull(c.rand, seqb[:]); err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: reading random sequence number: %w", err)
	}
	seq := binary.BigEndian.Uint32(seqb[:]) & 0x3fffffff

	gssFlags := uint32(gssFlagReplay | gssFlagSequence | gssFlagConf | gssFlagInteg)
	if c.mutual {
		gssFlags |= gssFlagMutual
	}
	cksum := make([]byte, 24) // Lgth, 16 bytes of channel bindings (none), flags
	binary.LittleEndian.PutUint32(cksum[0:4], 16)
	binary.LittleEndian.PutUint32(cksum[20:24], gssFlags)

	now := c.now().UTC()
	c.ctime = now.Truncate(time.Second)
	c.cusec = now.Nanosecond() / 1000
	auth := types.Authenticator{
		AVNO:      iana.PVNO,
		CRealm:    c.realm,
		CName:     c.cname,
		Cksum:     types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: cksum},
		Cusec:     c.cusec,
		CTime:     c.ctime,
		SubKey:    types.EncryptionKey{KeyType: key.KeyType, KeyValue: subkey},
		SeqNumber: int64(seq),
	}
	apReq, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: building AP-REQ: %w", err)
	}
	if c.mutual {
		types.SetFlag(&apReq.APOptions, flags.APOptionMutualRequired)
	}
	b, err := apReq.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: encoding AP-REQ: %w", err)
	}

	c.sessionKey = key
	c.layer = &cfxLayer{e: e, key: subkey, rand: c.rand, sendSeq: uint64(seq), recvSeq: uint64(seq)}
	if !c.mutual {
		zero := uint64(0)
		c.layer.recvSeqAlt = &zero
	}
	inner := append(append(append([]byte{}, krb5OID...), 0x01, 0x00), b...)
	return gssFrame(inner), nil
}

// gssFrame wraps a mechanism token in RFC 2743's [APPLICATION 0] framing.
func gssFrame(inner []byte) []byte {
	out := []byte{0x60}
	out = appendDERLength(out, len(inner))
	return append(out, inner...)
}

func appendDERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	var tmp [8]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte(n)
		n >>= 8
	}
	b = append(b, 0x80|byte(len(tmp)-i))
	return append(b, tmp[i:]...)
}

// readDERLength reads a definite DER length at b[0:], returning it and the
// number of bytes it took.
func readDERLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: GSSAPI token truncated in a length", ErrMalformed)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	n := int(b[0] & 0x7f)
	if n == 0 || n > 4 || len(b) < 1+n {
		return 0, 0, fmt.Errorf("%w: GSSAPI token has a bad length", ErrMalformed)
	}
	v := 0
	for _, x := range b[1 : 1+n] {
		v = v<<8 | int(x)
	}
	return v, 1 + n, nil
}

// splitMechToken removes the optional RFC 2743 framing and the krb5 OID
// from a context token and returns its two-byte token id and the Kerberos
// message after it.
func splitMechToken(tok []byte) (tokID [2]byte, msg []byte, err error) {
	if len(tok) > 0 && tok[0] == 0x60 {
		n, m, err := readDERLength(tok[1:])
		if err != nil {
			return tokID, nil, err
		}
		if 1+m+n != len(tok) {
			return tokID, nil, fmt.Errorf("%w: GSSAPI token length %d, have %d bytes", ErrMalformed, n, len(tok)-1-m)
		}
		tok = tok[1+m:]
		if !bytes.HasPrefix(tok, krb5OID) {
			return tokID, nil, fmt.Errorf("%w: GSSAPI token is not for the krb5 mechanism", ErrMalformed)
		}
		tok = tok[len(krb5OID):]
	}
	if len(tok) < 2 {
		return tokID, nil, fmt.Errorf("%w: GSSAPI token of %d bytes", ErrMalformed, len(tok))
	}
	return [2]byte{tok[0], tok[1]}, tok[2:], nil
}

// parseAPRep decodes the server's answer to a mutual-auth AP-REQ: an
// AP-REP, or a KRB-ERROR saying why the AP-REQ was refused.
func parseAPRep(tok []byte) (*messages.APRep, error) {
	id, msg, err := splitMechToken(tok)
	if err != nil {
		return nil, err
	}
	// gokrb5 ignores bytes after the message; refuse them.
	if len(msg) < 2 {
		return nil, fmt.Errorf("%w: GSSAPI token of %d bytes", ErrMalformed, len(tok))
	}
	n, m, err := readDERLength(msg[1:])
	if err != nil {
		return nil, err
	}
	if 1+m+n != len(msg) {
		return nil, fmt.Errorf("%w: GSSAPI token: Kerberos message of %d bytes in %d", ErrMalformed, 1+m+n, len(msg))
	}
	switch id {
	case [2]byte{0x02, 0x00}:
		var rep messages.APRep
		if err := rep.Unmarshal(msg); err != nil {
			return nil, fmt.Errorf("%w: GSSAPI AP-REP: %v", ErrMalformed, err)
		}
		return &rep, nil
	case [2]byte{0x03, 0x00}:
		var kerr messages.KRBError
		if err := kerr.Unmarshal(msg); err != nil {
			return nil, fmt.Errorf("%w: GSSAPI KRB-ERROR: %v", ErrMalformed, err)
		}
		return nil, fmt.Errorf("%w: server refused the AP-REQ: %s", ErrServerAuth, kerr.Error())
	default:
		return nil, fmt.Errorf("%w: GSSAPI token id %x, want 0200 (AP-REP)", ErrMalformed, id)
	}
}

// verifyAPRep checks that the AP-REP answers our AP-REQ (it echoes the
// authenticator's time under the session key) and takes the acceptor's
// subkey and initial sequence number from it (RFC 4121 section 4.1).
func (c *gssapiClient) verifyAPRep(tok []byte) error {
	rep, err := parseAPRep(tok)
	if err != nil {
		return err
	}
	e, err := crypto.GetEtype(c.sessionKey.KeyType)
	if err != nil {
		return fmt.Errorf("sasl: GSSAPI: %w", err)
	}
	if rep.EncPart.EType != c.sessionKey.KeyType {
		return fmt.Errorf("%w: AP-REP encrypted with enctype %d, session key is %d", ErrServerAuth, rep.EncPart.EType, c.sessionKey.KeyType)
	}
	// gokrb5 slices before it checks lengths.
	if len(rep.EncPart.Cipher) < e.GetConfounderByteSize()+e.GetHMACBitLength()/8 {
		return fmt.Errorf("%w: AP-REP encrypted part of %d bytes", ErrMalformed, len(rep.EncPart.Cipher))
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, c.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("%w: decrypting AP-REP: %v", ErrServerAuth, err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return fmt.Errorf("%w: AP-REP: %v", ErrMalformed, err)
	}
	if !part.CTime.Equal(c.ctime) || part.Cusec != c.cusec {
		return fmt.Errorf("%w: AP-REP time %v.%06d does not echo the authenticator's %v.%06d",
			ErrServerAuth, part.CTime.UTC(), part.Cusec, c.ctime, c.cusec)
	}
	if part.Subkey.KeyType != 0 || len(part.Subkey.KeyValue) != 0 {
		se, err := cfxEtype(part.Subkey)
		if err != nil {
			return err
		}
		c.layer.e, c.layer.key, c.layer.acceptorSubkey = se, part.Subkey.KeyValue, true
	}
	c.layer.recvSeq = uint64(uint32(part.SequenceNumber))
	return nil
}

// Security layer bits of RFC 4752 section 3.1.
const (
	layerNone      = 1
	layerIntegrity = 2
	layerPrivacy   = 4
)

func (c *gssapiClient) Step(ctx context.Context, challenge []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch c.state {
	case gssAwaitAPRep:
		if err := c.verifyAPRep(challenge); err != nil {
			c.state = gssFailed
			return nil, err
		}
		c.state = gssAwaitLayer
		return []byte{}, nil
	case gssAwaitLayer:
		resp, err := c.chooseLayer(challenge)
		if err != nil {
			c.state = gssFailed
			return nil, err
		}
		c.state = gssAwaitResult
		return resp, nil
	default:
		return nil, fmt.Errorf("%w: GSSAPI: unexpected challenge", ErrState)
	}
}

// chooseLayer unwraps the server's offer, [bitmask][3-byte max buffer],
// picks the first protection level of ours it offers, and wraps our
// choice, [bit][3-byte max buffer], with integrity only.
func (c *gssapiClient) chooseLayer(challenge []byte) ([]byte, error) {
	offer, err := c.layer.unwrap(challenge, false)
	if err != nil {
		return nil, err
	}
	if len(offer) != 4 {
		return nil, fmt.Errorf("%w: GSSAPI security layer offer of %d bytes, want 4", ErrMalformed, len(offer))
	}
	mask := offer[0]
	var bit byte
	for _, q := range c.protection {
		b := map[QOP]byte{Auth: layerNone, AuthInt: layerIntegrity, AuthConf: layerPrivacy}[q]
		if mask&b != 0 {
			c.qop, bit = q, b
			break
		}
	}
	if bit == 0 {
		return nil, fmt.Errorf("%w: GSSAPI: client accepts %v; server offers layers %#x", ErrNoCommonQOP, c.protection, mask)
	}
	choice := []byte{bit, 0, 0, 0}
	if bit != layerNone {
		// RFC 4752: the size must be 0 when no layer is chosen.
		n := uint32(clientMaxBuf)
		choice[1], choice[2], choice[3] = byte(n>>16), byte(n>>8), byte(n)
	}
	return c.layer.wrap(choice, false)
}

func (c *gssapiClient) Finish(final []byte) error {
	if c.state != gssAwaitResult {
		return fmt.Errorf("%w: GSSAPI: SUCCESS before the security layer was chosen", ErrState)
	}
	if len(final) != 0 {
		c.state = gssFailed
		return fmt.Errorf("%w: GSSAPI: unexpected data with SUCCESS", ErrMalformed)
	}
	c.state = gssDone
	return nil
}

func (c *gssapiClient) QOP() QOP { return c.qop }

func (c *gssapiClient) Wrap(p []byte) ([]byte, error) {
	if c.state != gssDone {
		return nil, fmt.Errorf("%w: GSSAPI: Wrap before the exchange completed", ErrState)
	}
	if c.qop == Auth {
		return nil, ErrNoSecurityLayer
	}
	return c.layer.wrap(p, c.qop == AuthConf)
}

func (c *gssapiClient) Unwrap(p []byte) ([]byte, error) {
	if c.state != gssDone {
		return nil, fmt.Errorf("%w: GSSAPI: Unwrap before the exchange completed", ErrState)
	}
	if c.qop == Auth {
		return nil, ErrNoSecurityLayer
	}
	return c.layer.unwrap(p, c.qop == AuthConf)
}

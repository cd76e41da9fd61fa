package sasl

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DigestConfig configures a DIGEST-MD5 exchange with a Hadoop token.
type DigestConfig struct {
	// Identifier is the token's identifier. Its standard base64 (with
	// padding) is the SASL user name. Required.
	Identifier []byte
	// Password is the token's password. Its standard base64 string is the
	// SASL password. Required.
	Password []byte
	// Protocol and ServerID are the protocol and serverId of the server's
	// TOKEN SaslAuth; the digest-uri is Protocol + "/" + ServerID. Hadoop's
	// servers advertise "" and "default", giving "/default".
	Protocol, ServerID string
	// Protection lists the acceptable protection levels, most preferred
	// first; the first one the server offers is used. Empty means Auth.
	Protection []QOP
	// Rand is the source of the client nonce. Nil means crypto/rand.
	Rand io.Reader
}

// NewDigestMD5 returns a DIGEST-MD5 client (RFC 2831) authenticating with a
// Hadoop token. Its Start returns an empty initial response: the first
// challenge comes with the server's NEGOTIATE and is answered by Step.
func NewDigestMD5(cfg DigestConfig) (Client, error) {
	if len(cfg.Identifier) == 0 {
		return nil, errors.New("sasl: DIGEST-MD5: token identifier is empty")
	}
	if len(cfg.Password) == 0 {
		return nil, errors.New("sasl: DIGEST-MD5: token password is empty")
	}
	prot, err := checkProtection(cfg.Protection)
	if err != nil {
		return nil, err
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	return &digestClient{
		user:       base64.StdEncoding.EncodeToString(cfg.Identifier),
		pass:       base64.StdEncoding.EncodeToString(cfg.Password),
		digestURI:  cfg.Protocol + "/" + cfg.ServerID,
		protection: prot,
		rand:       r,
	}, nil
}

// checkProtection validates a Protection list, defaulting to Auth.
func checkProtection(p []QOP) ([]QOP, error) {
	if len(p) == 0 {
		return []QOP{Auth}, nil
	}
	for _, q := range p {
		switch q {
		case Auth, AuthInt, AuthConf:
		default:
			return nil, fmt.Errorf("sasl: unknown protection level %q", q)
		}
	}
	return append([]QOP(nil), p...), nil
}

// Digest exchange states.
const (
	digestAwaitChallenge = iota // nothing sent but the empty initial response
	digestResponded             // digest-response sent; rspauth expected
	digestVerified              // rspauth verified in a challenge; SUCCESS expected
	digestDone                  // Finish succeeded
	digestFailed                // a step failed; the exchange is over
)

// maxChallenge is RFC 2831's limit on a digest-challenge (section 2.1.1).
const maxChallenge = 2048

// clientMaxBuf is the largest wrapped message the client says it accepts,
// the value Java's client sends. Hadoop wraps whole RPC responses whatever
// their size, so Unwrap does not enforce it.
const clientMaxBuf = 65536

type digestClient struct {
	user, pass, digestURI string
	protection            []QOP
	rand                  io.Reader

	state       int
	qop         QOP
	cipher      string // auth-conf cipher
	ha1         [md5.Size]byte
	wantRspauth string // hex
	layer       *digestLayer
}

func (c *digestClient) Mechanism() string { return "DIGEST-MD5" }

func (c *digestClient) Start(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []byte{}, nil
}

func (c *digestClient) Step(ctx context.Context, challenge []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch c.state {
	case digestAwaitChallenge:
		resp, err := c.respond(challenge)
		if err != nil {
			c.state = digestFailed
			return nil, err
		}
		c.state = digestResponded
		return resp, nil
	case digestResponded:
		// RFC 2831 lets the server send rspauth as a challenge, answered
		// with an empty response. Hadoop sends it with SUCCESS instead.
		if err := c.verifyRspauth(challenge); err != nil {
			c.state = digestFailed
			return nil, err
		}
		c.state = digestVerified
		return []byte{}, nil
	default:
		return nil, fmt.Errorf("%w: DIGEST-MD5: challenge after the exchange ended", ErrState)
	}
}

func (c *digestClient) Finish(final []byte) error {
	switch c.state {
	case digestResponded:
		if err := c.verifyRspauth(final); err != nil {
			c.state = digestFailed
			return err
		}
	case digestVerified:
		if len(final) != 0 {
			c.state = digestFailed
			return fmt.Errorf("%w: DIGEST-MD5: unexpected data with SUCCESS after rspauth", ErrMalformed)
		}
	default:
		return fmt.Errorf("%w: DIGEST-MD5: SUCCESS before the digest-response was sent", ErrState)
	}
	if c.qop != Auth {
		layer, err := newDigestLayer(c.ha1, c.qop, c.cipher)
		if err != nil {
			c.state = digestFailed
			return err
		}
		c.layer = layer
	}
	c.state = digestDone
	return nil
}

func (c *digestClient) QOP() QOP { return c.qop }

func (c *digestClient) Wrap(p []byte) ([]byte, error) {
	if c.state != digestDone {
		return nil, fmt.Errorf("%w: DIGEST-MD5: Wrap before the exchange completed", ErrState)
	}
	if c.layer == nil {
		return nil, ErrNoSecurityLayer
	}
	return c.layer.wrap(p)
}

func (c *digestClient) Unwrap(p []byte) ([]byte, error) {
	if c.state != digestDone {
		return nil, fmt.Errorf("%w: DIGEST-MD5: Unwrap before the exchange completed", ErrState)
	}
	if c.layer == nil {
		return nil, ErrNoSecurityLayer
	}
	return c.layer.unwrap(p)
}

// digestChallenge is a parsed digest-challenge (RFC 2831 section 2.1.1).
type digestChallenge struct {
	realms    []string
	nonce     string
	qops      []QOP    // offered; defaults to auth
	utf8      bool     // charset=utf-8 was present
	ciphers   []string // offered for auth-conf
	otherQOPs []string // offered but unknown to us
}

// parseDigestChallenge checks a digest-challenge the way RFC 2831 states
// it: nonce and algorithm exactly once, qop, charset, maxbuf and cipher at
// most once, realm any number of times.
func parseDigestChallenge(b []byte) (*digestChallenge, error) {
	if len(b) > maxChallenge {
		return nil, fmt.Errorf("%w: DIGEST-MD5 challenge of %d bytes exceeds %d", ErrMalformed, len(b), maxChallenge)
	}
	dirs, err := parseDirectives(b)
	if err != nil {
		return nil, err
	}
	ch := &digestChallenge{}
	seen := map[string]bool{}
	for _, d := range dirs {
		if d.key != "realm" && seen[d.key] {
			switch d.key {
			case "nonce", "qop", "charset", "algorithm", "cipher", "maxbuf", "stale":
				return nil, fmt.Errorf("%w: DIGEST-MD5 challenge repeats %q", ErrMalformed, d.key)
			}
		}
		seen[d.key] = true
		switch d.key {
		case "realm":
			ch.realms = append(ch.realms, d.value)
		case "nonce":
			ch.nonce = d.value
		case "qop":
			for _, q := range splitList(d.value) {
				switch QOP(q) {
				case Auth, AuthInt, AuthConf:
					ch.qops = append(ch.qops, QOP(q))
				default:
					ch.otherQOPs = append(ch.otherQOPs, q)
				}
			}
		case "charset":
			if !strings.EqualFold(d.value, "utf-8") {
				return nil, fmt.Errorf("%w: DIGEST-MD5 challenge has charset %q, want utf-8", ErrMalformed, d.value)
			}
			ch.utf8 = true
		case "algorithm":
			if !strings.EqualFold(d.value, "md5-sess") {
				return nil, fmt.Errorf("%w: DIGEST-MD5 challenge has algorithm %q, want md5-sess", ErrMalformed, d.value)
			}
		case "cipher":
			ch.ciphers = splitList(d.value)
		}
	}
	if !seen["nonce"] || ch.nonce == "" {
		return nil, fmt.Errorf("%w: DIGEST-MD5 challenge has no nonce", ErrMalformed)
	}
	if !seen["algorithm"] {
		return nil, fmt.Errorf("%w: DIGEST-MD5 challenge has no algorithm", ErrMalformed)
	}
	if !seen["qop"] {
		ch.qops = []QOP{Auth}
	}
	return ch, nil
}

// directive is one name=value pair of a digest-challenge or rspauth.
type directive struct{ key, value string }

// parseDirectives splits RFC 2831's 1#(token "=" (token | quoted-string)),
// with linear white space allowed around every element and empty list
// elements skipped. Keys are lower-cased; quoted-pairs are unescaped.
func parseDirectives(b []byte) ([]directive, error) {
	var out []directive
	i := 0
	skipLWS := func() {
		for i < len(b) && isLWS(b[i]) {
			i++
		}
	}
	for {
		skipLWS()
		for i < len(b) && b[i] == ',' {
			i++
			skipLWS()
		}
		if i >= len(b) {
			return out, nil
		}
		start := i
		for i < len(b) && isTokenChar(b[i]) {
			i++
		}
		if i == start {
			return nil, fmt.Errorf("%w: DIGEST-MD5 directive starts with %q", ErrMalformed, b[i])
		}
		key := strings.ToLower(string(b[start:i]))
		skipLWS()
		if i >= len(b) || b[i] != '=' {
			return nil, fmt.Errorf("%w: DIGEST-MD5 directive %q has no '='", ErrMalformed, key)
		}
		i++
		skipLWS()
		var val []byte
		if i < len(b) && b[i] == '"' {
			i++
			closed := false
			for i < len(b) {
				ch := b[i]
				i++
				if ch == '\\' {
					if i >= len(b) {
						break
					}
					val = append(val, b[i])
					i++
					continue
				}
				if ch == '"' {
					closed = true
					break
				}
				val = append(val, ch)
			}
			if !closed {
				return nil, fmt.Errorf("%w: DIGEST-MD5 directive %q has an unterminated quoted value", ErrMalformed, key)
			}
		} else {
			start := i
			for i < len(b) && b[i] != ',' && !isLWS(b[i]) {
				if b[i] == '"' {
					return nil, fmt.Errorf("%w: DIGEST-MD5 directive %q has a stray quote", ErrMalformed, key)
				}
				i++
			}
			val = b[start:i]
		}
		out = append(out, directive{key: key, value: string(val)})
		skipLWS()
		if i < len(b) && b[i] != ',' {
			return nil, fmt.Errorf("%w: DIGEST-MD5 directive %q is followed by %q, not ','", ErrMalformed, key, b[i])
		}
	}
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isTokenChar reports whether c may appear in an RFC 2616 token.
func isTokenChar(c byte) bool {
	if c <= 32 || c >= 127 {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(c))
}

// splitList splits a quoted list value such as "auth,auth-int" on commas
// and white space, dropping empty elements.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
}

// cipherPreference is the order Java's DigestMD5Client picks a cipher in
// (strongest first, 3des before rc4 at equal strength); Hadoop's servers
// are Java.
var cipherPreference = []string{"3des", "rc4", "des", "rc4-56", "rc4-40"}

// choose picks the QOP and, for auth-conf, the cipher.
func (c *digestClient) choose(ch *digestChallenge) (QOP, string, error) {
	for _, want := range c.protection {
		if !containsQOP(ch.qops, want) {
			continue
		}
		if want != AuthConf {
			return want, "", nil
		}
		for _, pref := range cipherPreference {
			for _, offered := range ch.ciphers {
				if offered == pref {
					return want, pref, nil
				}
			}
		}
		// No usable cipher: a less preferred level may still do.
	}
	offered := make([]string, 0, len(ch.qops))
	for _, q := range ch.qops {
		offered = append(offered, string(q))
	}
	offered = append(offered, ch.otherQOPs...)
	return "", "", fmt.Errorf("%w: DIGEST-MD5: client accepts %v; server offers qop %v with ciphers %v",
		ErrNoCommonQOP, c.protection, offered, ch.ciphers)
}

func containsQOP(qs []QOP, q QOP) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}

// respond builds the digest-response to the server's challenge.
func (c *digestClient) respond(challenge []byte) ([]byte, error) {
	ch, err := parseDigestChallenge(challenge)
	if err != nil {
		return nil, err
	}
	qop, cipher, err := c.choose(ch)
	if err != nil {
		return nil, err
	}
	realm := ""
	if len(ch.realms) > 0 {
		realm = ch.realms[0]
	}
	raw := make([]byte, 30) // Java's client uses 30 random bytes too
	if _, err := io.ReadFull(c.rand, raw); err != nil {
		return nil, fmt.Errorf("sasl: DIGEST-MD5: reading random client nonce: %w", err)
	}
	cnonce := base64.StdEncoding.EncodeToString(raw)
	const nc = "00000001"

	c.qop, c.cipher = qop, cipher
	c.ha1 = digestHA1(c.user, realm, c.pass, ch.nonce, cnonce)
	response := digestResponseValue(c.ha1, "AUTHENTICATE", c.digestURI, qop, ch.nonce, nc, cnonce)
	c.wantRspauth = digestResponseValue(c.ha1, "", c.digestURI, qop, ch.nonce, nc, cnonce)

	// The directive order is the one Java's DigestMD5Client writes.
	var b strings.Builder
	if ch.utf8 {
		b.WriteString("charset=utf-8,")
	}
	fmt.Fprintf(&b, "username=%s,", quote(c.user))
	if realm != "" {
		fmt.Fprintf(&b, "realm=%s,", quote(realm))
	}
	fmt.Fprintf(&b, "nonce=%s,nc=%s,cnonce=%s,digest-uri=%s,maxbuf=%d,response=%s,qop=%s",
		quote(ch.nonce), nc, quote(cnonce), quote(c.digestURI), clientMaxBuf, response, qop)
	if cipher != "" {
		fmt.Fprintf(&b, ",cipher=%s", quote(cipher))
	}
	return []byte(b.String()), nil
}

// verifyRspauth checks the server's response-auth, "rspauth=<32 hex>".
func (c *digestClient) verifyRspauth(b []byte) error {
	dirs, err := parseDirectives(b)
	if err != nil {
		return err
	}
	if len(dirs) != 1 || dirs[0].key != "rspauth" {
		return fmt.Errorf("%w: DIGEST-MD5: expected rspauth from the server, got %q", ErrMalformed, truncate(b, 64))
	}
	got := strings.ToLower(dirs[0].value)
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.wantRspauth)) != 1 {
		return fmt.Errorf("%w: DIGEST-MD5: rspauth does not match", ErrServerAuth)
	}
	return nil
}

// digestHA1 is H(A1) of RFC 2831 section 2.1.2.1 for md5-sess without an
// authzid: H({ H({user ":" realm ":" pass}) ":" nonce ":" cnonce }).
func digestHA1(user, realm, pass, nonce, cnonce string) [md5.Size]byte {
	inner := md5.New()
	inner.Write(digestString(user))
	inner.Write([]byte(":"))
	inner.Write(digestString(realm))
	inner.Write([]byte(":"))
	inner.Write(digestString(pass))
	h := md5.New()
	h.Write(inner.Sum(nil))
	h.Write([]byte(":" + nonce + ":" + cnonce))
	var out [md5.Size]byte
	h.Sum(out[:0])
	return out
}

// digestString encodes a user name, realm or password for H(A1): a string
// whose characters all fit in ISO 8859-1 is hashed in ISO 8859-1, any other
// in UTF-8 (RFC 2831 section 2.1.2.1; Java does the same with or without
// charset=utf-8).
func digestString(s string) []byte {
	if !utf8.ValidString(s) {
		return []byte(s)
	}
	latin := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return []byte(s)
		}
		latin = append(latin, byte(r))
	}
	return latin
}

// digestResponseValue is the response-value of RFC 2831 section 2.1.2.1.
// method is "AUTHENTICATE" for the client's response and "" for the
// server's rspauth.
func digestResponseValue(ha1 [md5.Size]byte, method, uri string, qop QOP, nonce, nc, cnonce string) string {
	a2 := method + ":" + uri
	if qop == AuthInt || qop == AuthConf {
		a2 += ":00000000000000000000000000000000"
	}
	ha2 := md5.Sum([]byte(a2))
	kd := hex.EncodeToString(ha1[:]) + ":" + nonce + ":" + nc + ":" + cnonce + ":" + string(qop) + ":" + hex.EncodeToString(ha2[:])
	sum := md5.Sum([]byte(kd))
	return hex.EncodeToString(sum[:])
}

// quote writes s as an RFC 2616 quoted-string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

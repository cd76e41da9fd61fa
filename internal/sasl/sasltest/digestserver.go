package sasltest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// DigestServer is the server side of one DIGEST-MD5 exchange (RFC 2831) as
// a Hadoop token server runs it, at protection level auth only: it checks
// the client's response to Challenge against the token's password and
// returns the SUCCESS token (rspauth) that proves the server knew it too.
// Test servers (package ipctest) use it to authenticate token clients
// without a Java peer. It offers no security layer.
//
// Hadoop names the user by the base64 of the token identifier and uses the
// base64 of the token password as the password.
type DigestServer struct {
	// Challenge is the challenge the server sent: at least realm and
	// nonce directives, e.g. one recorded from the test bed.
	Challenge []byte
	// DigestURI is the digest-uri the client must name: protocol + "/" +
	// serverId of the TOKEN offer ("/default" for Hadoop's servers).
	DigestURI string
	// Password returns the password of the token whose identifier the
	// client presents, and false for a token the server does not know.
	Password func(identifier []byte) ([]byte, bool)
}

// ErrDigestRefused is matched by every error Verify returns for a response
// that does not authenticate.
var ErrDigestRefused = errors.New("sasltest: DIGEST-MD5 response refused")

// ErrUnknownToken is Verify's error for a token Password does not know. It
// matches ErrDigestRefused.
var ErrUnknownToken = fmt.Errorf("%w: unknown token", ErrDigestRefused)

// Verify checks the client's response and returns the token identifier it
// authenticated with and the server's final token ("rspauth=...").
func (s *DigestServer) Verify(response []byte) (identifier, final []byte, err error) {
	refuse := func(format string, args ...any) ([]byte, []byte, error) {
		return nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrDigestRefused}, args...)...)
	}
	ch, err := directives(s.Challenge)
	if err != nil {
		return refuse("challenge: %v", err)
	}
	r, err := directives(response)
	if err != nil {
		return refuse("response: %v", err)
	}
	for _, k := range []string{"username", "nonce", "cnonce", "nc", "digest-uri", "response"} {
		if r[k] == "" {
			return refuse("no %s", k)
		}
	}
	qop := r["qop"]
	if qop == "" {
		qop = "auth"
	}
	switch {
	case qop != "auth":
		return refuse("qop %q; this server offers auth only", qop)
	case r["nonce"] != ch["nonce"]:
		return refuse("nonce %q is not the one issued", r["nonce"])
	case r["realm"] != ch["realm"]:
		return refuse("realm %q, challenge has %q", r["realm"], ch["realm"])
	case r["nc"] != "00000001":
		return refuse("nc %q on a first response", r["nc"])
	case r["digest-uri"] != s.DigestURI:
		return refuse("digest-uri %q, want %q", r["digest-uri"], s.DigestURI)
	case r["authzid"] != "":
		return refuse("authzid is not supported")
	}
	id, err := base64.StdEncoding.DecodeString(r["username"])
	if err != nil {
		return refuse("username is not a base64 token identifier: %v", err)
	}
	pw, ok := s.Password(id)
	if !ok {
		return nil, nil, ErrUnknownToken
	}
	pass := base64.StdEncoding.EncodeToString(pw)
	inner := md5.Sum([]byte(r["username"] + ":" + r["realm"] + ":" + pass))
	ha1 := md5.Sum(append(inner[:], ":"+r["nonce"]+":"+r["cnonce"]...))
	value := func(a2 string) string {
		ha2 := md5.Sum([]byte(a2))
		kd := md5.Sum([]byte(hex.EncodeToString(ha1[:]) + ":" + r["nonce"] + ":" + r["nc"] + ":" + r["cnonce"] + ":" + qop + ":" + hex.EncodeToString(ha2[:])))
		return hex.EncodeToString(kd[:])
	}
	if value("AUTHENTICATE:"+r["digest-uri"]) != strings.ToLower(r["response"]) {
		return refuse("wrong response for this token's password")
	}
	return id, []byte("rspauth=" + value(":"+r["digest-uri"])), nil
}

// directives parses a comma-separated list of name=value pairs, values
// plain tokens or quoted strings with backslash escapes. A repeated name
// keeps its first value.
func directives(b []byte) (map[string]string, error) {
	out := map[string]string{}
	s := string(b)
	for {
		s = strings.TrimLeft(s, " \t\r\n,")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("directive without a value at %q", s)
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val strings.Builder
		if strings.HasPrefix(s, `"`) {
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated quoted value of %s", name)
			}
			s = s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val.WriteString(strings.TrimSpace(s[:end]))
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if s != "" && s[0] != ',' {
			return nil, fmt.Errorf("junk after %s at %q", name, s)
		}
		if _, dup := out[name]; !dup {
			out[name] = val.String()
		}
	}
}

// Package clienttoam lets a client that does not hold a deployment's
// secret use the JobManager's control protocol with YARN's ClientToAMToken
// instead, on secure (Kerberos) clusters.
//
// The ResourceManager puts a ClientToAMToken in the application report it
// returns to a user with VIEW access to a running application: its
// identifier names the application attempt and the calling user, its
// password is the HMAC (HmacSHA1 unless the cluster changed
// hadoop.security.secret-manager.key-generator.algorithm) of the
// identifier under the attempt's master key, which the ApplicationMaster
// receives when it registers. The password never travels: over a TLS
// connection the client sends
//
//	Authorization: SpindleClientToAM id=<base64 identifier>, proof=<base64 HMAC-SHA256(password, exporter)>
//
// where exporter is the connection's TLS keying material exported with
// label ExporterLabel (RFC 8446 section 7.5, 32 bytes). The proof holds
// only for that one connection, so a relay that terminates TLS on both
// sides cannot reuse it. The server answers with
//
//	X-Spindle-Proof: <base64 HMAC-SHA256(password, exporter || "server")>
//
// and the client (Transport) trusts no answer without a valid one; before
// the first real request on a connection it checks the server's proof on
// a probe (GET ProbePath), so a request body (a job's credentials) never
// reaches a server that does not know the password.
//
// Who may do what (Middleware): a client whose TLS certificate carries the
// deployment's pinned key (the secret's holders: the submitting client and
// the TaskManagers) is let through untouched. Otherwise a valid token for
// this application grants the read-only endpoints (the RM issued it, so
// the user has VIEW access); the endpoints that change things (submit,
// cancel, stop) need the token's user to be the application's owner or a
// user named in its MODIFY_APP ACL. The TaskManagers' endpoints need the
// secret. The handler learns the token's user from the request's
// context (CallerFrom): the JobManager lets users other than the owner
// submit jobs under their own identity only, since TaskManagers are
// reused by identity.
//
// Nothing here logs a password, a proof or the master key; errors name
// users and applications only.
package clienttoam

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	htoken "github.com/spindle-yarn/spindle/internal/token"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/spindle-yarn/spindle/yarn"
)

// Names of the scheme.
const (
	// Scheme is the Authorization scheme.
	Scheme = "SpindleClientToAM"
	// ProofHeader carries the server's proof in every answer to a token
	// client.
	ProofHeader = "X-Spindle-Proof"
	// ExporterLabel is the TLS exporter label both ends derive the
	// channel binding with.
	ExporterLabel = "spindle client-to-am"
	// ProbePath is answered by Middleware alone (204 with the server's
	// proof) for any valid token: Transport asks it first on each new
	// connection.
	ProbePath = "/v1/clienttoam"

	exporterSize = 32
	serverSuffix = "server"
	// maxHeader bounds the Authorization value Parse reads.
	maxHeader = 4096
)

// ErrUnauthenticated means the client's proof is missing or wrong, or the
// server's proof is (then the server is not the application's AM).
var ErrUnauthenticated = errors.New("clienttoam: not authenticated")

// Identifier is a decoded ClientToAMTokenIdentifier: the application
// attempt the token is for, and the user the ResourceManager issued it to
// (as the RM names it, usually the full principal, alice@REALM).
type Identifier struct {
	Attempt    yarn.ApplicationAttemptID
	ClientName string
}

// User is the client's short name (alice for alice@REALM or
// alice/host@REALM), as Hadoop's default auth_to_local rules map it.
func (id Identifier) User() string {
	u, _, _ := strings.Cut(id.ClientName, "@")
	u, _, _ = strings.Cut(u, "/")
	return u
}

// Bytes encodes the identifier as Hadoop writes it: the bare protobuf
// ClientToAMTokenIdentifierProto{appAttemptId=1, clientName=2}, where
// ApplicationAttemptIdProto is {application_id=1 {id=1, cluster_timestamp=2},
// attemptId=2}. The RM's password covers exactly these bytes, so servers
// check the bytes they received, not a re-encoding.
func (id Identifier) Bytes() []byte {
	var app []byte
	app = protowire.AppendTag(app, 1, protowire.VarintType)
	app = protowire.AppendVarint(app, uint64(id.Attempt.Application.ID))
	app = protowire.AppendTag(app, 2, protowire.VarintType)
	app = protowire.AppendVarint(app, uint64(id.Attempt.Application.ClusterTimestamp))
	var att []byte
	att = protowire.AppendTag(att, 1, protowire.BytesType)
	att = protowire.AppendBytes(att, app)
	att = protowire.AppendTag(att, 2, protowire.VarintType)
	att = protowire.AppendVarint(att, uint64(id.Attempt.Attempt))
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, att)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, id.ClientName)
	return b
}

// ParseIdentifier decodes an identifier's bytes. Unknown fields are
// skipped, as protobuf readers do.
func ParseIdentifier(b []byte) (Identifier, error) {
	var id Identifier
	err := htoken.WalkProto(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errWireType
			}
			return htoken.WalkProto(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
				switch num {
				case 1:
					if typ != protowire.BytesType {
						return errWireType
					}
					return htoken.WalkProto(raw, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
						if num != 1 && num != 2 {
							return nil
						}
						if typ != protowire.VarintType {
							return errWireType
						}
						if num == 1 {
							id.Attempt.Application.ID = int32(v)
						} else {
							id.Attempt.Application.ClusterTimestamp = int64(v)
						}
						return nil
					})
				case 2:
					if typ != protowire.VarintType {
						return errWireType
					}
					id.Attempt.Attempt = int32(v)
				}
				return nil
			})
		case 2:
			if typ != protowire.BytesType {
				return errWireType
			}
			id.ClientName = string(raw)
		}
		return nil
	})
	if err != nil {
		return Identifier{}, fmt.Errorf("clienttoam: decoding the token identifier: %w", err)
	}
	return id, nil
}

var errWireType = errors.New("a field has the wrong wire type")

// passwordHashes are the HMACs a ResourceManager may derive token
// passwords with: Java's KeyGenerator algorithms Hadoop's
// hadoop.security.secret-manager.key-generator.algorithm names, HmacSHA1
// by default. The server does not know the cluster's setting, so it tries
// each (a proof under the wrong one simply does not match).
var passwordHashes = []func() hash.Hash{sha1.New, sha256.New, sha512.New}

// Password is the token password the ResourceManager derives from the
// attempt's master key with Hadoop's default algorithm, HmacSHA1:
// HMAC-SHA1(masterKey, identifier).
func Password(masterKey, identifier []byte) []byte {
	return mac(sha1.New, masterKey, identifier)
}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Exporter is the channel binding of a TLS connection (TLS 1.3).
func Exporter(cs *tls.ConnectionState) ([]byte, error) {
	if cs == nil {
		return nil, errors.New("clienttoam: not a TLS connection")
	}
	return cs.ExportKeyingMaterial(ExporterLabel, nil, exporterSize)
}

// ClientProof is what the client sends: HMAC-SHA256(password, exporter).
func ClientProof(password, exporter []byte) []byte {
	return mac(sha256.New, password, exporter)
}

// ServerProof is what the server answers: HMAC-SHA256(password,
// exporter || "server"), distinct from ClientProof so neither side can
// reflect the other's.
func ServerProof(password, exporter []byte) []byte {
	return mac(sha256.New, password, exporter, []byte(serverSuffix))
}

// FormatAuthorization is the Authorization header value.
func FormatAuthorization(identifier, proof []byte) string {
	return Scheme + " id=" + base64.StdEncoding.EncodeToString(identifier) + ", proof=" + base64.StdEncoding.EncodeToString(proof)
}

// ParseAuthorization reads an Authorization header value of the scheme:
// both parameters, in either order, each once, base64 (standard, padded).
func ParseAuthorization(h string) (identifier, proof []byte, err error) {
	if len(h) > maxHeader {
		return nil, nil, fmt.Errorf("%w: the Authorization header has %d bytes, at most %d are read", ErrUnauthenticated, len(h), maxHeader)
	}
	scheme, params, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, Scheme) {
		return nil, nil, fmt.Errorf("%w: the Authorization header is not of the %s scheme", ErrUnauthenticated, Scheme)
	}
	var haveID, haveProof bool
	for p := range strings.SplitSeq(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return nil, nil, fmt.Errorf("%w: Authorization parameter %q has no value", ErrUnauthenticated, clip(p))
		}
		b, derr := base64.StdEncoding.DecodeString(v)
		if derr != nil {
			return nil, nil, fmt.Errorf("%w: Authorization parameter %s is not base64", ErrUnauthenticated, clip(k))
		}
		switch k {
		case "id":
			if haveID {
				return nil, nil, fmt.Errorf("%w: Authorization has id twice", ErrUnauthenticated)
			}
			identifier, haveID = b, true
		case "proof":
			if haveProof {
				return nil, nil, fmt.Errorf("%w: Authorization has proof twice", ErrUnauthenticated)
			}
			proof, haveProof = b, true
		default:
			return nil, nil, fmt.Errorf("%w: unknown Authorization parameter %q", ErrUnauthenticated, clip(k))
		}
	}
	if !haveID || !haveProof {
		return nil, nil, fmt.Errorf("%w: the Authorization header needs id and proof", ErrUnauthenticated)
	}
	return identifier, proof, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

package yarn

import (
	"google.golang.org/protobuf/proto"

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	"github.com/spindle-yarn/spindle/internal/token"
)

// Token is a Hadoop security token: an identifier the issuing service can
// check, the password it derived from that identifier, the token's kind, and
// the service (usually "host:port") it is meant for. Identifier is opaque
// but not secret; Password is the secret. Service is the server's
// "ip:port", "ha-hdfs:<nameservice>" for an HA HDFS, or "" for the
// AMRMToken in a container's token file.
//
// It is the same type as hdfs.Token. String, GoString, Format, LogValue and
// MarshalJSON never show the password, so a Token, and any value holding
// one in an exported field, can be logged with fmt or slog and encoded as
// JSON as it is. To store or send a token, use URLString or a Credentials
// file.
type Token = token.Token

// DelegationTokenIdentifier is the decoded identifier of a delegation token
// (HDFS, WebHDFS, ResourceManager or timeline service), from
// Token.DelegationIdentifier.
type DelegationTokenIdentifier = token.DelegationTokenIdentifier

// AMRMTokenIdentifier is the decoded identifier of an AMRMToken, from
// Token.AMRMIdentifier: the application attempt it authenticates
// (AMRMAttempt) and the ResourceManager master key that signed it.
type AMRMTokenIdentifier = token.AMRMTokenIdentifier

// AMRMAttempt is the application attempt an AMRMToken identifier names.
func AMRMAttempt(id AMRMTokenIdentifier) ApplicationAttemptID {
	return ApplicationAttemptID{Application: ApplicationID{ClusterTimestamp: id.ClusterTimestamp, ID: id.Application}, Attempt: id.Attempt}
}

// CredentialsDecodeError reports undecodable credentials input: token
// storage (credentials files), token URL strings and token identifiers.
type CredentialsDecodeError = token.CredentialsDecodeError

// ErrMalformedCredentials is matched by errors.Is for every error that
// reports input which could not be decoded; the error is a
// *CredentialsDecodeError saying what failed and where.
var ErrMalformedCredentials = token.ErrMalformedCredentials

// Token kinds Spindle meets. A token's kind names the service that issued it
// and the layout of its identifier.
const (
	KindAMRMToken               = token.KindAMRMToken               // an ApplicationMaster to the scheduler
	KindNMToken                 = token.KindNMToken                 // an ApplicationMaster to one NodeManager
	KindContainerToken          = token.KindContainerToken          // starting one container
	KindRMDelegationToken       = token.KindRMDelegationToken       // a ResourceManager delegation token
	KindTimelineDelegationToken = token.KindTimelineDelegationToken // a timeline service delegation token
	KindHDFSDelegationToken     = token.KindHDFSDelegationToken     // a NameNode delegation token
	KindWebHDFSDelegationToken  = token.KindWebHDFSDelegationToken  // a NameNode delegation token for WebHDFS
	KindSWebHDFSDelegationToken = token.KindSWebHDFSDelegationToken // the same for secure WebHDFS
)

// ParseTokenURLString decodes a token string made by Hadoop's
// Token.encodeToUrlString (or Token.URLString), as Java's decoder does.
func ParseTokenURLString(s string) (Token, error) { return token.ParseURLString(s) }

// tokenToProto converts t for RPC messages that carry a TokenProto. Every
// field is set, empty ones included, since all four are required.
func tokenToProto(t Token) *hadoopcommon.TokenProto {
	return &hadoopcommon.TokenProto{
		Identifier: token.NonNil(t.Identifier),
		Password:   token.NonNil(t.Password),
		Kind:       proto.String(t.Kind),
		Service:    proto.String(t.Service),
	}
}

// tokenFromProto converts a TokenProto from an RPC message; nil gives the
// zero Token.
func tokenFromProto(p *hadoopcommon.TokenProto) Token {
	if p == nil {
		return Token{}
	}
	return Token{
		Identifier: token.CloneBytes(p.GetIdentifier()),
		Password:   token.CloneBytes(p.GetPassword()),
		Kind:       p.GetKind(),
		Service:    p.GetService(),
	}
}

package yarn

// Conversions of launch contexts: local resources and their URLs, ACLs,
// credentials and the configuration a container is given.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/redact"
	"github.com/spindle-yarn/spindle/internal/token"
	"github.com/spindle-yarn/spindle/internal/writable"
)

var (
	localResourceTypeToProto = map[LocalResourceType]pb.LocalResourceTypeProto{
		LocalResourceFile:    pb.LocalResourceTypeProto_FILE,
		LocalResourceArchive: pb.LocalResourceTypeProto_ARCHIVE,
		LocalResourcePattern: pb.LocalResourceTypeProto_PATTERN,
	}
	visibilityToProto = map[LocalResourceVisibility]pb.LocalResourceVisibilityProto{
		VisibilityApplication: pb.LocalResourceVisibilityProto_APPLICATION,
		VisibilityPrivate:     pb.LocalResourceVisibilityProto_PRIVATE,
		VisibilityPublic:      pb.LocalResourceVisibilityProto_PUBLIC,
	}
)

func localResourceToProto(lr LocalResource) (*pb.LocalResourceProto, error) {
	u, err := urlToProto(lr.URL)
	if err != nil {
		return nil, err
	}
	typ, ok := localResourceTypeToProto[lr.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type %d", lr.Type)
	}
	vis, ok := visibilityToProto[lr.Visibility]
	if !ok {
		return nil, fmt.Errorf("unknown visibility %d", lr.Visibility)
	}
	p := &pb.LocalResourceProto{
		Resource:   u,
		Size:       proto.Int64(lr.Size),
		Timestamp:  proto.Int64(lr.Timestamp),
		Type:       &typ,
		Visibility: &vis,
		Pattern:    optString(lr.Pattern),
	}
	if lr.UploadToSharedCache {
		p.ShouldBeUploadedToSharedCache = proto.Bool(true)
	}
	return p, nil
}

// localResourceFromProto reads an absent type as a file and an absent
// visibility as application (Java reads both as null).
func localResourceFromProto(p *pb.LocalResourceProto) LocalResource {
	if p == nil {
		p = &pb.LocalResourceProto{}
	}
	lr := LocalResource{
		URL:                 urlFromProto(p.GetResource()),
		Size:                p.GetSize(),
		Timestamp:           p.GetTimestamp(),
		Pattern:             p.GetPattern(),
		UploadToSharedCache: p.GetShouldBeUploadedToSharedCache(),
	}
	if p.Type != nil {
		for k, v := range localResourceTypeToProto {
			if v == *p.Type {
				lr.Type = k
			}
		}
	}
	if p.Visibility != nil {
		for k, v := range visibilityToProto {
			if v == *p.Visibility {
				lr.Visibility = k
			}
		}
	}
	return lr
}

// A URLError reports a LocalResource URL that YARN cannot use.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("yarn: local resource URL %q %s", redact.URLString(e.URL), e.Reason)
}

// urlToProto splits a URL the way Java's URL.fromURI splits a java.net.URI:
// scheme (case kept), host (an IPv6 literal keeps its brackets), port, decoded path as
// file, decoded user info. Port is -1 when the URL has none: Java reads an
// absent port as 0 and URL.toPath would then produce "host:0".
func urlToProto(s string) (*pb.URLProto, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, &URLError{URL: s, Reason: "does not parse: " + err.Error()}
	}
	switch {
	case u.Scheme == "":
		return nil, &URLError{URL: s, Reason: "has no scheme; use a full URL such as hdfs://namenode:8020/path"}
	case u.Opaque != "":
		return nil, &URLError{URL: s, Reason: "has no absolute path; write " + u.Scheme + ":///path or " + u.Scheme + "://host/path"}
	case u.RawQuery != "" || u.ForceQuery:
		return nil, &URLError{URL: s, Reason: "has a query, which YARN drops"}
	case u.Fragment != "":
		return nil, &URLError{URL: s, Reason: "has a fragment, which YARN drops; name the link with the LocalResources map key"}
	case !strings.HasPrefix(u.Path, "/"):
		return nil, &URLError{URL: s, Reason: "has no absolute path"}
	}
	// url.Parse lower-cases the scheme; Java's URI keeps it as written.
	scheme := s[:len(u.Scheme)]
	p := &pb.URLProto{Scheme: proto.String(scheme), Port: proto.Int32(-1), File: proto.String(u.Path)}
	if h := u.Hostname(); h != "" {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		p.Host = proto.String(h)
	}
	if ps := u.Port(); ps != "" {
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return nil, &URLError{URL: s, Reason: "has an invalid port"}
		}
		p.Port = proto.Int32(int32(port))
	}
	if u.User != nil {
		ui := u.User.Username()
		if pw, ok := u.User.Password(); ok {
			ui += ":" + pw
		}
		p.UserInfo = proto.String(ui)
	}
	return p, nil
}

// urlFromProto rebuilds the URL string; a port of 0 or less counts as
// absent.
func urlFromProto(p *pb.URLProto) string {
	if p == nil {
		return ""
	}
	host := p.GetHost()
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	if port := p.GetPort(); port > 0 {
		host += ":" + strconv.Itoa(int(port))
	}
	u := url.URL{Scheme: p.GetScheme(), Host: host, Path: p.GetFile()}
	if p.UserInfo != nil {
		if user, pw, ok := strings.Cut(p.GetUserInfo(), ":"); ok {
			u.User = url.UserPassword(user, pw)
		} else {
			u.User = url.User(user)
		}
	}
	return u.String()
}

func launchContextToProto(c ContainerLaunchContext) (*pb.ContainerLaunchContextProto, error) {
	p := &pb.ContainerLaunchContextProto{Command: slices.Clone(c.Commands)}
	for _, k := range slices.Sorted(maps.Keys(c.LocalResources)) {
		lr, err := localResourceToProto(c.LocalResources[k])
		if err != nil {
			return nil, fmt.Errorf("local resource %q: %w", k, err)
		}
		p.LocalResources = append(p.LocalResources, &pb.StringLocalResourceMapProto{Key: proto.String(k), Value: lr})
	}
	if c.Credentials != nil {
		b, err := credentialsToBytes(c.Credentials)
		if err != nil {
			return nil, err
		}
		p.Tokens = b
	}
	p.ServiceData = stringBytesMapToProto(c.ServiceData)
	p.Environment = stringMapToProto(c.Environment)
	p.Application_ACLs = aclsToProto(c.ACLs)
	if r := c.Retry; r != nil {
		p.ContainerRetryContext = &pb.ContainerRetryContextProto{
			RetryPolicy:   pb.ContainerRetryPolicyProto(r.Policy).Enum(),
			ErrorCodes:    slices.Clone(r.ErrorCodes),
			MaxRetries:    proto.Int32(r.MaxRetries),
			RetryInterval: proto.Int32(int32(min(r.Interval.Milliseconds(), math.MaxInt32))),
		}
		if r.FailuresValidityInterval > 0 {
			p.ContainerRetryContext.FailuresValidityInterval = proto.Int64(r.FailuresValidityInterval.Milliseconds())
		}
	}
	if c.TokensConf != nil {
		b, err := appendConfiguration(nil, c.TokensConf)
		if err != nil {
			return nil, fmt.Errorf("TokensConf: %w", err)
		}
		p.TokensConf = b
	}
	return p, nil
}

// launchContextFromProto fails only when the tokens or tokens_conf bytes
// do not decode.
func launchContextFromProto(p *pb.ContainerLaunchContextProto) (ContainerLaunchContext, error) {
	if p == nil {
		p = &pb.ContainerLaunchContextProto{}
	}
	c := ContainerLaunchContext{
		Commands:    slices.Clone(p.GetCommand()),
		Environment: stringMapFromProto(p.GetEnvironment()),
		ServiceData: stringBytesMapFromProto(p.GetServiceData()),
	}
	for _, e := range p.GetLocalResources() {
		if c.LocalResources == nil {
			c.LocalResources = make(map[string]LocalResource)
		}
		c.LocalResources[e.GetKey()] = localResourceFromProto(e.GetValue())
	}
	if p.Tokens != nil {
		creds, err := credentialsFromBytes(p.Tokens)
		if err != nil {
			return ContainerLaunchContext{}, err
		}
		c.Credentials = creds
	}
	if p.TokensConf != nil {
		conf, err := readConfiguration(p.TokensConf)
		if err != nil {
			return ContainerLaunchContext{}, fmt.Errorf("tokens_conf: %w", err)
		}
		c.TokensConf = conf
	}
	c.ACLs = aclsFromProto(p.GetApplication_ACLs())
	if r := p.GetContainerRetryContext(); r != nil {
		c.Retry = &ContainerRetryContext{
			Policy:     ContainerRetryPolicy(r.GetRetryPolicy()),
			ErrorCodes: slices.Clone(r.GetErrorCodes()),
			MaxRetries: r.GetMaxRetries(),
			Interval:   durationOf(int64(r.GetRetryInterval()), time.Millisecond),
		}
		if v := r.GetFailuresValidityInterval(); v > 0 {
			c.Retry.FailuresValidityInterval = durationOf(v, time.Millisecond)
		}
	}
	return c, nil
}

func aclsToProto(acls map[ApplicationAccessType]string) []*pb.ApplicationACLMapProto {
	var out []*pb.ApplicationACLMapProto
	for _, t := range slices.Sorted(maps.Keys(acls)) {
		out = append(out, &pb.ApplicationACLMapProto{
			AccessType: pb.ApplicationAccessTypeProto(t).Enum(),
			Acl:        proto.String(acls[t]),
		})
	}
	return out
}

// aclsFromProto skips entries without an access type (their ACL would have
// nothing to apply to).
func aclsFromProto(ps []*pb.ApplicationACLMapProto) map[ApplicationAccessType]string {
	var acls map[ApplicationAccessType]string
	for _, a := range ps {
		if a.AccessType == nil {
			continue
		}
		if acls == nil {
			acls = make(map[ApplicationAccessType]string)
		}
		acls[ApplicationAccessType(a.GetAccessType())] = a.GetAcl()
	}
	return acls
}

// credentialsToBytes writes c as a credentials file in format 0, the one
// Java writes and every reader knows.
func credentialsToBytes(c *Credentials) ([]byte, error) { return c.MarshalBinary() }

// credentialsFromBytes reads a credentials file of either format.
func credentialsFromBytes(b []byte) (*Credentials, error) {
	return ReadCredentials(bytes.NewReader(b))
}

// appendConfiguration appends conf as Hadoop's Configuration.write writes
// it, which is what Configuration.readFields (and so the ResourceManager,
// for tokens_conf) reads: a VInt count, then per property its Text name, its
// Text value and its sources as a "compressed string array", here always
// null. WritableUtils writes that array's length, and each element's, as a
// 4-byte big-endian int, not a VInt: null is ff ff ff ff. Properties go in
// sorted order.
func appendConfiguration(b []byte, conf map[string]string) ([]byte, error) {
	if err := writable.CheckLen(len(conf)); err != nil {
		return nil, err
	}
	b = writable.AppendVInt(b, int32(len(conf)))
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if err := writable.CheckLen(len(k)); err != nil {
			return nil, err
		}
		if err := writable.CheckLen(len(conf[k])); err != nil {
			return nil, err
		}
		b = writable.AppendText(b, k)
		b = writable.AppendText(b, conf[k])
		b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // -1: no sources
	}
	return b, nil
}

// configurationTextMax bounds a property name, value or source read from
// tokens_conf; the ResourceManager refuses far less in total.
const configurationTextMax = 1 << 20

// readConfiguration reads what appendConfiguration (or Java's
// Configuration.write) wrote. The properties' sources, gzip-compressed
// strings in Java's output, are skipped.
func readConfiguration(b []byte) (map[string]string, error) {
	r := writable.NewBytesReader(b)
	readInt := func() (int32, error) {
		v, err := r.Full(4)
		if err != nil {
			return 0, err
		}
		return int32(binary.BigEndian.Uint32(v)), nil
	}
	n, err := r.VInt()
	if err != nil {
		return nil, token.UnexpectedEOF(err)
	}
	if n < 0 {
		return nil, fmt.Errorf("negative property count %d", n)
	}
	conf := make(map[string]string)
	for i := int32(0); i < n; i++ {
		k, err := r.Text(configurationTextMax)
		if err != nil {
			return nil, fmt.Errorf("property %d name: %w", i, token.UnexpectedEOF(err))
		}
		v, err := r.Text(configurationTextMax)
		if err != nil {
			return nil, fmt.Errorf("property %q value: %w", k, token.UnexpectedEOF(err))
		}
		sources, err := readInt()
		if err != nil {
			return nil, fmt.Errorf("property %q sources: %w", k, token.UnexpectedEOF(err))
		}
		for j := int32(0); j < sources; j++ {
			// A compressed byte array: int length (-1 for null), bytes.
			n, err := readInt()
			if err == nil && n > configurationTextMax {
				err = fmt.Errorf("length %d", n)
			}
			if err == nil && n > 0 {
				_, err = r.Full(int(n))
			}
			if err != nil {
				return nil, fmt.Errorf("property %q source %d: %w", k, j, token.UnexpectedEOF(err))
			}
		}
		conf[k] = v
	}
	return conf, nil
}

func stringMapToProto(m map[string]string) []*pb.StringStringMapProto {
	var out []*pb.StringStringMapProto
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &pb.StringStringMapProto{Key: proto.String(k), Value: proto.String(m[k])})
	}
	return out
}

func stringMapFromProto(ps []*pb.StringStringMapProto) map[string]string {
	var m map[string]string
	for _, e := range ps {
		if m == nil {
			m = make(map[string]string, len(ps))
		}
		m[e.GetKey()] = e.GetValue()
	}
	return m
}

func stringBytesMapToProto(m map[string][]byte) []*pb.StringBytesMapProto {
	var out []*pb.StringBytesMapProto
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &pb.StringBytesMapProto{Key: proto.String(k), Value: token.NonNil(m[k])})
	}
	return out
}

func stringBytesMapFromProto(ps []*pb.StringBytesMapProto) map[string][]byte {
	var m map[string][]byte
	for _, e := range ps {
		if m == nil {
			m = make(map[string][]byte, len(ps))
		}
		m[e.GetKey()] = token.CloneBytes(e.GetValue())
	}
	return m
}

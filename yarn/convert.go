package yarn

// Conversions between the public types of this package and the generated
// YARN protobuf messages. Nothing here is exported: the clients convert at
// the edge, so no generated type reaches the API.
//
// Direction conventions:
//   - xToProto builds the message Hadoop's Java PBImpl would read back as x.
//     Maps become repeated key/value messages in sorted key order, so equal
//     values always encode to equal bytes.
//   - xFromProto never panics, whatever the message holds (missing
//     sub-messages read as zero values), and copies everything it keeps, so
//     the result shares no memory with the message.
//   - Optional proto2 fields whose Java default differs from Go's zero
//     value are read through their presence (the pointer), not the
//     generated getter, so an absent field becomes the documented zero value.

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

	"github.com/spindle-yarn/spindle/internal/proto/hadoopcommon"
	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
	"github.com/spindle-yarn/spindle/internal/redact"
	"github.com/spindle-yarn/spindle/internal/writable"
)

// ---- ids ----------------------------------------------------------------------

func appIDToProto(a ApplicationID) *pb.ApplicationIdProto {
	return &pb.ApplicationIdProto{Id: proto.Int32(a.ID), ClusterTimestamp: proto.Int64(a.ClusterTimestamp)}
}

func appIDFromProto(p *pb.ApplicationIdProto) ApplicationID {
	return ApplicationID{ClusterTimestamp: p.GetClusterTimestamp(), ID: p.GetId()}
}

func attemptIDToProto(a ApplicationAttemptID) *pb.ApplicationAttemptIdProto {
	return &pb.ApplicationAttemptIdProto{ApplicationId: appIDToProto(a.Application), AttemptId: proto.Int32(a.Attempt)}
}

func attemptIDFromProto(p *pb.ApplicationAttemptIdProto) ApplicationAttemptID {
	return ApplicationAttemptID{Application: appIDFromProto(p.GetApplicationId()), Attempt: p.GetAttemptId()}
}

// containerIDToProto sets app_attempt_id only, as Java's ContainerIdPBImpl
// does; the older app_id field is still read when the attempt is missing.
func containerIDToProto(c ContainerID) *pb.ContainerIdProto {
	return &pb.ContainerIdProto{AppAttemptId: attemptIDToProto(c.Attempt), Id: proto.Int64(c.ID)}
}

func containerIDFromProto(p *pb.ContainerIdProto) ContainerID {
	c := ContainerID{Attempt: attemptIDFromProto(p.GetAppAttemptId()), ID: p.GetId()}
	if p.GetAppAttemptId() == nil && p.GetAppId() != nil {
		c.Attempt.Application = appIDFromProto(p.GetAppId())
	}
	return c
}

func containerIDsToProto(ids []ContainerID) []*pb.ContainerIdProto {
	var out []*pb.ContainerIdProto
	for _, id := range ids {
		out = append(out, containerIDToProto(id))
	}
	return out
}

func containerIDsFromProto(ps []*pb.ContainerIdProto) []ContainerID {
	var out []ContainerID
	for _, p := range ps {
		out = append(out, containerIDFromProto(p))
	}
	return out
}

func nodeIDToProto(n NodeID) *pb.NodeIdProto {
	return &pb.NodeIdProto{Host: proto.String(n.Host), Port: proto.Int32(n.Port)}
}

func nodeIDFromProto(p *pb.NodeIdProto) NodeID {
	return NodeID{Host: p.GetHost(), Port: p.GetPort()}
}

// ---- resources ------------------------------------------------------------

// resourceToProto writes memory and vcores in the scalar fields, which is
// where Java reads them, and each custom type as a resource_value_map entry
// without units, which Java reads in the type's configured unit.
func resourceToProto(r Resource) *pb.ResourceProto {
	p := &pb.ResourceProto{Memory: proto.Int64(r.MemoryMB), VirtualCores: proto.Int32(r.VCores)}
	for _, k := range slices.Sorted(maps.Keys(r.Custom)) {
		p.ResourceValueMap = append(p.ResourceValueMap, &pb.ResourceInformationProto{
			Key: proto.String(k), Value: proto.Int64(r.Custom[k]),
		})
	}
	return p
}

// resourceFromProto reads memory and vcores from the scalar fields, falling
// back to their resource_value_map entries when the scalars are absent, and
// every other entry with a non-zero value into Custom.
func resourceFromProto(p *pb.ResourceProto) Resource {
	if p == nil {
		p = &pb.ResourceProto{}
	}
	var r Resource
	for _, ri := range p.GetResourceValueMap() {
		switch k := ri.GetKey(); k {
		case ResourceMemory:
			r.MemoryMB = ri.GetValue()
		case ResourceVCores:
			r.VCores = int32(ri.GetValue())
		default:
			if ri.GetValue() == 0 {
				// Java lists every configured type, most of them at zero;
				// an absent type means zero too.
				delete(r.Custom, k)
				continue
			}
			if r.Custom == nil {
				r.Custom = make(map[string]int64)
			}
			r.Custom[k] = ri.GetValue()
		}
	}
	if p.Memory != nil {
		r.MemoryMB = p.GetMemory()
	}
	if p.VirtualCores != nil {
		r.VCores = p.GetVirtualCores()
	}
	return r
}

func priorityToProto(p Priority) *pb.PriorityProto {
	return &pb.PriorityProto{Priority: proto.Int32(int32(p))}
}

func priorityFromProto(p *pb.PriorityProto) Priority { return Priority(p.GetPriority()) }

// optPriority sends a priority only when set: an absent priority means the
// queue's default, which zero need not be.
func optPriority(p Priority) *pb.PriorityProto {
	if p == 0 {
		return nil
	}
	return priorityToProto(p)
}

func executionTypeToProto(t ExecutionType) *pb.ExecutionTypeProto {
	v := pb.ExecutionTypeProto_GUARANTEED
	if t == ExecutionOpportunistic {
		v = pb.ExecutionTypeProto_OPPORTUNISTIC
	}
	return &v
}

func executionTypeFromProto(p *pb.ExecutionTypeProto) ExecutionType {
	if p != nil && *p == pb.ExecutionTypeProto_OPPORTUNISTIC {
		return ExecutionOpportunistic
	}
	return ExecutionGuaranteed
}

func resourceRequestToProto(r ResourceRequest) *pb.ResourceRequestProto {
	name := r.ResourceName
	if name == "" {
		name = AnyResourceName
	}
	return &pb.ResourceRequestProto{
		Priority:            priorityToProto(r.Priority),
		ResourceName:        proto.String(name),
		Capability:          resourceToProto(r.Resource),
		NumContainers:       proto.Int32(r.NumContainers),
		RelaxLocality:       proto.Bool(!r.StrictLocality),
		NodeLabelExpression: optString(r.NodeLabel),
		ExecutionTypeRequest: &pb.ExecutionTypeRequestProto{
			ExecutionType:        executionTypeToProto(r.ExecutionType),
			EnforceExecutionType: proto.Bool(r.EnforceExecutionType),
		},
		AllocationRequestId: proto.Int64(r.AllocationRequestID),
	}
}

func resourceRequestFromProto(p *pb.ResourceRequestProto) ResourceRequest {
	var et *pb.ExecutionTypeProto
	if e := p.GetExecutionTypeRequest(); e != nil {
		et = e.ExecutionType
	}
	name := p.GetResourceName()
	if name == "" {
		name = AnyResourceName // as resourceRequestToProto sends an empty name
	}
	return ResourceRequest{
		Priority:             priorityFromProto(p.GetPriority()),
		Resource:             resourceFromProto(p.GetCapability()),
		NumContainers:        p.GetNumContainers(),
		ResourceName:         name,
		StrictLocality:       !p.GetRelaxLocality(),
		NodeLabel:            p.GetNodeLabelExpression(),
		ExecutionType:        executionTypeFromProto(et),
		EnforceExecutionType: p.GetExecutionTypeRequest().GetEnforceExecutionType(),
		AllocationRequestID:  p.GetAllocationRequestId(),
	}
}

func resourceRequestsToProto(rs []ResourceRequest) []*pb.ResourceRequestProto {
	var out []*pb.ResourceRequestProto
	for _, r := range rs {
		out = append(out, resourceRequestToProto(r))
	}
	return out
}

func resourceRequestsFromProto(ps []*pb.ResourceRequestProto) []ResourceRequest {
	var out []ResourceRequest
	for _, p := range ps {
		out = append(out, resourceRequestFromProto(p))
	}
	return out
}

// ---- local resources -----------------------------------------------------

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

// ---- launch contexts --------------------------------------------------------

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
		return nil, unexpectedEOF(err)
	}
	if n < 0 {
		return nil, fmt.Errorf("negative property count %d", n)
	}
	conf := make(map[string]string)
	for i := int32(0); i < n; i++ {
		k, err := r.Text(configurationTextMax)
		if err != nil {
			return nil, fmt.Errorf("property %d name: %w", i, unexpectedEOF(err))
		}
		v, err := r.Text(configurationTextMax)
		if err != nil {
			return nil, fmt.Errorf("property %q value: %w", k, unexpectedEOF(err))
		}
		sources, err := readInt()
		if err != nil {
			return nil, fmt.Errorf("property %q sources: %w", k, unexpectedEOF(err))
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
				return nil, fmt.Errorf("property %q source %d: %w", k, j, unexpectedEOF(err))
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
		out = append(out, &pb.StringBytesMapProto{Key: proto.String(k), Value: nonNil(m[k])})
	}
	return out
}

func stringBytesMapFromProto(ps []*pb.StringBytesMapProto) map[string][]byte {
	var m map[string][]byte
	for _, e := range ps {
		if m == nil {
			m = make(map[string][]byte, len(ps))
		}
		m[e.GetKey()] = cloneBytes(e.GetValue())
	}
	return m
}

// ---- submission --------------------------------------------------------------

// submissionToProto builds the ApplicationSubmissionContextProto. Fields
// whose Go zero value means "Hadoop's default" are left out, so the
// ResourceManager applies the default it would for a Java client that never
// set them. An AM node label becomes the ANY request in
// am_container_resource_request, which is where the RM reads it.
func submissionToProto(s *ApplicationSubmission) (*pb.ApplicationSubmissionContextProto, error) {
	am, err := launchContextToProto(s.AM)
	if err != nil {
		return nil, fmt.Errorf("yarn: ApplicationSubmission.AM: %w", err)
	}
	p := &pb.ApplicationSubmissionContextProto{
		ApplicationId:                           appIDToProto(s.ID),
		ApplicationName:                         optString(s.Name),
		Queue:                                   optString(s.Queue),
		Priority:                                optPriority(s.Priority),
		AmContainerSpec:                         am,
		CancelTokensWhenComplete:                proto.Bool(!s.KeepTokensOnCompletion),
		UnmanagedAm:                             proto.Bool(s.Unmanaged),
		ApplicationType:                         optString(s.Type),
		KeepContainersAcrossApplicationAttempts: proto.Bool(s.KeepContainersAcrossAttempts),
		ApplicationTags:                         slices.Clone(s.Tags),
		NodeLabelExpression:                     optString(s.NodeLabel),
		ApplicationSchedulingProperties:         stringMapToProto(s.SchedulingProperties),
	}
	if s.MaxAttempts != 0 {
		p.MaxAppAttempts = proto.Int32(s.MaxAttempts)
	}
	if !s.Unmanaged || !isZeroResource(s.AMResource) {
		p.Resource = resourceToProto(s.AMResource)
	}
	if s.AttemptFailuresValidityInterval > 0 {
		p.AttemptFailuresValidityInterval = proto.Int64(s.AttemptFailuresValidityInterval.Milliseconds())
	}
	if l := s.LogAggregation; l != nil {
		p.LogAggregationContext = &pb.LogAggregationContextProto{
			IncludePattern:                 optString(l.IncludePattern),
			ExcludePattern:                 optString(l.ExcludePattern),
			RolledLogsIncludePattern:       optString(l.RolledLogsIncludePattern),
			RolledLogsExcludePattern:       optString(l.RolledLogsExcludePattern),
			LogAggregationPolicyClassName:  optString(l.PolicyClassName),
			LogAggregationPolicyParameters: optString(l.PolicyParameters),
		}
	}
	if s.AMNodeLabel != "" {
		p.AmContainerResourceRequest = []*pb.ResourceRequestProto{resourceRequestToProto(ResourceRequest{
			Resource:      s.AMResource,
			NumContainers: 1,
			ResourceName:  AnyResourceName,
			NodeLabel:     s.AMNodeLabel,
		})}
	}
	if s.Lifetime > 0 {
		p.ApplicationTimeouts = []*pb.ApplicationTimeoutMapProto{{
			ApplicationTimeoutType: pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME.Enum(),
			Timeout:                proto.Int64(int64(s.Lifetime / time.Second)),
		}}
	}
	return p, nil
}

// submissionFromProto is the inverse of submissionToProto, for servers and
// tests. It fails only when the AM's tokens are not a credentials file.
func submissionFromProto(p *pb.ApplicationSubmissionContextProto) (ApplicationSubmission, error) {
	if p == nil {
		p = &pb.ApplicationSubmissionContextProto{}
	}
	am, err := launchContextFromProto(p.GetAmContainerSpec())
	if err != nil {
		return ApplicationSubmission{}, fmt.Errorf("yarn: am_container_spec: %w", err)
	}
	s := ApplicationSubmission{
		ID:                           appIDFromProto(p.GetApplicationId()),
		Name:                         derefString(p.ApplicationName),
		Queue:                        derefString(p.Queue),
		Priority:                     priorityFromProto(p.GetPriority()),
		AM:                           am,
		AMResource:                   resourceFromProto(p.GetResource()),
		Type:                         derefString(p.ApplicationType),
		Tags:                         slices.Clone(p.GetApplicationTags()),
		NodeLabel:                    p.GetNodeLabelExpression(),
		MaxAttempts:                  p.GetMaxAppAttempts(),
		KeepContainersAcrossAttempts: p.GetKeepContainersAcrossApplicationAttempts(),
		Unmanaged:                    p.GetUnmanagedAm(),
		KeepTokensOnCompletion:       !p.GetCancelTokensWhenComplete(),
		SchedulingProperties:         stringMapFromProto(p.GetApplicationSchedulingProperties()),
	}
	if v := p.GetAttemptFailuresValidityInterval(); v > 0 {
		s.AttemptFailuresValidityInterval = durationOf(v, time.Millisecond)
	}
	if l := p.GetLogAggregationContext(); l != nil {
		s.LogAggregation = &LogAggregationContext{
			IncludePattern:           derefString(l.IncludePattern),
			ExcludePattern:           derefString(l.ExcludePattern),
			RolledLogsIncludePattern: derefString(l.RolledLogsIncludePattern),
			RolledLogsExcludePattern: derefString(l.RolledLogsExcludePattern),
			PolicyClassName:          l.GetLogAggregationPolicyClassName(),
			PolicyParameters:         l.GetLogAggregationPolicyParameters(),
		}
	}
	for _, r := range p.GetAmContainerResourceRequest() {
		if r.GetResourceName() == AnyResourceName {
			s.AMNodeLabel = r.GetNodeLabelExpression()
			if p.Resource == nil {
				s.AMResource = resourceFromProto(r.GetCapability())
			}
		}
	}
	for _, t := range p.GetApplicationTimeouts() {
		if t.GetApplicationTimeoutType() == pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME && t.GetTimeout() > 0 {
			s.Lifetime = durationOf(t.GetTimeout(), time.Second)
		}
	}
	return s, nil
}

// ---- reports -------------------------------------------------------------

func reportToProto(r *ApplicationReport) *pb.ApplicationReportProto {
	p := &pb.ApplicationReportProto{
		ApplicationId:          appIDToProto(r.ID),
		User:                   proto.String(r.User),
		Queue:                  proto.String(r.Queue),
		Name:                   proto.String(r.Name),
		Host:                   proto.String(r.Host),
		RpcPort:                proto.Int32(r.RPCPort),
		ClientToAmToken:        optTokenToProto(r.ClientToAMToken),
		TrackingUrl:            proto.String(r.TrackingURL),
		Diagnostics:            proto.String(r.Diagnostics),
		StartTime:              timeToMillis(r.Started),
		FinishTime:             timeToMillis(r.Finished),
		FinalApplicationStatus: pb.FinalApplicationStatusProto(r.FinalStatus).Enum(),
		OriginalTrackingUrl:    proto.String(r.OriginalTrackingURL),
		Progress:               proto.Float32(r.Progress),
		ApplicationType:        proto.String(r.Type),
		AmRmToken:              optTokenToProto(r.AMRMToken),
		ApplicationTags:        slices.Clone(r.Tags),
		UnmanagedApplication:   proto.Bool(r.Unmanaged),
		Priority:               priorityToProto(r.Priority),
		AppNodeLabelExpression: optString(r.AppNodeLabel),
		AmNodeLabelExpression:  optString(r.AMNodeLabel),
		LaunchTime:             timeToMillis(r.Launched),
		SubmitTime:             timeToMillis(r.Submitted),
		RmClusterId:            optString(r.RMClusterID),
	}
	if r.State != 0 {
		p.YarnApplicationState = pb.YarnApplicationStateProto(r.State).Enum()
	}
	if r.LogAggregationStatus != 0 {
		p.LogAggregationStatus = pb.LogAggregationStatusProto(r.LogAggregationStatus).Enum()
	}
	if !r.CurrentAttempt.IsZero() {
		p.CurrentApplicationAttemptId = attemptIDToProto(r.CurrentAttempt)
	}
	if u := r.Usage; u != nil {
		p.AppResource_Usage = &pb.ApplicationResourceUsageReportProto{
			NumUsedContainers:      proto.Int32(u.UsedContainers),
			NumReservedContainers:  proto.Int32(u.ReservedContainers),
			UsedResources:          resourceToProto(u.Used),
			ReservedResources:      resourceToProto(u.Reserved),
			NeededResources:        resourceToProto(u.Needed),
			MemorySeconds:          proto.Int64(u.MemorySeconds),
			VcoreSeconds:           proto.Int64(u.VCoreSeconds),
			QueueUsagePercentage:   proto.Float32(u.QueueUsage),
			ClusterUsagePercentage: proto.Float32(u.ClusterUsage),
			PreemptedMemorySeconds: proto.Int64(u.PreemptedMemorySeconds),
			PreemptedVcoreSeconds:  proto.Int64(u.PreemptedVCoreSeconds),
		}
	}
	if r.LifetimeRemaining > 0 {
		p.AppTimeouts = []*pb.AppTimeoutsMapProto{{
			ApplicationTimeoutType: pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME.Enum(),
			ApplicationTimeout: &pb.ApplicationTimeoutProto{
				ApplicationTimeoutType: pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME.Enum(),
				RemainingTime:          proto.Int64(int64(r.LifetimeRemaining / time.Second)),
			},
		}}
	}
	return p
}

// reportFromProto reads an absent diagnostics as "" (Java shows "N/A").
func reportFromProto(p *pb.ApplicationReportProto) ApplicationReport {
	if p == nil {
		p = &pb.ApplicationReportProto{}
	}
	r := ApplicationReport{
		ID:                  appIDFromProto(p.GetApplicationId()),
		User:                p.GetUser(),
		Queue:               p.GetQueue(),
		Name:                p.GetName(),
		Host:                p.GetHost(),
		RPCPort:             p.GetRpcPort(),
		ClientToAMToken:     optTokenFromProto(p.GetClientToAmToken()),
		FinalStatus:         FinalStatus(p.GetFinalApplicationStatus()),
		Diagnostics:         derefString(p.Diagnostics),
		TrackingURL:         p.GetTrackingUrl(),
		OriginalTrackingURL: p.GetOriginalTrackingUrl(),
		Submitted:           millisToTime(p.GetSubmitTime()),
		Launched:            millisToTime(p.GetLaunchTime()),
		Started:             millisToTime(p.GetStartTime()),
		Finished:            millisToTime(p.GetFinishTime()),
		Progress:            p.GetProgress(),
		Type:                p.GetApplicationType(),
		Tags:                slices.Clone(p.GetApplicationTags()),
		AMRMToken:           optTokenFromProto(p.GetAmRmToken()),
		Unmanaged:           p.GetUnmanagedApplication(),
		Priority:            priorityFromProto(p.GetPriority()),
		AppNodeLabel:        p.GetAppNodeLabelExpression(),
		AMNodeLabel:         p.GetAmNodeLabelExpression(),
		RMClusterID:         p.GetRmClusterId(),
	}
	if p.YarnApplicationState != nil {
		r.State = ApplicationState(*p.YarnApplicationState)
	}
	if p.LogAggregationStatus != nil {
		r.LogAggregationStatus = LogAggregationStatus(*p.LogAggregationStatus)
	}
	if p.CurrentApplicationAttemptId != nil {
		r.CurrentAttempt = attemptIDFromProto(p.CurrentApplicationAttemptId)
	}
	if u := p.GetAppResource_Usage(); u != nil {
		r.Usage = &ApplicationResourceUsage{
			UsedContainers:         u.GetNumUsedContainers(),
			ReservedContainers:     u.GetNumReservedContainers(),
			Used:                   resourceFromProto(u.GetUsedResources()),
			Reserved:               resourceFromProto(u.GetReservedResources()),
			Needed:                 resourceFromProto(u.GetNeededResources()),
			MemorySeconds:          u.GetMemorySeconds(),
			VCoreSeconds:           u.GetVcoreSeconds(),
			PreemptedMemorySeconds: u.GetPreemptedMemorySeconds(),
			PreemptedVCoreSeconds:  u.GetPreemptedVcoreSeconds(),
			QueueUsage:             u.GetQueueUsagePercentage(),
			ClusterUsage:           u.GetClusterUsagePercentage(),
		}
	}
	for _, t := range p.GetAppTimeouts() {
		if t.GetApplicationTimeoutType() != pb.ApplicationTimeoutTypeProto_APP_TIMEOUT_LIFETIME {
			continue
		}
		if s := t.GetApplicationTimeout().GetRemainingTime(); s > 0 {
			r.LifetimeRemaining = durationOf(s, time.Second)
		}
	}
	return r
}

func reportsFromProto(ps []*pb.ApplicationReportProto) []ApplicationReport {
	var out []ApplicationReport
	for _, p := range ps {
		out = append(out, reportFromProto(p))
	}
	return out
}

func attemptReportToProto(r ApplicationAttemptReport) *pb.ApplicationAttemptReportProto {
	p := &pb.ApplicationAttemptReportProto{
		ApplicationAttemptId: attemptIDToProto(r.ID),
		Host:                 proto.String(r.Host),
		RpcPort:              proto.Int32(r.RPCPort),
		TrackingUrl:          proto.String(r.TrackingURL),
		Diagnostics:          proto.String(r.Diagnostics),
		OriginalTrackingUrl:  proto.String(r.OriginalTrackingURL),
		StartTime:            timeToMillis(r.Started),
		FinishTime:           timeToMillis(r.Finished),
	}
	if r.State != 0 {
		p.YarnApplicationAttemptState = pb.YarnApplicationAttemptStateProto(r.State).Enum()
	}
	if !r.AMContainer.IsZero() {
		p.AmContainerId = containerIDToProto(r.AMContainer)
	}
	return p
}

func attemptReportFromProto(p *pb.ApplicationAttemptReportProto) ApplicationAttemptReport {
	if p == nil {
		p = &pb.ApplicationAttemptReportProto{}
	}
	r := ApplicationAttemptReport{
		ID:                  attemptIDFromProto(p.GetApplicationAttemptId()),
		Host:                p.GetHost(),
		RPCPort:             p.GetRpcPort(),
		TrackingURL:         p.GetTrackingUrl(),
		OriginalTrackingURL: p.GetOriginalTrackingUrl(),
		Diagnostics:         derefString(p.Diagnostics),
		Started:             millisToTime(p.GetStartTime()),
		Finished:            millisToTime(p.GetFinishTime()),
	}
	if p.YarnApplicationAttemptState != nil {
		r.State = AttemptState(*p.YarnApplicationAttemptState)
	}
	if p.AmContainerId != nil {
		r.AMContainer = containerIDFromProto(p.AmContainerId)
	}
	return r
}

// filterToProto sends a time range only when one of its bounds is set, and
// then both bounds, an open end as 0 or MaxInt64, since Java's range has no
// open ends.
func filterToProto(f ApplicationFilter) *pb.GetApplicationsRequestProto {
	p := &pb.GetApplicationsRequestProto{
		ApplicationTypes: slices.Clone(f.Types),
		Users:            slices.Clone(f.Users),
		Queues:           slices.Clone(f.Queues),
		ApplicationTags:  slices.Clone(f.Tags),
		Name:             optString(f.Name),
	}
	for _, s := range f.States {
		p.ApplicationStates = append(p.ApplicationStates, pb.YarnApplicationStateProto(s))
	}
	if f.Scope != ScopeAll {
		p.Scope = pb.ApplicationsRequestScopeProto(f.Scope).Enum()
	}
	if f.Limit > 0 {
		p.Limit = proto.Int64(f.Limit)
	}
	if !f.StartedFrom.IsZero() || !f.StartedTo.IsZero() {
		p.StartBegin, p.StartEnd = rangeToProto(f.StartedFrom, f.StartedTo)
	}
	if !f.FinishedFrom.IsZero() || !f.FinishedTo.IsZero() {
		p.FinishBegin, p.FinishEnd = rangeToProto(f.FinishedFrom, f.FinishedTo)
	}
	return p
}

func filterFromProto(p *pb.GetApplicationsRequestProto) ApplicationFilter {
	f := ApplicationFilter{
		Types:        slices.Clone(p.GetApplicationTypes()),
		Users:        slices.Clone(p.GetUsers()),
		Queues:       slices.Clone(p.GetQueues()),
		Tags:         slices.Clone(p.GetApplicationTags()),
		Name:         p.GetName(),
		Scope:        ApplicationScope(p.GetScope()),
		Limit:        p.GetLimit(),
		StartedFrom:  millisToTime(p.GetStartBegin()),
		FinishedFrom: millisToTime(p.GetFinishBegin()),
	}
	for _, s := range p.GetApplicationStates() {
		f.States = append(f.States, ApplicationState(s))
	}
	if e := p.GetStartEnd(); e != math.MaxInt64 {
		f.StartedTo = millisToTime(e)
	}
	if e := p.GetFinishEnd(); e != math.MaxInt64 {
		f.FinishedTo = millisToTime(e)
	}
	return f
}

func rangeToProto(from, to time.Time) (begin, end *int64) {
	begin, end = proto.Int64(0), proto.Int64(math.MaxInt64)
	if !from.IsZero() {
		begin = proto.Int64(from.UnixMilli())
	}
	if !to.IsZero() {
		end = proto.Int64(to.UnixMilli())
	}
	return begin, end
}

// ---- cluster, nodes, queues --------------------------------------------------

func metricsToProto(m ClusterMetrics) *pb.YarnClusterMetricsProto {
	return &pb.YarnClusterMetricsProto{
		NumNodeManagers:       proto.Int32(m.NodeManagers),
		NumDecommissionedNms:  proto.Int32(m.Decommissioned),
		NumActiveNms:          proto.Int32(m.Active),
		NumLostNms:            proto.Int32(m.Lost),
		NumUnhealthyNms:       proto.Int32(m.Unhealthy),
		NumRebootedNms:        proto.Int32(m.Rebooted),
		NumDecommissioningNms: proto.Int32(m.Decommissioning),
		NumShutdownNms:        proto.Int32(m.Shutdown),
	}
}

func metricsFromProto(p *pb.YarnClusterMetricsProto) ClusterMetrics {
	return ClusterMetrics{
		NodeManagers:    p.GetNumNodeManagers(),
		Decommissioned:  p.GetNumDecommissionedNms(),
		Active:          p.GetNumActiveNms(),
		Lost:            p.GetNumLostNms(),
		Unhealthy:       p.GetNumUnhealthyNms(),
		Rebooted:        p.GetNumRebootedNms(),
		Decommissioning: p.GetNumDecommissioningNms(),
		Shutdown:        p.GetNumShutdownNms(),
	}
}

func nodeReportToProto(n NodeReport) *pb.NodeReportProto {
	p := &pb.NodeReportProto{
		NodeId:               nodeIDToProto(n.ID),
		HttpAddress:          proto.String(n.HTTPAddress),
		RackName:             proto.String(n.Rack),
		Used:                 resourceToProto(n.Used),
		Capability:           resourceToProto(n.Capability),
		NumContainers:        proto.Int32(n.NumContainers),
		HealthReport:         proto.String(n.HealthReport),
		LastHealthReportTime: timeToMillis(n.LastHealthReport),
		NodeLabels:           slices.Clone(n.Labels),
		NodeUpdateType:       pb.NodeUpdateTypeProto(n.UpdateType).Enum(),
	}
	if n.State != 0 {
		p.NodeState = pb.NodeStateProto(n.State).Enum()
	}
	if n.DecommissioningTimeout > 0 {
		p.DecommissioningTimeout = proto.Uint32(uint32(min(n.DecommissioningTimeout/time.Second, math.MaxUint32)))
	}
	return p
}

func nodeReportFromProto(p *pb.NodeReportProto) NodeReport {
	if p == nil {
		p = &pb.NodeReportProto{}
	}
	n := NodeReport{
		ID:                     nodeIDFromProto(p.GetNodeId()),
		HTTPAddress:            p.GetHttpAddress(),
		Rack:                   p.GetRackName(),
		Used:                   resourceFromProto(p.GetUsed()),
		Capability:             resourceFromProto(p.GetCapability()),
		NumContainers:          p.GetNumContainers(),
		HealthReport:           p.GetHealthReport(),
		LastHealthReport:       millisToTime(p.GetLastHealthReportTime()),
		Labels:                 slices.Clone(p.GetNodeLabels()),
		DecommissioningTimeout: durationOf(int64(p.GetDecommissioningTimeout()), time.Second),
		UpdateType:             NodeUpdateType(p.GetNodeUpdateType()),
	}
	if p.NodeState != nil {
		n.State = NodeState(*p.NodeState)
	}
	return n
}

func nodeReportsFromProto(ps []*pb.NodeReportProto) []NodeReport {
	var out []NodeReport
	for _, p := range ps {
		out = append(out, nodeReportFromProto(p))
	}
	return out
}

func queueInfoToProto(q *QueueInfo) *pb.QueueInfoProto {
	p := &pb.QueueInfoProto{
		QueueName:                    proto.String(q.Name),
		QueuePath:                    optString(q.Path),
		Capacity:                     proto.Float32(q.Capacity),
		MaximumCapacity:              proto.Float32(q.MaxCapacity),
		CurrentCapacity:              proto.Float32(q.CurrentCapacity),
		AccessibleNodeLabels:         slices.Clone(q.AccessibleNodeLabels),
		DefaultNodeLabelExpression:   optString(q.DefaultNodeLabel),
		PreemptionDisabled:           proto.Bool(q.PreemptionDisabled),
		IntraQueuePreemptionDisabled: proto.Bool(q.IntraQueuePreemptionDisabled),
		Weight:                       proto.Float32(q.Weight),
		MaxParallelApps:              proto.Int32(q.MaxParallelApps),
		SchedulerType:                optString(q.SchedulerType),
	}
	if q.State != 0 {
		p.State = pb.QueueStateProto(q.State).Enum()
	}
	for i := range q.Children {
		p.ChildQueues = append(p.ChildQueues, queueInfoToProto(&q.Children[i]))
	}
	for i := range q.Applications {
		p.Applications = append(p.Applications, reportToProto(&q.Applications[i]))
	}
	if s := q.Statistics; s != nil {
		p.QueueStatistics = &pb.QueueStatisticsProto{
			NumAppsSubmitted:    proto.Int64(s.AppsSubmitted),
			NumAppsRunning:      proto.Int64(s.AppsRunning),
			NumAppsPending:      proto.Int64(s.AppsPending),
			NumAppsCompleted:    proto.Int64(s.AppsCompleted),
			NumAppsKilled:       proto.Int64(s.AppsKilled),
			NumAppsFailed:       proto.Int64(s.AppsFailed),
			NumActiveUsers:      proto.Int64(s.ActiveUsers),
			AvailableMemoryMB:   proto.Int64(s.AvailableMemoryMB),
			AllocatedMemoryMB:   proto.Int64(s.AllocatedMemoryMB),
			PendingMemoryMB:     proto.Int64(s.PendingMemoryMB),
			ReservedMemoryMB:    proto.Int64(s.ReservedMemoryMB),
			AvailableVCores:     proto.Int64(s.AvailableVCores),
			AllocatedVCores:     proto.Int64(s.AllocatedVCores),
			PendingVCores:       proto.Int64(s.PendingVCores),
			ReservedVCores:      proto.Int64(s.ReservedVCores),
			AllocatedContainers: proto.Int64(s.AllocatedContainers),
			PendingContainers:   proto.Int64(s.PendingContainers),
			ReservedContainers:  proto.Int64(s.ReservedContainers),
		}
	}
	return p
}

func queueInfoFromProto(p *pb.QueueInfoProto) QueueInfo {
	if p == nil {
		p = &pb.QueueInfoProto{}
	}
	q := QueueInfo{
		Name:                         p.GetQueueName(),
		Path:                         p.GetQueuePath(),
		Capacity:                     p.GetCapacity(),
		MaxCapacity:                  p.GetMaximumCapacity(),
		CurrentCapacity:              p.GetCurrentCapacity(),
		AccessibleNodeLabels:         slices.Clone(p.GetAccessibleNodeLabels()),
		DefaultNodeLabel:             p.GetDefaultNodeLabelExpression(),
		PreemptionDisabled:           p.GetPreemptionDisabled(),
		IntraQueuePreemptionDisabled: p.GetIntraQueuePreemptionDisabled(),
		Weight:                       p.GetWeight(),
		MaxParallelApps:              p.GetMaxParallelApps(),
		SchedulerType:                p.GetSchedulerType(),
		Applications:                 reportsFromProto(p.GetApplications()),
	}
	if p.State != nil {
		q.State = QueueState(*p.State)
	}
	for _, c := range p.GetChildQueues() {
		q.Children = append(q.Children, queueInfoFromProto(c))
	}
	if s := p.GetQueueStatistics(); s != nil {
		q.Statistics = &QueueStatistics{
			AppsSubmitted:       s.GetNumAppsSubmitted(),
			AppsRunning:         s.GetNumAppsRunning(),
			AppsPending:         s.GetNumAppsPending(),
			AppsCompleted:       s.GetNumAppsCompleted(),
			AppsKilled:          s.GetNumAppsKilled(),
			AppsFailed:          s.GetNumAppsFailed(),
			ActiveUsers:         s.GetNumActiveUsers(),
			AvailableMemoryMB:   s.GetAvailableMemoryMB(),
			AllocatedMemoryMB:   s.GetAllocatedMemoryMB(),
			PendingMemoryMB:     s.GetPendingMemoryMB(),
			ReservedMemoryMB:    s.GetReservedMemoryMB(),
			AvailableVCores:     s.GetAvailableVCores(),
			AllocatedVCores:     s.GetAllocatedVCores(),
			PendingVCores:       s.GetPendingVCores(),
			ReservedVCores:      s.GetReservedVCores(),
			AllocatedContainers: s.GetAllocatedContainers(),
			PendingContainers:   s.GetPendingContainers(),
			ReservedContainers:  s.GetReservedContainers(),
		}
	}
	return q
}

// ---- containers ------------------------------------------------------------

func containerToProto(c Container) *pb.ContainerProto {
	return &pb.ContainerProto{
		Id:                  containerIDToProto(c.ID),
		NodeId:              nodeIDToProto(c.NodeID),
		NodeHttpAddress:     proto.String(c.NodeHTTPAddress),
		Resource:            resourceToProto(c.Resource),
		Priority:            priorityToProto(c.Priority),
		ContainerToken:      optTokenToProto(c.Token),
		ExecutionType:       executionTypeToProto(c.ExecutionType),
		AllocationRequestId: proto.Int64(c.AllocationRequestID),
		Version:             proto.Int32(c.Version),
		AllocationTags:      slices.Clone(c.AllocationTags),
	}
}

func containerFromProto(p *pb.ContainerProto) Container {
	if p == nil {
		p = &pb.ContainerProto{}
	}
	return Container{
		ID:                  containerIDFromProto(p.GetId()),
		NodeID:              nodeIDFromProto(p.GetNodeId()),
		NodeHTTPAddress:     p.GetNodeHttpAddress(),
		Resource:            resourceFromProto(p.GetResource()),
		Priority:            priorityFromProto(p.GetPriority()),
		Token:               optTokenFromProto(p.GetContainerToken()),
		ExecutionType:       executionTypeFromProto(p.ExecutionType),
		AllocationRequestID: p.GetAllocationRequestId(),
		Version:             p.GetVersion(),
		AllocationTags:      slices.Clone(p.GetAllocationTags()),
	}
}

func containersToProto(cs []Container) []*pb.ContainerProto {
	var out []*pb.ContainerProto
	for _, c := range cs {
		out = append(out, containerToProto(c))
	}
	return out
}

func containersFromProto(ps []*pb.ContainerProto) []Container {
	var out []Container
	for _, p := range ps {
		out = append(out, containerFromProto(p))
	}
	return out
}

func containerStatusToProto(s ContainerStatus) *pb.ContainerStatusProto {
	p := &pb.ContainerStatusProto{
		ContainerId:   containerIDToProto(s.ID),
		Diagnostics:   proto.String(s.Diagnostics),
		ExitStatus:    proto.Int32(s.ExitStatus),
		Capability:    resourceToProto(s.Capability),
		ExecutionType: executionTypeToProto(s.ExecutionType),
	}
	if s.State != 0 {
		p.State = pb.ContainerStateProto(s.State).Enum()
	}
	return p
}

// containerStatusFromProto reads an absent exit status as ExitInvalid, as
// Java does.
func containerStatusFromProto(p *pb.ContainerStatusProto) ContainerStatus {
	if p == nil {
		p = &pb.ContainerStatusProto{}
	}
	s := ContainerStatus{
		ID:            containerIDFromProto(p.GetContainerId()),
		ExitStatus:    p.GetExitStatus(),
		Diagnostics:   derefString(p.Diagnostics),
		Capability:    resourceFromProto(p.GetCapability()),
		ExecutionType: executionTypeFromProto(p.ExecutionType),
	}
	if p.State != nil {
		s.State = ContainerState(*p.State)
	}
	return s
}

func containerStatusesFromProto(ps []*pb.ContainerStatusProto) []ContainerStatus {
	var out []ContainerStatus
	for _, p := range ps {
		out = append(out, containerStatusFromProto(p))
	}
	return out
}

func containerReportFromProto(p *pb.ContainerReportProto) ContainerReport {
	if p == nil {
		p = &pb.ContainerReportProto{}
	}
	r := ContainerReport{
		ID:              containerIDFromProto(p.GetContainerId()),
		Resource:        resourceFromProto(p.GetResource()),
		NodeID:          nodeIDFromProto(p.GetNodeId()),
		Priority:        priorityFromProto(p.GetPriority()),
		Created:         millisToTime(p.GetCreationTime()),
		Finished:        millisToTime(p.GetFinishTime()),
		Diagnostics:     derefString(p.DiagnosticsInfo),
		LogURL:          p.GetLogUrl(),
		ExitStatus:      p.GetContainerExitStatus(),
		NodeHTTPAddress: p.GetNodeHttpAddress(),
		ExecutionType:   executionTypeFromProto(p.ExecutionType),
	}
	if p.ContainerState != nil {
		r.State = ContainerState(*p.ContainerState)
	}
	return r
}

func containerReportToProto(r ContainerReport) *pb.ContainerReportProto {
	p := &pb.ContainerReportProto{
		ContainerId:         containerIDToProto(r.ID),
		Resource:            resourceToProto(r.Resource),
		NodeId:              nodeIDToProto(r.NodeID),
		Priority:            priorityToProto(r.Priority),
		CreationTime:        timeToMillis(r.Created),
		FinishTime:          timeToMillis(r.Finished),
		DiagnosticsInfo:     proto.String(r.Diagnostics),
		LogUrl:              proto.String(r.LogURL),
		ContainerExitStatus: proto.Int32(r.ExitStatus),
		NodeHttpAddress:     proto.String(r.NodeHTTPAddress),
		ExecutionType:       executionTypeToProto(r.ExecutionType),
	}
	if r.State != 0 {
		p.ContainerState = pb.ContainerStateProto(r.State).Enum()
	}
	return p
}

// startContainerRequestToProto pairs a launch context with the container
// token the NodeManager checks.
func startContainerRequestToProto(c Container, clc ContainerLaunchContext) (*pb.StartContainerRequestProto, error) {
	if c.Token == nil {
		return nil, fmt.Errorf("yarn: container %s has no container token; start only containers the ResourceManager allocated", c.ID)
	}
	lc, err := launchContextToProto(clc)
	if err != nil {
		return nil, fmt.Errorf("yarn: launch context of container %s: %w", c.ID, err)
	}
	return &pb.StartContainerRequestProto{ContainerLaunchContext: lc, ContainerToken: tokenToProto(*c.Token)}, nil
}

func serializedExceptionToProto(e *SerializedException) *pb.SerializedExceptionProto {
	if e == nil {
		return nil
	}
	return &pb.SerializedExceptionProto{
		Message:   proto.String(e.Message),
		Trace:     optString(e.Trace),
		ClassName: proto.String(e.Class),
		Cause:     serializedExceptionToProto(e.Cause),
	}
}

func serializedExceptionFromProto(p *pb.SerializedExceptionProto) *SerializedException {
	if p == nil {
		return nil
	}
	return &SerializedException{
		Class:   p.GetClassName(),
		Message: p.GetMessage(),
		Trace:   p.GetTrace(),
		Cause:   serializedExceptionFromProto(p.GetCause()),
	}
}

// containerFailuresFromProto maps each failed container to its exception.
// An entry without an exception still counts as a failure.
func containerFailuresFromProto(ps []*pb.ContainerExceptionMapProto) map[ContainerID]*SerializedException {
	var m map[ContainerID]*SerializedException
	for _, p := range ps {
		if m == nil {
			m = make(map[ContainerID]*SerializedException, len(ps))
		}
		e := serializedExceptionFromProto(p.GetException())
		if e == nil {
			e = &SerializedException{Message: "the NodeManager reported a failure without an exception"}
		}
		m[containerIDFromProto(p.GetContainerId())] = e
	}
	return m
}

// ---- ApplicationMasterProtocol ----------------------------------------------

func registrationToProto(r AMRegistration) *pb.RegisterApplicationMasterRequestProto {
	return &pb.RegisterApplicationMasterRequestProto{
		Host:        proto.String(r.Host),
		RpcPort:     proto.Int32(r.RPCPort),
		TrackingUrl: proto.String(r.TrackingURL),
	}
}

func registrationFromProto(p *pb.RegisterApplicationMasterRequestProto) AMRegistration {
	return AMRegistration{Host: p.GetHost(), RPCPort: p.GetRpcPort(), TrackingURL: p.GetTrackingUrl()}
}

func registrationResponseToProto(r *AMRegistrationResponse) *pb.RegisterApplicationMasterResponseProto {
	p := &pb.RegisterApplicationMasterResponseProto{
		MaximumCapability:              resourceToProto(r.MaxCapability),
		ClientToAmTokenMasterKey:       cloneBytes(r.ClientToAMTokenMasterKey),
		Application_ACLs:               aclsToProto(r.ACLs),
		ContainersFromPreviousAttempts: containersToProto(r.ContainersFromPreviousAttempts),
		Queue:                          proto.String(r.Queue),
		NmTokensFromPreviousAttempts:   nmTokensToProto(r.NMTokensFromPreviousAttempts),
	}
	for _, t := range r.ResourceTypes {
		p.ResourceTypes = append(p.ResourceTypes, &pb.ResourceTypeInfoProto{
			Name: proto.String(t.Name), Units: proto.String(t.Units), Type: pb.ResourceTypesProto_COUNTABLE.Enum(),
		})
	}
	return p
}

func registrationResponseFromProto(p *pb.RegisterApplicationMasterResponseProto) AMRegistrationResponse {
	r := AMRegistrationResponse{
		MaxCapability:                  resourceFromProto(p.GetMaximumCapability()),
		ClientToAMTokenMasterKey:       cloneBytes(p.GetClientToAmTokenMasterKey()),
		ACLs:                           aclsFromProto(p.GetApplication_ACLs()),
		Queue:                          p.GetQueue(),
		ContainersFromPreviousAttempts: containersFromProto(p.GetContainersFromPreviousAttempts()),
		NMTokensFromPreviousAttempts:   nmTokensFromProto(p.GetNmTokensFromPreviousAttempts()),
	}
	for _, t := range p.GetResourceTypes() {
		r.ResourceTypes = append(r.ResourceTypes, ResourceTypeInfo{Name: t.GetName(), Units: t.GetUnits()})
	}
	return r
}

func unregistrationToProto(u AMUnregistration) *pb.FinishApplicationMasterRequestProto {
	return &pb.FinishApplicationMasterRequestProto{
		Diagnostics:            proto.String(u.Diagnostics),
		TrackingUrl:            proto.String(u.TrackingURL),
		FinalApplicationStatus: pb.FinalApplicationStatusProto(u.FinalStatus).Enum(),
	}
}

func unregistrationFromProto(p *pb.FinishApplicationMasterRequestProto) AMUnregistration {
	return AMUnregistration{
		FinalStatus: FinalStatus(p.GetFinalApplicationStatus()),
		Diagnostics: p.GetDiagnostics(),
		TrackingURL: p.GetTrackingUrl(),
	}
}

func nmTokensToProto(ts []NMToken) []*pb.NMTokenProto {
	var out []*pb.NMTokenProto
	for _, t := range ts {
		out = append(out, &pb.NMTokenProto{NodeId: nodeIDToProto(t.NodeID), Token: tokenToProto(t.Token)})
	}
	return out
}

func nmTokensFromProto(ps []*pb.NMTokenProto) []NMToken {
	var out []NMToken
	for _, p := range ps {
		out = append(out, NMToken{NodeID: nodeIDFromProto(p.GetNodeId()), Token: tokenFromProto(p.GetToken())})
	}
	return out
}

func updateRequestToProto(u UpdateContainerRequest) *pb.UpdateContainerRequestProto {
	p := &pb.UpdateContainerRequestProto{
		ContainerVersion: proto.Int32(u.Version),
		ContainerId:      containerIDToProto(u.ContainerID),
		UpdateType:       pb.ContainerUpdateTypeProto(u.Type).Enum(),
	}
	switch u.Type {
	case IncreaseResource, DecreaseResource:
		p.Capability = resourceToProto(u.Capability)
	case PromoteExecutionType, DemoteExecutionType:
		p.ExecutionType = executionTypeToProto(u.ExecutionType)
	}
	return p
}

func updateRequestFromProto(p *pb.UpdateContainerRequestProto) UpdateContainerRequest {
	if p == nil {
		p = &pb.UpdateContainerRequestProto{}
	}
	return UpdateContainerRequest{
		Version:       p.GetContainerVersion(),
		ContainerID:   containerIDFromProto(p.GetContainerId()),
		Type:          ContainerUpdateType(p.GetUpdateType()),
		Capability:    resourceFromProto(p.GetCapability()),
		ExecutionType: executionTypeFromProto(p.ExecutionType),
	}
}

func allocateRequestToProto(r *AllocateRequest) *pb.AllocateRequestProto {
	p := &pb.AllocateRequestProto{
		Ask:         resourceRequestsToProto(r.Asks),
		Release:     containerIDsToProto(r.Release),
		Progress:    proto.Float32(r.Progress),
		TrackingUrl: optString(r.TrackingURL),
	}
	if len(r.BlacklistAdditions) > 0 || len(r.BlacklistRemovals) > 0 {
		p.BlacklistRequest = &pb.ResourceBlacklistRequestProto{
			BlacklistAdditions: slices.Clone(r.BlacklistAdditions),
			BlacklistRemovals:  slices.Clone(r.BlacklistRemovals),
		}
	}
	for _, u := range r.UpdateRequests {
		p.UpdateRequests = append(p.UpdateRequests, updateRequestToProto(u))
	}
	return p
}

func allocateRequestFromProto(p *pb.AllocateRequestProto) AllocateRequest {
	r := AllocateRequest{
		Asks:               resourceRequestsFromProto(p.GetAsk()),
		Release:            containerIDsFromProto(p.GetRelease()),
		BlacklistAdditions: slices.Clone(p.GetBlacklistRequest().GetBlacklistAdditions()),
		BlacklistRemovals:  slices.Clone(p.GetBlacklistRequest().GetBlacklistRemovals()),
		Progress:           p.GetProgress(),
		TrackingURL:        p.GetTrackingUrl(),
	}
	for _, u := range p.GetUpdateRequests() {
		r.UpdateRequests = append(r.UpdateRequests, updateRequestFromProto(u))
	}
	return r
}

func allocateResponseToProto(r *AllocateResponse) *pb.AllocateResponseProto {
	p := &pb.AllocateResponseProto{
		ResponseId:                     proto.Int32(r.ResponseID),
		AllocatedContainers:            containersToProto(r.Allocated),
		Limit:                          resourceToProto(r.Headroom),
		NumClusterNodes:                proto.Int32(r.NumClusterNodes),
		NmTokens:                       nmTokensToProto(r.NMTokens),
		AmRmToken:                      optTokenToProto(r.AMRMToken),
		ContainersFromPreviousAttempts: containersToProto(r.ContainersFromPreviousAttempts),
	}
	if r.Command != 0 {
		p.AMCommand = pb.AMCommandProto(r.Command).Enum()
	}
	if r.Priority != 0 {
		p.ApplicationPriority = priorityToProto(r.Priority)
	}
	for _, s := range r.Completed {
		p.CompletedContainerStatuses = append(p.CompletedContainerStatuses, containerStatusToProto(s))
	}
	for _, n := range r.UpdatedNodes {
		p.UpdatedNodes = append(p.UpdatedNodes, nodeReportToProto(n))
	}
	if m := r.Preemption; m != nil {
		p.Preempt = &pb.PreemptionMessageProto{}
		if len(m.Strict) > 0 {
			p.Preempt.StrictContract = &pb.StrictPreemptionContractProto{Container: preemptionContainersToProto(m.Strict)}
		}
		if len(m.Negotiable) > 0 || len(m.Asks) > 0 {
			c := &pb.PreemptionContractProto{Container: preemptionContainersToProto(m.Negotiable)}
			for _, a := range m.Asks {
				c.Resource = append(c.Resource, &pb.PreemptionResourceRequestProto{Resource: resourceRequestToProto(a)})
			}
			p.Preempt.Contract = c
		}
	}
	for _, e := range r.UpdateErrors {
		p.UpdateErrors = append(p.UpdateErrors, &pb.UpdateContainerErrorProto{
			Reason:                  proto.String(e.Reason),
			UpdateRequest:           updateRequestToProto(e.Request),
			CurrentContainerVersion: proto.Int32(e.CurrentVersion),
		})
	}
	for _, u := range r.UpdatedContainers {
		p.UpdatedContainers = append(p.UpdatedContainers, &pb.UpdatedContainerProto{
			UpdateType: pb.ContainerUpdateTypeProto(u.Type).Enum(),
			Container:  containerToProto(u.Container),
		})
	}
	return p
}

func allocateResponseFromProto(p *pb.AllocateResponseProto) AllocateResponse {
	if p == nil {
		p = &pb.AllocateResponseProto{}
	}
	r := AllocateResponse{
		Command:                        AMCommand(p.GetAMCommand()),
		ResponseID:                     p.GetResponseId(),
		Allocated:                      containersFromProto(p.GetAllocatedContainers()),
		Completed:                      containerStatusesFromProto(p.GetCompletedContainerStatuses()),
		Headroom:                       resourceFromProto(p.GetLimit()),
		UpdatedNodes:                   nodeReportsFromProto(p.GetUpdatedNodes()),
		NumClusterNodes:                p.GetNumClusterNodes(),
		NMTokens:                       nmTokensFromProto(p.GetNmTokens()),
		AMRMToken:                      optTokenFromProto(p.GetAmRmToken()),
		Priority:                       priorityFromProto(p.GetApplicationPriority()),
		ContainersFromPreviousAttempts: containersFromProto(p.GetContainersFromPreviousAttempts()),
	}
	if p.AMCommand == nil {
		r.Command = 0
	}
	if m := p.GetPreempt(); m != nil {
		pm := &PreemptionMessage{
			Strict:     preemptionContainersFromProto(m.GetStrictContract().GetContainer()),
			Negotiable: preemptionContainersFromProto(m.GetContract().GetContainer()),
		}
		for _, rr := range m.GetContract().GetResource() {
			pm.Asks = append(pm.Asks, resourceRequestFromProto(rr.GetResource()))
		}
		r.Preemption = pm
	}
	for _, e := range p.GetUpdateErrors() {
		r.UpdateErrors = append(r.UpdateErrors, UpdateContainerError{
			Reason:         e.GetReason(),
			Request:        updateRequestFromProto(e.GetUpdateRequest()),
			CurrentVersion: e.GetCurrentContainerVersion(),
		})
	}
	for _, u := range p.GetUpdatedContainers() {
		r.UpdatedContainers = append(r.UpdatedContainers, UpdatedContainer{
			Type:      ContainerUpdateType(u.GetUpdateType()),
			Container: containerFromProto(u.GetContainer()),
		})
	}
	return r
}

func preemptionContainersToProto(ids []ContainerID) []*pb.PreemptionContainerProto {
	var out []*pb.PreemptionContainerProto
	for _, id := range ids {
		out = append(out, &pb.PreemptionContainerProto{Id: containerIDToProto(id)})
	}
	return out
}

func preemptionContainersFromProto(ps []*pb.PreemptionContainerProto) []ContainerID {
	var out []ContainerID
	for _, p := range ps {
		out = append(out, containerIDFromProto(p.GetId()))
	}
	return out
}

// ---- small helpers ---------------------------------------------------------

func optTokenToProto(t *Token) *hadoopcommon.TokenProto {
	if t == nil {
		return nil
	}
	return tokenToProto(*t)
}

func optTokenFromProto(p *hadoopcommon.TokenProto) *Token {
	if p == nil {
		return nil
	}
	t := tokenFromProto(p)
	return &t
}

// optString leaves a proto2 string field absent when s is empty, so that
// Java applies the field's default.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

// derefString reads a proto2 string field by presence: absent is "", not
// the field's declared default.
func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// timeToMillis leaves the field absent for the zero time.
func timeToMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	return proto.Int64(t.UnixMilli())
}

// millisToTime reads Hadoop's "0 means never" convention; negative values
// count as never too.
func millisToTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// durationOf converts n units to a Duration, saturating instead of
// overflowing for counts beyond about 292 years.
func durationOf(n int64, unit time.Duration) time.Duration {
	if n > int64(math.MaxInt64/unit) {
		return math.MaxInt64 / unit * unit
	}
	if n < int64(math.MinInt64/unit) {
		return math.MinInt64 / unit * unit
	}
	return time.Duration(n) * unit
}

func isZeroResource(r Resource) bool {
	return r.MemoryMB == 0 && r.VCores == 0 && len(r.Custom) == 0
}

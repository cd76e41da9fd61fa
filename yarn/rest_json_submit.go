package yarn

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The body of a REST submission and of a state change.

// restSubmission is ApplicationSubmissionContextInfo. Fields left out take
// the DAO's defaults: priority undefined (the queue's default), no
// attempt-failures window (-1), no labels.
type restSubmission struct {
	ApplicationID                   string              `json:"application-id"`
	ApplicationName                 string              `json:"application-name"`
	Queue                           string              `json:"queue,omitempty"`
	Priority                        int32               `json:"priority"`
	AMContainerSpec                 restLaunchContext   `json:"am-container-spec"`
	UnmanagedAM                     bool                `json:"unmanaged-AM"`
	CancelTokensWhenComplete        bool                `json:"cancel-tokens-when-complete"`
	MaxAppAttempts                  int32               `json:"max-app-attempts,omitempty"`
	Resource                        restResource        `json:"resource"`
	ApplicationType                 string              `json:"application-type"`
	KeepContainers                  bool                `json:"keep-containers-across-application-attempts"`
	ApplicationTags                 *restTags           `json:"application-tags,omitempty"`
	AppNodeLabelExpression          string              `json:"app-node-label-expression,omitempty"`
	AMContainerNodeLabelExpression  string              `json:"am-container-node-label-expression,omitempty"`
	LogAggregationContext           *restLogAggregation `json:"log-aggregation-context,omitempty"`
	AttemptFailuresValidityInterval int64               `json:"attempt-failures-validity-interval,omitempty"`
}

type restTags struct {
	Tag []string `json:"tag"`
}

// restLaunchContext is ContainerLaunchContextInfo.
type restLaunchContext struct {
	LocalResources *jaxbMap[restLocalResource] `json:"local-resources,omitempty"`
	Environment    *jaxbMap[string]            `json:"environment,omitempty"`
	Commands       *restCommands               `json:"commands,omitempty"`
	ServiceData    *jaxbMap[string]            `json:"service-data,omitempty"`
	Credentials    *restCredentials            `json:"credentials,omitempty"`
	ACLs           *jaxbMap[string]            `json:"application-acls,omitempty"`
}

type restCommands struct {
	Command []string `json:"command"`
}

// restLocalResource is LocalResourceInfo.
type restLocalResource struct {
	Resource   string `json:"resource"`
	Type       string `json:"type"`
	Visibility string `json:"visibility"`
	Size       int64  `json:"size"`
	Timestamp  int64  `json:"timestamp"`
}

// restCredentials is CredentialsInfo: tokens as Token.encodeToUrlString,
// secrets in base64.
type restCredentials struct {
	Tokens  *jaxbMap[string] `json:"tokens,omitempty"`
	Secrets *jaxbMap[string] `json:"secrets,omitempty"`
}

type restLogAggregation struct {
	LogIncludePattern       string `json:"log-include-pattern,omitempty"`
	LogExcludePattern       string `json:"log-exclude-pattern,omitempty"`
	RolledLogIncludePattern string `json:"rolled-log-include-pattern,omitempty"`
	RolledLogExcludePattern string `json:"rolled-log-exclude-pattern,omitempty"`
	PolicyClassName         string `json:"log-aggregation-policy-class-name,omitempty"`
	PolicyParameters        string `json:"log-aggregation-policy-parameters,omitempty"`
}

// submissionToREST converts s, refusing what the REST API cannot carry
// rather than dropping it: the RM's DAO has no field for a lifetime,
// scheduling properties, custom resource types, a retry policy or token
// renewal configuration, and ignores a local resource's pattern and shared
// cache flag.
func submissionToREST(s *ApplicationSubmission) (*restSubmission, error) {
	var errs []string
	unsupported := func(field, why string) {
		errs = append(errs, "ApplicationSubmission."+field+" "+why)
	}
	if s.Lifetime != 0 {
		unsupported("Lifetime", "has no field in the REST submission; submit over RPC")
	}
	if len(s.SchedulingProperties) > 0 {
		unsupported("SchedulingProperties", "has no field in the REST submission; submit over RPC")
	}
	if len(s.AMResource.Custom) > 0 {
		unsupported("AMResource.Custom", "is ignored by the RM's REST submission (memory and vcores only); submit over RPC")
	}
	if s.AM.Retry != nil {
		unsupported("AM.Retry", "has no field in the REST submission")
	}
	if len(s.AM.TokensConf) > 0 {
		unsupported("AM.TokensConf", "has no field in the REST submission; submit over RPC")
	}
	for _, name := range slices.Sorted(maps.Keys(s.AM.LocalResources)) {
		lr := s.AM.LocalResources[name]
		if lr.Pattern != "" {
			unsupported("AM.LocalResources["+name+"].Pattern", "is ignored by the RM's REST submission; submit over RPC")
		}
		if lr.UploadToSharedCache {
			unsupported("AM.LocalResources["+name+"].UploadToSharedCache", "is ignored by the RM's REST submission; submit over RPC")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("not expressible in the REST API: %s", strings.Join(errs, "; "))
	}

	out := &restSubmission{
		ApplicationID:                   s.ID.String(),
		ApplicationName:                 s.Name,
		Queue:                           s.Queue,
		Priority:                        int32(s.Priority),
		UnmanagedAM:                     s.Unmanaged,
		CancelTokensWhenComplete:        !s.KeepTokensOnCompletion,
		MaxAppAttempts:                  s.MaxAttempts,
		Resource:                        restResource{Memory: s.AMResource.MemoryMB, VCores: s.AMResource.VCores},
		ApplicationType:                 s.Type,
		KeepContainers:                  s.KeepContainersAcrossAttempts,
		AppNodeLabelExpression:          s.NodeLabel,
		AMContainerNodeLabelExpression:  s.AMNodeLabel,
		AttemptFailuresValidityInterval: s.AttemptFailuresValidityInterval.Milliseconds(),
	}
	// The RPC record has defaults for these; the DAO's are empty strings.
	if out.ApplicationName == "" {
		out.ApplicationName = "N/A"
	}
	if out.ApplicationType == "" {
		out.ApplicationType = "YARN"
	}
	if len(s.Tags) > 0 {
		out.ApplicationTags = &restTags{Tag: slices.Clone(s.Tags)}
	}
	if l := s.LogAggregation; l != nil {
		out.LogAggregationContext = &restLogAggregation{
			LogIncludePattern:       l.IncludePattern,
			LogExcludePattern:       l.ExcludePattern,
			RolledLogIncludePattern: l.RolledLogsIncludePattern,
			RolledLogExcludePattern: l.RolledLogsExcludePattern,
			PolicyClassName:         l.PolicyClassName,
			PolicyParameters:        l.PolicyParameters,
		}
	}
	clc, err := launchContextToREST(&s.AM)
	if err != nil {
		return nil, err
	}
	out.AMContainerSpec = clc
	return out, nil
}

func launchContextToREST(c *ContainerLaunchContext) (restLaunchContext, error) {
	var out restLaunchContext
	var err error
	if out.LocalResources, err = newJAXBMap(c.LocalResources, func(lr LocalResource) (restLocalResource, error) {
		// The RM parses the URL with java.net.URI; check it as the RPC
		// conversion does, so both transports refuse the same URLs.
		if _, err := urlToProto(lr.URL); err != nil {
			return restLocalResource{}, err
		}
		return restLocalResource{
			Resource: lr.URL, Type: lr.Type.String(), Visibility: lr.Visibility.String(),
			Size: lr.Size, Timestamp: lr.Timestamp,
		}, nil
	}); err != nil {
		return out, fmt.Errorf("local resource %w", err)
	}
	out.Environment, _ = newJAXBMap(c.Environment, same[string])
	if len(c.Commands) > 0 {
		out.Commands = &restCommands{Command: slices.Clone(c.Commands)}
	}
	// The RM decodes service data with commons-codec's URL-safe decoder,
	// which reads the standard alphabet too.
	out.ServiceData, _ = newJAXBMap(c.ServiceData, func(b []byte) (string, error) {
		return base64.URLEncoding.EncodeToString(b), nil
	})
	out.ACLs, _ = newJAXBMap(aclNames(c.ACLs), same[string])
	if cr := c.Credentials; cr != nil && (cr.NumTokens() > 0 || cr.NumSecrets() > 0) {
		rc := &restCredentials{}
		tokens := map[string]Token{}
		for alias, t := range cr.Tokens() {
			tokens[alias] = t
		}
		if rc.Tokens, err = newJAXBMap(tokens, Token.URLString); err != nil {
			return out, fmt.Errorf("credentials: token %w", err)
		}
		secrets := map[string][]byte{}
		for alias, s := range cr.Secrets() {
			secrets[alias] = s
		}
		rc.Secrets, _ = newJAXBMap(secrets, func(b []byte) (string, error) {
			return base64.URLEncoding.EncodeToString(b), nil
		})
		out.Credentials = rc
	}
	return out, nil
}

func aclNames(acls map[ApplicationAccessType]string) map[string]string {
	if len(acls) == 0 {
		return nil
	}
	out := make(map[string]string, len(acls))
	for t, v := range acls {
		out[t.String()] = v
	}
	return out
}

// restAppState is AppState, the body of PUT .../apps/{id}/state.
type restAppState struct {
	State       string `json:"state"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

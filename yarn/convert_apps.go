package yarn

// Conversions of application submissions, reports and filters.

import (
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

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

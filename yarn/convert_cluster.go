package yarn

// Conversions of cluster metrics, node reports and queue information.

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/spindle-yarn/spindle/internal/proto/hadoopyarn"
)

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

package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	imetrics "github.com/spindle-yarn/spindle/internal/metrics"
)

// metrics are the engine's Prometheus collectors; a nil *metrics counts
// nothing.
type metrics struct {
	latency     prometheus.Histogram
	running     *prometheus.GaugeVec
	outstanding *prometheus.GaugeVec
	allocated   prometheus.Counter
	excess      prometheus.Counter
	ended       *prometheus.CounterVec
	excluded    prometheus.Gauge
	toTarget    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "spindle", Subsystem: "engine", Name: name, Help: help}
	}
	m := &metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "spindle", Subsystem: "engine",
			Name: "allocation_latency_seconds", Help: "Time from asking the ResourceManager for a container to receiving it.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("containers_running",
			"Containers started and not yet ended, by profile.")), []string{"profile"}),
		outstanding: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("containers_outstanding",
			"Containers asked of the ResourceManager and not yet allocated, by profile.")), []string{"profile"}),
		allocated: prometheus.NewCounter(prometheus.CounterOpts(opts("containers_allocated_total",
			"Containers the ResourceManager allocated."))),
		excess: prometheus.NewCounter(prometheus.CounterOpts(opts("containers_excess_total",
			"Allocated containers released at once because no profile wanted them."))),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts(opts("containers_ended_total",
			"Containers that ended or failed to start, by cause (succeeded, failed, preempted, ...).")), []string{"cause"}),
		excluded: prometheus.NewGauge(prometheus.GaugeOpts(opts("nodes_excluded",
			"Hosts on the ResourceManager's blacklist for this application."))),
		toTarget: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "spindle", Subsystem: "engine",
			Name: "time_to_target_seconds", Help: "Time from a profile falling short of its target to it running its target again.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}),
	}
	m.latency = imetrics.Register(reg, m.latency)
	m.running = imetrics.Register(reg, m.running)
	m.outstanding = imetrics.Register(reg, m.outstanding)
	m.allocated = imetrics.Register(reg, m.allocated)
	m.excess = imetrics.Register(reg, m.excess)
	m.ended = imetrics.Register(reg, m.ended)
	m.excluded = imetrics.Register(reg, m.excluded)
	m.toTarget = imetrics.Register(reg, m.toTarget)
	return m
}

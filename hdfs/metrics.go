package hdfs

import (
	"github.com/prometheus/client_golang/prometheus"

	spinmetrics "github.com/spindle-yarn/spindle/internal/metrics"
)

// metrics are a Client's Prometheus metrics; nil when the Config has no
// Registerer. Clients sharing a Registerer share them.
type metrics struct {
	uploaded prometheus.Counter
	reused   prometheus.Counter
	files    *prometheus.CounterVec
	calls    *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "uploaded_bytes_total",
			Help: "Bytes written to HDFS by staging.",
		}),
		reused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "reused_bytes_total",
			Help: "Bytes staging found already in the content-addressed cache and did not upload.",
		}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "staged_files_total",
			Help: "Dependencies staged, by outcome: uploaded, reused (cache hit) or referenced (an existing HDFS file).",
		}, []string{"outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "namenode_calls_total",
			Help: "NameNode RPC calls by method.",
		}, []string{"method"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "stage_duration_seconds",
			Help:    "Duration of Stage calls, hashing and uploads included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	m.uploaded = spinmetrics.Register(reg, m.uploaded)
	m.reused = spinmetrics.Register(reg, m.reused)
	m.files = spinmetrics.Register(reg, m.files)
	m.calls = spinmetrics.Register(reg, m.calls)
	m.duration = spinmetrics.Register(reg, m.duration)
	return m
}

package hdfs

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
			Help: "NameNode RPC calls by method: those of Spindle's own client exactly, those colinmarc/hdfs makes to write a file from its call sequence.",
		}, []string{"method"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "spindle", Subsystem: "hdfs", Name: "stage_duration_seconds",
			Help:    "Duration of Stage calls, hashing and uploads included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	m.uploaded = register(reg, m.uploaded)
	m.reused = register(reg, m.reused)
	m.files = register(reg, m.files)
	m.calls = register(reg, m.calls)
	m.duration = register(reg, m.duration)
	return m
}

// register registers c, or returns the collector already registered under
// the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

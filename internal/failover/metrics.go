package failover

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/spindle-yarn/spindle/internal/metrics"
)

// Metrics are what a Set counts. A nil field is not counted.
type Metrics struct {
	// Requests counts calls by method and outcome: ok, error, canceled or
	// no_active.
	Requests *prometheus.CounterVec
	// Latency observes calls' duration by method, failovers included.
	Latency *prometheus.HistogramVec
	// Failovers counts switches from one server to another.
	Failovers prometheus.Counter
}

// NewMetrics registers spindle_<subsystem>_requests_total,
// spindle_<subsystem>_request_duration_seconds and
// spindle_<subsystem>_failovers_total on reg; service names the servers in
// the help texts ("ResourceManager"). Nil reg means no metrics (nil).
// Clients sharing a registerer share the metrics.
func NewMetrics(reg prometheus.Registerer, subsystem, service string) *Metrics {
	if reg == nil {
		return nil
	}
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "requests_total",
			Help: "Calls by method and outcome (ok, error, canceled, no_active).",
		}, []string{"method", "outcome"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "request_duration_seconds",
			Help:    "Call latency, failovers and retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
		Failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "spindle", Subsystem: subsystem, Name: "failovers_total",
			Help: "Switches from one " + service + " to another.",
		}),
	}
	m.Requests = metrics.Register(reg, m.Requests)
	m.Latency = metrics.Register(reg, m.Latency)
	m.Failovers = metrics.Register(reg, m.Failovers)
	return m
}

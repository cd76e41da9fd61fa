// Package metrics holds what Spindle's clients share about Prometheus
// metrics: registering on a caller's Registerer so that several clients
// given the same Registerer share one set of collectors.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg, or, when a collector with the same
// description is already registered there (another client made it),
// returns that one so both clients count into it.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
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

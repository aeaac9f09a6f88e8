package alert

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one delivery attempt, the values of the result label.
const (
	resultDelivered = "delivered" // the sink accepted the page
	resultRetried   = "retried"   // a retryable failure; the outbox will try again
	resultDropped   = "dropped"   // a permanent failure (4xx, invalid, expired); not retried
)

// metrics are the outbox's Prometheus series.
type metrics struct {
	pages *prometheus.CounterVec
}

// newMetrics registers volfailover_pages_total on reg (nil: not exported).
// A collector already registered by another Outbox on the same registry is reused.
func newMetrics(reg prometheus.Registerer, sinks []Sink) (*metrics, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "volfailover",
		Name:      "pages_total",
		Help:      "Page delivery attempts by sink and result (delivered, retried, dropped).",
	}, []string{"sink", "result"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("register volfailover_pages_total: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("register volfailover_pages_total: existing collector is %T", are.ExistingCollector)
			}
			c = existing
		}
	}
	for _, s := range sinks {
		for _, r := range []string{resultDelivered, resultRetried, resultDropped} {
			c.WithLabelValues(s.Name(), r)
		}
	}
	return &metrics{pages: c}, nil
}

func (m *metrics) count(sink, result string) { m.pages.WithLabelValues(sink, result).Inc() }

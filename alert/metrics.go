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
	pages   *prometheus.CounterVec
	failing *prometheus.GaugeVec
	backlog prometheus.Gauge
	oldest  prometheus.Gauge
}

// newMetrics registers volfailover_pages_total and volfailover_paging_failing
// on reg (nil: not exported). Collectors already registered by another Outbox
// on the same registry are reused.
func newMetrics(reg prometheus.Registerer, sinks []Sink) (*metrics, error) {
	pages, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "volfailover",
		Name:      "pages_total",
		Help:      "Page delivery attempts by sink and result (delivered, retried, dropped).",
	}, []string{"sink", "result"}), "volfailover_pages_total")
	if err != nil {
		return nil, err
	}
	failing, err := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "volfailover",
		Name:      "paging_failing",
		Help:      "1 while the newest attempt to deliver a page to the sink failed; 0 once one succeeds.",
	}, []string{"sink"}), "volfailover_paging_failing")
	if err != nil {
		return nil, err
	}
	backlog, err := register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "volfailover",
		Name:      "outbox_entries",
		Help:      "Pages in the outbox at the leader's last delivery pass, delivered or not yet.",
	}), "volfailover_outbox_entries")
	if err != nil {
		return nil, err
	}
	oldest, err := register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "volfailover",
		Name:      "outbox_oldest_age_seconds",
		Help:      "Age of the oldest page in the outbox at the leader's last delivery pass (0 when empty): pages stuck in it are not reaching anyone.",
	}), "volfailover_outbox_oldest_age_seconds")
	if err != nil {
		return nil, err
	}
	for _, s := range sinks {
		for _, r := range []string{resultDelivered, resultRetried, resultDropped} {
			pages.WithLabelValues(s.Name(), r)
		}
		failing.WithLabelValues(s.Name())
	}
	return &metrics{pages: pages, failing: failing, backlog: backlog, oldest: oldest}, nil
}

// register adds c to reg, or returns the collector of the same name already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, name string) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return c, fmt.Errorf("register %s: %w", name, err)
		}
		existing, ok := are.ExistingCollector.(C)
		if !ok {
			return c, fmt.Errorf("register %s: existing collector is %T", name, are.ExistingCollector)
		}
		return existing, nil
	}
	return c, nil
}

func (m *metrics) count(sink, result string) { m.pages.WithLabelValues(sink, result).Inc() }

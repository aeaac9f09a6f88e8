package controller

import (
	"net"

	"github.com/volfailover/volfailover/health"
)

// newPolicy builds the verdict policy from the options: a witness report counts
// while it is younger than the refresh interval plus three rounds.
func newPolicy(o Options) health.Policy {
	p := health.DefaultPolicy()
	p.Threshold = o.FailureThreshold
	p.MaxReportAge = o.WitnessRefresh + 3*o.RoundInterval
	p.MinUnreachable = o.MinUnreachable
	return p
}

// newHTTPProber probes agents' /healthz within one probe timeout, one retry included.
func newHTTPProber(o Options) *health.HTTPProber {
	ho := health.DefaultHTTPProberOptions()
	ho.Timeout = o.ProbeTimeout / 2
	ho.RetryWaitMin = o.ProbeTimeout / 10
	ho.RetryWaitMax = o.ProbeTimeout / 5
	ho.Logger = o.Logger
	// Probes leave from this host's own address, so a fault between two
	// hosts cuts exactly their probes (and the sandbox can model one).
	ho.Source = net.ParseIP(o.PrivateIP)
	p, err := health.NewHTTPProber(ho)
	if err != nil {
		// The options are derived from validated ones; the zero prober uses the defaults.
		o.Logger.Warn().Err(err).Msg("health prober options rejected; using defaults")
		return &health.HTTPProber{}
	}
	return p
}

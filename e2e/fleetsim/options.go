package fleetsim

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// Options configures a Sim. Zero durations take their defaults.
type Options struct {
	// MachineTTL is fleet's agent_ttl: a machine whose heartbeat stops drops
	// out of the machine list this long after; unit states and unit
	// heartbeats live this long unless refreshed. Default 30s.
	MachineTTL time.Duration
	// EngineInterval is engine_reconcile_interval. Default 2s.
	EngineInterval time.Duration
	// AgentInterval is the agent reconcile period. Default 5s.
	AgentInterval time.Duration
	// StatePollInterval is how often an agent polls its executor (fleet polls
	// systemd every second) and publishes changed unit states. Default 1s.
	StatePollInterval time.Duration
	// TokenLimit is the page size of list endpoints (fleet's token_limit).
	// Default 100; valid range 1..65535.
	TokenLimit int
	// Clock drives every loop and TTL; nil = the real clock.
	Clock clock.WithTicker
	// Executor runs units; nil = a new MemExecutor on Clock.
	Executor Executor
	// Logger receives the sim's decisions; default zerolog.Nop().
	Logger zerolog.Logger
	// Version is reported in the Server header as fleetd/<Version>. Default "1.0.0".
	Version string
}

// DefaultOptions returns fleet's defaults.
func DefaultOptions() Options {
	return Options{
		MachineTTL:        30 * time.Second,
		EngineInterval:    2 * time.Second,
		AgentInterval:     5 * time.Second,
		StatePollInterval: time.Second,
		TokenLimit:        100,
		Logger:            zerolog.Nop(),
		Version:           "1.0.0",
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MachineTTL == 0 {
		o.MachineTTL = d.MachineTTL
	}
	if o.EngineInterval == 0 {
		o.EngineInterval = d.EngineInterval
	}
	if o.AgentInterval == 0 {
		o.AgentInterval = d.AgentInterval
	}
	if o.StatePollInterval == 0 {
		o.StatePollInterval = d.StatePollInterval
	}
	if o.TokenLimit == 0 {
		o.TokenLimit = d.TokenLimit
	}
	if o.Version == "" {
		o.Version = d.Version
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Executor == nil {
		o.Executor = NewMemExecutor(o.Clock)
	}
	return o
}

// Validate rejects negative durations and an impossible page size.
func (o Options) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MachineTTL", o.MachineTTL}, {"EngineInterval", o.EngineInterval},
		{"AgentInterval", o.AgentInterval}, {"StatePollInterval", o.StatePollInterval},
	} {
		if d.v < 0 {
			return fmt.Errorf("fleetsim options: %s must not be negative, got %s", d.name, d.v)
		}
	}
	if o.TokenLimit < 0 || o.TokenLimit > 65535 {
		return fmt.Errorf("fleetsim options: TokenLimit must be in 1..65535, got %d", o.TokenLimit)
	}
	return nil
}

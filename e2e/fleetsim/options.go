package fleetsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// Options configures a Sim. Zero durations take their defaults, which are
// fleet v1.0.0's own: a sim built from DefaultOptions schedules with the
// delays a real cluster has, so a client that only works because the
// emulator was quicker than fleet fails here first. Tests that need speed
// shorten the intervals explicitly, or set Instant.
type Options struct {
	// MachineTTL is fleet's agent_ttl: a machine whose heartbeat stops drops
	// out of the machine list this long after; unit states and unit
	// heartbeats live this long unless refreshed. Default 30s.
	MachineTTL time.Duration
	// EngineInterval is engine_reconcile_interval: the engine reconciles
	// this long after its previous pass, whether that pass came from the
	// timer or from its watch (pkg/reconcile.go resets the timer on every
	// pass). Default 2s.
	EngineInterval time.Duration
	// AgentInterval is the agent's reconcile period, reset the same way
	// (agent/reconcile.go reconcileInterval, a constant 5s in fleet).
	// Default 5s.
	AgentInterval time.Duration
	// EngineWatchSleep is how long the engine's registry watch sleeps after
	// it sees a change under fleet's job keys before it wakes the engine
	// (registry/event.go watch: time.Sleep(time.Second) after every
	// response). Changes made while it sleeps are lost to the watch; only
	// writes of a job's target or target-state wake the engine, any other
	// job key (a unit's object, its heartbeat) just costs the sleep.
	// Default 1s.
	EngineWatchSleep time.Duration
	// AgentWatchSleep is the same for each agent's own watch (fleetd gives
	// the agent reconciler the same registry event stream, server/server.go).
	// Default 1s.
	AgentWatchSleep time.Duration
	// StatePollInterval is how often an agent polls its executor (fleet polls
	// systemd every second) and publishes changed unit states. Default 1s.
	StatePollInterval time.Duration
	// StateRemovalDelay is how long after an agent unloads a unit (and
	// triggers its stop without waiting for it) the unit's /state entries
	// disappear: fleet's unit-state generator drops an unsubscribed unit on
	// its next 1-second tick (unit/generator.go), whether or not the process
	// has exited. Default 1s, the upper bound of that tick.
	StateRemovalDelay time.Duration
	// Instant makes every PUT and DELETE run an engine pass at once and wake
	// every agent at once, and every engine pass wake the agents whose
	// assignments changed at once, with no watch sleep. Real fleet never
	// does this; it is for unit tests of the scheduling rules that do not
	// want to drive a clock. Default false.
	Instant bool
	// TokenLimit is the page size of list endpoints (fleet's token_limit).
	// Default 100; valid range 1..65535.
	TokenLimit int
	// Clock drives every loop and TTL; nil = the real clock.
	Clock clock.WithTicker
	// Executor runs units; nil = a new MemExecutor on Clock.
	Executor Executor
	// Logger receives the sim's decisions; default zerolog.Nop().
	Logger zerolog.Logger
	// Version is the fleet version the sim behaves as, MAJOR.MINOR.PATCH,
	// and reports in the Server header as fleetd/<Version>. Default "1.0.0".
	// Versions before 1.0.0 have no dynamic machine metadata: PATCH
	// /fleet/v1/machines answers 400 "only HTTP GET supported against this
	// resource", as fleet v0.11.0 to v0.13.0 do (api/machines.go at tag
	// v0.13.0); set "0.13.0" to test a client against such a cluster.
	Version string
}

// DefaultOptions returns fleet's defaults.
func DefaultOptions() Options {
	return Options{
		MachineTTL:        30 * time.Second,
		EngineInterval:    2 * time.Second,
		AgentInterval:     5 * time.Second,
		EngineWatchSleep:  time.Second,
		AgentWatchSleep:   time.Second,
		StatePollInterval: time.Second,
		StateRemovalDelay: time.Second,
		TokenLimit:        100,
		Logger:            zerolog.Nop(),
		Version:           "1.0.0",
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	for _, f := range []struct{ v, d *time.Duration }{
		{&o.MachineTTL, &d.MachineTTL}, {&o.EngineInterval, &d.EngineInterval},
		{&o.AgentInterval, &d.AgentInterval}, {&o.EngineWatchSleep, &d.EngineWatchSleep},
		{&o.AgentWatchSleep, &d.AgentWatchSleep}, {&o.StatePollInterval, &d.StatePollInterval},
		{&o.StateRemovalDelay, &d.StateRemovalDelay},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
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

// Validate rejects negative durations, an impossible page size and a
// version that is not MAJOR.MINOR.PATCH.
func (o Options) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MachineTTL", o.MachineTTL}, {"EngineInterval", o.EngineInterval},
		{"AgentInterval", o.AgentInterval}, {"EngineWatchSleep", o.EngineWatchSleep},
		{"AgentWatchSleep", o.AgentWatchSleep}, {"StatePollInterval", o.StatePollInterval},
		{"StateRemovalDelay", o.StateRemovalDelay},
	} {
		if d.v < 0 {
			return fmt.Errorf("fleetsim options: %s must not be negative, got %s", d.name, d.v)
		}
	}
	if o.TokenLimit < 0 || o.TokenLimit > 65535 {
		return fmt.Errorf("fleetsim options: TokenLimit must be in 1..65535, got %d", o.TokenLimit)
	}
	if o.Version != "" {
		if _, err := parseVersion(o.Version); err != nil {
			return fmt.Errorf("fleetsim options: Version: %w", err)
		}
	}
	return nil
}

// parseVersion reads MAJOR.MINOR.PATCH into three numbers.
func parseVersion(v string) ([3]int, error) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("%q is not MAJOR.MINOR.PATCH", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, fmt.Errorf("%q is not MAJOR.MINOR.PATCH", v)
		}
		out[i] = n
	}
	return out, nil
}

// dynamicMetadata reports whether the version has PATCH /machines, which
// fleet added in v1.0.0 (commit 6a82e03c "Import implementation for dynamic
// metadata").
func (o Options) dynamicMetadata() bool {
	v, err := parseVersion(o.Version)
	return err != nil || v[0] >= 1
}

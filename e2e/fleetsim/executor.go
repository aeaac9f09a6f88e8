package fleetsim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Executor runs units on behalf of a machine's agent: the sandbox starts real
// processes, tests use MemExecutor. Calls for one machine come from that
// machine's agent one at a time; calls for different machines may overlap.
type Executor interface {
	// Start triggers the start of u on the machine (systemd "start" job). An
	// error means the start failed; Status must then report it (e.g. failed).
	Start(ctx context.Context, machineID string, u UnitFile) error
	// Stop triggers the stop of the unit on the machine and returns without
	// waiting for its processes to exit, as systemd's StopUnit job does for
	// fleet's agent (systemd/manager.go TriggerStop). Until they exit, or
	// the unit's TimeoutStopSec ends and they are killed, Status reports
	// "deactivating". Stopping a stopped unit is not an error.
	Stop(ctx context.Context, machineID, unitName string) error
	// Status reports the systemd active and sub state, e.g. "active",
	// "running" or "inactive", "dead" for a unit never started.
	Status(machineID, unitName string) (active, sub string)
}

// HostKiller is implemented by executors that can model the death of a host:
// KillMachine is told that every process of the machine died with it. The
// Sim calls it from KillMachine when the executor implements it.
type HostKiller interface {
	KillMachine(machineID string)
}

// MemExecutor is an in-memory Executor: units are "running" as soon as
// Start returns and gone as soon as Stop is triggered, unless a test made
// them fail, take time to start, or take time to exit.
// It is safe for concurrent use.
type MemExecutor struct {
	clk clock.PassiveClock

	mu         sync.Mutex
	units      map[memKey]*memUnit
	fail       map[string]bool          // unit name -> Start fails
	delays     map[string]time.Duration // unit name -> time in "activating"
	stopDelays map[string]time.Duration // unit name -> time its process takes to exit
	starts     map[memKey]int
}

type memKey struct{ machine, unit string }

type memUnit struct {
	file    UnitFile
	state   string    // active | activating | deactivating | failed
	readyAt time.Time // activating: when it becomes active
	goneAt  time.Time // deactivating: when its process has exited
}

// NewMemExecutor returns an empty MemExecutor reading time from clk (nil =
// the real clock), which decides when a delayed start becomes active.
func NewMemExecutor(clk clock.PassiveClock) *MemExecutor {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &MemExecutor{
		clk:        clk,
		units:      map[memKey]*memUnit{},
		fail:       map[string]bool{},
		delays:     map[string]time.Duration{},
		stopDelays: map[string]time.Duration{},
		starts:     map[memKey]int{},
	}
}

// FailStarts makes every later Start of unitName fail (fail=true) or succeed
// again (fail=false), to model a unit that crashes on start.
func (e *MemExecutor) FailStarts(unitName string, fail bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail[unitName] = fail
}

// SetStartDelay makes later starts of unitName stay "activating" for d on
// the executor's clock before they report "active".
func (e *MemExecutor) SetStartDelay(unitName string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.delays[unitName] = d
}

// SetStopDelay makes the process of unitName take d on the executor's clock
// to exit after a later Stop, the way `docker stop -t 110` or a Postgres
// checkpoint does; meanwhile Status reports deactivating/stop-sigterm. The
// unit's TimeoutStopSec (systemd's default 90s when unset) caps d, as
// systemd kills what is left when it ends.
func (e *MemExecutor) SetStopDelay(unitName string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopDelays[unitName] = d
}

// Start implements Executor.
func (e *MemExecutor) Start(_ context.Context, machineID string, u UnitFile) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := memKey{machineID, u.Name}
	e.starts[k]++
	if e.fail[u.Name] {
		e.units[k] = &memUnit{file: u, state: "failed"}
		return fmt.Errorf("start %s on %s: unit failed to start", u.Name, machineID)
	}
	mu := &memUnit{file: u, state: "active"}
	if d := e.delays[u.Name]; d > 0 {
		mu.state = "activating"
		mu.readyAt = e.clk.Now().Add(d)
	}
	e.units[k] = mu
	return nil
}

// Stop implements Executor: the unit is gone at once, or deactivating for
// its stop delay capped by its TimeoutStopSec.
func (e *MemExecutor) Stop(_ context.Context, machineID, unitName string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := memKey{machineID, unitName}
	u, ok := e.units[k]
	if !ok || u.state == "deactivating" {
		return nil
	}
	d := e.stopDelays[unitName]
	if timeout, err := TimeoutStopSec(u.file); err == nil && timeout > 0 && d > timeout {
		d = timeout
	}
	if d <= 0 || u.state == "failed" {
		delete(e.units, k)
		return nil
	}
	u.state, u.goneAt = "deactivating", e.clk.Now().Add(d)
	return nil
}

// Status implements Executor.
func (e *MemExecutor) Status(machineID, unitName string) (string, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := memKey{machineID, unitName}
	u, ok := e.units[k]
	if !ok {
		return "inactive", "dead"
	}
	now := e.clk.Now()
	if u.state == "activating" && !now.Before(u.readyAt) {
		u.state = "active"
	}
	if u.state == "deactivating" && !now.Before(u.goneAt) {
		delete(e.units, k)
		return "inactive", "dead"
	}
	switch u.state {
	case "active":
		return "active", "running"
	case "activating":
		return "activating", "start"
	case "deactivating":
		return "deactivating", "stop-sigterm"
	default:
		return "failed", "failed"
	}
}

// KillMachine implements HostKiller: every unit of the machine is gone.
func (e *MemExecutor) KillMachine(machineID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.units {
		if k.machine == machineID {
			delete(e.units, k)
		}
	}
}

// Units returns the names of the units the executor holds for a machine in
// any state (active, activating, deactivating or failed), sorted.
func (e *MemExecutor) Units(machineID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	var out []string
	for k, u := range e.units {
		if u.state == "deactivating" && !now.Before(u.goneAt) {
			delete(e.units, k)
			continue
		}
		if k.machine == machineID {
			out = append(out, k.unit)
		}
	}
	sort.Strings(out)
	return out
}

// StartCount returns how many times Start was called for the unit on the
// machine, so tests can see restarts.
func (e *MemExecutor) StartCount(machineID, unitName string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.starts[memKey{machineID, unitName}]
}

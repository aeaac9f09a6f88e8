package fleetsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// at moves the fake clock to start+d exactly.
func (e *env) at(start time.Time, d time.Duration) {
	e.t.Helper()
	e.clk.SetTime(start.Add(d))
}

// watchesIdle reports whether no watch of the sim is sleeping, so that the
// next registry write is seen by all of them.
func (e *env) watchesIdle() bool {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	if e.sim.engineWatch.sleeping {
		return false
	}
	for _, a := range e.sim.agents {
		if a.watch.sleeping {
			return false
		}
	}
	return true
}

func (e *env) assigned(unit string) string {
	got, _ := e.sim.Assignment(unit)
	return got
}

// A desired-state PUT wakes the engine one watch sleep later and the agents
// one (their own) watch sleep later; the agent's watch, already asleep,
// misses the engine's write of the target, so the start waits for the
// agent's own wake-up (registry/event.go, pkg/reconcile.go).
func TestDesiredStateWakesEngineAfterWatchSleep(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.EngineInterval, o.AgentInterval = time.Hour, time.Hour // only the watches act
		o.AgentWatchSleep = 1500 * time.Millisecond
	})
	e.addMachine(idA, nil)
	e.must(201, "PUT", "/fleet/v1/units/web.service", `{"options":[{"section":"Service","name":"ExecStart","value":"/bin/web"}]}`)
	e.sim.Start()
	e.clk.Step(1500 * time.Millisecond) // the create's event put every watch to sleep
	e.settled(e.watchesIdle, "watches idle before the PUT")
	t0 := e.clk.Now()

	e.must(204, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"launched"}`)
	e.at(t0, 999*time.Millisecond)
	e.quiet(func() bool { return e.assigned("web.service") != "" }, "the engine must not pass before its watch sleep ends")
	e.at(t0, time.Second)
	e.settled(func() bool { return e.assigned("web.service") == idA }, "engine placed the unit one watch sleep after the PUT")

	e.at(t0, 1499*time.Millisecond)
	e.quiet(func() bool { return len(e.sim.Running("web.service")) > 0 }, "the agent must not start the unit before its own watch sleep ends")
	e.at(t0, 1500*time.Millisecond)
	e.settled(func() bool { return equalIDs(e.sim.Running("web.service"), []string{idA}) }, "agent started the unit when its watch woke it")
}

// Creating a unit writes its object before its target-state: every watch
// returns the object write and misses the rest, so only the engine's timer
// places a new unit (registry/job.go CreateUnit).
func TestCreateWaitsForEngineTimer(t *testing.T) {
	e := newEnv(t)
	e.addMachine(idA, nil)
	e.sim.Start()
	t0 := e.clk.Now()
	e.settled(e.watchesIdle, "watches idle before the PUT")
	e.must(201, "PUT", "/fleet/v1/units/web.service", `{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/bin/web"}]}`)
	e.at(t0, testEngine-time.Millisecond)
	e.quiet(func() bool { return e.assigned("web.service") != "" }, "a create must not wake the engine")
	e.at(t0, testEngine)
	e.settled(func() bool { return e.assigned("web.service") == idA }, "the engine's timer placed the new unit")
}

// A metadata PATCH wakes nobody (machine keys are not watched); re-PUTting
// desiredState=launched on a unit that already has it is an etcd Set of the
// same value, which is still an event, so it wakes the engine one watch
// sleep later instead of at its next timer. This is the controller's nudge.
func TestSameStatePutWakesEngine(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.EngineInterval = 10 * time.Second })
	e.addMachine(idA, nil)
	e.addMachine(idB, nil)
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.sim.Start()
	require.Empty(t, e.assigned(pgName), "no machine carries postgres=vol-1 yet")
	e.clk.Step(time.Second) // the create's event put every watch to sleep
	e.settled(e.watchesIdle, "watches idle")
	t0 := e.clk.Now()

	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idB, "postgres", "vol-1"))
	e.at(t0, 5*time.Second)
	e.quiet(func() bool { return e.assigned(pgName) != "" }, "a PATCH must not wake the engine")

	e.must(204, "PUT", "/fleet/v1/units/"+pgName, `{"desiredState":"launched"}`)
	e.at(t0, 5*time.Second+999*time.Millisecond)
	e.quiet(func() bool { return e.assigned(pgName) != "" }, "not before the watch sleep ends")
	e.at(t0, 6*time.Second)
	e.settled(func() bool { return e.assigned(pgName) == idB }, "the same-state PUT woke the engine 4 s before its timer")
	e.eventually(func() bool { return equalIDs(e.sim.Running(pgName), []string{idB}) }, "unit running on %s", idB)
}

// Without the nudge the PATCH waits for the engine's timer, which restarts
// from every pass: the next periodic pass is EngineInterval after the last.
func TestEngineTimerRestartsFromEveryPass(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.EngineInterval = 10 * time.Second })
	e.addMachine(idA, nil)
	e.addMachine(idB, nil)
	e.must(201, "PUT", "/fleet/v1/units/"+pgName, pgUnit)
	e.sim.Start() // engine timer at t0+9s
	e.clk.Step(time.Second)
	e.settled(e.watchesIdle, "watches idle")
	t0 := e.clk.Now()

	// A watch-woken pass at t0+1s moves the timer from t0+9s to t0+11s.
	e.must(204, "PUT", "/fleet/v1/units/"+pgName, `{"desiredState":"launched"}`)
	e.at(t0, time.Second)
	e.settled(func() bool { return e.engineTimerAt(t0.Add(11 * time.Second)) }, "engine timer restarted by the pass at t0+1s")
	e.settled(e.watchesIdle, "watches idle")

	e.must(204, "PATCH", "/fleet/v1/machines", patchBody("add", idB, "postgres", "vol-1"))
	e.at(t0, 10*time.Second)
	e.quiet(func() bool { return e.assigned(pgName) != "" }, "no pass at the old timer")
	e.at(t0, 11*time.Second)
	e.settled(func() bool { return e.assigned(pgName) == idB }, "the restarted timer placed the unit")
}

// engineTimerAt reports whether the engine's timer was last set to fire at t.
func (e *env) engineTimerAt(t time.Time) bool {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	return e.sim.nextEnginePass.Equal(t)
}

// Instant mode: a PUT runs the engine and starts the unit with no time
// passing, for tests of the rules rather than of the timing.
func TestInstantMode(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Instant = true })
	e.addMachine(idA, nil)
	e.sim.Start()
	e.putUnit("web.service", "/bin/web")
	e.settled(func() bool { return equalIDs(e.sim.Running("web.service"), []string{idA}) }, "running at once")
}

// States reach /state only on the agent's 1-second generator tick, never
// from the reconcile that started the unit (agent/unit_state.go).
func TestStatePublishedOnPollTick(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Instant = true })
	e.addMachine(idA, nil)
	e.sim.Start()
	t0 := e.clk.Now()
	e.putUnit("web.service", "/bin/web")
	e.settled(func() bool { return equalIDs(e.sim.Running("web.service"), []string{idA}) }, "started at once")
	e.quiet(func() bool { return len(e.states("?unitName=web.service")) > 0 }, "no state before the generator's tick")
	e.at(t0, time.Second)
	e.settled(func() bool {
		st := e.states("?unitName=web.service")
		return len(st) == 1 && st[0].SystemdActiveState == "active"
	}, "state published on the tick")
}

package fleetsim

import (
	"context"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Unit desired/current states as fleet spells them.
const (
	stateInactive = "inactive"
	stateLoaded   = "loaded"
	stateLaunched = "launched"
)

func validState(s string) bool {
	return s == stateInactive || s == stateLoaded || s == stateLaunched
}

// agent is one machine's fleet agent: it loads, starts and stops the units
// the engine placed there (and the matching global units) through the
// executor, and publishes their systemd states.
type agent struct {
	s     *Sim
	id    string
	kc    chan struct{}
	watch *watch
	mu    sync.Mutex // serialises passes; guards the fields below
	have  map[string]*localUnit
	pub   map[string]stateEntry // last state published per unit (change detection)
	full  time.Time             // last full re-publish
}

// localUnit is a unit loaded into the machine's "systemd".
type localUnit struct {
	file    UnitFile
	hash    string
	started bool
}

type wantUnit struct {
	file  UnitFile
	hash  string
	state string // loaded | launched
}

func newAgent(s *Sim, id string) *agent {
	a := &agent{s: s, id: id, kc: make(chan struct{}, 1), have: map[string]*localUnit{}, pub: map[string]stateEntry{}}
	a.watch = &watch{name: id, sleep: s.opts.AgentWatchSleep, wake: a.kick}
	return a
}

func (s *Sim) startAgentLocked(a *agent) {
	s.wg.Add(1)
	go a.loop(s.ctx, s.clk.NewTimer(s.opts.AgentInterval), s.clk.NewTicker(s.opts.StatePollInterval))
}

// loop reconciles once at start, then whenever its timer fires or its watch
// wakes it, restarting the timer from every pass as fleet's
// PeriodicReconciler does (pkg/reconcile.go, agent/reconcile.go); it polls
// unit states on a fixed tick (unit/generator.go). The timers are created by
// the caller so they are on the clock before it returns.
func (a *agent) loop(ctx context.Context, rec clock.Timer, poll clock.Ticker) {
	defer a.s.wg.Done()
	defer poll.Stop()
	a.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			rec.Stop()
			return
		case <-rec.C():
		case <-a.kc:
			rec.Stop()
		case <-poll.C():
			a.poll()
			continue
		}
		rec = a.s.clk.NewTimer(a.s.opts.AgentInterval)
		a.reconcile(ctx)
	}
}

// kick asks for a reconcile now: the agent's watch firing, a machine coming
// back, or (Instant mode) a request.
func (a *agent) kick() {
	select {
	case a.kc <- struct{}{}:
	default:
	}
}

func (a *agent) kickNow() { a.kick() }

// connected reports whether the agent can talk to etcd (its machine is up).
func (a *agent) connected() bool {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	m, ok := a.s.machines[a.id]
	return ok && m.mode == modeUp
}

// desiredLocked is fleet's desiredAgentState: units assigned here with a
// desired state other than inactive, then matching global units that do not
// conflict with what is already desired, in name order.
func (a *agent) desiredLocked() map[string]wantUnit {
	s := a.s
	names := make([]string, 0, len(s.units))
	for n := range s.units {
		names = append(names, n)
	}
	sort.Strings(names)
	view := &agentView{id: a.id, units: map[string]*unit{}}
	if m, ok := s.machines[a.id]; ok {
		view.meta = s.metadataLocked(m)
	}
	want := map[string]wantUnit{}
	for _, n := range names {
		u := s.units[n]
		if !u.global && u.target == a.id && u.desired != stateInactive {
			view.units[n] = u
			want[n] = wantUnit{file: u.file(), hash: u.hash, state: u.desired}
		}
	}
	for _, n := range names {
		u := s.units[n]
		if !u.global || u.desired == stateInactive {
			continue
		}
		if !hasMetadata(view.meta, u.req.metadata()) || view.hasConflict(n, u.req.conflicts()) {
			continue
		}
		view.units[n] = u
		want[n] = wantUnit{file: u.file(), hash: u.hash, state: u.desired}
	}
	return want
}

// reconcile runs one agent pass.
func (a *agent) reconcile(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.s.mu.Lock()
	m, ok := a.s.machines[a.id]
	if !ok || m.mode != modeUp {
		a.s.mu.Unlock()
		return
	}
	want := a.desiredLocked()
	a.s.mu.Unlock()

	for _, n := range sortedKeys(a.have) {
		if _, ok := want[n]; !ok {
			a.unload(ctx, n, "no longer desired here")
		}
	}
	for _, n := range sortedKeys(want) {
		w := want[n]
		if l, ok := a.have[n]; ok && l.hash != w.hash {
			a.unload(ctx, n, "unit file changed")
		}
		l, ok := a.have[n]
		if !ok {
			l = &localUnit{file: w.file, hash: w.hash}
			a.have[n] = l
			a.s.log.Info().Str("machine", a.id).Str("unit", n).Msg("agent loaded unit")
		}
		switch {
		case w.state == stateLaunched && !l.started:
			// agent/agent.go startUnit: heartbeat first, then the start job.
			l.started = true
			a.s.mu.Lock()
			a.s.heartbeats[n] = unitHeartbeat{machine: a.id, expires: a.s.clk.Now().Add(a.s.opts.MachineTTL)}
			a.s.notifyLocked(evOther)
			a.s.mu.Unlock()
			if err := a.s.exec.Start(ctx, a.id, l.file); err != nil {
				a.s.log.Warn().Err(err).Str("machine", a.id).Str("unit", n).Msg("agent start failed")
			} else {
				a.s.log.Info().Str("machine", a.id).Str("unit", n).Msg("agent started unit")
			}
		case w.state == stateLoaded && l.started:
			a.stop(ctx, n)
			l.started = false
		}
	}
	// No publishing here: fleet's agent only subscribes the unit, and its
	// states reach /state on the next tick of the 1-second unit-state
	// generator (agent/agent.go loadUnit, unit/generator.go Run,
	// agent/unit_state.go), which poll models.
}

// stop clears a started unit's heartbeat and triggers its stop without
// waiting for it, as fleet's stopUnit does (agent/agent.go; systemd/manager.go
// TriggerStop calls StopUnit with no result channel). The process may run
// on until it exits or its TimeoutStopSec ends; the executor says so.
func (a *agent) stop(ctx context.Context, name string) {
	a.s.mu.Lock()
	delete(a.s.heartbeats, name)
	a.s.notifyLocked(evOther)
	a.s.mu.Unlock()
	if err := a.s.exec.Stop(ctx, a.id, name); err != nil {
		a.s.log.Warn().Err(err).Str("machine", a.id).Str("unit", name).Msg("agent stop failed")
		return
	}
	a.s.log.Info().Str("machine", a.id).Str("unit", name).Msg("agent triggered unit stop")
}

// unload is fleet's unloadUnit (agent/agent.go): clear the heartbeat,
// trigger the stop without waiting, stop watching the unit's state, remove
// it. The unit-state generator then drops the unsubscribed unit on its next
// tick, deleting its /state entries for every machine (unit/generator.go,
// registry/unit_state.go RemoveUnitState, spec §7.3): here StateRemovalDelay
// after the trigger, whether or not the process has exited by then. Until
// then /state keeps the last state published, nothing newer.
func (a *agent) unload(ctx context.Context, name, why string) {
	l := a.have[name]
	if l.started {
		a.stop(ctx, name)
	}
	delete(a.have, name)
	delete(a.pub, name)
	a.s.mu.Lock()
	delete(a.s.heartbeats, name)
	a.s.afterLocked(a.s.opts.StateRemovalDelay, func() { a.dropState(name) })
	a.s.mu.Unlock()
	a.s.log.Info().Str("machine", a.id).Str("unit", name).Str("reason", why).Msg("agent unloaded unit")
}

// dropState is the generator's removal of an unloaded unit's states, unless
// the agent loaded the unit again meanwhile (a restart after a unit file
// change subscribes it again before the tick) or its host went down.
func (a *agent) dropState(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, loaded := a.have[name]; loaded {
		return
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if m, ok := a.s.machines[a.id]; !ok || m.mode != modeUp {
		return
	}
	delete(a.s.states, name)
	a.s.log.Info().Str("machine", a.id).Str("unit", name).Msg("agent removed unit states")
}

// poll is fleet's unit-state generator tick (unit/generator.go, every
// second on a fixed ticker) feeding its publisher (agent/unit_state.go):
// publish states that changed, and re-publish everything (refreshing TTLs
// and heartbeats) every 4/5 of the TTL. It is the only way a state reaches
// /state, so a unit started or stopped shows there up to one poll later.
func (a *agent) poll() {
	if !a.connected() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.publishLocked(false)
}

func (a *agent) publishLocked(force bool) {
	now := a.s.clk.Now()
	ttl := a.s.opts.MachineTTL
	full := force || now.Sub(a.full) >= ttl*4/5
	if full {
		a.full = now
	}
	type pubItem struct {
		name string
		e    stateEntry
	}
	var items []pubItem
	for _, n := range sortedKeys(a.have) {
		l := a.have[n]
		// systemd reports what the unit does, started or not: a unit
		// stopped to "loaded" reads deactivating until its process exits.
		active, sub := a.s.exec.Status(a.id, n)
		e := stateEntry{hash: l.hash, load: "loaded", active: active, sub: sub}
		if prev, ok := a.pub[n]; ok && !full && prev.hash == e.hash && prev.active == e.active && prev.sub == e.sub {
			continue
		}
		a.pub[n] = e
		items = append(items, pubItem{n, e})
	}
	if len(items) == 0 && !full {
		return
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	m, ok := a.s.machines[a.id]
	if !ok || m.mode != modeUp {
		return
	}
	for _, it := range items {
		e := it.e
		e.expires = now.Add(ttl)
		if a.s.states[it.name] == nil {
			a.s.states[it.name] = map[string]*stateEntry{}
		}
		a.s.states[it.name][a.id] = &e
	}
	if full {
		beat := false
		for n, l := range a.have {
			if l.started {
				a.s.heartbeats[n] = unitHeartbeat{machine: a.id, expires: now.Add(ttl)}
				beat = true
			}
		}
		if beat {
			a.s.notifyLocked(evOther)
		}
	}
}

// reboot forgets everything the machine's systemd had loaded (host death).
func (a *agent) reboot() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.have = map[string]*localUnit{}
	a.pub = map[string]stateEntry{}
	a.full = time.Time{}
}

// stopAll stops every started unit at Close, unless the host is dead.
func (a *agent) stopAll(ctx context.Context) {
	a.s.mu.Lock()
	m, ok := a.s.machines[a.id]
	dead := !ok || m.mode == modeKilled
	a.s.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if dead {
		return
	}
	for _, n := range sortedKeys(a.have) {
		if a.have[n].started {
			a.stop(ctx, n)
			a.have[n].started = false
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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
	s    *Sim
	id   string
	kc   chan struct{}
	mu   sync.Mutex // serialises passes; guards the fields below
	have map[string]*localUnit
	pub  map[string]stateEntry // last state published per unit (change detection)
	full time.Time             // last full re-publish
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
	return &agent{s: s, id: id, kc: make(chan struct{}, 1), have: map[string]*localUnit{}, pub: map[string]stateEntry{}}
}

func (s *Sim) startAgentLocked(a *agent) {
	s.wg.Add(1)
	go a.loop(s.ctx, s.clk.NewTicker(s.opts.AgentInterval), s.clk.NewTicker(s.opts.StatePollInterval))
}

// loop reconciles on every tick and kick and polls states; the tickers are
// created by the caller so they are on the clock before it returns.
func (a *agent) loop(ctx context.Context, rec, poll clock.Ticker) {
	defer a.s.wg.Done()
	defer rec.Stop()
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rec.C():
			a.reconcile(ctx)
		case <-a.kc:
			a.reconcile(ctx)
		case <-poll.C():
			a.poll()
		}
	}
}

// kick asks for a reconcile soon (fleet's watch on job target changes).
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
			l.started = true
			a.s.mu.Lock()
			a.s.heartbeats[n] = unitHeartbeat{machine: a.id, expires: a.s.clk.Now().Add(a.s.opts.MachineTTL)}
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
	a.publishLocked(false)
}

// stop stops a started unit and, like fleet's stopUnit, clears its heartbeat.
func (a *agent) stop(ctx context.Context, name string) {
	a.s.mu.Lock()
	delete(a.s.heartbeats, name)
	a.s.mu.Unlock()
	if err := a.s.exec.Stop(ctx, a.id, name); err != nil {
		a.s.log.Warn().Err(err).Str("machine", a.id).Str("unit", name).Msg("agent stop failed")
		return
	}
	a.s.log.Info().Str("machine", a.id).Str("unit", name).Msg("agent stopped unit")
}

// unload stops and removes a unit. Like fleet it then deletes the unit's
// published states for every machine and its heartbeat (spec §7.3).
func (a *agent) unload(ctx context.Context, name, why string) {
	l := a.have[name]
	if l.started {
		a.stop(ctx, name)
	}
	delete(a.have, name)
	delete(a.pub, name)
	a.s.mu.Lock()
	delete(a.s.states, name)
	delete(a.s.heartbeats, name)
	a.s.mu.Unlock()
	a.s.log.Info().Str("machine", a.id).Str("unit", name).Str("reason", why).Msg("agent unloaded unit")
}

// poll is fleet's systemd poll: publish states that changed, and re-publish
// everything (refreshing TTLs and heartbeats) every 4/5 of the TTL.
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
		active, sub := "inactive", "dead"
		if l.started {
			active, sub = a.s.exec.Status(a.id, n)
		}
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
		for n, l := range a.have {
			if l.started {
				a.s.heartbeats[n] = unitHeartbeat{machine: a.id, expires: now.Add(ttl)}
			}
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

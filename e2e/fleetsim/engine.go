package fleetsim

import (
	"sort"

	"k8s.io/utils/clock"
)

// agentView is the engine's picture of one live machine: its merged
// metadata and the units counted on it (spec §6.4 "units on M").
type agentView struct {
	id    string
	short string
	meta  map[string]string
	units map[string]*unit
}

// clusterView is what one engine pass works on.
type clusterView struct {
	agents map[string]*agentView
	order  []string // machine IDs, sorted
}

func (s *Sim) clusterViewLocked(names []string) *clusterView {
	cv := &clusterView{agents: map[string]*agentView{}}
	for _, m := range s.liveMachinesLocked() {
		short := m.id
		if len(short) > 8 {
			short = short[:8]
		}
		cv.agents[m.id] = &agentView{id: m.id, short: short, meta: s.metadataLocked(m), units: map[string]*unit{}}
		cv.order = append(cv.order, m.id)
	}
	for _, n := range names {
		u := s.units[n]
		if u.global || u.target == "" || u.desired == stateInactive {
			continue
		}
		if av, ok := cv.agents[u.target]; ok {
			av.units[u.name] = u
		}
	}
	// fleet counts global units on every matching machine whatever their
	// desired state, skipping those that conflict there.
	for _, n := range names {
		u := s.units[n]
		if !u.global {
			continue
		}
		for _, id := range cv.order {
			av := cv.agents[id]
			if hasMetadata(av.meta, u.req.metadata()) && !av.hasConflict(u.name, u.req.conflicts()) {
				av.units[u.name] = u
			}
		}
	}
	return cv
}

func hasMetadata(have map[string]string, want map[string][]string) bool {
	for k, values := range want {
		v, ok := have[k]
		if !ok || !contains(values, v) {
			return false
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// hasConflict checks both directions: a unit on the machine matching one of
// the candidate's patterns, or the candidate's name matching a pattern of a
// unit on the machine.
func (av *agentView) hasConflict(name string, patterns []string) bool {
	for _, other := range av.units {
		if other.name == name {
			continue
		}
		for _, p := range patterns {
			if globMatches(p, other.name) {
				return true
			}
		}
		for _, p := range other.req.conflicts() {
			if globMatches(p, name) {
				return true
			}
		}
	}
	return false
}

// ableToRun is fleet's AgentState.AbleToRun without Replaces (spec §6.4).
func (av *agentView) ableToRun(u *unit) (bool, string) {
	if tgt, ok := u.req.machineID(); ok && tgt != av.id && tgt != av.short {
		return false, "machine ID does not match required " + tgt
	}
	if md := u.req.metadata(); len(md) > 0 && !hasMetadata(av.meta, md) {
		return false, "local machine metadata insufficient"
	}
	for _, p := range u.req.peers() {
		if _, ok := av.units[p]; !ok {
			return false, "required peer " + p + " is not scheduled locally"
		}
	}
	if av.hasConflict(u.name, u.req.conflicts()) {
		return false, "found conflict with a locally scheduled unit"
	}
	return true, ""
}

// RunEngine runs one engine pass now. Its writes of job targets reach the
// agents through their watches, one watch sleep later (or at once, in
// Instant mode, to the agents whose assignments changed).
func (s *Sim) RunEngine() {
	s.mu.Lock()
	kick := s.engineWroteLocked(s.enginePassLocked())
	s.mu.Unlock()
	for _, a := range kick {
		a.kick()
	}
}

// engineWroteLocked publishes a pass's target writes to the watches and
// returns the agents to wake at once, which only Instant mode has.
func (s *Sim) engineWroteLocked(changed map[string]bool) []*agent {
	if len(changed) == 0 {
		return nil
	}
	if !s.opts.Instant {
		s.notifyLocked(evTarget)
		return nil
	}
	agents := make([]*agent, 0, len(changed))
	for _, id := range sortedKeys(changed) {
		if a, ok := s.agents[id]; ok {
			agents = append(agents, a)
		}
	}
	return agents
}

// enginePassLocked is fleet's calculateClusterTasks: pass A unschedules,
// pass B places, decisions of the pass count toward load. It returns the
// machines whose assignments changed.
func (s *Sim) enginePassLocked() map[string]bool {
	names := make([]string, 0, len(s.units))
	for n := range s.units {
		names = append(names, n)
	}
	sort.Strings(names)
	changed := map[string]bool{}

	for _, n := range names {
		u := s.units[n]
		if u.global || u.target == "" {
			continue
		}
		reason := ""
		cv := s.clusterViewLocked(names)
		if u.desired == stateInactive {
			reason = "target state inactive"
		} else if av, ok := cv.agents[u.target]; !ok {
			reason = "target machine went away"
		} else if ok, why := av.ableToRun(u); !ok {
			reason = why
		}
		if reason == "" {
			continue
		}
		s.log.Info().Str("unit", u.name).Str("machine", u.target).Str("reason", reason).Msg("engine unscheduled unit")
		changed[u.target] = true
		u.target = ""
	}

	for _, n := range names {
		u := s.units[n]
		if u.global || u.target != "" || u.desired == stateInactive {
			continue
		}
		cv := s.clusterViewLocked(names)
		order := append([]string(nil), cv.order...)
		sort.SliceStable(order, func(i, j int) bool {
			li, lj := len(cv.agents[order[i]].units), len(cv.agents[order[j]].units)
			if li != lj {
				return li < lj
			}
			return order[i] < order[j]
		})
		for _, id := range order {
			if ok, _ := cv.agents[id].ableToRun(u); ok {
				u.target = id
				changed[id] = true
				s.log.Info().Str("unit", u.name).Str("machine", id).Msg("engine scheduled unit")
				break
			}
		}
	}
	return changed
}

// engineLoop runs a pass when its timer fires and when its watch (or, in
// Instant mode, a request) wakes it. As in fleet's PeriodicReconciler
// (pkg/reconcile.go) the timer restarts from every pass, so the next
// periodic pass is EngineInterval after the last pass of either kind. The
// first timer is created by Start, so it is on the clock before Start
// returns.
func (s *Sim) engineLoop(t clock.Timer) {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-s.engineKick:
			t.Stop()
		}
		s.mu.Lock()
		t = s.engineTimerLocked()
		s.mu.Unlock()
		s.RunEngine()
	}
}

// engineTimerLocked starts the engine's timer and notes when it fires.
func (s *Sim) engineTimerLocked() clock.Timer {
	s.nextEnginePass = s.clk.Now().Add(s.opts.EngineInterval)
	return s.clk.NewTimer(s.opts.EngineInterval)
}

// kickEngine asks the engine loop for a pass now.
func (s *Sim) kickEngine() {
	select {
	case s.engineKick <- struct{}{}:
	default:
	}
}

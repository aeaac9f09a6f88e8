package fleetsim

import "time"

// regEvent is a write under fleet's job keys, as a registry watch sees it.
type regEvent int

const (
	// evTarget is a write or delete of job/<unit>/target: the engine
	// scheduling or unscheduling a unit (registry/job.go ScheduleUnit,
	// UnscheduleUnit).
	evTarget regEvent = iota
	// evTargetState is a write of job/<unit>/target-state: a PUT of
	// desiredState (registry/job.go SetUnitTargetState, an unconditional
	// etcd Set, so writing the value already stored is an event too).
	evTargetState
	// evOther is any other key under job/: a unit's object on create or
	// replace, its heartbeat (job-state) set or cleared by an agent, the
	// recursive delete of DELETE /units/{name}. The watch returns it, sleeps,
	// and wakes nobody (registry/event.go parse).
	evOther
)

// watch is one registry watch of fleet (registry/event.go etcdEventStream):
// a watcher returns the first change under the job keys, the watch sleeps
// one second, then wakes its reconciler if that change was to a target or a
// target-state, and only then starts a new watcher from the current index.
// Changes made in between are never seen by it; the reconciler's pass reads
// them, or its periodic timer does.
type watch struct {
	name     string // for logs: "engine" or the agent's machine ID
	sleep    time.Duration
	sleeping bool   // guarded by Sim.mu
	wake     func() // wakes the reconciler that owns the watch
}

// notifyLocked shows the writes of one registry operation, in order, to
// every live watch. s.mu is held. In Instant mode nothing watches: callers
// kick the reconcilers themselves.
func (s *Sim) notifyLocked(evs ...regEvent) {
	if s.opts.Instant || len(evs) == 0 || s.closed {
		return
	}
	s.engineWatch.seeLocked(s, evs[0])
	for _, a := range s.agents {
		if m, ok := s.machines[a.id]; ok && m.mode == modeUp {
			a.watch.seeLocked(s, evs[0])
		}
	}
}

// seeLocked is the watcher getting ev, the first write since it was
// created; a watch that is already sleeping has no watcher and misses it.
func (w *watch) seeLocked(s *Sim, ev regEvent) {
	if w.sleeping {
		return
	}
	w.sleeping = true
	wake := ev != evOther
	s.afterLocked(w.sleep, func() {
		s.mu.Lock()
		w.sleeping = false
		s.mu.Unlock()
		if wake {
			w.wake()
		}
	})
}

// afterLocked runs fn in a goroutine of the sim once d has passed on the
// sim's clock, unless the sim closes first. The timer is on the clock when
// afterLocked returns, so a test stepping a fake clock past d fires it.
// s.mu is held, which keeps this from racing with Close.
func (s *Sim) afterLocked(d time.Duration, fn func()) {
	if s.closed {
		return
	}
	t := s.clk.NewTimer(d)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-t.C():
			fn()
		case <-s.ctx.Done():
			t.Stop()
		}
	}()
}

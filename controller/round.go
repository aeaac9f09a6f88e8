package controller

import (
	"context"
	"sort"

	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// Volume tags stamped by a failover.
const (
	TagEpoch      = "volfailover:epoch"
	TagFailoverID = "volfailover:failover-id"
)

// reconcile is one leader round: read the world once, take in what the
// leader's probes of the owners found, judge them, plan, apply. Reports of the term's goroutines are taken in
// before the read, so the plan never resumes a move from a stale copy.
func (l *leader) reconcile(ctx context.Context) error {
	l.t.drain()
	s, err := l.read(ctx)
	if err != nil {
		l.c.m.roundFails.Inc()
		return err
	}
	if l.t.lastOwners == nil {
		l.t.lastOwners = s.prevOwners
	}
	s.owners = ownersOf(s, l.t.lastOwners)
	probes := l.probes.view(ctx, s.owners)
	assess(l.t, s, probes, l.c.policy, l.c.o.InstanceID)
	l.c.setVerdicts(l.t.verdicts)
	l.observe(s)
	err = l.apply(ctx, plan(s, l.t, l.c.o, s.now))
	l.t.lastOwners = s.owners
	if err == nil {
		l.c.m.lastRound.Set(float64(l.c.clk.Now().Unix()))
	}
	return err
}

// observe publishes one round's view: the metrics and the per-volume view of /v1/status.
func (l *leader) observe(s *snapshot) {
	m := l.c.m
	m.managed.Set(float64(len(s.volumes)))
	stuck := map[string]int{"attaching": 0, "detaching": 0, "busy": 0}
	views := make([]VolumeView, 0, len(s.volumes))
	byVolume := map[string]health.Verdict{}
	suspects := 0
	for _, v := range s.volumes {
		view := VolumeView{Volume: v.ID, AZ: v.AvailabilityZone, Paused: s.ov.PausedReason(v.ID)}
		_, armed := s.armed[v.ID]
		view.Unarmed = !armed
		for _, a := range v.Attachments {
			if _, ok := stuck[a.State]; ok {
				stuck[a.State]++
			}
			view.DeleteOnTermination = view.DeleteOnTermination || (a.DeleteOnTermination && a.State != "detached")
		}
		if rec := s.journals[v.ID]; rec != nil {
			view.Moving = string(rec.Step)
		}
		if owner, _, err := currentOwner(v); err == nil && owner != "" {
			view.Owner = owner
			if res, ok := l.t.verdicts[owner]; ok {
				view.Verdict, view.Actionable, view.Reason, view.Signals = res.Verdict, res.Actionable, res.Reason, signalViews(res.Signals)
				byVolume[v.ID] = res.Verdict
			}
			if since, ok := l.t.suspectSince[owner]; ok && view.Verdict == health.VerdictSuspect {
				view.SuspectSince = since.UTC()
			}
		}
		views = append(views, view)
	}
	for _, res := range l.t.verdicts {
		if res.Verdict == health.VerdictSuspect {
			suspects++
		}
	}
	for st, n := range stuck {
		m.stuck.WithLabelValues(st).Set(float64(n))
	}
	m.setVerdicts(byVolume, suspects)
	l.observeMoves(s)
	sort.Slice(views, func(i, j int) bool { return views[i].Volume < views[j].Volume })
	l.c.mu.Lock()
	l.c.views = views
	l.c.mu.Unlock()
}

// observeMoves exports the moves in flight, the overdue ones, the pauses and
// the unarmed volumes of one round.
func (l *leader) observeMoves(s *snapshot) {
	m := l.c.m
	inFlight, overdue := map[state.Kind]int{}, map[state.Kind]int{}
	for _, rec := range s.journals {
		inFlight[rec.Kind]++
		for _, st := range rec.Timeline {
			if st.Overdue && st.End.IsZero() {
				overdue[rec.Kind]++
				break
			}
		}
	}
	for _, k := range []state.Kind{state.KindFailover, state.KindSwitchover, state.KindHeal} {
		m.inFlight.WithLabelValues(string(k)).Set(float64(inFlight[k]))
		m.overdue.WithLabelValues(string(k)).Set(float64(overdue[k]))
	}
	global, vols, unarmed := 0.0, 0, 0
	if s.ov.PausedReason("") != "" {
		global = 1
	}
	for _, v := range s.volumes {
		if global == 0 && s.ov.PausedReason(v.ID) != "" {
			vols++
		}
		if _, ok := s.armed[v.ID]; !ok {
			unarmed++
		}
	}
	m.paused.WithLabelValues("global").Set(global)
	m.paused.WithLabelValues("volume").Set(float64(vols))
	m.unarmed.Set(float64(unarmed))
}

// setVerdicts keeps the leader's latest verdicts for Verdicts().
func (c *Controller) setVerdicts(v map[string]health.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verdicts = v
}

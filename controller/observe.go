package controller

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/health"
)

// observe publishes one round's view: the metrics, the per-volume view of
// /v1/status, and the owner_suspect pages (triggered once an owner has been
// suspect for SuspectPageAfter, resolved when it is alive again or holds no
// volume any more).
func (l *leader) observe(ctx context.Context, s *snapshot, verdicts map[string]health.Result) {
	m := l.c.m
	m.managed.Set(float64(len(s.volumes)))
	stuck := map[string]int{"attaching": 0, "detaching": 0, "busy": 0}
	views := make([]VolumeView, 0, len(s.volumes))
	byVolume := map[string]health.Verdict{}
	for _, v := range s.volumes {
		for _, a := range v.Attachments {
			if _, ok := stuck[a.State]; ok {
				stuck[a.State]++
			}
		}
		view := VolumeView{Volume: v.ID, AZ: v.AvailabilityZone, Paused: s.ov.PausedReason(v.ID)}
		if rec := s.journals[v.ID]; rec != nil {
			view.Moving = string(rec.Step)
		}
		if owner, _, err := currentOwner(v); err == nil && owner != "" {
			view.Owner = owner
			if res, ok := verdicts[owner]; ok {
				view.Verdict, view.Actionable, view.Reason, view.Signals = res.Verdict, res.Actionable, res.Reason, res.Signals
				byVolume[v.ID] = res.Verdict
			}
		}
		views = append(views, view)
	}
	for st, n := range stuck {
		m.stuck.WithLabelValues(st).Set(float64(n))
	}

	suspects := 0
	var pages []alert.Event
	l.mu.Lock()
	for owner, res := range verdicts {
		if res.Verdict != health.VerdictSuspect {
			delete(l.suspectSince, owner)
			if res.Verdict == health.VerdictAlive && l.suspectPaged[owner] {
				delete(l.suspectPaged, owner)
				pages = append(pages, l.suspectEvent(owner, alert.ActionResolve, "owner "+owner+" is alive again", res, s))
			}
			continue
		}
		suspects++
		since, ok := l.suspectSince[owner]
		if !ok {
			since = s.now
			l.suspectSince[owner] = since
		}
		if !l.suspectPaged[owner] && s.now.Sub(since) >= l.c.o.SuspectPageAfter {
			l.suspectPaged[owner] = true
			pages = append(pages, l.suspectEvent(owner, alert.ActionTrigger,
				fmt.Sprintf("owner %s suspect for %s (not acted on): %s", owner, s.now.Sub(since).Round(100*time.Millisecond), res.Reason), res, s))
		}
	}
	for owner := range l.suspectPaged {
		if _, ok := verdicts[owner]; !ok {
			delete(l.suspectPaged, owner)
			delete(l.suspectSince, owner)
			pages = append(pages, l.suspectEvent(owner, alert.ActionResolve, "host "+owner+" holds no managed volume any more", health.Result{}, s))
		}
	}
	for i := range views {
		if since, ok := l.suspectSince[views[i].Owner]; ok && views[i].Verdict == health.VerdictSuspect {
			views[i].SuspectSince = since.UTC()
		}
	}
	l.mu.Unlock()

	m.setVerdicts(byVolume, suspects)
	sort.Slice(views, func(i, j int) bool { return views[i].Volume < views[j].Volume })
	l.c.mu.Lock()
	l.c.views = views
	l.c.mu.Unlock()
	for _, ev := range pages {
		l.page(ctx, ev, false)
	}
}

// suspectEvent is the owner_suspect page of one owner; trigger and resolve share the dedup key.
func (l *leader) suspectEvent(owner string, action alert.Action, summary string, res health.Result, s *snapshot) alert.Event {
	ev := alert.Event{Kind: alert.KindOwnerSuspect, Action: action, Severity: alert.SeverityWarning,
		DedupKey: "owner_suspect/" + owner, Instance: owner, Summary: summary}
	for _, v := range s.volumes {
		if o, _, err := currentOwner(v); err == nil && o == owner {
			ev.Volume = v.ID
		}
	}
	if action == alert.ActionTrigger {
		ev.Details = map[string]any{"signals": res.Signals, "reason": res.Reason}
	}
	return ev
}

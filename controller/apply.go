package controller

import (
	"context"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// apply carries out a round's actions in order. It is the only code of the
// round that writes to etcd, EC2 or fleet, and every such write is guarded by
// the leader key. A lost leadership ends the round at once; any other failure
// is logged and the next action goes on.
func (l *leader) apply(ctx context.Context, acts []action) error {
	for _, a := range acts {
		err := l.do(ctx, a)
		switch {
		case err == nil:
		case isNotLeader(err), ctx.Err() != nil:
			return err
		default:
			l.log.Error().Err(err).Str("volume", a.volume()).Msg("action failed")
		}
	}
	return nil
}

func (l *leader) do(ctx context.Context, a action) error {
	switch a := a.(type) {
	case publishOwners:
		return l.publishOwners(ctx, a)
	case note:
		l.note(a)
	case page:
		l.sendPage(ctx, a)
	case logVerdict:
		l.logVerdict(a)
	case startMove:
		return l.startMove(ctx, a)
	case recordDryRun:
		return l.recordDryRun(ctx, a)
	case resumeMove:
		if a.retry {
			delete(l.t.lost, a.rec.Volume)
		}
		l.startWorker(ctx, a.rec)
	case detachStray:
		return l.detachStray(ctx, a)
	case retarget:
		return l.retarget(ctx, a)
	case abandonMove:
		return l.abandon(ctx, a)
	case repairMetadata:
		return l.repairMetadata(ctx, a)
	case dropSwitchover:
		return l.dropSwitchover(ctx, a)
	case launchUnit:
		return l.launchUnit(ctx, a)
	case arm:
		return l.arm(ctx, a)
	case publishPrimary:
		if err := l.guarded(ctx, "publish the primary of "+a.p.Volume, clientv3.OpPut(l.c.keys.VolumePrimary(a.p.Volume), a.p.Encode())); err != nil {
			return err
		}
		l.log.Info().Str("volume", a.p.Volume).Str("instance", a.p.Instance).Msg("primary published")
	case stopWorker:
		l.stopWorker(a)
	case escalate:
		return l.escalate(ctx, a)
	case confirmStop:
		l.confirmStop(ctx, a)
	default:
		return fmt.Errorf("unknown action %T", a)
	}
	return nil
}

// guarded runs ops in one transaction guarded by the leader key.
func (l *leader) guarded(ctx context.Context, what string, ops ...clientv3.Op) error {
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s: %w", what, errNotLeader)
	}
	return nil
}

func (l *leader) publishOwners(ctx context.Context, a publishOwners) error {
	return l.guarded(ctx, "publish owners list", clientv3.OpPut(l.c.keys.Owners(), a.encoded))
}

func (l *leader) note(a note) {
	if a.once != "" {
		l.t.done[a.once] = true
	}
	ev := l.log.WithLevel(a.level)
	if a.vol != "" {
		ev = ev.Str("volume", a.vol)
	}
	keys := make([]string, 0, len(a.fields))
	for k := range a.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ev = ev.Str(k, a.fields[k])
	}
	ev.Msg(a.msg)
}

// sendPage pages and remembers which incidents this term has open.
func (l *leader) sendPage(ctx context.Context, a page) {
	switch a.ev.Action {
	case alert.ActionResolve:
		delete(l.t.open, a.ev.DedupKey)
	default:
		l.t.open[a.ev.DedupKey] = true
	}
	l.page(ctx, a.ev)
}

func (l *leader) logVerdict(a logVerdict) {
	l.t.logged[a.owner] = a.res.Verdict
	ev := l.log.Info()
	if a.res.Verdict != health.VerdictAlive {
		ev = l.log.Warn()
	}
	ev.Str("owner", a.owner).Str("volume", a.vol).Str("verdict", string(a.res.Verdict)).
		Bool("actionable", a.res.Actionable).Str("reason", a.res.Reason).Msg("owner verdict changed")
}

// startMove journals a move (with its damping write in the same transaction),
// pages its start and starts its worker.
func (l *leader) startMove(ctx context.Context, a startMove) error {
	rec := a.rec
	rec.ID = state.NewFailoverID(rec.Created)
	var extra []clientv3.Op
	if a.damping != nil {
		extra = append(extra, clientv3.OpPut(l.c.keys.DampingVolume(rec.Volume), a.damping.Encode()))
	}
	if a.dropOverride != "" {
		extra = append(extra, clientv3.OpDelete(l.c.keys.Volumes()+rec.Volume+"/"+a.dropOverride))
	}
	if err := l.j.create(ctx, &rec, extra...); err != nil {
		return err
	}
	if hook := l.c.o.afterStep; hook != nil {
		hook(&rec)
	}
	l.log.Warn().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("kind", string(rec.Kind)).
		Str("from", rec.From.Instance).Str("to", rec.To.Instance).Str("reason", rec.Reason).Msg("move planned")
	l.page(ctx, alert.Event{Kind: alert.KindFailoverStarted, Severity: severityOf(rec.Kind), DedupKey: "failover/" + rec.ID,
		Volume: rec.Volume, Instance: rec.From.Instance, FailoverID: rec.ID,
		Summary: fmt.Sprintf("%s of %s from %s to %s started: %s", rec.Kind, rec.Volume, orNone(rec.From.Instance), rec.To.Instance, rec.Reason),
		Details: map[string]any{"signals": rec.Signals, "to": rec.To.Instance, "move_kind": rec.Kind}})
	l.startWorker(ctx, rec)
	return nil
}

// recordDryRun writes what a dry-run controller would have done to the history.
func (l *leader) recordDryRun(ctx context.Context, a recordDryRun) error {
	l.t.done[a.once] = true
	rec := a.rec
	rec.ID = state.NewFailoverID(rec.Created)
	l.log.Warn().Str("volume", rec.Volume).Str("kind", string(rec.Kind)).Str("from", rec.From.Instance).
		Str("to", rec.To.Instance).Str("reason", rec.Reason).Msg("dry-run: would move the volume; nothing done")
	if err := l.guarded(ctx, fmt.Sprintf("record %s decision for %s", rec.Kind, rec.Volume),
		clientv3.OpPut(l.c.keys.HistoryRecord(rec.Volume, rec.ID), rec.Encode())); err != nil {
		return err
	}
	l.c.m.failovers.WithLabelValues(ResultDryRun, string(rec.Kind)).Inc()
	l.trim(ctx, rec.Volume)
	return nil
}

// retarget journals the move's new target and resumes it.
func (l *leader) retarget(ctx context.Context, a retarget) error {
	rec := a.rec
	if err := l.j.update(ctx, &rec); err != nil {
		return err
	}
	delete(l.t.lost, rec.Volume)
	l.log.Warn().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("step", string(a.step)).Str("lost", a.lost).
		Str("to", rec.To.Instance).Str("reason", a.why).Msg("target lost or refused the attach; re-targeted")
	l.startWorker(ctx, rec)
	return nil
}

// abandon finishes a move whose target died holding the volume: to the
// history with the reason, its switchover request removed, its damping entry
// withdrawn. The move's incident is resolved: the fresh failover of the next
// round opens its own, and an incident of a record that no longer exists
// would never resolve.
func (l *leader) abandon(ctx context.Context, a abandonMove) error {
	rec := a.rec
	k := l.c.keys
	var extra []clientv3.Op
	if rec.Kind == state.KindSwitchover {
		extra = append(extra, clientv3.OpDelete(k.VolumeSwitchover(rec.Volume)))
	}
	if a.damping != nil {
		extra = append(extra, clientv3.OpPut(k.DampingVolume(rec.Volume), a.damping.Encode()))
	}
	if err := l.j.finish(ctx, &rec, extra...); err != nil {
		return err
	}
	delete(l.t.lost, rec.Volume)
	resolveOpen(ctx, l, &rec, "move abandoned", func(string) bool { return true })
	l.c.m.failovers.WithLabelValues(ResultAbandoned, string(rec.Kind)).Inc()
	l.log.Error().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("step", string(a.step)).Str("to", rec.To.Instance).
		Str("reason", rec.Abandoned).Msg("move abandoned: its target died")
	l.page(ctx, alert.Event{Kind: alert.KindFailoverCompleted, Action: alert.ActionResolve, Severity: severityOf(rec.Kind), DedupKey: "failover/" + rec.ID,
		Volume: rec.Volume, Instance: rec.To.Instance, FailoverID: rec.ID,
		Summary: fmt.Sprintf("%s of %s to %s abandoned: %s", rec.Kind, rec.Volume, rec.To.Instance, rec.Abandoned),
		Details: map[string]any{"timeline": rec.Timeline, "signals": rec.Signals, "abandoned": rec.Abandoned}})
	l.trim(ctx, rec.Volume)
	return nil
}

// detachStray force-detaches the volume of a move from a host it should not be on.
func (l *leader) detachStray(ctx context.Context, a detachStray) error {
	rec := a.rec
	err := l.mutate(ctx, &rec, func(ctx context.Context) error { return l.c.ec2.DetachVolume(ctx, rec.Volume, a.instance, true) })
	if err != nil {
		return fmt.Errorf("detach %s from stray host %s: %w", rec.Volume, a.instance, err)
	}
	delete(l.t.lost, rec.Volume)
	l.log.Warn().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("instance", a.instance).
		Msg("volume was attached to a host that is not the move's target and cannot be one; force-detached")
	return nil
}

func (l *leader) repairMetadata(ctx context.Context, a repairMetadata) error {
	if err := l.mutate(ctx, nil, func(ctx context.Context) error { return l.c.fleet.PatchMetadata(ctx, a.ops) }); err != nil {
		return fmt.Errorf("repair fleet metadata of %s: %w", a.vol, err)
	}
	l.log.Warn().Str("volume", a.vol).Str("instance", a.owner).Str("machine", a.machine).Interface("ops", a.ops).Msg("fleet metadata repaired")
	return nil
}

func (l *leader) arm(ctx context.Context, a arm) error {
	if err := l.guarded(ctx, "arm "+a.rec.Volume, clientv3.OpPut(l.c.keys.ArmedVolume(a.rec.Volume), a.rec.Encode())); err != nil {
		return err
	}
	l.log.Info().Str("volume", a.rec.Volume).Str("instance", a.rec.Owner).Msg("volume armed: its Postgres answered on its owner")
	return nil
}

func (l *leader) launchUnit(ctx context.Context, a launchUnit) error {
	err := l.mutate(ctx, nil, func(ctx context.Context) error { return l.c.fleet.SetUnitTargetState(ctx, a.unit, fleet.StateLaunched) })
	if err != nil {
		return fmt.Errorf("launch %s again: %w", a.unit, err)
	}
	l.t.launchedAt[a.vol] = l.c.clk.Now()
	l.log.Warn().Str("volume", a.vol).Str("instance", a.owner).Str("machine", a.machine).Str("unit", a.unit).
		Msg("volume attached with its metadata in place but its unit not launched: launched again")
	return nil
}

func (l *leader) stopWorker(a stopWorker) {
	if w, ok := l.t.workers[a.vol]; ok {
		w.stop()
		l.log.Warn().Str("volume", a.vol).Str("failover_id", w.id).Str("reason", a.why).Msg("move worker stopped for the planner to decide again")
	}
}

// escalate journals a switchover as the failover it became, removing the
// request it no longer fulfils, and resumes it.
func (l *leader) escalate(ctx context.Context, a escalate) error {
	rec := a.rec
	if err := l.j.update(ctx, &rec, clientv3.OpDelete(l.c.keys.VolumeSwitchover(rec.Volume))); err != nil {
		return err
	}
	delete(l.t.escalate, rec.Volume)
	l.log.Error().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("instance", rec.From.Instance).Str("reason", rec.Reason).
		Msg("switchover escalated to a failover")
	l.page(ctx, alert.Event{Kind: alert.KindFailoverStarted, Severity: alert.SeverityCritical, DedupKey: "failover/" + rec.ID,
		Volume: rec.Volume, Instance: rec.From.Instance, FailoverID: rec.ID,
		Summary: fmt.Sprintf("switchover of %s escalated to a failover (%s); fencing %s, then force-detaching", rec.Volume, rec.Reason, rec.From.Instance),
		Details: map[string]any{"signals": rec.Signals, "to": rec.To.Instance, "move_kind": rec.Kind}})
	l.startWorker(ctx, rec)
	return nil
}

func (l *leader) dropSwitchover(ctx context.Context, a dropSwitchover) error {
	if err := l.guarded(ctx, "remove switchover of "+a.vol, clientv3.OpDelete(l.c.keys.VolumeSwitchover(a.vol))); err != nil {
		return err
	}
	l.log.Info().Str("volume", a.vol).Str("reason", a.why).Msg("switchover request removed")
	return nil
}

// trim keeps the history bounded; its failure is logged, never in the way of
// what came before it.
func (l *leader) trim(ctx context.Context, volume string) {
	if err := l.j.trim(ctx, volume); err != nil && ctx.Err() == nil {
		l.log.Warn().Err(err).Str("volume", volume).Msg("history not trimmed")
	}
}

// confirmStop waits, in a goroutine of the term, for a fenced owner to stop,
// paging fence_unconfirmed if it has not within the deadline left.
func (l *leader) confirmStop(ctx context.Context, a confirmStop) {
	rec := a.rec
	l.t.confirming[rec.ID] = true
	delete(l.t.toConfirm, rec.ID)
	log := l.log.With().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("instance", rec.From.Instance).Logger()
	l.spawn(func() {
		defer l.report(ctx, report{kind: reportConfirmExit, volume: rec.Volume, record: state.Record{ID: rec.ID}})
		wctx, cancel := context.WithTimeout(ctx, a.left)
		err := l.c.ec2.WaitStopped(wctx, rec.From.Instance)
		cancel()
		if err == nil {
			log.Info().Msg("fence confirmed: old owner stopped")
			return
		}
		if ctx.Err() != nil {
			return
		}
		key := "fence_unconfirmed/" + rec.ID
		log.Error().Err(err).Msg("fence NOT confirmed: old owner did not stop in time")
		l.page(ctx, alert.Event{Kind: alert.KindFenceUnconfirmed, Severity: alert.SeverityCritical, DedupKey: key,
			Volume: rec.Volume, Instance: rec.From.Instance, FailoverID: rec.ID,
			Summary: fmt.Sprintf("%s: old owner %s did not reach stopped within %s of the forced stop: %v", rec.Volume, rec.From.Instance, l.c.o.Deadlines.FenceConfirm, err)})
		// Keep watching for as long as this term lasts: the incident ends
		// when the old owner is seen stopped.
		if err := l.c.ec2.WaitStopped(ctx, rec.From.Instance); err == nil {
			log.Info().Msg("old owner stopped at last: fence confirmed")
			l.page(ctx, alert.Event{Kind: alert.KindFenceUnconfirmed, Action: alert.ActionResolve, Severity: alert.SeverityCritical, DedupKey: key,
				Volume: rec.Volume, Instance: rec.From.Instance, FailoverID: rec.ID, Summary: fmt.Sprintf("%s: old owner %s stopped", rec.Volume, rec.From.Instance)})
		}
	})
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

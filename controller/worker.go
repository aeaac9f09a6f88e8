package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

// worker drives one journal record toward done, step by step, from the table
// moveSteps. Every step looks at the world first and skips what is already
// true, so a new leader resuming the record never repeats a completed action.
// The worker decides nothing the planner decides: when the target is lost it
// reports so and returns.
type worker struct {
	l   *leader
	r   *state.Record
	log zerolog.Logger
}

// trigger pages ev and records its dedup key in the move's record, until
// the condition ends: the step it is about resolves it when it completes,
// the move's end resolves the rest.
func (w *worker) trigger(ctx context.Context, ev alert.Event) {
	if w.r.OpenPages == nil {
		w.r.OpenPages = map[string]string{}
	}
	w.r.OpenPages[ev.DedupKey] = string(ev.Kind)
	w.l.page(ctx, ev)
}

// resolve resolves the move's open pages whose dedup key passes match.
func (w *worker) resolve(ctx context.Context, why string, match func(key string) bool) {
	resolveOpen(ctx, w.l, w.r, why, match)
}

// resolveOpen resolves r's open pages whose dedup key passes match.
func resolveOpen(ctx context.Context, l *leader, r *state.Record, why string, match func(key string) bool) {
	for _, key := range sortedKeys(r.OpenPages) {
		if !match(key) {
			continue
		}
		l.page(ctx, alert.Event{Kind: alert.Kind(r.OpenPages[key]), Action: alert.ActionResolve, Severity: alert.SeverityInfo, DedupKey: key,
			Volume: r.Volume, FailoverID: r.ID, Summary: fmt.Sprintf("%s of %s: %s", r.Kind, r.Volume, why)})
		delete(r.OpenPages, key)
	}
}

func (w *worker) run(ctx context.Context) error {
	for {
		next, ok := w.r.Step.Next()
		if !ok {
			return fmt.Errorf("record of %s at step %q has no next step", w.r.Volume, w.r.Step)
		}
		if next == state.StepDone {
			return w.finish(ctx)
		}
		spec, ok := moveSteps[w.r.Kind][next]
		if !ok {
			return fmt.Errorf("record of %s: no step %s", w.r.Volume, stepName(w.r.Kind, next))
		}
		why, err := w.l.pausedNow(ctx, w.r.Volume)
		if err != nil {
			return err
		}
		if why != "" {
			w.log.Warn().Str("step", string(next)).Str("pause", why).Msg("move held by pause before its next step")
			return nil
		}
		done, err := w.step(ctx, next, spec)
		if err != nil || !done {
			return err
		}
		w.afterStep(ctx, next)
	}
}

// afterStep hands a stop fence to the planner for its confirmation and calls the test hook.
func (w *worker) afterStep(ctx context.Context, s state.Step) {
	if s == state.StepFenced && w.r.Kind == state.KindFailover && w.r.Fence == state.FenceStopThenDetach {
		w.l.report(ctx, report{kind: reportFenced, volume: w.r.Volume, record: cloneRecord(w.r)})
	}
	if hook := w.l.c.o.afterStep; hook != nil {
		hook(w.r)
	}
}

// step retries one step with backoff until it is done. It returns false
// (with no error) when the move must go back to the planner.
func (w *worker) step(ctx context.Context, s state.Step, spec stepSpec) (bool, error) {
	c := w.l.c
	log := w.log.With().Str("step", string(s)).Logger()
	st := w.r.Entry(s, c.clk.Now())
	deadline := spec.deadline(c.o.Deadlines)
	backoff := c.o.RetryInitial
	for {
		st.Attempts++
		skipped, err := w.attempt(ctx, spec, deadline)
		now := c.clk.Now().UTC()
		switch out := classify(skipped, err); out {
		case outcomeDone, outcomeSkipped:
			return w.stepDone(ctx, s, st, skipped, now, log)
		case outcomeNotLeader:
			return false, err
		case outcomeTargetLost:
			var lost *targetLostError
			errors.As(err, &lost)
			st.Error, w.r.Updated = err.Error(), now
			if err := w.l.j.update(ctx, w.r); err != nil { // keeps the pages this attempt opened
				return false, err
			}
			w.l.report(ctx, report{kind: reportTargetLost, volume: w.r.Volume, record: *w.r, lost: lostTarget{why: lost.why, stray: lost.stray}})
			log.Warn().Err(err).Msg("target lost; handing the move back to the planner")
			return false, nil
		case outcomeEscalate:
			w.l.report(ctx, report{kind: reportEscalate, volume: w.r.Volume, record: *w.r, lost: lostTarget{why: err.Error()}})
			log.Error().Err(err).Msg("handing the switchover back to the planner to escalate")
			return false, nil
		case outcomePermanent:
			backoff = c.o.RetryMax
			if st.Error != err.Error() {
				w.pageFailed(ctx, s, err)
			}
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		st.Error = err.Error()
		log.Warn().Err(err).Int("attempt", st.Attempts).Msg("step failed; retrying")
		if !st.Overdue && now.Sub(st.Start) > deadline {
			st.Overdue = true
			w.pageOverdue(ctx, s, deadline, err)
		}
		w.r.Updated = now
		if err := w.l.j.update(ctx, w.r); err != nil {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-c.clk.After(backoff):
		}
		backoff = nextBackoff(err, backoff, c.o)
	}
}

// nextBackoff is the pause before the attempt after the one that failed
// with err. An attempt cut off by its own bound (the session lease's, which
// bounds every mutation and the wait that follows it, or the step's) failed
// for want of time, not because EC2 or fleet refused: a mass failover whose
// calls queue on the EC2 budget meets that bound often, and the next attempt
// picks the wait up where it was (the attachment is found under way). It
// goes again after the shortest pause instead of an ever longer one.
func nextBackoff(err error, backoff time.Duration, o Options) time.Duration {
	if errors.Is(err, context.DeadlineExceeded) {
		return o.RetryInitial
	}
	return min(2*backoff, o.RetryMax)
}

// stepDone journals a completed step and resolves its pages.
func (w *worker) stepDone(ctx context.Context, s state.Step, st *state.StepRecord, skipped string, now time.Time, log zerolog.Logger) (bool, error) {
	c := w.l.c
	w.resolve(ctx, "step "+string(s)+" done", func(key string) bool { return strings.HasSuffix(key, "/"+string(s)) })
	st.End, st.Error, st.Skipped, st.Leader = now, "", skipped, c.o.InstanceID
	w.r.Step, w.r.Updated = s, now
	if err := w.l.j.update(ctx, w.r); err != nil {
		return false, err
	}
	c.m.stepDur.WithLabelValues(string(s)).Observe(now.Sub(st.Start).Seconds())
	log.Info().Str("skipped", skipped).Int("attempts", st.Attempts).Dur("took_ms", now.Sub(st.Start)).Msg("step done")
	return true, nil
}

// attempt runs the step's action once under its deadline, after checking the
// target when the step acts toward it.
func (w *worker) attempt(ctx context.Context, spec stepSpec, deadline time.Duration) (string, error) {
	actx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	if spec.towardTarget {
		why, err := w.targetGone(actx)
		if err != nil {
			return "", err
		}
		if why != "" {
			return "", &targetLostError{why: fmt.Sprintf("target %s: %s", w.r.To.Instance, why)}
		}
	}
	return spec.act(w, actx)
}

func (w *worker) pageOverdue(ctx context.Context, s state.Step, deadline time.Duration, err error) {
	r := w.r
	w.trigger(ctx, alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "step_overdue/" + r.ID + "/" + string(s),
		Volume: r.Volume, Instance: r.From.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s of %s: step %s past its %s deadline, still retrying: %v", r.Kind, r.Volume, s, deadline, err),
		Details: map[string]any{"timeline": r.Timeline}})
}

func (w *worker) pageFailed(ctx context.Context, s state.Step, err error) {
	r := w.r
	w.trigger(ctx, alert.Event{Kind: alert.KindStepFailed, Severity: alert.SeverityCritical, DedupKey: "step_failed/" + r.ID + "/" + string(s),
		Volume: r.Volume, Instance: r.From.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s of %s: step %s failed and no retry can mend it (retrying every %s until fixed): %v", r.Kind, r.Volume, s, w.l.c.o.RetryMax, err),
		Details: map[string]any{"timeline": r.Timeline, "error": err.Error()}})
}

// finish moves the record to history (removing a fulfilled switchover
// request) and pages completion. Trimming the history comes after the page:
// paging never depends on housekeeping.
func (w *worker) finish(ctx context.Context) error {
	r, c := w.r, w.l.c
	now := c.clk.Now().UTC()
	st := r.Entry(state.StepDone, now)
	st.End, st.Attempts, st.Leader = now, st.Attempts+1, c.o.InstanceID
	r.Step, r.Updated, r.Finished = state.StepDone, now, now
	var extra []clientv3.Op
	if r.Kind == state.KindSwitchover {
		extra = append(extra, clientv3.OpDelete(c.keys.VolumeSwitchover(r.Volume)))
	}
	if err := w.l.j.finish(ctx, r, extra...); err != nil {
		return err
	}
	w.resolve(ctx, "move completed", func(string) bool { return true })
	w.log.Warn().Str("to", r.To.Instance).Dur("took_ms", now.Sub(r.Created)).Msg("move completed")
	summary := fmt.Sprintf("%s of %s to %s completed in %s", r.Kind, r.Volume, r.To.Instance, now.Sub(r.Created).Round(time.Millisecond))
	for _, st := range r.Timeline {
		if st.Step == state.StepPublished && st.Note != "" {
			summary += "; " + st.Note
		}
	}
	c.m.failovers.WithLabelValues(ResultCompleted, string(r.Kind)).Inc()
	c.m.failoverDur.WithLabelValues(string(r.Kind)).Observe(now.Sub(r.Created).Seconds())
	w.l.page(ctx, alert.Event{Kind: alert.KindFailoverCompleted, Action: alert.ActionResolve, Severity: severityOf(r.Kind), DedupKey: "failover/" + r.ID,
		Volume: r.Volume, Instance: r.To.Instance, FailoverID: r.ID,
		Summary: summary, Details: map[string]any{"timeline": r.Timeline, "signals": r.Signals}})
	if hook := c.o.afterStep; hook != nil {
		hook(r)
	}
	w.l.trim(ctx, r.Volume)
	return nil
}

// pausedNow reads the pause overrides of one volume under the leader's guard,
// with the parser the round uses, from the same keys.
func (l *leader) pausedNow(ctx context.Context, volume string) (string, error) {
	k := l.c.keys
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(
		clientv3.OpGet(k.Pause()), clientv3.OpGet(k.Volumes(), clientv3.WithPrefix())).Commit()
	if err != nil {
		return "", fmt.Errorf("read overrides of %s: %w", volume, err)
	}
	if !resp.Succeeded {
		return "", fmt.Errorf("read overrides of %s: %w", volume, errNotLeader)
	}
	var global *mvccpb.KeyValue
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		global = kvs[0]
	}
	ov := k.ParseOverrides(global, resp.Responses[1].GetResponseRange().Kvs, l.c.clk.Now())
	return ov.PausedReason(volume), nil
}

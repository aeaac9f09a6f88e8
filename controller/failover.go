package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
)

// worker drives one journal record to done. Every step looks at the world
// first and skips what is already true, so a new leader resuming the record
// never repeats a completed action.
type worker struct {
	l   *leader
	r   *Record
	log zerolog.Logger

	confirm bool // the fence step asked for a background stop confirmation
}

func isNotLeader(err error) bool { return errors.Is(err, errNotLeader) }

func (w *worker) run(ctx context.Context) error {
	o := w.l.c.o
	w.resumeFenceConfirmation(ctx)
	for w.r.Step != StepDone {
		next, _ := w.r.Step.next()
		var deadline time.Duration
		var act func(context.Context) (skipped string, err error)
		switch next {
		case StepFenced:
			deadline, act = o.Deadlines.Fence, w.fence
		case StepDetached:
			deadline, act = o.Deadlines.Detach, w.detach
		case StepAttached:
			deadline, act = o.Deadlines.Attach, w.towardTarget(w.attach)
		case StepMetadataMoved:
			deadline, act = o.Deadlines.Metadata, w.towardTarget(w.moveMetadata)
		case StepRescheduled:
			deadline, act = o.Deadlines.Reschedule, w.towardTarget(w.reschedule)
		case StepVerified:
			deadline, act = o.Deadlines.Verify, w.towardTarget(w.verify)
		case StepDone:
			return w.finish(ctx)
		default:
			return fmt.Errorf("record of %s at unknown step %q", w.r.Volume, w.r.Step)
		}
		if why, err := w.l.pausedNow(ctx, w.r.Volume); err != nil {
			return err
		} else if why != "" {
			w.log.Warn().Str("step", string(next)).Str("pause", why).Msg("move held by pause before its next step")
			return nil
		}
		if err := w.step(ctx, next, deadline, act); err != nil {
			var lost *targetLostError
			if !errors.As(err, &lost) {
				return err
			}
			abandoned, err := w.targetLost(ctx, next, lost.why)
			if err != nil || abandoned {
				return err
			}
			continue
		}
		if w.confirm {
			w.confirm = false
			w.confirmStop(ctx, o.Deadlines.FenceConfirm)
		}
		if o.afterStep != nil {
			o.afterStep(w.r)
		}
	}
	return nil
}

// step retries act with backoff until it succeeds, paging once past the deadline.
func (w *worker) step(ctx context.Context, s Step, deadline time.Duration, act func(context.Context) (string, error)) error {
	c := w.l.c
	log := w.log.With().Str("step", string(s)).Logger()
	st := w.r.stepRecord(s, c.clk.Now())
	backoff := c.o.RetryInitial
	for {
		st.Attempts++
		actx, cancel := context.WithTimeout(ctx, deadline)
		skipped, err := act(actx)
		cancel()
		now := c.clk.Now().UTC()
		if err == nil {
			st.End, st.Error, st.Skipped, st.Leader = now, "", skipped, c.o.InstanceID
			w.r.Step, w.r.Updated = s, now
			if err := w.l.j.update(ctx, w.r); err != nil {
				return err
			}
			c.m.stepDur.WithLabelValues(string(s)).Observe(now.Sub(st.Start).Seconds())
			log.Info().Str("skipped", skipped).Int("attempts", st.Attempts).Dur("took", now.Sub(st.Start)).Msg("step done")
			return nil
		}
		var lost *targetLostError
		if isNotLeader(err) || ctx.Err() != nil || errors.As(err, &lost) {
			return err
		}
		st.Error = err.Error()
		log.Warn().Err(err).Int("attempt", st.Attempts).Msg("step failed; retrying")
		if !st.Overdue && now.Sub(st.Start) > deadline {
			st.Overdue = true
			w.l.page(ctx, alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "step_overdue/" + w.r.ID + "/" + string(s),
				Volume: w.r.Volume, Instance: w.r.From.Instance, FailoverID: w.r.ID,
				Summary: fmt.Sprintf("%s of %s: step %s past its %s deadline, still retrying: %v", w.r.Kind, w.r.Volume, s, deadline, err),
				Details: map[string]any{"timeline": w.r.Timeline}}, true)
		}
		w.r.Updated = now
		if err := w.l.j.update(ctx, w.r); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.clk.After(backoff):
		}
		backoff = min(2*backoff, c.o.RetryMax)
	}
}

// fence: an automatic failover stops the dead owner (Force); strict waits for
// stopped, the default confirms in the background. A switchover stops the unit
// through fleet and waits until it has stopped on the owner.
func (w *worker) fence(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	if r.Kind == KindHeal {
		return "no previous owner", nil
	}
	if r.Kind == KindSwitchover {
		unit := c.unitName(r.Volume)
		u, err := c.fleet.Unit(ctx, unit)
		if err != nil && !errors.Is(err, fleet.ErrNotFound) {
			return "", fmt.Errorf("read unit %s: %w", unit, err)
		}
		if u != nil && u.DesiredState != fleet.StateInactive {
			if err := w.l.check(ctx, r); err != nil {
				return "", err
			}
			if err := c.fleet.SetUnitTargetState(ctx, unit, fleet.StateInactive); err != nil {
				return "", fmt.Errorf("set %s inactive: %w", unit, err)
			}
		}
		if r.From.Machine != "" {
			if err := c.fleet.WaitUnitStopped(ctx, unit, r.From.Machine, c.pollInterval()); err != nil {
				return "", fmt.Errorf("wait for %s to stop on %s: %w", unit, r.From.Machine, err)
			}
		}
		return "", nil
	}
	insts, err := c.ec2.Instances(ctx, []string{r.From.Instance})
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", r.From.Instance, err)
	}
	inst, ok := insts[r.From.Instance]
	if !ok {
		return "instance gone", nil
	}
	switch inst.State {
	case "stopped", "terminated":
		return "instance " + inst.State, nil
	case "stopping", "shutting-down":
		if c.o.FencePolicy == FenceStrict {
			if err := c.ec2.WaitStopped(ctx, r.From.Instance); err != nil {
				return "", fmt.Errorf("wait for %s to stop: %w", r.From.Instance, err)
			}
			return "", nil
		}
		w.confirm = true
		return "instance already " + inst.State, nil
	}
	if err := w.l.check(ctx, r); err != nil {
		return "", err
	}
	if err := c.ec2.StopInstance(ctx, r.From.Instance, true); err != nil {
		return "", fmt.Errorf("stop %s (force): %w", r.From.Instance, err)
	}
	if c.o.FencePolicy == FenceStrict {
		if err := c.ec2.WaitStopped(ctx, r.From.Instance); err != nil {
			return "", fmt.Errorf("wait for %s to stop: %w", r.From.Instance, err)
		}
		return "", nil
	}
	w.confirm = true
	return "", nil
}

// confirmStop waits for the fenced owner to stop in a goroutine of the term,
// paging fence_unconfirmed if it has not within deadline. One confirmation
// per record runs at a time in a term.
func (w *worker) confirmStop(ctx context.Context, deadline time.Duration) {
	l, r := w.l, *w.r
	r.Timeline = nil // the goroutine reads only the identity of the record
	l.mu.Lock()
	if l.confirming[r.ID] {
		l.mu.Unlock()
		return
	}
	l.confirming[r.ID] = true
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() {
			l.mu.Lock()
			delete(l.confirming, r.ID)
			l.mu.Unlock()
		}()
		wctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		err := l.c.ec2.WaitStopped(wctx, r.From.Instance)
		if err == nil {
			w.log.Info().Str("instance", r.From.Instance).Msg("fence confirmed: old owner stopped")
			return
		}
		if ctx.Err() != nil {
			return
		}
		w.log.Error().Err(err).Str("instance", r.From.Instance).Msg("fence NOT confirmed: old owner did not stop in time")
		l.page(ctx, alert.Event{Kind: alert.KindFenceUnconfirmed, Severity: alert.SeverityCritical, DedupKey: "fence_unconfirmed/" + r.ID,
			Volume: r.Volume, Instance: r.From.Instance, FailoverID: r.ID,
			Summary: fmt.Sprintf("%s: old owner %s did not reach stopped within %s of the forced stop: %v", r.Volume, r.From.Instance, l.c.o.Deadlines.FenceConfirm, err)}, true)
	}()
}

// resumeFenceConfirmation restarts, for a record this term took over, the
// background stop confirmation of the default fence policy: the leader that
// issued the stop confirmed it in a goroutine that died with its term. The
// deadline still counts from the end of the fence step; if it has passed, one
// last look is given before fence_unconfirmed is paged. An owner already
// stopped confirms at once.
func (w *worker) resumeFenceConfirmation(ctx context.Context) {
	r, c := w.r, w.l.c
	if r.Kind != KindFailover || r.Fence != FenceStopThenDetach || r.Step == StepPlanned || r.Step == StepDone || r.From.Instance == "" {
		return
	}
	var fenced time.Time
	for _, st := range r.Timeline {
		if st.Step == StepFenced {
			fenced = st.End
		}
	}
	if fenced.IsZero() {
		return
	}
	left := fenced.Add(c.o.Deadlines.FenceConfirm).Sub(c.clk.Now())
	w.log.Info().Str("instance", r.From.Instance).Dur("left", left).Msg("resuming the confirmation of the old owner's stop")
	w.confirmStop(ctx, max(left, c.o.ProbeInterval))
}

// targetLostError says the record's target can no longer receive the volume.
type targetLostError struct{ why string }

func (e *targetLostError) Error() string { return "failover target lost: " + e.why }

// towardTarget guards a step that acts toward the target: before every
// attempt it checks that the target still lives (its registration lease
// exists and EC2 says running). A dead target ends the step with
// targetLostError for run to re-plan.
func (w *worker) towardTarget(act func(context.Context) (string, error)) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		why, err := w.targetGone(ctx)
		if err != nil {
			return "", err
		}
		if why != "" {
			return "", &targetLostError{why: fmt.Sprintf("target %s: %s", w.r.To.Instance, why)}
		}
		return act(ctx)
	}
}

// targetGone says why the target is no longer eligible ("" = it is).
func (w *worker) targetGone(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	resp, err := c.cli.Get(ctx, c.keys.Host(r.To.Instance), clientv3.WithCountOnly())
	if err != nil {
		return "", fmt.Errorf("read registration of target %s: %w", r.To.Instance, err)
	}
	if resp.Count == 0 {
		return "registration lease gone", nil
	}
	insts, err := c.ec2.Instances(ctx, []string{r.To.Instance})
	if err != nil {
		return "", fmt.Errorf("describe target %s: %w", r.To.Instance, err)
	}
	inst, ok := insts[r.To.Instance]
	switch {
	case !ok:
		return "unknown to EC2", nil
	case inst.State != "running":
		return "EC2 state " + inst.State, nil
	}
	return "", nil
}

// targetLost re-plans a move whose target died before step: while the volume
// is not attached to the dead target a new target is chosen and journaled;
// once it is, the record is finished as abandoned, so that the next round
// sees the dead target as the owner and fails the volume over afresh.
func (w *worker) targetLost(ctx context.Context, step Step, why string) (abandoned bool, err error) {
	r, c := w.r, w.l.c
	v, err := w.volume(ctx)
	if err != nil {
		return false, err
	}
	if a, ok := v.AttachmentTo(r.To.Instance); ok && a.State != "detached" {
		return true, w.abandon(ctx, step, why)
	}
	s, err := w.l.read(ctx)
	if err != nil {
		return false, fmt.Errorf("re-plan %s after %s: %w", r.Volume, why, err)
	}
	in := w.l.targetInput(s, v, r.From.Instance, "")
	in.Suspect[r.To.Instance] = true
	to, err := chooseTarget(in)
	if err != nil {
		w.l.noTarget(ctx, v, r.From.Instance, err)
		return false, fmt.Errorf("re-plan %s after %s: %w", r.Volume, why, err)
	}
	now := c.clk.Now().UTC()
	old := r.To.Instance
	st := r.stepRecord(step, now)
	st.Note = strings.TrimSpace(st.Note + fmt.Sprintf(" %s; new target %s.", why, to.Instance))
	r.PreviousTargets = append(r.PreviousTargets, old)
	r.To = Endpoint{Instance: to.Instance, Machine: to.Machine, PrivateIP: to.PrivateIP}
	r.Updated = now
	if err := w.l.j.update(ctx, r); err != nil {
		return false, err
	}
	w.log.Warn().Str("step", string(step)).Str("lost", old).Str("to", to.Instance).Str("reason", why).Msg("target lost or refused the attach; re-targeted")
	return false, nil
}

// abandon finishes a record whose target died with the volume attached to
// it: to the history with the reason, its switchover request removed and its
// damping entry withdrawn (the move did not complete, and the fresh failover
// the next round starts must not wait out a cooldown).
func (w *worker) abandon(ctx context.Context, step Step, why string) error {
	r, c := w.r, w.l.c
	now := c.clk.Now().UTC()
	r.Abandoned = fmt.Sprintf("%s before step %s, with the volume attached to it; the next round decides afresh", why, step)
	r.Updated, r.Finished = now, now
	var extra []clientv3.Op
	switch r.Kind {
	case KindSwitchover:
		extra = append(extra, clientv3.OpDelete(c.keys.VolumeSwitchover(r.Volume)))
	case KindFailover:
		resp, err := c.cli.Get(ctx, c.keys.DampingVolume(r.Volume))
		if err != nil {
			return fmt.Errorf("read damping of %s to abandon %s: %w", r.Volume, r.ID, err)
		}
		if len(resp.Kvs) == 1 {
			if d, err := parseDamping(resp.Kvs[0].Value); err == nil {
				kept := Damping{}
				for _, t := range d.Failovers {
					if !t.Equal(r.Created) {
						kept.Failovers = append(kept.Failovers, t)
					}
				}
				extra = append(extra, clientv3.OpPut(c.keys.DampingVolume(r.Volume), kept.encode()))
			}
		}
	}
	if err := w.l.j.finish(ctx, r, extra...); err != nil {
		return err
	}
	c.m.failovers.WithLabelValues(ResultAbandoned, string(r.Kind)).Inc()
	w.log.Error().Str("step", string(step)).Str("to", r.To.Instance).Str("reason", r.Abandoned).Msg("move abandoned: its target died")
	// Close this move's incident: the fresh failover of the next round opens its own,
	// and an incident left open by a record that no longer exists would never resolve.
	w.l.page(ctx, alert.Event{Kind: alert.KindFailoverCompleted, Action: alert.ActionResolve, Severity: severityOf(r.Kind), DedupKey: "failover/" + r.ID,
		Volume: r.Volume, Instance: r.To.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s of %s to %s abandoned: %s", r.Kind, r.Volume, r.To.Instance, r.Abandoned),
		Details: map[string]any{"timeline": r.Timeline, "signals": r.Signals, "abandoned": r.Abandoned}}, false)
	return nil
}

// targetRefuses says an attach failed because of the target host itself, not
// the volume: the device is taken there, the host is at its attachment limit,
// or it is in another zone. ErrVolumeInUse is about the volume (attached
// elsewhere) and is not one of them: attach checks the volume's attachments
// before it calls.
func targetRefuses(err error) bool {
	return errors.Is(err, awsops.ErrDeviceInUse) || errors.Is(err, awsops.ErrAttachmentLimit) || errors.Is(err, awsops.ErrZoneMismatch)
}

// detach takes the volume off the old owner: forced for a dead owner, plain for a switchover.
func (w *worker) detach(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	if r.Kind == KindHeal {
		return "no previous owner", nil
	}
	v, err := w.volume(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := v.AttachmentTo(r.From.Instance); !ok {
		return "not attached to " + r.From.Instance, nil
	}
	if err := w.l.check(ctx, r); err != nil {
		return "", err
	}
	force := r.Kind == KindFailover
	if err := c.ec2.DetachVolume(ctx, r.Volume, r.From.Instance, force); err != nil {
		return "", fmt.Errorf("detach %s from %s (force %t): %w", r.Volume, r.From.Instance, force, err)
	}
	return "", nil
}

// attach puts the volume on the target as the same device and stamps the epoch.
func (w *worker) attach(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	v, err := w.volume(ctx)
	if err != nil {
		return "", err
	}
	var skipped []string
	a, ok := v.AttachmentTo(r.To.Instance)
	for _, other := range v.Attachments {
		if other.InstanceID != r.To.Instance && other.State != "detached" {
			return "", fmt.Errorf("attach %s to %s: still attached to %s (%s)", r.Volume, r.To.Instance, other.InstanceID, other.State)
		}
	}
	switch {
	case ok && a.State == "attached":
		skipped = append(skipped, "already attached")
	case ok:
		return "", fmt.Errorf("attach %s to %s: attachment is %s; waiting", r.Volume, r.To.Instance, a.State)
	default:
		if err := w.l.check(ctx, r); err != nil {
			return "", err
		}
		dev, err := c.ec2.AttachVolume(ctx, r.Volume, r.To.Instance, awsops.DeviceNames(r.Device))
		if err != nil {
			if targetRefuses(err) {
				// Retrying the same host cannot succeed: it already holds a volume
				// on the device, or takes no more. run re-plans to another target.
				return "", &targetLostError{why: fmt.Sprintf("target %s cannot take %s as %s: %v", r.To.Instance, r.Volume, r.Device, err)}
			}
			return "", fmt.Errorf("attach %s to %s as %s: %w", r.Volume, r.To.Instance, r.Device, err)
		}
		r.Device = dev
	}
	epoch := strconv.FormatInt(r.Epoch, 10)
	if v.Tags[TagEpoch] == epoch && v.Tags[TagFailoverID] == r.ID {
		skipped = append(skipped, "already stamped")
	} else {
		if err := w.l.check(ctx, r); err != nil {
			return "", err
		}
		if err := c.ec2.TagVolume(ctx, r.Volume, map[string]string{TagEpoch: epoch, TagFailoverID: r.ID}); err != nil {
			return "", fmt.Errorf("stamp epoch %s on %s: %w", epoch, r.Volume, err)
		}
	}
	return strings.Join(skipped, ", "), nil
}

// moveMetadata moves the fleet metadata in ONE PATCH, strictly after the
// attach: removed from the old machine and any stale one, added on the target.
func (w *worker) moveMetadata(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	key := c.o.MetadataKey
	machines, err := c.fleet.Machines(ctx)
	if err != nil {
		return "", fmt.Errorf("list fleet machines: %w", err)
	}
	var target *fleet.Machine
	var ops []fleet.MetadataOp
	removed := map[string]bool{}
	for i, m := range machines {
		if m.ID == r.To.Machine {
			target = &machines[i]
			continue
		}
		if m.Metadata[key] == r.Volume {
			ops = append(ops, fleet.MetadataOp{Op: fleet.OpRemove, MachineID: m.ID, Key: key})
			removed[m.ID] = true
		}
	}
	if target == nil {
		return "", fmt.Errorf("move metadata of %s: fleet does not list target machine %s", r.Volume, r.To.Machine)
	}
	if v, ok := target.Metadata[key]; ok && v != r.Volume {
		return "", fmt.Errorf("move metadata of %s: target machine %s carries %s=%s", r.Volume, r.To.Machine, key, v)
	}
	targetHas := target.Metadata[key] == r.Volume
	if len(ops) == 0 && targetHas {
		return "metadata already on target only", nil
	}
	// The old machine may be gone from the list (dead): its metadata persists, so
	// remove it by ID in the same PATCH.
	if r.From.Machine != "" && r.From.Machine != r.To.Machine && !removed[r.From.Machine] {
		ops = append([]fleet.MetadataOp{{Op: fleet.OpRemove, MachineID: r.From.Machine, Key: key}}, ops...)
	}
	if !targetHas {
		ops = append(ops, fleet.MetadataOp{Op: fleet.OpAdd, MachineID: r.To.Machine, Key: key, Value: r.Volume})
	}
	if err := w.l.check(ctx, r); err != nil {
		return "", err
	}
	if err := c.fleet.PatchMetadata(ctx, ops); err != nil {
		return "", fmt.Errorf("move metadata %s=%s to %s: %w", key, r.Volume, r.To.Machine, err)
	}
	return "", nil
}

// reschedule makes sure the unit exists and is launched, then waits until it
// is active on the target machine.
func (w *worker) reschedule(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	unit := c.unitName(r.Volume)
	skipped := ""
	u, err := c.fleet.Unit(ctx, unit)
	switch {
	case errors.Is(err, fleet.ErrNotFound):
		tmpl := c.templateName()
		t, err := c.fleet.Unit(ctx, tmpl)
		if err != nil {
			return "", fmt.Errorf("read template %s to create %s: %w", tmpl, unit, err)
		}
		if err := w.l.check(ctx, r); err != nil {
			return "", err
		}
		if err := c.fleet.CreateUnit(ctx, unit, t.Options, fleet.StateLaunched); err != nil {
			return "", fmt.Errorf("create %s from %s: %w", unit, tmpl, err)
		}
	case err != nil:
		return "", fmt.Errorf("read unit %s: %w", unit, err)
	case u.DesiredState != fleet.StateLaunched:
		if err := w.l.check(ctx, r); err != nil {
			return "", err
		}
		if err := c.fleet.SetUnitTargetState(ctx, unit, fleet.StateLaunched); err != nil {
			return "", fmt.Errorf("launch %s: %w", unit, err)
		}
	case u.MachineID == r.To.Machine:
		skipped = "unit already launched on the target"
	default:
		// fleet's engine reacts to a metadata PATCH only on its next tick (up to
		// engine_reconcile_interval, 2 s by default), but to a desired-state write
		// at once (its job watch). Writing the same "launched" again is a no-op for
		// the unit and places it on the target now.
		if err := w.l.check(ctx, r); err != nil {
			return "", err
		}
		if err := c.fleet.SetUnitTargetState(ctx, unit, fleet.StateLaunched); err != nil {
			return "", fmt.Errorf("nudge fleet to place %s: %w", unit, err)
		}
		skipped = "unit already launched; fleet nudged to place it"
	}
	if err := c.fleet.WaitUnitActive(ctx, unit, r.To.Machine, c.pollInterval()); err != nil {
		return "", fmt.Errorf("wait for %s active on %s: %w", unit, r.To.Machine, err)
	}
	return skipped, nil
}

// verify needs Postgres to accept a startup on the target and the volume to be
// attached there (and nowhere else).
func (w *worker) verify(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	v, err := w.volume(ctx)
	if err != nil {
		return "", err
	}
	owner, _, err := currentOwner(v)
	if err != nil {
		return "", err
	}
	if owner != r.To.Instance {
		return "", fmt.Errorf("verify %s: attached to %q, want %s", r.Volume, owner, r.To.Instance)
	}
	addr := net.JoinHostPort(r.To.PrivateIP, strconv.Itoa(c.o.PostgresPort))
	pctx, cancel := context.WithTimeout(ctx, max(c.o.ProbeTimeout, time.Second))
	defer cancel()
	if err := health.ProbePostgresReady(pctx, addr); err != nil {
		return "", fmt.Errorf("verify postgres at %s: %w", addr, err)
	}
	return "", nil
}

// finish moves the record to history (removing a fulfilled switchover request) and pages completion.
func (w *worker) finish(ctx context.Context) error {
	r, c := w.r, w.l.c
	now := c.clk.Now().UTC()
	st := r.stepRecord(StepDone, now)
	st.End, st.Attempts, st.Leader = now, st.Attempts+1, c.o.InstanceID
	r.Step, r.Updated, r.Finished = StepDone, now, now
	var err error
	if r.Kind == KindSwitchover {
		err = w.l.j.finish(ctx, r, clientv3.OpDelete(c.keys.VolumeSwitchover(r.Volume)))
	} else {
		err = w.l.j.finish(ctx, r)
	}
	if err != nil {
		return err
	}
	w.log.Warn().Str("to", r.To.Instance).Dur("took", now.Sub(r.Created)).Msg("move completed")
	c.m.failovers.WithLabelValues(ResultCompleted, string(r.Kind)).Inc()
	c.m.failoverDur.WithLabelValues(string(r.Kind)).Observe(now.Sub(r.Created).Seconds())
	w.l.page(ctx, alert.Event{Kind: alert.KindFailoverCompleted, Action: alert.ActionResolve, Severity: severityOf(r.Kind), DedupKey: "failover/" + r.ID,
		Volume: r.Volume, Instance: r.To.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s of %s to %s completed in %s", r.Kind, r.Volume, r.To.Instance, now.Sub(r.Created).Round(time.Millisecond)),
		Details: map[string]any{"timeline": r.Timeline, "signals": r.Signals}}, false)
	if c.o.afterStep != nil {
		c.o.afterStep(r)
	}
	return nil
}

func (w *worker) volume(ctx context.Context) (awsops.Volume, error) {
	vols, err := w.l.c.ec2.Volumes(ctx, []string{w.r.Volume})
	if err != nil {
		return awsops.Volume{}, fmt.Errorf("describe %s: %w", w.r.Volume, err)
	}
	v, ok := vols[w.r.Volume]
	if !ok {
		return awsops.Volume{}, fmt.Errorf("describe %s: %w", w.r.Volume, awsops.ErrVolumeNotFound)
	}
	return v, nil
}

// pausedNow reads the pause overrides of one volume under the leader's guard.
func (l *leader) pausedNow(ctx context.Context, volume string) (string, error) {
	k := l.c.keys
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(
		clientv3.OpGet(k.Pause()), clientv3.OpGet(k.Volumes()+volume+"/", clientv3.WithPrefix())).Commit()
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
	ov := k.parseOverrides(global, resp.Responses[1].GetResponseRange().Kvs, l.c.clk.Now())
	return ov.PausedReason(volume), nil
}

func (c *Controller) unitName(volume string) string { return fmt.Sprintf(c.o.UnitTemplate, volume) }

// templateName is the fleet template the unit is instantiated from: postgres@.service.
func (c *Controller) templateName() string { return strings.Replace(c.o.UnitTemplate, "%s", "", 1) }

func (c *Controller) pollInterval() time.Duration { return min(c.o.ProbeInterval, time.Second) }

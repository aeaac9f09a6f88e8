package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// noOwner is the fence and detach of a heal: there is no previous owner.
func (w *worker) noOwner(context.Context) (string, error) { return "no previous owner", nil }

// stopOwner fences a dead owner by stopping it, hard (Force, skipping the
// OS shutdown). An owner already stopping is sent the hard stop too: a
// graceful stop can hang in the guest for minutes, and under the strict
// policy the move waits for stopped. Under the strict policy the step waits
// for stopped; under the default one the planner confirms the stop in the
// background.
func (w *worker) stopOwner(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	insts, err := c.ec2.Instances(ctx, []string{r.From.Instance})
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", r.From.Instance, err)
	}
	inst, ok := insts[r.From.Instance]
	switch {
	case !ok:
		return "instance gone", nil
	case inst.State == "stopped" || inst.State == "terminated":
		return "instance " + inst.State, nil
	case inst.State == "shutting-down" || (inst.State == "stopping" && w.stopSent()):
		// Terminating (no stop can overtake it), or stopping from the hard stop
		// an earlier attempt of this step sent.
		if r.Fence == state.FenceStrict {
			return "", w.waitStopped(ctx)
		}
		return "instance already " + inst.State, nil
	}
	err = w.l.mutate(ctx, r, func(ctx context.Context) error { return c.ec2.StopInstance(ctx, r.From.Instance, true) })
	if errors.Is(err, awsops.ErrStopRefused) && r.Fence != state.FenceStrict {
		return w.detachOnlyFence(ctx, err), nil
	}
	if err != nil {
		return "", fmt.Errorf("owner was %s: %w", inst.State, err) // awsops names the call
	}
	if r.Fence == state.FenceStrict {
		return "", w.waitStopped(ctx)
	}
	return "", nil
}

// detachOnlyFence is the fence of an owner that refuses to stop (stop
// protection, some Spot types): the forced detach that follows is the
// storage fence on its own, and a human must stop the old host. Under the
// strict policy the refusal is a permanent step failure instead: the
// operator chose to wait for stopped.
func (w *worker) detachOnlyFence(ctx context.Context, err error) string {
	r := w.r
	// The incident is the stop confirmation's: it resolves when the old
	// owner is seen stopped.
	w.l.page(ctx, alert.Event{Kind: alert.KindFenceUnconfirmed, Severity: alert.SeverityCritical, DedupKey: "fence_unconfirmed/" + r.ID,
		Volume: r.Volume, Instance: r.From.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s: old owner %s refuses to stop (%v); fencing by the forced detach alone. Stop it by hand: it may still run Postgres clients against a volume it no longer has", r.Volume, r.From.Instance, err)})
	return "stop refused: detach-only fence"
}

// stopSent says whether an earlier attempt of the fence step may have sent
// the hard stop already: an owner found stopping then is stopping from it.
func (w *worker) stopSent() bool {
	for _, st := range w.r.Timeline {
		if st.Step == state.StepFenced {
			return st.Attempts > 1
		}
	}
	return false
}

func (w *worker) waitStopped(ctx context.Context) error {
	if err := w.l.c.ec2.WaitStopped(ctx, w.r.From.Instance); err != nil {
		return fmt.Errorf("wait for %s to stop: %w", w.r.From.Instance, err)
	}
	return nil
}

// stopUnit is a switchover's fence: Postgres is stopped through fleet, and
// the plain detach waits for positive proof that it exited on the owner.
// fleet's /state is no proof by absence: when a unit is unloaded (desired
// inactive) its agent triggers the stop without waiting and drops the state
// about a second later, while the process may run on for its whole
// TimeoutStopSec (fleet v1.0.0 agent/reconcile.go and unit/manager.go). So the
// unit is set loaded, not inactive: it stays on the owner's machine, stopped,
// and the owner's agent keeps publishing its state until systemd reports it
// inactive or failed there. Without that proof within the fence deadline the
// move is escalated to a failover: the owner is fenced by a stop.
func (w *worker) stopUnit(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	unit := c.unitName(r.Volume)
	u, err := c.fleet.Unit(ctx, unit)
	switch {
	case errors.Is(err, fleet.ErrNotFound):
		return "unit not in fleet", nil
	case err != nil:
		return "", fmt.Errorf("read unit %s: %w", unit, err)
	case u.DesiredState != fleet.StateLoaded:
		err := w.l.mutate(ctx, r, func(ctx context.Context) error { return c.fleet.SetUnitTargetState(ctx, unit, fleet.StateLoaded) })
		if err != nil {
			return "", fmt.Errorf("stop %s (set it loaded): %w", unit, err)
		}
	}
	if r.From.Machine == "" {
		return "", &escalateError{why: "the owner's fleet machine is unknown: no proof that " + unit + " stopped"}
	}
	return "", w.waitUnitExited(ctx, unit)
}

// waitUnitExited polls fleet until the owner's agent reports the unit
// inactive or failed there, until the fence deadline counted from the
// step's start; then it asks for the escalation.
func (w *worker) waitUnitExited(ctx context.Context, unit string) error {
	r, c := w.r, w.l.c
	bound := r.Entry(state.StepFenced, c.clk.Now()).Start.Add(c.o.Deadlines.Fence)
	last := "no state published"
	for {
		states, err := c.fleet.UnitStates(ctx, r.From.Machine, unit)
		if err == nil {
			for _, st := range states {
				if st.MachineID != r.From.Machine {
					continue
				}
				if st.SystemdActiveState == "inactive" || st.SystemdActiveState == "failed" {
					return nil
				}
				last = st.SystemdActiveState + "/" + st.SystemdSubState
			}
		}
		if !c.clk.Now().Before(bound) {
			return &escalateError{why: fmt.Sprintf("no proof within %s that %s stopped on %s (last seen: %s)", c.o.Deadlines.Fence, unit, r.From.Instance, last)}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to stop on %s (last seen: %s): %w", unit, r.From.Machine, last, ctx.Err())
		case <-c.clk.After(c.pollInterval()):
		}
	}
}

// forceDetach takes the volume off a dead owner: forced, since the owner cannot cooperate.
func (w *worker) forceDetach(ctx context.Context) (string, error) { return w.detach(ctx, true) }

// plainDetach takes the volume off a live owner whose unit has stopped. A
// plain detach the owner does not let go of (the volume still mounted or in
// use) sticks in busy or detaching: that is paged with what the operator can
// do, and retried. Should the owner die meanwhile, the planner escalates the
// move to a failover.
func (w *worker) plainDetach(ctx context.Context) (string, error) {
	skipped, err := w.detach(ctx, false)
	if errors.Is(err, awsops.ErrStuck) {
		r := w.r
		w.trigger(ctx, alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "detach_stuck/" + r.ID + "/" + string(state.StepDetached),
			Volume: r.Volume, Instance: r.From.Instance, FailoverID: r.ID,
			Summary: fmt.Sprintf("switchover of %s: %s does not let go of the volume (%v). Make sure Postgres has stopped and the volume is unmounted there; "+
				"the detach is retried. To hold the move meanwhile: volfailover pause --volume %s. If the host is unhealthy, stop it: the move then becomes a failover",
				r.Volume, r.From.Instance, err, r.Volume)})
	}
	return skipped, err
}

func (w *worker) detach(ctx context.Context, force bool) (string, error) {
	r, c := w.r, w.l.c
	v, err := w.volume(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := v.AttachmentTo(r.From.Instance); !ok {
		return "not attached to " + r.From.Instance, nil
	}
	// awsops names the call in its errors.
	return "", w.l.mutate(ctx, r, func(ctx context.Context) error { return c.ec2.DetachVolume(ctx, r.Volume, r.From.Instance, force) })
}

// attach puts the volume on the target as the same device and stamps the
// epoch. An attachment to a host other than the old owner and the target (a
// late attach of an earlier target, or one sent by a deposed leader) is the
// new state of the world, and the planner's to judge: the move goes back to
// it. So does an attach stuck in attaching past the attach deadline, after
// the stuck attachment is force-detached.
func (w *worker) attach(ctx context.Context) (string, error) {
	r := w.r
	v, err := w.volume(ctx)
	if err != nil {
		return "", err
	}
	for _, other := range v.Attachments {
		switch {
		case other.InstanceID == r.To.Instance || other.State == "detached":
		case other.InstanceID == r.From.Instance:
			return "", fmt.Errorf("attach %s to %s: still attached to the old owner %s (%s)", r.Volume, r.To.Instance, other.InstanceID, other.State)
		default:
			return "", &targetLostError{why: fmt.Sprintf("volume attached to %s (%s), not to target %s", other.InstanceID, other.State, r.To.Instance), stray: other.InstanceID}
		}
	}
	var skipped []string
	switch a, ok := v.AttachmentTo(r.To.Instance); {
	case ok && a.State == "attached":
		skipped = append(skipped, "already attached")
		r.Device = a.Device
	case ok && a.State != "attaching":
		return "", fmt.Errorf("attach %s to %s: attachment is %s; waiting", r.Volume, r.To.Instance, a.State)
	case ok && !a.AttachTime.IsZero() && w.l.c.clk.Since(a.AttachTime) > w.l.c.o.Deadlines.Attach:
		// awsops gives up on a stuck attach only after its own bound, which a
		// mutation bounded by the session lease may never reach.
		return "", w.unstick(ctx, fmt.Sprintf("attachment to %s stuck in attaching since %s", r.To.Instance, a.AttachTime.UTC().Format(time.RFC3339)))
	default:
		// An attachment still attaching is handed to awsops too: it recognises
		// it as ours, waits for it, and moves to the next device name if it is stuck.
		if err := w.attachCall(ctx); err != nil {
			return "", err
		}
	}
	stamped, err := w.stamp(ctx, v)
	if err != nil {
		return "", err
	}
	if stamped != "" {
		skipped = append(skipped, stamped)
	}
	return strings.Join(skipped, ", "), nil
}

func (w *worker) attachCall(ctx context.Context) error {
	r, c := w.r, w.l.c
	var dev string
	err := w.l.mutate(ctx, r, func(ctx context.Context) error {
		var err error
		dev, err = c.ec2.AttachVolume(ctx, r.Volume, r.To.Instance, awsops.DeviceNames(r.Device))
		return err
	})
	switch {
	case err == nil:
		r.Device = dev
		return nil
	case targetRefuses(err):
		// Retrying the same host cannot succeed: it already holds a volume on
		// the device, or takes no more. The planner re-targets.
		return &targetLostError{why: fmt.Sprintf("target %s cannot take %s as %s: %v", r.To.Instance, r.Volume, r.Device, err)}
	case errors.Is(err, awsops.ErrStuck):
		return w.unstick(ctx, fmt.Sprintf("attach to %s stuck: %v", r.To.Instance, err))
	}
	return err // awsops names the call
}

// unstick force-detaches an attachment stuck in attaching, pages, and hands
// the move back to the planner, which picks another target.
func (w *worker) unstick(ctx context.Context, why string) error {
	r, c := w.r, w.l.c
	err := w.l.mutate(ctx, r, func(ctx context.Context) error { return c.ec2.DetachVolume(ctx, r.Volume, r.To.Instance, true) })
	if err != nil {
		return fmt.Errorf("force-detach stuck attachment of %s from %s: %w", r.Volume, r.To.Instance, err)
	}
	w.trigger(ctx, alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "attach_stuck/" + r.ID + "/" + r.To.Instance,
		Volume: r.Volume, Instance: r.To.Instance, FailoverID: r.ID,
		Summary: fmt.Sprintf("%s of %s: %s; force-detached, choosing another target", r.Kind, r.Volume, why)})
	return &targetLostError{why: why}
}

// stamp tags the volume with the move's epoch; "already stamped" when it is.
func (w *worker) stamp(ctx context.Context, v awsops.Volume) (string, error) {
	r := w.r
	epoch := strconv.FormatInt(r.Epoch, 10)
	if v.Tags[TagEpoch] == epoch && v.Tags[TagFailoverID] == r.ID {
		return "already stamped", nil
	}
	err := w.l.mutate(ctx, r, func(ctx context.Context) error {
		return w.l.c.ec2.TagVolume(ctx, r.Volume, map[string]string{TagEpoch: epoch, TagFailoverID: r.ID})
	})
	if err != nil {
		return "", fmt.Errorf("stamp epoch %s on %s: %w", epoch, r.Volume, err)
	}
	return "", nil
}

// moveMetadata moves the fleet metadata in ONE PATCH, strictly after the
// attach: removed from the old machine and any stale one, added on the target.
func (w *worker) moveMetadata(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	listed, err, _ := w.l.machines.Do("machines", func() (any, error) { return c.fleet.Machines(ctx) })
	if err != nil {
		return "", fmt.Errorf("list fleet machines: %w", err)
	}
	// Shared with the other workers that asked at once: read, never changed.
	ops, skipped, err := metadataMove(listed.([]fleet.Machine), c.o.MetadataKey, r)
	if err != nil || skipped != "" {
		return skipped, err
	}
	if err := w.l.mutate(ctx, r, func(ctx context.Context) error { return c.fleet.PatchMetadata(ctx, ops) }); err != nil {
		return "", fmt.Errorf("move metadata %s=%s to %s: %w", c.o.MetadataKey, r.Volume, r.To.Machine, err)
	}
	return "", nil
}

// metadataMove is the PATCH that puts key=volume on the target's machine
// only; skipped says why none is needed.
func metadataMove(machines []fleet.Machine, key string, r *state.Record) (ops []fleet.MetadataOp, skipped string, err error) {
	var target *fleet.Machine
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
		return nil, "", fmt.Errorf("move metadata of %s: fleet does not list target machine %s", r.Volume, r.To.Machine)
	}
	if v, ok := target.Metadata[key]; ok && v != r.Volume {
		return nil, "", fmt.Errorf("move metadata of %s: target machine %s carries %s=%s", r.Volume, r.To.Machine, key, v)
	}
	targetHas := target.Metadata[key] == r.Volume
	if len(ops) == 0 && targetHas {
		return nil, "metadata already on target only", nil
	}
	// The old machine may be gone from the list (dead): its metadata persists,
	// so remove it by ID in the same PATCH.
	if r.From.Machine != "" && r.From.Machine != r.To.Machine && !removed[r.From.Machine] {
		ops = append([]fleet.MetadataOp{{Op: fleet.OpRemove, MachineID: r.From.Machine, Key: key}}, ops...)
	}
	if !targetHas {
		ops = append(ops, fleet.MetadataOp{Op: fleet.OpAdd, MachineID: r.To.Machine, Key: key, Value: r.Volume})
	}
	return ops, "", nil
}

// reschedule makes sure the unit exists and is launched, then waits until it
// is active on the target machine.
func (w *worker) reschedule(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	unit := c.unitName(r.Volume)
	skipped, err := w.launch(ctx, unit, r.To.Machine)
	if err != nil {
		return "", err
	}
	if err := c.fleet.WaitUnitActive(ctx, unit, r.To.Machine, rescheduleInterval); err != nil {
		return "", fmt.Errorf("wait for %s active on %s: %w", unit, r.To.Machine, err)
	}
	return skipped, nil
}

// launch creates the unit from its template if it is missing and sets it
// launched. A unit already launched elsewhere is set launched again: fleet's
// engine reacts to a metadata PATCH only on its next tick (up to
// engine_reconcile_interval, 2 s by default), but every desired-state write
// wakes its job watch one watch sleep (1 s) later, changed or not (fleet
// v1.0.0 registry/job.go and registry/event.go; etcd v2 notifies watchers of
// every Set). Measured on the sandbox with fleet's real timing: metadata
// PATCH to active on the new host, p50 2.73 s without the write, 1.78 s with
// it (docs/sandbox.md).
func (w *worker) launch(ctx context.Context, unit, machine string) (string, error) {
	r, c := w.r, w.l.c
	u, err := c.fleet.Unit(ctx, unit)
	skipped := ""
	switch {
	case errors.Is(err, fleet.ErrNotFound):
		tmpl := c.templateName()
		t, err := c.fleet.Unit(ctx, tmpl)
		if err != nil {
			return "", fmt.Errorf("read template %s to create %s: %w", tmpl, unit, err)
		}
		err = w.l.mutate(ctx, r, func(ctx context.Context) error { return c.fleet.CreateUnit(ctx, unit, t.Options, fleet.StateLaunched) })
		if err != nil {
			return "", fmt.Errorf("create %s from %s: %w", unit, tmpl, err)
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read unit %s: %w", unit, err)
	case u.DesiredState == fleet.StateLaunched && u.MachineID == machine:
		return "unit already launched on the target", nil
	case u.DesiredState == fleet.StateLaunched:
		skipped = "unit already launched; fleet nudged to place it"
	case u.MachineID != "" && u.MachineID != machine:
		if err := w.waitUnplaced(ctx, unit, u.MachineID); err != nil {
			return "", err
		}
	}
	if err := w.l.mutate(ctx, r, func(ctx context.Context) error { return c.fleet.SetUnitTargetState(ctx, unit, fleet.StateLaunched) }); err != nil {
		return "", fmt.Errorf("launch %s: %w", unit, err)
	}
	return skipped, nil
}

// waitUnplaced waits until fleet no longer places the stopped unit on
// machine, the old owner's. A switchover stops Postgres by setting the unit
// loaded, so it stays placed there; fleet's engine moves it only on its next
// pass (engine_reconcile_interval, 2 s by default), once it sees that machine
// without the volume's metadata. Launched before then, the unit is started
// on the old owner by its agent, which acts on the target state of the units
// placed on its machine at once (fleet v1.0.0 agent/reconcile.go), beside the
// target's: two Postgres for one volume (chaos seed 2611301 saw it).
func (w *worker) waitUnplaced(ctx context.Context, unit, machine string) error {
	c := w.l.c
	for {
		u, err := c.fleet.Unit(ctx, unit)
		switch {
		case errors.Is(err, fleet.ErrNotFound):
			return nil
		case err == nil && u.MachineID != machine:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for fleet to take %s off %s (the old owner's machine): %w", unit, machine, ctx.Err())
		case <-c.clk.After(c.pollInterval()):
		}
	}
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
	if err := w.waitReady(ctx, addr); err != nil {
		return "", fmt.Errorf("verify postgres at %s: %w", addr, err)
	}
	return "", nil
}

// Postgres readiness is asked every verifyPoll for up to verifyPatience in
// one attempt of the verify step: fleet reports the unit active as soon as
// its process starts, a moment before Postgres accepts a startup, and a
// failed attempt would wait out the step's backoff (500 ms and more) first.
const (
	verifyPoll     = 100 * time.Millisecond
	verifyPatience = 5 * time.Second
)

// waitReady asks Postgres at addr for a startup answer until it gives one,
// verifyPatience has passed (the last error), or ctx ends.
func (w *worker) waitReady(ctx context.Context, addr string) error {
	c := w.l.c
	until := c.clk.Now().Add(verifyPatience)
	for {
		pctx, cancel := context.WithTimeout(ctx, max(c.o.ProbeTimeout, time.Second))
		err := c.pg.Ready(pctx, addr)
		cancel()
		if err == nil || ctx.Err() != nil || !c.clk.Now().Before(until) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-c.clk.After(verifyPoll):
		}
	}
}

// publish writes the volume's serving endpoint, <prefix>/volumes/<vol>/primary,
// guarded by the leader key and the record like every journal write, so that
// clients and sidecars watching it follow the move. When the new primary runs
// a role-change hook, its outcome is waited for (within the hook's bound) and
// kept in the step's note, which the completion page carries.
func (w *worker) publish(ctx context.Context) (string, error) {
	r, c := w.r, w.l.c
	k := c.keys
	cur, err := c.cli.Get(ctx, k.VolumePrimary(r.Volume))
	if err != nil {
		return "", fmt.Errorf("read the primary of %s: %w", r.Volume, err)
	}
	if len(cur.Kvs) == 1 {
		if p, err := k.ParsePrimary(cur.Kvs[0]); err == nil && p.Instance == r.To.Instance && p.FailoverID == r.ID {
			return "already published", nil
		}
	}
	p := state.Primary{Volume: r.Volume, Instance: r.To.Instance, Machine: r.To.Machine, Address: r.To.PrivateIP,
		Port: c.o.PostgresPort, Since: c.clk.Now().UTC(), FailoverID: r.ID}
	resp, err := c.cli.Txn(ctx).If(w.l.guard, clientv3.Compare(clientv3.CreateRevision(k.JournalVolume(r.Volume)), "=", r.Rev)).
		Then(clientv3.OpPut(k.VolumePrimary(r.Volume), p.Encode())).Commit()
	switch {
	case err != nil:
		return "", fmt.Errorf("publish the primary of %s: %w", r.Volume, err)
	case !resp.Succeeded:
		return "", fmt.Errorf("publish the primary of %s: %w", r.Volume, errNotLeader)
	}
	if note := w.hookOutcome(ctx); note != "" {
		st := r.Entry(state.StepPublished, c.clk.Now())
		st.Note = strings.TrimSpace(st.Note + " " + note)
	}
	return "", nil
}

// hookOutcome waits, when the new primary runs a role-change hook, for the
// outcome its agent reports, and says it in words ("" = no hook).
func (w *worker) hookOutcome(ctx context.Context) string {
	r, c := w.r, w.l.c
	hosts, err := c.cli.Get(ctx, c.keys.Host(r.To.Instance))
	if err != nil || len(hosts.Kvs) == 0 {
		return ""
	}
	if h, err := c.keys.ParseHost(hosts.Kvs[0]); err != nil || !h.PrimaryHook {
		return ""
	}
	wctx, cancel := context.WithTimeout(ctx, c.o.OnPrimaryChangeTimeout+2*c.o.RoundInterval)
	defer cancel()
	for {
		resp, err := c.cli.Get(wctx, c.keys.VolumeHook(r.Volume))
		if err == nil && len(resp.Kvs) == 1 {
			if h, err := c.keys.ParseHookOutcome(resp.Kvs[0]); err == nil && h.FailoverID == r.ID && h.Instance == r.To.Instance {
				if h.ExitCode == 0 {
					return "on-primary-change hook succeeded."
				}
				return fmt.Sprintf("on-primary-change hook FAILED (exit %d%s): %s", h.ExitCode, prefixed(": ", h.Error), h.Output)
			}
		}
		select {
		case <-wctx.Done():
			return "on-primary-change hook reported no outcome within " + c.o.OnPrimaryChangeTimeout.String() + "."
		case <-c.clk.After(c.pollInterval()):
		}
	}
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// rescheduleInterval is how often the reschedule step asks fleet whether
// the unit runs on the target: fleet starts it within a few hundred
// milliseconds of the metadata move, and a 1 s poll added most of a second
// to every failover.
const rescheduleInterval = 250 * time.Millisecond

// targetGone says why the target is no longer eligible ("" = it is): its
// registration lease is gone, or EC2 does not say running. EC2 is asked
// afresh, not the round's view: a target stopped since the round must be
// seen before the attach (EC2 attaches to a stopped instance). The describe
// is shared with the other moves asking at once (awsops coalesces them).
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

func (c *Controller) unitName(volume string) string { return fmt.Sprintf(c.o.UnitTemplate, volume) }

// templateName is the fleet template the unit is instantiated from: postgres@.service.
func (c *Controller) templateName() string { return strings.Replace(c.o.UnitTemplate, "%s", "", 1) }

func (c *Controller) pollInterval() time.Duration { return min(c.o.RoundInterval, time.Second) }

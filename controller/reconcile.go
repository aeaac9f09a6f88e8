package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// Volume tags stamped by a failover.
const (
	TagEpoch      = "volfailover:epoch"
	TagFailoverID = "volfailover:failover-id"
)

// reconcile is one leader round: read everything once, judge every owner, then
// act per volume.
func (l *leader) reconcile(ctx context.Context) error {
	l.mu.Lock()
	busy := make(map[string]bool, len(l.workers))
	for v := range l.workers {
		busy[v] = true
	}
	l.mu.Unlock()

	s, err := l.read(ctx)
	if err != nil {
		return err
	}
	l.reportBadOverrides(ctx, s)

	if l.lastOwners == nil {
		l.lastOwners = map[string]state.Owner{}
		if prev, err := state.ParseOwners([]byte(s.ownersRaw)); err == nil {
			for _, o := range prev {
				l.lastOwners[o.Instance] = o
			}
		}
	}
	owners := map[string]state.Owner{}
	for _, v := range s.volumes {
		owner, _, err := currentOwner(v)
		if err != nil || owner == "" {
			continue
		}
		o := state.Owner{Instance: owner, AZ: v.AvailabilityZone, Volume: v.ID, Machine: s.machineOf(owner)}
		if inst, ok := s.instances[owner]; ok {
			o.PrivateIP = inst.PrivateIP
		}
		if h, ok := s.hosts[owner]; ok {
			if o.PrivateIP == "" {
				o.PrivateIP = h.PrivateIP
			}
			o.HealthURL = h.HealthURL
		} else if prev, ok := l.lastOwners[owner]; ok {
			o.HealthURL = prev.HealthURL
		}
		owners[owner] = o
	}
	if err := l.publishOwners(ctx, s.ownersRaw, owners); err != nil {
		return err
	}
	l.lastOwners = owners
	verdicts := l.judge(ctx, s, owners)
	l.observe(ctx, s, verdicts)

	for _, v := range s.volumes {
		if busy[v.ID] {
			continue
		}
		if err := l.decide(ctx, s, v, verdicts); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isNotLeader(err) {
				return err
			}
			l.log.Error().Err(err).Str("volume", v.ID).Msg("volume not reconciled")
		}
	}
	return nil
}

// publishOwners writes the owners list the witnesses follow, when it differs from what etcd holds.
func (l *leader) publishOwners(ctx context.Context, current string, owners map[string]state.Owner) error {
	list := make([]state.Owner, 0, len(owners))
	for _, o := range owners {
		if o.PrivateIP != "" {
			list = append(list, o)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Instance < list[j].Instance })
	b, _ := json.Marshal(list)
	if string(b) == current {
		return nil
	}
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(clientv3.OpPut(l.c.keys.Owners(), string(b))).Commit()
	if err != nil {
		return fmt.Errorf("publish owners list: %w", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("publish owners list: %w", errNotLeader)
	}
	return nil
}

// judge probes every owner once, updates the consecutive failure counters and
// returns each owner's verdict.
func (l *leader) judge(ctx context.Context, s *snapshot, owners map[string]state.Owner) map[string]health.Result {
	type res struct {
		owner string
		err   error
	}
	results := make(chan res, len(owners))
	var wg sync.WaitGroup
	for _, o := range owners {
		if o.PrivateIP == "" {
			results <- res{o.Instance, fmt.Errorf("no private IP known for %s", o.Instance)}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if l.c.o.leaderProbe != nil {
				err = l.c.o.leaderProbe(o)
			} else {
				err = l.c.probeOwner(ctx, o, o.HealthURL)
			}
			results <- res{o.Instance, err}
		}()
	}
	wg.Wait()
	close(results)

	list := make([]state.Owner, 0, len(owners))
	for _, o := range owners {
		list = append(list, o)
	}
	witnesses := l.witnesses.assign(list, s.hosts)
	out := map[string]health.Result{}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Counters and verdicts are about owners; a host that no longer owns a volume
	// must not carry a stale "dead" into target choice (a revived former owner is
	// a perfectly good target) or into its next spell as an owner.
	for id := range l.failures {
		if _, ok := owners[id]; !ok {
			delete(l.failures, id)
		}
	}
	for id := range l.verdicts {
		if _, ok := owners[id]; !ok {
			delete(l.verdicts, id)
		}
	}
	for r := range results {
		if r.err != nil {
			l.failures[r.owner]++
		} else {
			l.failures[r.owner] = 0
		}
	}
	for id, o := range owners {
		if _, ok := s.hosts[id]; ok {
			l.seen[id] = true
		}
		obs := health.Observation{
			ProbeFailures:     l.failures[id],
			Registered:        l.seen[id],
			WitnessesAssigned: len(witnesses[id]),
			EtcdHealthy:       true, // the guarded read of this round succeeded
		}
		_, obs.LeaseAlive = s.hosts[id]
		if inst, ok := s.instances[id]; ok {
			obs.EC2Known = true
			obs.EC2State, obs.InstanceStatus, obs.SystemStatus = inst.State, inst.InstanceStatus, inst.SystemStatus
		}
		if m := o.Machine; m != "" && s.fleetOK {
			obs.FleetKnown = true
			_, obs.FleetPresent = s.machines[m]
		}
		assigned := map[string]bool{}
		for _, w := range witnesses[id] {
			assigned[w] = true
		}
		for _, rep := range s.reports[id] {
			if assigned[rep.Witness] {
				obs.Reports = append(obs.Reports, health.WitnessReport{Witness: rep.Witness, Reachable: rep.Reachable, At: rep.At, Detail: rep.Detail})
			}
		}
		result := l.c.policy.Decide(s.now, obs)
		out[id] = result
		if prev := l.verdicts[id]; prev != string(result.Verdict) {
			ev := l.log.Info()
			if result.Verdict != health.VerdictAlive {
				ev = l.log.Warn()
			}
			ev.Str("owner", id).Str("volume", o.Volume).Str("verdict", string(result.Verdict)).
				Bool("actionable", result.Actionable).Str("reason", result.Reason).Msg("owner verdict changed")
			l.verdicts[id] = string(result.Verdict)
		}
	}
	l.c.mu.Lock()
	l.c.verdicts = out
	l.c.mu.Unlock()
	return out
}

// decide acts on one volume.
func (l *leader) decide(ctx context.Context, s *snapshot, v awsops.Volume, verdicts map[string]health.Result) error {
	log := l.log.With().Str("volume", v.ID).Logger()
	paused := s.ov.PausedReason(v.ID)
	if err, ok := s.badJournals[v.ID]; ok {
		l.page(ctx, alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "bad_journal/" + v.ID,
			Volume: v.ID, Summary: fmt.Sprintf("journal record of %s does not parse; volfailover will not touch the volume: %v", v.ID, err)}, true)
		return fmt.Errorf("journal of %s unreadable, volume left alone: %w", v.ID, err)
	}
	if rec := s.journals[v.ID]; rec != nil {
		if paused != "" {
			l.once(ctx, "held/"+rec.ID, func() {
				log.Warn().Str("failover_id", rec.ID).Str("step", string(rec.Step)).Str("pause", paused).Msg("in-progress move held by pause")
			})
			return nil
		}
		l.start(ctx, rec)
		return nil
	}
	owner, moving, err := currentOwner(v)
	if err != nil {
		return err
	}
	if moving {
		return nil
	}
	if owner == "" {
		if paused != "" {
			return nil
		}
		return l.heal(ctx, s, v)
	}
	res, ok := verdicts[owner]
	if !ok {
		return nil
	}
	from := state.Endpoint{Instance: owner, Machine: s.machineOf(owner)}
	if inst, ok := s.instances[owner]; ok {
		from.PrivateIP = inst.PrivateIP
	}
	if sw, ok := s.ov.Switchovers[v.ID]; ok && paused == "" {
		return l.switchover(ctx, s, v, from, sw, res)
	}
	if res.Verdict == health.VerdictDead && res.Actionable {
		if paused != "" {
			l.once(ctx, "paused-dead/"+v.ID+"/"+owner, func() {
				log.Error().Str("owner", owner).Str("pause", paused).Str("reason", res.Reason).Msg("owner is dead but the volume is paused: no failover")
			})
			return nil
		}
		return l.failover(ctx, s, v, from, res, "")
	}
	if res.Verdict == health.VerdictAlive && paused == "" {
		return l.fixMetadata(ctx, s, v, owner)
	}
	return nil
}

// failover plans an automatic failover (or, with preferred, a switchover whose owner died).
func (l *leader) failover(ctx context.Context, s *snapshot, v awsops.Volume, from state.Endpoint, res health.Result, preferred string) error {
	if err, bad := s.badDamping[v.ID]; bad {
		l.page(ctx, alert.Event{Kind: alert.KindFlapDamped, Severity: alert.SeverityCritical, DedupKey: "flap_damped/" + v.ID, Volume: v.ID, Instance: from.Instance,
			Summary: fmt.Sprintf("%s: owner %s is dead but the damping record does not parse (%v): alert-only", v.ID, from.Instance, err)}, true)
		return fmt.Errorf("damping record of %s unreadable: %w", v.ID, err)
	}
	if preferred == "" {
		if ok, flapping, why := l.damper.Allow(s.now, s.damping[v.ID]); !ok {
			l.page(ctx, alert.Event{Kind: alert.KindFlapDamped, Severity: alert.SeverityCritical, DedupKey: "flap_damped/" + v.ID, Volume: v.ID, Instance: from.Instance,
				Summary: fmt.Sprintf("%s: owner %s is dead but no automatic failover: %s", v.ID, from.Instance, why),
				Details: map[string]any{"signals": res.Signals, "flapping": flapping}}, true)
			l.once(ctx, "damped/"+v.ID+"/"+from.Instance, func() {
				l.log.Error().Str("volume", v.ID).Str("owner", from.Instance).Str("damping", why).Msg("owner is dead; failover damped")
			})
			return nil
		}
	}
	to, err := chooseTarget(l.targetInput(s, v, from.Instance, preferred))
	if err != nil {
		l.noTarget(ctx, v, from.Instance, err)
		return nil
	}
	extra := []clientv3.Op(nil)
	if preferred == "" {
		extra = append(extra, clientv3.OpPut(l.c.keys.DampingVolume(v.ID), l.damper.Record(s.now, s.damping[v.ID]).Encode()))
	}
	return l.plan(ctx, s, v, state.KindFailover, from, to, res.Reason, res.Signals, extra...)
}

// switchover plans an operator's planned move.
func (l *leader) switchover(ctx context.Context, s *snapshot, v awsops.Volume, from state.Endpoint, sw state.SwitchoverOverride, res health.Result) error {
	log := l.log.With().Str("volume", v.ID).Str("to", sw.To).Logger()
	if sw.To == from.Instance {
		resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(clientv3.OpDelete(l.c.keys.VolumeSwitchover(v.ID))).Commit()
		if err != nil {
			return fmt.Errorf("remove satisfied switchover of %s: %w", v.ID, err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("remove satisfied switchover of %s: %w", v.ID, errNotLeader)
		}
		log.Info().Msg("switchover request already satisfied; key removed")
		return nil
	}
	switch {
	case res.Verdict == health.VerdictDead && res.Actionable:
		return l.failover(ctx, s, v, from, res, sw.To)
	case res.Verdict != health.VerdictAlive:
		l.once(ctx, "sw-wait/"+v.ID, func() { log.Warn().Str("reason", res.Reason).Msg("switchover waits: owner is suspect") })
		return nil
	}
	to, err := chooseTarget(l.targetInput(s, v, from.Instance, sw.To))
	if err != nil {
		l.noTarget(ctx, v, from.Instance, err)
		return nil
	}
	return l.plan(ctx, s, v, state.KindSwitchover, from, to, "switchover: "+sw.Reason, nil)
}

// heal attaches a volume that is attached nowhere: to the host whose fleet
// machine carries its metadata if that host is eligible, else to the best host.
func (l *leader) heal(ctx context.Context, s *snapshot, v awsops.Volume) error {
	preferred := ""
	for _, h := range s.hosts {
		if m, ok := s.machines[h.Machine]; ok && m.Metadata[l.c.o.MetadataKey] == v.ID {
			preferred = h.Instance
		}
	}
	in := l.targetInput(s, v, "", preferred)
	to, err := chooseTarget(in)
	if err != nil && preferred != "" {
		in.Preferred = ""
		to, err = chooseTarget(in)
	}
	if err != nil {
		l.noTarget(ctx, v, "", err)
		return nil
	}
	return l.plan(ctx, s, v, state.KindHeal, state.Endpoint{}, to, "volume attached nowhere", nil)
}

func (l *leader) targetInput(s *snapshot, v awsops.Volume, from, preferred string) targetInput {
	in := targetInput{
		Volume: v.ID, AZ: v.AvailabilityZone, From: from, Hosts: s.hosts, Instances: s.instances,
		Machines: s.machines, MetadataKey: l.c.o.MetadataKey, Holders: map[string]string{}, Suspect: map[string]bool{},
		Preferred: preferred,
	}
	for _, ov := range s.volumes {
		if owner, _, err := currentOwner(ov); err == nil && owner != "" {
			in.Holders[owner] = ov.ID
		}
	}
	// A move not yet attached holds its target as surely as an attachment does.
	for id, vol := range s.reserved {
		if _, ok := in.Holders[id]; !ok && vol != v.ID {
			in.Holders[id] = vol
		}
	}
	l.mu.Lock()
	for id, verdict := range l.verdicts {
		if verdict != string(health.VerdictAlive) {
			in.Suspect[id] = true
		}
	}
	l.mu.Unlock()
	return in
}

func (l *leader) noTarget(ctx context.Context, v awsops.Volume, from string, err error) {
	l.once(ctx, "no_target_log/"+v.ID, func() {
		l.log.Error().Err(err).Str("volume", v.ID).Str("owner", from).Msg("NO FAILOVER TARGET: volume left where it is")
	})
	l.page(ctx, alert.Event{Kind: alert.KindNoTarget, Severity: alert.SeverityCritical, DedupKey: "no_target/" + v.ID, Volume: v.ID, Instance: from,
		Summary: fmt.Sprintf("%s needs a new host but none is eligible: %v", v.ID, err)}, true)
}

// signalsOf keeps a verdict's signals in the journal record, whose schema
// (package state) cannot import package health.
func signalsOf(sigs []health.Signal) []state.Signal {
	if sigs == nil {
		return nil
	}
	out := make([]state.Signal, len(sigs))
	for i, s := range sigs {
		out[i] = state.Signal{Source: s.Source, OK: s.OK, Unknown: s.Unknown, Detail: s.Detail, Since: s.Since}
	}
	return out
}

// plan writes the journal record of a move (or, in dry-run, only records the decision) and starts it.
func (l *leader) plan(ctx context.Context, s *snapshot, v awsops.Volume, kind state.Kind, from state.Endpoint, to state.Host, reason string, signals []health.Signal, extra ...clientv3.Op) error {
	epoch, _ := strconv.ParseInt(v.Tags[TagEpoch], 10, 64)
	now := s.now.UTC()
	rec := &state.Record{
		ID: state.NewFailoverID(now), Kind: kind, Volume: v.ID, AZ: v.AvailabilityZone, Device: l.c.o.Device,
		From: from, To: state.Endpoint{Instance: to.Instance, Machine: to.Machine, PrivateIP: to.PrivateIP},
		Reason: reason, Signals: signalsOf(signals), Epoch: epoch + 1, Fence: l.c.o.FencePolicy, Step: state.StepPlanned,
		Created: now, Updated: now, DryRun: l.c.o.DryRun,
		Timeline: []state.StepRecord{{Step: state.StepPlanned, Start: now, End: now, Attempts: 1, Leader: l.c.o.InstanceID}},
	}
	log := l.log.With().Str("volume", v.ID).Str("failover_id", rec.ID).Str("kind", string(kind)).
		Str("from", from.Instance).Str("to", to.Instance).Str("reason", reason).Logger()
	if l.c.o.DryRun {
		var err error
		l.once(ctx, "dry-run/"+string(kind)+"/"+v.ID+"/"+from.Instance+"/"+to.Instance, func() {
			log.Warn().Msg("dry-run: would move the volume; nothing done")
			if err = l.j.record(ctx, rec); err == nil {
				l.c.m.failovers.WithLabelValues(ResultDryRun, string(kind)).Inc()
			}
		})
		return err
	}
	if err := l.j.create(ctx, rec, extra...); err != nil {
		return err
	}
	s.reserve(to.Instance, v.ID)
	if l.c.o.afterStep != nil {
		l.c.o.afterStep(rec)
	}
	log.Warn().Msg("move planned")
	l.page(ctx, alert.Event{Kind: alert.KindFailoverStarted, Severity: severityOf(kind), DedupKey: "failover/" + rec.ID,
		Volume: v.ID, Instance: from.Instance, FailoverID: rec.ID,
		Summary: fmt.Sprintf("%s of %s from %s to %s started: %s", kind, v.ID, orNone(from.Instance), to.Instance, reason),
		Details: map[string]any{"signals": signals, "to": to.Instance, "move_kind": kind}}, false)
	l.start(ctx, rec)
	return nil
}

// fixMetadata keeps the fleet metadata of a volume on exactly the machine of
// the instance that holds it: stale copies elsewhere are removed (fleet would
// start the unit there) and a missing one on the owner is added.
func (l *leader) fixMetadata(ctx context.Context, s *snapshot, v awsops.Volume, owner string) error {
	if !s.fleetOK {
		return nil
	}
	key := l.c.o.MetadataKey
	om := s.machineOf(owner)
	m, listed := s.machines[om]
	if om == "" || !listed {
		return nil
	}
	var ops []fleet.MetadataOp
	for _, id := range s.byMetadata[v.ID] {
		if id != om {
			ops = append(ops, fleet.MetadataOp{Op: fleet.OpRemove, MachineID: id, Key: key})
		}
	}
	switch cur, ok := m.Metadata[key]; {
	case !ok:
		ops = append(ops, fleet.MetadataOp{Op: fleet.OpAdd, MachineID: om, Key: key, Value: v.ID})
	case cur != v.ID:
		l.once(ctx, "meta-conflict/"+v.ID, func() {
			l.log.Error().Str("volume", v.ID).Str("machine", om).Str("value", cur).Msg("owner's machine carries another volume's metadata; not touched")
		})
	}
	if len(ops) == 0 {
		return nil
	}
	log := l.log.With().Str("volume", v.ID).Str("instance", owner).Str("machine", om).Interface("ops", ops).Logger()
	if l.c.o.DryRun {
		l.once(ctx, fmt.Sprintf("dry-meta/%s/%v", v.ID, ops), func() { log.Warn().Msg("dry-run: would repair fleet metadata") })
		return nil
	}
	if err := l.check(ctx, nil); err != nil {
		return err
	}
	if err := l.c.fleet.PatchMetadata(ctx, ops); err != nil {
		return fmt.Errorf("repair fleet metadata of %s: %w", v.ID, err)
	}
	log.Warn().Msg("fleet metadata repaired")
	return nil
}

// reportBadOverrides logs and pages (once per term) each value that does not parse.
func (l *leader) reportBadOverrides(ctx context.Context, s *snapshot) {
	for _, b := range s.ov.Bad {
		vol, _, _ := l.c.keys.ParseVolumeKey(b.Key)
		l.once(ctx, "bad-override-log/"+b.Key+"/"+b.Err.Error(), func() {
			l.log.Error().Str("key", b.Key).Err(b.Err).Msg("override does not parse: what it names is paused")
		})
		l.page(ctx, alert.Event{Kind: alert.KindBadOverride, Severity: alert.SeverityWarning, DedupKey: "bad_override/" + b.Key, Volume: vol,
			Summary: fmt.Sprintf("override %s does not parse, treated as pause: %v", b.Key, b.Err)}, true)
	}
}

// once runs f the first time key is seen in this term.
func (l *leader) once(_ context.Context, key string, f func()) {
	l.mu.Lock()
	seen := l.paged["once/"+key]
	l.paged["once/"+key] = true
	l.mu.Unlock()
	if !seen {
		f()
	}
}

func severityOf(k state.Kind) alert.Severity {
	if k == state.KindFailover {
		return alert.SeverityCritical
	}
	return alert.SeverityWarning
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

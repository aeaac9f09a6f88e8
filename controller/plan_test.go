package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// The planner's world: one volume owned by pOwner in pAZ, two healthy peers
// there, one host in another AZ. Every test starts from it and changes one
// dimension at a time.
const (
	pVol   = "vol-0123456789abcdef0"
	pOwner = "i-00000000000000001"
	pPeerA = "i-00000000000000002"
	pPeerB = "i-00000000000000003"
	pFar   = "i-00000000000000004"
	pAZ    = "us-east-1a"
)

var pNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func pMachine(id string) string { return fmt.Sprintf("%032s", strings.TrimPrefix(id, "i-")) }

type planWorld struct {
	s *snapshot
	t *term
	o Options
}

func newPlanWorld() *planWorld {
	o := DefaultOptions()
	o.InstanceID = pPeerB
	s := &snapshot{
		now: pNow, keys: state.Keys{Prefix: o.KeyPrefix},
		hosts: map[string]state.Host{}, reports: map[string][]state.Report{},
		departed: map[string]state.Departed{},
		ov:       state.Overrides{Paused: map[string]state.PauseOverride{}, Switchovers: map[string]state.SwitchoverOverride{}},
		journals: map[string]*state.Record{}, badJournals: map[string]error{},
		damping: map[string]state.Damping{}, badDamping: map[string]error{},
		prevOwners: map[string]state.Owner{}, instances: map[string]awsops.Instance{},
		machines: map[string]fleet.Machine{}, fleetOK: true, byMetadata: map[string][]string{}, reserved: map[string]string{},
	}
	for i, id := range []string{pOwner, pPeerA, pPeerB, pFar} {
		az := pAZ
		if id == pFar {
			az = "us-east-1b"
		}
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		s.hosts[id] = state.Host{Instance: id, Machine: pMachine(id), AZ: az, PrivateIP: ip}
		s.instances[id] = awsops.Instance{ID: id, AvailabilityZone: az, PrivateIP: ip, State: "running", InstanceStatus: "ok", SystemStatus: "ok"}
		s.machines[pMachine(id)] = fleet.Machine{ID: pMachine(id), PrimaryIP: ip, Metadata: map[string]string{}}
	}
	s.machines[pMachine(pOwner)].Metadata["postgres"] = pVol
	s.byMetadata[pVol] = []string{pMachine(pOwner)}
	s.volumes = []awsops.Volume{{ID: pVol, AvailabilityZone: pAZ, State: "in-use", Tags: map[string]string{},
		Attachments: []awsops.Attachment{{InstanceID: pOwner, Device: "/dev/xvdb", State: "attached"}}}}
	unit := fmt.Sprintf(o.UnitTemplate, pVol)
	s.units = map[string]fleet.Unit{unit: {Name: unit, DesiredState: fleet.StateLaunched, CurrentState: fleet.StateLaunched, MachineID: pMachine(pOwner)}}
	s.unitsOK = true
	s.armed = map[string]state.Armed{pVol: {Volume: pVol, Owner: pOwner, At: pNow.Add(-time.Hour)}}
	t := newTerm(o.Witnesses)
	w := &planWorld{s: s, t: t, o: o}
	w.verdict(health.VerdictAlive)
	return w
}

// verdict sets the owner's verdict; dead is actionable.
func (w *planWorld) verdict(v health.Verdict) *planWorld {
	w.t.verdicts = map[string]health.Result{pOwner: {Verdict: v, Actionable: v == health.VerdictDead, Reason: string(v) + ": test"}}
	w.t.logged = map[string]health.Verdict{pOwner: v}
	if v == health.VerdictSuspect {
		w.t.suspectSince[pOwner] = pNow
	}
	return w
}

// event schedules a retirement of the owner at notBefore.
func (w *planWorld) event(notBefore time.Time) {
	inst := w.s.instances[pOwner]
	inst.Events = []awsops.ScheduledEvent{{Code: "instance-retirement", Description: "degraded hardware", NotBefore: notBefore}}
	w.s.instances[pOwner] = inst
}

func (w *planWorld) attach(states ...awsops.Attachment) *planWorld {
	w.s.volumes[0].Attachments = states
	return w
}

func (w *planWorld) journal(step state.Step, kind state.Kind) *state.Record {
	rec := &state.Record{ID: "20261130T115959.000Z-0000abcd", Kind: kind, Volume: pVol, AZ: pAZ, Device: "/dev/xvdb",
		From: state.Endpoint{Instance: pOwner, Machine: pMachine(pOwner)}, To: state.Endpoint{Instance: pPeerA, Machine: pMachine(pPeerA), PrivateIP: "10.0.0.2"},
		Step: step, Fence: state.FenceStopThenDetach, Created: pNow.Add(-time.Second), Updated: pNow.Add(-time.Second), Rev: 7,
		Timeline: []state.StepRecord{{Step: state.StepPlanned, Start: pNow.Add(-time.Second), End: pNow.Add(-time.Second), Attempts: 1}}}
	if step != state.StepPlanned {
		rec.Timeline = append(rec.Timeline, state.StepRecord{Step: state.StepFenced, Start: pNow.Add(-time.Second), End: pNow.Add(-time.Second), Attempts: 1})
	}
	w.s.journals[pVol] = rec
	w.s.reserved[pPeerA] = pVol
	return rec
}

func (w *planWorld) override(key, value string) *planWorld {
	k := w.s.keys
	var global *mvccpb.KeyValue
	var vols []*mvccpb.KeyValue
	if key == k.Pause() {
		global = &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)}
	} else {
		vols = append(vols, &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)})
	}
	w.s.ov = k.ParseOverrides(global, vols, pNow)
	return w
}

func (w *planWorld) plan() []action {
	w.s.owners = ownersOf(w.s, nil)
	return plan(w.s, w.t, w.o, pNow)
}

// describe names an action the way the tables below spell expectations.
func describe(a action) string {
	switch a := a.(type) {
	case startMove:
		return fmt.Sprintf("start %s %s->%s", a.rec.Kind, a.rec.From.Instance, a.rec.To.Instance)
	case recordDryRun:
		return fmt.Sprintf("dry-run %s %s->%s", a.rec.Kind, a.rec.From.Instance, a.rec.To.Instance)
	case resumeMove:
		return "resume " + string(a.rec.Step)
	case retarget:
		return "retarget ->" + a.rec.To.Instance
	case abandonMove:
		return "abandon"
	case repairMetadata:
		var ops []string
		for _, op := range a.ops {
			ops = append(ops, op.Op+" "+op.MachineID[len(op.MachineID)-1:])
		}
		return "repair " + strings.Join(ops, ",")
	case dropSwitchover:
		return "drop-switchover"
	case page:
		return fmt.Sprintf("page %s %s", a.ev.Kind, a.ev.Action)
	case note:
		head, _, _ := strings.Cut(a.once, "/")
		return "note " + head
	case logVerdict:
		return "verdict " + string(a.res.Verdict)
	case publishOwners:
		return "publish"
	case confirmStop:
		return "confirm " + a.rec.ID
	case arm:
		return "arm " + a.rec.Owner
	case publishPrimary:
		return "publish-primary " + a.p.Instance
	case launchUnit:
		return "launch " + a.unit
	case detachStray:
		return "detach-stray " + a.instance
	case stopWorker:
		return "stop-worker"
	case escalate:
		return fmt.Sprintf("escalate %s from %s", a.rec.Kind, a.rec.Step)
	}
	return fmt.Sprintf("%T", a)
}

// decisions are the plan's actions minus the owners list, which every first
// round publishes.
func decisions(acts []action) []string {
	var out []string
	for _, a := range acts {
		if _, ok := a.(publishOwners); ok {
			continue
		}
		out = append(out, describe(a))
	}
	return out
}

func TestPlanTable(t *testing.T) {
	dead, suspect := health.VerdictDead, health.VerdictSuspect
	pause := `{"reason":"maintenance"}`
	for _, tt := range []struct {
		name  string
		setup func(w *planWorld)
		want  []string
	}{
		{"alive owner, all in place: nothing", func(w *planWorld) {}, nil},
		{"alive owner, metadata missing: added", func(w *planWorld) {
			delete(w.s.machines[pMachine(pOwner)].Metadata, "postgres")
			w.s.byMetadata = map[string][]string{}
		}, []string{"repair add 1"}},
		{"alive owner, stale metadata on a peer: removed", func(w *planWorld) {
			w.s.machines[pMachine(pPeerA)].Metadata["postgres"] = pVol
			w.s.byMetadata[pVol] = []string{pMachine(pOwner), pMachine(pPeerA)}
		}, []string{"repair remove 2"}},
		{"alive owner's machine carries another volume: reported, untouched", func(w *planWorld) {
			w.s.machines[pMachine(pOwner)].Metadata["postgres"] = "vol-0000000000000000b"
			w.s.byMetadata = map[string][]string{}
		}, []string{"note meta-conflict"}},
		{"suspect owner: nothing yet", func(w *planWorld) { w.verdict(suspect) }, nil},
		{"suspect owner long enough: paged", func(w *planWorld) {
			w.verdict(suspect)
			w.t.suspectSince[pOwner] = pNow.Add(-time.Minute)
		}, []string{"page owner_suspect trigger"}},
		{"owner alive again: suspect page resolved", func(w *planWorld) { w.t.open["owner_suspect/"+pOwner] = true },
			[]string{"page owner_suspect resolve"}},
		{"dead owner: failover to a same-AZ peer", func(w *planWorld) { w.verdict(dead) },
			[]string{"start failover " + pOwner + "->" + pPeerB}},
		{"dead owner, dry-run: decision recorded only", func(w *planWorld) { w.verdict(dead); w.o.DryRun = true },
			[]string{"dry-run failover " + pOwner + "->" + pPeerB}},
		{"dead owner, dry-run already recorded this term: nothing", func(w *planWorld) {
			w.verdict(dead)
			w.o.DryRun = true
			w.t.done["dry-run/failover/"+pVol+"/"+pOwner+"/"+pPeerB] = true
		}, nil},
		{"dead owner, globally paused: reported, no failover", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.Pause(), pause)
		}, []string{"note paused-dead"}},
		{"dead owner, volume paused: reported, no failover", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumePause(pVol), pause)
		}, []string{"note paused-dead"}},
		{"dead owner, pause expired: failover", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumePause(pVol), `{"reason":"x","until":"2026-11-30T11:00:00Z"}`)
		}, []string{"start failover " + pOwner + "->" + pPeerB}},
		{"dead owner, malformed pause: treated as pause and paged", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumePause(pVol), `{"reason":`)
		}, []string{"note bad-override-log", "page bad_override trigger", "note paused-dead"}},
		{"dead owner in cooldown: damped and paged", func(w *planWorld) {
			w.verdict(dead)
			w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-time.Minute)}}
		}, []string{"page flap_damped trigger", "note damped"}},
		{"dead owner over the window budget: damped and paged", func(w *planWorld) {
			w.verdict(dead)
			w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-50 * time.Minute), pNow.Add(-40 * time.Minute), pNow.Add(-30 * time.Minute)}}
		}, []string{"page flap_damped trigger", "note damped"}},
		{"dead owner, cooldown passed: failover", func(w *planWorld) {
			w.verdict(dead)
			w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-20 * time.Minute)}}
		}, []string{"start failover " + pOwner + "->" + pPeerB}},
		{"dead owner, damping unparseable: alert-only", func(w *planWorld) {
			w.verdict(dead)
			w.s.badDamping[pVol] = fmt.Errorf("damping value: bad")
		}, []string{"page flap_damped trigger"}},
		{"dead owner, no eligible peer: no_target paged", func(w *planWorld) {
			w.verdict(dead)
			w.s.instances[pPeerA] = awsops.Instance{ID: pPeerA, AvailabilityZone: pAZ, State: "stopped"}
			delete(w.s.hosts, pPeerB)
		}, []string{"note no_target_log", "page no_target trigger"}},
		{"alive owner, switchover requested: planned move", func(w *planWorld) {
			w.override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pPeerB+`","reason":"kernel"}`)
		}, []string{"start switchover " + pOwner + "->" + pPeerB}},
		{"switchover to the owner itself: request dropped", func(w *planWorld) {
			w.override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pOwner+`","reason":"kernel"}`)
		}, []string{"drop-switchover"}},
		{"switchover, owner suspect: waits", func(w *planWorld) {
			w.verdict(suspect).override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pPeerB+`","reason":"kernel"}`)
		}, []string{"note sw-wait"}},
		{"switchover to an unregistered host: no_target", func(w *planWorld) {
			w.override(w.s.keys.VolumeSwitchover(pVol), `{"to":"i-0000000000000000f","reason":"kernel"}`)
		}, []string{"note no_target_log", "page no_target trigger"}},
		{"switchover while paused: nothing", func(w *planWorld) {
			w.s.ov = state.Overrides{Global: &state.PauseOverride{Reason: "x"}, Switchovers: map[string]state.SwitchoverOverride{pVol: {To: pPeerB, Reason: "k"}}}
		}, nil},
		{"stale switchover request expired: ignored", func(w *planWorld) {
			w.override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pPeerB+`","reason":"k","until":"2026-11-30T11:00:00Z"}`)
		}, nil},
		{"volume attached nowhere: healed onto the metadata's host", func(w *planWorld) {
			w.attach()
			w.s.machines[pMachine(pOwner)].Metadata["postgres"] = ""
			delete(w.s.machines[pMachine(pOwner)].Metadata, "postgres")
			w.s.machines[pMachine(pPeerB)].Metadata["postgres"] = pVol
		}, []string{"start heal ->" + pPeerB}},
		{"volume attached nowhere, paused: nothing", func(w *planWorld) {
			w.attach().override(w.s.keys.Pause(), pause)
		}, nil},
		{"volume detaching: between owners, nothing", func(w *planWorld) {
			w.verdict(dead).attach(awsops.Attachment{InstanceID: pOwner, State: "detaching"})
		}, nil},
		{"two live attachments: reported", func(w *planWorld) {
			w.attach(awsops.Attachment{InstanceID: pOwner, State: "attached"}, awsops.Attachment{InstanceID: pPeerA, State: "attached"})
		}, []string{"note attachments"}},
		{"journal unparseable: paged, volume left alone", func(w *planWorld) {
			w.verdict(dead)
			w.s.badJournals[pVol] = fmt.Errorf("journal record: bad")
		}, []string{"note bad-journal", "page step_overdue trigger"}},
		{"move in the journal: resumed", func(w *planWorld) { w.journal(state.StepDetached, state.KindFailover) },
			[]string{"resume detached", "confirm 20261130T115959.000Z-0000abcd"}},
		{"move in the journal, paused: held", func(w *planWorld) {
			w.journal(state.StepAttached, state.KindSwitchover)
			w.override(w.s.keys.VolumePause(pVol), pause)
		}, []string{"note held"}},
		{"move whose worker runs: left to it", func(w *planWorld) {
			w.journal(state.StepPlanned, state.KindFailover)
			w.t.workers[pVol] = workerRef{id: "x"}
		}, nil},
		{"target lost before the attach: re-targeted", func(w *planWorld) {
			w.journal(state.StepDetached, state.KindSwitchover)
			w.attach()
			w.t.lost[pVol] = lostTarget{why: "registration lease gone"}
		}, []string{"retarget ->" + pPeerB}},
		{"target lost holding the volume: abandoned", func(w *planWorld) {
			w.journal(state.StepAttached, state.KindHeal)
			w.attach(awsops.Attachment{InstanceID: pPeerA, State: "attached"})
			w.t.lost[pVol] = lostTarget{why: "EC2 state stopped"}
		}, []string{"abandon"}},
		// Issue 11, item 3: an abandoned switchover had stopped the unit.
		{"attached, metadata in place, unit stopped: launched again", func(w *planWorld) {
			u := w.s.units["postgres@"+pVol+".service"]
			u.DesiredState, u.CurrentState = fleet.StateInactive, fleet.StateInactive
			w.s.units[u.Name] = u
		}, []string{"launch postgres@" + pVol + ".service"}},
		{"unit stopped while paused: left stopped", func(w *planWorld) {
			u := w.s.units["postgres@"+pVol+".service"]
			u.DesiredState = fleet.StateInactive
			w.s.units[u.Name] = u
			w.override(w.s.keys.VolumePause(pVol), pause)
		}, nil},
		{"unit launched again but not running past the deadline: paged", func(w *planWorld) {
			u := w.s.units["postgres@"+pVol+".service"]
			u.CurrentState, u.MachineID = fleet.StateLoaded, ""
			w.s.units[u.Name] = u
			w.t.launchedAt[pVol] = pNow.Add(-w.o.Deadlines.Reschedule - time.Second)
		}, []string{"page step_overdue trigger"}},
		{"unit runs again: its page resolved", func(w *planWorld) { w.t.open["unit_down/"+pVol] = true },
			[]string{"page step_overdue resolve"}},
		// Issue 11, item 7: a pending switchover must not block the failover of a dead owner.
		{"dead owner with a switchover pending: failover to the requested host, request removed", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pPeerA+`","reason":"kernel"}`)
		}, []string{"note stale-switchover", "page bad_override trigger", "start failover " + pOwner + "->" + pPeerA}},
		{"dead owner with a switchover to a host that is gone: failover to the best host", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumeSwitchover(pVol), `{"to":"i-0000000000000000f","reason":"kernel"}`)
		}, []string{"note stale-switchover", "page bad_override trigger", "start failover " + pOwner + "->" + pPeerB}},
		{"dead owner with a switchover pending, in cooldown: damped, request removed", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.VolumeSwitchover(pVol), `{"to":"`+pPeerA+`","reason":"kernel"}`)
			w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-time.Minute)}}
		}, []string{"note stale-switchover", "page bad_override trigger", "page flap_damped trigger", "note damped", "drop-switchover"}},
		// Issue 11, item 8: a switchover whose owner hangs must be able to escalate.
		{"switchover worker running, owner died before the detach: worker stopped", func(w *planWorld) {
			w.journal(state.StepFenced, state.KindSwitchover)
			w.t.workers[pVol] = workerRef{id: "20261130T115959.000Z-0000abcd"}
			w.verdict(dead)
		}, []string{"stop-worker"}},
		{"switchover journaled, owner died before the detach: escalated to a failover", func(w *planWorld) {
			w.journal(state.StepFenced, state.KindSwitchover)
			w.verdict(dead)
		}, []string{"escalate failover from planned"}},
		{"switchover past its detach, owner died: the move goes on", func(w *planWorld) {
			w.journal(state.StepDetached, state.KindSwitchover)
			w.attach()
			w.verdict(dead)
		}, []string{"resume detached"}},
		// Issue 11, item 6: an attachment to neither the old owner nor the target.
		{"volume found on an eligible stray host: adopted as the target", func(w *planWorld) {
			w.journal(state.StepDetached, state.KindFailover)
			w.attach(awsops.Attachment{InstanceID: pPeerB, State: "attached"})
			w.t.lost[pVol] = lostTarget{why: "attached elsewhere", stray: pPeerB}
		}, []string{"retarget ->" + pPeerB, "confirm 20261130T115959.000Z-0000abcd"}},
		{"volume found on an ineligible stray host: force-detached", func(w *planWorld) {
			w.journal(state.StepDetached, state.KindFailover)
			w.attach(awsops.Attachment{InstanceID: pFar, State: "attached"})
			w.t.lost[pVol] = lostTarget{why: "attached elsewhere", stray: pFar}
		}, []string{"detach-stray " + pFar, "confirm 20261130T115959.000Z-0000abcd"}},
		{"stray attachment gone meanwhile: move resumed", func(w *planWorld) {
			w.journal(state.StepDetached, state.KindFailover)
			w.attach()
			w.t.lost[pVol] = lostTarget{why: "attached elsewhere", stray: pFar}
		}, []string{"resume detached", "confirm 20261130T115959.000Z-0000abcd"}},
		// Issue 11, item 11: keys the schema has no place for.
		{"stray key under the prefix: reported", func(w *planWorld) { w.s.unknownKeys = []string{"/volfailover/Pause"} },
			[]string{"note unknown-key", "page bad_override trigger"}},
		// Issue 15 §2: a first deploy must not fence anything.
		{"dead owner of a volume never seen serving: reported, no failover", func(w *planWorld) {
			w.verdict(dead)
			delete(w.s.armed, pVol)
		}, []string{"note unarmed-dead"}},
		{"postgres answered on the owner of an unarmed volume: armed", func(w *planWorld) {
			delete(w.s.armed, pVol)
			w.t.pgAnswered = map[string]bool{pOwner: true}
		}, []string{"arm " + pOwner}},
		{"owner's agent answers but not its postgres: not armed", func(w *planWorld) {
			delete(w.s.armed, pVol)
			w.t.pgAnswered = map[string]bool{pOwner: false}
		}, nil},
		// Issue 15 §6: a manual failover of an owner not dead by the verdict.
		{"manual failover of a suspect owner: fenced and moved, request removed", func(w *planWorld) {
			w.verdict(suspect).override(w.s.keys.VolumeFailover(pVol), `{"reason":"disk errors"}`)
		}, []string{"start failover " + pOwner + "->" + pPeerB}},
		{"manual failover to a named host", func(w *planWorld) {
			w.override(w.s.keys.VolumeFailover(pVol), `{"to":"`+pPeerA+`","reason":"disk errors"}`)
		}, []string{"start failover " + pOwner + "->" + pPeerA}},
		{"manual failover to an ineligible host: refused with the reason", func(w *planWorld) {
			w.override(w.s.keys.VolumeFailover(pVol), `{"to":"`+pFar+`","reason":"disk errors"}`)
		}, []string{"note no_target_log", "page no_target trigger"}},
		{"manual failover while globally paused: held", func(w *planWorld) {
			w.s.ov.Global = &state.PauseOverride{Reason: "x"}
			w.s.ov.Failovers = map[string]state.FailoverOverride{pVol: {Reason: "disk errors"}}
		}, []string{"note failover-held"}},
		// Issue 15 §3: every page of an ended condition is resolved.
		{"owner alive again: no_target resolved", func(w *planWorld) { w.t.open["no_target/"+pVol] = true },
			[]string{"page no_target resolve"}},
		{"override fixed: bad_override resolved", func(w *planWorld) { w.t.open["bad_override/"+w.s.keys.VolumePause(pVol)] = true },
			[]string{"page bad_override resolve"}},
		{"stray key deleted: unknown_key resolved", func(w *planWorld) { w.t.open["unknown_key//volfailover/Pause"] = true },
			[]string{"page bad_override resolve"}},
		// Issue 15 §7: scheduled EC2 events.
		{"owner retires in three days: paged, nothing moves yet", func(w *planWorld) {
			w.event(pNow.Add(72 * time.Hour))
		}, []string{"page scheduled_event trigger"}},
		{"owner retires within the lead: planned switchover", func(w *planWorld) {
			w.event(pNow.Add(time.Hour))
		}, []string{"page scheduled_event trigger", "start switchover " + pOwner + "->" + pPeerB}},
		{"owner retires within the lead, event switchover off: paged only", func(w *planWorld) {
			w.event(pNow.Add(time.Hour))
			w.o.EventSwitchover = false
		}, []string{"page scheduled_event trigger"}},
		{"event over: its page resolved", func(w *planWorld) { w.t.open["scheduled_event/"+pOwner+"/instance-retirement"] = true },
			[]string{"page scheduled_event resolve"}},
		// Issue 15 §1: clients find the primary in etcd.
		{"armed volume served by its owner, no primary published: published", func(w *planWorld) {
			w.t.pgAnswered = map[string]bool{pOwner: true}
		}, []string{"publish-primary " + pOwner}},
		{"primary already published on the owner: nothing", func(w *planWorld) {
			w.t.pgAnswered = map[string]bool{pOwner: true}
			w.s.primaries = map[string]state.Primary{pVol: {Volume: pVol, Instance: pOwner}}
		}, nil},
		// Issue 12, item 7: DeleteOnTermination.
		{"volume deleted on its owner's termination: warned", func(w *planWorld) {
			w.attach(awsops.Attachment{InstanceID: pOwner, State: "attached", DeleteOnTermination: true})
		}, []string{"page volume_at_risk trigger", "note delete-on-termination"}},
		{"DeleteOnTermination cleared: resolved", func(w *planWorld) { w.t.open["volume_at_risk/"+pVol] = true },
			[]string{"page volume_at_risk resolve"}},
		{"bad override key name: reported and pauses its volume", func(w *planWorld) {
			w.verdict(dead).override(w.s.keys.Volumes()+pVol+"/Pause", pause)
		}, []string{"note bad-override-log", "page bad_override trigger", "note paused-dead"}},
		// Issue 14: a bound on the moves short of their attach.
		{"dead owner, max-moves moves still detaching elsewhere: waits its turn", func(w *planWorld) {
			w.verdict(dead)
			w.o.MaxMoves = 1
			w.s.journals["vol-0000000000000000b"] = &state.Record{Volume: "vol-0000000000000000b", Kind: state.KindFailover, Step: state.StepDetached}
		}, []string{"note waits-turn"}},
		{"dead owner waiting its turn, already noted: nothing", func(w *planWorld) {
			w.verdict(dead)
			w.o.MaxMoves = 1
			w.s.journals["vol-0000000000000000b"] = &state.Record{Volume: "vol-0000000000000000b", Kind: state.KindHeal, Step: state.StepPlanned}
			w.t.done["waits-turn/"+pVol] = true
		}, nil},
		{"dead owner, the move elsewhere is past its attach: failover", func(w *planWorld) {
			w.verdict(dead)
			w.o.MaxMoves = 1
			w.s.journals["vol-0000000000000000b"] = &state.Record{Volume: "vol-0000000000000000b", Kind: state.KindFailover, Step: state.StepAttached}
		}, []string{"start failover " + pOwner + "->" + pPeerB}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newPlanWorld()
			tt.setup(w)
			require.Equal(t, tt.want, decisions(w.plan()), "got the first list, want the second")
		})
	}
}

// TestPlanAdmitsHealsFirst: with room for one move, of a failover and a
// heal due together the heal starts (its path to served is the shortest)
// and takes the best target; the failover waits without reserving one.
func TestPlanAdmitsHealsFirst(t *testing.T) {
	w := newPlanWorld().verdict(health.VerdictDead)
	w.o.MaxMoves = 1
	lone := "vol-0123456789abcdef1"
	w.s.volumes = append(w.s.volumes, awsops.Volume{ID: lone, AvailabilityZone: pAZ, State: "available", Tags: map[string]string{}})
	acts := w.plan()
	require.Equal(t, []string{"note waits-turn", "start heal ->" + pPeerA}, decisions(acts), "got the first list, want the second")
	for _, a := range acts {
		if m, ok := a.(startMove); ok {
			require.Equal(t, lone, m.rec.Volume)
		}
	}
	w.o.MaxMoves = 2
	require.Equal(t, []string{"start failover " + pOwner + "->" + pPeerB, "start heal ->" + pPeerA}, decisions(w.plan()), "both fit")
}

// TestPlanIsPure runs the planner twice on the same input: same actions, and
// neither the snapshot nor the term changed.
func TestPlanIsPure(t *testing.T) {
	w := newPlanWorld().verdict(health.VerdictDead)
	first := decisions(w.plan())
	require.Empty(t, w.t.done, "plan wrote once-keys into the term")
	require.Equal(t, map[string]string{}, w.s.reserved, "plan changed the snapshot's reservations")
	require.Equal(t, first, decisions(w.plan()))
}

// TestPlanOneTargetPerHost: two volumes whose owners die together never get the same target.
func TestPlanOneTargetPerHost(t *testing.T) {
	w := newPlanWorld()
	second := "vol-0123456789abcdef1"
	w.s.volumes = append(w.s.volumes, awsops.Volume{ID: second, AvailabilityZone: pAZ, Tags: map[string]string{},
		Attachments: []awsops.Attachment{{InstanceID: pFar, State: "attached"}}})
	far := w.s.hosts[pFar]
	far.AZ = pAZ
	w.s.hosts[pFar] = far
	w.s.instances[pFar] = awsops.Instance{ID: pFar, AvailabilityZone: pAZ, PrivateIP: "10.0.0.4", State: "running"}
	w.s.armed[second] = state.Armed{Volume: second, Owner: pFar, At: pNow.Add(-time.Hour)}
	w.t.verdicts = map[string]health.Result{
		pOwner: {Verdict: health.VerdictDead, Actionable: true},
		pFar:   {Verdict: health.VerdictDead, Actionable: true},
	}
	targets := map[string]string{}
	for _, a := range w.plan() {
		if m, ok := a.(startMove); ok {
			require.NotContains(t, targets, m.rec.To.Instance, "two moves to one host")
			targets[m.rec.To.Instance] = m.rec.Volume
		}
	}
	require.Len(t, targets, 2, "both volumes should move")
}

// TestPlanConditionPages: a condition is paged once while it holds and its
// page is resolved the first round it no longer does.
func TestPlanConditionPages(t *testing.T) {
	w := newPlanWorld().verdict(health.VerdictDead)
	w.s.badDamping[pVol] = fmt.Errorf("bad")
	acts := w.plan()
	require.Equal(t, []string{"page flap_damped trigger"}, decisions(acts))
	w.t.open[acts[len(acts)-1].(page).ev.DedupKey] = true
	require.Empty(t, decisions(w.plan()), "still damped: not paged again")
	delete(w.s.badDamping, pVol)
	w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-time.Hour)}}
	require.Equal(t, []string{"start failover " + pOwner + "->" + pPeerB, "page flap_damped resolve"}, decisions(w.plan()),
		"the failover started: the damping page resolved")
}

// TestPlanConfirmsInheritedFence: a record fenced under the default policy by
// a previous leader gets its stop confirmed, with the deadline counted from
// the fence; a record already being confirmed does not.
func TestPlanConfirmsInheritedFence(t *testing.T) {
	w := newPlanWorld()
	rec := w.journal(state.StepFenced, state.KindFailover)
	w.t.workers[pVol] = workerRef{id: rec.ID}
	var got []confirmStop
	for _, a := range w.plan() {
		if c, ok := a.(confirmStop); ok {
			got = append(got, c)
		}
	}
	require.Len(t, got, 1)
	require.Equal(t, w.o.Deadlines.FenceConfirm-time.Second, got[0].left)

	w.t.confirming[rec.ID] = true
	require.NotContains(t, decisions(w.plan()), "confirm "+rec.ID)
	rec.Fence = state.FenceStrict
	delete(w.t.confirming, rec.ID)
	require.NotContains(t, decisions(w.plan()), "confirm "+rec.ID, "strict fences wait for stopped themselves")
}

// The dimensions of the planner's decision table. TestPlanProduct plans every
// combination and checks the rules that must hold in all of them.
var (
	productGlobal  = []string{"none", "paused"}
	productVolume  = []string{"none", "paused", "malformed"}
	productSwitch  = []string{"none", "valid", "stale", "to-dead-host"}
	productDamping = []string{"none", "cooldown", "budget", "unparseable"}
	productVerdict = []health.Verdict{health.VerdictAlive, health.VerdictSuspect, health.VerdictDead}
	productJournal = append([]string{"none", "unparseable", "abandoned"}, stepNames()...)
	productAttach  = []string{"attached", "attaching", "detaching", "busy", "elsewhere", "none"}
	// productRoom: room for a new move, or max-moves moves short of their attach elsewhere.
	productRoom = []string{"room", "full"}
)

func stepNames() []string {
	var out []string
	for _, s := range state.Steps[:len(state.Steps)-1] {
		out = append(out, string(s))
	}
	return out
}

type productCase struct {
	global, volume, sw, damping, journal, attach, room string
	verdict                                            health.Verdict
}

func (c productCase) String() string {
	return fmt.Sprintf("global=%s volume=%s switchover=%s damping=%s verdict=%s journal=%s attach=%s room=%s",
		c.global, c.volume, c.sw, c.damping, c.verdict, c.journal, c.attach, c.room)
}

func (c productCase) world() *planWorld {
	w := newPlanWorld().verdict(c.verdict)
	k := w.s.keys
	var global *mvccpb.KeyValue
	var vols []*mvccpb.KeyValue
	kv := func(key, val string) *mvccpb.KeyValue { return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(val)} }
	if c.global == "paused" {
		global = kv(k.Pause(), `{"reason":"g"}`)
	}
	switch c.volume {
	case "paused":
		vols = append(vols, kv(k.VolumePause(pVol), `{"reason":"v"}`))
	case "malformed":
		vols = append(vols, kv(k.VolumePause(pVol), `{`))
	}
	switch c.sw {
	case "valid":
		vols = append(vols, kv(k.VolumeSwitchover(pVol), `{"to":"`+pPeerB+`","reason":"s"}`))
	case "stale":
		vols = append(vols, kv(k.VolumeSwitchover(pVol), `{"to":"`+pPeerB+`","reason":"s","until":"2026-11-30T11:00:00Z"}`))
	case "to-dead-host":
		vols = append(vols, kv(k.VolumeSwitchover(pVol), `{"to":"i-0000000000000000f","reason":"s"}`))
	}
	w.s.ov = k.ParseOverrides(global, vols, pNow)
	switch c.damping {
	case "cooldown":
		w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-time.Minute)}}
	case "budget":
		w.s.damping[pVol] = state.Damping{Failovers: []time.Time{pNow.Add(-50 * time.Minute), pNow.Add(-40 * time.Minute), pNow.Add(-30 * time.Minute)}}
	case "unparseable":
		w.s.badDamping[pVol] = fmt.Errorf("damping value: bad")
	}
	switch c.attach {
	case "attached", "attaching", "detaching", "busy":
		w.attach(awsops.Attachment{InstanceID: pOwner, State: c.attach})
	case "elsewhere":
		w.attach(awsops.Attachment{InstanceID: pPeerB, State: "attached"})
	case "none":
		w.attach()
	}
	switch c.journal {
	case "none":
	case "unparseable":
		w.s.badJournals[pVol] = fmt.Errorf("journal record: bad")
	case "abandoned":
		w.journal(state.StepAttached, state.KindFailover)
		w.attach(awsops.Attachment{InstanceID: pPeerA, State: "attached"})
		w.t.lost[pVol] = lostTarget{why: "EC2 state stopped"}
	default:
		w.journal(state.Step(c.journal), state.KindFailover)
	}
	if c.room == "full" {
		w.o.MaxMoves = 1
		w.s.journals["vol-0000000000000000b"] = &state.Record{Volume: "vol-0000000000000000b", Kind: state.KindFailover, Step: state.StepFenced}
	}
	return w
}

// mutating says whether an action changes etcd, EC2 or fleet for the volume.
func mutating(a action) bool {
	switch a.(type) {
	case startMove, resumeMove, retarget, abandonMove, repairMetadata, dropSwitchover, escalate, detachStray, launchUnit:
		return true
	}
	return false
}

func TestPlanProduct(t *testing.T) {
	n := 0
	for _, g := range productGlobal {
		for _, v := range productVolume {
			for _, sw := range productSwitch {
				for _, d := range productDamping {
					for _, verdict := range productVerdict {
						for _, j := range productJournal {
							for _, at := range productAttach {
								for _, room := range productRoom {
									if room == "full" && (g != "none" || v != "none") {
										continue // paused volumes start nothing either way
									}
									c := productCase{global: g, volume: v, sw: sw, damping: d, verdict: verdict, journal: j, attach: at, room: room}
									checkProductRules(t, c)
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	per := len(productSwitch) * len(productDamping) * len(productVerdict) * len(productJournal) * len(productAttach)
	require.Equal(t, per*len(productGlobal)*len(productVolume)+per, n)
	t.Logf("%d combinations planned", n)
}

func checkProductRules(t *testing.T, c productCase) {
	t.Helper()
	w := c.world()
	acts := w.plan()
	paused := c.global != "none" || c.volume != "none"
	var muts []action
	for _, a := range acts {
		if mutating(a) {
			muts = append(muts, a)
		}
	}
	require.LessOrEqual(t, len(muts), 1, "%s: more than one mutation for one volume: %v", c, decisions(acts))
	if paused || c.journal == "unparseable" {
		require.Empty(t, muts, "%s: acted on a paused or unreadable volume: %v", c, decisions(acts))
		return
	}
	if len(muts) == 0 {
		return
	}
	switch m := muts[0].(type) {
	case startMove:
		require.Equal(t, "room", c.room, "%s: new move beyond max-moves", c)
		require.Equal(t, "none", c.journal, "%s: new move over a journaled one", c)
		require.NotEqual(t, m.rec.From.Instance, m.rec.To.Instance, "%s: move to the owner", c)
		require.Equal(t, pAZ, w.s.hosts[m.rec.To.Instance].AZ, "%s: move across AZs", c)
		if m.rec.Kind == state.KindFailover {
			require.Equal(t, health.VerdictDead, c.verdict, "%s: failover of an owner not dead", c)
			require.Contains(t, []string{"attached", "attaching", "busy"}, c.attach, "%s", c)
			require.Equal(t, "none", c.damping, "%s: failover despite damping", c)
			require.NotNil(t, m.damping, "%s: failover without its damping write", c)
		}
		if m.rec.Kind == state.KindSwitchover {
			require.Equal(t, health.VerdictAlive, c.verdict, "%s: planned switchover of an owner not alive", c)
			require.Equal(t, "valid", c.sw, "%s", c)
		}
		if m.rec.Kind == state.KindHeal {
			require.Equal(t, "none", c.attach, "%s: heal of an attached volume", c)
		}
	case resumeMove, retarget, abandonMove:
		require.NotEqual(t, "none", c.journal, "%s", c)
	case repairMetadata:
		require.Equal(t, health.VerdictAlive, c.verdict, "%s: metadata moved for an owner not alive", c)
	case dropSwitchover:
		require.NotEqual(t, "none", c.sw, "%s", c)
	}
	if c.journal != "none" {
		_, isResume := muts[0].(resumeMove)
		_, isAbandon := muts[0].(abandonMove)
		require.True(t, isResume || isAbandon, "%s: journaled move neither resumed nor abandoned: %v", c, decisions(acts))
	}
}

// TestPlanManualFailoverDropsItsRequest: the request is removed in the same
// transaction that journals the move, so it cannot start a second one.
func TestPlanManualFailoverDropsItsRequest(t *testing.T) {
	w := newPlanWorld().override(state.Keys{Prefix: DefaultOptions().KeyPrefix}.VolumeFailover(pVol), `{"reason":"disk errors"}`)
	var got []startMove
	for _, a := range w.plan() {
		if m, ok := a.(startMove); ok {
			got = append(got, m)
		}
	}
	require.Len(t, got, 1)
	require.Equal(t, "failover", got[0].dropOverride)
	require.Nil(t, got[0].damping, "an operator's failover is not damped and does not count toward damping")
	require.Contains(t, got[0].rec.Reason, "manual failover: disk errors")
}

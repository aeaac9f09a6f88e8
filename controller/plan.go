package controller

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// plan decides everything the leader does in one round, from the round's
// snapshot and the term's memory. It is pure: it does no I/O, takes no lock,
// reads no clock but now, and changes neither s nor t. That is what makes the
// decision table (pause × switchover × damping × verdict × journal ×
// attachment) testable as plain tables.
func plan(s *snapshot, t *term, o Options, now time.Time) []action {
	p := &planner{s: s, t: t, o: o, now: now, reserved: maps.Clone(s.reserved), holders: holdersOf(s.volumes), raised: map[string]bool{}}
	if p.reserved == nil {
		p.reserved = map[string]string{}
	}
	p.publish()
	p.verdictChanges()
	p.suspects()
	p.badOverrides()
	for _, v := range s.volumes {
		p.arming(v)
		p.atRisk(v)
		p.announced(v)
		if t.busy(v.ID) {
			p.moving(v)
			continue
		}
		p.volume(v)
	}
	p.admit()
	p.confirmations()
	p.settle()
	return p.out
}

// planner carries one plan call's working state.
type planner struct {
	s   *snapshot
	t   *term
	o   Options
	now time.Time
	// reserved is target → volume of every unfinished move, including those
	// planned earlier in this call: a host takes at most one volume.
	reserved map[string]string
	// holders is instance → the managed volume attached to it.
	holders map[string]string
	// raised holds the dedup keys of the conditions that hold this round.
	raised map[string]bool
	out    []action
}

func (p *planner) add(a action) { p.out = append(p.out, a) }

// note adds a log line, unless its once-key was given already this term.
func (p *planner) note(once string, level zerolog.Level, vol, msg string, fields map[string]string) {
	if once != "" && p.t.done[once] {
		return
	}
	p.add(note{once: once, level: level, vol: vol, msg: msg, fields: fields})
}

// page adds a page. A trigger opens its dedup key in the term, a resolve
// closes it (apply keeps the term's record).
func (p *planner) page(ev alert.Event) {
	if ev.Action == "" {
		ev.Action = alert.ActionTrigger
	}
	p.add(page{ev: ev})
}

// conditionPages are the dedup-key prefixes of pages about a condition the
// planner judges every round: triggered while it holds, resolved the first
// round it no longer does, so no page of an ended condition stays open.
var conditionPages = []string{"no_target/", "flap_damped/", "bad_override/", "unknown_key/", "stale_switchover/", "bad_journal/", "scheduled_event/"}

// raise pages a condition that holds this round, once while it stays open.
func (p *planner) raise(ev alert.Event) {
	p.raised[ev.DedupKey] = true
	if !p.t.open[ev.DedupKey] {
		p.page(ev)
	}
}

// settle resolves the open condition pages no round raised this time.
func (p *planner) settle() {
	for _, key := range sortedKeys(p.t.open) {
		if p.raised[key] || !slices.ContainsFunc(conditionPages, func(pre string) bool { return strings.HasPrefix(key, pre) }) {
			continue
		}
		kind, subject, _ := strings.Cut(key, "/")
		p.page(alert.Event{Kind: conditionKind(kind), Action: alert.ActionResolve, Severity: alert.SeverityInfo, DedupKey: key,
			Volume: p.volumeOfKey(subject), Summary: fmt.Sprintf("%s %s: the condition has ended", kind, subject)})
	}
}

// conditionKind is the page kind of a condition page's key prefix.
func conditionKind(prefix string) alert.Kind {
	switch prefix {
	case "no_target":
		return alert.KindNoTarget
	case "flap_damped":
		return alert.KindFlapDamped
	case "bad_journal":
		return alert.KindStepOverdue
	case "scheduled_event":
		return alert.KindScheduledEvent
	}
	return alert.KindBadOverride
}

// volumeOfKey names the volume a condition page's subject is about, if any.
func (p *planner) volumeOfKey(subject string) string {
	if strings.HasPrefix(subject, "vol-") {
		return subject
	}
	if vol, _, err := p.s.keys.ParseVolumeKey(subject); err == nil {
		return vol
	}
	return ""
}

// publish writes the owners list when it differs from what etcd holds.
func (p *planner) publish() {
	list := make([]state.Owner, 0, len(p.s.owners))
	for _, o := range p.s.owners {
		if o.PrivateIP != "" {
			list = append(list, o)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Instance < list[j].Instance })
	b, err := json.Marshal(list)
	if err != nil || string(b) == p.s.ownersRaw {
		return
	}
	p.add(publishOwners{owners: p.s.owners, encoded: string(b)})
}

// verdictChanges logs each owner whose verdict differs from the one last logged.
func (p *planner) verdictChanges() {
	for _, owner := range sortedKeys(p.t.verdicts) {
		res := p.t.verdicts[owner]
		if p.t.logged[owner] != res.Verdict {
			p.add(logVerdict{owner: owner, vol: p.s.owners[owner].Volume, res: res})
		}
	}
}

// suspects triggers owner_suspect once an owner has been suspect for
// SuspectPageAfter, and resolves it when the owner is alive again or holds no
// volume any more.
func (p *planner) suspects() {
	for _, owner := range sortedKeys(p.t.verdicts) {
		res := p.t.verdicts[owner]
		key := "owner_suspect/" + owner
		switch {
		case res.Verdict == health.VerdictAlive && p.t.open[key]:
			p.page(p.suspectEvent(owner, alert.ActionResolve, "owner "+owner+" is alive again", res))
		case res.Verdict != health.VerdictSuspect || p.t.open[key]:
		default:
			since := p.t.suspectSince[owner]
			if p.now.Sub(since) >= p.o.SuspectPageAfter {
				p.page(p.suspectEvent(owner, alert.ActionTrigger,
					fmt.Sprintf("owner %s suspect for %s (not acted on): %s", owner, p.now.Sub(since).Round(100*time.Millisecond), res.Reason), res))
			}
		}
	}
	for _, key := range sortedKeys(p.t.open) {
		owner, ok := strings.CutPrefix(key, "owner_suspect/")
		if _, judged := p.t.verdicts[owner]; ok && !judged {
			p.page(p.suspectEvent(owner, alert.ActionResolve, "host "+owner+" holds no managed volume any more", health.Result{}))
		}
	}
}

// suspectEvent is the owner_suspect page of one owner; trigger and resolve share the dedup key.
func (p *planner) suspectEvent(owner string, action alert.Action, summary string, res health.Result) alert.Event {
	ev := alert.Event{Kind: alert.KindOwnerSuspect, Action: action, Severity: alert.SeverityWarning,
		DedupKey: "owner_suspect/" + owner, Instance: owner, Summary: summary, Volume: p.holders[owner]}
	if action == alert.ActionTrigger {
		ev.Details = map[string]any{"signals": res.Signals, "reason": res.Reason}
	}
	return ev
}

// badOverrides reports each override value that does not parse (what it
// names is paused) and each key under the prefix the schema has no place for.
func (p *planner) badOverrides() {
	for _, key := range p.s.unknownKeys {
		p.note("unknown-key/"+key, zerolog.ErrorLevel, "", "key under the prefix is not part of volfailover's schema: nothing reads it",
			map[string]string{"key": key})
		p.raise(alert.Event{Kind: alert.KindBadOverride, Severity: alert.SeverityWarning, DedupKey: "unknown_key/" + key,
			Summary: fmt.Sprintf("key %s is not part of volfailover's schema and is ignored: if it was meant as an override, it is not in force", key)})
	}
	for _, b := range p.s.ov.Bad {
		vol, _, _ := p.s.keys.ParseVolumeKey(b.Key)
		p.note("bad-override-log/"+b.Key+"/"+b.Err.Error(), zerolog.ErrorLevel, vol,
			"override does not parse: what it names is paused", map[string]string{"key": b.Key, "error": b.Err.Error()})
		p.raise(alert.Event{Kind: alert.KindBadOverride, Severity: alert.SeverityWarning, DedupKey: "bad_override/" + b.Key, Volume: vol,
			Summary: fmt.Sprintf("override %s does not parse, treated as pause: %v", b.Key, b.Err)})
	}
}

// volume decides one volume that no worker of this term is moving.
func (p *planner) volume(v awsops.Volume) {
	if err, bad := p.s.badJournals[v.ID]; bad {
		p.note("bad-journal/"+v.ID, zerolog.ErrorLevel, v.ID, "journal record does not parse; volume left alone", map[string]string{"error": err.Error()})
		p.raise(alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: "bad_journal/" + v.ID,
			Volume: v.ID, Summary: fmt.Sprintf("journal record of %s does not parse; volfailover will not touch the volume: %v", v.ID, err)})
		return
	}
	paused := p.s.ov.PausedReason(v.ID)
	if rec := p.s.journals[v.ID]; rec != nil {
		p.record(v, rec, paused)
		return
	}
	owner, moving, err := currentOwner(v)
	switch {
	case err != nil:
		p.note("attachments/"+v.ID, zerolog.ErrorLevel, v.ID, "volume not reconciled", map[string]string{"error": err.Error()})
	case moving:
	case owner == "" && paused == "":
		p.heal(v)
	case owner != "":
		p.owned(v, owner, paused)
	}
}

// announced pages each scheduled EC2 event of a volume's owner, with its
// deadline, for as long as EC2 announces it.
func (p *planner) announced(v awsops.Volume) {
	owner, _, err := currentOwner(v)
	if err != nil || owner == "" {
		return
	}
	for _, ev := range p.s.instances[owner].Events {
		what := fmt.Sprintf("%s of %s's owner %s scheduled from %s", ev.Code, v.ID, owner, ev.NotBefore.UTC().Format(time.RFC3339))
		switch {
		case !p.o.EventSwitchover:
			what += " (no automatic switchover: --event-switchover is off)"
		case p.s.ov.PausedReason(v.ID) != "":
			what += " (no automatic switchover while paused)"
		default:
			what += fmt.Sprintf("; a planned switchover runs from %s", ev.NotBefore.Add(-p.o.EventSwitchoverLead).UTC().Format(time.RFC3339))
		}
		p.raise(alert.Event{Kind: alert.KindScheduledEvent, Severity: alert.SeverityWarning, DedupKey: "scheduled_event/" + owner + "/" + ev.Code,
			Volume: v.ID, Instance: owner, Summary: what + ": " + ev.Description})
	}
}

// eventSwitchover moves a volume off an owner with a scheduled event by a
// planned switchover, once the event is within the lead time: a retirement
// or a maintenance stop then meets a host that serves nothing. It says
// whether it started (or tried to start) one.
func (p *planner) eventSwitchover(v awsops.Volume, from state.Endpoint) bool {
	if !p.o.EventSwitchover {
		return false
	}
	if _, armed := p.s.armed[v.ID]; !armed {
		return false
	}
	for _, ev := range p.s.instances[from.Instance].Events {
		if ev.NotBefore.Sub(p.now) > p.o.EventSwitchoverLead {
			continue
		}
		to, err := chooseTarget(p.targetInput(v, from.Instance, ""))
		if err != nil {
			p.noTarget(v, from.Instance, err)
			return true
		}
		p.move(v, state.KindSwitchover, from, to, fmt.Sprintf("scheduled EC2 event %s from %s: %s", ev.Code, ev.NotBefore.UTC().Format(time.RFC3339), ev.Description), nil, nil, false)
		return true
	}
	return false
}

// arming arms a volume the first time its Postgres answers the leader's
// probe on its owner. Until then the volume is never failed over: on a first
// deploy the agents may run before Postgres does, and an owner that has
// never served is not a dead owner.
func (p *planner) arming(v awsops.Volume) {
	if _, armed := p.s.armed[v.ID]; armed {
		return
	}
	owner, _, err := currentOwner(v)
	if err != nil || owner == "" || !p.t.pgAnswered[owner] {
		return
	}
	p.add(arm{rec: state.Armed{Volume: v.ID, Owner: owner, At: p.now.UTC()}})
}

// atRisk warns about a volume EC2 deletes when its owner is terminated
// (DeleteOnTermination, as a launch block-device mapping sets it): an Auto
// Scaling group replacing a dead owner would delete the database. Checked
// every round, so it covers start-up and every attach; resolved when the
// flag is cleared (run --fix-delete-on-termination, or by hand).
func (p *planner) atRisk(v awsops.Volume) {
	key := "volume_at_risk/" + v.ID
	var risky []string
	for _, a := range v.Attachments {
		if a.DeleteOnTermination && a.State != "detached" {
			risky = append(risky, a.InstanceID)
		}
	}
	switch {
	case len(risky) > 0 && !p.t.open[key]:
		p.page(alert.Event{Kind: alert.KindVolumeAtRisk, Severity: alert.SeverityWarning, DedupKey: key, Volume: v.ID, Instance: risky[0],
			Summary: fmt.Sprintf("%s has DeleteOnTermination set on %s: terminating that instance deletes the database. "+
				"Clear it (volfailover run --fix-delete-on-termination, or aws ec2 modify-instance-attribute)", v.ID, strings.Join(risky, ", "))})
		p.note("delete-on-termination/"+v.ID, zerolog.WarnLevel, v.ID, "volume is deleted when its owner is terminated (DeleteOnTermination)",
			map[string]string{"instance": risky[0]})
	case len(risky) == 0 && p.t.open[key]:
		p.page(alert.Event{Kind: alert.KindVolumeAtRisk, Action: alert.ActionResolve, Severity: alert.SeverityWarning, DedupKey: key, Volume: v.ID,
			Summary: fmt.Sprintf("%s: DeleteOnTermination cleared", v.ID)})
	}
}

// moving judges a volume whose move a worker of this term drives: the
// planner leaves the move to it, except when the owner of a switchover dies
// before the detach. A plain detach would then never finish, so the worker
// is stopped and the next round escalates the move to a failover.
func (p *planner) moving(v awsops.Volume) {
	if rec := p.s.journals[v.ID]; rec != nil && p.ownerDiedDuringSwitchover(rec) {
		p.add(stopWorker{vol: v.ID, why: fmt.Sprintf("owner %s died during the switchover", rec.From.Instance)})
	}
}

// ownerDiedDuringSwitchover says whether rec is a switchover, not yet past
// its detach, whose owner the latest round judged dead.
func (p *planner) ownerDiedDuringSwitchover(rec *state.Record) bool {
	if rec.Kind != state.KindSwitchover || (rec.Step != state.StepPlanned && rec.Step != state.StepFenced) {
		return false
	}
	res, ok := p.t.verdicts[rec.From.Instance]
	return ok && res.Verdict == health.VerdictDead && res.Actionable
}

// escalation is rec turned into a failover from its start: the unit stop it
// may have done is kept in the timeline's note, and the fence step starts
// afresh with a stop of the owner.
func (p *planner) escalation(rec *state.Record, why string) state.Record {
	r := cloneRecord(rec)
	r.Kind, r.Fence, r.Step = state.KindFailover, p.o.FencePolicy, state.StepPlanned
	r.Reason = "switchover escalated: " + why
	if res, ok := p.t.verdicts[rec.From.Instance]; ok {
		r.Signals = signalsOf(res.Signals)
	}
	r.Updated = p.now.UTC()
	kept := r.Timeline[:0]
	for _, st := range r.Timeline {
		if st.Step == state.StepPlanned {
			st.Note = strings.TrimSpace(st.Note + " " + why + ": escalated to a failover (fence, then force-detach).")
		}
		if st.Step == state.StepPlanned || st.Step == state.StepDone {
			kept = append(kept, st)
		}
	}
	r.Timeline = kept
	return r
}

// record decides a volume with a journaled move: hold it while paused,
// re-target it if its worker lost the target, else resume it.
func (p *planner) record(v awsops.Volume, rec *state.Record, paused string) {
	if paused != "" {
		p.note("held/"+rec.ID, zerolog.WarnLevel, v.ID, "in-progress move held by pause",
			map[string]string{"failover_id": rec.ID, "step": string(rec.Step), "pause": paused})
		return
	}
	if why, asked := p.t.escalate[v.ID]; asked && rec.Kind == state.KindSwitchover {
		p.add(escalate{rec: p.escalation(rec, why)})
		return
	}
	if p.ownerDiedDuringSwitchover(rec) {
		res := p.t.verdicts[rec.From.Instance]
		p.add(escalate{rec: p.escalation(rec, "owner died during the switchover: "+res.Reason)})
		return
	}
	if lost, ok := p.t.lost[v.ID]; ok {
		if lost.stray != "" {
			p.stray(v, rec, lost)
			return
		}
		p.retarget(v, rec, lost.why)
		return
	}
	p.add(resumeMove{rec: *rec})
}

// retarget re-plans a move whose target was lost: while the volume is not
// attached to that target a new target is chosen; once it is, the move is
// abandoned, so that the next round sees the dead target as the owner and
// fails the volume over afresh.
func (p *planner) retarget(v awsops.Volume, rec *state.Record, why string) {
	step, _ := rec.Step.Next()
	if a, ok := v.AttachmentTo(rec.To.Instance); ok && a.State != "detached" {
		p.abandon(v, rec, step, why)
		return
	}
	in := p.targetInput(v, rec.From.Instance, "")
	in.Suspect[rec.To.Instance] = true
	to, err := chooseTarget(in)
	if err != nil {
		p.noTarget(v, rec.From.Instance, err)
		return
	}
	r := cloneRecord(rec)
	st := r.Entry(step, p.now)
	st.Note = strings.TrimSpace(st.Note + fmt.Sprintf(" %s; new target %s.", why, to.Instance))
	r.PreviousTargets = append(r.PreviousTargets, rec.To.Instance)
	r.To = state.Endpoint{Instance: to.Instance, Machine: to.Machine, PrivateIP: to.PrivateIP}
	r.Updated = p.now.UTC()
	p.reserved[to.Instance] = v.ID
	p.add(retarget{rec: r, lost: rec.To.Instance, why: why, step: step})
}

// stray decides a move whose volume was found attached to a host other than
// its old owner and its target: a late attach of an earlier target, or one
// sent by a deposed leader. It is the new state of the world: adopted as the
// target if that host is eligible, else force-detached so the move goes on.
func (p *planner) stray(v awsops.Volume, rec *state.Record, lost lostTarget) {
	a, attached := v.AttachmentTo(lost.stray)
	if !attached || a.State == "detached" {
		p.add(resumeMove{rec: *rec, retry: true})
		return
	}
	step, _ := rec.Step.Next()
	in := p.targetInput(v, rec.From.Instance, lost.stray)
	host, err := chooseTarget(in)
	if err != nil {
		p.add(detachStray{rec: *rec, instance: lost.stray})
		return
	}
	r := cloneRecord(rec)
	st := r.Entry(step, p.now)
	st.Note = strings.TrimSpace(st.Note + fmt.Sprintf(" volume found attached to %s; adopted as the target.", host.Instance))
	r.PreviousTargets = append(r.PreviousTargets, rec.To.Instance)
	r.To = state.Endpoint{Instance: host.Instance, Machine: host.Machine, PrivateIP: host.PrivateIP}
	r.Updated = p.now.UTC()
	p.reserved[host.Instance] = v.ID
	p.add(retarget{rec: r, lost: rec.To.Instance, why: lost.why, step: step})
}

// abandon finishes a move whose target died holding the volume. Its damping
// entry is withdrawn: the move did not complete, and the fresh failover of the
// next round must not wait out a cooldown.
func (p *planner) abandon(v awsops.Volume, rec *state.Record, step state.Step, why string) {
	r := cloneRecord(rec)
	r.Abandoned = fmt.Sprintf("%s before step %s, with the volume attached to it; the next round decides afresh", why, step)
	r.Updated, r.Finished = p.now.UTC(), p.now.UTC()
	a := abandonMove{rec: r, step: step, why: why}
	if d, ok := p.s.damping[v.ID]; ok && r.Kind == state.KindFailover {
		kept := state.Damping{}
		for _, at := range d.Failovers {
			if !at.Equal(r.Created) {
				kept.Failovers = append(kept.Failovers, at)
			}
		}
		a.damping = &kept
	}
	p.add(a)
}

// owned decides a volume attached to owner and not moving.
func (p *planner) owned(v awsops.Volume, owner, paused string) {
	res, ok := p.t.verdicts[owner]
	if !ok {
		return
	}
	from := p.endpoint(owner)
	if fo, ok := p.s.ov.Failovers[v.ID]; ok {
		p.manualFailover(v, from, fo, res, paused)
		return
	}
	if sw, ok := p.s.ov.Switchovers[v.ID]; ok && paused == "" {
		if res.Verdict == health.VerdictDead && res.Actionable {
			p.supersede(v, from, sw, res)
			return
		}
		p.switchover(v, from, sw, res)
		return
	}
	switch {
	case res.Verdict == health.VerdictDead && res.Actionable && paused != "":
		p.note("paused-dead/"+v.ID+"/"+owner, zerolog.ErrorLevel, v.ID, "owner is dead but the volume is paused: no failover",
			map[string]string{"owner": owner, "pause": paused, "reason": res.Reason})
	case res.Verdict == health.VerdictDead && res.Actionable:
		p.failover(v, from, res, "", false)
	case res.Verdict == health.VerdictAlive && paused == "":
		if !p.eventSwitchover(v, from) {
			p.metadata(v, owner)
		}
	}
}

// failover plans an automatic failover of a dead owner, damped as every
// automatic failover is. preferred is a target to use if it is eligible;
// drop removes the volume's switchover request in the same transaction.
func (p *planner) failover(v awsops.Volume, from state.Endpoint, res health.Result, preferred string, drop bool) bool {
	if _, armed := p.s.armed[v.ID]; !armed {
		p.note("unarmed-dead/"+v.ID+"/"+from.Instance, zerolog.ErrorLevel, v.ID,
			"owner is dead but its Postgres was never seen answering (volume unarmed): no failover",
			map[string]string{"owner": from.Instance, "reason": res.Reason})
		return false
	}
	if err, bad := p.s.badDamping[v.ID]; bad {
		p.raise(alert.Event{Kind: alert.KindFlapDamped, Severity: alert.SeverityCritical, DedupKey: "flap_damped/" + v.ID, Volume: v.ID, Instance: from.Instance,
			Summary: fmt.Sprintf("%s: owner %s is dead but the damping record does not parse (%v): alert-only", v.ID, from.Instance, err)})
		return false
	}
	d := p.damper()
	ok, flapping, why := d.Allow(p.now, p.s.damping[v.ID])
	if !ok {
		p.raise(alert.Event{Kind: alert.KindFlapDamped, Severity: alert.SeverityCritical, DedupKey: "flap_damped/" + v.ID, Volume: v.ID, Instance: from.Instance,
			Summary: fmt.Sprintf("%s: owner %s is dead but no automatic failover: %s", v.ID, from.Instance, why),
			Details: map[string]any{"signals": res.Signals, "flapping": flapping}})
		p.note("damped/"+v.ID+"/"+from.Instance, zerolog.ErrorLevel, v.ID, "owner is dead; failover damped",
			map[string]string{"owner": from.Instance, "damping": why})
		return false
	}
	next := d.Record(p.now, p.s.damping[v.ID])
	in := p.targetInput(v, from.Instance, preferred)
	to, err := chooseTarget(in)
	if err != nil && preferred != "" {
		in.Preferred = ""
		to, err = chooseTarget(in)
	}
	if err != nil {
		p.noTarget(v, from.Instance, err)
		return false
	}
	return p.move(v, state.KindFailover, from, to, res.Reason, res.Signals, &next, drop)
}

// manualFailover carries out an operator's failover request: for an owner
// that is unhealthy but not dead by the verdict, the owner is fenced and the
// volume force-detached, as in an automatic failover. It is the operator's
// call, so neither damping nor arming holds it back; a pause does (a pause
// is never overridden), and a named target that is not eligible is refused
// with the reason rather than replaced.
func (p *planner) manualFailover(v awsops.Volume, from state.Endpoint, fo state.FailoverOverride, res health.Result, paused string) {
	if paused != "" {
		p.note("failover-held/"+v.ID, zerolog.WarnLevel, v.ID, "manual failover requested but the volume is paused: held",
			map[string]string{"pause": paused, "reason": fo.Reason})
		return
	}
	to, err := chooseTarget(p.targetInput(v, from.Instance, fo.To))
	if err != nil {
		p.noTarget(v, from.Instance, err)
		return
	}
	reason := "manual failover: " + fo.Reason + " (verdict " + string(res.Verdict) + ")"
	if p.move(v, state.KindFailover, from, to, reason, res.Signals, nil, false) {
		p.out[len(p.out)-1] = withDrop(p.out[len(p.out)-1], "failover")
	}
}

// withDrop makes a startMove also remove the volume's named override.
func withDrop(a action, override string) action {
	m := a.(startMove)
	m.dropOverride = override
	return m
}

// supersede turns a switchover request whose owner died into a failover: the
// dead owner fails over to the best eligible target (the request's own if it
// is eligible), damped as any failover. The request is reported and removed:
// it no longer says what the operator wants.
func (p *planner) supersede(v awsops.Volume, from state.Endpoint, sw state.SwitchoverOverride, res health.Result) {
	why := fmt.Sprintf("owner %s died with a switchover to %s pending (%s): failing over instead; the request is removed", from.Instance, sw.To, sw.Reason)
	p.note("stale-switchover/"+v.ID, zerolog.WarnLevel, v.ID, "switchover request superseded by a failover", map[string]string{"to": sw.To, "reason": why})
	p.raise(alert.Event{Kind: alert.KindBadOverride, Severity: alert.SeverityWarning, DedupKey: "stale_switchover/" + v.ID, Volume: v.ID,
		Instance: from.Instance, Summary: fmt.Sprintf("%s: %s", v.ID, why)})
	if !p.failover(v, from, res, sw.To, true) && !p.o.DryRun {
		p.add(dropSwitchover{vol: v.ID, why: why})
	}
}

// switchover plans an operator's planned move.
func (p *planner) switchover(v awsops.Volume, from state.Endpoint, sw state.SwitchoverOverride, res health.Result) {
	switch {
	case sw.To == from.Instance:
		p.add(dropSwitchover{vol: v.ID, why: "switchover request already satisfied"})
		return
	case res.Verdict != health.VerdictAlive:
		p.note("sw-wait/"+v.ID, zerolog.WarnLevel, v.ID, "switchover waits: owner is suspect", map[string]string{"to": sw.To, "reason": res.Reason})
		return
	}
	to, err := chooseTarget(p.targetInput(v, from.Instance, sw.To))
	if err != nil {
		p.noTarget(v, from.Instance, err)
		return
	}
	p.move(v, state.KindSwitchover, from, to, "switchover: "+sw.Reason, nil, nil, false)
}

// heal attaches a volume that is attached nowhere: to the host whose fleet
// machine carries its metadata if that host is eligible, else to the best host.
func (p *planner) heal(v awsops.Volume) {
	preferred := ""
	for _, id := range sortedKeys(p.s.hosts) {
		if m, ok := p.s.machines[p.s.hosts[id].Machine]; ok && m.Metadata[p.o.MetadataKey] == v.ID {
			preferred = id
		}
	}
	in := p.targetInput(v, "", preferred)
	to, err := chooseTarget(in)
	if err != nil && preferred != "" {
		in.Preferred = ""
		to, err = chooseTarget(in)
	}
	if err != nil {
		p.noTarget(v, "", err)
		return
	}
	p.move(v, state.KindHeal, state.Endpoint{}, to, "volume attached nowhere", nil, nil, false)
}

// move plans a new journal record (in dry-run, only the record of the
// decision); it says whether a move starts.
func (p *planner) move(v awsops.Volume, kind state.Kind, from state.Endpoint, to state.Host, reason string, signals []health.Signal, damping *state.Damping, drop bool) bool {
	epoch, _ := strconv.ParseInt(v.Tags[TagEpoch], 10, 64)
	now := p.now.UTC()
	rec := state.Record{
		Kind: kind, Volume: v.ID, AZ: v.AvailabilityZone, Device: p.o.Device,
		From: from, To: state.Endpoint{Instance: to.Instance, Machine: to.Machine, PrivateIP: to.PrivateIP},
		Reason: reason, Signals: signalsOf(signals), Epoch: epoch + 1, Fence: p.o.FencePolicy, Step: state.StepPlanned,
		Created: now, Updated: now, DryRun: p.o.DryRun,
		Timeline: []state.StepRecord{{Step: state.StepPlanned, Start: now, End: now, Attempts: 1, Leader: p.o.InstanceID}},
	}
	if p.o.DryRun {
		once := "dry-run/" + string(kind) + "/" + v.ID + "/" + from.Instance + "/" + to.Instance
		if !p.t.done[once] {
			p.add(recordDryRun{once: once, rec: rec})
		}
		return false
	}
	p.reserved[to.Instance] = v.ID
	m := startMove{rec: rec, damping: damping}
	if drop {
		m.dropOverride = "switchover"
	}
	p.add(m)
	return true
}

// metadata keeps the fleet metadata of a volume on exactly the machine of the
// instance that holds it: stale copies elsewhere are removed (fleet would
// start the unit there) and a missing one on the owner is added.
func (p *planner) metadata(v awsops.Volume, owner string) {
	key := p.o.MetadataKey
	om := p.s.machineOf(owner)
	m, listed := p.s.machines[om]
	if !p.s.fleetOK || om == "" || !listed {
		return
	}
	var ops []fleet.MetadataOp
	for _, id := range p.s.byMetadata[v.ID] {
		if id != om {
			ops = append(ops, fleet.MetadataOp{Op: fleet.OpRemove, MachineID: id, Key: key})
		}
	}
	switch cur, ok := m.Metadata[key]; {
	case !ok:
		ops = append(ops, fleet.MetadataOp{Op: fleet.OpAdd, MachineID: om, Key: key, Value: v.ID})
	case cur != v.ID:
		p.note("meta-conflict/"+v.ID, zerolog.ErrorLevel, v.ID, "owner's machine carries another volume's metadata; not touched",
			map[string]string{"machine": om, "value": cur})
	}
	switch {
	case len(ops) == 0 && m.Metadata[key] == v.ID:
		p.unit(v, owner, om)
		p.primary(v, owner, om)
	case len(ops) == 0:
	case p.o.DryRun:
		p.note(fmt.Sprintf("dry-meta/%s/%v", v.ID, ops), zerolog.WarnLevel, v.ID, "dry-run: would repair fleet metadata",
			map[string]string{"instance": owner, "machine": om})
	default:
		p.add(repairMetadata{vol: v.ID, owner: owner, machine: om, ops: ops})
	}
}

// unit keeps the unit of a managed volume launched where the volume and its
// metadata are. A move that stopped half-way (an abandoned switchover had
// already stopped the unit) must not leave Postgres down with nobody paged:
// the unit is launched again, and paged if fleet has not started it on the
// owner within the reschedule deadline. To stop Postgres on purpose, pause
// the volume first.
func (p *planner) unit(v awsops.Volume, owner, machine string) {
	name := fmt.Sprintf(p.o.UnitTemplate, v.ID)
	u, ok := p.s.units[name]
	if !p.s.unitsOK || !ok {
		return
	}
	key := "unit_down/" + v.ID
	since, launched := p.t.launchedAt[v.ID]
	switch {
	case u.DesiredState != fleet.StateLaunched && p.o.DryRun:
		p.note("dry-launch/"+v.ID, zerolog.WarnLevel, v.ID, "dry-run: would launch the volume's unit", map[string]string{"unit": name, "machine": machine})
	case u.DesiredState != fleet.StateLaunched:
		p.add(launchUnit{vol: v.ID, owner: owner, machine: machine, unit: name})
	case u.CurrentState == fleet.StateLaunched && u.MachineID == machine:
		if p.t.open[key] {
			p.page(alert.Event{Kind: alert.KindStepOverdue, Action: alert.ActionResolve, Severity: alert.SeverityCritical, DedupKey: key,
				Volume: v.ID, Instance: owner, Summary: fmt.Sprintf("%s: %s runs on %s again", v.ID, name, owner)})
		}
	case launched && !p.t.open[key] && p.now.Sub(since) > p.o.Deadlines.Reschedule:
		p.page(alert.Event{Kind: alert.KindStepOverdue, Severity: alert.SeverityCritical, DedupKey: key, Volume: v.ID, Instance: owner,
			Summary: fmt.Sprintf("%s: %s was launched again at %s but fleet has not started it on %s (machine %s): Postgres is down",
				v.ID, name, since.UTC().Format(time.RFC3339), owner, machine)})
	}
}

// primary publishes where an armed volume's Postgres answers, when no move
// did: its owner, once the leader's probe got a Postgres answer there.
func (p *planner) primary(v awsops.Volume, owner, machine string) {
	cur, ok := p.s.primaries[v.ID]
	_, armed := p.s.armed[v.ID]
	if (ok && cur.Instance == owner) || !armed || !p.t.pgAnswered[owner] || p.o.DryRun {
		return
	}
	addr := p.s.owners[owner].PrivateIP
	if addr == "" {
		return
	}
	p.add(publishPrimary{p: state.Primary{Volume: v.ID, Instance: owner, Machine: machine, Address: addr, Port: p.o.PostgresPort, Since: p.now.UTC()}})
}

// noTarget reports that a volume needs a new host and none is eligible.
func (p *planner) noTarget(v awsops.Volume, from string, err error) {
	p.note("no_target_log/"+v.ID, zerolog.ErrorLevel, v.ID, "NO FAILOVER TARGET: volume left where it is",
		map[string]string{"owner": from, "error": err.Error()})
	p.raise(alert.Event{Kind: alert.KindNoTarget, Severity: alert.SeverityCritical, DedupKey: "no_target/" + v.ID, Volume: v.ID, Instance: from,
		Summary: fmt.Sprintf("%s needs a new host but none is eligible: %v", v.ID, err)})
}

// confirmations starts the background confirmation of every stop fence this
// term has not confirmed: those its own workers fenced, and those of records
// it took over from a previous leader, whose confirmation died with its term.
// The deadline counts from the end of the fence step; past it, one last look
// is given before fence_unconfirmed is paged.
func (p *planner) confirmations() {
	cands := map[string]state.Record{}
	for _, vol := range sortedKeys(p.s.journals) {
		if rec := p.s.journals[vol]; needsConfirmation(rec) {
			cands[rec.ID] = *rec
		}
	}
	maps.Copy(cands, p.t.toConfirm)
	for _, id := range sortedKeys(cands) {
		if p.t.confirming[id] || p.t.confirmed[id] {
			continue
		}
		rec := cands[id]
		left := fenceEnd(&rec).Add(p.o.Deadlines.FenceConfirm).Sub(p.now)
		p.add(confirmStop{rec: rec, left: max(left, p.o.RoundInterval)})
	}
}

// needsConfirmation says whether rec stopped its owner without waiting for
// the stop: an automatic failover under the default fence policy, past its
// fence step and not finished.
func needsConfirmation(rec *state.Record) bool {
	return rec.Kind == state.KindFailover && rec.Fence == state.FenceStopThenDetach && rec.From.Instance != "" &&
		rec.Step != state.StepPlanned && rec.Step != state.StepDone && !fenceEnd(rec).IsZero()
}

// fenceEnd is when rec's fence step ended (zero if it has not).
func fenceEnd(rec *state.Record) time.Time {
	for _, st := range rec.Timeline {
		if st.Step == state.StepFenced {
			return st.End
		}
	}
	return time.Time{}
}

// damper is the damping policy of the options.
func (p *planner) damper() Damper {
	return Damper{Cooldown: p.o.Cooldown, Max: p.o.MaxFailovers, Window: p.o.FailoverWindow}
}

// endpoint describes owner as the source of a move.
func (p *planner) endpoint(owner string) state.Endpoint {
	e := state.Endpoint{Instance: owner, Machine: p.s.machineOf(owner)}
	if inst, ok := p.s.instances[owner]; ok {
		e.PrivateIP = inst.PrivateIP
	}
	return e
}

// targetInput is what target choice looks at for v, from this round's view.
func (p *planner) targetInput(v awsops.Volume, from, preferred string) targetInput {
	in := targetInput{
		Volume: v.ID, AZ: v.AvailabilityZone, From: from, Hosts: p.s.hosts, Instances: p.s.instances,
		Machines: p.s.machines, MetadataKey: p.o.MetadataKey, Holders: maps.Clone(p.holders), Suspect: map[string]bool{},
		Preferred: preferred,
	}
	// A move not yet attached holds its target as surely as an attachment does.
	for id, vol := range p.reserved {
		if _, ok := in.Holders[id]; !ok && vol != v.ID {
			in.Holders[id] = vol
		}
	}
	for id, res := range p.t.verdicts {
		if res.Verdict != health.VerdictAlive {
			in.Suspect[id] = true
		}
	}
	return in
}

// holdersOf maps each instance to the managed volume attached to it.
func holdersOf(vols []awsops.Volume) map[string]string {
	out := make(map[string]string, len(vols))
	for _, v := range vols {
		if owner, _, err := currentOwner(v); err == nil && owner != "" {
			out[owner] = v.ID
		}
	}
	return out
}

// cloneRecord copies rec deeply enough that the copy's timeline can change.
func cloneRecord(rec *state.Record) state.Record {
	r := *rec
	r.Timeline = slices.Clone(rec.Timeline)
	r.PreviousTargets = slices.Clone(rec.PreviousTargets)
	r.OpenPages = maps.Clone(rec.OpenPages)
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package controller

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// action is one thing the planner decided and apply carries out. The planner
// returns them in the order they must happen; apply is the only code that
// writes to etcd, EC2 or fleet on their behalf.
type action interface {
	// volume names the volume the action is about ("" when none).
	volume() string
}

// publishOwners writes the owners list the witnesses follow.
type publishOwners struct {
	owners  map[string]state.Owner
	encoded string
}

// note writes one log line, once per term when once is set.
type note struct {
	once   string
	level  zerolog.Level
	msg    string
	vol    string
	fields map[string]string
}

// page hands an event to the pager. A trigger opens its dedup key in the
// term, a resolve closes it.
type page struct{ ev alert.Event }

// logVerdict logs an owner's verdict when it changed since the last one logged.
type logVerdict struct {
	owner, vol string
	res        health.Result
}

// startMove journals a new move (with the damping write of an automatic
// failover, and the removal of the switchover request it fulfils or
// supersedes, in the same transaction), pages its start and starts its worker.
type startMove struct {
	rec     state.Record
	damping *state.Damping
	// dropOverride names the volume's override the move fulfils or
	// supersedes ("switchover", "failover"; "" = none).
	dropOverride string
}

// recordDryRun writes, once per term, the move a dry-run controller would make.
type recordDryRun struct {
	once string
	rec  state.Record
}

// resumeMove starts the worker of a journaled move; retry says the move was
// handed back by its worker and the reason has since gone.
type resumeMove struct {
	rec   state.Record
	retry bool
}

// retarget journals a new target for a move whose target was lost before the
// volume reached it, then resumes the move.
type retarget struct {
	rec  state.Record
	lost string
	why  string
	step state.Step
}

// abandonMove finishes a move whose target died with the volume attached to
// it: the next round sees that target as the owner and decides afresh.
type abandonMove struct {
	rec     state.Record
	step    state.Step
	why     string
	damping *state.Damping
}

// detachStray force-detaches the volume from a host that is neither the old
// owner nor an eligible target, so that the move can go on.
type detachStray struct {
	rec      state.Record
	instance string
}

// repairMetadata patches fleet so the metadata of a volume sits on exactly its owner's machine.
type repairMetadata struct {
	vol, owner, machine string
	ops                 []fleet.MetadataOp
}

// stopWorker stops the worker of a move the planner must decide again: a
// switchover whose owner died becomes a failover once the worker is gone.
type stopWorker struct{ vol, why string }

// escalate turns a switchover whose owner died before the detach into a
// failover: the owner is fenced and the volume force-detached.
type escalate struct{ rec state.Record }

// publishPrimary writes the serving endpoint of a volume no move published:
// a first deploy, or a volume moved by hand.
type publishPrimary struct{ p state.Primary }

// arm records that a volume's Postgres answered on its owner.
type arm struct{ rec state.Armed }

// launchUnit sets the unit of an attached volume launched again: the volume
// and its metadata are in place, but nothing runs Postgres.
type launchUnit struct{ vol, owner, machine, unit string }

// dropSwitchover removes a switchover request the planner has dealt with.
type dropSwitchover struct{ vol, why string }

// confirmStop watches, in the background, for a fenced owner to reach stopped,
// paging fence_unconfirmed if it does not within left.
type confirmStop struct {
	rec  state.Record
	left time.Duration
}

func (a publishOwners) volume() string  { return "" }
func (a note) volume() string           { return a.vol }
func (a page) volume() string           { return a.ev.Volume }
func (a logVerdict) volume() string     { return a.vol }
func (a startMove) volume() string      { return a.rec.Volume }
func (a recordDryRun) volume() string   { return a.rec.Volume }
func (a resumeMove) volume() string     { return a.rec.Volume }
func (a retarget) volume() string       { return a.rec.Volume }
func (a abandonMove) volume() string    { return a.rec.Volume }
func (a repairMetadata) volume() string { return a.vol }
func (a detachStray) volume() string    { return a.rec.Volume }
func (a dropSwitchover) volume() string { return a.vol }
func (a launchUnit) volume() string     { return a.vol }
func (a arm) volume() string            { return a.rec.Volume }
func (a publishPrimary) volume() string { return a.p.Volume }
func (a stopWorker) volume() string     { return a.vol }
func (a escalate) volume() string       { return a.rec.Volume }
func (a confirmStop) volume() string    { return a.rec.Volume }

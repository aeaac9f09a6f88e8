package controller

import (
	"context"
	"time"

	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// term is everything one leadership term remembers between its rounds. Only
// the reconcile goroutine reads or writes it: the planner reads it, assess and
// apply write it, and the goroutines the term starts (move workers, stop
// confirmations) report back over reports instead of touching it. That is why
// it needs no lock.
type term struct {
	// probes is what the leader's probes found of each owner, as of the
	// latest round.
	probes map[string]probeRun
	// seen holds owners seen registered during this term: only then is a
	// missing registration evidence of anything.
	seen map[string]bool
	// verdicts is each owner's verdict of the latest round.
	verdicts map[string]health.Result
	// pgAnswered holds the owners whose Postgres answered the leader's probe
	// in the latest round: what arms a volume.
	pgAnswered map[string]bool
	// impaired counts each owner's consecutive EC2 readings with an impaired
	// status check.
	impaired map[string]int
	// logged is the verdict last logged per owner, so changes are logged once.
	logged map[string]health.Verdict
	// suspectSince is the start of each owner's current suspect spell.
	suspectSince map[string]time.Time
	// done holds the once-keys of notes and pages already given this term.
	done map[string]bool
	// open holds the dedup keys of incidents this term triggered and has not
	// resolved, so the condition's end can resolve them.
	open map[string]bool
	// workers is volume → the worker that runs its move.
	workers map[string]workerRef
	// confirming holds record IDs whose stop confirmation runs.
	confirming map[string]bool
	// toConfirm holds fenced records whose stop confirmation must start; a
	// move can finish well within one round, so the worker hands them over.
	toConfirm map[string]state.Record
	// lost is volume → why its move's worker could not go on toward the
	// target; the next plan re-targets, adopts, detaches or abandons.
	lost map[string]lostTarget
	// confirmed holds record IDs whose stop confirmation ended this term,
	// confirmed or paged: it is not started again.
	confirmed map[string]bool
	// escalate is volume → why its switchover must become a failover, as
	// its worker found out.
	escalate map[string]string
	// launchedAt is volume → when this term launched its unit again.
	launchedAt map[string]time.Time
	// lastOwners is the owners list last published (nil until the first round,
	// which starts from the list the previous leader left in etcd).
	lastOwners map[string]state.Owner
	// witnesses caches each owner's witnesses across the term's rounds.
	witnesses *witnessCache
	// reports carries what the term's goroutines found out to the reconcile
	// goroutine, which drains it at the start of every round.
	reports chan report
}

func newTerm(witnesses int) *term {
	return &term{
		probes:       map[string]probeRun{},
		seen:         map[string]bool{},
		verdicts:     map[string]health.Result{},
		impaired:     map[string]int{},
		logged:       map[string]health.Verdict{},
		suspectSince: map[string]time.Time{},
		done:         map[string]bool{},
		open:         map[string]bool{},
		workers:      map[string]workerRef{},
		confirming:   map[string]bool{},
		toConfirm:    map[string]state.Record{},
		lost:         map[string]lostTarget{},
		confirmed:    map[string]bool{},
		launchedAt:   map[string]time.Time{},
		escalate:     map[string]string{},
		witnesses:    newWitnessCache(witnesses),
		reports:      make(chan report, 1024),
	}
}

// workerRef is a running move worker: its record and how to stop it.
type workerRef struct {
	id   string
	stop context.CancelFunc
}

// reportKind says what a goroutine of the term found out.
type reportKind int

const (
	// reportWorkerExit: a move worker returned; the volume is free for the planner.
	reportWorkerExit reportKind = iota
	// reportFenced: a move fenced its owner by a stop; confirm the stop.
	reportFenced
	// reportTargetLost: the move's target can no longer take the volume.
	reportTargetLost
	// reportConfirmExit: a stop confirmation returned.
	reportConfirmExit
	// reportEscalate: a switchover's owner gave no proof that Postgres stopped.
	reportEscalate
)

// lostTarget is why a move's worker handed the move back to the planner.
type lostTarget struct {
	why string
	// stray is the host the volume was found attached to instead of the
	// target ("" when the target itself was lost).
	stray string
}

// report is one message from a goroutine of the term to its reconcile loop.
type report struct {
	kind   reportKind
	volume string
	record state.Record
	lost   lostTarget
}

// drain applies every pending report to the term. It runs at the start of a
// round, before the read, so that a move whose worker ended is seen by the
// read as the journal now holds it and never resumed from a stale copy.
func (t *term) drain() {
	for {
		select {
		case r := <-t.reports:
			t.apply(r)
		default:
			return
		}
	}
}

func (t *term) apply(r report) {
	switch r.kind {
	case reportWorkerExit:
		if t.workers[r.volume].id == r.record.ID {
			delete(t.workers, r.volume)
		}
	case reportFenced:
		t.toConfirm[r.record.ID] = r.record
	case reportTargetLost:
		t.lost[r.volume] = r.lost
	case reportEscalate:
		t.escalate[r.volume] = r.lost.why
	case reportConfirmExit:
		delete(t.confirming, r.record.ID)
		t.confirmed[r.record.ID] = true
	}
}

// busy says whether a worker runs for volume.
func (t *term) busy(volume string) bool {
	_, ok := t.workers[volume]
	return ok
}

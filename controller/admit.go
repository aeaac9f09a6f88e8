package controller

import (
	"sort"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/state"
)

// admit keeps the moves short of their attach within MaxMoves. Those are
// the moves that spend the EC2 mutating budget (stop, detach, attach);
// starting more only queues them on the budget while each holds a worker.
// The new moves of this plan beyond the room left wait for a later round:
// heals first (attached nowhere, their path to served is the shortest),
// then failovers (the owner is dead), then switchovers (the owner still
// serves), each kind by volume ID. A held move reserves no target, and its
// damping write and request removal go with it, so nothing of it happens.
func (p *planner) admit() {
	var starts []int
	for i, a := range p.out {
		if _, ok := a.(startMove); ok {
			starts = append(starts, i)
		}
	}
	room := p.o.MaxMoves - unattached(p.s.journals)
	if len(starts) <= room {
		return
	}
	sort.SliceStable(starts, func(i, j int) bool {
		return moveRank(p.out[starts[i]].(startMove).rec.Kind) < moveRank(p.out[starts[j]].(startMove).rec.Kind)
	})
	held := map[int]bool{}
	for _, i := range starts[max(room, 0):] {
		held[i] = true
	}
	out := make([]action, 0, len(p.out))
	for i, a := range p.out {
		if !held[i] {
			out = append(out, a)
			continue
		}
		m := a.(startMove)
		delete(p.reserved, m.rec.To.Instance)
		if once := "waits-turn/" + m.rec.Volume; !p.t.done[once] {
			out = append(out, note{once: once, level: zerolog.WarnLevel, vol: m.rec.Volume,
				msg:    "move waits its turn: the most moves allowed short of their attach are under way",
				fields: map[string]string{"kind": string(m.rec.Kind), "max_moves": strconv.Itoa(p.o.MaxMoves)}})
		}
	}
	p.out = out
}

// unattached counts the journaled moves that have not reached their attach.
func unattached(journals map[string]*state.Record) int {
	n := 0
	for _, rec := range journals {
		switch rec.Step {
		case state.StepPlanned, state.StepFenced, state.StepDetached:
			if !rec.DryRun {
				n++
			}
		}
	}
	return n
}

// moveRank orders waiting moves: the shorter the path to served, the sooner.
func moveRank(k state.Kind) int {
	switch k {
	case state.KindHeal:
		return 0
	case state.KindFailover:
		return 1
	}
	return 2
}

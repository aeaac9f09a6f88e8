package admin

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// AbortResult says what Abort did.
type AbortResult struct {
	// Volume is the volume named.
	Volume string `json:"volume"`
	// SwitchoverRemoved is the pending switchover request that was deleted
	// ("" = none was pending).
	SwitchoverRemoved string `json:"switchoverRemoved,omitempty"`
	// InFlight describes the move in flight ("" = none), which an abort
	// cannot undo: it is held by a pause instead.
	InFlight string `json:"inFlight,omitempty"`
	// Paused is the pause written to hold the move in flight.
	Paused *WriteResult `json:"paused,omitempty"`
	// Revision is the etcd revision of the write (0 when nothing was written).
	Revision int64 `json:"revision"`
	// Notes are what the operator should know next.
	Notes []string `json:"notes,omitempty"`
}

// Abort stops what an operator can stop of a volume's move, by writing only
// keys the leader honours. A switchover that was requested but not started
// is removed. A move already in flight is never unwound from here: the
// leader is half-way through fencing, detaching or attaching, and its
// journal record is what lets it (or the next leader) finish or resume
// safely. So Abort pauses the volume, which holds the move at its current
// step until `resume`; reason names it (default: the move and the operator).
//
// Both are one Txn guarded by what was read: if a move starts or the
// request changes meanwhile, nothing is written and ErrConflict says so.
func (a *Admin) Abort(ctx context.Context, volume, reason string) (AbortResult, error) {
	res := AbortResult{Volume: volume}
	if err := CheckVolumeID("volume", volume); err != nil {
		return res, err
	}
	k := a.keys
	swKey, journalKey, pauseKey := k.VolumeSwitchover(volume), k.JournalVolume(volume), k.VolumePause(volume)
	resp, err := a.cli.Txn(ctx).Then(clientv3.OpGet(swKey), clientv3.OpGet(journalKey), clientv3.OpGet(pauseKey)).Commit()
	if err != nil {
		return res, etcdErr("read switchover and journal of "+volume, err)
	}
	get := func(i int) *clientv3.GetResponse {
		return (*clientv3.GetResponse)(resp.Responses[i].GetResponseRange())
	}
	sw, journal, pause := get(0).Kvs, get(1).Kvs, get(2).Kvs

	if len(journal) == 0 {
		if len(sw) == 0 {
			res.Notes = append(res.Notes, "nothing to abort: no switchover requested and no move in flight for "+volume)
			return res, nil
		}
		// Not started: the request is the whole of it, and deleting it is what
		// the leader itself does when a switchover is done.
		w, err := a.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(swKey), "=", sw[0].ModRevision),
			clientv3.Compare(clientv3.CreateRevision(journalKey), "=", 0),
		).Then(clientv3.OpDelete(swKey)).Commit()
		if err != nil {
			return res, etcdErr("delete switchover "+swKey, err)
		}
		if !w.Succeeded {
			return res, fmt.Errorf("abort %s: %w: a move started or the request changed meanwhile; nothing deleted, check status and retry", volume, ErrConflict)
		}
		res.SwitchoverRemoved, res.Revision = string(sw[0].Value), w.Header.Revision
		return res, nil
	}

	what := "an unreadable journal record"
	if rec, err := state.ParseRecord(journal[0].Value, journal[0].CreateRevision); err == nil {
		what = fmt.Sprintf("%s %s of %s from %s to %s, at step %s", rec.Kind, rec.ID, volume, or(rec.From.Instance, "(none)"), rec.To.Instance, rec.Step)
	}
	res.InFlight = what
	if len(pause) == 1 {
		if _, inForce, err := state.ParsePause(pause[0].Value, a.now()); err != nil || inForce {
			res.Notes = append(res.Notes, fmt.Sprintf("the move (%s) is already held: %s is paused by %s; nothing written", what, volume, describe(pause[0].Value)))
			return res, nil
		}
	}
	if reason == "" {
		reason = "abort requested" + a.byline() + ": holding " + what
	}
	if err := checkReason("reason", reason); err != nil {
		return res, err
	}
	b, err := json.Marshal(state.PauseOverride{Reason: reason})
	if err != nil {
		return res, fmt.Errorf("encode pause for %s: %w", pauseKey, err)
	}
	if _, inForce, err := state.ParsePause(b, a.now()); err != nil || !inForce {
		return res, fmt.Errorf("pause value %s would not be in force (err %v): not written", b, err)
	}
	// The pause goes in only while the same record is in flight and the pause
	// key is as read: an abort meant for this move must not pause the next one.
	pauseRev := int64(0)
	if len(pause) == 1 {
		pauseRev = pause[0].ModRevision
	}
	w, err := a.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(journalKey), "=", journal[0].ModRevision),
		clientv3.Compare(clientv3.ModRevision(pauseKey), "=", pauseRev),
	).Then(clientv3.OpPut(pauseKey, string(b))).Commit()
	if err != nil {
		return res, etcdErr("write pause "+pauseKey, err)
	}
	if !w.Succeeded {
		return res, fmt.Errorf("abort %s: %w: the move advanced or the pause changed meanwhile; nothing written, check status and retry", volume, ErrConflict)
	}
	res.Paused = &WriteResult{Key: pauseKey, Value: string(b), Revision: w.Header.Revision}
	res.Revision = w.Header.Revision
	res.Notes = append(res.Notes,
		"a move in flight cannot be undone: the leader holds it at its current step while "+volume+" is paused; the journal record is kept",
		"decide with `volfailover status` where the volume is; `volfailover resume --volume "+volume+"` lets the move go on from that step")
	return res, nil
}

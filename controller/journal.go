package controller

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// journal writes records under the leader's guard.
type journal struct {
	cli   *clientv3.Client
	keys  state.Keys
	guard clientv3.Cmp
	limit int
}

// create writes a new record if the volume has none, plus any extra ops (damping).
func (j journal) create(ctx context.Context, r *state.Record, extra ...clientv3.Op) error {
	key := j.keys.JournalVolume(r.Volume)
	ops := append([]clientv3.Op{clientv3.OpPut(key, r.Encode())}, extra...)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("create journal of %s: %w", r.Volume, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("create journal of %s: %w (or a record exists)", r.Volume, errNotLeader)
	}
	r.Rev = resp.Header.Revision
	return nil
}

// update rewrites the record if this leader still leads and the record is
// the same one, with any extra ops in the same transaction.
func (j journal) update(ctx context.Context, r *state.Record, extra ...clientv3.Op) error {
	key := j.keys.JournalVolume(r.Volume)
	ops := append([]clientv3.Op{clientv3.OpPut(key, r.Encode())}, extra...)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", r.Rev)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("update journal of %s at %s: %w", r.Volume, r.Step, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("update journal of %s at %s: %w", r.Volume, r.Step, errNotLeader)
	}
	return nil
}

// finish moves the record to history (and runs extra ops, e.g. removing the
// switchover key) in one guarded transaction. The caller trims the history
// after paging: paging never waits on housekeeping.
func (j journal) finish(ctx context.Context, r *state.Record, extra ...clientv3.Op) error {
	key := j.keys.JournalVolume(r.Volume)
	ops := append([]clientv3.Op{clientv3.OpDelete(key), clientv3.OpPut(j.keys.HistoryRecord(r.Volume, r.ID), r.Encode())}, extra...)
	resp, err := j.cli.Txn(ctx).If(j.guard, clientv3.Compare(clientv3.CreateRevision(key), "=", r.Rev)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("move journal of %s to history: %w", r.Volume, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("move journal of %s to history: %w", r.Volume, errNotLeader)
	}
	return nil
}

// trim keeps the newest limit history records of a volume.
func (j journal) trim(ctx context.Context, volume string) error {
	resp, err := j.cli.Get(ctx, j.keys.HistoryVolume(volume), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return fmt.Errorf("list history of %s: %w", volume, err)
	}
	extra := len(resp.Kvs) - j.limit
	if extra <= 0 {
		return nil
	}
	// etcd refuses a transaction of more than --max-txn-ops (128 by default)
	// operations; a lowered history limit can leave many more to delete.
	for stale := resp.Kvs[:extra]; len(stale) > 0; {
		n := min(len(stale), trimBatch)
		ops := make([]clientv3.Op, 0, n)
		for _, kv := range stale[:n] {
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		}
		if _, err := j.cli.Txn(ctx).If(j.guard).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("trim history of %s: %w", volume, err)
		}
		stale = stale[n:]
	}
	return nil
}

// trimBatch is how many history records one trim transaction deletes.
const trimBatch = 100

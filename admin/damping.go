package admin

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// DampingRecord is a volume's flap-damping key as it stands, read before an
// operator clears it.
type DampingRecord struct {
	Key    string `json:"key"`
	Volume string `json:"volume"`
	// Exists is false when the volume has no damping record.
	Exists bool `json:"exists"`
	// Failovers are the recorded automatic failovers (empty when malformed).
	Failovers []time.Time `json:"failovers,omitempty"`
	// Error is why the value does not parse ("" = it does); the leader
	// treats such a volume as damped.
	Error string `json:"error,omitempty"`
	// Value is the raw value.
	Value string `json:"value,omitempty"`
	// ModRevision is the revision the value was read at; ClearDamping
	// deletes only that value.
	ModRevision int64 `json:"modRevision,omitempty"`
}

// Damping reads a volume's flap-damping record (<prefix>/damping/<volume>).
func (a *Admin) Damping(ctx context.Context, volume string) (DampingRecord, error) {
	d := DampingRecord{Volume: volume}
	if err := CheckVolumeID("volume", volume); err != nil {
		return d, err
	}
	d.Key = a.keys.DampingVolume(volume)
	resp, err := a.cli.Get(ctx, d.Key)
	if err != nil {
		return d, etcdErr("read damping "+d.Key, err)
	}
	if len(resp.Kvs) == 0 {
		return d, nil
	}
	kv := resp.Kvs[0]
	d.Exists, d.Value, d.ModRevision = true, string(kv.Value), kv.ModRevision
	rec, err := state.ParseDamping(kv.Value)
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Failovers = rec.Failovers
	}
	return d, nil
}

// ClearDamping deletes the damping record d was read as, so that the volume's
// next automatic failover is neither held by the cooldown nor counted against
// max-failovers. It deletes only the value the operator saw: if the leader
// recorded another failover since, nothing is deleted and ErrConflict says so.
func (a *Admin) ClearDamping(ctx context.Context, d DampingRecord) (WriteResult, error) {
	if err := CheckVolumeID("volume", d.Volume); err != nil {
		return WriteResult{}, err
	}
	key := a.keys.DampingVolume(d.Volume)
	if !d.Exists {
		return WriteResult{Key: key}, nil
	}
	resp, err := a.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", d.ModRevision)).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("delete damping "+key, err)
	}
	if !resp.Succeeded {
		return WriteResult{}, fmt.Errorf("clear damping of %s: %w: %s changed since it was shown; nothing deleted, run again", d.Volume, ErrConflict, key)
	}
	res := WriteResult{Key: key, Revision: resp.Header.Revision}
	if prev := resp.Responses[0].GetResponseDeleteRange().GetPrevKvs(); len(prev) == 1 {
		res.Deleted, res.Previous = true, string(prev[0].Value)
	}
	return res, nil
}

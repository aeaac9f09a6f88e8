package admin

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// FailoverRequest is an operator's manual failover of a volume whose owner is
// unhealthy but not dead by the verdict.
type FailoverRequest struct {
	// Volume to move; required.
	Volume string
	// To is the preferred target; "" lets the leader choose the best host.
	To string
	// Reason is shown in status, logs and the page; "" = a default naming the operator.
	Reason string
}

// Failover writes <prefix>/volumes/<vol>/failover. The leader fences the
// owner and force-detaches the volume, as in an automatic failover, and
// removes the key when the move starts. Refused while a move of the volume
// is in flight; a named target must be registered.
func (a *Admin) Failover(ctx context.Context, r FailoverRequest) (WriteResult, error) {
	if err := CheckVolumeID("volume", r.Volume); err != nil {
		return WriteResult{}, err
	}
	if r.To != "" {
		if err := CheckInstanceID("to", r.To); err != nil {
			return WriteResult{}, err
		}
	}
	if r.Reason == "" {
		r.Reason = "manual failover" + a.byline()
	}
	if err := checkReason("reason", r.Reason); err != nil {
		return WriteResult{}, err
	}
	k := a.keys
	journalKey, key := k.JournalVolume(r.Volume), k.VolumeFailover(r.Volume)
	if r.To != "" {
		resp, err := a.cli.Get(ctx, k.Host(r.To), clientv3.WithCountOnly())
		if err != nil {
			return WriteResult{}, etcdErr("read the registration of "+r.To, err)
		}
		if resp.Count == 0 {
			return WriteResult{}, invalid("to %s: not a registered host (no live volfailover registered under %s); registered: %s",
				r.To, k.Hosts(), a.registered(ctx))
		}
	}
	raw, err := json.Marshal(state.FailoverOverride{To: r.To, Reason: r.Reason})
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode failover of %s: %w", r.Volume, err)
	}
	b := string(raw)
	if _, inForce, err := state.ParseFailover(raw, a.now()); err != nil || !inForce {
		return WriteResult{}, fmt.Errorf("failover value %s would not be in force (err %v): not written", b, err)
	}
	resp, err := a.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(journalKey), "=", 0)).
		Then(clientv3.OpPut(key, b)).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("write "+key, err)
	}
	if !resp.Succeeded {
		return WriteResult{}, fmt.Errorf("failover of %s: %w: a move is in progress; wait for it to finish", r.Volume, ErrConflict)
	}
	return WriteResult{Key: key, Value: b, Revision: resp.Header.Revision}, nil
}

// Disarm deletes <prefix>/armed/<volume>: the volume is not failed over
// again until the leader has seen its Postgres answer on its owner anew
// (before re-creating its database, say).
func (a *Admin) Disarm(ctx context.Context, volume string) (WriteResult, error) {
	if err := CheckVolumeID("volume", volume); err != nil {
		return WriteResult{}, err
	}
	key := a.keys.ArmedVolume(volume)
	resp, err := a.cli.Delete(ctx, key)
	if err != nil {
		return WriteResult{}, etcdErr("delete "+key, err)
	}
	res := WriteResult{Key: key, Revision: resp.Header.Revision}
	if resp.Deleted == 0 {
		res.Notes = append(res.Notes, volume+" was not armed")
	}
	return res, nil
}

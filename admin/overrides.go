package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// PauseRequest is a pause an operator asks for.
type PauseRequest struct {
	// Volume is the volume to pause; "" pauses everything.
	Volume string
	// Reason is shown in status and logs; required.
	Reason string
	// For, when positive, ends the pause by itself after this long; 0 = until resumed.
	For time.Duration
}

// WriteResult says what a write did.
type WriteResult struct {
	// Key is the etcd key written or deleted.
	Key string `json:"key"`
	// Value is the value written ("" for a delete).
	Value string `json:"value,omitempty"`
	// Previous is the value the key held before ("" if it did not exist).
	Previous string `json:"previous,omitempty"`
	// Deleted is true when a delete removed an existing key.
	Deleted bool `json:"deleted,omitempty"`
	// Revision is the etcd revision of the write.
	Revision int64 `json:"revision"`
	// Notes are things the operator should know (another pause still in force…).
	Notes []string `json:"notes,omitempty"`
	// Warnings are signs the operator may have meant something else (a
	// volume nobody in the cluster knows); the write was still done.
	Warnings []string `json:"warnings,omitempty"`
}

// Pause writes a global or per-volume pause. The value is checked with
// state.ParsePause before it is written.
func (a *Admin) Pause(ctx context.Context, r PauseRequest) (WriteResult, error) {
	key := a.keys.Pause()
	if r.Volume != "" {
		if err := CheckVolumeID("volume", r.Volume); err != nil {
			return WriteResult{}, err
		}
		key = a.keys.VolumePause(r.Volume)
	}
	if err := checkReason("reason", r.Reason); err != nil {
		return WriteResult{}, err
	}
	if r.For < 0 {
		return WriteResult{}, invalid("for %s: must be positive (or 0 for no end)", r.For)
	}
	now := a.now()
	p := state.PauseOverride{Reason: r.Reason}
	if r.For > 0 {
		// Rounded up to the second so the value reads as plain RFC 3339.
		until := now.Add(r.For).UTC()
		if t := until.Truncate(time.Second); !t.Equal(until) {
			until = t.Add(time.Second)
		}
		p.Until = &until
	}
	b, err := json.Marshal(p)
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode pause for %s: %w", key, err)
	}
	if _, inForce, err := state.ParsePause(b, now); err != nil || !inForce {
		return WriteResult{}, fmt.Errorf("pause value %s would not be in force (err %v): not written", b, err)
	}
	// The reads before the put say whether the cluster knows the volume; a
	// pause of a mistyped ID would otherwise protect nothing, silently.
	ops := []clientv3.Op{clientv3.OpPut(key, string(b), clientv3.WithPrevKV())}
	if r.Volume != "" {
		ops = append(a.knownOps(r.Volume), ops...)
	}
	resp, err := a.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("write pause "+key, err)
	}
	res := WriteResult{Key: key, Value: string(b), Revision: resp.Header.Revision}
	put := resp.Responses[len(ops)-1].GetResponsePut()
	if prev := put.GetPrevKv(); prev != nil {
		res.Previous = string(prev.Value)
		res.Notes = append(res.Notes, "replaced the previous pause "+describe(prev.Value))
	}
	if r.Volume != "" && !a.known(r.Volume, resp) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("volume %s is unknown to the cluster: no journal, history, override, damping record or owners-list entry mentions it; check the ID (the pause was written anyway)", r.Volume))
	}
	return res, nil
}

// knownOps are the reads known looks at, to run first in a Txn.
func (a *Admin) knownOps(volume string) []clientv3.Op {
	k := a.keys
	return []clientv3.Op{
		clientv3.OpGet(k.JournalVolume(volume), clientv3.WithCountOnly()),
		clientv3.OpGet(k.HistoryVolume(volume), clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(k.Volumes()+volume+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(k.DampingVolume(volume), clientv3.WithCountOnly()),
		clientv3.OpGet(k.Owners()),
	}
}

// known reports whether the answers to knownOps (the first responses of
// resp) mention volume anywhere.
func (a *Admin) known(volume string, resp *clientv3.TxnResponse) bool {
	for i := range 4 {
		if resp.Responses[i].GetResponseRange().GetCount() > 0 {
			return true
		}
	}
	if kvs := resp.Responses[4].GetResponseRange().GetKvs(); len(kvs) == 1 {
		owners, err := state.ParseOwners(kvs[0].Value)
		if err != nil {
			return true // unreadable: do not cry wolf about what it might hold
		}
		for _, o := range owners {
			if o.Volume == volume {
				return true
			}
		}
	}
	return false
}

// Resume deletes a global ("" volume) or per-volume pause. Deleting a key
// that is absent is not an error: Deleted says whether one was removed.
func (a *Admin) Resume(ctx context.Context, volume string) (WriteResult, error) {
	key := a.keys.Pause()
	if volume != "" {
		if err := CheckVolumeID("volume", volume); err != nil {
			return WriteResult{}, err
		}
		key = a.keys.VolumePause(volume)
	}
	ops := []clientv3.Op{clientv3.OpDelete(key, clientv3.WithPrevKV())}
	if volume != "" {
		ops = append(ops, clientv3.OpGet(a.keys.Pause()), clientv3.OpGet(a.keys.VolumeSwitchover(volume)))
	} else {
		ops = append(ops, clientv3.OpGet(a.keys.Volumes(), clientv3.WithPrefix(), clientv3.WithKeysOnly()))
	}
	resp, err := a.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("delete pause "+key, err)
	}
	res := WriteResult{Key: key, Revision: resp.Header.Revision}
	del := resp.Responses[0].GetResponseDeleteRange()
	if prev := del.GetPrevKvs(); len(prev) == 1 {
		res.Deleted, res.Previous = true, string(prev[0].Value)
	}
	now := a.now()
	get := func(i int) *clientv3.GetResponse {
		return (*clientv3.GetResponse)(resp.Responses[i].GetResponseRange())
	}
	if volume != "" {
		if kvs := get(1).Kvs; len(kvs) == 1 {
			if _, inForce, err := state.ParsePause(kvs[0].Value, now); err != nil || inForce {
				res.Notes = append(res.Notes, fmt.Sprintf("%s is still paused by the global pause %s", volume, describe(kvs[0].Value)))
			}
		}
		if kvs := get(2).Kvs; len(kvs) == 1 {
			if _, _, err := state.ParseSwitchover(kvs[0].Value, now); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("%s is still paused: its switchover key does not parse: %v", volume, err))
			}
		}
	} else {
		paused := 0
		for _, kv := range get(1).Kvs {
			if _, name, err := a.keys.ParseVolumeKey(string(kv.Key)); err == nil && name == "pause" {
				paused++
			}
		}
		if paused > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%d per-volume pause key(s) remain; see status", paused))
		}
	}
	return res, nil
}

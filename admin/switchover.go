package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// SwitchoverRequest is a planned move an operator asks for.
type SwitchoverRequest struct {
	// Volume to move; required.
	Volume string
	// To is the target instance; it must be registered (a live volfailover
	// runs on it), not marked nofailover, and in the volume's AZ when known.
	To string
	// Reason is shown in status, logs and the page; "" = a default naming the operator.
	Reason string
}

// Switchover writes <prefix>/volumes/<vol>/switchover after checking the
// target against the registry and the volume's AZ. The AZ is taken from, in
// order, an in-flight record, the leader's owners list, the newest history
// record; when none knows it, only the registration is checked. The write is
// a Txn that fails if the target's registration changed or a move of the
// volume started since they were read.
func (a *Admin) Switchover(ctx context.Context, r SwitchoverRequest) (WriteResult, error) {
	if err := CheckVolumeID("volume", r.Volume); err != nil {
		return WriteResult{}, err
	}
	if err := CheckInstanceID("to", r.To); err != nil {
		return WriteResult{}, err
	}
	if r.Reason == "" {
		r.Reason = "planned switchover to " + r.To + a.byline()
	}
	if err := checkReason("reason", r.Reason); err != nil {
		return WriteResult{}, err
	}
	k := a.keys
	hostKey, journalKey, key := k.Host(r.To), k.JournalVolume(r.Volume), k.VolumeSwitchover(r.Volume)
	resp, err := a.cli.Txn(ctx).Then(
		clientv3.OpGet(hostKey),
		clientv3.OpGet(journalKey),
		clientv3.OpGet(k.Owners()),
		clientv3.OpGet(k.HistoryVolume(r.Volume), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(1)),
	).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("read registry and journal for switchover of "+r.Volume, err)
	}
	get := func(i int) *clientv3.GetResponse {
		return (*clientv3.GetResponse)(resp.Responses[i].GetResponseRange())
	}
	hk := get(0).Kvs
	if len(hk) == 0 {
		return WriteResult{}, invalid("to %s: not a registered host (no live volfailover registered under %s); registered: %s",
			r.To, k.Hosts(), a.registered(ctx))
	}
	host, err := k.ParseHost(hk[0])
	if err != nil {
		return WriteResult{}, invalid("to %s: its registration does not parse: %v", r.To, err)
	}
	if host.NoFailover {
		return WriteResult{}, invalid("to %s: marked nofailover; the leader would refuse it", r.To)
	}
	if jk := get(1).Kvs; len(jk) == 1 {
		what := "an unreadable record"
		if rec, err := state.ParseRecord(jk[0].Value, jk[0].CreateRevision); err == nil {
			what = fmt.Sprintf("%s %s at step %s", rec.Kind, rec.ID, rec.Step)
		}
		return WriteResult{}, fmt.Errorf("switchover of %s: %w: a move is in progress (%s); wait for it to finish", r.Volume, ErrConflict, what)
	}
	az, owner, source := "", "", ""
	if ok := get(2).Kvs; len(ok) == 1 {
		if owners, err := state.ParseOwners(ok[0].Value); err == nil {
			for _, o := range owners {
				if o.Volume == r.Volume {
					az, owner, source = o.AZ, o.Instance, "the leader's owners list"
				}
			}
		}
	}
	if hist := get(3).Kvs; az == "" && len(hist) == 1 {
		if rec, err := state.ParseRecord(hist[0].Value, hist[0].CreateRevision); err == nil && rec.AZ != "" {
			az, source = rec.AZ, "history record "+rec.ID
		}
	}
	if owner == r.To {
		return WriteResult{}, invalid("to %s: already the owner of %s", r.To, r.Volume)
	}
	res := WriteResult{Key: key}
	if az == "" {
		res.Notes = append(res.Notes, "the AZ of "+r.Volume+" is not known from etcd: only the registration of "+r.To+" was checked")
	} else if host.AZ != az {
		return WriteResult{}, invalid("to %s: in %s, but %s is in %s (from %s); EBS volumes attach only within their AZ",
			r.To, host.AZ, r.Volume, az, source)
	}
	sw := state.SwitchoverOverride{To: r.To, Reason: r.Reason}
	b, err := json.Marshal(sw)
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode switchover of %s: %w", r.Volume, err)
	}
	if _, inForce, err := state.ParseSwitchover(b, a.now()); err != nil || !inForce {
		return WriteResult{}, fmt.Errorf("switchover value %s would not be in force (err %v): not written", b, err)
	}
	w, err := a.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(hostKey), "=", hk[0].ModRevision),
		clientv3.Compare(clientv3.CreateRevision(journalKey), "=", 0),
	).Then(clientv3.OpPut(key, string(b), clientv3.WithPrevKV())).Commit()
	if err != nil {
		return WriteResult{}, etcdErr("write switchover "+key, err)
	}
	if !w.Succeeded {
		return WriteResult{}, fmt.Errorf("write switchover %s: %w: the registration of %s or the journal of %s changed meanwhile; nothing written, check status and retry",
			key, ErrConflict, r.To, r.Volume)
	}
	res.Value, res.Revision = string(b), w.Header.Revision
	if prev := w.Responses[0].GetResponsePut().GetPrevKv(); prev != nil {
		res.Previous = string(prev.Value)
		res.Notes = append(res.Notes, "replaced the previous request "+describe(prev.Value))
	}
	return res, nil
}

// registered lists the registered instances for an error message.
func (a *Admin) registered(ctx context.Context) string {
	resp, err := a.cli.Get(ctx, a.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return "(registry unreadable: " + err.Error() + ")"
	}
	var ids []string
	for _, kv := range resp.Kvs {
		ids = append(ids, string(kv.Key[len(a.keys.Hosts()):]))
	}
	if len(ids) == 0 {
		return "none"
	}
	sort.Strings(ids)
	return fmt.Sprint(ids)
}

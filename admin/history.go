package admin

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// History is the completed (and dry-run) records, oldest first per volume,
// plus any that do not parse.
type History struct {
	Records    []state.Record `json:"records"`
	Unreadable []BadKey       `json:"unreadable"`
}

// History lists the history of one volume, or of all ("" volume).
func (a *Admin) History(ctx context.Context, volume string) (*History, error) {
	prefix := a.keys.History()
	if volume != "" {
		if err := CheckVolumeID("volume", volume); err != nil {
			return nil, err
		}
		prefix = a.keys.HistoryVolume(volume)
	}
	resp, err := a.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, etcdErr("read history under "+prefix, err)
	}
	h := &History{Records: []state.Record{}, Unreadable: []BadKey{}}
	for _, kv := range resp.Kvs {
		rec, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		if err != nil {
			h.Unreadable = append(h.Unreadable, badKey(kv.Key, kv.Value, err))
			continue
		}
		h.Records = append(h.Records, *rec)
	}
	return h, nil
}

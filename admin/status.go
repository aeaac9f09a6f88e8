package admin

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/state"
)

// Status is everything etcd says about volfailover at one revision. It is
// the `status --json` document; fields are added, never renamed.
type Status struct {
	Time     time.Time `json:"time"`
	Prefix   string    `json:"prefix"`
	Revision int64     `json:"revision"`
	// Leader is nil when no instance holds the election: nothing acts.
	Leader     *Leader         `json:"leader"`
	Hosts      []state.Host    `json:"hosts"`
	Volumes    []VolumeStatus  `json:"volumes"`
	Overrides  []Override      `json:"overrides"`
	InFlight   []state.Record  `json:"inFlight"`
	LastMoves  []state.Record  `json:"lastMoves"`
	Damping    []DampingStatus `json:"damping"`
	Unreadable []BadKey        `json:"unreadable"`
	// Versions groups the registered hosts by volfailover version, the most
	// common first. More than one entry means a rolling upgrade is under way
	// (or stalled), and MixedVersions says so for scripts and alerts.
	Versions      []VersionCount `json:"versions"`
	MixedVersions bool           `json:"mixedVersions"`
}

// VersionCount is how many registered hosts run one version.
type VersionCount struct {
	// Version is what the host registered; "unknown" for a host that
	// registered none (a build older than the field).
	Version string   `json:"version"`
	Hosts   []string `json:"hosts"`
}

// Leader is the holder of the election key.
type Leader struct {
	Instance string `json:"instance"`
	Key      string `json:"key"`
}

// VolumeStatus is one volume as etcd knows it (the leader's owners list, the
// overrides, the journal and the history).
type VolumeStatus struct {
	Volume string `json:"volume"`
	Owner  string `json:"owner,omitempty"`
	AZ     string `json:"az,omitempty"`
	// Paused is why the leader leaves the volume alone ("" = not paused).
	Paused string `json:"paused,omitempty"`
	// SwitchoverTo is a pending planned switchover's target.
	SwitchoverTo string `json:"switchoverTo,omitempty"`
	// Moving is the step of an in-flight move ("" = none).
	Moving string `json:"moving,omitempty"`
	// Witnesses are the reports on the owner.
	Witnesses []state.Report `json:"witnesses,omitempty"`
}

// Override is one override key and how the leader reads it.
type Override struct {
	Key    string `json:"key"`
	Volume string `json:"volume,omitempty"` // "" = global
	Kind   string `json:"kind"`             // pause | switchover | the unknown name
	// State is "active", "expired" or "malformed" (a malformed value pauses what it names).
	State  string     `json:"state"`
	Reason string     `json:"reason,omitempty"`
	To     string     `json:"to,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Error  string     `json:"error,omitempty"`
	Value  string     `json:"value"`
}

// Override states.
const (
	StateActive    = "active"
	StateExpired   = "expired"
	StateMalformed = "malformed"
)

// DampingStatus lists a volume's recent automatic failovers (flap damping).
type DampingStatus struct {
	Volume    string      `json:"volume"`
	Failovers []time.Time `json:"failovers"`
}

// BadKey is a value that does not parse.
type BadKey struct {
	Key   string `json:"key"`
	Error string `json:"error"`
	// Value is the start of the raw value (up to MaxBadValue bytes), so an
	// operator can read what is wrong without etcdctl.
	Value string `json:"value,omitempty"`
}

// MaxBadValue bounds the raw value BadKey keeps.
const MaxBadValue = 4096

// badKey describes a value that does not parse.
func badKey(key, value []byte, err error) BadKey {
	if len(value) > MaxBadValue {
		value = value[:MaxBadValue]
	}
	return BadKey{Key: string(key), Error: err.Error(), Value: strings.ToValidUTF8(string(value), "?")}
}

// Status reads everything in one Txn, so the snapshot is consistent.
func (a *Admin) Status(ctx context.Context) (*Status, error) {
	k := a.keys
	resp, err := a.cli.Txn(ctx).Then(
		clientv3.OpGet(k.Election()+"/", clientv3.WithFirstCreate()...),
		clientv3.OpGet(k.Hosts(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Owners()),
		clientv3.OpGet(k.Witness(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Pause()),
		clientv3.OpGet(k.Volumes(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Journal(), clientv3.WithPrefix()),
		clientv3.OpGet(k.History(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Damping(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, etcdErr("read status from etcd", err)
	}
	get := func(i int) []*mvccpb.KeyValue {
		return resp.Responses[i].GetResponseRange().Kvs
	}
	now := a.now()
	s := &Status{Time: now.UTC(), Prefix: k.Prefix, Revision: resp.Header.Revision,
		Hosts: []state.Host{}, Volumes: []VolumeStatus{}, Overrides: []Override{},
		InFlight: []state.Record{}, LastMoves: []state.Record{}, Damping: []DampingStatus{}, Unreadable: []BadKey{},
		Versions: []VersionCount{}}
	bad := func(kv *mvccpb.KeyValue, err error) {
		s.Unreadable = append(s.Unreadable, badKey(kv.Key, kv.Value, err))
	}

	if kvs := get(0); len(kvs) == 1 {
		s.Leader = &Leader{Instance: string(kvs[0].Value), Key: string(kvs[0].Key)}
	}
	for _, kv := range get(1) {
		h, err := k.ParseHost(kv)
		if err != nil {
			bad(kv, err)
			continue
		}
		s.Hosts = append(s.Hosts, h)
	}
	s.Versions = versions(s.Hosts)
	s.MixedVersions = len(s.Versions) > 1
	vols := map[string]*VolumeStatus{}
	vol := func(id string) *VolumeStatus {
		if v, ok := vols[id]; ok {
			return v
		}
		vols[id] = &VolumeStatus{Volume: id}
		return vols[id]
	}
	if kvs := get(2); len(kvs) == 1 {
		owners, err := state.ParseOwners(kvs[0].Value)
		if err != nil {
			bad(kvs[0], err)
		}
		for _, o := range owners {
			v := vol(o.Volume)
			v.Owner, v.AZ = o.Instance, o.AZ
		}
	}
	reports := map[string][]state.Report{}
	for _, kv := range get(3) {
		r, err := k.ParseReport(kv)
		if err != nil {
			bad(kv, err)
			continue
		}
		reports[r.Owner] = append(reports[r.Owner], r)
	}
	var global *mvccpb.KeyValue
	if kvs := get(4); len(kvs) == 1 {
		global = kvs[0]
		s.Overrides = append(s.Overrides, a.override(kvs[0], "", "pause", now))
	}
	for _, kv := range get(5) {
		v, name, err := k.ParseVolumeKey(string(kv.Key))
		if err == nil && state.WrittenByVolfailover(name) {
			continue // the published primary and its hook outcome are no overrides
		}
		o := a.override(kv, v, name, now)
		if err != nil {
			o.State, o.Error = StateMalformed, err.Error()
		}
		if v != "" {
			vol(v)
		}
		s.Overrides = append(s.Overrides, o)
	}
	ov := k.ParseOverrides(global, get(5), now)
	for _, kv := range get(6) {
		rec, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		if err != nil {
			bad(kv, err)
			continue
		}
		s.InFlight = append(s.InFlight, *rec)
		vol(rec.Volume).Moving = string(rec.Step)
	}
	last := map[string]state.Record{}
	for _, kv := range get(7) {
		rec, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		if err != nil {
			bad(kv, err)
			continue
		}
		if prev, ok := last[rec.Volume]; !ok || rec.ID > prev.ID {
			last[rec.Volume] = *rec
		}
	}
	for _, rec := range last {
		s.LastMoves = append(s.LastMoves, rec)
		v := vol(rec.Volume)
		if v.AZ == "" {
			v.AZ = rec.AZ
		}
	}
	sort.Slice(s.LastMoves, func(i, j int) bool { return s.LastMoves[i].ID > s.LastMoves[j].ID })
	for _, kv := range get(8) {
		d, err := state.ParseDamping(kv.Value)
		if err != nil {
			bad(kv, err)
			continue
		}
		s.Damping = append(s.Damping, DampingStatus{Volume: strings.TrimPrefix(string(kv.Key), k.Damping()), Failovers: d.Failovers})
	}
	for id, v := range vols {
		v.Paused = ov.PausedReason(id)
		if sw, ok := ov.Switchovers[id]; ok {
			v.SwitchoverTo = sw.To
		}
		if v.Owner != "" {
			v.Witnesses = reports[v.Owner]
			sort.Slice(v.Witnesses, func(i, j int) bool { return v.Witnesses[i].Witness < v.Witnesses[j].Witness })
		}
		s.Volumes = append(s.Volumes, *v)
	}
	sort.Slice(s.Volumes, func(i, j int) bool { return s.Volumes[i].Volume < s.Volumes[j].Volume })
	return s, nil
}

// override describes one override key as the leader reads it.
func (a *Admin) override(kv *mvccpb.KeyValue, volume, name string, now time.Time) Override {
	o := Override{Key: string(kv.Key), Volume: volume, Kind: name, Value: string(kv.Value)}
	var inForce bool
	var err error
	switch name {
	case "pause":
		var p state.PauseOverride
		p, inForce, err = state.ParsePause(kv.Value, now)
		o.Reason, o.Until = p.Reason, p.Until
	case "switchover":
		var sw state.SwitchoverOverride
		sw, inForce, err = state.ParseSwitchover(kv.Value, now)
		o.Reason, o.To, o.Until = sw.Reason, sw.To, sw.Until
	case "failover":
		var f state.FailoverOverride
		f, inForce, err = state.ParseFailover(kv.Value, now)
		o.Reason, o.To, o.Until = f.Reason, f.To, f.Until
	default:
		err = fmt.Errorf("unknown override %q (want pause, switchover or failover)", name)
	}
	switch {
	case err != nil:
		o.State, o.Error = StateMalformed, err.Error()
	case inForce:
		o.State = StateActive
	default:
		o.State = StateExpired
	}
	return o
}

// UnknownVersion stands for a registration without a version.
const UnknownVersion = "unknown"

// versions groups the hosts by the version they registered, the most common
// first (ties by version), so a rolling upgrade shows how far it got.
func versions(hosts []state.Host) []VersionCount {
	by := map[string][]string{}
	for _, h := range hosts {
		v := h.Version
		if v == "" {
			v = UnknownVersion
		}
		by[v] = append(by[v], h.Instance)
	}
	out := make([]VersionCount, 0, len(by))
	for v, ids := range by {
		sort.Strings(ids)
		out = append(out, VersionCount{Version: v, Hosts: ids})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Hosts) != len(out[j].Hosts) {
			return len(out[i].Hosts) > len(out[j].Hosts)
		}
		return out[i].Version < out[j].Version
	})
	return out
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// snapshot is one round's view of the world, read in one batch: one guarded
// etcd transaction (registry, witness reports, overrides, journals, damping,
// owners), one listing of managed volumes, one describe of the instances that
// matter, one fleet machine list.
type snapshot struct {
	now         time.Time
	hosts       map[string]state.Host
	reports     map[string][]state.Report // owner → reports
	ov          state.Overrides
	journals    map[string]*state.Record
	badJournals map[string]error
	damping     map[string]state.Damping
	badDamping  map[string]error
	prevOwners  map[string]state.Owner
	ownersRaw   string
	volumes     []awsops.Volume
	instances   map[string]awsops.Instance
	machines    map[string]fleet.Machine
	fleetOK     bool
	fleetErr    error
	// byMetadata is metadata value → IDs (sorted) of the machines carrying it
	// under the metadata key, built once per round.
	byMetadata map[string][]string
	// reserved is target instance → volume of every unfinished move: the
	// journal's records as read, and the moves this round planned since. A
	// host takes at most one volume, so a reserved host is no target for another.
	reserved map[string]string
}

// reserve records that instance is the target of volume's move.
func (s *snapshot) reserve(instance, volume string) {
	if instance != "" {
		s.reserved[instance] = volume
	}
}

func (l *leader) read(ctx context.Context) (*snapshot, error) {
	// The etcd transaction, the volume listing and the fleet machine list do not
	// depend on each other and run together; the instance describe needs the
	// first two (registered hosts, attachments, journal endpoints) and follows.
	var (
		wg       sync.WaitGroup
		resp     *clientv3.TxnResponse
		etcdErr  error
		vols     []awsops.Volume
		volsErr  error
		machines []fleet.Machine
		fleetErr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		resp, etcdErr = l.readEtcd(ctx)
	}()
	go func() {
		defer wg.Done()
		if vols, volsErr = l.c.ec2.ManagedVolumes(ctx); volsErr != nil {
			volsErr = fmt.Errorf("list managed volumes: %w", volsErr)
		}
	}()
	go func() {
		defer wg.Done()
		machines, fleetErr = l.c.fleet.Machines(ctx)
	}()
	wg.Wait()
	if err := errors.Join(etcdErr, volsErr); err != nil {
		return nil, err
	}
	k := l.c.keys
	s := &snapshot{
		now:         l.c.clk.Now(),
		hosts:       map[string]state.Host{},
		reports:     map[string][]state.Report{},
		journals:    map[string]*state.Record{},
		badJournals: map[string]error{},
		damping:     map[string]state.Damping{},
		badDamping:  map[string]error{},
		prevOwners:  map[string]state.Owner{},
		machines:    map[string]fleet.Machine{},
		byMetadata:  map[string][]string{},
		reserved:    map[string]string{},
	}
	r := func(i int) *clientv3.GetResponse {
		return (*clientv3.GetResponse)(resp.Responses[i].GetResponseRange())
	}
	for _, kv := range r(0).Kvs {
		h, err := k.ParseHost(kv)
		if err != nil {
			l.log.Warn().Err(err).Msg("ignoring registry entry")
			continue
		}
		s.hosts[h.Instance] = h
	}
	for _, kv := range r(1).Kvs {
		rep, err := k.ParseReport(kv)
		if err != nil {
			l.log.Warn().Err(err).Str("key", string(kv.Key)).Msg("ignoring witness report")
			continue
		}
		s.reports[rep.Owner] = append(s.reports[rep.Owner], rep)
	}
	var global = r(2).Kvs
	if len(global) == 1 {
		s.ov = k.ParseOverrides(global[0], r(3).Kvs, s.now)
	} else {
		s.ov = k.ParseOverrides(nil, r(3).Kvs, s.now)
	}
	for _, kv := range r(4).Kvs {
		vol := string(kv.Key[len(k.Journal()):])
		rec, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		if err == nil && rec.Volume != vol {
			err = fmt.Errorf("journal key %s holds a record of %s", kv.Key, rec.Volume)
		}
		if err != nil {
			s.badJournals[vol] = err
			continue
		}
		s.journals[vol] = rec
		if rec.Step != state.StepDone && !rec.DryRun {
			s.reserve(rec.To.Instance, vol)
		}
	}
	for _, kv := range r(5).Kvs {
		vol := string(kv.Key[len(k.Damping()):])
		d, err := state.ParseDamping(kv.Value)
		if err != nil {
			s.badDamping[vol] = err
			continue
		}
		s.damping[vol] = d
	}
	if kvs := r(6).Kvs; len(kvs) == 1 {
		s.ownersRaw = string(kvs[0].Value)
		if owners, err := state.ParseOwners(kvs[0].Value); err == nil {
			for _, o := range owners {
				s.prevOwners[o.Instance] = o
			}
		}
	}

	sort.Slice(vols, func(i, j int) bool { return vols[i].ID < vols[j].ID })
	s.volumes = vols
	ids := map[string]bool{}
	for _, v := range vols {
		for _, a := range v.Attachments {
			ids[a.InstanceID] = true
		}
	}
	for id := range s.hosts {
		ids[id] = true
	}
	for _, rec := range s.journals {
		ids[rec.To.Instance] = true
		if rec.From.Instance != "" {
			ids[rec.From.Instance] = true
		}
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	s.instances = map[string]awsops.Instance{}
	if len(list) > 0 {
		var err error
		if s.instances, err = l.c.ec2.Instances(ctx, list); err != nil {
			return nil, fmt.Errorf("describe %d instances: %w", len(list), err)
		}
	}
	if fleetErr != nil {
		s.fleetErr = fleetErr
	} else {
		s.fleetOK = true
		key := l.c.o.MetadataKey
		for _, m := range machines {
			s.machines[m.ID] = m
			if v, ok := m.Metadata[key]; ok {
				s.byMetadata[v] = append(s.byMetadata[v], m.ID)
			}
		}
		for _, ms := range s.byMetadata {
			sort.Strings(ms)
		}
	}
	return s, nil
}

// readEtcd is the round's one guarded etcd transaction.
func (l *leader) readEtcd(ctx context.Context) (*clientv3.TxnResponse, error) {
	k := l.c.keys
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(
		clientv3.OpGet(k.Hosts(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Witness(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Pause()),
		clientv3.OpGet(k.Volumes(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Journal(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Damping(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Owners()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("read etcd state (nobody acts while etcd is unhealthy): %w", err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("read etcd state: %w", errNotLeader)
	}
	return resp, nil
}

// machineOf finds the fleet machine of an instance: its registration, the
// previously published owners list, or a live machine with its private IP.
func (s *snapshot) machineOf(instance string) string {
	if h, ok := s.hosts[instance]; ok {
		return h.Machine
	}
	if o, ok := s.prevOwners[instance]; ok && o.Machine != "" {
		return o.Machine
	}
	if inst, ok := s.instances[instance]; ok && inst.PrivateIP != "" {
		for _, m := range s.machines {
			if m.PrimaryIP == inst.PrivateIP {
				return m.ID
			}
		}
	}
	return ""
}

// currentOwner is the instance a volume is attached to; moving is true while an
// attachment is only detaching (the volume is between owners).
func currentOwner(v awsops.Volume) (owner string, moving bool, err error) {
	var live []awsops.Attachment
	for _, a := range v.Attachments {
		switch a.State {
		case "detached":
		case "detaching":
			moving = true
		default:
			live = append(live, a)
		}
	}
	switch len(live) {
	case 0:
		return "", moving, nil
	case 1:
		return live[0].InstanceID, false, nil
	default:
		return "", false, fmt.Errorf("volume %s has %d live attachments", v.ID, len(live))
	}
}

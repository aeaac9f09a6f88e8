package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

// snapshot is one round's view of the world, read in one batch: one guarded
// etcd transaction (registry, witness reports, overrides, journals, damping,
// owners, clean-shutdown records, and the ranges where no key belongs), one
// listing of managed volumes, one describe of the instances that matter, one
// fleet machine list and unit list. It is plain data: the planner reads it
// and nothing changes it once read.
type snapshot struct {
	now         time.Time
	keys        state.Keys
	hosts       map[string]state.Host
	departed    map[string]state.Departed
	armed       map[string]state.Armed
	primaries   map[string]state.Primary
	reports     map[string][]state.Report // owner → reports
	ov          state.Overrides
	unknownKeys []string
	journals    map[string]*state.Record
	badJournals map[string]error
	damping     map[string]state.Damping
	badDamping  map[string]error
	prevOwners  map[string]state.Owner
	ownersRaw   string
	// owners are the hosts holding a managed volume this round (ownersOf).
	owners    map[string]state.Owner
	volumes   []awsops.Volume
	instances map[string]awsops.Instance
	machines  map[string]fleet.Machine
	fleetOK   bool
	units     map[string]fleet.Unit
	unitsOK   bool
	// byMetadata is metadata value → IDs (sorted) of the machines carrying it
	// under the metadata key, built once per round.
	byMetadata map[string][]string
	// reserved is target instance → volume of every unfinished move in the
	// journal: a host takes at most one volume, so a reserved host is no
	// target for another.
	reserved map[string]string
}

// etcdRead is the round's etcd transaction, each result by name.
type etcdRead struct {
	hosts, departed, armed, witness, pause, volumes, journal, damping, owners []*mvccpb.KeyValue
	unknown                                                                   [][]*mvccpb.KeyValue
}

// fleetRead is the round's fleet view; a failed list leaves its part unknown.
type fleetRead struct {
	machines []fleet.Machine
	units    []fleet.Unit
	mErr     error
	uErr     error
}

func (l *leader) read(ctx context.Context) (*snapshot, error) {
	// The etcd transaction, the volume listing and the fleet lists do not
	// depend on each other and run together; the instance describe needs the
	// first two (registered hosts, attachments, journal endpoints) and follows.
	var (
		wg      sync.WaitGroup
		er      etcdRead
		etcdErr error
		vols    []awsops.Volume
		volsErr error
		fr      fleetRead
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		er, etcdErr = l.readEtcd(ctx)
	}()
	go func() {
		defer wg.Done()
		if vols, volsErr = l.c.ec2.ManagedVolumes(ctx); volsErr != nil {
			volsErr = fmt.Errorf("list managed volumes: %w", volsErr)
		}
	}()
	go func() {
		defer wg.Done()
		fr = l.readFleet(ctx)
	}()
	wg.Wait()
	if err := errors.Join(etcdErr, volsErr); err != nil {
		return nil, err
	}
	s := newSnapshot(l.c.clk.Now(), l.c.keys)
	s.fromEtcd(er, l.log)
	sort.Slice(vols, func(i, j int) bool { return vols[i].ID < vols[j].ID })
	s.volumes = vols
	if ids := s.instanceIDs(); len(ids) > 0 {
		insts, err := l.c.ec2.Instances(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("describe %d instances: %w", len(ids), err)
		}
		s.instances = insts
	}
	s.fromFleet(fr, l.c.o.MetadataKey, l.log)
	return s, nil
}

func newSnapshot(now time.Time, k state.Keys) *snapshot {
	return &snapshot{
		now: now, keys: k,
		hosts: map[string]state.Host{}, departed: map[string]state.Departed{}, armed: map[string]state.Armed{},
		primaries: map[string]state.Primary{},
		reports:   map[string][]state.Report{},
		journals:  map[string]*state.Record{}, badJournals: map[string]error{},
		damping: map[string]state.Damping{}, badDamping: map[string]error{},
		prevOwners: map[string]state.Owner{}, instances: map[string]awsops.Instance{},
		machines: map[string]fleet.Machine{}, units: map[string]fleet.Unit{},
		byMetadata: map[string][]string{}, reserved: map[string]string{},
	}
}

// readEtcd is the round's one guarded etcd transaction. Each read names where
// its result goes, so reordering the reads cannot misplace a result.
func (l *leader) readEtcd(ctx context.Context) (etcdRead, error) {
	k := l.c.keys
	var er etcdRead
	reads := []struct {
		dst *[]*mvccpb.KeyValue
		op  clientv3.Op
	}{
		{&er.hosts, clientv3.OpGet(k.Hosts(), clientv3.WithPrefix())},
		{&er.departed, clientv3.OpGet(k.Departed(), clientv3.WithPrefix())},
		{&er.armed, clientv3.OpGet(k.Armed(), clientv3.WithPrefix())},
		{&er.witness, clientv3.OpGet(k.Witness(), clientv3.WithPrefix())},
		{&er.pause, clientv3.OpGet(k.Pause())},
		{&er.volumes, clientv3.OpGet(k.Volumes(), clientv3.WithPrefix())},
		{&er.journal, clientv3.OpGet(k.Journal(), clientv3.WithPrefix())},
		{&er.damping, clientv3.OpGet(k.Damping(), clientv3.WithPrefix())},
		{&er.owners, clientv3.OpGet(k.Owners())},
	}
	gaps := k.Unknown()
	er.unknown = make([][]*mvccpb.KeyValue, len(gaps))
	for i, g := range gaps {
		reads = append(reads, struct {
			dst *[]*mvccpb.KeyValue
			op  clientv3.Op
		}{&er.unknown[i], clientv3.OpGet(g.Start, clientv3.WithRange(g.End), clientv3.WithKeysOnly(), clientv3.WithLimit(unknownKeysLimit))})
	}
	ops := make([]clientv3.Op, len(reads))
	for i, r := range reads {
		ops[i] = r.op
	}
	resp, err := l.c.cli.Txn(ctx).If(l.guard).Then(ops...).Commit()
	if err != nil {
		return er, fmt.Errorf("read etcd state (nobody acts while etcd is unhealthy): %w", err)
	}
	if !resp.Succeeded {
		return er, fmt.Errorf("read etcd state: %w", errNotLeader)
	}
	for i, r := range reads {
		*r.dst = resp.Responses[i].GetResponseRange().Kvs
	}
	return er, nil
}

// unknownKeysLimit bounds how many stray keys of one range a round reports.
const unknownKeysLimit = 20

// fromEtcd parses the etcd read with the state package's parsers.
func (s *snapshot) fromEtcd(er etcdRead, log zerolog.Logger) {
	k := s.keys
	for _, kv := range er.hosts {
		h, err := k.ParseHost(kv)
		if err != nil {
			log.Warn().Err(err).Msg("ignoring registry entry")
			continue
		}
		s.hosts[h.Instance] = h
	}
	for _, kv := range er.departed {
		if d, err := k.ParseDeparted(kv); err == nil {
			s.departed[d.Instance] = d
		}
	}
	s.fromArmed(er.armed, log)
	for _, kv := range er.witness {
		rep, err := k.ParseReport(kv)
		if err != nil {
			log.Warn().Err(err).Str("key", string(kv.Key)).Msg("ignoring witness report")
			continue
		}
		s.reports[rep.Owner] = append(s.reports[rep.Owner], rep)
	}
	var global *mvccpb.KeyValue
	if len(er.pause) == 1 {
		global = er.pause[0]
	}
	s.ov = k.ParseOverrides(global, er.volumes, s.now)
	s.fromPrimaries(er.volumes)
	for _, kvs := range er.unknown {
		for _, kv := range kvs {
			s.unknownKeys = append(s.unknownKeys, string(kv.Key))
		}
	}
	s.fromJournal(er.journal)
	for _, kv := range er.damping {
		vol := string(kv.Key[len(k.Damping()):])
		d, err := state.ParseDamping(kv.Value)
		if err != nil {
			s.badDamping[vol] = err
			continue
		}
		s.damping[vol] = d
	}
	if len(er.owners) == 1 {
		s.ownersRaw = string(er.owners[0].Value)
		if owners, err := state.ParseOwners(er.owners[0].Value); err == nil {
			for _, o := range owners {
				s.prevOwners[o.Instance] = o
			}
		}
	}
}

// fromArmed keeps the arming records; one that does not parse leaves its
// volume unarmed, the safe side.
func (s *snapshot) fromArmed(kvs []*mvccpb.KeyValue, log zerolog.Logger) {
	for _, kv := range kvs {
		a, err := s.keys.ParseArmed(kv)
		if err != nil {
			log.Warn().Err(err).Msg("ignoring arming record: the volume counts as unarmed")
			continue
		}
		s.armed[a.Volume] = a
	}
}

// fromPrimaries keeps the published primaries found among the volume keys.
func (s *snapshot) fromPrimaries(kvs []*mvccpb.KeyValue) {
	for _, kv := range kvs {
		if strings.HasSuffix(string(kv.Key), "/primary") {
			if p, err := s.keys.ParsePrimary(kv); err == nil {
				s.primaries[p.Volume] = p
			}
		}
	}
}

func (s *snapshot) fromJournal(kvs []*mvccpb.KeyValue) {
	for _, kv := range kvs {
		vol := string(kv.Key[len(s.keys.Journal()):])
		rec, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		if err == nil && rec.Volume != vol {
			err = fmt.Errorf("journal key %s holds a record of %s", kv.Key, rec.Volume)
		}
		if err != nil {
			s.badJournals[vol] = err
			continue
		}
		s.journals[vol] = rec
		if rec.Step != state.StepDone && !rec.DryRun && rec.To.Instance != "" {
			s.reserved[rec.To.Instance] = vol
		}
	}
}

// instanceIDs are the instances the round describes: every attachment, every
// registered host and both ends of every move, sorted.
func (s *snapshot) instanceIDs() []string {
	ids := map[string]bool{}
	for _, v := range s.volumes {
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
	return sortedKeys(ids)
}

// readFleet lists fleet's machines and units together.
func (l *leader) readFleet(ctx context.Context) fleetRead {
	var fr fleetRead
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fr.units, fr.uErr = l.c.fleet.Units(ctx)
	}()
	fr.machines, fr.mErr = l.c.fleet.Machines(ctx)
	wg.Wait()
	return fr
}

// fromFleet keeps the fleet lists that could be read.
func (s *snapshot) fromFleet(fr fleetRead, metadataKey string, log zerolog.Logger) {
	if fr.mErr != nil {
		log.Warn().Err(fr.mErr).Msg("fleet machines not listed this round")
	} else {
		s.fleetOK = true
		for _, m := range fr.machines {
			s.machines[m.ID] = m
			if v, ok := m.Metadata[metadataKey]; ok {
				s.byMetadata[v] = append(s.byMetadata[v], m.ID)
			}
		}
		for _, ms := range s.byMetadata {
			sort.Strings(ms)
		}
	}
	if fr.uErr != nil {
		log.Warn().Err(fr.uErr).Msg("fleet units not listed this round")
		return
	}
	s.unitsOK = true
	for _, u := range fr.units {
		s.units[u.Name] = u
	}
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

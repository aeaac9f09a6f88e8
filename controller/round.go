package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// Volume tags stamped by a failover.
const (
	TagEpoch      = "volfailover:epoch"
	TagFailoverID = "volfailover:failover-id"
)

// reconcile is one leader round: read the world once, probe the owners,
// judge them, plan, apply. Reports of the term's goroutines are taken in
// before the read, so the plan never resumes a move from a stale copy.
func (l *leader) reconcile(ctx context.Context) error {
	l.t.drain()
	s, err := l.read(ctx)
	if err != nil {
		return err
	}
	if l.t.lastOwners == nil {
		l.t.lastOwners = s.prevOwners
	}
	s.owners = ownersOf(s, l.t.lastOwners)
	probes := l.probe(ctx, s.owners)
	assess(l.t, s, probes, l.c.policy, l.c.o.InstanceID)
	l.c.setVerdicts(l.t.verdicts)
	l.observe(s)
	err = l.apply(ctx, plan(s, l.t, l.c.o, s.now))
	l.t.lastOwners = s.owners
	return err
}

// ownersOf lists the hosts holding a managed volume, with what witnesses need
// to probe them. The health URL of an owner whose registration lapsed is kept
// from the last list, so witnesses can still tell a host whose agent lost
// etcd (it answers) from a dead one (it does not).
func ownersOf(s *snapshot, last map[string]state.Owner) map[string]state.Owner {
	owners := map[string]state.Owner{}
	for _, v := range s.volumes {
		owner, _, err := currentOwner(v)
		if err != nil || owner == "" {
			continue
		}
		o := state.Owner{Instance: owner, AZ: v.AvailabilityZone, Volume: v.ID, Machine: s.machineOf(owner)}
		if inst, ok := s.instances[owner]; ok {
			o.PrivateIP = inst.PrivateIP
		}
		if h, ok := s.hosts[owner]; ok {
			if o.PrivateIP == "" {
				o.PrivateIP = h.PrivateIP
			}
			o.HealthURL = h.HealthURL
		} else if prev, ok := last[owner]; ok {
			o.HealthURL = prev.HealthURL
		}
		owners[owner] = o
	}
	return owners
}

// probe runs the leader's own probe of every owner, all at once.
func (l *leader) probe(ctx context.Context, owners map[string]state.Owner) map[string]error {
	out := make(map[string]error, len(owners))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, o := range owners {
		if o.PrivateIP == "" {
			out[o.Instance] = fmt.Errorf("no private IP known for %s", o.Instance)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if l.c.o.leaderProbe != nil {
				err = l.c.o.leaderProbe(o)
			} else {
				err = l.c.probeOwner(ctx, o, o.HealthURL)
			}
			mu.Lock()
			out[o.Instance] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// assess turns the round's probes and the snapshot into a verdict on every
// owner, keeping the term's counters. It does no I/O: counters and verdicts
// are about owners, so a host that no longer owns a volume loses its history
// (a revived former owner is a perfectly good target, and must not carry a
// stale "dead" into its next spell as an owner).
func assess(t *term, s *snapshot, probes map[string]error, policy health.Policy, leaderID string) {
	for _, m := range []map[string]int{t.failures, t.impaired} {
		for id := range m {
			if _, ok := s.owners[id]; !ok {
				delete(m, id)
			}
		}
	}
	for id := range t.logged {
		if _, ok := s.owners[id]; !ok {
			delete(t.logged, id)
		}
	}
	for id, err := range probes {
		if err != nil {
			t.failures[id]++
		} else {
			t.failures[id] = 0
		}
	}
	list := make([]state.Owner, 0, len(s.owners))
	for _, o := range s.owners {
		list = append(list, o)
	}
	witnesses := t.witnesses.assign(list, witnessPool(s.hosts, leaderID))
	t.verdicts = make(map[string]health.Result, len(s.owners))
	for id, o := range s.owners {
		if _, ok := s.hosts[id]; ok {
			t.seen[id] = true
		}
		if inst, ok := s.instances[id]; ok && (inst.InstanceStatus == "impaired" || inst.SystemStatus == "impaired") {
			t.impaired[id]++
		} else {
			t.impaired[id] = 0
		}
		t.verdicts[id] = policy.Decide(s.now, observation(t, s, o, witnesses[id]))
	}
	for id, res := range t.verdicts {
		if res.Verdict != health.VerdictSuspect {
			delete(t.suspectSince, id)
		} else if _, ok := t.suspectSince[id]; !ok {
			t.suspectSince[id] = s.now
		}
	}
	for id := range t.suspectSince {
		if _, ok := t.verdicts[id]; !ok {
			delete(t.suspectSince, id)
		}
	}
}

// witnessPool is the hosts a witness may be chosen from: every live host but
// the leader. The leader's own probes are one signal already; its report as
// a witness would let a leader that alone cannot reach a healthy owner agree
// with itself (in a two-host AZ, it would be the only witness). The owner
// itself is left out by the choice.
func witnessPool(hosts map[string]state.Host, leaderID string) map[string]state.Host {
	if _, ok := hosts[leaderID]; !ok || leaderID == "" {
		return hosts
	}
	pool := make(map[string]state.Host, len(hosts)-1)
	for id, h := range hosts {
		if id != leaderID {
			pool[id] = h
		}
	}
	return pool
}

// observation is what the policy sees of one owner this round.
func observation(t *term, s *snapshot, o state.Owner, witnesses []string) health.Observation {
	id := o.Instance
	obs := health.Observation{
		ProbeFailures:     t.failures[id],
		ImpairedReadings:  t.impaired[id],
		Registered:        t.seen[id],
		WitnessesAssigned: len(witnesses),
		EtcdHealthy:       true, // the guarded read of this round succeeded
	}
	_, obs.LeaseAlive = s.hosts[id]
	_, obs.LeaseRevoked = s.departed[id]
	if inst, ok := s.instances[id]; ok {
		obs.EC2Known = true
		obs.EC2State, obs.InstanceStatus, obs.SystemStatus = inst.State, inst.InstanceStatus, inst.SystemStatus
	}
	if m := o.Machine; m != "" && s.fleetOK {
		obs.FleetKnown = true
		_, obs.FleetPresent = s.machines[m]
	}
	assigned := map[string]bool{}
	for _, w := range witnesses {
		assigned[w] = true
	}
	for _, rep := range s.reports[id] {
		if assigned[rep.Witness] {
			obs.Reports = append(obs.Reports, health.WitnessReport{Witness: rep.Witness, Reachable: rep.Reachable, At: rep.At, Detail: rep.Detail})
		}
	}
	return obs
}

// observe publishes one round's view: the metrics and the per-volume view of /v1/status.
func (l *leader) observe(s *snapshot) {
	m := l.c.m
	m.managed.Set(float64(len(s.volumes)))
	stuck := map[string]int{"attaching": 0, "detaching": 0, "busy": 0}
	views := make([]VolumeView, 0, len(s.volumes))
	byVolume := map[string]health.Verdict{}
	suspects := 0
	for _, v := range s.volumes {
		for _, a := range v.Attachments {
			if _, ok := stuck[a.State]; ok {
				stuck[a.State]++
			}
		}
		view := VolumeView{Volume: v.ID, AZ: v.AvailabilityZone, Paused: s.ov.PausedReason(v.ID)}
		if rec := s.journals[v.ID]; rec != nil {
			view.Moving = string(rec.Step)
		}
		if owner, _, err := currentOwner(v); err == nil && owner != "" {
			view.Owner = owner
			if res, ok := l.t.verdicts[owner]; ok {
				view.Verdict, view.Actionable, view.Reason, view.Signals = res.Verdict, res.Actionable, res.Reason, res.Signals
				byVolume[v.ID] = res.Verdict
			}
			if since, ok := l.t.suspectSince[owner]; ok && view.Verdict == health.VerdictSuspect {
				view.SuspectSince = since.UTC()
			}
		}
		views = append(views, view)
	}
	for _, res := range l.t.verdicts {
		if res.Verdict == health.VerdictSuspect {
			suspects++
		}
	}
	for st, n := range stuck {
		m.stuck.WithLabelValues(st).Set(float64(n))
	}
	m.setVerdicts(byVolume, suspects)
	sort.Slice(views, func(i, j int) bool { return views[i].Volume < views[j].Volume })
	l.c.mu.Lock()
	l.c.views = views
	l.c.mu.Unlock()
}

// setVerdicts keeps the leader's latest verdicts for Verdicts().
func (c *Controller) setVerdicts(v map[string]health.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verdicts = v
}

// signalsOf keeps a verdict's signals in the journal record, whose schema
// (package state) cannot import package health.
func signalsOf(sigs []health.Signal) []state.Signal {
	if sigs == nil {
		return nil
	}
	out := make([]state.Signal, len(sigs))
	for i, s := range sigs {
		out[i] = state.Signal{Source: s.Source, OK: s.OK, Unknown: s.Unknown, Detail: s.Detail, Since: s.Since}
	}
	return out
}

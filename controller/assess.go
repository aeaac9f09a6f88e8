package controller

import (
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

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

// assess turns what the leader's probes found and the snapshot into a
// verdict on every owner, keeping the term's counters. It does no I/O: counters and verdicts
// are about owners, so a host that no longer owns a volume loses its history
// (a revived former owner is a perfectly good target, and must not carry a
// stale "dead" into its next spell as an owner).
func assess(t *term, s *snapshot, probes map[string]probeRun, policy health.Policy, leaderID string) {
	for id := range t.impaired {
		if _, ok := s.owners[id]; !ok {
			delete(t.impaired, id)
		}
	}
	for id := range t.logged {
		if _, ok := s.owners[id]; !ok {
			delete(t.logged, id)
		}
	}
	t.probes = probes
	t.pgAnswered = make(map[string]bool, len(probes))
	for id, r := range probes {
		t.pgAnswered[id] = r.pgAnswered
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
		ProbeFailures:     t.probes[id].failures,
		UnreachableFor:    t.probes[id].span(),
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
			obs.Reports = append(obs.Reports, health.WitnessReport{Witness: rep.Witness, Reachable: rep.Reachable, At: rep.At, Since: rep.Since, Detail: rep.Detail})
		}
	}
	return obs
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

package history

import (
	"fmt"
	"sort"
	"time"
)

// healthyOwners judges invariant 7: no StopInstances and no forced detach of
// an owner's volume hits a host that was healthy throughout the DecisionLag
// before it. Healthy is the design's definition, taken from the truth the
// harness knows: not killed or cut off, reachable from a majority of the
// other hosts of its AZ, its session alive, EC2 running and no status check
// impaired.
func (c *checker) healthyOwners() {
	for _, r := range c.w.requests {
		if r.Sender == "" || !r.Mutating || r.Service != EC2 {
			continue
		}
		var targets []string
		switch {
		case r.Action == "StopInstances":
			targets = stoppedInstances(r.Params)
		case r.Action == "DetachVolume" && r.Params.Get("Force") == "true":
			if owner, ok := c.owner(r); ok {
				targets = []string{owner}
			}
		default:
			continue
		}
		for _, inst := range targets {
			c.judged(HealthyOwnerNotFenced)
			from := r.Arrived.Add(-c.o.DecisionLag)
			if from.Before(c.w.h.Start) {
				from = c.w.h.Start
			}
			if why := c.unhealthyDuring(inst, from, r.Arrived); why != "" {
				continue
			}
			c.violate(HealthyOwnerNotFenced, r.Arrived, c.excerpt(r.Arrived, r.Params.Get("VolumeId"), inst),
				"%s %s sent by %s while %s was healthy throughout the %s before (up, reachable from a majority of its AZ, session alive, EC2 running and ok)",
				r.Action, compact(r.Params), c.w.name(r.Sender), c.w.name(inst), c.o.DecisionLag)
		}
	}
}

// unhealthyDuring says why inst was unhealthy at some moment of [from, to],
// or "" if it was healthy throughout. Health only changes at a boundary
// (a fault, a session or an EC2 transition), so checking each boundary
// within the window and the window's ends is enough.
func (c *checker) unhealthyDuring(inst string, from, to time.Time) string {
	// The fence's own effect (the stop it starts) is not evidence: judge up
	// to just before it arrived.
	to = to.Add(-time.Nanosecond)
	points := []time.Time{from, to}
	add := func(t time.Time) {
		if t.After(from) && t.Before(to) {
			points = append(points, t)
		}
	}
	for _, f := range c.w.h.Faults {
		add(f.From)
		add(f.To)
	}
	for _, s := range c.w.h.Sessions {
		if s.Instance == inst {
			add(s.From)
			add(s.To)
		}
	}
	for _, tr := range c.w.insts[inst] {
		add(tr.Time)
	}
	sort.Slice(points, func(i, j int) bool { return points[i].Before(points[j]) })
	for _, t := range points {
		if why := c.unhealthyAt(inst, t); why != "" {
			return why
		}
	}
	return ""
}

// unhealthyAt says why inst was not healthy at t, "" if it was.
func (c *checker) unhealthyAt(inst string, t time.Time) string {
	host, ok := c.w.byInst[inst]
	if !ok {
		return "not a host of the run"
	}
	if why := c.down(host.Name, t); why != "" {
		return why
	}
	for _, f := range c.w.h.Faults {
		if f.Kind == FaultImpaired && f.Host == host.Name && covers(f.From, f.To, t) {
			return "a status check impaired"
		}
	}
	if st := c.w.instanceState(inst, t); st.State != "running" {
		return "EC2 " + st.State
	}
	alive := false
	for _, s := range c.w.h.Sessions {
		if s.Instance == inst && covers(s.From, s.To, t) {
			alive = true
		}
	}
	if !alive {
		return "no etcd session"
	}
	var others, reach int
	for _, p := range c.w.h.Hosts {
		if p.AZ != host.AZ || p.Name == host.Name {
			continue
		}
		others++
		if c.down(p.Name, t) == "" && !c.cut(p.Name, host.Name, t) {
			reach++
		}
	}
	if others > 0 && 2*reach <= others {
		return fmt.Sprintf("reachable from %d of the %d other hosts of its AZ", reach, others)
	}
	return ""
}

// down says why a host was down or cut off from everyone at t.
func (c *checker) down(name string, t time.Time) string {
	for _, f := range c.w.h.Faults {
		if (f.Kind == FaultKill || f.Kind == FaultPartition) && f.Host == name && covers(f.From, f.To, t) {
			return f.Kind
		}
	}
	return ""
}

// cut reports whether from could not reach to at t.
func (c *checker) cut(from, to string, t time.Time) bool {
	for _, f := range c.w.h.Faults {
		if !covers(f.From, f.To, t) {
			continue
		}
		switch f.Kind {
		case FaultPair:
			if (f.Host == from && f.Peer == to) || (f.Host == to && f.Peer == from) {
				return true
			}
		case FaultOneWay:
			if f.Host == from && f.Peer == to {
				return true
			}
		}
	}
	return false
}

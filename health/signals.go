package health

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// assessed is a signal plus whether it is decisive: for EC2, enough on its own to declare
// the owner dead; for the probe, that the threshold is reached; for lease, fleet and
// witnesses, that it is an independent witness agreeing with failed probes.
type assessed struct {
	Signal
	decisive bool
}

// EC2 instance states and status-check values used by the policy.
const (
	ec2Running     = "running"
	ec2Pending     = "pending"
	statusOK       = "ok"
	statusImpaired = "impaired"
)

// ec2DeadStates are the instance states in which the owner cannot be serving.
var ec2DeadStates = map[string]bool{"stopping": true, "stopped": true, "shutting-down": true, "terminated": true}

func ec2StateSignal(o Observation) assessed {
	s := Signal{Source: SourceEC2State}
	switch {
	case !o.EC2Known:
		s.Unknown, s.Detail = true, "ec2 not read this round"
	case o.EC2State == "":
		s.Unknown, s.Detail = true, "ec2 reported no instance state"
	case o.EC2State == ec2Running:
		s.OK, s.Detail = true, "instance running"
	case ec2DeadStates[o.EC2State]:
		s.Detail = "instance " + o.EC2State
		return assessed{Signal: s, decisive: true}
	case o.EC2State == ec2Pending:
		s.Detail = "instance pending, not yet running"
	default:
		s.Detail = fmt.Sprintf("unrecognised instance state %q", o.EC2State)
	}
	return assessed{Signal: s}
}

func ec2StatusSignal(o Observation, readings int) assessed {
	s := Signal{Source: SourceEC2Status}
	if !o.EC2Known {
		s.Unknown, s.Detail = true, "ec2 not read this round"
		return assessed{Signal: s}
	}
	show := func(v string) string {
		if v == "" {
			return "unknown"
		}
		return v
	}
	s.Detail = fmt.Sprintf("instance status %s, system status %s", show(o.InstanceStatus), show(o.SystemStatus))
	switch {
	case o.InstanceStatus == statusImpaired || o.SystemStatus == statusImpaired:
		s.Detail += fmt.Sprintf(" (%d consecutive impaired readings, %d decide alone)", o.ImpairedReadings, readings)
		return assessed{Signal: s, decisive: readings >= 1 && o.ImpairedReadings >= readings}
	case o.InstanceStatus == statusOK && o.SystemStatus == statusOK:
		s.OK = true
	default:
		s.Unknown = true
		s.Detail += ": not conclusive"
	}
	return assessed{Signal: s}
}

// probeSignal is decisive when the leader's probes failed threshold times in a row
// and over at least minUnreachable: a short blip fails many sub-second probes, but
// not for long.
func probeSignal(o Observation, threshold int, minUnreachable time.Duration) assessed {
	s := Signal{Source: SourceProbe}
	switch {
	case o.ProbeFailures < 0:
		s.Unknown, s.Detail = true, fmt.Sprintf("invalid failure count %d", o.ProbeFailures)
	case o.ProbeFailures == 0:
		s.OK, s.Detail = true, "leader probes succeeding"
	default:
		s.Detail = fmt.Sprintf("leader probes failed %d consecutive times over %s (threshold %d, at least %s)",
			o.ProbeFailures, o.UnreachableFor.Round(time.Millisecond), threshold, minUnreachable)
		return assessed{Signal: s, decisive: threshold >= 1 && o.ProbeFailures >= threshold && o.UnreachableFor >= minUnreachable}
	}
	return assessed{Signal: s}
}

func leaseSignal(o Observation) assessed {
	s := Signal{Source: SourceLease}
	switch {
	case !o.Registered:
		s.Unknown, s.Detail = true, "owner not registered during this leadership, a missing lease is not evidence"
	case o.LeaseAlive:
		s.OK, s.Detail = true, "registration lease alive"
	case o.LeaseRevoked:
		s.Unknown, s.Detail = true, "registration withdrawn by a clean shutdown of the agent, not evidence"
	default:
		s.Detail = "registration lease expired"
		return assessed{Signal: s, decisive: true}
	}
	return assessed{Signal: s}
}

func fleetSignal(o Observation) assessed {
	s := Signal{Source: SourceFleet}
	switch {
	case !o.FleetKnown:
		s.Unknown, s.Detail = true, "fleet machine list not read this round"
	case o.FleetPresent:
		s.OK, s.Detail = true, "fleet lists the machine"
	default:
		s.Detail = "fleet no longer lists the machine"
		return assessed{Signal: s, decisive: true}
	}
	return assessed{Signal: s}
}

// witnessSignal counts the newest report of each witness if it is fresh: its time within
// MaxReportAge of now, either way. An unreachable report agrees only once it covers
// MinUnreachable (At less Since): a witness's single failed probe during a blip is not a
// death. The denominator is the number of witnesses assigned, or of distinct reporters
// if more reported, so stray reports cannot shrink a majority.
func witnessSignal(now time.Time, p Policy, o Observation) assessed {
	s := Signal{Source: SourceWitnesses}
	newest := make(map[string]WitnessReport, len(o.Reports))
	for _, r := range o.Reports {
		if r.Witness == "" || r.At.IsZero() {
			continue
		}
		if cur, ok := newest[r.Witness]; !ok || r.At.After(cur.At) {
			newest[r.Witness] = r
		}
	}
	names := make([]string, 0, len(newest))
	for n := range newest {
		names = append(names, n)
	}
	sort.Strings(names)

	total := max(o.WitnessesAssigned, len(newest))
	var fresh, stale, brief int
	var down []string
	for _, n := range names {
		r := newest[n]
		age := now.Sub(r.At)
		if age < 0 {
			age = -age
		}
		if p.MaxReportAge <= 0 || age > p.MaxReportAge {
			stale++
			continue
		}
		fresh++
		if s.Since.IsZero() || r.At.Before(s.Since) {
			s.Since = r.At
		}
		if r.Reachable {
			continue
		}
		if span := r.At.Sub(r.Since); r.Since.IsZero() || span < p.MinUnreachable {
			brief++
			continue
		}
		d := n
		if r.Detail != "" {
			d += " (" + r.Detail + ")"
		}
		down = append(down, d)
	}
	need := p.quorum(total)
	s.Detail = fmt.Sprintf("%d of %d witnesses report unreachable for %s, %d needed (fresh %d, stale ignored %d, unreachable for less %d)",
		len(down), total, p.MinUnreachable, need, fresh, stale, brief)
	if len(down) > 0 {
		s.Detail += ": " + strings.Join(down, ", ")
	}
	switch {
	case total == 0:
		s.Unknown, s.Detail = true, "no witnesses assigned"
	case len(down) > 0:
		return assessed{Signal: s, decisive: len(down) >= need}
	case brief > 0:
		// Unreachable, not yet for long: against the owner, not yet decisive.
	case fresh == 0:
		s.Unknown = true
	default:
		s.OK = true
	}
	return assessed{Signal: s}
}

func etcdSignal(o Observation) Signal {
	if o.EtcdHealthy {
		return Signal{Source: SourceEtcd, OK: true, Detail: "etcd healthy"}
	}
	return Signal{Source: SourceEtcd, Detail: "etcd unhealthy, nobody acts"}
}

package health

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var decideNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fresh and stale report times for the default policy (MaxReportAge 5 s).
var (
	freshAt = decideNow.Add(-time.Second)
	staleAt = decideNow.Add(-DefaultMaxReportAge - time.Millisecond)
)

// healthyObservation is an owner about which every signal is good.
func healthyObservation() Observation {
	return Observation{
		EC2Known: true, EC2State: "running", InstanceStatus: "ok", SystemStatus: "ok",
		Registered: true, LeaseAlive: true,
		FleetKnown: true, FleetPresent: true,
		WitnessesAssigned: 3,
		Reports: []WitnessReport{
			{Witness: "i-w1", Reachable: true, At: freshAt},
			{Witness: "i-w2", Reachable: true, At: freshAt},
			{Witness: "i-w3", Reachable: true, At: freshAt},
		},
		EtcdHealthy: true,
	}
}

// witnesses builds an observation whose only evidence is the leader's failed probes (at
// the default threshold) and the given witness reports; lease and fleet are good.
func witnesses(assigned int, reports ...WitnessReport) func(*Observation) {
	return func(o *Observation) {
		o.ProbeFailures = DefaultThreshold
		o.WitnessesAssigned = assigned
		o.Reports = reports
	}
}

// down is a witness's report of the owner unreachable for the default minimum.
func down(name string, at time.Time) WitnessReport {
	return downFor(name, at, DefaultMinUnreachable)
}

// downFor is a witness's report of the owner unreachable for span up to at.
func downFor(name string, at time.Time, span time.Duration) WitnessReport {
	return WitnessReport{Witness: name, Reachable: false, At: at, Since: at.Add(-span), Detail: "connection refused"}
}

func up(name string, at time.Time) WitnessReport {
	return WitnessReport{Witness: name, Reachable: true, At: at}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name       string
		policy     func(*Policy)
		obs        func(*Observation)
		verdict    Verdict
		actionable bool
		bad        []string // sources that must be Bad; all others not listed in unknown must be OK
		unknown    []string
		reason     []string // substrings of Reason
		// brief keeps UnreachableFor as obs set it; otherwise failed probes span the
		// default minimum, so the older cases keep judging what they were written for.
		brief bool
	}{
		{name: "all good", obs: func(*Observation) {}, verdict: VerdictAlive, reason: []string{"alive"}},

		// EC2 alone is enough.
		{name: "ec2 stopping", obs: func(o *Observation) { o.EC2State = "stopping" }, verdict: VerdictDead, actionable: true,
			bad: []string{SourceEC2State}, reason: []string{"dead: ec2-state: instance stopping"}},
		{name: "ec2 stopped", obs: func(o *Observation) {
			o.EC2State = "stopped"
			o.InstanceStatus, o.SystemStatus = "not-applicable", "not-applicable"
		},
			verdict: VerdictDead, actionable: true, bad: []string{SourceEC2State}, unknown: []string{SourceEC2Status}},
		{name: "ec2 shutting-down", obs: func(o *Observation) { o.EC2State = "shutting-down" }, verdict: VerdictDead, actionable: true,
			bad: []string{SourceEC2State}},
		{name: "ec2 terminated", obs: func(o *Observation) { o.EC2State = "terminated" }, verdict: VerdictDead, actionable: true,
			bad: []string{SourceEC2State}},
		{name: "instance status impaired, one reading: suspect", obs: func(o *Observation) { o.InstanceStatus = "impaired"; o.ImpairedReadings = 1 },
			verdict: VerdictSuspect, bad: []string{SourceEC2Status}, reason: []string{"instance status impaired", "1 consecutive impaired readings"}},
		{name: "instance status impaired, two readings", obs: func(o *Observation) { o.InstanceStatus = "impaired"; o.ImpairedReadings = 2 },
			verdict: VerdictDead, actionable: true, bad: []string{SourceEC2Status}, reason: []string{"instance status impaired"}},
		{name: "system status impaired, two readings", obs: func(o *Observation) { o.SystemStatus = "impaired"; o.ImpairedReadings = 2 },
			verdict: VerdictDead, actionable: true, bad: []string{SourceEC2Status}, reason: []string{"system status impaired"}},
		{name: "system status impaired once, probes agree", obs: func(o *Observation) {
			o.SystemStatus = "impaired"
			o.ImpairedReadings = 1
			o.ProbeFailures = 3
		}, verdict: VerdictDead, actionable: true, bad: []string{SourceEC2Status, SourceProbe}, reason: []string{"system status impaired", "probes failed 3"}},
		{name: "system status impaired once, probes failing below threshold", obs: func(o *Observation) {
			o.SystemStatus = "impaired"
			o.ImpairedReadings = 1
			o.ProbeFailures = 2
		}, verdict: VerdictSuspect, bad: []string{SourceEC2Status, SourceProbe}, reason: []string{"system status impaired"}},
		{name: "probes failed, registration withdrawn by a clean shutdown: not evidence", obs: func(o *Observation) {
			o.ProbeFailures = 3
			o.LeaseAlive = false
			o.LeaseRevoked = true
		}, verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceLease}, reason: []string{"no independent witness agrees"}},
		{name: "ec2 stopped and probes failing", obs: func(o *Observation) { o.EC2State = "stopped"; o.ProbeFailures = 10 },
			verdict: VerdictDead, actionable: true, bad: []string{SourceEC2State, SourceProbe}},
		{name: "ec2 pending", obs: func(o *Observation) { o.EC2State = "pending" }, verdict: VerdictSuspect,
			bad: []string{SourceEC2State}},
		{name: "ec2 unrecognised state", obs: func(o *Observation) { o.EC2State = "hibernating" }, verdict: VerdictSuspect,
			bad: []string{SourceEC2State}, reason: []string{`"hibernating"`}},
		{name: "ec2 known without state", obs: func(o *Observation) { o.EC2State = "" }, verdict: VerdictAlive,
			unknown: []string{SourceEC2State}},
		{name: "status insufficient-data", obs: func(o *Observation) { o.InstanceStatus = "insufficient-data" }, verdict: VerdictAlive,
			unknown: []string{SourceEC2Status}},
		{name: "status initializing and unknown", obs: func(o *Observation) { o.InstanceStatus, o.SystemStatus = "initializing", "" },
			verdict: VerdictAlive, unknown: []string{SourceEC2Status}},

		// Unknown EC2 is not evidence of anything.
		{name: "ec2 unknown with stale stopped state", obs: func(o *Observation) { o.EC2Known = false; o.EC2State = "stopped"; o.InstanceStatus = "impaired" },
			verdict: VerdictAlive, unknown: []string{SourceEC2State, SourceEC2Status}},
		{name: "ec2 unknown and probes failing without witness", obs: func(o *Observation) { o.EC2Known = false; o.ProbeFailures = 5 },
			verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceEC2State, SourceEC2Status},
			reason: []string{"no independent witness agrees"}},
		{name: "ec2 unknown, probes failing, lease expired", obs: func(o *Observation) { o.EC2Known = false; o.ProbeFailures = 3; o.LeaseAlive = false },
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceLease}, unknown: []string{SourceEC2State, SourceEC2Status}},

		// Probes and threshold edges.
		{name: "one failed round", obs: func(o *Observation) { o.ProbeFailures = 1 }, verdict: VerdictSuspect,
			bad: []string{SourceProbe}, reason: []string{"failed 1 consecutive times over 2.5s (threshold 3, at least 2.5s)"}},
		{name: "below threshold with every witness agreeing", obs: func(o *Observation) {
			o.ProbeFailures = DefaultThreshold - 1
			o.LeaseAlive, o.FleetPresent = false, false
			o.Reports = []WitnessReport{down("i-w1", freshAt), down("i-w2", freshAt), down("i-w3", freshAt)}
		}, verdict: VerdictSuspect, bad: []string{SourceProbe, SourceLease, SourceFleet, SourceWitnesses}},
		{name: "at threshold, no witness agrees", obs: func(o *Observation) { o.ProbeFailures = DefaultThreshold },
			verdict: VerdictSuspect, bad: []string{SourceProbe}, reason: []string{"no independent witness agrees"}},
		{name: "far above threshold, no witness agrees", obs: func(o *Observation) { o.ProbeFailures = 1000 },
			verdict: VerdictSuspect, bad: []string{SourceProbe}},
		{name: "threshold 1 at one failure with fleet absent", policy: func(p *Policy) { p.Threshold = 1 },
			obs: func(o *Observation) { o.ProbeFailures = 1; o.FleetPresent = false }, verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceFleet}},
		{name: "threshold 5 at four failures with lease expired", policy: func(p *Policy) { p.Threshold = 5 },
			obs: func(o *Observation) { o.ProbeFailures = 4; o.LeaseAlive = false }, verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceLease}},
		{name: "threshold 5 at five failures with lease expired", policy: func(p *Policy) { p.Threshold = 5 },
			obs: func(o *Observation) { o.ProbeFailures = 5; o.LeaseAlive = false }, verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceLease}},

		// Each independent witness alone.
		{name: "witness: lease expired alone", obs: func(o *Observation) { o.ProbeFailures = 3; o.LeaseAlive = false },
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceLease},
			reason: []string{"leader probes failed 3 consecutive times", "lease: registration lease expired"}},
		{name: "witness: fleet absent alone", obs: func(o *Observation) { o.ProbeFailures = 3; o.FleetPresent = false },
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceFleet}, reason: []string{"fleet no longer lists the machine"}},
		{name: "witness: majority alone", obs: witnesses(3, down("i-w1", freshAt), down("i-w2", freshAt), up("i-w3", freshAt)),
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses},
			reason: []string{"2 of 3 witnesses report unreachable for 2.5s, 2 needed", "i-w1 (connection refused)"}},
		{name: "all three witnesses agree", obs: func(o *Observation) {
			o.ProbeFailures = 3
			o.LeaseAlive, o.FleetPresent = false, false
			o.Reports = []WitnessReport{down("i-w1", freshAt), down("i-w2", freshAt), down("i-w3", freshAt)}
		}, verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceLease, SourceFleet, SourceWitnesses}},

		// Minimum unreachable time: a short blip fails many sub-second probes, and every
		// witness sees it too, but not for long.
		{name: "2 s blip: ten failed probes over 2 s, lease expired and every witness agreeing", brief: true, obs: func(o *Observation) {
			o.ProbeFailures, o.UnreachableFor = 10, 2*time.Second
			o.LeaseAlive, o.FleetPresent = false, false
			o.Reports = []WitnessReport{downFor("i-w1", freshAt, 2*time.Second), downFor("i-w2", freshAt, 2*time.Second), downFor("i-w3", freshAt, 2*time.Second)}
		}, verdict: VerdictSuspect, bad: []string{SourceProbe, SourceLease, SourceFleet, SourceWitnesses},
			reason: []string{"failed 10 consecutive times over 2s (threshold 3, at least 2.5s)", "unreachable for less 3"}},
		{name: "unreachable just under the minimum", brief: true, obs: func(o *Observation) {
			o.ProbeFailures, o.UnreachableFor = 10, DefaultMinUnreachable-time.Millisecond
			o.LeaseAlive = false
		}, verdict: VerdictSuspect, bad: []string{SourceProbe, SourceLease}},
		{name: "dead host: unreachable for exactly the minimum, two witnesses for as long", brief: true, obs: func(o *Observation) {
			o.ProbeFailures, o.UnreachableFor = 11, DefaultMinUnreachable
			o.Reports = []WitnessReport{down("i-w1", freshAt), down("i-w2", freshAt), up("i-w3", freshAt.Add(-3*time.Second))}
		}, verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "witnesses unreachable for less than the minimum do not agree", obs: witnesses(3,
			downFor("i-w1", freshAt, time.Second), downFor("i-w2", freshAt, DefaultMinUnreachable-time.Millisecond), down("i-w3", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses},
			reason: []string{"1 of 3 witnesses report unreachable for 2.5s, 2 needed", "unreachable for less 2"}},
		{name: "witness report without since (an older agent) does not agree", obs: witnesses(3,
			WitnessReport{Witness: "i-w1", At: freshAt}, WitnessReport{Witness: "i-w2", At: freshAt}),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"unreachable for less 2"}},
		{name: "witnesses unreachable briefly, probes fine", obs: func(o *Observation) {
			o.Reports = []WitnessReport{downFor("i-w1", freshAt, time.Second), downFor("i-w2", freshAt, time.Second), up("i-w3", freshAt)}
		}, verdict: VerdictSuspect, bad: []string{SourceWitnesses}},
		{name: "min unreachable 0: the threshold alone", policy: func(p *Policy) { p.MinUnreachable = 0 }, brief: true,
			obs: witnesses(3, downFor("i-w1", freshAt, 0), downFor("i-w2", freshAt, 0)), verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "min unreachable 5s: 2.5s is not enough", policy: func(p *Policy) { p.MinUnreachable = 5 * time.Second },
			obs: witnesses(3, down("i-w1", freshAt), down("i-w2", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"at least 5s"}},

		// EC2 is authoritative: a stopped or terminated owner is dead at once, before the
		// probes have failed for long or at all.
		{name: "ec2 stopped, one failed probe 250ms in", brief: true, obs: func(o *Observation) {
			o.EC2State, o.ProbeFailures, o.UnreachableFor = "stopped", 1, 250*time.Millisecond
		}, verdict: VerdictDead, actionable: true, bad: []string{SourceEC2State, SourceProbe}, reason: []string{"dead: ec2-state: instance stopped"}},
		{name: "ec2 terminated, probes still answered", obs: func(o *Observation) { o.EC2State = "terminated" },
			verdict: VerdictDead, actionable: true, bad: []string{SourceEC2State}, reason: []string{"dead: ec2-state: instance terminated"}},
		{name: "ec2 stopped, witnesses unreachable briefly", obs: func(o *Observation) {
			o.EC2State = "stopped"
			o.Reports = []WitnessReport{downFor("i-w1", freshAt, 100*time.Millisecond), up("i-w2", freshAt), up("i-w3", freshAt)}
		}, verdict: VerdictDead, actionable: true, bad: []string{SourceEC2State, SourceWitnesses}},

		// A bad independent signal without failed probes is only suspect.
		{name: "lease expired, probes fine", obs: func(o *Observation) { o.LeaseAlive = false }, verdict: VerdictSuspect,
			bad: []string{SourceLease}},
		{name: "fleet absent, probes fine", obs: func(o *Observation) { o.FleetPresent = false }, verdict: VerdictSuspect,
			bad: []string{SourceFleet}},
		{name: "one witness says unreachable, probes fine", obs: func(o *Observation) { o.Reports[0] = down("i-w1", freshAt) },
			verdict: VerdictSuspect, bad: []string{SourceWitnesses}},

		// Evidence that does not count.
		{name: "unregistered owner without lease", obs: func(o *Observation) { o.ProbeFailures = 3; o.Registered, o.LeaseAlive = false, false },
			verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceLease},
			reason: []string{"no independent witness agrees"}},
		{name: "unregistered owner, probes fine", obs: func(o *Observation) { o.Registered, o.LeaseAlive = false, false },
			verdict: VerdictAlive, unknown: []string{SourceLease}},
		{name: "unknown fleet not listing the machine", obs: func(o *Observation) { o.ProbeFailures = 3; o.FleetKnown, o.FleetPresent = false, false },
			verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceFleet}},
		{name: "stale unreachable reports ignored", obs: witnesses(3, down("i-w1", staleAt), down("i-w2", staleAt), down("i-w3", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"fresh 1, stale ignored 2"}},
		{name: "all reports stale", obs: witnesses(3, down("i-w1", staleAt), down("i-w2", staleAt), down("i-w3", staleAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceWitnesses}},
		{name: "report exactly max age old counts", obs: witnesses(3, down("i-w1", decideNow.Add(-DefaultMaxReportAge)), down("i-w2", freshAt)),
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "report from too far in the future ignored", obs: witnesses(3, down("i-w1", decideNow.Add(DefaultMaxReportAge+time.Second)), down("i-w2", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "report slightly in the future counts", obs: witnesses(3, down("i-w1", decideNow.Add(time.Second)), down("i-w2", freshAt)),
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "newest report of a witness wins", obs: witnesses(3, down("i-w1", freshAt.Add(-time.Second)), up("i-w1", freshAt), down("i-w2", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"1 of 3"}},
		{name: "a witness counts once", obs: witnesses(3, down("i-w1", freshAt), down("i-w1", freshAt.Add(-time.Second)), up("i-w2", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "stray reporters do not shrink the majority", obs: witnesses(1, down("i-w1", freshAt), up("i-w2", freshAt), up("i-w3", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"1 of 3 witnesses report unreachable for 2.5s, 2 needed"}},
		{name: "no witnesses assigned", obs: witnesses(0), verdict: VerdictSuspect,
			bad: []string{SourceProbe}, unknown: []string{SourceWitnesses}, reason: []string{"no independent witness agrees"}},
		{name: "assigned witnesses silent", obs: witnesses(3), verdict: VerdictSuspect,
			bad: []string{SourceProbe}, unknown: []string{SourceWitnesses}},

		// Majority edges.
		{name: "1 witness: 1 unreachable", obs: witnesses(1, down("i-w1", freshAt)), verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "1 witness: reachable", obs: witnesses(1, up("i-w1", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe}},
		{name: "2 witnesses: 1 unreachable is a tie", obs: witnesses(2, down("i-w1", freshAt), up("i-w2", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "2 witnesses: 1 unreachable, 1 silent", obs: witnesses(2, down("i-w1", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "2 witnesses: 2 unreachable", obs: witnesses(2, down("i-w1", freshAt), down("i-w2", freshAt)), verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "3 witnesses: 1 unreachable", obs: witnesses(3, down("i-w1", freshAt), up("i-w2", freshAt), up("i-w3", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "3 witnesses: 2 unreachable, 1 silent", obs: witnesses(3, down("i-w1", freshAt), down("i-w2", freshAt)),
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "4 witnesses: 2 unreachable is a tie", obs: witnesses(4, down("i-w1", freshAt), down("i-w2", freshAt), up("i-w3", freshAt), up("i-w4", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"2 of 4 witnesses report unreachable for 2.5s, 3 needed"}},
		{name: "4 witnesses: 3 unreachable", obs: witnesses(4, down("i-w1", freshAt), down("i-w2", freshAt), down("i-w3", freshAt), up("i-w4", freshAt)),
			verdict: VerdictDead, actionable: true, bad: []string{SourceProbe, SourceWitnesses}},
		{name: "4 witnesses: 3 unreachable, one of them stale", obs: witnesses(4, down("i-w1", freshAt), down("i-w2", freshAt), down("i-w3", staleAt), up("i-w4", freshAt)),
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}},

		// Witness quorum can only be raised.
		{name: "unanimous quorum: 2 of 3 not enough", policy: func(p *Policy) { p.WitnessQuorum = func(n int) int { return n } },
			obs: witnesses(3, down("i-w1", freshAt), down("i-w2", freshAt), up("i-w3", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"3 needed"}},
		{name: "unanimous quorum: 3 of 3", policy: func(p *Policy) { p.WitnessQuorum = func(n int) int { return n } },
			obs: witnesses(3, down("i-w1", freshAt), down("i-w2", freshAt), down("i-w3", freshAt)), verdict: VerdictDead, actionable: true,
			bad: []string{SourceProbe, SourceWitnesses}},
		{name: "looser quorum ignored", policy: func(p *Policy) { p.WitnessQuorum = func(int) int { return 1 } },
			obs: witnesses(3, down("i-w1", freshAt), up("i-w2", freshAt), up("i-w3", freshAt)), verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"2 needed"}},

		// etcd unhealthy: computed, never actionable.
		{name: "etcd unhealthy, ec2 stopped", obs: func(o *Observation) { o.EtcdHealthy = false; o.EC2State = "stopped" },
			verdict: VerdictDead, bad: []string{SourceEC2State, SourceEtcd}, reason: []string{"not actionable: etcd unhealthy"}},
		{name: "etcd unhealthy, probes and lease", obs: func(o *Observation) { o.EtcdHealthy = false; o.ProbeFailures = 3; o.LeaseAlive = false },
			verdict: VerdictDead, bad: []string{SourceProbe, SourceLease, SourceEtcd}},
		{name: "etcd unhealthy, owner fine", obs: func(o *Observation) { o.EtcdHealthy = false }, verdict: VerdictAlive,
			bad: []string{SourceEtcd}, reason: []string{"alive", "not actionable"}},
		{name: "etcd unhealthy, owner suspect", obs: func(o *Observation) { o.EtcdHealthy = false; o.ProbeFailures = 1 }, verdict: VerdictSuspect,
			bad: []string{SourceProbe, SourceEtcd}},

		// Invalid inputs never give dead.
		{name: "invalid policy with ec2 stopped", policy: func(p *Policy) { p.Threshold = 0 }, obs: func(o *Observation) { o.EC2State = "stopped" },
			verdict: VerdictSuspect, bad: []string{SourceEC2State}, reason: []string{"invalid policy: threshold: must be at least 1, got 0"}},
		{name: "invalid max report age", policy: func(p *Policy) { p.MaxReportAge = 0 }, obs: witnesses(1, down("i-w1", decideNow)),
			verdict: VerdictSuspect, bad: []string{SourceProbe}, unknown: []string{SourceWitnesses}, reason: []string{"max report age"}},
		{name: "negative probe failures", obs: func(o *Observation) { o.ProbeFailures = -1; o.LeaseAlive = false },
			verdict: VerdictSuspect, bad: []string{SourceLease}, unknown: []string{SourceProbe}, reason: []string{"invalid observation: probe failures"}},
		{name: "report without witness name", obs: func(o *Observation) { o.ProbeFailures = 3; o.FleetPresent = false; o.Reports[1].Witness = "" },
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceFleet}, reason: []string{"reports[1].witness: must not be empty"}},
		{name: "report without time", obs: func(o *Observation) { o.Reports[2].At = time.Time{} },
			verdict: VerdictSuspect, reason: []string{"reports[2].at: must be set"}},
		{name: "negative witnesses assigned", obs: func(o *Observation) { o.WitnessesAssigned = -3 },
			verdict: VerdictSuspect, reason: []string{"witnesses assigned: must not be negative, got -3"}},
		{name: "negative min unreachable with ec2 stopped", policy: func(p *Policy) { p.MinUnreachable = -time.Second },
			obs: func(o *Observation) { o.EC2State = "stopped" }, verdict: VerdictSuspect, bad: []string{SourceEC2State},
			reason: []string{"min unreachable: must not be negative, got -1s"}},
		{name: "negative unreachable span", brief: true, obs: func(o *Observation) { o.ProbeFailures, o.UnreachableFor = 3, -time.Second; o.LeaseAlive = false },
			verdict: VerdictSuspect, bad: []string{SourceProbe, SourceLease}, reason: []string{"unreachable for: must not be negative, got -1s"}},
		{name: "report since after its time", obs: func(o *Observation) {
			o.ProbeFailures = 3
			o.Reports = []WitnessReport{down("i-w1", freshAt), down("i-w2", freshAt), {Witness: "i-w3", At: freshAt, Since: freshAt.Add(time.Second)}}
		}, verdict: VerdictSuspect, bad: []string{SourceProbe, SourceWitnesses}, reason: []string{"reports[2].since:", "is after at"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			o := healthyObservation()
			tc.obs(&o)
			if o.ProbeFailures > 0 && !tc.brief {
				o.UnreachableFor = DefaultMinUnreachable
			}
			got := p.Decide(decideNow, o)

			require.Equal(t, tc.verdict, got.Verdict, "verdict; reason %q", got.Reason)
			require.Equal(t, tc.actionable, got.Actionable, "actionable; reason %q", got.Reason)
			require.True(t, strings.HasPrefix(got.Reason, string(tc.verdict)+": "), "reason %q should start with the verdict", got.Reason)
			for _, want := range tc.reason {
				require.Contains(t, got.Reason, want)
			}

			sources := make([]string, 0, len(got.Signals))
			for _, s := range got.Signals {
				sources = append(sources, s.Source)
				require.NotEmpty(t, s.Detail, "signal %s has no detail", s.Source)
				require.False(t, s.OK && s.Unknown, "signal %s both ok and unknown", s.Source)
				switch {
				case slices.Contains(tc.bad, s.Source):
					require.True(t, s.Bad(), "signal %s: got %+v, want bad", s.Source, s)
				case slices.Contains(tc.unknown, s.Source):
					require.True(t, s.Unknown, "signal %s: got %+v, want unknown", s.Source, s)
				default:
					require.True(t, s.OK, "signal %s: got %+v, want ok", s.Source, s)
				}
			}
			require.Equal(t, Sources(), sources, "every source, in order")

			again := p.Decide(decideNow, o)
			require.Equal(t, got, again, "same inputs, same result")
		})
	}
}

func TestDecideIgnoresReportOrder(t *testing.T) {
	p := DefaultPolicy()
	reports := []WitnessReport{
		down("i-w1", freshAt), up("i-w1", freshAt.Add(-2*time.Second)), down("i-w2", staleAt),
		up("i-w3", freshAt.Add(-3*time.Second)), down("i-w4", freshAt), up("i-w5", freshAt),
	}
	o := healthyObservation()
	witnesses(5, reports...)(&o)
	want := p.Decide(decideNow, o)
	require.Equal(t, VerdictSuspect, want.Verdict, want.Reason)

	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		shuffled := slices.Clone(reports)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		o.Reports = shuffled
		require.Equal(t, want, p.Decide(decideNow, o), "shuffle %d: %v", i, shuffled)
	}
}

func TestWitnessSignalSince(t *testing.T) {
	oldest := decideNow.Add(-4 * time.Second)
	o := healthyObservation()
	witnesses(3, down("i-w1", oldest), down("i-w2", freshAt), up("i-w3", staleAt))(&o)
	got := DefaultPolicy().Decide(decideNow, o)
	s, ok := got.Signal(SourceWitnesses)
	require.True(t, ok)
	require.Equal(t, oldest, s.Since, "since is the oldest fresh report")
	e, ok := got.Signal(SourceEtcd)
	require.True(t, ok)
	require.True(t, e.Since.IsZero(), "etcd evidence is the observation itself")
	_, ok = got.Signal("nonsense")
	require.False(t, ok)
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Policy
		want []string
	}{
		{name: "default", p: DefaultPolicy()},
		{name: "threshold 1", p: Policy{Threshold: 1, MaxReportAge: time.Millisecond, ImpairedReadings: 1}},
		{name: "impaired readings 0", p: Policy{Threshold: 1, MaxReportAge: time.Millisecond}, want: []string{"impaired readings: must be at least 1, got 0"}},
		{name: "zero", p: Policy{}, want: []string{"threshold: must be at least 1, got 0", "max report age: must be positive, got 0s"}},
		{name: "negative", p: Policy{Threshold: -2, MaxReportAge: -time.Second}, want: []string{"got -2", "got -1s"}},
		{name: "min unreachable 0", p: Policy{Threshold: 1, MaxReportAge: time.Second, ImpairedReadings: 1}},
		{name: "negative min unreachable", p: Policy{Threshold: 1, MaxReportAge: time.Second, ImpairedReadings: 1, MinUnreachable: -time.Millisecond},
			want: []string{"min unreachable: must not be negative, got -1ms"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

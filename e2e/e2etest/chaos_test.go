//go:build e2e

package e2etest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/history"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/state"
)

// chaosFaults are the faults a chaos round picks from: the scenarios' faults.
var chaosFaults = []string{
	"kill-owner-running", "kill-owner-stopped", "kill-leader-process", "kill-peer",
	"partition-owner", "blip-owner", "partition-peer", "throttle-storm", "5xx-storm",
	"attach-apply-then-fail", "leader-killed-mid-failover", "pause-during-crash", "switchover",
	"cut-owner-link", "cut-etcd",
	"etcd-kill-member", "etcd-partition-member", "etcd-move-leader", "etcd-stall-member",
}

// chaosSettings reads E2E_CHAOS_DURATION (default 2m) and E2E_CHAOS_SEED
// (default: the clock).
func chaosSettings(t *testing.T) (time.Duration, int64) {
	dur := 2 * time.Minute
	if s := os.Getenv("E2E_CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "E2E_CHAOS_DURATION %q: want a Go duration such as 2m", s)
		require.Positive(t, d, "E2E_CHAOS_DURATION %q: want a positive duration", s)
		dur = d
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("E2E_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, "E2E_CHAOS_SEED %q: want an integer", s)
		seed = n
	}
	return dur, seed
}

// TestChaos injects random faults from the scenarios for a bounded time,
// each followed by recovery and repair, and ends with the volume served by
// exactly one host and every acknowledged row present. The seed is printed;
// E2E_CHAOS_SEED replays the same sequence of faults.
func TestChaos(t *testing.T) {
	dur, seed := chaosSettings(t)
	fmt.Printf("chaos: seed %d, duration %s (replay: E2E_CHAOS_SEED=%d)\n", seed, dur, seed)
	rng := rand.New(rand.NewSource(seed))
	w := newWorld(t, worldOptions{hosts: 4, hostsB: 1, cooldown: time.Second, seed: strconv.FormatInt(seed, 10)})
	c := &chaos{w: w, rng: rng, down: map[string]bool{}, cut: map[string]bool{}, members: map[string]string{}}
	end := time.Now().Add(dur)
	rounds := 0
	byFault := map[string]int{}
	var rep history.Report
	rowsChecked := 0
	// The table is printed however the run ends, a failed round included.
	defer func() { c.printTable(seed, dur, rounds, byFault, rep, rowsChecked) }()
	for time.Now().Before(end) {
		rounds++
		fault := chaosFaults[rng.Intn(len(chaosFaults))]
		byFault[fault]++
		began := time.Now()
		what := c.inject(fault)
		w.mon.Note("chaos round %d: %s", rounds, what)
		t.Logf("round %d: %s", rounds, what)
		owner, answered := w.waitServed(failoverDeadline+sessionTTL+5*time.Second, c.avoid()...)
		timings.add(t.Name(), fmt.Sprintf("r%02d %s", rounds, fault), answered.Sub(began))
		c.repair()
		rowsChecked = w.verifyRows(owner)
		rep = w.checkHistory(fmt.Sprintf("chaos round %d", rounds))
		require.Nil(t, w.mon.Violation(), "chaos seed %d: invariant broken in round %d (%s)", seed, rounds, what)
		require.Empty(t, rep.Violations, "chaos seed %d: history check failed by round %d (%s)", seed, rounds, what)
	}
	owner, _ := w.waitServed(failoverDeadline)
	w.settle(owner)
	rowsChecked = len(w.wr.Acked())
	rep = w.checkHistory("the end of the chaos run")
	t.Logf("chaos: %d rounds in %s, seed %d, %d acknowledged rows kept", rounds, dur, seed, len(w.wr.Acked()))
	t.Logf("chaos: rounds by fault %v; %d cuts of a link to the healthy owner, %d cuts off etcd held past the threshold and %d blips of the owner, none fenced it",
		byFault, c.linkCuts, c.etcdCuts, c.blips)
}

// chaos tracks what a run broke so each round can be repaired.
type chaos struct {
	w    *world
	rng  *rand.Rand
	down map[string]bool // killed (or fenced) hosts to revive
	cut  map[string]bool // partitioned hosts to heal
	// noPartition is set once the sandbox says it cannot partition.
	noPartition bool
	// linkCuts counts the cut-owner-link rounds that cut a link.
	linkCuts int
	// etcdCuts counts the cut-etcd rounds that cut a host off etcd.
	etcdCuts int
	// members are the etcd members a round left broken, with the fault
	// (sandbox.FaultMember*) to undo.
	members map[string]string
	// noStall is set once the sandbox says it cannot stall fsync.
	noStall bool
	// blips counts the blip-owner rounds that cut the owner off.
	blips int
}

// avoid lists the hosts that must not serve the volume after this round.
func (c *chaos) avoid() []string {
	var out []string
	for h := range c.down {
		out = append(out, h)
	}
	for h := range c.cut {
		out = append(out, h)
	}
	return out
}

func (c *chaos) owner() sandbox.Host {
	h, ok := c.w.sb.Owner(c.w.sb.Volume())
	require.True(c.w.t, ok, "the volume is attached nowhere at the start of a round")
	return h
}

// peer picks a live zone-A host that is not the owner.
func (c *chaos) peer() string {
	owner := c.owner().Name
	var peers []string
	for _, h := range c.w.sb.Hosts() {
		if h.AZ == sandbox.ZoneA && h.Name != owner {
			peers = append(peers, h.Name)
		}
	}
	return peers[c.rng.Intn(len(peers))]
}

func (c *chaos) killOwner(stopped bool) string {
	o := c.owner().Name
	c.w.kill(o, stopped)
	c.down[o] = true
	return o
}

func (c *chaos) partition(name string) bool {
	if c.noPartition {
		return false
	}
	err := c.w.sb.PartitionHost(c.w.ctx, name)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		c.noPartition = true
		c.w.t.Logf("chaos: partitions skipped: %v", err)
		return false
	}
	require.NoError(c.w.t, err, "partition %s", name)
	c.w.mon.CutOff(c.w.host(name).InstanceID, time.Now())
	c.cut[name] = true
	return true
}

// stays checks for 1-3s that the volume stays where it is: a fault away from
// the owner must not move it.
func (c *chaos) stays() {
	owner := c.owner().Name
	c.w.hold(time.Duration(1000+c.rng.Intn(2000))*time.Millisecond, "the volume stays on "+owner, func() (bool, string) {
		h, ok := c.w.sb.Owner(c.w.sb.Volume())
		return ok && h.Name == owner, "moved to " + h.Name
	})
}

// inject applies one fault and returns what it did.
func (c *chaos) inject(fault string) string {
	w := c.w
	ec2 := w.sb.EC2()
	switch fault {
	case "kill-owner-running":
		return "killed owner " + c.killOwner(false) + " (instance running)"
	case "kill-owner-stopped":
		return "killed owner " + c.killOwner(true) + " (instance stopped)"
	case "kill-leader-process":
		l := w.hostOf(w.leader())
		if l == "" || w.unitPID(l, volfailoverUnit) == 0 {
			return "no leader process to kill"
		}
		w.signalController(l, syscall.SIGKILL)
		c.stays()
		return "SIGKILL to the leader's process on " + l
	case "kill-peer":
		p := c.peer()
		w.kill(p, c.rng.Intn(2) == 0)
		c.down[p] = true
		c.stays()
		return "killed peer " + p
	case "partition-owner":
		o := c.owner().Name
		if !c.partition(o) {
			return "killed owner " + c.killOwner(false) + " (partition unsupported)"
		}
		return "partitioned owner " + o
	case "blip-owner":
		return c.blipOwner()
	case "partition-peer":
		p := c.peer()
		if !c.partition(p) {
			return "no partition (unsupported)"
		}
		c.stays()
		return "partitioned peer " + p
	case "throttle-storm", "5xx-storm":
		kind := ec2sim.FaultThrottle
		if fault == "5xx-storm" {
			kind = []ec2sim.FaultKind{ec2sim.FaultInternalError, ec2sim.FaultUnavailable, ec2sim.FaultEmpty500}[c.rng.Intn(3)]
		}
		id := ec2.Arm(ec2sim.Fault{Kind: kind, Sticky: true, NthCall: 1 + c.rng.Intn(2)})
		o := c.killOwner(c.rng.Intn(2) == 0)
		storm := time.Duration(500+c.rng.Intn(2500)) * time.Millisecond
		end := time.Now().Add(storm)
		w.waitFor(storm+time.Second, "the end of the storm", func() (bool, string) { return time.Now().After(end), "storming" })
		ec2.Disarm(id)
		return fmt.Sprintf("%s storm for %s while owner %s died", kind, storm, o)
	case "attach-apply-then-fail":
		ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultApplyThenFail, Action: "AttachVolume"})
		return "apply-then-fail on the next attach, killed owner " + c.killOwner(false)
	case "leader-killed-mid-failover":
		action := []string{"StopInstances", "DetachVolume", "AttachVolume"}[c.rng.Intn(3)]
		ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultLatency, Action: action, Latency: 2 * time.Second})
		o := c.owner().Name
		w.leaderOff(o)
		c.killOwner(false)
		w.waitFor(failoverDeadline, "a failover in progress", func() (bool, string) { return w.journal() != nil, "none" })
		delay := time.Duration(c.rng.Intn(1500)) * time.Millisecond
		end := time.Now().Add(delay)
		w.waitFor(delay+time.Second, "the kill delay", func() (bool, string) { return time.Now().After(end), "waiting" })
		l := w.hostOf(w.leader())
		if l != "" && w.unitPID(l, volfailoverUnit) != 0 {
			w.signalController(l, syscall.SIGKILL)
		}
		return fmt.Sprintf("%s slowed, owner %s killed, leader %s killed %s into the failover", action, o, l, delay)
	case "pause-during-crash":
		key := w.keys.Pause()
		if c.rng.Intn(2) == 0 {
			key = w.keys.VolumePause(w.sb.Volume())
		}
		w.put(key, `{"reason":"e2e chaos"}`)
		o := c.killOwner(false)
		t0 := time.Now()
		w.hold(time.Duration(1500+c.rng.Intn(1500))*time.Millisecond, "nothing moves while paused", w.nothingMoves(t0))
		w.del(key)
		return fmt.Sprintf("paused (%s), killed owner %s, resumed", key, o)
	case "switchover":
		p := c.peer()
		w.put(w.keys.VolumeSwitchover(w.sb.Volume()), fmt.Sprintf(`{"to":%q,"reason":"e2e chaos"}`, w.host(p).InstanceID))
		w.waitFor(failoverDeadline, "the switchover to "+p, func() (bool, string) {
			h, ok := w.sb.Owner(w.sb.Volume())
			return ok && h.Name == p && w.count(w.keys.VolumeSwitchover(w.sb.Volume())) == 0, "owner " + h.Name
		})
		return "switchover to " + p
	case "cut-owner-link":
		return c.cutOwnerLink()
	case "cut-etcd":
		return c.cutEtcd()
	case "etcd-kill-member", "etcd-partition-member", "etcd-move-leader", "etcd-stall-member":
		return c.etcdMemberFault(fault)
	}
	require.Failf(c.w.t, "unknown chaos fault", "%q", fault)
	return ""
}

// etcdMemberFault breaks one member of the etcd cluster, the etcd leader
// half of the time: SIGKILL (restarted on its data directory by repair),
// a partition from its peers and clients, a WAL fsync stall of 200 ms to
// 1 s, or etcd's leadership moved away (MoveLeader). Half of the time the
// owner dies too, so a failover runs through the fault. The member stays
// broken for 1-4 s before the round's wait; a stall ends then, the other
// faults hold through the wait until repair undoes them.
func (c *chaos) etcdMemberFault(fault string) string {
	w := c.w
	victim := w.etcdLeader()
	if ms := w.sb.EtcdMembers(); c.rng.Intn(2) == 0 {
		victim = ms[c.rng.Intn(len(ms))].Name
	}
	role := "member"
	if l, err := w.sb.EtcdLeader(w.ctx); err == nil && l == victim {
		role = "leader member"
	}
	var what string
	switch fault {
	case "etcd-kill-member":
		w.etcdKill(victim)
		c.members[victim] = sandbox.FaultMemberKill
		what = fmt.Sprintf("SIGKILLed etcd %s %s", role, victim)
	case "etcd-partition-member":
		if c.noPartition {
			return "no etcd member partition (partitions unsupported)"
		}
		err := w.sb.PartitionEtcdMember(w.ctx, victim)
		if errors.Is(err, sandbox.ErrPartitionUnsupported) {
			c.noPartition = true
			return "no etcd member partition (partitions unsupported)"
		}
		require.NoError(w.t, err, "partition etcd member %s", victim)
		w.mon.Note("chaos partitioned etcd member %s", victim)
		c.members[victim] = sandbox.FaultMemberPartition
		what = fmt.Sprintf("partitioned etcd %s %s", role, victim)
	case "etcd-stall-member":
		d := time.Duration(200+c.rng.Intn(800)) * time.Millisecond
		if c.noStall {
			return "no fsync stall (unsupported)"
		}
		err := w.sb.StallEtcdMember(w.ctx, victim, d)
		if errors.Is(err, sandbox.ErrStallUnsupported) {
			c.noStall = true
			w.t.Logf("chaos: fsync stalls skipped: %v", err)
			return "no fsync stall (unsupported)"
		}
		require.NoError(w.t, err, "stall etcd member %s", victim)
		w.mon.Note("chaos stalled etcd member %s's fsync by %s", victim, d)
		c.members[victim] = sandbox.FaultMemberStall
		what = fmt.Sprintf("stalled etcd %s %s's fsync by %s", role, victim, d)
	case "etcd-move-leader":
		from, to := w.etcdMoveLeader()
		what = fmt.Sprintf("moved etcd leadership from %s to %s", from, to)
	}
	if c.rng.Intn(2) == 0 {
		what += ", killed owner " + c.killOwner(false)
	}
	hold := time.Duration(1000+c.rng.Intn(3000)) * time.Millisecond
	end := time.Now().Add(hold)
	w.waitFor(hold+time.Second, "the etcd fault's hold", func() (bool, string) { return time.Now().After(end), "holding" })
	if fault == "etcd-stall-member" {
		// A killed or cut-off member leaves a quorum that must serve on
		// through the round's wait. A leader whose every fsync stalls for up
		// to a second is not replaced (its heartbeats stay inside the
		// election timeout) and holds every write as long: etcd is as good
		// as down, and nothing may move without it. So the stall ends with
		// its hold, and the volume is judged from there (seed 2611303 held
		// an 895 ms stall through the whole 38 s wait).
		w.etcdUnstall(victim)
		delete(c.members, victim)
	}
	return fmt.Sprintf("%s, held %s", what, hold)
}

// repairEtcd undoes what etcdMemberFault broke and waits for every member.
func (c *chaos) repairEtcd() {
	w := c.w
	for m, kind := range c.members {
		switch kind {
		case sandbox.FaultMemberKill:
			w.etcdRestart(m)
		case sandbox.FaultMemberPartition:
			require.NoError(w.t, w.sb.HealEtcdMember(w.ctx, m), "heal etcd member %s", m)
			w.mon.Note("chaos healed etcd member %s", m)
		case sandbox.FaultMemberStall:
			w.etcdUnstall(m)
		}
		delete(c.members, m)
	}
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	require.NoError(w.t, w.sb.WaitEtcdHealthy(ctx), "every etcd member healthy after the repair")
}

// shortBlip is the longest cut of the owner from everyone that must not move
// its volume: a failover whose owner was down only that briefly is false.
const shortBlip = 2 * time.Second

// blipOwner cuts the owner off everyone for 0.5–2 s, heals it, and holds that
// it keeps its volume. The false-failover count of the summary judges the
// same on the history.
func (c *chaos) blipOwner() string {
	w := c.w
	if c.noPartition {
		return "no blip (partitions unsupported)"
	}
	owner := c.owner()
	t0 := time.Now()
	err := w.sb.PartitionHost(w.ctx, owner.Name)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		c.noPartition = true
		w.t.Logf("chaos: partitions skipped: %v", err)
		return "no blip (partitions unsupported)"
	}
	require.NoError(w.t, err, "blip: partition %s", owner.Name)
	w.mon.CutOff(owner.InstanceID, t0)
	d := time.Duration(500+c.rng.Intn(1500)) * time.Millisecond
	w.hold(d, fmt.Sprintf("healthy owner %s not fenced during a %s blip", owner.Name, d), w.notFenced(owner, t0))
	w.heal(owner.Name)
	w.hold(quietAfter, fmt.Sprintf("healthy owner %s not fenced after a %s blip", owner.Name, d), w.notFenced(owner, t0))
	c.blips++
	return fmt.Sprintf("blip: owner %s cut off everyone for %s", owner.Name, d)
}

// cutEtcd cuts one host off etcd (everything else works) for longer than its
// session's TTL, then heals it: the owner (its lease expires, but it serves
// and every probe reaches it), the leader (it must stop acting once its
// session is gone, and another leads), or a peer. The healthy owner may not
// be fenced, nor its volume moved.
func (c *chaos) cutEtcd() string {
	w := c.w
	if c.noPartition {
		return "no etcd cut (partitions unsupported)"
	}
	owner := c.owner()
	target, role := owner.Name, "owner"
	switch c.rng.Intn(3) {
	case 0:
		if l := w.hostOf(w.leader()); l != "" {
			target, role = l, "leader"
		}
	case 1:
		target, role = c.peer(), "peer"
	}
	t0 := time.Now()
	err := w.sb.PartitionFromEtcd(w.ctx, target)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		c.noPartition = true
		w.t.Logf("chaos: partitions skipped: %v", err)
		return "no etcd cut (partitions unsupported)"
	}
	require.NoError(w.t, err, "cut %s off etcd", target)
	w.mon.Note("chaos cut %s off etcd", target)
	hold := pairCutHold + time.Duration(c.rng.Intn(1000))*time.Millisecond
	w.hold(hold, fmt.Sprintf("healthy owner %s not fenced while %s %s is cut off etcd", owner.Name, role, target), w.notFenced(owner, t0))
	require.NoError(w.t, w.sb.HealFromEtcd(w.ctx, target), "heal %s's etcd link", target)
	w.mon.Note("chaos healed %s's etcd link", target)
	w.hold(quietAfter, fmt.Sprintf("healthy owner %s not fenced after %s's etcd cut", owner.Name, target), w.notFenced(owner, t0))
	c.etcdCuts++
	return fmt.Sprintf("cut %s %s off etcd for %s", role, target, hold.Round(time.Millisecond))
}

// cutOwnerLink cuts one host's link to the owner, which stays healthy
// (reachable from the rest of its AZ), for longer than the leader's probes
// need to reach the threshold, then heals it: the leader's link both ways or
// one way (it alone cannot reach the owner), or a peer's (a witness cannot).
// Nothing may fence the owner or move its volume meanwhile.
func (c *chaos) cutOwnerLink() string {
	w := c.w
	if c.noPartition {
		return "no link cut (partitions unsupported)"
	}
	owner := c.owner()
	from, oneWay := w.hostOf(w.leader()), c.rng.Intn(2) == 0
	if from == "" || from == owner.Name || c.rng.Intn(3) == 0 {
		from, oneWay = c.peer(), false
	}
	cut, heal, arrow := w.sb.PartitionPair, w.sb.HealPair, "<->"
	if oneWay {
		cut, heal, arrow = w.sb.PartitionOneWay, w.sb.HealOneWay, "->"
	}
	role := "peer"
	if w.host(from).InstanceID == w.leader() {
		role = "leader"
	}
	t0 := time.Now()
	err := cut(w.ctx, from, owner.Name)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		c.noPartition = true
		w.t.Logf("chaos: partitions skipped: %v", err)
		return "no link cut (partitions unsupported)"
	}
	require.NoError(w.t, err, "cut %s %s %s", from, arrow, owner.Name)
	w.mon.Note("chaos cut %s %s %s", from, arrow, owner.Name)
	hold := pairCutHold + time.Duration(c.rng.Intn(1000))*time.Millisecond
	w.hold(hold, fmt.Sprintf("healthy owner %s not fenced while %s %s %s is cut", owner.Name, from, arrow, owner.Name), w.notFenced(owner, t0))
	require.NoError(w.t, heal(w.ctx, from, owner.Name), "heal %s %s %s", from, arrow, owner.Name)
	w.mon.Note("chaos healed %s %s %s", from, arrow, owner.Name)
	w.hold(quietAfter, fmt.Sprintf("healthy owner %s not fenced after the cut %s %s %s", owner.Name, from, arrow, owner.Name), w.notFenced(owner, t0))
	c.linkCuts++
	return fmt.Sprintf("cut %s %s %s %s (owner) for %s", role, from, arrow, owner.Name, hold.Round(time.Millisecond))
}

// repair heals partitions, revives dead hosts, clears EC2 faults and waits
// until every host's controller is registered and healthy again.
func (c *chaos) repair() {
	w := c.w
	w.sb.EC2().ClearFaults()
	c.repairEtcd()
	for h := range c.cut {
		w.heal(h)
		delete(c.cut, h)
	}
	for _, h := range w.sb.Hosts() {
		// A partitioned owner was fenced meanwhile: its host is down too.
		if c.down[h.Name] || w.sb.EC2().InstanceState(h.InstanceID) == "stopped" {
			err := w.sb.ReviveHost(w.ctx, h.Name)
			if err != nil && strings.Contains(err.Error(), "not down") {
				continue
			}
			require.NoError(w.t, err, "revive %s", h.Name)
			w.mon.Note("chaos revived %s", h.Name)
		}
		delete(c.down, h.Name)
	}
	total := int64(len(w.sb.Hosts()))
	w.waitFor(30*time.Second, "every controller registered after the repair", func() (bool, string) {
		n := w.count(w.keys.Hosts())
		return n == total && w.leader() != "", fmt.Sprintf("%d of %d registered, leader %q", n, total, w.leader())
	})
	require.NoError(w.t, w.sb.WaitControllers(w.ctx), "controllers healthy after the repair")
}

// printFalseFailovers prints the false failovers (owner healthy by the
// harness's truth, or down only through a blip of shortBlip or less) beside
// the failovers completed, as a rate.
func (c *chaos) printFalseFailovers(b *strings.Builder, failovers int) {
	falses, err := c.w.mon.FalseFailovers(shortBlip)
	if err != nil {
		fmt.Fprintf(b, "false failovers: not judged (%v)\n", err)
		return
	}
	rate := "n/a"
	if failovers > 0 {
		rate = fmt.Sprintf("%.1f%%", 100*float64(len(falses))/float64(failovers))
	}
	fmt.Fprintf(b, "false failovers: %d of %d failovers completed (rate %s; owner healthy, or down only through a fault of %s or less)\n",
		len(falses), failovers, rate, shortBlip)
	for _, f := range falses {
		fmt.Fprintf(b, "  %s %s of %s from %s: %s\n", f.At.Format("15:04:05.000"), f.ID, f.Volume, f.Owner, f.Why)
	}
}

// printTable prints what a chaos run did and found (make chaos shows it; the
// columns are described in docs/sandbox.md): the faults injected by kind, the
// checks run by invariant, the moves completed, and every violation with the
// seed that replays it.
func (c *chaos) printTable(seed int64, dur time.Duration, rounds int, byFault map[string]int, rep history.Report, rows int) {
	w := c.w
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos summary: seed %d, duration %s, %d rounds (replay: make chaos SEED=%d DURATION=%s)\n", seed, dur, rounds, seed, dur)

	fmt.Fprintf(&b, "\nfaults injected, by kind\n  %-28s %6s\n", "chaos round", "rounds")
	kinds := make([]string, 0, len(byFault))
	for k := range byFault {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-28s %6d\n", k, byFault[k])
	}
	windows := map[string]int{}
	for _, f := range w.sb.Faults() {
		windows[f.Kind]++
	}
	fmt.Fprintf(&b, "  %-28s %6s\n", "sandbox fault window", "count")
	kinds = kinds[:0]
	for k := range windows {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-28s %6d\n", k, windows[k])
	}

	looks, muts := w.mon.Stats()
	fmt.Fprintf(&b, "\ninvariant checks run, by invariant\n  %-4s %-40s %10s\n", "inv", "check", "judgements")
	fmt.Fprintf(&b, "  %-4d %-40s %10d\n", 1, "one attachment (world, each look)", looks)
	fmt.Fprintf(&b, "  %-4d %-40s %10d\n", 2, "one postgres (world, each look)", looks)
	fmt.Fprintf(&b, "  %-4d %-40s %10d\n", 3, "acknowledged rows read back", rows)
	fmt.Fprintf(&b, "  %-4d %-40s %10d\n", 4, "mutations vs session (monitor)", muts)
	fmt.Fprintf(&b, "  %-4d %-40s %10d\n", 5, "pause and cooldown (world, each look)", looks)
	for _, r := range history.Rules {
		fmt.Fprintf(&b, "  %-4d %-40s %10d\n", r.Invariant(), string(r)+" (history)", rep.Judged[r])
	}

	done := map[state.Kind]int{}
	for _, r := range w.mon.Records() {
		if !r.Finished.IsZero() && r.Abandoned == "" {
			done[r.Kind]++
		}
	}
	fmt.Fprintf(&b, "\nmoves completed: %d failovers, %d switchovers\n", done[state.KindFailover], done[state.KindSwitchover])
	c.printFalseFailovers(&b, done[state.KindFailover])

	fmt.Fprintf(&b, "\nviolations (replay with make chaos SEED=%d)\n", seed)
	n := 0
	if v := w.mon.Violation(); v != nil {
		fmt.Fprintf(&b, "  invariant %s at %s: %s\n", v.Invariant, v.At.Format("15:04:05.000"), v.Detail)
		n++
	}
	for _, v := range rep.Violations {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(v.String(), "\n", "\n  "))
		n++
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	fmt.Print(b.String())
}

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/state"
)

// ScaleConfig sizes the scale benchmark.
type ScaleConfig struct {
	// Dir holds etcd's data and the agents' logs; required.
	Dir string
	// VolfailoverBin is the built volfailover binary; required.
	VolfailoverBin string
	// Volumes is the number of managed volumes, one per owner host; default 1000.
	Volumes int
	// Outage is how many owner hosts of the first zone die at once; as many
	// spare hosts wait there as targets. Default 300; 0 skips the outage.
	Outage int
	// Profile is ec2sim's latency profile; default aws-typical.
	Profile ec2sim.Profile
	// Throttle arms a sticky throttling fault on every first SDK attempt during the outage.
	Throttle bool
	// Buckets turns ec2sim's request-token buckets on or off (ec2sim.BucketsOn,
	// ec2sim.BucketsOff); default the profile's: on for aws-typical.
	Buckets string
	// BackgroundLoad is the share of every bucket other tools of the account
	// use (ec2sim.Throttling.BackgroundLoad); default 0.
	BackgroundLoad float64
	// WarmUp is how long the leader runs before the steady window; default 10s.
	WarmUp time.Duration
	// Window is the steady-state measurement window; default 30s.
	Window time.Duration
	// OutageTimeout bounds the wait for every volume to be served again; default 5m.
	OutageTimeout time.Duration
	// SessionTTL is the agents' and the simulated hosts' etcd lease; default 10s.
	SessionTTL time.Duration
	// Net is the second octet of the host addresses 127.<Net>.x.y; default 21.
	Net int
	// Perf samples the leader with Linux perf during the steady window and
	// the outage, when perf is installed.
	Perf bool
	// Logger receives the harness's progress.
	Logger zerolog.Logger
}

func (c *ScaleConfig) defaults() error {
	if c.Dir == "" || c.VolfailoverBin == "" {
		return fmt.Errorf("scale config: Dir %q and VolfailoverBin %q are required", c.Dir, c.VolfailoverBin)
	}
	if c.Volumes == 0 {
		c.Volumes = 1000
	}
	if c.Profile == "" {
		c.Profile = ec2sim.ProfileAWSTypical
	}
	if c.WarmUp == 0 {
		c.WarmUp = 10 * time.Second
	}
	if c.Window == 0 {
		c.Window = 30 * time.Second
	}
	if c.OutageTimeout == 0 {
		c.OutageTimeout = 5 * time.Minute
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 10 * time.Second
	}
	if c.Net == 0 {
		c.Net = 21
	}
	switch {
	case c.Volumes < 3:
		return fmt.Errorf("scale config: Volumes %d: want at least 3 (one per zone)", c.Volumes)
	case c.Outage < 0 || c.Outage > (c.Volumes+2)/3-1:
		return fmt.Errorf("scale config: Outage %d: want 0..%d (owners of the first zone, the leader's zone excluded)", c.Outage, (c.Volumes+2)/3-1)
	case c.Net < 2 || c.Net > 254:
		return fmt.Errorf("scale config: Net %d: want 2..254", c.Net)
	case c.SessionTTL%time.Second != 0:
		return fmt.Errorf("scale config: SessionTTL %s: want whole seconds", c.SessionTTL)
	}
	if _, err := ec2sim.ThrottlingFor(c.Profile, c.Buckets, c.BackgroundLoad); err != nil {
		return fmt.Errorf("scale config: Buckets %q, BackgroundLoad %v: %w", c.Buckets, c.BackgroundLoad, err)
	}
	return nil
}

// ScaleResult is what the scale benchmark measured.
type ScaleResult struct {
	Volumes          int           `json:"volumes"`
	Hosts            int           `json:"hosts"`
	SimulatedHosts   int           `json:"simulatedHosts"`
	Profile          string        `json:"profile"`
	Steady           Steady        `json:"steady"`
	Follower         Usage         `json:"idleFollower"`
	Outage           *Outage       `json:"outage,omitempty"`
	LeaderPeakRSSMiB float64       `json:"leaderPeakRssMiB"`
	Profiles         []*CPUProfile `json:"leaderCpuProfiles,omitempty"`
	// Run is when and from which commit these results were measured.
	Run RunInfo `json:"run"`
}

// Steady is the leader's steady state, per reconcile round.
type Steady struct {
	Rounds             int            `json:"rounds"`
	EC2CallsPerRound   float64        `json:"ec2CallsPerRound"`
	EC2MaxPerRound     int            `json:"ec2CallsMaxPerRound"`
	FleetCallsPerRound float64        `json:"fleetCallsPerRound"`
	EC2ByAction        map[string]int `json:"ec2ByAction"`
	FleetByPath        map[string]int `json:"fleetByPath"`
	Mutations          int            `json:"mutations"`
	RoundDuration      Summary        `json:"roundDuration"`
	// ReadPhase is the round's first DescribeVolumes → its last EC2 or fleet read.
	ReadPhase Summary `json:"readPhase"`
	// RoundPeriod is the time between consecutive rounds' first calls; the
	// reconcile ticker makes it at least the probe interval (1 s).
	RoundPeriod Summary `json:"roundPeriod"`
	// RoundsShort counts rounds in which fewer probes arrived than owners
	// probed (one lost or timed out); they are in RoundDuration all the same.
	RoundsShort int `json:"roundsShort"`
	// Budget is the window's EC2 calls per second by request bucket.
	Budget []BucketUse `json:"budget,omitempty"`
	Leader Usage       `json:"leader"`
}

// BucketUse is one request bucket's share of its refill rate.
type BucketUse struct {
	Bucket          string  `json:"bucket"`
	Calls           int     `json:"calls"`
	PerSecond       float64 `json:"perSecond"`
	RefillPerSecond float64 `json:"refillPerSecond"`
	// Share is PerSecond / RefillPerSecond (AWS's published rate, no background load).
	Share    float64 `json:"share"`
	Mutating bool    `json:"mutating"`
}

// Outage is the AZ outage: many owners die at once.
type Outage struct {
	Killed         int            `json:"killed"`
	Throttle       bool           `json:"throttle"`
	Completed      bool           `json:"completed"`
	Served         int            `json:"served"`
	AllServedMs    float64        `json:"allServedMs"`
	PerVolume      Summary        `json:"perVolume"`
	Detection      Summary        `json:"detection"`
	EC2Calls       int            `json:"ec2Calls"`
	Throttled      int            `json:"throttledCalls"`
	EC2ByAction    map[string]int `json:"ec2ByAction"`
	MaxAttachments int            `json:"maxAttachmentsPerVolume"`
	Leader         Usage          `json:"leader"`
	// Buckets says whether ec2sim's request-token buckets were on, and
	// BackgroundLoad the share of each left to other tools.
	Buckets        bool    `json:"buckets"`
	BackgroundLoad float64 `json:"backgroundLoad"`
	// Floor is the paper floor at this run's background load, FloorNoLoad
	// without background load (budget.go).
	Floor       PaperFloor `json:"paperFloor"`
	FloorNoLoad PaperFloor `json:"paperFloorNoLoad"`
	// MostThrottlesPerCall is the most RequestLimitExceeded answers one SDK
	// call (all its attempts) got; CallsThrottledOverTwice how many calls got
	// more than two.
	MostThrottlesPerCall    int `json:"mostThrottlesPerCall"`
	CallsThrottledOverTwice int `json:"callsThrottledOverTwice"`
	// ServedS is when each volume was served again, in seconds since the
	// outage began, in order.
	ServedS []float64 `json:"servedS"`
	// Tokens is the tokens left per request bucket, one point a second.
	Tokens map[string][]Point `json:"tokens,omitempty"`
}

// RunScale runs the scale benchmark: a real leader over cfg.Volumes volumes,
// a steady window, then the AZ outage.
func RunScale(ctx context.Context, cfg ScaleConfig) (*ScaleResult, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	hosts := layout(cfg.Volumes, cfg.Outage, cfg.Outage, cfg.Net)
	log.Info().Int("hosts", len(hosts)).Int("volumes", cfg.Volumes).Msg("scale: starting the world")
	throt, err := ec2sim.ThrottlingFor(cfg.Profile, cfg.Buckets, cfg.BackgroundLoad)
	if err != nil {
		return nil, err
	}
	throt.SampleEvery = time.Second
	w, err := startWorld(ctx, cfg.Dir, hosts, cfg.Profile, throt, cfg.SessionTTL, log)
	if err != nil {
		return nil, err
	}
	defer w.close(ctx)
	if err := waitUntil(ctx, 2*time.Minute, "fleetsim to run every Postgres unit on its owner", func() bool {
		for _, h := range hosts {
			if h.Volume != "" {
				if m, ok := w.fleet.Assignment(unitName(h.Volume)); !ok || m != h.Machine {
					return false
				}
				if a, _ := w.fleet.Executor().Status(h.Machine, unitName(h.Volume)); a != "active" {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return nil, err
	}

	leaderHost, followerHost := hosts[1], hosts[len(hosts)-1]
	leader, err := StartAgent(cfg.VolfailoverBin, leaderHost.Instance, filepath.Join(cfg.Dir, "leader.log"), w.agentArgs(leaderHost, cfg.SessionTTL))
	if err != nil {
		return nil, err
	}
	defer leader.Stop(ctx, 10*time.Second)
	err = waitUntil(ctx, time.Minute, "the real agent to lead and finish its first round", func() bool {
		if done, _ := leader.Exited(); done {
			return true
		}
		id, _ := leaderID(ctx, w.cli, w.keys)
		return id == leaderHost.Instance && len(w.ec2.Journal()) > 0
	})
	if done, xerr := leader.Exited(); done {
		err = fmt.Errorf("leader exited: %v", xerr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w; leader log ends:\n%s", err, tail(filepath.Join(cfg.Dir, "leader.log"), 2000))
	}
	follower, err := StartAgent(cfg.VolfailoverBin, followerHost.Instance, filepath.Join(cfg.Dir, "follower.log"), w.agentArgs(followerHost, cfg.SessionTTL))
	if err != nil {
		return nil, err
	}
	defer follower.Stop(ctx, 10*time.Second)
	if err := waitUntil(ctx, time.Minute, "the follower to register", func() bool {
		r, err := w.cli.Get(ctx, w.keys.Host(followerHost.Instance))
		return err == nil && len(r.Kvs) == 1
	}); err != nil {
		return nil, err
	}
	log.Info().Dur("warmup", cfg.WarmUp).Msg("scale: leader elected; warming up")
	if err := pause(ctx, cfg.WarmUp); err != nil {
		return nil, err
	}

	res := &ScaleResult{Volumes: cfg.Volumes, Hosts: len(hosts), SimulatedHosts: len(hosts) - 2, Profile: string(cfg.Profile)}
	prof := w.profiler(ctx, cfg, leader.PID())
	stopProf := prof("steady state", cfg.Window)
	res.Steady, res.Follower, err = w.steady(ctx, leader, follower, leaderHost.IP, cfg.Window)
	if p := stopProf(); p != nil {
		res.Profiles = append(res.Profiles, p)
	}
	if err != nil {
		return nil, err
	}
	log.Info().Float64("ec2PerRound", res.Steady.EC2CallsPerRound).Float64("roundP50ms", res.Steady.RoundDuration.P50ms).Msg("scale: steady state measured")
	if cfg.Outage > 0 {
		stopProf := prof("AZ outage, first 30 s", 30*time.Second)
		res.Outage, err = w.outage(ctx, leader, cfg)
		if p := stopProf(); p != nil {
			res.Profiles = append(res.Profiles, p)
		}
		if err != nil {
			return nil, err
		}
	}
	if s, err := ReadProc(leader.PID()); err == nil {
		res.LeaderPeakRSSMiB = round1(float64(s.PeakKiB) / 1024)
	}
	if done, err := leader.Exited(); done {
		return res, fmt.Errorf("leader exited during the benchmark: %v (log %s)", err, filepath.Join(cfg.Dir, "leader.log"))
	}
	return res, nil
}

// profiler returns a function that starts sampling pid for d in the
// background and returns a function that waits for the profile (nil when
// perf is off or failed; the failure is logged).
func (w *world) profiler(ctx context.Context, cfg ScaleConfig, pid int) func(window string, d time.Duration) func() *CPUProfile {
	return func(window string, d time.Duration) func() *CPUProfile {
		if !cfg.Perf || !PerfAvailable() {
			return func() *CPUProfile { return nil }
		}
		ch := make(chan *CPUProfile, 1)
		path := filepath.Join(cfg.Dir, fmt.Sprintf("leader-%d.perf.data", time.Now().UnixNano()))
		go func() {
			p, err := recordPerf(ctx, pid, d, path, window)
			if err != nil {
				cfg.Logger.Warn().Err(err).Msg("scale: no CPU profile")
			}
			ch <- p
		}()
		return func() *CPUProfile { return <-ch }
	}
}

// agentArgs are the flags of a real agent on host h.
func (w *world) agentArgs(h simHost, ttl time.Duration) []string {
	return []string{
		"--etcd-endpoints", w.etcdURL, "--ec2-endpoint", w.ec2URL, "--fleet-endpoint", w.fleetURL,
		"--aws-region", region, "--instance-id", h.Instance, "--availability-zone", h.AZ,
		"--private-ip", h.IP, "--machine-id", h.Machine,
		"--listen-address", fmt.Sprintf("%s:%d", h.IP, agentPort),
		"--session-ttl", ttl.String(), "--log-level", "info",
	}
}

// steady measures one window of the leader's steady state and the follower's idle cost.
func (w *world) steady(ctx context.Context, leader, follower *Agent, leaderIP string, window time.Duration) (Steady, Usage, error) {
	var st Steady
	w.ec2.ResetJournal()
	w.fleet.ResetJournal()
	w.probes.Reset()
	l0, err := ReadProc(leader.PID())
	if err != nil {
		return st, Usage{}, err
	}
	f0, err := ReadProc(follower.PID())
	if err != nil {
		return st, Usage{}, err
	}
	if err := pause(ctx, window); err != nil {
		return st, Usage{}, err
	}
	l1, err := ReadProc(leader.PID())
	if err != nil {
		return st, Usage{}, err
	}
	f1, err := ReadProc(follower.PID())
	if err != nil {
		return st, Usage{}, err
	}
	st.Leader = UsageBetween(l0, l1)
	calls := w.ec2.Journal()
	freqs := w.fleet.Journal()

	var starts []time.Time
	for _, c := range calls {
		if c.Action == "DescribeVolumes" && c.Params.Get("NextToken") == "" {
			starts = append(starts, c.Time)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	if len(starts) < 2 {
		var seen []string
		for _, c := range calls {
			seen = append(seen, c.Time.Format("15:04:05.000")+" "+c.Action+" "+c.Code)
		}
		return st, Usage{}, fmt.Errorf("steady state: %d round starts seen in %s, want at least 2; EC2 calls: %s", len(starts), window, strings.Join(seen, "; "))
	}
	st.EC2ByAction, st.FleetByPath = map[string]int{}, map[string]int{}
	var durs, reads, periods []time.Duration
	ec2Total, fleetTotal := 0, 0
	// A round probes every owner twice (Postgres and /healthz), from the
	// leader's address, after its reads; rounds run one after the other. The
	// probe log sees both probes of a simulated owner, and only the Postgres
	// stand-in of an owner that runs a real agent (its /healthz is the agent's).
	perRound := 0
	for _, h := range w.hosts {
		if h.Volume != "" {
			perRound += 2
			if h.Real {
				perRound--
			}
		}
	}
	for k := 0; k+1 < len(starts); k++ {
		from, to := starts[k], starts[k+1]
		n := 0
		readEnd := from
		for _, c := range calls {
			if !c.Time.Before(from) && c.Time.Before(to) {
				n++
				readEnd = later(readEnd, c.Time)
				st.EC2ByAction[c.Action]++
				if c.Mutating() {
					st.Mutations++
				}
			}
		}
		ec2Total += n
		st.EC2MaxPerRound = max(st.EC2MaxPerRound, n)
		for _, r := range freqs {
			if !r.Time.Before(from) && r.Time.Before(to) {
				fleetTotal++
				readEnd = later(readEnd, r.Time)
				st.FleetByPath[r.Method+" "+pathShape(r.Path)]++
			}
		}
		reads = append(reads, readEnd.Sub(from))
		periods = append(periods, to.Sub(from))
		durs = append(durs, w.roundEnd(&st, from, to, readEnd, leaderIP, perRound).Sub(from))
	}
	st.Rounds = len(starts) - 1
	st.EC2CallsPerRound = round1(float64(ec2Total) / float64(st.Rounds))
	st.FleetCallsPerRound = round1(float64(fleetTotal) / float64(st.Rounds))
	st.RoundDuration, st.ReadPhase, st.RoundPeriod = Summarize(durs), Summarize(reads), Summarize(periods)
	st.Budget = budgetUse(calls, window)
	return st, UsageBetween(f0, f1), nil
}

// roundEnd is when the round started at from ended: at its perRound-th
// probe from the leader's address, or its last EC2 or fleet call if later.
// Rounds run one after another (the next starts once this one's probes and
// decisions are done), so a round's probes all arrive before the next round
// starts (to), and every round counts, at most at its full length to. A round
// with fewer probes than owners probed (one lost or timed out) ends at its
// last probe and is tallied as short. The leader's own witness probes, if any
// fall in the round, make the end at most that many probes early.
func (w *world) roundEnd(st *Steady, from, to, readEnd time.Time, leaderIP string, perRound int) time.Time {
	end, complete := w.probes.NthIn(from, to, leaderIP, perRound)
	if !complete {
		st.RoundsShort++
	}
	return later(end, readEnd)
}

// budgetUse is the steady state's EC2 calls per second by request bucket,
// against each bucket's published refill rate.
func budgetUse(calls []ec2sim.Call, window time.Duration) []BucketUse {
	n := map[string]int{}
	for _, c := range calls {
		n[ec2sim.BucketOf(c.Action, c.Params)]++
	}
	out := make([]BucketUse, 0, len(n))
	for b, k := range n {
		l := ec2sim.PublishedLimit(b)
		rate := float64(k) / window.Seconds()
		out = append(out, BucketUse{Bucket: b, Calls: k, PerSecond: round2(rate), RefillPerSecond: l.Refill,
			Share: round2(rate / l.Refill), Mutating: ec2sim.Call{Action: b}.Mutating()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// pathShape folds IDs out of a fleet path so calls group by endpoint.
func pathShape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.Contains(s, "@") || len(s) == 32 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// outage kills the doomed owners at once and waits until every volume is
// served again: attached to exactly one live instance and its unit active
// on that instance's machine.
func (w *world) outage(ctx context.Context, leader *Agent, cfg ScaleConfig) (*Outage, error) {
	var doomed []simHost
	machineOf := map[string]string{}
	deadInst, doomedVol := map[string]bool{}, map[string]bool{}
	for _, h := range w.hosts {
		machineOf[h.Instance] = h.Machine
		if h.Doomed {
			doomed = append(doomed, h)
			deadInst[h.Instance] = true
			doomedVol[h.Volume] = true
		}
	}
	thr := w.ec2.ThrottlingConfig()
	o := &Outage{Killed: len(doomed), Throttle: cfg.Throttle, Buckets: thr.Enabled, BackgroundLoad: thr.BackgroundLoad,
		Floor: NewPaperFloor(len(doomed), thr.BackgroundLoad, cfg.Profile), FloorNoLoad: NewPaperFloor(len(doomed), 0, cfg.Profile)}
	if cfg.Throttle {
		w.ec2.Arm(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Sticky: true, Attempt: 1})
	}
	w.ec2.ResetJournal()
	l0, err := ReadProc(leader.PID())
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := w.kill(doomed); err != nil {
		return nil, err
	}
	cfg.Logger.Info().Int("killed", len(doomed)).Msg("scale: AZ outage started")
	served := map[string]time.Duration{}
	deadline := time.NewTimer(cfg.OutageTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for len(served) < len(doomed) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			cfg.Logger.Warn().Int("served", len(served)).Msg("scale: outage timed out")
			goto done
		case <-tick.C:
		}
		vols := w.ec2.Volumes()
		now := time.Now()
		for _, v := range vols {
			o.MaxAttachments = max(o.MaxAttachments, len(v.Attachments))
			if _, ok := served[v.ID]; ok || !doomedVol[v.ID] || len(v.Attachments) != 1 {
				continue
			}
			a := v.Attachments[0]
			if a.State != "attached" || deadInst[a.InstanceID] {
				continue
			}
			m := machineOf[a.InstanceID]
			if got, ok := w.fleet.Assignment(unitName(v.ID)); !ok || got != m {
				continue
			}
			if act, _ := w.fleet.Executor().Status(m, unitName(v.ID)); act == "active" {
				served[v.ID] = now.Sub(t0)
			}
		}
	}
done:
	o.Completed = len(served) == len(doomed)
	o.Served = len(served)
	var per []time.Duration
	var last time.Duration
	for _, d := range served {
		per = append(per, d)
		last = max(last, d)
	}
	o.PerVolume = Summarize(per)
	o.ServedS = servedCurve(served)
	if o.Completed {
		o.AllServedMs = ms(last)
	}
	l1, err := ReadProc(leader.PID())
	if err != nil {
		return nil, err
	}
	o.Leader = UsageBetween(l0, l1)
	o.EC2ByAction = map[string]int{}
	journal := w.ec2.Journal()
	o.MostThrottlesPerCall, o.CallsThrottledOverTwice = throttlesPerCall(journal, 2)
	o.Tokens = tokenSeries(w.ec2.TokenSamples(), t0)
	for _, c := range journal {
		o.EC2Calls++
		o.EC2ByAction[c.Action]++
		if c.Code == "RequestLimitExceeded" {
			o.Throttled++
		}
	}
	w.ec2.ClearFaults()
	if o.Detection, err = w.detection(ctx, t0); err != nil {
		return nil, err
	}
	return o, nil
}

// detection reads the failover records (journal and history) created after
// t0 and summarises how long after t0 each was planned.
func (w *world) detection(ctx context.Context, t0 time.Time) (Summary, error) {
	var ds []time.Duration
	for _, prefix := range []string{w.keys.Journal(), w.keys.History()} {
		resp, err := w.cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return Summary{}, fmt.Errorf("read failover records under %s: %w", prefix, err)
		}
		for _, kv := range resp.Kvs {
			r, err := state.ParseRecord(kv.Value, kv.CreateRevision)
			if err != nil || r.Created.Before(t0) {
				continue
			}
			ds = append(ds, r.Created.Sub(t0))
		}
	}
	return Summarize(ds), nil
}

// leaderID returns the instance holding the election, "" when none does.
func leaderID(ctx context.Context, cli *clientv3.Client, keys state.Keys) (string, error) {
	resp, err := cli.Get(ctx, keys.Election()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("read election %s: %w", keys.Election(), err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// waitUntil polls cond every 50 ms until it holds, ctx ends or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited %s for %s: %w", timeout, what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// pause lets a measurement window pass (it synchronises nothing).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

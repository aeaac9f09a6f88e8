package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/state"
)

const (
	testVolume   = "vol-0123456789abcdef0"
	testUnit     = "postgres@" + testVolume + ".service"
	testTemplate = "postgres@.service"
	unitText     = "[Service]\nExecStart=/usr/bin/postgres -D /data/%i\n\n[X-Fleet]\nMachineMetadata=postgres=%i\nConflicts=postgres*\n"
)

// recPager records pages, standing in for the alert outbox.
type recPager struct {
	mu     sync.Mutex
	events []alert.Event
}

func (p *recPager) Page(_ context.Context, ev alert.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	return nil
}

func (p *recPager) has(kind alert.Kind) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range p.events {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}

// count is the number of pages of kind with action.
func (p *recPager) count(kind alert.Kind, action alert.Action) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range p.events {
		if ev.Kind == kind && ev.Action == action {
			n++
		}
	}
	return n
}

// openIncidents lists the dedup keys with the prefix whose last page is a trigger.
func (p *recPager) openIncidents(prefix string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := map[string]alert.Action{}
	for _, ev := range p.events {
		if strings.HasPrefix(ev.DedupKey, prefix) {
			last[ev.DedupKey] = ev.Action
		}
	}
	var open []string
	for k, a := range last {
		if a == alert.ActionTrigger {
			open = append(open, k)
		}
	}
	return open
}

// waitPage waits for the first page of kind with action and returns it.
func (c *cluster) waitPage(kind alert.Kind, action alert.Action, within time.Duration) alert.Event {
	c.t.Helper()
	var found alert.Event
	require.Eventually(c.t, func() bool {
		c.pager.mu.Lock()
		defer c.pager.mu.Unlock()
		for _, ev := range c.pager.events {
			if ev.Kind == kind && ev.Action == action {
				found = ev
				return true
			}
		}
		return false
	}, within, 20*time.Millisecond, "waiting for a %s %s page", kind, action)
	return found
}

// mutRecorder sits in front of an emulator for ONE controller instance and
// records the mutating requests that instance sends, so tests can attribute
// every EC2 and fleet mutation to the instance that made it.
type mutRecorder struct {
	mu    sync.Mutex
	calls []string
}

var ec2Mutations = []string{"AttachVolume", "DetachVolume", "StopInstances", "CreateTags"}

func (r *mutRecorder) wrapEC2(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if a := form.Get("Action"); slices.Contains(ec2Mutations, a) && form.Get("DryRun") != "true" {
			r.add("ec2:" + a)
		}
		h.ServeHTTP(w, req)
	})
}

func (r *mutRecorder) wrapFleet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			r.add("fleet:" + req.Method + " " + req.URL.Path)
		}
		h.ServeHTTP(w, req)
	})
}

func (r *mutRecorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *mutRecorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type host struct {
	n                   int
	id, machine, az, ip string
	pg                  *pgStub
	cli                 *clientv3.Client
	ctrl                *Controller
	cancel              context.CancelFunc
	done                chan struct{}
	rec                 *mutRecorder
	ec2Srv, fleetSrv    *httptest.Server
	stopped             bool
}

type clusterSpec struct {
	azs    []string                  // one per host; the LAST host owns the volume
	mutate func(h *host, o *Options) // applied to every instance's options
	// unattached seeds the volume attached nowhere (the owner's machine still carries its metadata).
	unattached bool
	// staleOn, if > 0, also puts the volume's metadata on host staleOn (1-based).
	staleOn int
	// latencies replaces the instant profile's EC2 transition delays.
	latencies *ec2sim.Latencies
	// deps, if set, completes every instance's dependencies (a real outbox, a status source).
	deps func(h *host, d *Deps)
	// fleet, if set, adjusts fleetsim's timing before it starts.
	fleet func(o *fleetsim.Options)
}

type cluster struct {
	t      *testing.T
	prefix string
	keys   state.Keys
	ec2    *ec2sim.Sim
	fleet  *fleetsim.Sim
	admin  *clientv3.Client
	fc     *fleet.Client
	pgPort int
	pager  *recPager
	// logs checks every log line of every instance for a key given twice.
	logs  *dupKeyWriter
	hosts []*host
	spec  clusterSpec
}

var prefixSeq struct {
	sync.Mutex
	n int
}

func newCluster(t *testing.T, spec clusterSpec) *cluster {
	t.Helper()
	prefixSeq.Lock()
	prefixSeq.n++
	prefix := fmt.Sprintf("/t%d", prefixSeq.n)
	prefixSeq.Unlock()
	c := &cluster{t: t, prefix: prefix, keys: state.Keys{Prefix: prefix}, pager: &recPager{}, spec: spec,
		logs: &dupKeyWriter{next: zerolog.NewTestWriter(t)}}
	t.Cleanup(func() {
		require.Empty(t, c.logs.duplicates(), "log lines with a key given twice (issue 15 §4)")
	})

	var err error
	c.ec2, err = ec2sim.New(ec2sim.Options{Profile: ec2sim.ProfileInstant, Latencies: spec.latencies})
	require.NoError(t, err)
	t.Cleanup(c.ec2.Close)
	// fleet's intervals and watch sleeps, shortened on purpose; a stopped
	// unit's state still goes about a second after the stop, as in fleet.
	fo := fleetsim.Options{MachineTTL: time.Second, EngineInterval: 100 * time.Millisecond,
		AgentInterval: 200 * time.Millisecond, StatePollInterval: 50 * time.Millisecond,
		EngineWatchSleep: 50 * time.Millisecond, AgentWatchSleep: 50 * time.Millisecond}
	if spec.fleet != nil {
		spec.fleet(&fo)
	}
	c.fleet, err = fleetsim.New(fo)
	require.NoError(t, err)
	c.fleet.Start()
	t.Cleanup(c.fleet.Close)
	fsrv := httptest.NewServer(c.fleet)
	t.Cleanup(fsrv.Close)
	fcfg := fleet.DefaultConfig()
	fcfg.Endpoint, fcfg.RetryMax = fsrv.URL, 1
	c.fc, err = fleet.NewClient(fcfg)
	require.NoError(t, err)

	stubs := startPGStubs(t, len(spec.azs))
	seed := &ec2sim.Seed{}
	owner := len(spec.azs)
	for i, az := range spec.azs {
		n := i + 1
		h := &host{n: n, id: fmt.Sprintf("i-%017x", 0xa00+n), machine: fmt.Sprintf("%032x", 0xb00+n), az: az,
			ip: fmt.Sprintf("127.0.1.%d", n), rec: &mutRecorder{}, pg: stubs[i]}
		c.pgPort = stubs[i].port
		c.hosts = append(c.hosts, h)
		seed.Instances = append(seed.Instances, ec2sim.SeedInstance{ID: h.id, AZ: az, PrivateIP: h.ip, State: "running"})
		var md map[string]string
		if n == owner || n == spec.staleOn {
			md = map[string]string{"postgres": testVolume}
		}
		require.NoError(t, c.fleet.AddMachine(h.machine, h.ip, md))
		h.ec2Srv = httptest.NewServer(h.rec.wrapEC2(c.ec2))
		t.Cleanup(h.ec2Srv.Close)
		h.fleetSrv = httptest.NewServer(h.rec.wrapFleet(c.fleet))
		t.Cleanup(h.fleetSrv.Close)
	}
	own := c.hosts[owner-1]
	seed.Volumes = []ec2sim.SeedVolume{{ID: testVolume, AZ: own.az, Size: 10,
		Tags: map[string]string{"volfailover:managed": "true"}}}
	if !spec.unattached {
		seed.Volumes[0].Attachment = &ec2sim.SeedAttachment{InstanceID: own.id, Device: "/dev/xvdb"}
	}
	require.NoError(t, c.ec2.Apply(seed))
	require.NoError(t, c.fleet.CreateUnit(testTemplate, unitText, "inactive"))
	require.NoError(t, c.fleet.CreateUnit(testUnit, unitText, "launched"))
	if spec.staleOn == 0 {
		require.Eventually(t, func() bool { return slices.Equal(c.fleet.Running(testUnit), []string{own.machine}) },
			10*time.Second, 20*time.Millisecond, "waiting for %s to run on the owner's machine", testUnit)
	}

	c.admin, err = clientv3.New(clientv3.Config{Endpoints: []string{testEtcd}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { c.admin.Close() })
	t.Cleanup(c.stopAll)
	return c
}

// startPGStubs starts a Postgres stand-in on 127.0.1.1 … 127.0.1.n, all on
// one port, as every host serves Postgres on the same port. A free port on
// the first address may be taken on another by a test running alongside, so
// a port that does not fit every address is given up for another.
func startPGStubs(t *testing.T, n int) []*pgStub {
	t.Helper()
	var lastErr error
	for range 10 {
		ln, err := net.Listen("tcp", "127.0.1.1:0")
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		var stubs []*pgStub
		for i := 1; i <= n; i++ {
			st, err := startPGStub(fmt.Sprintf("127.0.1.%d:%d", i, port))
			if err != nil {
				lastErr = err
				break
			}
			st.port = port
			stubs = append(stubs, st)
		}
		if len(stubs) == n {
			for _, st := range stubs {
				t.Cleanup(st.Close)
			}
			return stubs
		}
		for _, st := range stubs {
			st.Close()
		}
	}
	require.NoError(t, lastErr, "postgres stand-ins on 127.0.1.1-%d: no port free on all of them", n)
	return nil
}

// options builds the fast test profile of one instance.
func (c *cluster) options(h *host) Options {
	o := DefaultOptions()
	o.EtcdEndpoints = []string{testEtcd}
	o.KeyPrefix = c.prefix
	o.SessionTTL = 2 * time.Second
	o.RoundInterval = 100 * time.Millisecond
	o.ProbeInterval = 100 * time.Millisecond
	o.ProbeTimeout = 100 * time.Millisecond
	// The threshold's span at this pace: the minimum adds no wait of its own.
	o.MinUnreachable = 200 * time.Millisecond
	o.WitnessRefresh = 500 * time.Millisecond
	o.Deadlines = StepDeadlines{Fence: 5 * time.Second, FenceConfirm: 5 * time.Second, Detach: 5 * time.Second, Attach: 5 * time.Second,
		Metadata: 5 * time.Second, Reschedule: 5 * time.Second, Verify: 5 * time.Second}
	o.RetryInitial, o.RetryMax = 50*time.Millisecond, 300*time.Millisecond
	o.PostgresPort = c.pgPort
	o.ListenAddr = h.ip + ":0"
	o.InstanceID, o.AvailabilityZone, o.PrivateIP, o.MachineID = h.id, h.az, h.ip, h.machine
	o.Version = "test"
	o.Logger = zerolog.New(c.logs).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	if c.spec.mutate != nil {
		c.spec.mutate(h, &o)
	}
	return o
}

// start starts the controllers, the first alone until it leads, so the owner
// (the last host) is not the first leader.
func (c *cluster) start() {
	c.t.Helper()
	for i, h := range c.hosts {
		c.startHost(h, c.options(h))
		if i == 0 {
			require.Eventually(c.t, h.ctrl.IsLeader, 10*time.Second, 10*time.Millisecond, "waiting for %s to lead", h.id)
		}
	}
	// Every instance registered and the owners list published.
	require.Eventually(c.t, func() bool {
		resp, err := c.admin.Get(context.Background(), c.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || int(resp.Count) != len(c.hosts) {
			return false
		}
		if c.spec.unattached {
			return true
		}
		o, err := c.admin.Get(context.Background(), c.keys.Owners())
		if err != nil || len(o.Kvs) != 1 || !strings.Contains(string(o.Kvs[0].Value), c.owner().id) {
			return false
		}
		a, err := c.admin.Get(context.Background(), c.keys.ArmedVolume(testVolume), clientv3.WithCountOnly())
		return err == nil && a.Count == 1
	}, 10*time.Second, 20*time.Millisecond, "waiting for every host to register, the owners list, and the volume armed")
}

// never requires cond to stay false for d, polling every 50 ms in the
// test's own goroutine. require.Never runs cond in a goroutine of its own
// and can return while a call is still in flight; cond here reads etcd with
// require, which must not fail after the test has ended.
func (c *cluster) never(cond func() bool, d time.Duration, msg string, args ...any) {
	c.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			c.t.Fatalf("condition became true, want it to stay false: "+msg, args...)
		}
	}
}

// arm records the volume as seen serving before the controllers start, for
// tests whose leader never gets a Postgres answer from the owner.
func (c *cluster) arm() {
	c.t.Helper()
	c.put(c.keys.ArmedVolume(testVolume), state.Armed{Volume: testVolume, Owner: c.owner().id, At: time.Now().UTC()}.Encode())
}

func (c *cluster) startHost(h *host, o Options) {
	c.t.Helper()
	c.buildHost(h, o)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done, h.stopped = cancel, make(chan struct{}), false
	go func() {
		defer close(h.done)
		if err := h.ctrl.Run(ctx); err != nil {
			c.t.Errorf("controller %s: %v", h.id, err)
		}
	}()
}

// buildHost builds h's controller, with its own etcd, EC2 and fleet clients, without running it.
func (c *cluster) buildHost(h *host, o Options) {
	c.t.Helper()
	var err error
	h.cli, err = clientv3.New(clientv3.Config{Endpoints: []string{testEtcd}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(c.t, err)
	ao := awsops.DefaultOptions()
	ao.Region, ao.Endpoint = "us-east-1", h.ec2Srv.URL
	ao.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
	})
	ao.Wait = awsops.WaitOptions{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 1.5, StuckAttaching: 5 * time.Second, StuckDetaching: 5 * time.Second}
	ao.RetryBaseDelay, ao.RetryMaxDelay, ao.MaxAttempts, ao.ReadMaxAttempts = 10*time.Millisecond, 100*time.Millisecond, 3, 3
	// As cmd/volfailover does: the instance's app ID in the User-Agent.
	ao.HTTPClient = &http.Client{Transport: appIDTransport{app: "app/volfailover-" + h.id, base: http.DefaultTransport.(*http.Transport).Clone()}}
	ec2c, err := awsops.New(context.Background(), ao)
	require.NoError(c.t, err)
	fcfg := fleet.DefaultConfig()
	fcfg.Endpoint, fcfg.Timeout, fcfg.RetryMax = h.fleetSrv.URL, 2*time.Second, 1
	fcfg.RetryWaitMin, fcfg.RetryWaitMax = 10*time.Millisecond, 50*time.Millisecond
	fcfg.UserAgent = "volfailover/" + h.id
	fc, err := fleet.NewClient(fcfg)
	require.NoError(c.t, err)
	d := Deps{Etcd: h.cli, EC2: ec2c, Fleet: fc, Pager: c.pager}
	if c.spec.deps != nil {
		c.spec.deps(h, &d)
	}
	h.ctrl, err = New(o, d)
	require.NoError(c.t, err)
}

// crash ends a controller as a crash would: its etcd client is closed first,
// so it cannot resign or revoke; its lease expires by TTL.
func (c *cluster) crash(h *host) {
	c.t.Helper()
	if h.stopped {
		return
	}
	h.stopped = true
	h.cli.Close()
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("controller %s did not stop within 10s of its crash", h.id)
	}
}

// kill is the death of a whole host: controller crash, Postgres gone, fleet heartbeat gone.
func (c *cluster) kill(h *host) {
	c.t.Helper()
	c.crash(h)
	h.pg.Close()
	require.NoError(c.t, c.fleet.KillMachine(h.machine))
}

func (c *cluster) stopAll() {
	for _, h := range c.hosts {
		if h.ctrl == nil || h.stopped || h.done == nil {
			continue
		}
		h.stopped = true
		h.cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			c.t.Errorf("controller %s did not stop within 10s", h.id)
		}
		h.cli.Close()
	}
}

// lease is the controller's current session lease (0 without a session).
func (c *Controller) lease() clientv3.LeaseID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaseID
}

func (c *cluster) owner() *host { return c.hosts[len(c.hosts)-1] }

func (c *cluster) leader() *host {
	for _, h := range c.hosts {
		if !h.stopped && h.ctrl != nil && h.ctrl.IsLeader() {
			return h
		}
	}
	return nil
}

func (c *cluster) byID(id string) *host {
	for _, h := range c.hosts {
		if h.id == id {
			return h
		}
	}
	c.t.Fatalf("no host %s", id)
	return nil
}

// journal returns the in-progress record of the volume, nil if none.
func (c *cluster) journal() *state.Record {
	resp, err := c.admin.Get(context.Background(), c.keys.JournalVolume(testVolume))
	require.NoError(c.t, err)
	if len(resp.Kvs) == 0 {
		return nil
	}
	r, err := state.ParseRecord(resp.Kvs[0].Value, resp.Kvs[0].CreateRevision)
	require.NoError(c.t, err)
	return r
}

// history returns the volume's completed records, oldest first.
func (c *cluster) history() []*state.Record {
	resp, err := c.admin.Get(context.Background(), c.keys.HistoryVolume(testVolume), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	require.NoError(c.t, err)
	var out []*state.Record
	for _, kv := range resp.Kvs {
		r, err := state.ParseRecord(kv.Value, kv.CreateRevision)
		require.NoError(c.t, err)
		out = append(out, r)
	}
	return out
}

// waitDone waits for n completed moves of the volume and returns the last.
func (c *cluster) waitDone(n int, within time.Duration) *state.Record {
	c.t.Helper()
	var last *state.Record
	require.Eventually(c.t, func() bool {
		h := c.history()
		if len(h) < n {
			return false
		}
		last = h[n-1]
		return last.Step == state.StepDone
	}, within, 20*time.Millisecond, "waiting for completed move #%d of %s in the history", n, testVolume)
	return last
}

// waitVerdict waits until the current leader judges the owner with verdict v.
func (c *cluster) waitVerdict(owner *host, v string, within time.Duration) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		l := c.leader()
		if l == nil {
			return false
		}
		r, ok := l.ctrl.Verdicts()[owner.id]
		return ok && string(r.Verdict) == v
	}, within, 20*time.Millisecond, "waiting for the leader to judge %s %s", owner.id, v)
}

// ec2Calls counts successful calls of action in the emulator's journal.
func (c *cluster) ec2Calls(action string) int {
	n := 0
	for _, call := range c.ec2.Journal() {
		if call.Action == action && call.Status == http.StatusOK && !call.DryRun {
			n++
		}
	}
	return n
}

// fleetMutations counts mutating requests in the fleet emulator's journal.
func (c *cluster) fleetMutations() int {
	n := 0
	for _, r := range c.fleet.Journal() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// ec2Mutations counts mutating calls in the EC2 emulator's journal.
func (c *cluster) ec2Mutations() int {
	n := 0
	for _, call := range c.ec2.Journal() {
		if call.Mutating() {
			n++
		}
	}
	return n
}

// assertMovedTo checks the end state: attached once to h, metadata only on h's
// machine, the unit running only there.
func (c *cluster) assertMovedTo(h *host) {
	c.t.Helper()
	att := c.ec2.VolumeAttachments(testVolume)
	require.Len(c.t, att, 1, "attachments of %s: got %v want one", testVolume, att)
	require.Equal(c.t, h.id, att[0].InstanceID, "attached to: got … want")
	ms, err := c.fc.Machines(context.Background())
	require.NoError(c.t, err)
	for _, m := range ms {
		if m.ID == h.machine {
			require.Equal(c.t, testVolume, m.Metadata["postgres"], "metadata on the target %s", m.ID)
		} else {
			require.NotEqual(c.t, testVolume, m.Metadata["postgres"], "stale metadata on %s", m.ID)
		}
	}
	require.Eventually(c.t, func() bool { return slices.Equal(c.fleet.Running(testUnit), []string{h.machine}) },
		5*time.Second, 20*time.Millisecond, "waiting for %s to run on %s only (running on %v)", testUnit, h.machine, c.fleet.Running(testUnit))
}

func (c *cluster) put(key, val string) {
	c.t.Helper()
	_, err := c.admin.Put(context.Background(), key, val)
	require.NoError(c.t, err)
}

// appIDTransport appends an application ID to the SDK's User-Agent.
type appIDTransport struct {
	app  string
	base *http.Transport
}

func (t appIDTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", strings.TrimSpace(r.Header.Get("User-Agent")+" "+t.app))
	return t.base.RoundTrip(r)
}

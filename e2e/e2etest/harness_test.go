//go:build e2e

package e2etest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/e2e/history"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/fleet"
	"github.com/volfailover/volfailover/internal/useragent"
	"github.com/volfailover/volfailover/state"
)

// The instant profile's controller timing (e2e/sandbox/config.go).
const (
	sessionTTL    = 3 * time.Second
	roundInterval = 500 * time.Millisecond
	// minUnreachable is the controllers' default (health.DefaultMinUnreachable):
	// how long failed probes must last before they count.
	minUnreachable = 2500 * time.Millisecond
	// failoverDeadline bounds a failover from the fault to Postgres answering.
	failoverDeadline = 30 * time.Second
	rowsTable        = "e2e_rows"
	volfailoverUnit  = "volfailover.service"
)

// worldOptions shape one scenario's sandbox.
type worldOptions struct {
	hosts, hostsB int
	// cooldown between automatic failovers; default 1m (one failover per scenario).
	cooldown time.Duration
	// env is appended to every controller's environment.
	env []string
	// seed is printed with every violation (the chaos run).
	seed string
	// unmonitored leaves the world's monitor off (the monitor's own test).
	unmonitored bool
	// firstDeploy starts the agents without postgres@<volume>.service, as
	// the deploy guide's order does; the world returns once every controller
	// is healthy, with no writer and no monitor.
	firstDeploy bool
}

// world is one scenario: a sandbox, an etcd client, the invariant monitor, a
// paging receiver and the writer whose acknowledged rows must survive.
type world struct {
	t     *testing.T
	name  string
	sb    *sandbox.Sandbox
	cli   *clientv3.Client
	fleet *fleet.Client
	keys  state.Keys
	mon   *Monitor
	hook  *pageHook
	o     worldOptions
	start time.Time

	// ctx ends at the first violation, so waits stop at once.
	ctx    context.Context
	cancel context.CancelFunc

	// reported are the history violations already reported, so a check
	// after every chaos round reports each one once.
	reported map[string]bool

	wr       *sandbox.Writer
	stopW    context.CancelFunc
	writerWG sync.WaitGroup
}

var subnetSeq atomic.Int32

// newWorld starts a sandbox and waits until it is settled: Postgres answers
// on core1, every controller is healthy and registered, a leader is elected,
// a witness reports on the owner; then the monitor and the writer start.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sandbox.DefaultPostgresBin, "postgres")); err != nil {
		t.Skipf("PostgreSQL 15 is not installed at %s: %v", sandbox.DefaultPostgresBin, err)
	}
	if o.hosts == 0 {
		o.hosts, o.hostsB = 3, 1
	}
	if o.cooldown == 0 {
		o.cooldown = time.Minute
	}
	w := &world{t: t, name: t.Name(), o: o, keys: state.Keys{Prefix: "/volfailover"}, hook: newPageHook(t), reported: map[string]bool{}}
	// Not t.TempDir: its parents are 0700, which the postgres user cannot traverse.
	dir, err := os.MkdirTemp("", "volfailover-e2e-")
	require.NoError(t, err, "sandbox dir")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sandbox logs kept in %s", filepath.Join(dir, "logs"))
			return
		}
		require.NoError(t, os.RemoveAll(dir), "remove sandbox dir")
	})
	self, err := os.Executable()
	require.NoError(t, err, "test binary path")

	cfg := sandbox.DefaultConfig(dir)
	cfg.Hosts, cfg.HostsB = o.hosts, o.hostsB
	cfg.DeferPostgres = o.firstDeploy
	cfg.Subnet = 2 + (os.Getpid()+int(subnetSeq.Add(1)))%250
	cfg.SandboxBin = self
	cfg.VolfailoverBin = volfailoverBin
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	cfg.ControllerEnv = append([]string{
		"VOLFAILOVER_COOLDOWN=" + o.cooldown.String(),
		"VOLFAILOVER_MAX_FAILOVERS=1000",
		"VOLFAILOVER_RETRY_MAX=1s",
		"VOLFAILOVER_WEBHOOK_URL=" + w.hook.srv.URL,
	}, o.env...)

	startCtx, cancelStart := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelStart()
	began := time.Now()
	// Sandboxes of other test processes on this machine (another package,
	// another worktree) may hold the subnet picked: take the next one.
	for attempt := 1; ; attempt++ {
		w.sb, err = sandbox.Start(startCtx, cfg)
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 5 {
			break
		}
		t.Logf("subnet 127.0.%d.0 in use (%v), trying another", cfg.Subnet, err)
		require.NoError(t, os.RemoveAll(dir), "clear sandbox dir for a new start")
		cfg.Subnet = 2 + (os.Getpid()+int(subnetSeq.Add(1)))%250
	}
	require.NoError(t, err, "start sandbox")
	t.Cleanup(func() { require.NoError(t, w.sb.Close(), "stop sandbox") })

	// Every member, and keepalives (as often as etcd allows) that notice a
	// member cut off within seconds, so the monitor and the recorder move to
	// another member.
	w.cli, err = clientv3.New(clientv3.Config{Endpoints: w.sb.EtcdEndpoints(), DialTimeout: 5 * time.Second,
		DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: time.Second, Logger: zap.NewNop()})
	require.NoError(t, err, "etcd client")
	t.Cleanup(func() { _ = w.cli.Close() })
	fc := fleet.DefaultConfig()
	fc.Endpoint = w.sb.Endpoints().Fleet
	w.fleet, err = fleet.NewClient(fc)
	require.NoError(t, err, "fleet client")
	t.Cleanup(w.fleet.CloseIdleConnections)

	w.ctx, w.cancel = context.WithCancel(context.Background())
	t.Cleanup(w.cancel)
	w.mon = NewMonitor(w.sb, w.cli, MonitorOptions{Cooldown: o.cooldown, SessionTTL: sessionTTL, Served: w.served, Pages: w.hook.history,
		History: history.Options{PageBound: pageBound}}, func(*Violation) { w.cancel() })
	if o.firstDeploy {
		require.NoError(t, w.sb.WaitControllers(startCtx), "every controller healthy")
		w.start = time.Now()
		return w
	}

	owner, err := w.sb.WaitPostgres(startCtx, w.sb.Volume())
	require.NoError(t, err, "postgres of the volume on its first owner")
	require.Equal(t, "core1", owner.Name, "got first owner %s want core1", owner.Name)
	require.NoError(t, w.sb.WaitControllers(startCtx), "every controller healthy")
	w.waitSettled(owner)
	timings.add(w.name, "sandbox start to settled", time.Since(began))

	if o.unmonitored {
		t.Cleanup(w.stopWriter)
	} else {
		w.mon.Start(w.ctx)
		// Runs before the sandbox closes: report the first violation.
		t.Cleanup(w.report)
	}
	w.startWriter(owner)
	w.start = time.Now()
	return w
}

// report stops the monitor and fails the test with the first violation.
func (w *world) report() {
	w.awaitPages()
	w.stopWriter()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v := w.mon.Stop(ctx)
	looks, muts := w.mon.Stats()
	w.t.Logf("monitor: %d looks, %d controller mutations judged", looks, muts)
	w.checkHistory("the end of the scenario")
	if v == nil {
		if w.o.seed != "" && w.t.Failed() {
			w.t.Logf("chaos seed: %s (replay with E2E_CHAOS_SEED=%s); no invariant broken; recent events:\n  %s",
				w.o.seed, w.o.seed, strings.Join(w.mon.Trace(), "\n  "))
		}
		return
	}
	seed := ""
	if w.o.seed != "" {
		seed = "\nchaos seed: " + w.o.seed + " (replay with E2E_CHAOS_SEED=" + w.o.seed + ")"
	}
	w.t.Errorf("INVARIANT %s BROKEN at %s (%.1fs into the scenario)\n%s%s\nrecent events:\n  %s",
		v.Invariant, v.At.Format("15:04:05.000"), v.At.Sub(w.start).Seconds(), v.Detail, seed, strings.Join(w.mon.Trace(), "\n  "))
}

// pageBound is how soon the e2e controllers must page what they report: the
// outbox delivers on the leader's next rounds (500ms probes on the instant profile).
const pageBound = 3 * time.Second

// awaitPages lets the pages of the scenario's last move fall due before the
// history is judged, so the paging rules judge it rather than skip it as
// too recent. It waits at most pageBound.
func (w *world) awaitPages() {
	var latest time.Time
	for _, r := range w.mon.Records() {
		for _, t := range []time.Time{r.Created, r.Updated, r.Finished} {
			if t.After(latest) {
				latest = t
			}
		}
	}
	wait := time.Until(latest.Add(pageBound + 100*time.Millisecond))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(min(wait, pageBound+100*time.Millisecond))
	defer t.Stop()
	<-t.C
}

// served is when the volume was served: the writer's acknowledged commits.
func (w *world) served() []time.Time {
	if w.wr == nil {
		return nil
	}
	return w.wr.AckTimes()
}

// checkHistory runs the history checks on everything recorded so far and
// fails the test with each violation and the part of the history that shows
// it. It returns the report (the chaos run tallies it).
func (w *world) checkHistory(when string) history.Report {
	w.t.Helper()
	rep, err := w.mon.CheckHistory()
	if err != nil {
		w.t.Errorf("history checks at %s: %v", when, err)
		return rep
	}
	w.t.Logf("history checks at %s: %s", when, judgedSummary(rep))
	seed := ""
	if w.o.seed != "" {
		seed = " (chaos seed " + w.o.seed + ", replay with E2E_CHAOS_SEED=" + w.o.seed + ")"
	}
	for _, v := range rep.Violations {
		key := v.String()
		if w.reported[key] {
			continue // found by an earlier check of the same history
		}
		w.reported[key] = true
		w.t.Errorf("HISTORY VIOLATION at %s%s: %v", when, seed, v)
	}
	return rep
}

// judgedSummary lists how many judgements each rule made.
func judgedSummary(rep history.Report) string {
	parts := make([]string, 0, len(history.Rules))
	for _, r := range history.Rules {
		parts = append(parts, fmt.Sprintf("%s %d", r, rep.Judged[r]))
	}
	return fmt.Sprintf("%d violations; judged: %s", len(rep.Violations), strings.Join(parts, ", "))
}

// waitSettled waits until every live host is registered, a leader is elected
// and a witness reports on owner.
func (w *world) waitSettled(owner sandbox.Host) {
	w.t.Helper()
	live := 0
	for _, h := range w.sb.Hosts() {
		if w.sb.EC2().InstanceState(h.InstanceID) == "running" {
			live++
		}
	}
	w.waitFor(30*time.Second, fmt.Sprintf("%d hosts registered, a leader elected, a witness reporting on %s (if one can exist) and the volume armed", live, owner.Name), func() (bool, string) {
		hosts := w.count(w.keys.Hosts())
		wit := w.count(w.keys.WitnessOwner(owner.InstanceID))
		armed := w.count(w.keys.ArmedVolume(w.sb.Volume()))
		leader := w.leader()
		need := int64(1)
		if leader != "" && !w.witnessPossible(owner, leader) {
			need = 0
		}
		return hosts >= int64(live) && leader != "" && wit >= need && armed >= 1,
			fmt.Sprintf("%d registered, leader %q, %d witness reports, armed %d", hosts, leader, wit, armed)
	})
}

// witnessPossible reports whether owner can have a witness under leader: a
// live host of its AZ other than the owner and the leader (in a two-host AZ
// whose other host leads, there is none).
func (w *world) witnessPossible(owner sandbox.Host, leader string) bool {
	for _, h := range w.sb.Hosts() {
		if h.AZ == owner.AZ && h.Name != owner.Name && h.InstanceID != leader && w.sb.EC2().InstanceState(h.InstanceID) == "running" {
			return true
		}
	}
	return false
}

func (w *world) count(prefix string) int64 {
	resp, err := w.cli.Get(w.ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return -1
	}
	return resp.Count
}

// waitFor polls cond every 50ms until it holds; it fails the test after d or
// at the first invariant violation, naming what it waited for.
func (w *world) waitFor(d time.Duration, what string, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if v := w.mon.Violation(); v != nil {
			w.t.Fatalf("stopped waiting for %s: %v", what, v)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s (last seen: %s)", d, what, last)
		}
		select {
		case <-w.ctx.Done():
		case <-t.C:
		}
	}
}

// hold checks for d that cond keeps holding (an observation window, for
// "nothing happens" assertions); it fails at the first moment it does not.
func (w *world) hold(d time.Duration, what string, cond func() (bool, string)) {
	w.t.Helper()
	end := time.Now().Add(d)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(end) {
		if ok, state := cond(); !ok {
			w.t.Fatalf("%s stopped holding: %s", what, state)
		}
		if v := w.mon.Violation(); v != nil {
			w.t.Fatalf("while checking that %s: %v", what, v)
		}
		select {
		case <-w.ctx.Done():
		case <-t.C:
		}
	}
}

func (w *world) host(name string) sandbox.Host {
	w.t.Helper()
	h, ok := w.sb.Host(name)
	require.True(w.t, ok, "no host %s", name)
	return h
}

func (w *world) hostOf(instance string) string {
	for _, h := range w.sb.Hosts() {
		if h.InstanceID == instance {
			return h.Name
		}
	}
	return instance
}

// leader is the instance ID holding the election, "" if none.
func (w *world) leader() string {
	resp, err := w.cli.Get(w.ctx, w.keys.Election()+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// journal is the move in progress, nil if none.
func (w *world) journal() *state.Record {
	resp, err := w.cli.Get(w.ctx, w.keys.JournalVolume(w.sb.Volume()))
	if err != nil || len(resp.Kvs) != 1 {
		return nil
	}
	var r state.Record
	if json.Unmarshal(resp.Kvs[0].Value, &r) != nil {
		return nil
	}
	return &r
}

// history lists the completed moves created after since, oldest first.
func (w *world) history(since time.Time) []state.Record {
	resp, err := w.cli.Get(w.ctx, w.keys.HistoryVolume(w.sb.Volume()), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil
	}
	var out []state.Record
	for _, kv := range resp.Kvs {
		var r state.Record
		if json.Unmarshal(kv.Value, &r) == nil && !r.Created.Before(since) {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) put(key, value string) {
	w.t.Helper()
	_, err := w.cli.Put(w.ctx, key, value)
	require.NoError(w.t, err, "etcdctl put %s", key)
	w.mon.Note("test put %s %s", key, value)
}

func (w *world) del(key string) {
	w.t.Helper()
	_, err := w.cli.Delete(w.ctx, key)
	require.NoError(w.t, err, "etcdctl del %s", key)
	w.mon.Note("test deleted %s", key)
}

// kill kills a host (stopped: EC2 reports the instance stopped too).
func (w *world) kill(name string, stopped bool) time.Time {
	w.t.Helper()
	h := w.host(name)
	at := time.Now()
	w.mon.CutOff(h.InstanceID, at)
	require.NoError(w.t, w.sb.KillHost(w.ctx, name, stopped), "kill %s", name)
	w.mon.Note("test killed %s (stopped %t)", name, stopped)
	return at
}

func (w *world) revive(name string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.ReviveHost(w.ctx, name), "revive %s", name)
	w.mon.Note("test revived %s", name)
}

// partition cuts a host off; it skips the test where the sandbox cannot.
func (w *world) partition(name string) time.Time {
	w.t.Helper()
	h := w.host(name)
	at := time.Now()
	err := w.sb.PartitionHost(w.ctx, name)
	if errors.Is(err, sandbox.ErrPartitionUnsupported) {
		w.t.Skipf("partition scenario needs root and iptables: %v", err)
	}
	require.NoError(w.t, err, "partition %s", name)
	w.mon.CutOff(h.InstanceID, at)
	w.mon.Note("test partitioned %s", name)
	return at
}

func (w *world) heal(name string) {
	w.t.Helper()
	require.NoError(w.t, w.sb.HealHost(w.ctx, name), "heal %s", name)
	w.mon.Restore(w.host(name).InstanceID, time.Now())
	w.mon.Note("test healed %s", name)
}

// unitPID is the PID (and process group) of a unit's process on a host, 0 if none.
func (w *world) unitPID(hostName, unit string) int {
	for _, u := range w.sb.Units() {
		if u.Host == hostName && u.Unit == unit && u.Active == "active" {
			return u.PID
		}
	}
	return 0
}

// signalController sends sig to the volfailover process group on a host.
// SIGKILL is a crash (the session lingers one TTL); SIGTERM a clean exit
// (the controller resigns). The unit restarts it after RestartSec.
func (w *world) signalController(hostName string, sig syscall.Signal) time.Time {
	w.t.Helper()
	pid := w.unitPID(hostName, volfailoverUnit)
	require.NotZero(w.t, pid, "no running %s on %s", volfailoverUnit, hostName)
	at := time.Now()
	if sig == syscall.SIGKILL {
		w.mon.CutOff(w.host(hostName).InstanceID, at)
	}
	require.NoError(w.t, syscall.Kill(-pid, sig), "signal %v to %s on %s (pgid %d)", sig, volfailoverUnit, hostName, pid)
	w.mon.Note("test sent %v to %s on %s", sig, volfailoverUnit, hostName)
	return at
}

// leaderOff moves the leadership away from the named hosts by making each
// such leader resign (SIGTERM; its unit restarts it as the newest candidate).
func (w *world) leaderOff(names ...string) {
	w.t.Helper()
	avoid := map[string]bool{}
	for _, n := range names {
		avoid[w.host(n).InstanceID] = true
	}
	for range 5 {
		l := w.leader()
		if l != "" && !avoid[l] {
			return
		}
		if l != "" {
			w.signalController(w.hostOf(l), syscall.SIGTERM)
		}
		w.waitFor(15*time.Second, "a new leader after a resignation", func() (bool, string) {
			n := w.leader()
			return n != "" && n != l, "leader " + w.hostOf(n)
		})
	}
	w.t.Fatalf("leadership stayed on %v", names)
}

// leaderOn moves the leadership to the named host.
func (w *world) leaderOn(name string) {
	w.t.Helper()
	want := w.host(name).InstanceID
	for range len(w.sb.Hosts()) + 1 {
		l := w.leader()
		if l == want {
			return
		}
		if l != "" {
			w.signalController(w.hostOf(l), syscall.SIGTERM)
		}
		w.waitFor(15*time.Second, "a new leader after a resignation", func() (bool, string) {
			n := w.leader()
			return n != "" && n != l, "leader " + w.hostOf(n)
		})
		require.NoError(w.t, w.sb.WaitControllers(w.ctx), "controllers healthy again")
	}
	w.t.Fatalf("leadership never reached %s", name)
}

// startWriter starts the acknowledged-commit recorder on the volume's owner.
func (w *world) startWriter(owner sandbox.Host) {
	w.t.Helper()
	vol := w.sb.Volume()
	w.wr = &sandbox.Writer{Table: rowsTable, Target: func() (sandbox.Host, bool) { return w.sb.Owner(vol) }}
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	require.NoError(w.t, w.wr.EnsureTable(ctx, owner), "create %s", rowsTable)
	wctx, stop := context.WithCancel(context.Background())
	w.stopW = stop
	w.writerWG.Add(1)
	go func() {
		defer w.writerWG.Done()
		_ = w.wr.Run(wctx) // nil when wctx ends
	}()
	w.waitFor(15*time.Second, "the writer's first 30 acknowledged rows", func() (bool, string) {
		n := len(w.wr.Acked())
		return n >= 30, fmt.Sprintf("%d rows", n)
	})
}

func (w *world) stopWriter() {
	if w.stopW != nil {
		w.stopW()
		w.writerWG.Wait()
	}
}

// waitServed waits until the volume is served by exactly one host other than
// every name in notOn, with no move in progress, and returns the owner and
// when its Postgres first answered SQL.
func (w *world) waitServed(d time.Duration, notOn ...string) (sandbox.Host, time.Time) {
	w.t.Helper()
	vol := w.sb.Volume()
	var owner sandbox.Host
	var answered time.Time
	w.waitFor(d, fmt.Sprintf("%s served by one host (not %v) with no move in progress", vol, notOn), func() (bool, string) {
		h, ok := w.sb.Owner(vol)
		if !ok {
			return false, "attached nowhere"
		}
		for _, n := range notOn {
			if h.Name == n {
				return false, "still on " + n
			}
		}
		if answered.IsZero() || owner.Name != h.Name {
			qctx, cancel := context.WithTimeout(w.ctx, time.Second)
			err := sandbox.QueryOK(qctx, h)
			cancel()
			if err != nil {
				return false, err.Error()
			}
			owner, answered = h, time.Now()
		}
		if pg := w.sb.PostgresHosts(vol); len(pg) != 1 || pg[0].Name != h.Name {
			return false, fmt.Sprintf("postgres on %v", pg)
		}
		if r := w.journal(); r != nil {
			return false, fmt.Sprintf("move %s at step %s", r.ID, r.Step)
		}
		return true, ""
	})
	return owner, answered
}

// verifyRows checks invariant 3 on the owner: every acknowledged row is there.
// The writer keeps running.
func (w *world) verifyRows(owner sandbox.Host) int {
	w.t.Helper()
	acked := w.wr.Acked()
	var missing []int64
	var err error
	w.waitFor(15*time.Second, "reading the acknowledged rows on "+owner.Name, func() (bool, string) {
		ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
		defer cancel()
		missing, _, err = sandbox.VerifyRows(ctx, owner, rowsTable, acked)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if len(missing) > 0 {
		w.mon.Fail(AckedRowsKept, time.Now(), "%d of %d acknowledged rows missing on %s (first %d, last %d)", len(missing), len(acked), owner.Name, missing[0], missing[len(missing)-1])
		w.t.Fatalf("%d of %d acknowledged rows missing on %s", len(missing), len(acked), owner.Name)
	}
	return len(acked)
}

// settle is the common end of a failover scenario: writes resume on the
// owner, every acknowledged row is there, one attachment, one Postgres.
func (w *world) settle(owner sandbox.Host) {
	w.t.Helper()
	before := len(w.wr.Acked())
	w.waitFor(15*time.Second, "writes acknowledged on "+owner.Name, func() (bool, string) {
		n := len(w.wr.Acked())
		return n >= before+10, fmt.Sprintf("%d new rows", n-before)
	})
	n := w.verifyRows(owner)
	atts := w.sb.EC2().VolumeAttachments(w.sb.Volume())
	require.Len(w.t, atts, 1, "got attachments %+v want one", atts)
	require.Equal(w.t, owner.InstanceID, atts[0].InstanceID, "got attachment on %s want %s", w.hostOf(atts[0].InstanceID), owner.Name)
	pg := w.sb.PostgresHosts(w.sb.Volume())
	require.Equal(w.t, []sandbox.Host{owner}, pg, "postgres must run on %s only", owner.Name)
	w.t.Logf("%d acknowledged rows all present on %s (%d in doubt, not required)", n, owner.Name, len(w.wr.InDoubt()))
}

// lastMove is the newest completed move created after since.
func (w *world) lastMove(since time.Time) state.Record {
	w.t.Helper()
	h := w.history(since)
	require.NotEmpty(w.t, h, "no completed move of %s since %s", w.sb.Volume(), since.Format("15:04:05.000"))
	return h[len(h)-1]
}

// ec2Since returns the EC2 calls received at or after since.
func (w *world) ec2Since(since time.Time) []ec2Call {
	var out []ec2Call
	for _, c := range w.sb.EC2Journal() {
		if !c.Time.Before(since) {
			out = append(out, c)
		}
	}
	return out
}

// fleetSince returns the fleet requests received at or after since.
func (w *world) fleetSince(since time.Time) []fleetRequest {
	var out []fleetRequest
	for _, r := range w.sb.FleetJournal() {
		if !r.Time.Before(since) {
			out = append(out, r)
		}
	}
	return out
}

// controllerMutations counts the EC2 and fleet mutations by controllers since a time.
func (w *world) controllerMutations(since time.Time) []string {
	var out []string
	for _, c := range w.ec2Since(since) {
		if inst, ok := useragent.Instance(c.UserAgent); ok && c.Mutating() {
			out = append(out, fmt.Sprintf("EC2 %s by %s", c.Action, w.hostOf(inst)))
		}
	}
	for _, r := range w.fleetSince(since) {
		if inst, ok := useragent.Instance(r.UserAgent); ok && r.Mutating() {
			out = append(out, fmt.Sprintf("fleet %s %s by %s", r.Method, r.Path, w.hostOf(inst)))
		}
	}
	return out
}

// controllerLog reads every host's volfailover log.
func (w *world) controllerLog() string {
	var b strings.Builder
	for _, h := range w.sb.Hosts() {
		data, err := os.ReadFile(w.sb.LogPath(h.Name, volfailoverUnit))
		if err == nil {
			b.Write(data)
		}
	}
	return b.String()
}

// senderOf is the instance of the controller that sent a request, "" if none did.
func senderOf(ua string) string {
	inst, _ := useragent.Instance(ua)
	return inst
}

// pageHook is the generic webhook receiver the controllers page.
type pageHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages []alert.WebhookPayload
	at    []time.Time // when each of pages arrived
}

// history returns the pages received so far, for the history checks. An
// event sent without an action is a trigger (alert's default).
func (h *pageHook) history() []history.Page {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]history.Page, len(h.pages))
	for i, p := range h.pages {
		action := p.Action
		if action == "" {
			action = string(alert.ActionTrigger)
		}
		out[i] = history.Page{At: h.at[i], Kind: p.Kind, Action: action, DedupKey: p.DedupKey, Volume: p.Volume, FailoverID: p.FailoverID}
	}
	return out
}

func newPageHook(t *testing.T) *pageHook {
	h := &pageHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var p alert.WebhookPayload
		if err != nil || json.Unmarshal(body, &p) != nil || p.Kind == "" {
			http.Error(rw, "want a webhook payload with a kind", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.pages = append(h.pages, p)
		h.at = append(h.at, time.Now())
		h.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// find returns the pages of a kind.
func (h *pageHook) find(kind alert.Kind) []alert.WebhookPayload {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []alert.WebhookPayload
	for _, p := range h.pages {
		if p.Kind == string(kind) {
			out = append(out, p)
		}
	}
	return out
}

func (h *pageHook) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.pages {
		out = append(out, p.Kind)
	}
	return out
}

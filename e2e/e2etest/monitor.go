package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/ec2sim"
	"github.com/volfailover/volfailover/e2e/fleetsim"
	"github.com/volfailover/volfailover/e2e/history"
	"github.com/volfailover/volfailover/e2e/sandbox"
	"github.com/volfailover/volfailover/internal/useragent"
	"github.com/volfailover/volfailover/state"
)

type (
	ec2Call      = ec2sim.Call
	fleetRequest = fleetsim.Request
)

// Invariant numbers the design's five safety invariants.
type Invariant int

// The invariants, numbered as in the design.
const (
	OneAttachment   Invariant = 1
	OnePostgres     Invariant = 2
	AckedRowsKept   Invariant = 3
	NoZombieMutates Invariant = 4
	NoFailoverHeld  Invariant = 5
)

// String names the invariant with its number, as failure output shows it.
func (i Invariant) String() string {
	switch i {
	case OneAttachment:
		return "1 (a volume is attached to at most one instance)"
	case OnePostgres:
		return "2 (Postgres for a volume runs on at most one host)"
	case AckedRowsKept:
		return "3 (every acknowledged row survives the failover)"
	case NoZombieMutates:
		return "4 (a controller without its etcd session or leadership makes no EC2 or fleet mutation)"
	case NoFailoverHeld:
		return "5 (no failover while paused, at most one automatic failover per cooldown)"
	}
	return fmt.Sprintf("%d (unknown)", int(i))
}

// Violation is the first broken invariant the monitor saw.
type Violation struct {
	Invariant Invariant
	At        time.Time
	Detail    string
}

// Error says which invariant broke, when, and the details.
func (v *Violation) Error() string {
	return fmt.Sprintf("invariant %s broken at %s: %s", v.Invariant, v.At.Format("15:04:05.000"), v.Detail)
}

// MonitorOptions tune the monitor; zero fields take the stated defaults.
type MonitorOptions struct {
	// Interval between two looks at the world; default 75ms.
	Interval time.Duration
	// Cooldown is the controllers' configured cooldown between automatic failovers.
	Cooldown time.Duration
	// SessionTTL is the controllers' etcd session TTL; a host cut off at T has lost
	// its session by T + SessionTTL.
	SessionTTL time.Duration
	// Grace absorbs a request already in flight when a session ends or a pause
	// starts, and the monitor's own polling lag; default 1s.
	Grace time.Duration
	// KeyPrefix is the controllers' etcd prefix; default "/volfailover".
	KeyPrefix string
	// Served returns the moments the volume was served (the writer's
	// acknowledged commits), for the history checks; optional.
	Served func() []time.Time
	// Pages returns the pages received so far, for the history checks; optional.
	Pages func() []history.Page
	// History bounds the history checks; zero fields take history.DefaultOptions.
	History history.Options
}

// Monitor watches a running sandbox and records the first violation of an
// invariant. It reads only: ec2sim's attachments and the device links, the
// Postgres units, both emulators' request journals and the controllers' etcd
// keys (registry, election, overrides, journal, history).
type Monitor struct {
	sb   *sandbox.Sandbox
	cli  *clientv3.Client
	keys state.Keys
	vol  string
	o    MonitorOptions

	onViolation func(*Violation)

	stop chan struct{}
	wg   sync.WaitGroup

	// etcdRec follows leadership and sessions for the history checks.
	etcdRec   *etcdRecorder
	recCancel context.CancelFunc

	mu        sync.Mutex
	start     time.Time
	first     *Violation
	ec2Seen   int
	fleetSeen int
	// sessions[instance] are the spans during which the instance held an etcd
	// session (its registry key), leads[instance] those during which it led.
	sessions, leads map[string][]span
	curLease        map[string]int64
	leader          string
	cuts            map[string]cut
	pauses          []span // global or per-volume pause in force
	switchovers     []span // a switchover request present
	records         map[string]*state.Record
	recordSeen      map[string]time.Time // when each record was first seen
	lastLook        time.Time            // of the last etcd read that succeeded
	trace           []string
	checks          int
	mutations       int
}

// span is a time interval; an open span has a zero To.
type span struct{ From, To time.Time }

func (s span) covers(t time.Time, before, after time.Duration) bool {
	if t.Before(s.From.Add(-before)) {
		return false
	}
	return s.To.IsZero() || !t.After(s.To.Add(after))
}

// cut is a host the test cut off (partition or kill) at a time, with the
// session lease it held then.
type cut struct {
	at    time.Time
	lease int64
}

// NewMonitor builds a monitor of sb's volume; onViolation (optional) is
// called once, with the first violation, from the monitor's goroutine.
func NewMonitor(sb *sandbox.Sandbox, cli *clientv3.Client, o MonitorOptions, onViolation func(*Violation)) *Monitor {
	if o.Interval <= 0 {
		o.Interval = 75 * time.Millisecond
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = state.DefaultPrefix
	}
	return &Monitor{
		sb: sb, cli: cli, keys: state.Keys{Prefix: o.KeyPrefix}, vol: sb.Volume(), o: o,
		onViolation: onViolation, stop: make(chan struct{}),
		sessions: map[string][]span{}, leads: map[string][]span{}, curLease: map[string]int64{},
		cuts: map[string]cut{}, records: map[string]*state.Record{}, recordSeen: map[string]time.Time{},
		etcdRec: newEtcdRecorder(state.Keys{Prefix: o.KeyPrefix}), recCancel: func() {},
	}
}

// Start begins watching; Stop ends it. The monitor reads the journals from
// their current end, so what happened before Start is not judged.
func (m *Monitor) Start(ctx context.Context) {
	m.mu.Lock()
	m.start = time.Now()
	m.ec2Seen = len(m.sb.EC2Journal())
	m.fleetSeen = len(m.sb.FleetJournal())
	m.mu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	m.recCancel = cancel
	ready := make(chan struct{}, 1)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.etcdRec.run(rctx, m.cli, ready)
	}()
	<-ready     // the holder and the sessions are known before anything is judged
	m.look(ctx) // sessions and leader known before the first mutation is judged
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				m.look(ctx)
			}
		}
	}()
}

// Stop ends the watch, takes one last look and returns the first violation, if any.
func (m *Monitor) Stop(ctx context.Context) *Violation {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.recCancel()
	m.wg.Wait()
	m.look(ctx)
	return m.Violation()
}

// Violation returns the first violation seen so far, or nil.
func (m *Monitor) Violation() *Violation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.first
}

// Stats says how many looks the monitor took and how many mutations it judged.
func (m *Monitor) Stats() (looks, mutations int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checks, m.mutations
}

// Note adds a line to the trace printed with a violation (faults injected by the test).
func (m *Monitor) Note(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.note(time.Now(), format, args...)
}

func (m *Monitor) note(at time.Time, format string, args ...any) {
	line := fmt.Sprintf("%s %s", at.Format("15:04:05.000"), fmt.Sprintf(format, args...))
	m.trace = append(m.trace, line)
	if len(m.trace) > 60 {
		m.trace = m.trace[len(m.trace)-60:]
	}
}

// Trace returns the recent notes, oldest first.
func (m *Monitor) Trace() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.trace...)
}

// CutOff tells the monitor that the test cut instance off (killed or
// partitioned its host) at at: from at + SessionTTL + Grace on, the instance
// may mutate nothing until it holds a new session.
func (m *Monitor) CutOff(instance string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cuts[instance] = cut{at: at, lease: m.curLease[instance]}
	m.note(at, "test cut off %s (session lease %x)", instance, m.curLease[instance])
}

// Restore tells the monitor that the test reconnected instance's host at
// at. A cut shorter than the session TTL may not have cost the session (its
// lease never expired), so the cut is forgotten and etcd's registry decides;
// after a longer cut the old session is certainly gone and the cut stays
// until a new session appears.
func (m *Monitor) Restore(instance string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cuts[instance]; ok && at.Before(c.at.Add(m.o.SessionTTL)) {
		delete(m.cuts, instance)
		m.note(at, "test restored %s within the session TTL", instance)
	}
}

// Fail records a violation found by the test itself (invariant 3 is checked
// by reading the rows, which only the test can do).
func (m *Monitor) Fail(inv Invariant, at time.Time, format string, args ...any) {
	m.mu.Lock()
	v := m.violate(inv, at, format, args...)
	m.mu.Unlock()
	if v != nil && m.onViolation != nil {
		m.onViolation(v)
	}
}

// violate records v if it is the first; m.mu is held. It returns v when it is new.
func (m *Monitor) violate(inv Invariant, at time.Time, format string, args ...any) *Violation {
	if m.first != nil {
		return nil
	}
	m.first = &Violation{Invariant: inv, At: at, Detail: fmt.Sprintf(format, args...)}
	m.note(at, "VIOLATION of invariant %d: %s", inv, m.first.Detail)
	return m.first
}

// look takes one look at the world and judges it.
func (m *Monitor) look(ctx context.Context) {
	now := time.Now()
	etcd, etcdErr := m.readEtcd(ctx)
	attachments := m.sb.EC2().VolumeAttachments(m.vol)
	links := m.deviceLinks()
	pg := m.sb.PostgresHosts(m.vol)
	ec2 := m.sb.EC2Journal()
	fl := m.sb.FleetJournal()

	m.mu.Lock()
	m.checks++
	var v *Violation
	record := func(x *Violation) {
		if v == nil {
			v = x
		}
	}
	if len(attachments) > 1 {
		record(m.violate(OneAttachment, now, "EC2 shows %s attached to %d instances: %+v", m.vol, len(attachments), attachments))
	}
	if len(links) > 1 {
		record(m.violate(OneAttachment, now, "%s appears as a device on %d hosts: %s", m.vol, len(links), strings.Join(links, ", ")))
	}
	if len(pg) > 1 {
		names := make([]string, len(pg))
		for i, h := range pg {
			names[i] = h.Name
		}
		record(m.violate(OnePostgres, now, "postgres for %s is active on %d hosts: %s", m.vol, len(pg), strings.Join(names, ", ")))
	}
	if etcdErr == nil {
		m.absorbEtcd(now, etcd)
		record(m.judgeRecords(now))
	} else {
		m.note(now, "monitor: etcd read failed: %v", etcdErr)
	}
	record(m.judgeMutations(ec2, fl))
	m.mu.Unlock()
	if v != nil && m.onViolation != nil {
		m.onViolation(v)
	}
}

// deviceLinks lists the hosts whose device tree shows the volume.
func (m *Monitor) deviceLinks() []string {
	var out []string
	for _, h := range m.sb.Hosts() {
		if _, err := sandbox.FindVolumeDevice(h.Root, m.vol); err == nil {
			out = append(out, h.Name)
		}
	}
	return out
}

// etcdView is what the monitor reads from etcd in one look.
type etcdView struct {
	leases     map[string]int64 // instance -> registry lease
	leader     string
	pause      bool
	pauseWhy   string
	switchover bool
	records    []*state.Record
}

func (m *Monitor) readEtcd(ctx context.Context) (etcdView, error) {
	v := etcdView{leases: map[string]int64{}}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	k := m.keys
	resp, err := m.cli.Txn(rctx).Then(
		clientv3.OpGet(k.Hosts(), clientv3.WithPrefix()),
		clientv3.OpGet(k.Election()+"/", clientv3.WithFirstCreate()...),
		clientv3.OpGet(k.Pause()),
		clientv3.OpGet(k.Volumes()+m.vol+"/", clientv3.WithPrefix()),
		clientv3.OpGet(k.JournalVolume(m.vol)),
		clientv3.OpGet(k.HistoryVolume(m.vol), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return v, fmt.Errorf("read controller keys: %w", err)
	}
	r := resp.Responses
	for _, kv := range r[0].GetResponseRange().Kvs {
		v.leases[strings.TrimPrefix(string(kv.Key), k.Hosts())] = kv.Lease
	}
	if kvs := r[1].GetResponseRange().Kvs; len(kvs) == 1 {
		v.leader = string(kvs[0].Value)
	}
	// The overrides are judged by the leader's own parser: a value that does
	// not parse pauses what it names, an expired one does not.
	var global *mvccpb.KeyValue
	if kvs := r[2].GetResponseRange().Kvs; len(kvs) == 1 {
		global = kvs[0]
	}
	ov := k.ParseOverrides(global, r[3].GetResponseRange().Kvs, time.Now())
	if why := ov.PausedReason(m.vol); why != "" {
		v.pause, v.pauseWhy = true, why
	}
	_, v.switchover = ov.Switchovers[m.vol]
	for _, rr := range []int{4, 5} {
		for _, kv := range r[rr].GetResponseRange().Kvs {
			var rec state.Record
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return v, fmt.Errorf("journal record %s: %w", kv.Key, err)
			}
			v.records = append(v.records, &rec)
		}
	}
	return v, nil
}

// absorbEtcd updates the spans from one etcd look; m.mu is held.
func (m *Monitor) absorbEtcd(now time.Time, v etcdView) {
	// A session or leadership seen now for the first time began after the
	// previous look: that earlier bound is the lenient one for invariant 4.
	since := m.lastLook
	if since.IsZero() {
		since = now
	}
	for inst, lease := range v.leases {
		if cur, ok := m.curLease[inst]; ok && cur == lease {
			continue
		}
		if _, ok := m.curLease[inst]; ok {
			closeSpan(m.sessions, inst, now)
		}
		m.curLease[inst] = lease
		m.sessions[inst] = append(m.sessions[inst], span{From: since})
		m.note(now, "session of %s: lease %x", inst, lease)
	}
	for inst := range m.curLease {
		if _, ok := v.leases[inst]; !ok {
			closeSpan(m.sessions, inst, now)
			delete(m.curLease, inst)
			m.note(now, "session of %s gone", inst)
		}
	}
	if v.leader != m.leader {
		if m.leader != "" {
			closeSpan(m.leads, m.leader, now)
		}
		if v.leader != "" {
			m.leads[v.leader] = append(m.leads[v.leader], span{From: since})
		}
		m.note(now, "leader %q -> %q", m.leader, v.leader)
		m.leader = v.leader
	}
	// A pause ended somewhere between the previous look and this one: the
	// earlier bound is the lenient one for "failover while paused".
	m.pauses = toggle(m.pauses, v.pause, now, m.lastLook)
	if v.pause && len(m.pauses) > 0 && m.pauses[len(m.pauses)-1].From.Equal(now) {
		m.note(now, "pause in force (%s)", v.pauseWhy)
	}
	m.switchovers = toggle(m.switchovers, v.switchover, now, now)
	m.lastLook = now
	for _, r := range v.records {
		prev, ok := m.records[r.ID]
		if !ok {
			m.recordSeen[r.ID] = now
			m.note(now, "move %s (%s) planned %s -> %s: %s", r.ID, r.Kind, r.From.Instance, r.To.Instance, r.Reason)
		} else if prev.Step != r.Step {
			m.note(now, "move %s at step %s", r.ID, r.Step)
		}
		m.records[r.ID] = r
	}
}

func closeSpan(spans map[string][]span, key string, at time.Time) {
	s := spans[key]
	if n := len(s); n > 0 && s[n-1].To.IsZero() {
		s[n-1].To = at
	}
}

// toggle opens a span at now when on starts and closes it at closeAt when on ends.
func toggle(spans []span, on bool, now, closeAt time.Time) []span {
	open := len(spans) > 0 && spans[len(spans)-1].To.IsZero()
	switch {
	case on && !open:
		return append(spans, span{From: now})
	case !on && open:
		spans[len(spans)-1].To = closeAt
	}
	return spans
}

// judgeRecords checks invariant 5 on every move seen; m.mu is held.
func (m *Monitor) judgeRecords(now time.Time) *Violation {
	recs := make([]*state.Record, 0, len(m.records))
	for _, r := range m.records {
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created.Before(recs[j].Created) })
	var lastAuto *state.Record
	for _, r := range recs {
		if r.Created.Before(m.start) {
			continue
		}
		for _, p := range m.pauses {
			// A pause takes effect within a reconcile round: the grace covers a
			// round that read the overrides just before the pause was written.
			held := span{From: p.From.Add(m.o.Grace), To: p.To}
			if held.covers(r.Created, 0, 0) && !p.From.Add(m.o.Grace).After(now) {
				return m.violate(NoFailoverHeld, now, "%s %s of %s planned at %s while paused since %s", r.Kind, r.ID, r.Volume, r.Created.Format("15:04:05.000"), p.From.Format("15:04:05.000"))
			}
			for _, st := range r.Timeline {
				if st.Step != state.StepPlanned && held.covers(st.Start, 0, 0) {
					return m.violate(NoFailoverHeld, now, "%s %s of %s started step %s at %s while paused since %s", r.Kind, r.ID, r.Volume, st.Step, st.Start.Format("15:04:05.000"), p.From.Format("15:04:05.000"))
				}
			}
		}
		if r.Kind != state.KindFailover || m.requested(r.Created) {
			continue
		}
		if lastAuto != nil && m.o.Cooldown > 0 && r.Created.Sub(lastAuto.Created) < m.o.Cooldown-50*time.Millisecond {
			return m.violate(NoFailoverHeld, now, "automatic failover %s of %s planned %s after failover %s, inside the %s cooldown",
				r.ID, r.Volume, r.Created.Sub(lastAuto.Created).Round(time.Millisecond), lastAuto.ID, m.o.Cooldown)
		}
		lastAuto = r
	}
	return nil
}

// requested reports whether a switchover request was present around t (a
// switchover whose owner died becomes a failover that is not automatic).
func (m *Monitor) requested(t time.Time) bool {
	for _, s := range m.switchovers {
		if s.covers(t, m.o.Grace, m.o.Grace) {
			return true
		}
	}
	return false
}

// judgeMutations checks invariant 4 on every new journal entry; m.mu is held.
func (m *Monitor) judgeMutations(ec2 []ec2Call, fl []fleetRequest) *Violation {
	var first *Violation
	judge := func(at time.Time, ua, what string) {
		inst, ok := useragent.Instance(ua)
		if !ok {
			return // the sandbox or the test, not a controller
		}
		m.mutations++
		if first != nil {
			return
		}
		if why := m.mayMutate(inst, at); why != "" {
			first = m.violate(NoZombieMutates, at, "%s by %s at %s: %s", what, inst, at.Format("15:04:05.000"), why)
		}
	}
	for _, c := range ec2[min(m.ec2Seen, len(ec2)):] {
		if c.Mutating() {
			judge(c.Time, c.UserAgent, fmt.Sprintf("EC2 %s %v (status %d %s)", c.Action, compactParams(c.Params), c.Status, c.Code))
		}
	}
	m.ec2Seen = len(ec2)
	for _, r := range fl[min(m.fleetSeen, len(fl)):] {
		if r.Mutating() {
			judge(r.Time, r.UserAgent, fmt.Sprintf("fleet %s %s (status %d)", r.Method, r.Path, r.Status))
		}
	}
	m.fleetSeen = len(fl)
	return first
}

// mayMutate says why inst may not mutate at t, or "" if it may.
func (m *Monitor) mayMutate(inst string, t time.Time) string {
	if c, ok := m.cuts[inst]; ok && t.After(c.at.Add(m.o.SessionTTL+m.o.Grace)) {
		if lease, live := m.curLease[inst]; !live || lease == c.lease {
			return fmt.Sprintf("its host was cut off at %s, so its session (TTL %s) was lost by %s and no new one exists",
				c.at.Format("15:04:05.000"), m.o.SessionTTL, c.at.Add(m.o.SessionTTL).Format("15:04:05.000"))
		}
	}
	lag := m.o.Interval
	inSession := false
	for _, s := range m.sessions[inst] {
		if s.covers(t, lag, m.o.Grace) {
			inSession = true
		}
	}
	if !inSession {
		return "it held no etcd session then (its registry key was absent)"
	}
	for _, s := range m.leads[inst] {
		if s.covers(t, lag, m.o.Grace) {
			return ""
		}
	}
	return fmt.Sprintf("it was not the leader then (leader %q)", m.leader)
}

func compactParams(p map[string][]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "Action" && k != "Version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(p[k], ","))
	}
	return strings.Join(parts, " ")
}

// Records returns every move the monitor saw, oldest first.
func (m *Monitor) Records() []*state.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*state.Record, 0, len(m.records))
	for _, r := range m.records {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

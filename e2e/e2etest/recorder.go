package e2etest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/e2e/history"
	"github.com/volfailover/volfailover/internal/useragent"
	"github.com/volfailover/volfailover/state"
)

// etcdRecorder follows the election key's holder and every host's
// registration through an etcd watch, so the history knows when each
// leadership and session began and ended to within the watch's delivery
// time, not the monitor's polling interval.
type etcdRecorder struct {
	keys state.Keys

	mu       sync.Mutex
	cands    map[string]candidate // election key -> candidate
	regs     map[string]int64     // instance -> registry lease
	holder   string
	leaders  []history.Span
	sessions []history.Span
	err      error
}

type candidate struct {
	rev      int64
	instance string
}

func newEtcdRecorder(keys state.Keys) *etcdRecorder {
	return &etcdRecorder{keys: keys, cands: map[string]candidate{}, regs: map[string]int64{}}
}

// run reads the current holder and registrations, then follows both until
// ctx ends.
func (r *etcdRecorder) run(ctx context.Context, cli *clientv3.Client, ready chan<- struct{}) {
	defer close(ready)
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := cli.Txn(gctx).Then(
		clientv3.OpGet(r.keys.Election()+"/", clientv3.WithPrefix()),
		clientv3.OpGet(r.keys.Hosts(), clientv3.WithPrefix()),
	).Commit()
	cancel()
	if err != nil {
		r.fail(fmt.Errorf("read election and registry: %w", err))
		return
	}
	now := time.Now()
	r.mu.Lock()
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		r.cands[string(kv.Key)] = candidate{rev: kv.CreateRevision, instance: string(kv.Value)}
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		r.register(now, string(kv.Key), kv.Lease)
	}
	r.elect(now)
	r.mu.Unlock()
	ready <- struct{}{}
	// A watch ends when its member loses the cluster's leader (or is cut
	// off, killed or restarted): follow again from where it stopped, so a
	// fault of the etcd cluster leaves no gap in the history. Events seen
	// twice change nothing.
	next := resp.Header.Revision + 1
	for {
		next = r.follow(ctx, cli, next)
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow watches the election and the registry from revision from until
// either watch ends, and returns the revision to follow again from.
func (r *etcdRecorder) follow(ctx context.Context, cli *clientv3.Client, from int64) int64 {
	wctx, stop := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer stop()
	elections := cli.Watch(wctx, r.keys.Election()+"/", clientv3.WithPrefix(), clientv3.WithRev(from))
	hosts := cli.Watch(wctx, r.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithRev(from))
	seen := [2]int64{from, from} // next revision each watch has yet to deliver
	for {
		var wr clientv3.WatchResponse
		var ok bool
		i := 0
		select {
		case wr, ok = <-elections:
		case wr, ok = <-hosts:
			i = 1
		}
		if !ok || wr.Canceled {
			if wr.CompactRevision != 0 {
				r.fail(fmt.Errorf("watch from revision %d: compacted at %d, events lost", from, wr.CompactRevision))
			}
			return min(seen[0], seen[1])
		}
		r.absorb(wr, i == 0)
		for _, ev := range wr.Events {
			seen[i] = max(seen[i], ev.Kv.ModRevision+1)
		}
		if len(wr.Events) == 0 && wr.Header.Revision > 0 {
			seen[i] = max(seen[i], wr.Header.Revision+1)
		}
	}
}

func (r *etcdRecorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *etcdRecorder) absorb(wr clientv3.WatchResponse, election bool) {
	now := time.Now()
	if err := wr.Err(); err != nil && !wr.Canceled {
		r.fail(fmt.Errorf("watch: %w", err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range wr.Events {
		key := string(ev.Kv.Key)
		switch {
		case election && ev.Type == mvccpb.PUT:
			r.cands[key] = candidate{rev: ev.Kv.CreateRevision, instance: string(ev.Kv.Value)}
		case election:
			delete(r.cands, key)
		case ev.Type == mvccpb.PUT:
			r.register(now, key, ev.Kv.Lease)
		default:
			inst := strings.TrimPrefix(key, r.keys.Hosts())
			if _, ok := r.regs[inst]; ok {
				closeOpen(r.sessions, inst, now)
				delete(r.regs, inst)
			}
		}
	}
	if election {
		r.elect(now)
	}
}

// register opens a session span for a new lease; r.mu is held.
func (r *etcdRecorder) register(now time.Time, key string, lease int64) {
	inst := strings.TrimPrefix(key, r.keys.Hosts())
	if cur, ok := r.regs[inst]; ok {
		if cur == lease {
			return
		}
		closeOpen(r.sessions, inst, now)
	}
	r.regs[inst] = lease
	r.sessions = append(r.sessions, history.Span{Instance: inst, From: now})
}

// elect records a change of holder (the oldest candidate); r.mu is held.
func (r *etcdRecorder) elect(now time.Time) {
	holder, best := "", int64(0)
	for _, c := range r.cands {
		if best == 0 || c.rev < best {
			holder, best = c.instance, c.rev
		}
	}
	if holder == r.holder {
		return
	}
	if r.holder != "" {
		closeOpen(r.leaders, r.holder, now)
	}
	if holder != "" {
		r.leaders = append(r.leaders, history.Span{Instance: holder, From: now})
	}
	r.holder = holder
}

func closeOpen(spans []history.Span, inst string, at time.Time) {
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].Instance == inst && spans[i].To.IsZero() {
			spans[i].To = at
			return
		}
	}
}

// spans returns copies of the leadership and session spans and the first
// watch error, if any.
func (r *etcdRecorder) spans() ([]history.Span, []history.Span, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]history.Span(nil), r.leaders...), append([]history.Span(nil), r.sessions...), r.err
}

// buildHistory assembles what the monitor recorded into a history.History.
func (m *Monitor) buildHistory(end time.Time) (history.History, error) {
	leaders, sessions, err := m.etcdRec.spans()
	m.mu.Lock()
	h := history.History{Start: m.start, End: end, Volumes: []string{m.vol}, Leaders: leaders, Sessions: sessions}
	for _, p := range m.pauses {
		h.Pauses = append(h.Pauses, history.Pause{From: p.From, To: p.To})
	}
	h.MovesSeen = map[string]time.Time{}
	for id, r := range m.records {
		h.Moves = append(h.Moves, *r)
		h.MovesSeen[id] = m.recordSeen[id]
	}
	m.mu.Unlock()
	sort.Slice(h.Moves, func(i, j int) bool { return h.Moves[i].Created.Before(h.Moves[j].Created) })
	for _, x := range m.sb.Hosts() {
		h.Hosts = append(h.Hosts, history.Host{Name: x.Name, Instance: x.InstanceID, Machine: x.MachineID, AZ: x.AZ})
	}
	for _, c := range m.sb.EC2Journal() {
		sender, _ := useragent.Instance(c.UserAgent)
		h.Requests = append(h.Requests, history.Request{Service: history.EC2, Arrived: c.Time, Applied: c.Applied, Action: c.Action,
			Params: c.Params, Status: c.Status, Code: c.Code, Sender: sender, Mutating: c.Mutating()})
	}
	for _, r := range m.sb.FleetJournal() {
		sender, _ := useragent.Instance(r.UserAgent)
		h.Requests = append(h.Requests, history.Request{Service: history.Fleet, Arrived: r.Time, Applied: r.Applied, Action: r.Method,
			Path: r.Path, Body: r.Body, Status: r.Status, Sender: sender, Mutating: r.Mutating()})
	}
	for _, t := range m.sb.EC2().Transitions() {
		h.Transitions = append(h.Transitions, history.Transition{Time: t.Time, Volume: t.Volume, Instance: t.Instance, State: t.State})
	}
	for _, f := range m.sb.Faults() {
		h.Faults = append(h.Faults, history.Fault{Kind: f.Kind, Host: f.Host, Peer: f.Peer, From: f.From, To: f.To})
	}
	if m.o.Served != nil {
		for _, at := range m.o.Served() {
			h.Served = append(h.Served, history.Served{Volume: m.vol, At: at})
		}
	}
	if m.o.Pages != nil {
		h.Pages = m.o.Pages()
	}
	return h, err
}

// CheckHistory judges everything recorded since Start with the history
// checks (e2e/history) and returns the report. It is cheap enough to run
// after every chaos round: one pass over the journals.
func (m *Monitor) CheckHistory() (history.Report, error) {
	h, err := m.buildHistory(time.Now())
	if err != nil {
		return history.Report{}, fmt.Errorf("history incomplete: %w", err)
	}
	return history.Check(h, m.o.History), nil
}

// FalseFailovers lists the automatic failovers so far whose owner was healthy
// by the harness's truth, or down only through a fault of blip or less.
func (m *Monitor) FalseFailovers(blip time.Duration) ([]history.FalseFailover, error) {
	h, err := m.buildHistory(time.Now())
	if err != nil {
		return nil, fmt.Errorf("history incomplete: %w", err)
	}
	return history.FalseFailovers(h, blip), nil
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"golang.org/x/sync/singleflight"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

// leader is one leadership term: its guard, its memory and the goroutines
// (move workers, stop confirmations) it owns and waits for.
type leader struct {
	c     *Controller
	sess  *concurrency.Session
	guard clientv3.Cmp
	abdic context.CancelFunc
	j     journal
	pager Pager
	log   zerolog.Logger
	// t is the term's memory; only the reconcile goroutine touches it.
	t *term
	// machines shares one fleet machine listing among the workers that ask
	// at once (each metadata step needs the whole list, 14 pages at 1,300
	// hosts).
	machines singleflight.Group
	// wake asks for a round before the next tick: the leader's probes or a
	// witness report may have made an owner dead.
	wake   chan struct{}
	probes *ownerProbes

	wg sync.WaitGroup
}

func newLeader(c *Controller, sess *concurrency.Session, el *concurrency.Election, abdicate context.CancelFunc) *leader {
	guard := clientv3.Compare(clientv3.CreateRevision(el.Key()), "=", el.Rev())
	pager := c.pager
	if c.leaderPager != nil {
		pager = c.leaderPager(guard)
	}
	wake := make(chan struct{}, 1)
	return &leader{
		wake:   wake,
		probes: newOwnerProbes(c, wake),
		c:      c,
		sess:   sess,
		guard:  guard,
		abdic:  abdicate,
		j:      journal{cli: c.cli, keys: c.keys, guard: guard, limit: c.o.HistoryLimit},
		pager:  pager,
		log:    c.log.With().Str("leader", c.o.InstanceID).Logger(),
		t:      newTerm(c.o.Witnesses),
	}
}

// run is the reconcile loop; it returns when the leadership ends, after every
// goroutine of the term has returned.
func (l *leader) run(ctx context.Context) {
	defer l.wg.Wait()
	if l.c.leaderTask != nil {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := l.c.leaderTask(ctx); err != nil && ctx.Err() == nil {
				l.log.Error().Err(err).Msg("leader task stopped")
			}
		}()
	}
	l.spawn(func() { l.probes.run(ctx) })
	l.spawn(func() { l.followReports(ctx) })
	tick := l.c.clk.NewTicker(l.c.o.RoundInterval)
	defer tick.Stop()
	for {
		began := l.c.clk.Now()
		if err := l.reconcile(ctx); err != nil {
			if errors.Is(err, errNotLeader) {
				l.log.Warn().Err(err).Msg("leadership lost; stopping")
				l.abdic()
				return
			}
			if ctx.Err() == nil {
				l.log.Error().Err(err).Msg("reconcile round failed")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		case <-l.wake:
			// Woken rounds come at most one probe interval apart.
			if rest := l.c.o.ProbeInterval - l.c.clk.Since(began); rest > 0 {
				select {
				case <-ctx.Done():
					return
				case <-l.c.clk.After(rest):
				}
			}
		}
	}
}

// check proves, just before an EC2 or fleet mutation, that this term still
// leads: the context lives, the session lives, and a transaction guarded by the
// leader key succeeds. When the record is given, the journal must still hold it.
func (l *leader) check(ctx context.Context, r *state.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", errNotLeader, err)
	}
	select {
	case <-l.sess.Done():
		return fmt.Errorf("%w: session expired", errNotLeader)
	default:
	}
	cmps := []clientv3.Cmp{l.guard}
	if r != nil {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(l.c.keys.JournalVolume(r.Volume)), "=", r.Rev))
	}
	resp, err := l.c.cli.Txn(ctx).If(cmps...).Commit()
	if err != nil {
		return fmt.Errorf("%w: guarded read failed: %w", errNotLeader, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: leader key or journal record changed", errNotLeader)
	}
	return nil
}

// leaseMargin is how long before the session's lease could expire every
// mutation's context ends, at least: the lease's remaining time is read in
// whole seconds, rounded down, so it never overstates; the margin covers the
// read's own latency and clock rate differences.
func leaseMargin(ttl time.Duration) time.Duration { return max(100*time.Millisecond, ttl/10) }

// mutate runs one EC2 or fleet mutation for this term. It first proves the
// term still leads (and that the journal still holds r), then runs f under a
// context whose deadline ends before the session's lease could expire. So a
// call of this term, retries included, is never sent after the time another
// instance could win the election: the SDK and the HTTP client stop retrying
// when that context ends. See "A deposed leader's last call" in
// docs/architecture.md for the bound and why the next leader is safe anyway.
func (l *leader) mutate(ctx context.Context, r *state.Record, f func(context.Context) error) error {
	if err := l.check(ctx, r); err != nil {
		return err
	}
	ttl, err := l.c.cli.TimeToLive(ctx, l.sess.Lease())
	if err != nil {
		return fmt.Errorf("%w: read the session lease: %w", errNotLeader, err)
	}
	left := time.Duration(ttl.TTL)*time.Second - leaseMargin(l.c.o.SessionTTL)
	if ttl.TTL <= 0 || left <= 0 {
		// Not yet a lost leadership: the keepalive may be late. Retried.
		return fmt.Errorf("session lease has %ds left, too little to send anything before it could expire", ttl.TTL)
	}
	mctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	return f(mctx)
}

// page stamps and sends ev; a failure to page is logged, never fatal. It is
// safe from any goroutine of the term: it touches no term memory.
func (l *leader) page(ctx context.Context, ev alert.Event) {
	ev.Source = "volfailover/" + l.c.o.InstanceID
	ev.Time = l.c.clk.Now().UTC()
	if ev.Action == "" {
		ev.Action = alert.ActionTrigger
	}
	if err := l.pager.Page(ctx, ev); err != nil {
		l.log.Error().Err(err).Str("kind", string(ev.Kind)).Str("volume", ev.Volume).Msg("page failed")
	}
}

// report hands what a goroutine of the term found out to the reconcile loop.
// It gives up only when the term ends, which makes the report moot.
func (l *leader) report(ctx context.Context, r report) {
	select {
	case l.t.reports <- r:
	case <-ctx.Done():
	}
}

// go runs f in a goroutine of the term.
func (l *leader) spawn(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// startWorker runs the record to done in a goroutine of the term, unless one
// already runs for its volume. The worker's exit frees the volume for the
// planner; the planner can stop it early (stopWorker).
func (l *leader) startWorker(ctx context.Context, rec state.Record) {
	if l.t.busy(rec.Volume) {
		return
	}
	wctx, stop := context.WithCancel(ctx)
	l.t.workers[rec.Volume] = workerRef{id: rec.ID, stop: stop}
	w := &worker{l: l, r: &rec, log: l.log.With().Str("volume", rec.Volume).Str("failover_id", rec.ID).Str("kind", string(rec.Kind)).Logger()}
	l.spawn(func() {
		defer stop()
		defer l.report(ctx, report{kind: reportWorkerExit, volume: rec.Volume, record: state.Record{ID: rec.ID}})
		err := w.run(wctx)
		switch {
		case err == nil:
		case errors.Is(err, errNotLeader) && ctx.Err() == nil && wctx.Err() == nil:
			w.log.Warn().Err(err).Msg("move handed over: no longer the leader")
			l.abdic()
		case wctx.Err() == nil:
			w.log.Error().Err(err).Msg("move worker stopped")
		}
	})
}

func severityOf(k state.Kind) alert.Severity {
	if k == state.KindFailover {
		return alert.SeverityCritical
	}
	return alert.SeverityWarning
}

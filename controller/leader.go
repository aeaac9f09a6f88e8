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

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

// leader is one leadership term: its guard, its probe counters and the
// goroutines (failover workers, fence confirmations) it owns.
type leader struct {
	c      *Controller
	sess   *concurrency.Session
	guard  clientv3.Cmp
	abdic  context.CancelFunc
	j      journal
	pager  Pager
	log    zerolog.Logger
	damper Damper

	wg sync.WaitGroup

	mu       sync.Mutex
	workers  map[string]bool   // volume → worker running
	failures map[string]int    // owner → consecutive failed probe rounds
	seen     map[string]bool   // owners seen registered during this term
	verdicts map[string]string // owner → last verdict logged
	paged    map[string]bool   // dedup keys paged this term

	suspectSince map[string]time.Time // owner → start of its current suspect spell, this term
	suspectPaged map[string]bool      // owners with an open owner_suspect page
	confirming   map[string]bool      // record IDs whose stop confirmation runs

	// lastOwners is the owners list this term last published (reconcile loop only);
	// a new term starts from the list the previous leader left in etcd.
	lastOwners map[string]state.Owner
	// witnesses caches each owner's witnesses across the term's rounds (judge only).
	witnesses *witnessCache
}

func newLeader(c *Controller, sess *concurrency.Session, el *concurrency.Election, abdicate context.CancelFunc) *leader {
	guard := clientv3.Compare(clientv3.CreateRevision(el.Key()), "=", el.Rev())
	pager := c.pager
	if c.leaderPager != nil {
		pager = c.leaderPager(guard)
	}
	return &leader{
		c:        c,
		sess:     sess,
		guard:    guard,
		abdic:    abdicate,
		j:        journal{cli: c.cli, keys: c.keys, guard: guard, limit: c.o.HistoryLimit},
		pager:    pager,
		log:      c.log.With().Str("leader", c.o.InstanceID).Logger(),
		damper:   Damper{Cooldown: c.o.Cooldown, Max: c.o.MaxFailovers, Window: c.o.FailoverWindow},
		workers:  map[string]bool{},
		failures: map[string]int{},
		seen:     map[string]bool{},
		verdicts: map[string]string{},
		paged:    map[string]bool{},

		suspectSince: map[string]time.Time{},
		suspectPaged: map[string]bool{},
		confirming:   map[string]bool{},
		witnesses:    newWitnessCache(c.o.Witnesses),
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
	t := l.c.clk.NewTicker(l.c.o.ProbeInterval)
	defer t.Stop()
	for {
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
		case <-t.C():
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

// page sends ev unless dryRun-free dedup says this term already sent it; a
// failure to page is logged, never fatal.
func (l *leader) page(ctx context.Context, ev alert.Event, once bool) {
	if once {
		l.mu.Lock()
		seen := l.paged[ev.DedupKey]
		l.paged[ev.DedupKey] = true
		l.mu.Unlock()
		if seen {
			return
		}
	}
	ev.Source = "volfailover/" + l.c.o.InstanceID
	ev.Time = l.c.clk.Now().UTC()
	if ev.Action == "" {
		ev.Action = alert.ActionTrigger
	}
	if err := l.pager.Page(ctx, ev); err != nil {
		l.log.Error().Err(err).Str("kind", string(ev.Kind)).Str("volume", ev.Volume).Msg("page failed")
	}
}

// start runs the record to completion in a goroutine of this term.
func (l *leader) start(ctx context.Context, r *state.Record) {
	l.mu.Lock()
	if l.workers[r.Volume] {
		l.mu.Unlock()
		return
	}
	l.workers[r.Volume] = true
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() {
			l.mu.Lock()
			delete(l.workers, r.Volume)
			l.mu.Unlock()
		}()
		w := &worker{l: l, r: r, log: l.log.With().Str("volume", r.Volume).Str("failover_id", r.ID).Str("kind", string(r.Kind)).Logger()}
		if err := w.run(ctx); err != nil {
			if errors.Is(err, errNotLeader) {
				w.log.Warn().Err(err).Msg("failover handed over: no longer the leader")
				l.abdic()
				return
			}
			if ctx.Err() == nil {
				w.log.Error().Err(err).Msg("failover worker stopped")
			}
		}
	}()
}

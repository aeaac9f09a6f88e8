package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchRetry is how soon the outbox watches again after its watch ended, as
// it does whenever etcd's leader changes or a member stalls (the watch
// requires a leader). Chaos seed 2611305 saw a page wait 5 s for the timer.
const watchRetry = 500 * time.Millisecond

// Run delivers the outbox to every sink until ctx ends, then returns nil.
// It reacts to new entries through an etcd watch and re-reads the outbox every
// PollInterval and whenever a retry is due. Only the leader should run it; a
// new leader's Run delivers whatever the old one left.
func (o *Outbox) Run(ctx context.Context) error {
	if len(o.opts.Sinks) == 0 {
		return errors.New("run outbox: no sinks configured")
	}
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("run outbox: already running")
	}
	defer o.running.Store(false)
	o.log.Info().Str("prefix", o.outboxDir).Int("sinks", len(o.opts.Sinks)).Msg("outbox delivery started")
	defer o.log.Info().Msg("outbox delivery stopped")

	var (
		wch         clientv3.WatchChan
		watchCancel context.CancelFunc = func() {}
	)
	startWatch := func() {
		watchCancel()
		wctx, cancel := context.WithCancel(ctx)
		watchCancel = cancel
		wch = o.cli.Watch(clientv3.WithRequireLeader(wctx), o.outboxDir, clientv3.WithPrefix(), clientv3.WithFilterDelete())
	}
	defer func() { watchCancel() }()
	startWatch()

	for {
		wait := o.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if wch == nil {
			// Without a watch a new page waits for the next pass, up to
			// PollInterval (10 s): try the watch again soon instead.
			wait = min(wait, watchRetry)
		}
		t := o.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
			if wch == nil {
				startWatch()
			}
		case wr, ok := <-wch:
			t.Stop()
			if !ok || wr.Err() != nil {
				// Fall back to the timer; the watch is restarted when it fires.
				o.log.Warn().AnErr("error", wr.Err()).Bool("closed", !ok).Msg("outbox watch ended")
				watchCancel()
				wch = nil
			}
		}
	}
}

// pass reads the whole outbox page by page, sends what is due, records the
// outcomes, and returns how long to wait before the next pass.
func (o *Outbox) pass(ctx context.Context) time.Duration {
	now := o.clock.Now()
	next := now.Add(o.opts.PollInterval)
	seen := map[string]bool{}
	// pending marks sink+dedup key pairs with an earlier undelivered entry:
	// a resolve never overtakes its trigger.
	pending := map[[2]string]bool{}
	// The outbox is read in pages of BatchSize keys, in key (= enqueue) order.
	from, end := o.outboxDir, clientv3.GetPrefixRangeEnd(o.outboxDir)
	for {
		resp, err := o.cli.Get(ctx, from, clientv3.WithRange(end),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(int64(o.opts.BatchSize)))
		if err != nil {
			if ctx.Err() == nil {
				o.log.Warn().Err(err).Msg("read outbox")
			}
			return min(o.opts.PollInterval, o.opts.Backoff.Initial)
		}
		next = o.passPage(ctx, resp.Kvs, now, next, seen, pending)
		if ctx.Err() != nil {
			return 0
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	for k := range o.retries {
		if !seen[k] {
			delete(o.retries, k)
		}
	}
	o.observeBacklog(len(seen), now)
	return max(next.Sub(o.clock.Now()), 0)
}

// observeBacklog exports how many pages the pass found and how old the
// oldest still waiting is.
func (o *Outbox) observeBacklog(n int, now time.Time) {
	if o.metrics == nil {
		return
	}
	o.metrics.backlog.Set(float64(n))
	age := 0.0
	if !o.oldestSeen.IsZero() && n > 0 {
		age = now.Sub(o.oldestSeen).Seconds()
	}
	o.metrics.oldest.Set(age)
	o.oldestSeen = time.Time{}
}

// passPage handles one page of outbox entries and returns the earliest time
// something in it is due again (or next, if earlier).
func (o *Outbox) passPage(ctx context.Context, kvs []*mvccpb.KeyValue, now, next time.Time, seen map[string]bool, pending map[[2]string]bool) time.Time {
	for _, kv := range kvs {
		if ctx.Err() != nil {
			return next
		}
		key := string(kv.Key)
		seen[key] = true
		e, err := decodeEntry(kv.Value)
		if err != nil {
			o.moveAside(ctx, kv, err)
			continue
		}
		if o.oldestSeen.IsZero() || e.Enqueued.Before(o.oldestSeen) {
			o.oldestSeen = e.Enqueued
		}
		var due []Sink
		for _, s := range o.opts.Sinks {
			if _, done := e.Sinks[s.Name()]; done {
				continue
			}
			pk := [2]string{s.Name(), e.Event.DedupKey}
			if pending[pk] {
				continue
			}
			pending[pk] = true
			if rs := o.retries[key][s.Name()]; rs != nil && rs.next.After(now) {
				if rs.next.Before(next) {
					next = rs.next
				}
				continue
			}
			due = append(due, s)
		}
		if len(due) == 0 {
			continue
		}
		if o.deliver(ctx, key, e, due, pending) {
			o.commit(ctx, kv, e)
		}
		for _, rs := range o.retries[key] {
			if rs.next.Before(next) {
				next = rs.next
			}
		}
	}
	return next
}

// sendResult is one sink's answer.
type sendResult struct {
	retry bool
	err   error
}

// deliver sends e to the due sinks at once and folds the answers into e and
// the retry state. It reports whether e changed and must be written back.
func (o *Outbox) deliver(ctx context.Context, key string, e *entry, due []Sink, pending map[[2]string]bool) bool {
	results := make([]sendResult, len(due))
	var wg sync.WaitGroup
	for i, s := range due {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, o.opts.SendTimeout)
			defer cancel()
			results[i].retry, results[i].err = s.Send(sctx, e.Event)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false // shutting down: nothing learned
	}
	now := o.clock.Now()
	changed := false
	var flips []flip
	defer func() { o.reportFlips(ctx, flips) }()
	for i, s := range due {
		name, r := s.Name(), results[i]
		if f, ok := o.observe(name, e.Event, r.err); ok {
			flips = append(flips, f)
		}
		rs := o.retryState(key, name)
		rs.attempts++
		log := o.log.With().Str("sink", name).Str("key", key).Str("kind", string(e.Event.Kind)).
			Str("action", string(e.Event.Action)).Str("dedup_key", e.Event.DedupKey).
			Str("volume", e.Event.Volume).Str("failover_id", e.Event.FailoverID).Int("attempts", rs.attempts).Logger()
		rec := sinkRecord{At: now.UTC(), Attempts: rs.attempts}
		switch {
		case r.err == nil:
			rec.State = stateDelivered
			o.metrics.count(name, resultDelivered)
			log.Info().Msg("page delivered")
		case r.retry && (o.opts.MaxAge == 0 || now.Sub(e.Enqueued) < o.opts.MaxAge):
			rs.next = now.Add(o.opts.Backoff.delay(rs.attempts))
			o.metrics.count(name, resultRetried)
			log.Warn().Err(r.err).Time("next_attempt", rs.next).Msg("page delivery failed, will retry")
			continue
		case r.retry:
			rec.State, rec.Error = stateFailed, fmt.Sprintf("gave up after %s: %v", o.opts.MaxAge, r.err)
			o.metrics.count(name, resultDropped)
			log.Error().Err(r.err).Dur("max_age_ms", o.opts.MaxAge).Msg("page dropped: too old")
		default:
			rec.State, rec.Error = stateFailed, r.err.Error()
			o.metrics.count(name, resultDropped)
			log.Error().Err(r.err).Msg("page dropped: permanent failure")
		}
		e.Sinks[name] = rec
		delete(o.retries[key], name)
		pending[[2]string{name, e.Event.DedupKey}] = false
		changed = true
	}
	return changed
}

func (o *Outbox) retryState(key, sink string) *retryState {
	m := o.retries[key]
	if m == nil {
		m = map[string]*retryState{}
		o.retries[key] = m
	}
	rs := m[sink]
	if rs == nil {
		rs = &retryState{}
		m[sink] = rs
	}
	return rs
}

// commit writes e back, or deletes it once every sink is done, keeping a
// failure record if any sink dropped it. The write is a compare-and-swap on
// the value's revision; if someone else changed it, the next pass re-reads it
// (a resend is harmless: receivers dedup).
func (o *Outbox) commit(ctx context.Context, kv *mvccpb.KeyValue, e *entry) {
	key := string(kv.Key)
	done, failed := true, []string{}
	for _, s := range o.opts.Sinks {
		r, ok := e.Sinks[s.Name()]
		if !ok {
			done = false
		} else if r.State == stateFailed {
			failed = append(failed, s.Name()+": "+r.Error)
		}
	}
	var ops []clientv3.Op
	if done {
		ops = append(ops, clientv3.OpDelete(key))
		if len(failed) > 0 {
			ops = append(ops, o.failedPut(failedRecord{Key: key, Reason: fmt.Sprintf("%v", failed), FailedAt: o.clock.Now().UTC(), Entry: e}))
		}
	} else {
		b, err := json.Marshal(e)
		if err != nil {
			o.log.Error().Err(err).Str("key", key).Msg("encode outbox entry")
			return
		}
		ops = append(ops, clientv3.OpPut(key, string(b)))
	}
	resp, err := o.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).Then(ops...).Commit()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			o.log.Warn().Err(err).Str("key", key).Msg("record page delivery")
		}
	case !resp.Succeeded:
		o.log.Debug().Str("key", key).Msg("outbox entry changed meanwhile; re-reading")
	case done:
		delete(o.retries, key)
		if len(failed) > 0 {
			o.trimFailed(ctx)
		}
	}
}

// moveAside replaces an unreadable outbox value by a failure record, so it
// is reported once and never blocks or crashes delivery.
func (o *Outbox) moveAside(ctx context.Context, kv *mvccpb.KeyValue, perr error) {
	key := string(kv.Key)
	raw := string(kv.Value)
	if len(raw) > 4096 {
		raw = raw[:4096]
	}
	o.log.Error().Str("key", key).Err(perr).Msg("malformed outbox entry moved aside")
	rec := failedRecord{Key: key, Reason: "malformed: " + perr.Error(), FailedAt: o.clock.Now().UTC(), Raw: raw}
	_, err := o.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
		Then(clientv3.OpDelete(key), o.failedPut(rec)).Commit()
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn().Err(err).Str("key", key).Msg("move malformed outbox entry aside")
		}
		return
	}
	o.trimFailed(ctx)
}

func (o *Outbox) failedPut(rec failedRecord) clientv3.Op {
	b, err := json.Marshal(rec)
	if err != nil {
		// A record of plain strings and an already-decoded entry always encodes;
		// keep the reason even if the entry somehow does not.
		rec.Entry = nil
		b, _ = json.Marshal(rec)
	}
	return clientv3.OpPut(seqKey(o.failedDir, o.nextSeq(), rec.Key), string(b))
}

// trimFailed keeps the newest FailedKeep failure records.
func (o *Outbox) trimFailed(ctx context.Context) {
	resp, err := o.cli.Get(ctx, o.failedDir, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return
	}
	extra := len(resp.Kvs) - o.opts.FailedKeep
	for i := 0; i < extra; i++ {
		if _, err := o.cli.Delete(ctx, string(resp.Kvs[i].Key)); err != nil {
			o.log.Warn().Err(err).Str("key", string(resp.Kvs[i].Key)).Msg("trim outbox failure records")
			return
		}
	}
}

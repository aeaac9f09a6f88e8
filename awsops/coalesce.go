package awsops

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// coalescer merges concurrent reads by ID into one call. A read that arrives
// while a call is under way (or waiting for a budget token) joins the next
// call, which covers every ID asked for meanwhile; so many waits polling at
// once (300 failovers detaching together) cost one describe per round trip,
// not one per wait, and a read never gets an answer older than itself.
//
// It has no goroutine of its own: the first asker runs the call, and when it
// is done it hands the lead to the oldest read waiting, which runs the next.
type coalescer[T any] struct {
	call func(ctx context.Context, ids []string) (map[string]T, error)
	// earliest gives a call the earliest of its askers' deadlines (a
	// mutation must not outlive any asker's lease bound); a read has none
	// of its own and lives while an asker does.
	earliest bool

	mu      sync.Mutex
	pending []*ask[T]
	busy    bool
}

// ask is one read waiting for its call.
type ask[T any] struct {
	ctx  context.Context
	ids  []string
	got  map[string]T
	err  error
	lead bool
	// done is signalled once: with the answer, or with lead set when this
	// ask must run the next call.
	done chan struct{}
}

func newCoalescer[T any](call func(ctx context.Context, ids []string) (map[string]T, error)) *coalescer[T] {
	return &coalescer[T]{call: call}
}

// get returns the items of ids that exist (missing ones are absent).
func (c *coalescer[T]) get(ctx context.Context, ids []string) (map[string]T, error) {
	a := &ask[T]{ctx: ctx, ids: ids, done: make(chan struct{}, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, a)
	if c.busy {
		c.mu.Unlock()
		if !c.await(a) {
			return a.got, a.err
		}
		c.mu.Lock()
	}
	c.busy = true
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.run(ctx, batch)
	c.mu.Lock()
	c.handOff()
	c.mu.Unlock()
	return a.got, a.err
}

// await waits for a's answer, or for the lead (then it returns true). An
// ask whose context ends before its call took it withdraws.
func (c *coalescer[T]) await(a *ask[T]) bool {
	select {
	case <-a.done:
		return a.lead
	case <-a.ctx.Done():
	}
	c.mu.Lock()
	if i := slices.Index(c.pending, a); i >= 0 {
		c.pending = slices.Delete(c.pending, i, i+1)
		if a.lead {
			c.handOff()
		}
		c.mu.Unlock()
		a.err = a.ctx.Err()
		return false
	}
	c.mu.Unlock()
	<-a.done // its call is under way; that call ends with its askers
	return false
}

// handOff passes the lead to the oldest waiting ask, or ends the busy spell.
// c.mu is held.
func (c *coalescer[T]) handOff() {
	if len(c.pending) == 0 {
		c.busy = false
		return
	}
	next := c.pending[0]
	if !next.lead {
		next.lead = true
		next.done <- struct{}{}
	}
}

// run makes one call for every ID of batch and answers each ask. The call
// lives while any of its askers does: it is cancelled once all have gone,
// and ends at the latest of their deadlines.
func (c *coalescer[T]) run(ctx context.Context, batch []*ask[T]) {
	cctx, cancel := mergedContext(ctx, batch, c.earliest)
	defer cancel()
	var ids []string
	seen := map[string]bool{}
	for _, a := range batch {
		for _, id := range a.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	got, err := c.call(cctx, ids)
	for _, a := range batch {
		a.got, a.err = nil, err
		if err == nil {
			a.got = make(map[string]T, len(a.ids))
			for _, id := range a.ids {
				if v, ok := got[id]; ok {
					a.got[id] = v
				}
			}
		}
		select { // the leader itself may find its buffer full: nobody reads it
		case a.done <- struct{}{}:
		default:
		}
	}
}

// mergedContext is a context for a call made on behalf of batch: it keeps
// ctx's values and is cancelled once every asker's context has ended, so
// an asker whose call failed for want of time always finds its own context
// ended too. With earliest (mutations) it also ends at the earliest of the
// askers' deadlines: a mutation must not outlive any asker's lease bound.
func mergedContext[T any](ctx context.Context, batch []*ask[T], earliest bool) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	var cctx context.Context
	var cancel context.CancelFunc
	if dl, ok := batchDeadline(batch); ok && earliest {
		cctx, cancel = context.WithDeadline(base, dl)
	} else {
		cctx, cancel = context.WithCancel(base)
	}
	left := atomic.Int64{}
	left.Store(int64(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, a := range batch {
		stops = append(stops, context.AfterFunc(a.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		}))
	}
	return cctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// batchDeadline is the earliest deadline of batch's askers; ok is false
// when none has one.
func batchDeadline[T any](batch []*ask[T]) (time.Time, bool) {
	var pick time.Time
	for _, a := range batch {
		if dl, ok := a.ctx.Deadline(); ok && (pick.IsZero() || dl.Before(pick)) {
			pick = dl
		}
	}
	return pick, !pick.IsZero()
}

package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// probeRun is what the leader's probes have found about one owner so far.
type probeRun struct {
	// failures counts the consecutive failed probes; zero after one answered.
	failures int
	// since is when the first of those failures began, last when the latest
	// probe began: the failures prove the owner unreachable from since to last.
	since, last time.Time
	// pgAnswered says the latest probe's Postgres answered.
	pgAnswered bool
}

// span is how long the current run of failures has lasted.
func (r probeRun) span() time.Duration {
	if r.failures == 0 {
		return 0
	}
	return r.last.Sub(r.since)
}

// record adds the outcome of the probe that began at began. A probe that
// began before the latest one recorded is too late to say anything.
func (r probeRun) record(res probeResult, began time.Time) probeRun {
	if began.Before(r.last) {
		return r
	}
	r.last, r.pgAnswered = began, res.pg == nil
	if res.err() == nil {
		r.failures, r.since = 0, time.Time{}
		return r
	}
	if r.failures == 0 {
		r.since = began
	}
	r.failures++
	return r
}

// ownerProbes is the leader's own probing of the owners, on a ticker of its
// own at the probe interval, apart from the round (which reads etcd, EC2 and
// fleet, and runs at the slower round interval). When an owner's failures
// first reach what the policy needs (the threshold, over the minimum
// unreachable time) it wakes the round, so the verdict does not wait for
// the next tick.
type ownerProbes struct {
	c      *Controller
	policy health.Policy
	wake   chan<- struct{}

	mu     sync.Mutex
	owners map[string]state.Owner
	runs   map[string]probeRun
	woke   map[string]bool // owners whose current run of failures woke the round
}

func newOwnerProbes(c *Controller, wake chan<- struct{}) *ownerProbes {
	return &ownerProbes{c: c, policy: c.policy, wake: wake, owners: map[string]state.Owner{}, runs: map[string]probeRun{}, woke: map[string]bool{}}
}

// run probes the current owners every probe interval until ctx ends.
func (p *ownerProbes) run(ctx context.Context) {
	t := p.c.clk.NewTicker(p.c.o.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			p.mu.Lock()
			owners := make([]state.Owner, 0, len(p.owners))
			for _, o := range p.owners {
				owners = append(owners, o)
			}
			p.mu.Unlock()
			p.probe(ctx, owners)
		}
	}
}

// view sets the owners to probe and returns what the probes found of each.
// An owner never probed yet is probed now, so every owner the round judges
// has been probed at least once.
func (p *ownerProbes) view(ctx context.Context, owners map[string]state.Owner) map[string]probeRun {
	p.mu.Lock()
	p.owners = owners
	var fresh []state.Owner
	for id, o := range owners {
		if _, ok := p.runs[id]; !ok {
			fresh = append(fresh, o)
		}
	}
	for id := range p.runs {
		if _, ok := owners[id]; !ok {
			delete(p.runs, id)
			delete(p.woke, id)
		}
	}
	p.mu.Unlock()
	p.probe(ctx, fresh)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]probeRun, len(owners))
	for id := range owners {
		out[id] = p.runs[id]
	}
	return out
}

// probe probes owners all at once and records what each probe found.
func (p *ownerProbes) probe(ctx context.Context, owners []state.Owner) {
	var wg sync.WaitGroup
	for _, o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := p.c.clk.Now()
			r := p.c.leaderProbeOwner(ctx, o)
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if _, ok := p.owners[o.Instance]; !ok {
				return
			}
			run := p.runs[o.Instance].record(r, began)
			p.runs[o.Instance] = run
			p.maybeWake(o.Instance, run)
		}()
	}
	wg.Wait()
}

// maybeWake wakes the round once per run of failures, when the run first
// reaches what the policy needs of the leader's probes. Called with mu held.
func (p *ownerProbes) maybeWake(id string, run probeRun) {
	if run.failures == 0 {
		delete(p.woke, id)
		return
	}
	if p.woke[id] || run.failures < p.policy.Threshold || run.span() < p.policy.MinUnreachable {
		return
	}
	p.woke[id] = true
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// leaderProbeOwner is one probe of an owner by the leader.
func (c *Controller) leaderProbeOwner(ctx context.Context, o state.Owner) probeResult {
	if o.PrivateIP == "" {
		err := fmt.Errorf("no private IP known for %s", o.Instance)
		return probeResult{pg: err, agent: err}
	}
	if c.o.leaderProbe != nil {
		err := c.o.leaderProbe(o)
		return probeResult{pg: err, agent: err}
	}
	return c.probeOwner(ctx, o, o.HealthURL)
}

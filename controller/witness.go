package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/volfailover/volfailover/state"
)

// witness keeps a watched copy of the owners list and the registry, and probes
// the owners this instance is a witness of. Each instance probes at most the
// owners that chose it, so the cluster's probes are O(witnesses × owners).
type witness struct {
	c    *Controller
	sess *concurrency.Session

	mu     sync.Mutex
	owners []state.Owner
	hosts  map[string]state.Host

	written map[string]state.Report // owner → last report written
	since   map[string]time.Time    // owner → start of its current run of failed probes
	cache   *witnessCache           // owner → witnesses, until the AZ's live hosts change
}

func newWitness(c *Controller, sess *concurrency.Session) *witness {
	return &witness{c: c, sess: sess, hosts: map[string]state.Host{}, written: map[string]state.Report{}, since: map[string]time.Time{},
		cache: newWitnessCache(c.o.Witnesses)}
}

func (w *witness) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.follow(ctx)
	}()
	t := w.c.clk.NewTicker(w.c.o.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			w.round(ctx)
		}
	}
}

// follow lists then watches the owners key and the registry, re-listing after
// any watch failure (compaction, lost connection).
func (w *witness) follow(ctx context.Context) {
	k := w.c.keys
	for ctx.Err() == nil {
		resp, err := w.c.cli.Txn(ctx).Then(clientv3.OpGet(k.Owners()), clientv3.OpGet(k.Hosts(), clientv3.WithPrefix())).Commit()
		if err != nil {
			w.c.log.Debug().Err(err).Msg("witness: list owners and registry")
			select {
			case <-ctx.Done():
				return
			case <-w.c.clk.After(w.c.o.RoundInterval):
			}
			continue
		}
		hosts := map[string]state.Host{}
		for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
			if h, err := k.ParseHost(kv); err == nil {
				hosts[h.Instance] = h
			}
		}
		var owners []state.Owner
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			if o, err := state.ParseOwners(kvs[0].Value); err == nil {
				owners = o
			} else {
				w.c.log.Warn().Err(err).Msg("witness: ignoring owners list")
			}
		}
		w.mu.Lock()
		w.hosts, w.owners = hosts, owners
		w.mu.Unlock()
		w.watch(ctx, resp.Header.Revision+1)
	}
}

func (w *witness) watch(ctx context.Context, rev int64) {
	k := w.c.keys
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	hostsCh := w.c.cli.Watch(wctx, k.Hosts(), clientv3.WithPrefix(), clientv3.WithRev(rev))
	ownersCh := w.c.cli.Watch(wctx, k.Owners(), clientv3.WithRev(rev))
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return
		case resp, ok = <-hostsCh:
		case resp, ok = <-ownersCh:
		}
		if !ok || resp.Err() != nil {
			return
		}
		w.mu.Lock()
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			switch {
			case key == k.Owners() && ev.Type == clientv3.EventTypeDelete:
				w.owners = nil
			case key == k.Owners():
				if o, err := state.ParseOwners(ev.Kv.Value); err == nil {
					w.owners = o
				}
			case ev.Type == clientv3.EventTypeDelete:
				delete(w.hosts, key[len(k.Hosts()):])
			default:
				if h, err := k.ParseHost(ev.Kv); err == nil {
					w.hosts[h.Instance] = h
				}
			}
		}
		w.mu.Unlock()
	}
}

// round probes every owner this instance witnesses and publishes what changed.
// A report's time is when its probe began, and an unreachable one says since
// when the probes have failed without a break, so it proves how long.
func (w *witness) round(ctx context.Context) {
	jobs := w.jobs()
	results := make([]state.Report, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := w.c.clk.Now().UTC()
			err := w.c.timeProbe(labelWitness, func() error { return w.c.probeOwner(ctx, j.owner, j.url).err() })
			results[i] = state.Report{Owner: j.owner.Instance, Witness: w.c.o.InstanceID, Reachable: err == nil, At: began}
			if err != nil {
				results[i].Detail = err.Error()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	probed := map[string]bool{}
	for i, r := range results {
		probed[r.Owner] = true
		if r.Reachable {
			delete(w.since, r.Owner)
			continue
		}
		if _, ok := w.since[r.Owner]; !ok {
			w.since[r.Owner] = r.At
		}
		results[i].Since = w.since[r.Owner]
	}
	for owner := range w.since {
		if !probed[owner] {
			delete(w.since, owner)
		}
	}
	w.publish(ctx, results)
}

// witnessJob is one owner this instance probes, at the health URL to use.
type witnessJob struct {
	owner state.Owner
	url   string
}

// jobs lists the owners that chose this instance as a witness. The choice
// leaves out the leader as the leader's own verdict does, so both agree on
// who the witnesses are.
func (w *witness) jobs() []witnessJob {
	self := w.c.o.InstanceID
	w.mu.Lock()
	defer w.mu.Unlock()
	var jobs []witnessJob
	assigned := w.cache.assign(w.owners, witnessPool(w.hosts, w.c.LeaderID()))
	for _, o := range w.owners {
		for _, id := range assigned[o.Instance] {
			if id != self {
				continue
			}
			url := w.hosts[o.Instance].HealthURL
			if url == "" {
				url = o.HealthURL
			}
			jobs = append(jobs, witnessJob{o, url})
		}
	}
	return jobs
}

// publish writes the reports that changed (or are due for a refresh) and
// withdraws those of owners this instance no longer witnesses. A report is
// pushed at once when the owner's reachability flips and when its failures
// first last the policy's minimum, the moment the report can count; the
// leader watches for those. The refresh keeps an unchanged report fresh.
func (w *witness) publish(ctx context.Context, results []state.Report) {
	keep := map[string]bool{}
	for _, r := range results {
		keep[r.Owner] = true
		prev, ok := w.written[r.Owner]
		if ok && prev.Reachable == r.Reachable && !w.crossed(prev, r) && r.At.Sub(prev.At) < w.c.o.WitnessRefresh {
			continue
		}
		b, _ := json.Marshal(r)
		if _, err := w.c.cli.Put(ctx, w.c.keys.WitnessReport(r.Owner, r.Witness), string(b), clientv3.WithLease(w.sess.Lease())); err != nil {
			w.c.log.Warn().Err(err).Str("owner", r.Owner).Msg("witness: write report")
			continue
		}
		if !ok || prev.Reachable != r.Reachable {
			w.c.log.Info().Str("owner", r.Owner).Bool("reachable", r.Reachable).Str("detail", r.Detail).Msg("witness report changed")
		}
		w.written[r.Owner] = r
	}
	for owner := range w.written {
		if keep[owner] {
			continue
		}
		if _, err := w.c.cli.Delete(ctx, w.c.keys.WitnessReport(owner, w.c.o.InstanceID)); err != nil {
			w.c.log.Warn().Err(err).Str("owner", owner).Msg("witness: withdraw report")
			continue
		}
		delete(w.written, owner)
	}
}

// crossed says whether r is the first report of its run of failures to last
// the policy's minimum unreachable time, after prev did not.
func (w *witness) crossed(prev, r state.Report) bool {
	least := w.c.policy.MinUnreachable
	return !r.Reachable && r.At.Sub(r.Since) >= least && (prev.Reachable || !prev.Since.Equal(r.Since) || prev.At.Sub(prev.Since) < least)
}

// probeResult is one probe of an owner host: its Postgres and its agent.
type probeResult struct {
	pg, agent error
}

// err is the probe's outcome for the verdict: the host counts as reachable
// when either answered (a crashed Postgres on a live host is fleet's to
// restart, not a reason to move the volume).
func (r probeResult) err() error {
	if r.pg == nil || r.agent == nil {
		return nil
	}
	return fmt.Errorf("%v; %v", r.pg, r.agent)
}

// probeOwner is one probe of an owner host: the Postgres wire probe and the
// owner agent's /healthz run together.
func (c *Controller) probeOwner(ctx context.Context, o state.Owner, healthURL string) probeResult {
	ctx, cancel := context.WithTimeout(ctx, c.o.ProbeTimeout)
	defer cancel()
	addr := net.JoinHostPort(o.PrivateIP, strconv.Itoa(c.o.PostgresPort))
	pgErr := make(chan error, 1)
	go func() { pgErr <- c.timeProbe(labelPostgres, func() error { return c.pg.Probe(ctx, addr) }) }()
	r := probeResult{agent: fmt.Errorf("agent: no health URL registered")}
	if healthURL != "" {
		if err := c.timeProbe(labelHealthz, func() error { return c.http.Probe(ctx, healthURL) }); err != nil {
			r.agent = fmt.Errorf("agent %s: %w", healthURL, err)
		} else {
			r.agent = nil
		}
	}
	if err := <-pgErr; err != nil {
		r.pg = fmt.Errorf("postgres %s: %w", addr, err)
	}
	return r
}

// timeProbe runs one probe and records its latency and failure under label.
func (c *Controller) timeProbe(label string, probe func() error) error {
	began := c.clk.Now()
	err := probe()
	c.m.probeLatency.WithLabelValues(label).Observe(c.clk.Since(began).Seconds())
	if err != nil {
		c.m.probeFailures.WithLabelValues(label).Inc()
	}
	return err
}

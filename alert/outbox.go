package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"
)

// ErrNotLeader is returned by Page when the caller's guard (its leader key)
// no longer holds: a deposed leader cannot enqueue pages.
var ErrNotLeader = errors.New("not the leader: outbox guard failed")

// Backoff spaces the outbox's retries of one entry to one sink.
type Backoff struct {
	Initial time.Duration // first wait; default 2s
	Max     time.Duration // cap; default 2m
	Factor  float64       // growth per attempt; default 2
}

// delay returns the wait after the given number of failed attempts (≥ 1).
func (b Backoff) delay(attempts int) time.Duration {
	d := float64(b.Initial)
	for i := 1; i < attempts && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d > float64(b.Max) {
		return b.Max
	}
	return time.Duration(d)
}

// Options configure an Outbox.
type Options struct {
	// Client is the etcd client; required.
	Client *clientv3.Client
	// Prefix of every key; default "/volfailover". Entries live under
	// <Prefix>/outbox/, dropped ones under <Prefix>/outbox-failed/.
	Prefix string
	// Sinks receive every page; names must be unique. Run needs at least one;
	// an Outbox without sinks can still enqueue (the CLI).
	Sinks []Sink
	// Clock drives retry timing and timestamps; nil = clock.RealClock{}.
	Clock clock.Clock
	// Logger; default zerolog.Nop().
	Logger zerolog.Logger
	// Registerer receives volfailover_pages_total{sink,result}; nil = not exported.
	Registerer prometheus.Registerer
	// PollInterval re-reads the outbox even without a watch event. Default 10s.
	PollInterval time.Duration
	// Backoff between retries of one entry to one sink after a retryable failure.
	Backoff Backoff
	// SendTimeout bounds one Send, its HTTP retries included. Default 1m.
	SendTimeout time.Duration
	// MaxAge drops an entry for a sink that still fails retryably this long
	// after it was enqueued. Default 24h; 0 = retry forever.
	MaxAge time.Duration
	// FailedKeep is how many failure records <Prefix>/outbox-failed/ keeps. Default 100.
	FailedKeep int
	// BatchSize is how many entries one pass reads. Default 256.
	BatchSize int
	// ReportFailures sends a paging_failed page through the other sinks when
	// one starts failing, and its resolve when it delivers again. Default true.
	ReportFailures bool
}

// DefaultOptions returns the defaults; Client and Sinks must still be set.
func DefaultOptions() Options {
	return Options{
		Prefix: "/volfailover", Logger: zerolog.Nop(), PollInterval: 10 * time.Second,
		Backoff:     Backoff{Initial: 2 * time.Second, Max: 2 * time.Minute, Factor: 2},
		SendTimeout: time.Minute, MaxAge: 24 * time.Hour, FailedKeep: 100, BatchSize: 256,
		ReportFailures: true,
	}
}

// Validate rejects missing or impossible settings, naming the field.
func (o Options) Validate() error {
	switch {
	case o.Client == nil:
		return errors.New("outbox client: nil")
	case !strings.HasPrefix(o.Prefix, "/") || strings.TrimRight(o.Prefix, "/") == "":
		return fmt.Errorf("outbox prefix %q: want an absolute key prefix such as /volfailover", o.Prefix)
	case o.PollInterval <= 0:
		return fmt.Errorf("outbox poll_interval %s: must be > 0", o.PollInterval)
	case o.Backoff.Initial <= 0:
		return fmt.Errorf("outbox backoff.initial %s: must be > 0", o.Backoff.Initial)
	case o.Backoff.Max < o.Backoff.Initial:
		return fmt.Errorf("outbox backoff.max %s: must be >= backoff.initial %s", o.Backoff.Max, o.Backoff.Initial)
	case o.Backoff.Factor < 1:
		return fmt.Errorf("outbox backoff.factor %g: must be >= 1", o.Backoff.Factor)
	case o.SendTimeout <= 0:
		return fmt.Errorf("outbox send_timeout %s: must be > 0", o.SendTimeout)
	case o.MaxAge < 0:
		return fmt.Errorf("outbox max_age %s: must be >= 0", o.MaxAge)
	case o.FailedKeep < 1:
		return fmt.Errorf("outbox failed_keep %d: must be >= 1", o.FailedKeep)
	case o.BatchSize < 1:
		return fmt.Errorf("outbox batch_size %d: must be >= 1", o.BatchSize)
	}
	seen := map[string]bool{}
	for i, s := range o.Sinks {
		if s == nil {
			return fmt.Errorf("outbox sinks[%d]: nil", i)
		}
		n := s.Name()
		if n == "" || strings.ContainsAny(n, "/ \t\n") {
			return fmt.Errorf("outbox sinks[%d] name %q: want a non-empty name without '/' or spaces", i, n)
		}
		if seen[n] {
			return fmt.Errorf("outbox sinks[%d] name %q: used twice", i, n)
		}
		seen[n] = true
	}
	return nil
}

// Outbox is the durable page queue in etcd and its deliverer.
type Outbox struct {
	opts      Options
	cli       *clientv3.Client
	clock     clock.Clock
	log       zerolog.Logger
	metrics   *metrics
	outboxDir string // <prefix>/outbox/
	failedDir string // <prefix>/outbox-failed/

	seqMu   sync.Mutex
	lastSeq int64

	running atomic.Bool
	// retries is per outbox key, per sink; touched only by the Run goroutine.
	retries map[string]map[string]*retryState
	// failing holds the sinks whose newest attempt failed; touched only by
	// the Run goroutine (paging_failing.go).
	failing map[string]bool
	// oldestSeen is the enqueue time of the oldest entry of the pass under
	// way; touched only by the Run goroutine.
	oldestSeen time.Time
}

// retryState is the in-memory backoff of one entry for one sink.
type retryState struct {
	attempts int
	next     time.Time
}

// NewOutbox validates o and registers the metrics.
func NewOutbox(o Options) (*Outbox, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	m, err := newMetrics(o.Registerer, o.Sinks)
	if err != nil {
		return nil, err
	}
	p := strings.TrimRight(o.Prefix, "/")
	return &Outbox{
		opts: o, cli: o.Client, clock: o.Clock, log: o.Logger, metrics: m,
		outboxDir: p + "/outbox/", failedDir: p + "/outbox-failed/",
		retries: map[string]map[string]*retryState{},
		failing: map[string]bool{},
	}, nil
}

// Page enqueues ev without a guard. The controller should page through
// Guarded (or PageIf) so that a deposed leader cannot enqueue.
func (o *Outbox) Page(ctx context.Context, ev Event) error { return o.PageIf(ctx, ev) }

// PageIf writes ev to the outbox in one Txn that also requires every guard
// comparison (for the leader: Compare(CreateRevision(leaderKey), "=", rev)).
// It returns ErrNotLeader, with nothing written, when the guard fails. A zero
// ev.Time is set from the clock. Nothing is sent here: Run delivers.
func (o *Outbox) PageIf(ctx context.Context, ev Event, guard ...clientv3.Cmp) error {
	if ev.Time.IsZero() {
		ev.Time = o.clock.Now().UTC()
	}
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("page %s: %w", ev.Kind, err)
	}
	val, err := json.Marshal(entry{Version: entryVersion, Event: ev, Enqueued: o.clock.Now().UTC()})
	if err != nil {
		return fmt.Errorf("page %s %s: encode: %w", ev.Kind, ev.DedupKey, err)
	}
	if len(val) > maxEntryBytes {
		return fmt.Errorf("page %s %s: details: encoded event is %d bytes, limit %d", ev.Kind, ev.DedupKey, len(val), maxEntryBytes)
	}
	// A sequence already taken (another writer in the same nanosecond) is
	// skipped; the guard is checked on every try.
	for range 5 {
		key := seqKey(o.outboxDir, o.nextSeq(), ev.DedupKey)
		cmps := append(slices.Clone(guard), clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		resp, err := o.cli.Txn(ctx).If(cmps...).
			Then(clientv3.OpPut(key, string(val))).
			Else(clientv3.OpGet(key, clientv3.WithCountOnly())).Commit()
		if err != nil {
			return fmt.Errorf("enqueue page %s %s: %w", ev.Kind, ev.DedupKey, err)
		}
		if resp.Succeeded {
			o.log.Info().Str("key", key).Str("kind", string(ev.Kind)).Str("action", string(ev.Action)).
				Str("dedup_key", ev.DedupKey).Str("volume", ev.Volume).Str("failover_id", ev.FailoverID).
				Msg("page enqueued")
			return nil
		}
		if resp.Responses[0].GetResponseRange().Count == 0 {
			return fmt.Errorf("enqueue page %s %s: %w", ev.Kind, ev.DedupKey, ErrNotLeader)
		}
	}
	return fmt.Errorf("enqueue page %s %s: outbox key collided 5 times", ev.Kind, ev.DedupKey)
}

// GuardedPager enqueues through an Outbox under fixed guard comparisons;
// the controller makes one per leadership term.
type GuardedPager struct {
	o     *Outbox
	guard []clientv3.Cmp
}

// Guarded returns a pager whose every Page requires guard, typically
// clientv3.Compare(clientv3.CreateRevision(election.Key()), "=", election.Rev()).
func (o *Outbox) Guarded(guard ...clientv3.Cmp) *GuardedPager {
	return &GuardedPager{o: o, guard: slices.Clone(guard)}
}

// Page enqueues ev if the guard holds, else returns ErrNotLeader.
func (g *GuardedPager) Page(ctx context.Context, ev Event) error {
	return g.o.PageIf(ctx, ev, g.guard...)
}

// nextSeq is a strictly increasing sequence from the clock, so keys sort by
// enqueue time and pages with one dedup key are delivered in order.
func (o *Outbox) nextSeq() int64 {
	o.seqMu.Lock()
	defer o.seqMu.Unlock()
	n := o.clock.Now().UnixNano()
	if n <= o.lastSeq {
		n = o.lastSeq + 1
	}
	o.lastSeq = n
	return n
}

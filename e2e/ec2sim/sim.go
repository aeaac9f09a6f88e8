package ec2sim

import (
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// Options configure a Sim.
type Options struct {
	// Profile names the latency figures: ProfileInstant (default) or ProfileAWSTypical.
	Profile Profile
	// Latencies, when set, replaces the figures of Profile (tests and the sandbox tune it).
	Latencies *Latencies
	// Clock drives asynchronous transitions and latency faults; nil = clock.RealClock{}.
	// It must also offer AfterFunc (clock.RealClock and the testing FakeClock do).
	Clock clock.WithTicker
	// Root is the host device tree root; "" disables host devices.
	Root string
	// Rand supplies the jitter of aws-typical delays; nil = seeded from the time.
	Rand *rand.Rand
	// Throttling configures EC2's request-token buckets (buckets.go); nil =
	// ProfileThrottling(Profile): on for aws-typical, off for instant.
	Throttling *Throttling
	// Logger receives one line per transition and per armed fault; default zerolog.Nop().
	Logger zerolog.Logger
}

// afterFuncClock is the part of the clock that schedules transitions.
type afterFuncClock interface {
	clock.WithTicker
	AfterFunc(d time.Duration, f func()) clock.Timer
}

// Sim is the emulator. All state sits behind one mutex; it is safe for
// concurrent use. Close stops every pending transition timer.
type Sim struct {
	clock afterFuncClock
	lat   Latencies
	root  string
	log   zerolog.Logger
	start time.Time

	// done is closed by Close; it releases hanging requests.
	done chan struct{}
	// timers counts scheduled transitions whose callback has not finished.
	timers sync.WaitGroup

	// ctl serves the test surface under /_sim/.
	ctl http.Handler

	mu        sync.Mutex
	closed    bool
	rng       *rand.Rand
	volumes   map[string]*volume
	instances map[string]*instance
	faults    []*armedFault
	faultSeq  int
	journal   []Call
	// transitions is every state change of a volume's attachment or an
	// instance, oldest first (transitions.go).
	transitions []Transition
	pending     map[uint64]*pendingOp
	seq         uint64
	// buckets is EC2's request-token buckets; nil when throttling is off.
	buckets *buckets
	// kmsUnusable holds the KMS key IDs whose volumes cannot be attached (kms.go).
	kmsUnusable map[string]bool
}

// New builds a Sim from o.
func New(o Options) (*Sim, error) {
	if o.Profile == "" {
		o.Profile = ProfileInstant
	}
	lat, err := ProfileLatencies(o.Profile)
	if err != nil {
		return nil, fmt.Errorf("new ec2sim: %w", err)
	}
	if o.Latencies != nil {
		if err := o.Latencies.Validate(); err != nil {
			return nil, fmt.Errorf("new ec2sim: %w", err)
		}
		lat = *o.Latencies
	}
	thr := ProfileThrottling(o.Profile)
	if o.Throttling != nil {
		thr = *o.Throttling
	}
	if err := thr.Validate(); err != nil {
		return nil, fmt.Errorf("new ec2sim: %w", err)
	}
	var clk afterFuncClock = clock.RealClock{}
	if o.Clock != nil {
		c, ok := o.Clock.(afterFuncClock)
		if !ok {
			return nil, fmt.Errorf("new ec2sim: options.Clock %T has no AfterFunc", o.Clock)
		}
		clk = c
	}
	rng := o.Rand
	if rng == nil {
		rng = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	s := &Sim{
		clock:     clk,
		lat:       lat,
		root:      o.Root,
		log:       o.Logger,
		start:     clk.Now().UTC(),
		done:      make(chan struct{}),
		rng:       rng,
		volumes:   map[string]*volume{},
		instances: map[string]*instance{},
		pending:   map[uint64]*pendingOp{},
	}
	if thr.Enabled {
		s.buckets = newBuckets(thr, s.start)
	}
	s.ctl = s.controlMux()
	if s.root != "" {
		if err := ensureDir(s.root); err != nil {
			return nil, fmt.Errorf("new ec2sim: root %q: %w", s.root, err)
		}
	}
	return s, nil
}

// Close stops every pending transition, releases hanging requests and waits
// for transition callbacks already running. The Sim answers no further calls
// with state changes after Close; it is safe to call twice.
func (s *Sim) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	var timers []clock.Timer
	for id, op := range s.pending {
		if op.timer != nil {
			timers = append(timers, op.timer)
		}
		delete(s.pending, id)
	}
	s.mu.Unlock()
	// Stop outside s.mu: a fake clock runs callbacks under its own lock.
	for _, t := range timers {
		if t.Stop() {
			s.timers.Done()
		}
	}
	s.timers.Wait()
}

// errClosed is returned by control methods after Close.
var errClosed = errors.New("ec2sim is closed")

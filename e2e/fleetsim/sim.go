package fleetsim

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/utils/clock"
)

// Sim is one emulated fleet cluster: registry, engine, agents and API.
type Sim struct {
	opts Options
	clk  clock.WithTicker
	exec Executor
	log  zerolog.Logger
	mux  *routes

	mu          sync.Mutex
	engineWatch *watch
	machines    map[string]*machine
	dynMeta     map[string]map[string]string // machine ID -> key -> value ("" = tombstone)
	units       map[string]*unit
	states      map[string]map[string]*stateEntry // unit -> machine -> published state
	heartbeats  map[string]unitHeartbeat          // unit -> agent that triggered its start
	agents      map[string]*agent
	cutOff      bool
	journal     []Request
	started     bool
	closed      bool

	// ctx is the lifetime of the sim's loops: created by New, cancelled by Close.
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	engineKick chan struct{}
	closeOnce  sync.Once
	// nextEnginePass is when the engine's timer fires next (guarded by mu).
	nextEnginePass time.Time
}

type unit struct {
	name    string
	options []UnitOption // normalized order
	hash    string
	desired string
	target  string // assigned machine ID, "" = unscheduled
	req     requirements
	global  bool
}

func (u *unit) file() UnitFile {
	return UnitFile{Name: u.name, Options: append([]UnitOption(nil), u.options...)}
}

type stateEntry struct {
	hash, load, active, sub string
	expires                 time.Time
}

type unitHeartbeat struct {
	machine string
	expires time.Time
}

// New builds a Sim; call Start to run its loops and Close to stop them.
func New(o Options) (*Sim, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	// The sim owns its loops the way an http.Server owns its connections:
	// this root context is the loops' lifetime and Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		opts:       o,
		clk:        o.Clock,
		exec:       o.Executor,
		log:        o.Logger,
		machines:   map[string]*machine{},
		dynMeta:    map[string]map[string]string{},
		units:      map[string]*unit{},
		states:     map[string]map[string]*stateEntry{},
		heartbeats: map[string]unitHeartbeat{},
		agents:     map[string]*agent{},
		ctx:        ctx,
		cancel:     cancel,
		engineKick: make(chan struct{}, 1),
	}
	s.engineWatch = &watch{name: "engine", sleep: o.EngineWatchSleep, wake: s.kickEngine}
	s.mux = newRoutes(s)
	return s, nil
}

// Executor returns the executor the sim runs units with (the MemExecutor
// it created when Options.Executor was nil).
func (s *Sim) Executor() Executor { return s.exec }

// Start runs the engine loop and one agent loop per machine, on the clock.
// Like fleet's reconcilers (pkg/reconcile.go) the engine passes once at
// once, here before Start returns, and each agent once when its loop starts;
// after that they wait for their timer or their watch.
func (s *Sim) Start() {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return
	}
	s.started = true
	kick := s.engineWroteLocked(s.enginePassLocked())
	s.wg.Add(1)
	go s.engineLoop(s.engineTimerLocked())
	for _, a := range s.agents {
		s.startAgentLocked(a)
	}
	s.mu.Unlock()
	for _, a := range kick {
		a.kick()
	}
}

// Close stops every loop, then stops every unit still running on a machine
// that is not dead through the executor. It is safe to call more than once.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		agents := s.sortedAgentsLocked()
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 30*time.Second)
		defer cancel()
		for _, a := range agents {
			a.stopAll(ctx)
		}
	})
}

func (s *Sim) sortedAgentsLocked() []*agent {
	out := make([]*agent, 0, len(s.agents))
	for _, a := range s.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// SetEtcdCutOff makes every fleet API request answer 503 as a fleetd that
// lost etcd does (true), or serve again (false). Scheduling goes on.
func (s *Sim) SetEtcdCutOff(cut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutOff = cut
}

// Running returns the sorted machine IDs on which the executor reports the
// unit active.
func (s *Sim) Running(unitName string) []string {
	s.mu.Lock()
	ids := make([]string, 0, len(s.machines))
	for id := range s.machines {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		if active, _ := s.exec.Status(id, unitName); active == "active" {
			out = append(out, id)
		}
	}
	return out
}

// Assignment returns the machine the engine assigned the unit to ("" when
// unscheduled) and whether the unit exists.
func (s *Sim) Assignment(unitName string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.units[unitName]
	if !ok {
		return "", false
	}
	return u.target, true
}

package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"

	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// Deps are the clients a controller acts through.
type Deps struct {
	// Etcd is the client the session, election, registry and journal use; required.
	Etcd *clientv3.Client
	// EC2 and Fleet are required.
	EC2   EC2
	Fleet Fleet
	// Pager receives pages; nil = LogPager (log-only, says so).
	Pager Pager
	// LeaderPager, when set, gives the pager of one leadership term from the
	// term's guard (alert.Outbox.Guarded), so a deposed leader cannot enqueue.
	LeaderPager func(guard clientv3.Cmp) Pager
	// LeaderTask, when set, runs for as long as this instance leads
	// (alert.Outbox.Run, which must run on the leader only).
	LeaderTask func(ctx context.Context) error
	// Registry receives the controller's volfailover_* series and the Go and
	// process collectors, and is served on /metrics; nil = a new registry.
	// Give the alert outbox the same one, so pages are counted there too.
	Registry *prometheus.Registry
	// Cluster, when set, assembles etcd's view for /v1/status (hosts,
	// overrides, in-flight and last moves): admin.(*Admin).Status, so the
	// agent and the CLI show one document, assembled once. The result is
	// typed any because that document is admin's type and controller does not
	// import admin (cmd wires the two together); it is only encoded as JSON.
	Cluster func(ctx context.Context) (any, error)
}

// Controller is one volfailover instance: registry, witness and, when elected, leader.
type Controller struct {
	o      Options
	keys   state.Keys
	cli    *clientv3.Client
	ec2    EC2
	fleet  Fleet
	pager  Pager
	policy health.Policy
	http   *health.HTTPProber
	pg     health.PostgresProber
	clk    clock.WithTicker
	log    zerolog.Logger
	m      *metrics
	status func(ctx context.Context) (any, error)

	mu         sync.Mutex
	isLeader   bool
	leaderID   string
	session    bool
	registered bool
	leaseID    clientv3.LeaseID
	healthURL  string
	verdicts   map[string]health.Result // last verdict per owner, while leading
	views      []VolumeView             // the leader's last round, per volume

	leaderPager func(guard clientv3.Cmp) Pager
	leaderTask  func(ctx context.Context) error
}

// New checks the options and the identity and builds a controller; Run starts it.
func New(o Options, d Deps) (*Controller, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("controller options: %w", err)
	}
	switch {
	case o.InstanceID == "":
		return nil, errors.New("controller options: instance-id is required (set it or load it from IMDS)")
	case o.AvailabilityZone == "":
		return nil, errors.New("controller options: availability-zone is required (set it or load it from IMDS)")
	case o.PrivateIP == "":
		return nil, errors.New("controller options: private-ip is required (set it or load it from IMDS)")
	case o.MachineID == "":
		return nil, errors.New("controller options: machine-id is required (set it or read /etc/machine-id)")
	case d.Etcd == nil || d.EC2 == nil || d.Fleet == nil:
		return nil, errors.New("controller: etcd, EC2 and fleet clients are required")
	}
	log := o.Logger.With().Str("self", o.InstanceID).Str("az", o.AvailabilityZone).Logger()
	pager := d.Pager
	if pager == nil {
		pager = LogPager{Log: log}
	}
	reg := d.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg, d.EC2)
	if err != nil {
		return nil, err
	}
	return &Controller{
		o:      o,
		keys:   state.Keys{Prefix: o.KeyPrefix},
		cli:    d.Etcd,
		ec2:    d.EC2,
		fleet:  countingFleet{f: d.Fleet, m: m},
		m:      m,
		status: d.Cluster,
		pager:  pager,
		policy: newPolicy(o),
		http:   newHTTPProber(o),
		pg:     health.PostgresProber{Source: net.ParseIP(o.PrivateIP)},
		clk:    o.Clock,
		log:    log,

		leaderPager: d.LeaderPager,
		leaderTask:  d.LeaderTask,
	}, nil
}

// IsLeader reports whether this instance currently leads.
func (c *Controller) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.isLeader
}

// LeaderID is the instance ID of the current leader as last observed, "" if unknown.
func (c *Controller) LeaderID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaderID
}

// Verdicts returns the latest verdict on every owner host while this instance
// leads (empty otherwise), for status output and tests.
func (c *Controller) Verdicts() map[string]health.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]health.Result, len(c.verdicts))
	for k, v := range c.verdicts {
		out[k] = v
	}
	return out
}

// Registry is the registry /metrics serves.
func (c *Controller) Registry() *prometheus.Registry { return c.m.reg }

// HealthURL is the /healthz URL this instance registers, known once Run listens.
func (c *Controller) HealthURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthURL
}

// Run serves the health endpoint, keeps an etcd session (re-created when lost),
// registers the host, witnesses its owners and campaigns; it returns when ctx
// is cancelled, after resigning and shutting its server down.
func (c *Controller) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", c.o.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.o.ListenAddr, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c.mu.Lock()
	c.healthURL = "http://" + net.JoinHostPort(c.o.PrivateIP, port) + "/healthz"
	c.mu.Unlock()

	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error().Err(err).Msg("health server stopped")
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		wg.Wait()
	}()

	c.log.Info().Str("health_url", c.HealthURL()).Bool("dry_run", c.o.DryRun).Msg("controller starting")
	backoff := c.o.RetryInitial
	for {
		began := c.clk.Now()
		err := c.runSession(ctx)
		if c.clk.Since(began) > c.o.SessionTTL {
			backoff = c.o.RetryInitial // that session lived; start the backoff afresh
		}
		if ctx.Err() != nil {
			c.log.Info().Msg("controller stopped")
			return nil
		}
		c.log.Warn().Err(err).Dur("retry_in_ms", backoff).Msg("no etcd session (it ended or could not start); trying again")
		select {
		case <-ctx.Done():
			return nil
		case <-c.clk.After(backoff):
		}
		backoff = min(2*backoff, c.o.RetryMax)
	}
}

package controller

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// Failover results, the values of the result label of volfailover_failovers_total.
const (
	ResultCompleted = "completed" // the move reached done
	ResultAbandoned = "abandoned" // the move was given up (its target died after the attach)
	ResultDryRun    = "dry_run"   // a dry-run decision, recorded and not carried out
)

// Buckets for failovers measured in seconds: sub-second steps in a healthy
// cloud up to the several minutes a stuck detach or a slow stop can take.
var (
	failoverBuckets = []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}
	stepBuckets     = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}
	probeBuckets    = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2}
)

// verdicts is the one-hot set exported per volume.
var verdictValues = []health.Verdict{health.VerdictAlive, health.VerdictSuspect, health.VerdictDead}

// metrics are one instance's Prometheus series, all named volfailover_*.
type metrics struct {
	reg *prometheus.Registry

	leader        prometheus.Gauge
	managed       prometheus.Gauge
	verdict       *prometheus.GaugeVec // volume, verdict (one-hot)
	suspect       prometheus.Gauge
	stuck         *prometheus.GaugeVec // state
	failovers     *prometheus.CounterVec
	failoverDur   *prometheus.HistogramVec // kind
	stepDur       *prometheus.HistogramVec // step
	probeLatency  *prometheus.HistogramVec // probe
	probeFailures *prometheus.CounterVec   // probe
	fleetCalls    *prometheus.CounterVec   // kind
	fleetErrors   *prometheus.CounterVec   // kind
	// Series to alert on, present from start-up.
	inFlight   *prometheus.GaugeVec // kind
	overdue    *prometheus.GaugeVec // kind
	paused     *prometheus.GaugeVec // scope: global, volume
	unarmed    prometheus.Gauge
	lastRound  prometheus.Gauge
	sessionUp  prometheus.Gauge
	roundFails prometheus.Counter
}

// ec2Stats is what the EC2 collector reads; *awsops.Client has it.
type ec2Stats interface {
	Stats() map[string]awsops.ActionStats
}

// newMetrics registers the controller's series (and the Go and process
// collectors) on reg, which must be a registry of the instance's own.
func newMetrics(reg *prometheus.Registry, ec2 EC2) (*metrics, error) {
	m := &metrics{
		reg: reg,
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "volfailover", Name: "leader",
			Help: "1 while this instance is the leader, else 0."}),
		managed: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "volfailover", Name: "managed_volumes",
			Help: "Managed EBS volumes seen in the leader's last round."}),
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "volfailover", Name: "owner_verdict",
			Help: "Verdict on each volume's owner in the leader's last round, one-hot over alive, suspect, dead."}, []string{"volume", "verdict"}),
		suspect: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "volfailover", Name: "suspect_owners",
			Help: "Owner hosts judged suspect in the leader's last round (logged, never acted on)."}),
		stuck: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "volfailover", Name: "attachments_transitional",
			Help: "Attachments of managed volumes in a transitional state (attaching, detaching, busy) in the leader's last describe."}, []string{"state"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "volfailover", Name: "failovers_total",
			Help: "Moves decided by this instance's leaderships, by result (completed, abandoned, dry_run) and kind (failover, switchover, heal)."}, []string{"result", "kind"}),
		failoverDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "volfailover", Name: "failover_duration_seconds",
			Help: "Time from the plan to done of completed moves, by kind.", Buckets: failoverBuckets}, []string{"kind"}),
		stepDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "volfailover", Name: "failover_step_duration_seconds",
			Help: "Time of each completed failover step, retries included.", Buckets: stepBuckets}, []string{"step"}),
		probeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "volfailover", Name: "probe_duration_seconds",
			Help: "Latency of probes of owner hosts: postgres (wire probe), healthz (agent), witness (a witness's whole probe of an owner).", Buckets: probeBuckets}, []string{"probe"}),
		probeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "volfailover", Name: "probe_failures_total",
			Help: "Failed probes of owner hosts, by probe."}, []string{"probe"}),
		fleetCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "volfailover", Name: "fleet_calls_total",
			Help: "Calls to the fleet API by kind (client method)."}, []string{"kind"}),
		fleetErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "volfailover", Name: "fleet_errors_total",
			Help: "Fleet API calls that failed, by kind; a unit that is not found is an answer, not an error."}, []string{"kind"}),
	}
	m.alerting()
	cs := []prometheus.Collector{
		m.leader, m.managed, m.verdict, m.suspect, m.stuck, m.failovers, m.failoverDur, m.stepDur,
		m.probeLatency, m.probeFailures, m.fleetCalls, m.fleetErrors,
		m.inFlight, m.overdue, m.paused, m.unarmed, m.lastRound, m.sessionUp, m.roundFails,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if s, ok := ec2.(ec2Stats); ok {
		cs = append(cs, newEC2Collector(s))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register metrics: a collector is already registered (give each controller a registry of its own): %w", err)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	m.zero()
	return m, nil
}

// zero creates every labelled series an operator alerts on, at zero.
func (m *metrics) zero() {
	for _, st := range []string{"attaching", "detaching", "busy"} {
		m.stuck.WithLabelValues(st)
	}
	for _, p := range []string{labelPostgres, labelHealthz, labelWitness} {
		m.probeLatency.WithLabelValues(p)
		m.probeFailures.WithLabelValues(p)
	}
	for _, k := range []state.Kind{state.KindFailover, state.KindSwitchover, state.KindHeal} {
		m.inFlight.WithLabelValues(string(k))
		m.overdue.WithLabelValues(string(k))
	}
	m.paused.WithLabelValues("global")
	m.paused.WithLabelValues("volume")
}

// alerting builds the series an operator alerts on. Each exists with a zero
// value from start-up: an alert on a series that appears only after its
// first event cannot fire on the first event.
func (m *metrics) alerting() {
	ns := "volfailover"
	m.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "moves_in_flight",
		Help: "Moves in the journal in the leader's last round, by kind."}, []string{"kind"})
	m.overdue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "moves_overdue",
		Help: "Moves in flight with a step past its deadline, by kind."}, []string{"kind"})
	m.paused = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "paused",
		Help: "Pauses in force in the leader's last round: global (0 or 1) and volume (how many volumes)."}, []string{"scope"})
	m.unarmed = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "unarmed_volumes",
		Help: "Managed volumes whose Postgres was never seen answering on their owner: never failed over."})
	m.lastRound = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "last_reconcile_timestamp_seconds",
		Help: "Unix time of this instance's last successful reconcile round as leader (0 = none yet)."})
	m.sessionUp = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "etcd_session_up",
		Help: "1 while this instance holds an etcd session (it is registered and may lead), else 0."})
	m.roundFails = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "reconcile_failures_total",
		Help: "Reconcile rounds that failed (etcd, EC2 or fleet could not be read)."})
}

// Probe label values.
const (
	labelPostgres = "postgres"
	labelHealthz  = "healthz"
	labelWitness  = "witness"
)

// setVerdicts replaces the one-hot verdict series with one round's view.
func (m *metrics) setVerdicts(byVolume map[string]health.Verdict, suspectOwners int) {
	m.verdict.Reset()
	m.suspect.Set(float64(suspectOwners))
	for vol, v := range byVolume {
		for _, x := range verdictValues {
			val := 0.0
			if x == v {
				val = 1
			}
			m.verdict.WithLabelValues(vol, string(x)).Set(val)
		}
	}
}

// clearLeaderView drops what only a leader knows, when a leadership ends.
func (m *metrics) clearLeaderView() {
	for _, k := range []state.Kind{state.KindFailover, state.KindSwitchover, state.KindHeal} {
		m.inFlight.WithLabelValues(string(k)).Set(0)
		m.overdue.WithLabelValues(string(k)).Set(0)
	}
	m.paused.WithLabelValues("global").Set(0)
	m.paused.WithLabelValues("volume").Set(0)
	m.unarmed.Set(0)
	m.verdict.Reset()
	m.suspect.Set(0)
	m.managed.Set(0)
	for _, st := range []string{"attaching", "detaching", "busy"} {
		m.stuck.WithLabelValues(st).Set(0)
	}
}

// ec2Collector exports awsops' per-action counters at scrape time.
type ec2Collector struct {
	src                                         ec2Stats
	calls, attempts, errs, throttle, budgetWait *prometheus.Desc
}

func newEC2Collector(src ec2Stats) *ec2Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("volfailover_ec2_"+name, help, []string{"kind"}, nil)
	}
	return &ec2Collector{
		src:      src,
		calls:    d("calls_total", "EC2 API operations by kind (action), SDK retries counted once."),
		attempts: d("attempts_total", "EC2 API HTTP attempts by kind (action), SDK retries included."),
		errs:     d("errors_total", "EC2 API operations that ended in an error, by kind (action)."),
		throttle: d("throttles_total", "EC2 API attempts throttled by EC2, by kind (action)."),
		budgetWait: d("budget_wait_seconds_total",
			"Time EC2 API attempts waited for a token of the client's budget (--ec2-budget-share of the account's buckets), by kind (action)."),
	}
}

// Describe sends the descriptors.
func (e *ec2Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- e.calls
	ch <- e.attempts
	ch <- e.errs
	ch <- e.throttle
	ch <- e.budgetWait
}

// Collect reads the client's counters once per scrape.
func (e *ec2Collector) Collect(ch chan<- prometheus.Metric) {
	for action, s := range e.src.Stats() {
		ch <- prometheus.MustNewConstMetric(e.calls, prometheus.CounterValue, float64(s.Calls), action)
		ch <- prometheus.MustNewConstMetric(e.attempts, prometheus.CounterValue, float64(s.Attempts), action)
		ch <- prometheus.MustNewConstMetric(e.errs, prometheus.CounterValue, float64(s.Errors), action)
		ch <- prometheus.MustNewConstMetric(e.throttle, prometheus.CounterValue, float64(s.Throttles), action)
		ch <- prometheus.MustNewConstMetric(e.budgetWait, prometheus.CounterValue, s.BudgetWaitSeconds, action)
	}
}

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/health"
	"github.com/volfailover/volfailover/state"
)

// baseURL is the root of an instance's HTTP server.
func (h *host) baseURL() string { return strings.TrimSuffix(h.ctrl.HealthURL(), "/healthz") }

// scrape reads an instance's /metrics over HTTP and parses the text format.
func scrape(t *testing.T, h *host) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(h.baseURL() + "/metrics")
	require.NoError(t, err, "GET /metrics of %s", h.id)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics of %s", h.id)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "parse /metrics of %s", h.id)
	return mfs
}

// sample finds the value of the series of name with exactly labels; ok is false if absent.
func sample(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if labels[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func getStatus(t *testing.T, h *host) StatusDoc {
	t.Helper()
	resp, err := http.Get(h.baseURL() + "/v1/status")
	require.NoError(t, err, "GET /v1/status of %s", h.id)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var d StatusDoc
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&d), "decode /v1/status of %s", h.id)
	return d
}

// TestFailoverObservable fails a volume over and reads what an operator sees
// over HTTP: /metrics with the right labels on the leader, /v1/status on the
// leader and on a follower, /readyz.
func TestFailoverObservable(t *testing.T) {
	var c *cluster
	c = newCluster(t, clusterSpec{azs: fourInOneAZ, deps: func(h *host, d *Deps) {
		d.Cluster = func(ctx context.Context) (any, error) {
			resp, err := h.cli.Get(ctx, c.keys.Hosts(), clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				return nil, err
			}
			return map[string]int64{"hosts": resp.Count}, nil
		}
	}})
	c.start()
	leader := c.leader()
	require.NotNil(t, leader)

	// Before the failover: the owner is alive and exported one-hot.
	require.Eventually(t, func() bool {
		v, ok := sample(scrape(t, leader), "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "alive"})
		return ok && v == 1
	}, 5*time.Second, 20*time.Millisecond, "waiting for owner_verdict{verdict=alive}=1 on the leader")

	c.kill(c.owner())
	rec := c.waitDone(1, 15*time.Second)
	finisher := c.byID(rec.Timeline[len(rec.Timeline)-1].Leader)

	mfs := scrape(t, finisher)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
	}{
		{"volfailover_leader", map[string]string{}, func(v float64) bool { return v == 1 }},
		{"volfailover_failovers_total", map[string]string{"result": ResultCompleted, "kind": string(state.KindFailover)}, func(v float64) bool { return v == 1 }},
		{"volfailover_failover_duration_seconds", map[string]string{"kind": string(state.KindFailover)}, func(v float64) bool { return v == 1 }},
		{"volfailover_failover_step_duration_seconds", map[string]string{"step": string(state.StepAttached)}, func(v float64) bool { return v == 1 }},
		{"volfailover_failover_step_duration_seconds", map[string]string{"step": string(state.StepVerified)}, func(v float64) bool { return v == 1 }},
		{"volfailover_ec2_calls_total", map[string]string{"kind": "AttachVolume"}, func(v float64) bool { return v == 1 }},
		{"volfailover_ec2_calls_total", map[string]string{"kind": "DescribeVolumes"}, func(v float64) bool { return v >= 1 }},
		{"volfailover_ec2_errors_total", map[string]string{"kind": "AttachVolume"}, func(v float64) bool { return v == 0 }},
		{"volfailover_fleet_calls_total", map[string]string{"kind": "patch_metadata"}, func(v float64) bool { return v >= 1 }},
		{"volfailover_fleet_calls_total", map[string]string{"kind": "machines"}, func(v float64) bool { return v >= 1 }},
		{"volfailover_probe_duration_seconds", map[string]string{"probe": "postgres"}, func(v float64) bool { return v >= 1 }},
		{"volfailover_probe_failures_total", map[string]string{"probe": "postgres"}, func(v float64) bool { return v >= 1 }},
		{"volfailover_attachments_transitional", map[string]string{"state": "detaching"}, func(v float64) bool { return v >= 0 }},
		{"volfailover_suspect_owners", map[string]string{}, func(v float64) bool { return v == 0 }},
		// Series to alert on, present (and zero) from start-up (issue 15 §3).
		{"volfailover_etcd_session_up", map[string]string{}, func(v float64) bool { return v == 1 }},
		{"volfailover_last_reconcile_timestamp_seconds", map[string]string{}, func(v float64) bool { return v > 0 }},
		{"volfailover_moves_in_flight", map[string]string{"kind": string(state.KindSwitchover)}, func(v float64) bool { return v == 0 }},
		{"volfailover_moves_overdue", map[string]string{"kind": string(state.KindFailover)}, func(v float64) bool { return v == 0 }},
		{"volfailover_paused", map[string]string{"scope": "global"}, func(v float64) bool { return v == 0 }},
		{"volfailover_unarmed_volumes", map[string]string{}, func(v float64) bool { return v == 0 }},
		{"volfailover_reconcile_failures_total", map[string]string{}, func(v float64) bool { return v >= 0 }},
	} {
		// The journal says done a moment before the worker counts the move:
		// scrape until the series is there, within a deadline.
		var v float64
		var ok bool
		require.Eventually(t, func() bool {
			v, ok = sample(scrape(t, finisher), tt.name, tt.labels)
			return ok && tt.want(v)
		}, 5*time.Second, 20*time.Millisecond, "waiting for %s%v on the finisher's /metrics: got %v (present %t)", tt.name, tt.labels, v, ok)
	}
	// The leader is never a witness (its own probes are one signal already):
	// witness probes run on the followers.
	witnessProbes := 0.0
	for _, h := range c.hosts {
		if h != finisher && h != c.owner() {
			n, _ := sample(scrape(t, h), "volfailover_probe_duration_seconds", map[string]string{"probe": "witness"})
			witnessProbes += n
		}
	}
	require.GreaterOrEqual(t, witnessProbes, 1.0, "witness probes on the followers: got %v, want ≥ 1", witnessProbes)

	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		require.Contains(t, mfs, name, "Go and process collectors registered")
	}
	// The new owner is judged alive, the old one is no longer an owner.
	require.Eventually(t, func() bool {
		mfs := scrape(t, finisher)
		v, ok := sample(mfs, "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "alive"})
		d, _ := sample(mfs, "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "dead"})
		m, _ := sample(mfs, "volfailover_managed_volumes", map[string]string{})
		return ok && v == 1 && d == 0 && m == 1
	}, 5*time.Second, 20*time.Millisecond, "waiting for the new owner to be exported alive")

	// /v1/status: the leader judges, with signals; a follower points at the leader.
	var ls StatusDoc
	require.Eventually(t, func() bool {
		ls = getStatus(t, finisher)
		return len(ls.Volumes) == 1 && ls.Volumes[0].Owner == rec.To.Instance && ls.Volumes[0].Verdict == health.VerdictAlive
	}, 5*time.Second, 20*time.Millisecond, "waiting for the leader's status to show the new owner alive")
	require.True(t, ls.IsLeader)
	require.Equal(t, finisher.id, ls.Leader)
	require.True(t, ls.Session && ls.Registered)
	require.NotEmpty(t, ls.Volumes[0].Signals, "verdict signals in the leader's status")
	require.Equal(t, testVolume, ls.Volumes[0].Volume)
	require.Empty(t, ls.Note)
	require.IsType(t, map[string]any{}, ls.Cluster, "etcd's view embedded")
	// The dead owner's registration may not have expired yet.
	require.GreaterOrEqual(t, ls.Cluster.(map[string]any)["hosts"], float64(len(c.hosts)-1), "etcd's view from the status source")

	var follower *host
	for _, h := range c.hosts {
		if !h.stopped && h != finisher {
			follower = h
		}
	}
	fs := getStatus(t, follower)
	require.False(t, fs.IsLeader)
	require.Equal(t, finisher.id, fs.Leader)
	require.Empty(t, fs.Volumes, "a follower judges nothing")
	require.Contains(t, fs.Note, "not the leader")
	require.Equal(t, finisher.baseURL()+"/v1/status", fs.LeaderStatusURL)
	fm := scrape(t, follower)
	v, ok := sample(fm, "volfailover_leader", map[string]string{})
	require.True(t, ok && v == 0, "follower exports leader 0: got %v", v)
	_, ok = sample(fm, "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "alive"})
	require.False(t, ok, "a follower exports no verdicts")

	resp, err := http.Get(follower.baseURL() + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "/readyz of a registered instance")
}

// TestOwnerSuspectPaged keeps the owner suspect (the leader's own probes fail,
// nothing else does) past the threshold: one owner_suspect warning, exported
// as suspect, resolved with the same dedup key once the probes pass again.
func TestOwnerSuspectPaged(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	const after = 700 * time.Millisecond
	c := newCluster(t, clusterSpec{azs: fourInOneAZ, mutate: func(_ *host, o *Options) {
		o.SuspectPageAfter = after
		o.leaderProbe = func(state.Owner) error {
			if failing.Load() {
				return fmt.Errorf("leader cut off from the owner")
			}
			return nil
		}
	}})
	c.arm()
	c.start()
	leader := c.leader()
	c.waitVerdict(c.owner(), "suspect", 5*time.Second)
	require.Eventually(t, func() bool {
		mfs := scrape(t, leader)
		s, _ := sample(mfs, "volfailover_suspect_owners", map[string]string{})
		v, _ := sample(mfs, "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "suspect"})
		a, ok := sample(mfs, "volfailover_owner_verdict", map[string]string{"volume": testVolume, "verdict": "alive"})
		return s == 1 && v == 1 && ok && a == 0
	}, 5*time.Second, 20*time.Millisecond, "waiting for the suspect owner in /metrics")
	st := getStatus(t, leader)
	require.Len(t, st.Volumes, 1)
	since := st.Volumes[0].SuspectSince
	require.False(t, since.IsZero(), "status shows since when the owner is suspect")

	trigger := c.waitPage(alert.KindOwnerSuspect, alert.ActionTrigger, 5*time.Second)
	require.Equal(t, alert.SeverityWarning, trigger.Severity)
	require.Equal(t, "owner_suspect/"+c.owner().id, trigger.DedupKey)
	require.Equal(t, testVolume, trigger.Volume)
	require.GreaterOrEqual(t, trigger.Time.Sub(since), after, "paged only after the threshold: suspect since %s, paged %s", since, trigger.Time)
	require.Contains(t, trigger.Details, "signals")

	failing.Store(false)
	resolve := c.waitPage(alert.KindOwnerSuspect, alert.ActionResolve, 5*time.Second)
	require.Equal(t, trigger.DedupKey, resolve.DedupKey, "resolve pairs with the trigger")
	require.Equal(t, 1, c.pager.count(alert.KindOwnerSuspect, alert.ActionTrigger), "one trigger for one suspect spell")
	require.Zero(t, c.ec2Mutations(), "a suspect owner is never acted on")
}

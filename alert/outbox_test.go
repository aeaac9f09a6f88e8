package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/volfailover/volfailover/internal/testlog"
)

const waitFor = 10 * time.Second

func pagesTotal(t *testing.T, reg *prometheus.Registry, sink, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "volfailover_pages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["sink"] == sink && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("volfailover_pages_total{sink=%q,result=%q} not exported", sink, result)
	return 0
}

func TestOutboxOptionsValidate(t *testing.T) {
	w := newTestWebhook(t, "http://127.0.0.1:9/hook", nil)
	tests := []struct {
		name    string
		set     func(*Options)
		wantErr string
	}{
		{"defaults", func(*Options) {}, ""},
		{"no client", func(o *Options) { o.Client = nil }, "client"},
		{"relative prefix", func(o *Options) { o.Prefix = "volfailover" }, "prefix"},
		{"root prefix", func(o *Options) { o.Prefix = "/" }, "prefix"},
		{"zero poll", func(o *Options) { o.PollInterval = 0 }, "poll_interval"},
		{"backoff max below initial", func(o *Options) { o.Backoff.Max = time.Millisecond }, "backoff.max"},
		{"backoff factor", func(o *Options) { o.Backoff.Factor = 0.5 }, "backoff.factor"},
		{"negative max age", func(o *Options) { o.MaxAge = -time.Second }, "max_age"},
		{"failed keep", func(o *Options) { o.FailedKeep = 0 }, "failed_keep"},
		{"duplicate sink", func(o *Options) { o.Sinks = []Sink{w, w} }, `"webhook": used twice`},
		{"nil sink", func(o *Options) { o.Sinks = []Sink{nil} }, "sinks[0]: nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Client, o.Sinks = testEtcd, []Sink{w}
			tc.set(&o)
			err := o.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Factor: 2}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		require.Equal(t, want, b.delay(attempts), "delay after %d attempts", attempts)
	}
}

func TestOutboxBothSinksDeliver(t *testing.T) {
	pdRcv := newReceiver(t, http.StatusAccepted)
	whRcv := newReceiver(t, http.StatusOK)
	reg := prometheus.NewRegistry()
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop()), newTestWebhook(t, whRcv.srv.URL, nil)}, Registerer: reg})
	runOutbox(t, ob)

	require.NoError(t, ob.Page(t.Context(), validEvent()))
	require.Eventually(t, func() bool { return pdRcv.count() == 1 && whRcv.count() == 1 }, waitFor, 10*time.Millisecond, "waiting for both sinks to receive the page")
	require.Eventually(t, func() bool { return len(outboxKeys(t, testPrefix(t), "outbox")) == 0 }, waitFor, 10*time.Millisecond, "waiting for the delivered entry to leave the outbox")
	require.Equal(t, 1.0, pagesTotal(t, reg, "pagerduty", "delivered"))
	require.Equal(t, 1.0, pagesTotal(t, reg, "webhook", "delivered"))
	require.Equal(t, 0.0, pagesTotal(t, reg, "webhook", "dropped"), "series exist from the start")
	require.Empty(t, outboxKeys(t, testPrefix(t), "outbox-failed"))
}

func TestOutboxWritesBeforeSending(t *testing.T) {
	ob := newTestOutbox(t, Options{}) // no sinks and no Run: the CLI's case
	ev := validEvent()
	ev.Details = map[string]any{"verdict": "dead"}
	require.NoError(t, ob.Page(t.Context(), ev))
	kvs := outboxKeys(t, testPrefix(t), "outbox")
	require.Len(t, kvs, 1)
	for k, v := range kvs {
		require.Regexp(t, `^`+testPrefix(t)+`/outbox/\d{20}-[0-9a-f]{16}$`, k)
		e, err := decodeEntry([]byte(v))
		require.NoError(t, err)
		require.Equal(t, ev.DedupKey, e.Event.DedupKey)
		require.False(t, e.Event.Time.IsZero(), "Page stamps a missing time")
		require.Empty(t, e.Sinks)
	}
	require.ErrorContains(t, ob.Run(t.Context()), "no sinks")

	bad := validEvent()
	bad.Severity = "loud"
	require.ErrorContains(t, ob.Page(t.Context(), bad), `severity "loud"`)
	require.Len(t, outboxKeys(t, testPrefix(t), "outbox"), 1, "an invalid event is not written")
}

func TestOutboxGuard(t *testing.T) {
	ob := newTestOutbox(t, Options{})
	leaderKey := testPrefix(t) + "/leader/abc"
	put, err := testEtcd.Put(t.Context(), leaderKey, "i-1")
	require.NoError(t, err)
	rev := put.Header.Revision // the key's CreateRevision

	pager := ob.Guarded(clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", rev))
	require.NoError(t, pager.Page(t.Context(), validEvent()))
	require.Len(t, outboxKeys(t, testPrefix(t), "outbox"), 1)

	// Leadership changes: the key is re-created by someone else.
	_, err = testEtcd.Delete(t.Context(), leaderKey)
	require.NoError(t, err)
	_, err = testEtcd.Put(t.Context(), leaderKey, "i-2")
	require.NoError(t, err)

	err = pager.Page(t.Context(), validEvent())
	require.True(t, errors.Is(err, ErrNotLeader), "got %v, want ErrNotLeader", err)
	err = ob.PageIf(t.Context(), validEvent(), clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", rev))
	require.ErrorIs(t, err, ErrNotLeader)
	require.Len(t, outboxKeys(t, testPrefix(t), "outbox"), 1, "a deposed leader wrote nothing")
}

// TestOutboxSurvivesLeaderChange: the old leader enqueues and delivers to
// one sink, then dies; a new Outbox instance delivers the rest without
// re-sending what the old one delivered.
func TestOutboxSurvivesLeaderChange(t *testing.T) {
	pdRcv := newReceiver(t, http.StatusAccepted)
	whRcv := newReceiver(t, http.StatusServiceUnavailable)
	sinks := func() []Sink {
		return []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop()), newTestWebhook(t, whRcv.srv.URL, nil)}
	}

	// Old leader: crashes between write and send.
	old := newTestOutbox(t, Options{Sinks: sinks()})
	require.NoError(t, old.Page(t.Context(), validEvent()))
	require.Zero(t, pdRcv.count()+whRcv.count(), "Page sends nothing")

	// Second old leader term: delivers to PagerDuty, the webhook is down, then it dies.
	oldRun := newTestOutbox(t, Options{Sinks: sinks()})
	stop := runOutbox(t, oldRun)
	var rec *entry
	require.Eventually(t, func() bool {
		for _, v := range outboxKeys(t, testPrefix(t), "outbox") {
			e, err := decodeEntry([]byte(v))
			require.NoError(t, err)
			rec = e
		}
		return rec != nil && rec.Sinks["pagerduty"].State == stateDelivered && whRcv.count() >= 4
	}, waitFor, 10*time.Millisecond, "waiting for the recorded delivery to pagerduty and a failed send to the webhook")
	stop()
	require.Equal(t, 1, pdRcv.delivered())
	_, webhookDone := rec.Sinks["webhook"]
	require.False(t, webhookDone)

	// New leader: the webhook is back.
	whRcv.setFinal(http.StatusOK)
	runOutbox(t, newTestOutbox(t, Options{Sinks: sinks()}))
	require.Eventually(t, func() bool { return len(outboxKeys(t, testPrefix(t), "outbox")) == 0 }, waitFor, 10*time.Millisecond,
		"waiting for the new leader to finish the entry")
	require.Equal(t, 1, whRcv.delivered(), "webhook delivered exactly once")
	require.Equal(t, 1, pdRcv.count(), "pagerduty not re-sent by the new leader")
}

// TestOutboxSinkDownThenUp drives the retry timing with a fake clock: no
// retry before the backoff, exactly one delivery per sink once it is back.
func TestOutboxSinkDownThenUp(t *testing.T) {
	pdRcv := newReceiver(t, http.StatusAccepted)
	whRcv := newReceiver(t, http.StatusServiceUnavailable)
	fc := clocktesting.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	ob := newTestOutbox(t, Options{
		Sinks: []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop()), newTestWebhook(t, whRcv.srv.URL, nil)},
		Clock: fc, Registerer: reg, Backoff: Backoff{Initial: time.Minute, Max: 5 * time.Minute, Factor: 2}, PollInterval: time.Hour,
	})
	runOutbox(t, ob)
	require.NoError(t, ob.Page(t.Context(), validEvent()))

	require.Eventually(t, func() bool {
		return pdRcv.delivered() == 1 && whRcv.count() == 4 && pagesTotal(t, reg, "webhook", "retried") == 1
	}, waitFor, 10*time.Millisecond, "waiting for the first webhook Send (1 try + 3 retries) to fail")
	require.Eventually(t, fc.HasWaiters, waitFor, 10*time.Millisecond, "waiting for Run to wait on its retry timer")
	fc.Step(30 * time.Second) // half the backoff: nothing is due
	require.Eventually(t, fc.HasWaiters, waitFor, 10*time.Millisecond, "waiting for Run to wait again")
	require.Equal(t, 4, whRcv.count(), "no retry before the backoff elapsed")

	fc.Step(31 * time.Second) // the backoff elapsed, the webhook is still down
	require.Eventually(t, func() bool { return whRcv.count() == 8 }, waitFor, 10*time.Millisecond, "waiting for the second webhook Send")
	require.Eventually(t, func() bool {
		return gauge(t, reg, "volfailover_outbox_entries") == 1 && gauge(t, reg, "volfailover_outbox_oldest_age_seconds") >= 61
	}, waitFor, 10*time.Millisecond, "waiting for the outbox backlog (1 page, 61 s old) in the metrics")

	whRcv.setFinal(http.StatusOK)
	require.Eventually(t, func() bool {
		fc.Step(time.Minute)
		return len(outboxKeys(t, testPrefix(t), "outbox")) == 0
	}, waitFor, 20*time.Millisecond, "waiting for the webhook to take the page once it is back")
	require.Eventually(t, func() bool {
		fc.Step(time.Minute)
		return gauge(t, reg, "volfailover_outbox_entries") == 0 && gauge(t, reg, "volfailover_outbox_oldest_age_seconds") == 0
	}, waitFor, 20*time.Millisecond, "waiting for the emptied outbox in the metrics")
	require.Equal(t, 1, whRcv.delivered(), "webhook delivered exactly once")
	require.Equal(t, 1, pdRcv.count(), "pagerduty sent exactly once")
	require.Equal(t, 2.0, pagesTotal(t, reg, "webhook", "retried"))
	require.Equal(t, 1.0, pagesTotal(t, reg, "webhook", "delivered"))
	require.Equal(t, 1.0, pagesTotal(t, reg, "pagerduty", "delivered"))
}

func TestOutboxPermanentFailureDropped(t *testing.T) {
	pdRcv := newReceiver(t, http.StatusBadRequest)
	whRcv := newReceiver(t, http.StatusOK)
	reg := prometheus.NewRegistry()
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop()), newTestWebhook(t, whRcv.srv.URL, nil)}, Registerer: reg})
	runOutbox(t, ob)
	require.NoError(t, ob.Page(t.Context(), validEvent()))

	require.Eventually(t, func() bool { return len(outboxKeys(t, testPrefix(t), "outbox-failed")) == 1 }, waitFor, 10*time.Millisecond,
		"waiting for the dropped page's failure record")
	require.Empty(t, outboxKeys(t, testPrefix(t), "outbox"), "the dropped page left the outbox")
	require.Equal(t, 1, pdRcv.count(), "a 400 is never retried")
	require.Equal(t, 1, whRcv.delivered())
	require.Equal(t, 1.0, pagesTotal(t, reg, "pagerduty", "dropped"))
	require.Equal(t, 0.0, pagesTotal(t, reg, "pagerduty", "retried"))
	for _, v := range outboxKeys(t, testPrefix(t), "outbox-failed") {
		var rec failedRecord
		require.NoError(t, json.Unmarshal([]byte(v), &rec))
		require.Contains(t, rec.Reason, "pagerduty: send page trigger volfailover/vol-1/f-1: pagerduty: status 400: invalid event: Event object is invalid")
		require.NotNil(t, rec.Entry)
		require.Equal(t, stateDelivered, rec.Entry.Sinks["webhook"].State)
	}
}

// TestOutboxResolveWaitsForTrigger: while a trigger is still being retried,
// the resolve with the same dedup key is held back for that sink.
func TestOutboxResolveWaitsForTrigger(t *testing.T) {
	// The first Send (4 requests) fails; then PagerDuty accepts.
	pdRcv := newReceiver(t, http.StatusAccepted, 500, 500, 500, 500)
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop())}})
	trigger := validEvent()
	resolve := validEvent()
	resolve.Kind, resolve.Action, resolve.Severity = KindFailoverCompleted, ActionResolve, SeverityInfo
	require.NoError(t, ob.Page(t.Context(), trigger))
	require.NoError(t, ob.Page(t.Context(), resolve))
	runOutbox(t, ob)

	require.Eventually(t, func() bool { return pdRcv.delivered() == 2 }, waitFor, 10*time.Millisecond, "waiting for trigger and resolve")
	var actions []string
	for i := range pdRcv.count() {
		var b struct {
			EventAction string `json:"event_action"`
		}
		require.NoError(t, json.Unmarshal(pdRcv.body(i), &b))
		actions = append(actions, b.EventAction)
	}
	require.Equal(t, []string{"trigger", "trigger", "trigger", "trigger", "trigger", "resolve"}, actions)
}

func TestOutboxMalformedMovedAside(t *testing.T) {
	var buf testlog.Buffer
	whRcv := newReceiver(t, http.StatusOK)
	prefix := testPrefix(t)
	bad := map[string]string{
		prefix + "/outbox/00000000000000000001-garbage":  "{not json",
		prefix + "/outbox/00000000000000000002-badevent": `{"version":1,"event":{"kind":"volcano","action":"trigger"}}`,
		prefix + "/outbox/00000000000000000003-future":   `{"version":9,"event":{}}`,
	}
	for k, v := range bad {
		_, err := testEtcd.Put(t.Context(), k, v)
		require.NoError(t, err)
	}
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestWebhook(t, whRcv.srv.URL, nil)}, Logger: zerolog.New(&buf), FailedKeep: 10})
	require.NoError(t, ob.Page(t.Context(), validEvent()))
	runOutbox(t, ob)

	require.Eventually(t, func() bool { return len(outboxKeys(t, prefix, "outbox")) == 0 }, waitFor, 10*time.Millisecond,
		"waiting for the outbox to empty")
	require.Equal(t, 1, whRcv.delivered(), "the valid page behind the bad ones is delivered")
	failed := outboxKeys(t, prefix, "outbox-failed")
	require.Len(t, failed, 3)
	reasons := map[string]string{}
	for _, v := range failed {
		var rec failedRecord
		require.NoError(t, json.Unmarshal([]byte(v), &rec))
		reasons[rec.Key] = rec.Reason
		require.Equal(t, bad[rec.Key], rec.Raw, "the raw value is kept")
	}
	require.Contains(t, reasons[prefix+"/outbox/00000000000000000001-garbage"], "decode outbox entry")
	require.Contains(t, reasons[prefix+"/outbox/00000000000000000002-badevent"], `kind "volcano"`)
	require.Contains(t, reasons[prefix+"/outbox/00000000000000000003-future"], "version 9")
	require.Contains(t, buf.String(), `"key":"`+prefix+`/outbox/00000000000000000001-garbage"`, "the log names the key")
	require.Contains(t, buf.String(), "malformed outbox entry moved aside")
}

func TestOutboxFailedRecordsBounded(t *testing.T) {
	whRcv := newReceiver(t, http.StatusOK)
	prefix := testPrefix(t)
	for i := range 5 {
		_, err := testEtcd.Put(t.Context(), prefix+"/outbox/0000000000000000000"+string(rune('0'+i))+"-x", "junk")
		require.NoError(t, err)
	}
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestWebhook(t, whRcv.srv.URL, nil)}, FailedKeep: 2})
	runOutbox(t, ob)
	require.Eventually(t, func() bool {
		return len(outboxKeys(t, prefix, "outbox")) == 0 && len(outboxKeys(t, prefix, "outbox-failed")) == 2
	}, waitFor, 10*time.Millisecond, "waiting for junk to be moved aside and the records trimmed to FailedKeep=2")
	failed := outboxKeys(t, prefix, "outbox-failed")
	var kept []string
	for _, v := range failed {
		var rec failedRecord
		require.NoError(t, json.Unmarshal([]byte(v), &rec))
		kept = append(kept, rec.Key)
	}
	require.ElementsMatch(t, []string{prefix + "/outbox/00000000000000000003-x", prefix + "/outbox/00000000000000000004-x"}, kept)
}

func TestOutboxMaxAgeDrops(t *testing.T) {
	whRcv := newReceiver(t, http.StatusServiceUnavailable)
	fc := clocktesting.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestWebhook(t, whRcv.srv.URL, nil)}, Clock: fc, Registerer: reg,
		Backoff: Backoff{Initial: time.Minute, Max: time.Minute, Factor: 1}, MaxAge: 3 * time.Minute, PollInterval: time.Hour})
	runOutbox(t, ob)
	require.NoError(t, ob.Page(t.Context(), validEvent()))
	require.Eventually(t, func() bool {
		fc.Step(time.Minute)
		return len(outboxKeys(t, testPrefix(t), "outbox-failed")) == 1
	}, waitFor, 20*time.Millisecond, "waiting for the page to expire")
	require.Empty(t, outboxKeys(t, testPrefix(t), "outbox"))
	require.Equal(t, 1.0, pagesTotal(t, reg, "webhook", "dropped"))
	require.GreaterOrEqual(t, pagesTotal(t, reg, "webhook", "retried"), 1.0, "retried before it expired")
	for _, v := range outboxKeys(t, testPrefix(t), "outbox-failed") {
		require.True(t, strings.Contains(v, "gave up after 3m0s"), "failure record: %s", v)
	}
}

func TestOutboxRunOnce(t *testing.T) {
	whRcv := newReceiver(t, http.StatusOK)
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestWebhook(t, whRcv.srv.URL, nil)}})
	runOutbox(t, ob)
	require.Eventually(t, ob.running.Load, waitFor, 10*time.Millisecond, "waiting for Run to start")
	require.ErrorContains(t, ob.Run(t.Context()), "already running")
}

// TestOutboxPagesThroughBatches: more entries than BatchSize, some for a
// sink that keeps failing, are all reached in one pass and in order.
func TestOutboxPagesThroughBatches(t *testing.T) {
	whRcv := newReceiver(t, http.StatusOK)
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestWebhook(t, whRcv.srv.URL, nil)}, BatchSize: 2})
	var want []string
	for i := range 7 {
		ev := validEvent()
		ev.DedupKey = fmt.Sprintf("volfailover/vol-%d/f-1", i)
		want = append(want, ev.DedupKey)
		require.NoError(t, ob.Page(t.Context(), ev))
	}
	runOutbox(t, ob)
	require.Eventually(t, func() bool { return len(outboxKeys(t, testPrefix(t), "outbox")) == 0 }, waitFor, 10*time.Millisecond,
		"waiting for all 7 entries to be delivered")
	require.Equal(t, 7, whRcv.count(), "each entry sent once")
	var got []string
	for i := range 7 {
		var p WebhookPayload
		require.NoError(t, json.Unmarshal(whRcv.body(i), &p))
		got = append(got, p.DedupKey)
	}
	require.Equal(t, want, got, "delivered in enqueue order")
}

// TestOutboxSharedRegistry: a second Outbox on the same registry (a new
// leadership term in one process) reuses the counter instead of failing.
func TestOutboxSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newTestWebhook(t, "http://127.0.0.1:9/hook", nil)
	a := newTestOutbox(t, Options{Sinks: []Sink{w}, Registerer: reg})
	b := newTestOutbox(t, Options{Sinks: []Sink{w}, Registerer: reg})
	a.metrics.count("webhook", resultDelivered)
	b.metrics.count("webhook", resultDelivered)
	require.Equal(t, 2.0, pagesTotal(t, reg, "webhook", "delivered"))

	clash := prometheus.NewRegistry()
	require.NoError(t, clash.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "volfailover_pages_total", Help: "not a counter vec"})))
	o := DefaultOptions()
	o.Client, o.Sinks, o.Registerer = testEtcd, []Sink{w}, clash
	_, err := NewOutbox(o)
	require.ErrorContains(t, err, "register volfailover_pages_total")
}

// gauge reads an unlabelled gauge from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not exported", name)
	return 0
}

// endingWatcher ends the first watch at once, as etcd does to a watch that
// requires a leader when its member loses one; later watches are real.
type endingWatcher struct {
	clientv3.Watcher
	ended atomic.Bool
}

func (w *endingWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	if w.ended.CompareAndSwap(false, true) {
		ch := make(chan clientv3.WatchResponse)
		close(ch)
		return ch
	}
	return w.Watcher.Watch(ctx, key, opts...)
}

// TestOutboxWatchesAgainSoon: after its watch ended, a page is delivered in
// well under PollInterval (a minute here), because the watch is tried again
// within watchRetry.
func TestOutboxWatchesAgainSoon(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: testEtcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	w := &endingWatcher{Watcher: cli.Watcher}
	cli.Watcher = w
	rcv := newReceiver(t, http.StatusOK)
	o := DefaultOptions()
	o.Client, o.Prefix, o.PollInterval = cli, testPrefix(t), time.Minute
	o.Sinks, o.Logger = []Sink{newTestWebhook(t, rcv.srv.URL, nil)}, zerolog.Nop()
	ob, err := NewOutbox(o)
	require.NoError(t, err)
	// The first page is in the outbox before Run: its first pass, after the
	// watch it started has ended, delivers it. The second comes after that
	// pass, so only a watch (or a pass a minute later) can find it.
	require.NoError(t, ob.Page(t.Context(), validEvent()))
	runOutbox(t, ob)
	require.Eventually(t, func() bool { return rcv.count() == 1 }, waitFor, 10*time.Millisecond, "waiting for the first page")
	require.True(t, w.ended.Load(), "the outbox's first watch ended")
	second := validEvent()
	second.DedupKey += "-second"
	require.NoError(t, ob.Page(t.Context(), second))
	require.Eventually(t, func() bool { return rcv.count() == 2 }, waitFor, 10*time.Millisecond,
		"waiting for the page sent after the watch ended (PollInterval is %s)", o.PollInterval)
}

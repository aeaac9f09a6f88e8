package controller

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/volfailover/volfailover/alert"
	"github.com/volfailover/volfailover/state"
)

const testRoutingKey = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00"

// fakePagerDuty is the Events API v2 as far as volfailover uses it: it keeps
// every event body it accepts, in arrival order, and answers 202.
type fakePagerDuty struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newFakePagerDuty(t *testing.T) *fakePagerDuty {
	p := &fakePagerDuty{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"status":"invalid event","message":"want POST /v2/enqueue with JSON"}`, http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, `{"status":"invalid event","message":"body is not JSON"}`, http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, ev["dedup_key"])
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// pdSummary is a summary as PagerDuty receives it: at most alert.MaxSummaryLen
// characters, a longer one cut with "…" (docs/paging.md).
func pdSummary(s string) string {
	r := []rune(s)
	if len(r) <= alert.MaxSummaryLen {
		return s
	}
	return string(r[:alert.MaxSummaryLen-1]) + "…"
}

// byKey returns the events received with dedupKey, in arrival order.
func (p *fakePagerDuty) byKey(dedupKey string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, ev := range p.events {
		if ev["dedup_key"] == dedupKey {
			out = append(out, ev)
		}
	}
	return out
}

// TestPagesThroughOutboxToPagerDuty runs failovers with the real alert
// outbox in etcd and a PagerDuty sink pointed at a fake Events API, and
// checks the exact trigger and resolve bodies and that they pair on one
// dedup_key. In the crash case the first leader enqueues the trigger but
// never delivers it (its outbox does not run) and crashes after the fence
// step; the next leader's outbox must deliver it.
func TestPagesThroughOutboxToPagerDuty(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := "one leader"
		if crash {
			name = "leader crash between write and send"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pd := newFakePagerDuty(t)
			var mu sync.Mutex
			regs := map[string]*prometheus.Registry{}
			var crashed string
			var c *cluster
			c = newCluster(t, clusterSpec{azs: fourInOneAZ,
				mutate: func(h *host, o *Options) {
					if crash && h.n == 1 {
						// The crashing leader is no target: this test is about the outbox,
						// not about a move re-planned after its target died.
						o.NoFailover = true
						o.afterStep = func(r *state.Record) {
							if r.Step == state.StepFenced && crashed == "" {
								crashed = h.id
								h.cli.Close()
							}
						}
					}
				},
				deps: func(h *host, d *Deps) {
					pc := alert.DefaultPagerDutyConfig()
					pc.URL, pc.RoutingKey = pd.srv.URL+"/v2/enqueue", testRoutingKey
					pc.HTTP.RetryMax, pc.HTTP.RetryWaitMin, pc.HTTP.RetryWaitMax = 1, 10*time.Millisecond, 50*time.Millisecond
					sink, err := alert.NewPagerDuty(pc)
					require.NoError(t, err)
					reg := prometheus.NewRegistry()
					oo := alert.DefaultOptions()
					oo.Client, oo.Prefix, oo.Sinks, oo.Registerer = h.cli, c.prefix, []alert.Sink{sink}, reg
					oo.PollInterval, oo.Backoff = 200*time.Millisecond, alert.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Factor: 2}
					ob, err := alert.NewOutbox(oo)
					require.NoError(t, err)
					d.Pager, d.Registry = nil, reg
					d.LeaderPager = func(g clientv3.Cmp) Pager { return ob.Guarded(g) }
					if !(crash && h.n == 1) {
						d.LeaderTask = ob.Run
					}
					mu.Lock()
					regs[h.id] = reg
					mu.Unlock()
				}})
			c.start()
			owner := c.owner()
			c.kill(owner)
			rec := c.waitDone(1, 15*time.Second)
			dk := "failover/" + rec.ID
			require.Eventually(t, func() bool { return len(pd.byKey(dk)) >= 2 }, 10*time.Second, 20*time.Millisecond,
				"waiting for the trigger and the resolve of %s at the fake PagerDuty", dk)
			got := pd.byKey(dk)
			require.Len(t, got, 2, "exactly one trigger and one resolve for %s: %v", dk, got)
			trigger, resolve := got[0], got[1]

			planner := rec.Timeline[0].Leader
			if crash {
				require.Equal(t, c.hosts[0].id, crashed, "the first leader crashed")
				require.Equal(t, crashed, planner, "the crashed leader planned and enqueued the trigger")
				require.NotEqual(t, crashed, rec.Timeline[len(rec.Timeline)-1].Leader, "another leader finished")
			}
			payload, ok := trigger["payload"].(map[string]any)
			require.True(t, ok, "trigger has a payload: %v", trigger)
			ts, err := time.Parse(time.RFC3339, fmt.Sprint(payload["timestamp"]))
			require.NoError(t, err, "payload.timestamp")
			require.WithinDuration(t, rec.Created, ts, 2*time.Second, "trigger timestamp near the plan")
			var signals any
			b, _ := json.Marshal(rec.Signals)
			require.NoError(t, json.Unmarshal(b, &signals))
			require.NotEmpty(t, signals, "the verdict's signals")
			want := map[string]any{
				"routing_key": testRoutingKey, "event_action": "trigger", "dedup_key": dk, "client": "volfailover",
				"payload": map[string]any{
					"summary":   pdSummary(fmt.Sprintf("failover of %s from %s to %s started: %s", testVolume, owner.id, rec.To.Instance, rec.Reason)),
					"source":    "volfailover/" + planner,
					"severity":  "critical",
					"timestamp": payload["timestamp"],
					"component": testVolume,
					"group":     owner.id,
					"class":     "failover_started",
					"custom_details": map[string]any{
						"kind": "failover_started", "volume": testVolume, "instance": owner.id, "failover_id": rec.ID,
						"to": rec.To.Instance, "move_kind": "failover", "signals": signals,
					},
				},
			}
			require.Equal(t, want, trigger, "trigger body")
			require.Equal(t, map[string]any{"routing_key": testRoutingKey, "event_action": "resolve", "dedup_key": dk}, resolve, "resolve body")

			// The finisher's registry counted its deliveries under the sink's name.
			finisher := rec.Timeline[len(rec.Timeline)-1].Leader
			mu.Lock()
			reg := regs[finisher]
			mu.Unlock()
			mfs, err := reg.Gather()
			require.NoError(t, err)
			delivered := 0.0
			names := map[string]bool{}
			for _, mf := range mfs {
				names[mf.GetName()] = true
				if mf.GetName() != "volfailover_pages_total" {
					continue
				}
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					if labels["sink"] == "pagerduty" && labels["result"] == "delivered" {
						delivered = m.GetCounter().GetValue()
					}
				}
			}
			require.GreaterOrEqual(t, delivered, 1.0, "volfailover_pages_total{sink=pagerduty,result=delivered} on %s", finisher)
			require.True(t, names["volfailover_leader"] && names["volfailover_pages_total"], "one registry holds the controller's and the outbox's series")
			for _, ev := range pd.events {
				require.False(t, strings.Contains(fmt.Sprint(ev["payload"]), testRoutingKey), "routing key only in routing_key")
			}
		})
	}
}

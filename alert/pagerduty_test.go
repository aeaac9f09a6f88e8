package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/internal/testlog"
)

const testRoutingKey = "R0ut1ngK3yS3cr3tR0ut1ngK3yS3cr3t"

func newTestPagerDuty(t *testing.T, url string, log zerolog.Logger) *PagerDuty {
	t.Helper()
	cfg := DefaultPagerDutyConfig()
	cfg.URL, cfg.RoutingKey, cfg.HTTP, cfg.Logger = url, testRoutingKey, testHTTP(), log
	cfg.ClientURL = "http://127.0.0.1:9/v1/status"
	pd, err := NewPagerDuty(cfg)
	require.NoError(t, err)
	return pd
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPagerDutyTriggerBody(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	pd := newTestPagerDuty(t, rcv.srv.URL, zerolog.Nop())
	ev := validEvent()
	ev.Source, ev.Volume, ev.Instance, ev.FailoverID = "volfailover@i-leader", "vol-1", "i-1", "f-1"
	ev.Time = time.Date(2026, 11, 25, 18, 30, 5, 123, time.FixedZone("x", 3600))
	ev.Details = map[string]any{"verdict": "dead", "signals": []any{"ec2: stopped"}}

	retry, err := pd.Send(t.Context(), ev)
	require.NoError(t, err)
	require.False(t, retry)
	require.Equal(t, 1, rcv.count())
	require.Equal(t, "application/json", rcv.header(0).Get("Content-Type"))

	var got map[string]any
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Equal(t, []string{"client", "client_url", "dedup_key", "event_action", "payload", "routing_key"}, keys(got))
	require.Equal(t, testRoutingKey, got["routing_key"])
	require.Equal(t, "trigger", got["event_action"])
	require.Equal(t, "volfailover/vol-1/f-1", got["dedup_key"])
	require.Equal(t, "volfailover", got["client"])
	payload := got["payload"].(map[string]any)
	require.Equal(t, []string{"class", "component", "custom_details", "group", "severity", "source", "summary", "timestamp"}, keys(payload))
	require.Equal(t, ev.Summary, payload["summary"])
	require.Equal(t, "volfailover@i-leader", payload["source"])
	require.Equal(t, "critical", payload["severity"])
	require.Equal(t, "2026-11-25T17:30:05Z", payload["timestamp"], "timestamp is RFC 3339 in UTC")
	require.Equal(t, "vol-1", payload["component"])
	require.Equal(t, "i-1", payload["group"])
	require.Equal(t, "failover_started", payload["class"])
	require.Equal(t, map[string]any{
		"kind": "failover_started", "volume": "vol-1", "instance": "i-1", "failover_id": "f-1",
		"verdict": "dead", "signals": []any{"ec2: stopped"},
	}, payload["custom_details"])
}

func TestPagerDutyResolveBody(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	pd := newTestPagerDuty(t, rcv.srv.URL, zerolog.Nop())
	ev := validEvent()
	ev.Kind, ev.Action, ev.Volume = KindFailoverCompleted, ActionResolve, "vol-1"
	ev.Details = map[string]any{"timeline": "ignored on resolve"}

	_, err := pd.Send(t.Context(), ev)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Equal(t, map[string]any{"routing_key": testRoutingKey, "event_action": "resolve", "dedup_key": "volfailover/vol-1/f-1"}, got)
}

func TestPagerDutySummaryTruncated(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	pd := newTestPagerDuty(t, rcv.srv.URL, zerolog.Nop())
	ev := validEvent()
	ev.Summary = strings.Repeat("x", 2000)
	_, err := pd.Send(t.Context(), ev)
	require.NoError(t, err)
	var got struct {
		Payload struct{ Summary string } `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Len(t, []rune(got.Payload.Summary), MaxSummaryLen)
	require.True(t, strings.HasPrefix(got.Payload.Summary, strings.Repeat("x", MaxSummaryLen-1)))
}

func TestPagerDutyStatusClassification(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		final     int
		wantErr   string
		wantRetry bool
		requests  int
	}{
		{"202 delivered", nil, http.StatusAccepted, "", false, 1},
		{"429 then 202 retried", []int{http.StatusTooManyRequests}, http.StatusAccepted, "", false, 2},
		{"500 then 202 retried", []int{http.StatusInternalServerError}, http.StatusAccepted, "", false, 2},
		{"400 dropped without retry", nil, http.StatusBadRequest, "status 400: invalid event: Event object is invalid ('payload.severity' is invalid)", false, 1},
		{"403 dropped without retry", nil, http.StatusForbidden, "status 403", false, 1},
		{"503 past the budget is retryable", nil, http.StatusServiceUnavailable, "status 503: upstream unavailable", true, 4},
		{"429 past the budget is retryable", nil, http.StatusTooManyRequests, "status 429: throttle event", true, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.final, tc.script...)
			pd := newTestPagerDuty(t, rcv.srv.URL, zerolog.Nop())
			retry, err := pd.Send(t.Context(), validEvent())
			require.Equal(t, tc.wantRetry, retry, "retry: got %v want %v (err %v)", retry, tc.wantRetry, err)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
				var he *HTTPError
				require.True(t, errors.As(err, &he), "error %v is not an *HTTPError", err)
				require.Equal(t, tc.wantRetry, he.Retryable())
			}
			require.Equal(t, tc.requests, rcv.count(), "requests: got %d want %d", rcv.count(), tc.requests)
		})
	}
}

func TestPagerDutyConnectionRefusedIsRetryable(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	url := rcv.srv.URL
	rcv.srv.Close()
	pd := newTestPagerDuty(t, url, zerolog.Nop())
	retry, err := pd.Send(t.Context(), validEvent())
	require.Error(t, err)
	require.True(t, retry, "a refused connection is worth retrying: %v", err)
}

func TestPagerDutyInvalidEventNotSent(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	pd := newTestPagerDuty(t, rcv.srv.URL, zerolog.Nop())
	ev := validEvent()
	ev.DedupKey = strings.Repeat("d", 300)
	retry, err := pd.Send(t.Context(), ev)
	require.ErrorContains(t, err, "limit 255")
	require.False(t, retry)
	require.Zero(t, rcv.count(), "an invalid event must not reach PagerDuty")
}

func TestRoutingKeySources(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(good, []byte(testRoutingKey+"\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	spaced := filepath.Join(dir, "spaced")
	require.NoError(t, os.WriteFile(spaced, []byte("abc "+testRoutingKey), 0o600))
	t.Setenv("ALERT_TEST_PD_KEY", testRoutingKey)
	t.Setenv("ALERT_TEST_PD_EMPTY", "")

	tests := []struct {
		name    string
		set     func(*PagerDutyConfig)
		wantErr string
	}{
		{"file", func(c *PagerDutyConfig) { c.RoutingKeyFile = good }, ""},
		{"env", func(c *PagerDutyConfig) { c.RoutingKeyEnv = "ALERT_TEST_PD_KEY" }, ""},
		{"direct", func(c *PagerDutyConfig) { c.RoutingKey = testRoutingKey }, ""},
		{"none", func(*PagerDutyConfig) {}, "set exactly one"},
		{"two", func(c *PagerDutyConfig) { c.RoutingKeyFile, c.RoutingKeyEnv = good, "ALERT_TEST_PD_KEY" }, "got 2"},
		{"missing file", func(c *PagerDutyConfig) { c.RoutingKeyFile = filepath.Join(dir, "nope") }, "nope"},
		{"empty file", func(c *PagerDutyConfig) { c.RoutingKeyFile = empty }, "is empty"},
		{"space inside", func(c *PagerDutyConfig) { c.RoutingKeyFile = spaced }, "offset 3"},
		{"unset env", func(c *PagerDutyConfig) { c.RoutingKeyEnv = "ALERT_TEST_PD_UNSET" }, `"ALERT_TEST_PD_UNSET" is not set`},
		{"empty env", func(c *PagerDutyConfig) { c.RoutingKeyEnv = "ALERT_TEST_PD_EMPTY" }, "is empty"},
		{"bad url", func(c *PagerDutyConfig) { c.RoutingKey, c.URL = testRoutingKey, "ftp://127.0.0.1/x" }, `scheme "ftp"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, http.StatusAccepted)
			cfg := DefaultPagerDutyConfig()
			cfg.URL, cfg.HTTP = rcv.srv.URL, testHTTP()
			tc.set(&cfg)
			pd, err := NewPagerDuty(cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), testRoutingKey)
				return
			}
			require.NoError(t, err)
			_, err = pd.Send(t.Context(), validEvent())
			require.NoError(t, err)
			var got struct {
				RoutingKey string `json:"routing_key"`
			}
			require.NoError(t, json.Unmarshal(rcv.body(0), &got))
			require.Equal(t, testRoutingKey, got.RoutingKey, "the key is sent, trimmed")
		})
	}
}

// TestRoutingKeyNeverLogged drives every path that logs (success, HTTP
// retries, a permanent failure, outbox delivery) with a trace-level logger and
// prints the config every way fmt, JSON and zerolog can.
func TestRoutingKeyNeverLogged(t *testing.T) {
	var buf testlog.Buffer
	log := zerolog.New(&buf).Level(zerolog.TraceLevel)
	rcv := newReceiver(t, http.StatusAccepted, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusAccepted, http.StatusBadRequest)
	cfg := DefaultPagerDutyConfig()
	cfg.URL, cfg.RoutingKey, cfg.HTTP, cfg.Logger = rcv.srv.URL, testRoutingKey, testHTTP(), log
	pd, err := NewPagerDuty(cfg)
	require.NoError(t, err)

	var errs []string
	for range 3 {
		_, err := pd.Send(t.Context(), validEvent())
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	require.Len(t, errs, 1, "the 400 is reported")

	ob := newTestOutbox(t, Options{Sinks: []Sink{pd}, Logger: log})
	runOutbox(t, ob)
	require.NoError(t, ob.Page(t.Context(), validEvent()))
	require.Eventually(t, func() bool { return rcv.count() == 6 }, 10*time.Second, 10*time.Millisecond, "waiting for the outbox to deliver")

	log.Info().Stringer("config", cfg).Interface("config_json", cfg).Interface("key", cfg.RoutingKey).
		Str("key_str", cfg.RoutingKey.String()).Msg("config")
	printed := fmt.Sprintf("%v %+v %#v %s %q %d %x %v", cfg, cfg, cfg, cfg, cfg.RoutingKey, cfg.RoutingKey, cfg.RoutingKey, pd)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Greater(t, len(lines), 5, "expected the test to produce log lines")
	for i, l := range lines {
		require.NotContains(t, l, testRoutingKey, "log line %d leaks the routing key", i)
	}
	require.Contains(t, buf.String(), `"status":429`, "trace logging covered the retry path")
	for _, s := range append(errs, printed, string(j)) {
		require.NotContains(t, s, testRoutingKey)
	}
	require.Contains(t, string(j), `"routing_key":"[redacted]"`)
}

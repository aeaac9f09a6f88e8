package alert

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/internal/testlog"
)

func newTestWebhook(t *testing.T, url string, headers map[string]string) *Webhook {
	t.Helper()
	cfg := DefaultWebhookConfig()
	cfg.URL, cfg.Headers, cfg.HTTP = url, headers, testHTTP()
	w, err := NewWebhook(cfg)
	require.NoError(t, err)
	return w
}

func TestWebhookBody(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	w := newTestWebhook(t, rcv.srv.URL+"/hooks/T000/secret", map[string]string{"Authorization": "Bearer tok", "X-Team": "db", "Content-Type": "text/plain"})
	ev := validEvent()
	ev.Source, ev.Volume, ev.Instance, ev.FailoverID = "volfailover@i-9", "vol-1", "i-1", "f-1"
	ev.Time = time.Date(2026, 11, 25, 18, 0, 0, 5e8, time.UTC)
	ev.Summary = strings.Repeat("é", 1500)
	ev.Details = map[string]any{"timeline": []any{map[string]any{"step": "fenced", "ms": 1200.0}}}

	retry, err := w.Send(t.Context(), ev)
	require.NoError(t, err)
	require.False(t, retry)
	h := rcv.header(0)
	require.Equal(t, "application/json", h.Get("Content-Type"), "Content-Type cannot be overridden")
	require.Equal(t, "Bearer tok", h.Get("Authorization"))
	require.Equal(t, "db", h.Get("X-Team"))

	var got map[string]any
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Equal(t, []string{"action", "dedup_key", "details", "failover_id", "instance", "kind", "severity", "source", "summary", "time", "version", "volume"}, keys(got))
	require.Equal(t, 1.0, got["version"])
	require.Equal(t, "failover_started", got["kind"])
	require.Equal(t, "trigger", got["action"])
	require.Equal(t, "critical", got["severity"])
	require.Equal(t, "volfailover/vol-1/f-1", got["dedup_key"])
	require.Len(t, []rune(got["summary"].(string)), MaxSummaryLen)
	require.Equal(t, "volfailover@i-9", got["source"])
	require.Equal(t, "vol-1", got["volume"])
	require.Equal(t, "i-1", got["instance"])
	require.Equal(t, "f-1", got["failover_id"])
	require.Equal(t, "2026-11-25T18:00:00.5Z", got["time"])
	require.Equal(t, map[string]any{"timeline": []any{map[string]any{"step": "fenced", "ms": 1200.0}}}, got["details"])

	var typed WebhookPayload
	require.NoError(t, json.Unmarshal(rcv.body(0), &typed), "the body decodes into the documented type")
	require.Equal(t, WebhookSchemaVersion, typed.Version)
}

func TestWebhookEmptyFieldsPresent(t *testing.T) {
	rcv := newReceiver(t, http.StatusNoContent)
	w := newTestWebhook(t, rcv.srv.URL, nil)
	ev := validEvent()
	ev.Action = ActionResolve
	_, err := w.Send(t.Context(), ev)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Equal(t, "", got["volume"], "absent fields are empty strings, not missing")
	require.Equal(t, "volfailover", got["source"], "default source")
	require.Equal(t, map[string]any{}, got["details"])
	require.Equal(t, "resolve", got["action"])
}

func TestWebhookStatusClassification(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		final     int
		wantErr   string
		wantRetry bool
		requests  int
	}{
		{"200 delivered", nil, http.StatusOK, "", false, 1},
		{"429 then 200", []int{http.StatusTooManyRequests}, http.StatusOK, "", false, 2},
		{"502 then 204", []int{http.StatusBadGateway}, http.StatusNoContent, "", false, 2},
		{"400 dropped", nil, http.StatusBadRequest, "webhook: status 400", false, 1},
		{"404 dropped", nil, http.StatusNotFound, "status 404", false, 1},
		{"500 past the budget", nil, http.StatusInternalServerError, "status 500: upstream unavailable", true, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.final, tc.script...)
			w := newTestWebhook(t, rcv.srv.URL, nil)
			retry, err := w.Send(t.Context(), validEvent())
			require.Equal(t, tc.wantRetry, retry, "retry: got %v want %v (err %v)", retry, tc.wantRetry, err)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			require.Equal(t, tc.requests, rcv.count(), "requests: got %d want %d", rcv.count(), tc.requests)
		})
	}
}

func TestWebhookConfigRedactsAndValidates(t *testing.T) {
	cfg := DefaultWebhookConfig()
	cfg.URL = "https://hooks.example.invalid/services/T000/B000/XXXSECRET?token=abc"
	cfg.Headers = map[string]string{"Authorization": "Bearer SECRETTOKEN"}
	for _, s := range []string{cfg.String(), mustJSON(t, cfg)} {
		require.NotContains(t, s, "XXXSECRET")
		require.NotContains(t, s, "SECRETTOKEN")
		require.NotContains(t, s, "token=abc")
		require.Contains(t, s, "Authorization", "header names are shown")
		require.Contains(t, s, "hooks.example.invalid", "the host is shown")
	}

	tests := []struct {
		name    string
		set     func(*WebhookConfig)
		wantErr string
	}{
		{"no url", func(c *WebhookConfig) { c.URL = "" }, "webhook.url"},
		{"relative url", func(c *WebhookConfig) { c.URL = "/hook" }, `scheme ""`},
		{"user in url", func(c *WebhookConfig) { c.URL = "http://u:p@127.0.0.1/x" }, "credentials"},
		{"bad header name", func(c *WebhookConfig) { c.Headers = map[string]string{"X Bad": "v"} }, `"X Bad"`},
		{"header injection", func(c *WebhookConfig) { c.Headers = map[string]string{"X-A": "v\r\nX-B: w"} }, "line break"},
		{"zero timeout", func(c *WebhookConfig) { c.HTTP.Timeout = 0 }, "webhook.http.timeout"},
		{"wait max below min", func(c *WebhookConfig) { c.HTTP.RetryWaitMax = time.Microsecond }, "retry_wait_max"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultWebhookConfig()
			c.URL = "http://127.0.0.1:9/hook"
			tc.set(&c)
			_, err := NewWebhook(c)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// TestWebhookURLNotLogged: chat webhook URLs embed a token; logs and errors show only the host.
func TestWebhookURLNotLogged(t *testing.T) {
	var buf testlog.Buffer
	rcv := newReceiver(t, http.StatusOK)
	url := rcv.srv.URL
	rcv.srv.Close() // connection refused: the error path
	cfg := DefaultWebhookConfig()
	cfg.URL, cfg.HTTP = url+"/services/XXXSECRET", testHTTP()
	cfg.HTTP.RetryMax = 1
	cfg.Logger = zerolog.New(&buf).Level(zerolog.TraceLevel)
	w, err := NewWebhook(cfg)
	require.NoError(t, err)
	retry, err := w.Send(t.Context(), validEvent())
	require.Error(t, err)
	require.True(t, retry)
	require.NotContains(t, err.Error(), "XXXSECRET")
	require.Contains(t, buf.String(), "page send", "expected trace logs")
	require.NotContains(t, buf.String(), "XXXSECRET")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

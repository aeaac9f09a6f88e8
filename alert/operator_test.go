package alert

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/internal/testlog"
)

// TestRunbookHasEveryKind: each page links to docs/operations.md#<kind>, so
// each kind needs a heading whose anchor is exactly its name.
func TestRunbookHasEveryKind(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	headings := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			headings[strings.TrimSpace(h)] = true
		}
	}
	for _, k := range Kinds() {
		require.True(t, headings[string(k)], "docs/operations.md has no heading \"### %s\" for the runbook link %s", k, RunbookLink(DefaultRunbookURL, k))
	}
}

func TestRunbookLink(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"", ""},
		{"https://wiki.example/ops.md", "https://wiki.example/ops.md#no_target"},
		{"https://wiki.example/ops.md#old", "https://wiki.example/ops.md#no_target"},
	} {
		require.Equal(t, tc.want, RunbookLink(tc.base, KindNoTarget), "base %q", tc.base)
	}
}

func TestPagerDutyLinksToTheRunbook(t *testing.T) {
	rcv := newReceiver(t, http.StatusAccepted)
	cfg := DefaultPagerDutyConfig()
	cfg.URL, cfg.RoutingKey, cfg.HTTP = rcv.srv.URL, testRoutingKey, testHTTP()
	cfg.RunbookURL, cfg.ClientURL = "https://runbooks.example/volfailover/operations.md", "https://status.example/v1/status"
	pd, err := NewPagerDuty(cfg)
	require.NoError(t, err)

	ev := validEvent()
	ev.Kind = KindStepOverdue
	_, err = pd.Send(t.Context(), ev)
	require.NoError(t, err)
	var got struct {
		ClientURL string `json:"client_url"`
		Links     []struct{ Href, Text string }
	}
	require.NoError(t, json.Unmarshal(rcv.body(0), &got))
	require.Equal(t, "https://status.example/v1/status", got.ClientURL)
	require.Len(t, got.Links, 1)
	require.Equal(t, "https://runbooks.example/volfailover/operations.md#step_overdue", got.Links[0].Href)
	require.Equal(t, "runbook: step_overdue", got.Links[0].Text)

	ev.Action = ActionResolve
	_, err = pd.Send(t.Context(), ev)
	require.NoError(t, err)
	require.NotContains(t, string(rcv.body(1)), "links", "a resolve carries only what PagerDuty needs to close")

	cfg.RunbookURL = "ftp://runbooks"
	_, err = NewPagerDuty(cfg)
	require.ErrorContains(t, err, "pagerduty.runbook_url")
}

func TestWebhookHeadersFile(t *testing.T) {
	const secret = "Bearer s3cr3t-t0ken"
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	for _, tc := range []struct {
		name    string
		file    string
		headers map[string]string
		wantErr string
	}{
		{"good", write("good", "# credentials\n\nAuthorization: "+secret+"\nX-Team:  db \n"), nil, ""},
		{"no colon", write("nocolon", "Authorization "+secret+"\n"), nil, "line 1"},
		{"set twice", write("twice", "authorization: "+secret+"\n"), map[string]string{"Authorization": "x"}, "set twice"},
		{"missing", filepath.Join(dir, "absent"), nil, "headers_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, http.StatusOK)
			cfg := DefaultWebhookConfig()
			cfg.URL, cfg.HTTP, cfg.HeadersFile, cfg.Headers = rcv.srv.URL, testHTTP(), tc.file, tc.headers
			require.NotContains(t, cfg.String(), "s3cr3t", "the config prints no header value")
			w, err := NewWebhook(cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "s3cr3t", "errors name the line, never the value")
				return
			}
			require.NoError(t, err)
			_, err = w.Send(t.Context(), validEvent())
			require.NoError(t, err)
			require.Equal(t, secret, rcv.header(0).Get("Authorization"))
			require.Equal(t, "db", rcv.header(0).Get("X-Team"))
		})
	}
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		line, name, value, err string
	}{
		{"Authorization: Bearer x", "Authorization", "Bearer x", ""},
		{"X-A:b:c", "X-A", "b:c", ""},
		{"no colon here", "", "", `want "Name: value"`},
		{": value", "", "", `want "Name: value"`},
		{"Bad Name: v", "", "", "not a valid header name"},
	} {
		name, value, err := ParseHeader("webhook-header", tc.line)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "line %q", tc.line)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, [2]string{tc.name, tc.value}, [2]string{name, value})
	}
}

func pagingFailing(t *testing.T, reg *prometheus.Registry, sink string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "volfailover_paging_failing" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == sink {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("volfailover_paging_failing{sink=%q} not exported", sink)
	return 0
}

// TestPagingFailureIsVisible: PagerDuty refuses pages; the gauge says so, an
// error is logged, and the webhook carries a paging_failed page, resolved
// once PagerDuty takes pages again.
func TestPagingFailureIsVisible(t *testing.T) {
	pdRcv := newReceiver(t, http.StatusBadRequest)
	whRcv := newReceiver(t, http.StatusOK)
	reg := prometheus.NewRegistry()
	var logs testlog.Buffer
	ob := newTestOutbox(t, Options{Sinks: []Sink{newTestPagerDuty(t, pdRcv.srv.URL, zerolog.Nop()), newTestWebhook(t, whRcv.srv.URL, nil)},
		Registerer: reg, Logger: zerolog.New(&logs), ReportFailures: true})
	runOutbox(t, ob)
	require.Equal(t, 0.0, pagingFailing(t, reg, "pagerduty"), "the series exist from the start")

	require.NoError(t, ob.Page(t.Context(), validEvent()))
	require.Eventually(t, func() bool { return whRcv.count() == 2 }, waitFor, 10*time.Millisecond, "the page and the paging_failed notice reach the webhook")
	var notice WebhookPayload
	for i := range 2 {
		var p WebhookPayload
		require.NoError(t, json.Unmarshal(whRcv.body(i), &p))
		if p.Kind == string(KindPagingFailed) {
			notice = p
		}
	}
	require.Equal(t, "trigger", notice.Action)
	require.Equal(t, "critical", notice.Severity)
	require.Equal(t, "volfailover/paging_failed/pagerduty", notice.DedupKey)
	require.Contains(t, notice.Summary, "pages to pagerduty are failing")
	require.Contains(t, notice.Summary, "status 400")
	require.Contains(t, notice.Summary, validEvent().Summary, "it says which page was lost")
	require.NotContains(t, notice.Summary+fmt.Sprint(notice.Details), testRoutingKey)
	require.Equal(t, 1.0, pagingFailing(t, reg, "pagerduty"))
	require.Equal(t, 0.0, pagingFailing(t, reg, "webhook"))
	require.Contains(t, logs.String(), `"level":"error"`)
	require.Contains(t, logs.String(), "paging is failing")

	// A second failure is no news: no second notice.
	ev := validEvent()
	ev.DedupKey = "volfailover/vol-1/f-2"
	require.NoError(t, ob.Page(t.Context(), ev))
	require.Eventually(t, func() bool { return whRcv.count() == 3 && pdRcv.count() == 2 }, waitFor, 10*time.Millisecond)

	pdRcv.setFinal(http.StatusAccepted)
	ev.DedupKey = "volfailover/vol-1/f-3"
	require.NoError(t, ob.Page(t.Context(), ev))
	require.Eventually(t, func() bool { return whRcv.count() == 5 }, waitFor, 10*time.Millisecond, "the page and the resolve of the notice")
	var resolve WebhookPayload
	require.NoError(t, json.Unmarshal(whRcv.body(4), &resolve))
	if resolve.Kind != string(KindPagingFailed) {
		require.NoError(t, json.Unmarshal(whRcv.body(3), &resolve))
	}
	require.Equal(t, "resolve", resolve.Action)
	require.Equal(t, "volfailover/paging_failed/pagerduty", resolve.DedupKey)
	require.Equal(t, 0.0, pagingFailing(t, reg, "pagerduty"))
	require.Contains(t, logs.String(), "paging recovered")
}

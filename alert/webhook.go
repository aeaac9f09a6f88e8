package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// WebhookSchemaVersion is the version field of every webhook body; it changes
// only when a field changes meaning or disappears (docs/paging.md).
const WebhookSchemaVersion = 1

// WebhookPayload is the documented JSON body of the generic webhook, meant for
// Slack bridges, Alertmanager-style receivers and scripts. Every field is
// always present; empty strings mean "not applicable".
type WebhookPayload struct {
	Version    int            `json:"version"`
	Kind       string         `json:"kind"`
	Action     string         `json:"action"`
	Severity   string         `json:"severity"`
	DedupKey   string         `json:"dedup_key"`
	Summary    string         `json:"summary"`
	Source     string         `json:"source"`
	Volume     string         `json:"volume"`
	Instance   string         `json:"instance"`
	FailoverID string         `json:"failover_id"`
	Time       string         `json:"time"` // RFC 3339, UTC
	Details    map[string]any `json:"details"`
}

// NewWebhookPayload maps an event onto the webhook schema.
func NewWebhookPayload(ev Event) WebhookPayload {
	d := ev.Details
	if d == nil {
		d = map[string]any{}
	}
	t := ""
	if !ev.Time.IsZero() {
		t = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	return WebhookPayload{
		Version: WebhookSchemaVersion, Kind: string(ev.Kind), Action: string(ev.Action),
		Severity: string(ev.Severity), DedupKey: ev.DedupKey, Summary: truncateSummary(ev.Summary),
		Source: ev.source(), Volume: ev.Volume, Instance: ev.Instance, FailoverID: ev.FailoverID,
		Time: t, Details: d,
	}
}

// WebhookConfig configures the generic JSON webhook sink.
type WebhookConfig struct {
	// Name of the sink in outbox records and metrics. Default "webhook".
	Name string
	// URL receiving the POST; required. Its path and query are never logged
	// (chat webhooks embed a token there).
	URL string
	// Headers are sent with every request (for example Authorization); their
	// values are redacted by String and MarshalJSON. Content-Type is always
	// application/json and cannot be overridden.
	Headers map[string]string
	// HTTP holds timeouts and the per-Send retry budget.
	HTTP HTTPOptions
	// Logger for delivery details; default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultWebhookConfig returns the defaults; URL must still be set.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{Name: "webhook", HTTP: DefaultHTTPOptions(), Logger: zerolog.Nop()}
}

// String describes the config with the URL path and header values redacted.
func (c WebhookConfig) String() string {
	b, _ := c.MarshalJSON()
	return "webhook" + string(b)
}

// MarshalJSON encodes the config with the URL path and header values redacted.
func (c WebhookConfig) MarshalJSON() ([]byte, error) {
	u := redacted
	if pu, err := validateURL("webhook.url", c.URL); err == nil {
		u = redactURL(pu)
	}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	return json.Marshal(struct {
		Name    string      `json:"name"`
		URL     string      `json:"url"`
		Headers []string    `json:"headers,omitempty"`
		HTTP    HTTPOptions `json:"http"`
	}{c.Name, u, names, c.HTTP})
}

// Validate checks the URL, the headers and the HTTP options.
func (c WebhookConfig) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("webhook.name %q: empty", c.Name)
	}
	if _, err := validateURL("webhook.url", c.URL); err != nil {
		return err
	}
	for k, v := range c.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("webhook.headers name %q: not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("webhook.headers[%s]: value holds a line break or NUL", k)
		}
	}
	return c.HTTP.validate("webhook.http")
}

// Webhook is a Sink posting WebhookPayload as JSON.
type Webhook struct {
	cfg  WebhookConfig
	post *poster
}

// NewWebhook validates cfg and builds the sink.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := validateURL("webhook.url", cfg.URL)
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	return &Webhook{cfg: cfg, post: newPoster(cfg.Name, u, cfg.HTTP, h, cfg.Logger)}, nil
}

// Name returns the configured sink name.
func (w *Webhook) Name() string { return w.cfg.Name }

// Send posts ev; 2xx is delivered, 429 and 5xx are retryable, other statuses permanent.
func (w *Webhook) Send(ctx context.Context, ev Event) (bool, error) {
	if err := ev.Validate(); err != nil {
		return false, fmt.Errorf("send page to %s: %w", w.cfg.Name, err)
	}
	b, err := json.Marshal(NewWebhookPayload(ev))
	if err != nil {
		return false, fmt.Errorf("encode webhook body for %s: %w", ev.DedupKey, err)
	}
	status, resp, retry, err := w.post.post(ctx, ev, b)
	if err != nil {
		return retry, fmt.Errorf("send page %s %s to %s: %w", ev.Action, ev.DedupKey, w.cfg.Name, err)
	}
	if status/100 == 2 {
		return false, nil
	}
	return retry, fmt.Errorf("send page %s %s: %w", ev.Action, ev.DedupKey,
		&HTTPError{Sink: w.cfg.Name, StatusCode: status, Message: bodySnippet(resp)})
}

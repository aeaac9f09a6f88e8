package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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
	// HeadersFile is a file of "Name: value" lines (blank lines and lines
	// starting with # are skipped), read when the sink is built, for headers
	// that carry a credential: a file keeps it out of ps, shell history and
	// the unit file. A name may not be set both here and in Headers. Errors
	// name the file and the line, never the value.
	HeadersFile string
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
		Name        string      `json:"name"`
		URL         string      `json:"url"`
		Headers     []string    `json:"headers,omitempty"`
		HeadersFile string      `json:"headers_file,omitempty"`
		HTTP        HTTPOptions `json:"http"`
	}{c.Name, u, names, c.HeadersFile, c.HTTP})
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
		if err := checkHeader("webhook.headers", k, v); err != nil {
			return err
		}
	}
	return c.HTTP.validate("webhook.http")
}

// checkHeader rejects a header name or value net/http would refuse or that
// would split the request; the value is never part of the error.
func checkHeader(field, name, value string) error {
	if name == "" || strings.ContainsAny(name, " \t\r\n:") {
		return fmt.Errorf("%s name %q: not a valid header name", field, name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("%s[%s]: value holds a line break or NUL", field, name)
	}
	return nil
}

// ParseHeader splits "Name: value" (as curl -H takes it), for flags that set
// webhook headers one at a time.
func ParseHeader(field, line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" {
		return "", "", fmt.Errorf("%s %q: want \"Name: value\"", field, redactHeaderLine(line))
	}
	if err := checkHeader(field, name, value); err != nil {
		return "", "", err
	}
	return name, value, nil
}

// redactHeaderLine keeps what precedes the colon: the name, never the value.
func redactHeaderLine(line string) string {
	if name, _, ok := strings.Cut(line, ":"); ok {
		return name + ": " + redacted
	}
	return redacted // without a colon, any of it may be the value
}

// loadHeadersFile reads c.HeadersFile into a copy of c.Headers.
func (c WebhookConfig) loadHeadersFile() (map[string]string, error) {
	out := make(map[string]string, len(c.Headers))
	for k, v := range c.Headers {
		out[http.CanonicalHeaderKey(k)] = v
	}
	if c.HeadersFile == "" {
		return out, nil
	}
	b, err := os.ReadFile(c.HeadersFile)
	if err != nil {
		return nil, fmt.Errorf("webhook.headers_file: %w", err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		field := fmt.Sprintf("webhook.headers_file %q line %d", c.HeadersFile, i+1)
		name, value, err := ParseHeader(field, line)
		if err != nil {
			return nil, err
		}
		name = http.CanonicalHeaderKey(name)
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: header %s is set twice (also by a flag or an earlier line)", field, name)
		}
		out[name] = value
	}
	return out, nil
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
	headers, err := cfg.loadHeadersFile()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	return &Webhook{cfg: cfg, post: newPoster(cfg.Name, u, cfg.HTTP, h, cfg.Logger)}, nil
}

// Name returns the configured sink name.
func (w *Webhook) Name() string { return w.cfg.Name }

// String describes the sink with the URL path and header values redacted.
func (w *Webhook) String() string { return "webhook sink " + w.cfg.String() }

// Format prints String for every verb: the default struct printing would
// show header values (an Authorization token) raw.
func (w *Webhook) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(w.String())) }

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

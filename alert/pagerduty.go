package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// DefaultPagerDutyURL is PagerDuty's Events API v2 enqueue endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDutyConfig configures the PagerDuty Events API v2 sink. The routing key
// comes from exactly one of RoutingKey, RoutingKeyFile or RoutingKeyEnv; it is
// never logged or printed (String and MarshalJSON redact it).
type PagerDutyConfig struct {
	// Name of the sink in outbox records and metrics. Default "pagerduty".
	Name string
	// URL of the Events API. Default DefaultPagerDutyURL.
	URL string
	// RoutingKey is the integration key itself; prefer the file or the variable.
	RoutingKey Secret
	// RoutingKeyFile is a file holding the routing key (surrounding whitespace ignored).
	RoutingKeyFile string
	// RoutingKeyEnv names an environment variable holding the routing key.
	RoutingKeyEnv string
	// Client and ClientURL are shown in PagerDuty as the event's origin
	// (for example the status page). Default "volfailover" and none.
	Client    string
	ClientURL string
	// RunbookURL is the page of the runbook (docs/operations.md as published);
	// a trigger links to its entry for the event's kind, RunbookURL#kind, so
	// whoever is woken lands on what to check and do. "" sends no link.
	RunbookURL string
	// HTTP holds timeouts and the per-Send retry budget.
	HTTP HTTPOptions
	// Logger for delivery details; default zerolog.Nop().
	Logger zerolog.Logger
}

// DefaultPagerDutyConfig returns the defaults; a routing key source must still be set.
func DefaultPagerDutyConfig() PagerDutyConfig {
	return PagerDutyConfig{Name: "pagerduty", URL: DefaultPagerDutyURL, Client: "volfailover", HTTP: DefaultHTTPOptions(), Logger: zerolog.Nop()}
}

// String describes the config with the routing key redacted.
func (c PagerDutyConfig) String() string {
	b, _ := c.MarshalJSON()
	return "pagerduty" + string(b)
}

// MarshalJSON encodes the config with the routing key redacted.
func (c PagerDutyConfig) MarshalJSON() ([]byte, error) {
	key := ""
	if c.RoutingKey != "" {
		key = redacted
	}
	return json.Marshal(struct {
		Name           string      `json:"name"`
		URL            string      `json:"url"`
		RoutingKey     string      `json:"routing_key,omitempty"`
		RoutingKeyFile string      `json:"routing_key_file,omitempty"`
		RoutingKeyEnv  string      `json:"routing_key_env,omitempty"`
		Client         string      `json:"client,omitempty"`
		ClientURL      string      `json:"client_url,omitempty"`
		RunbookURL     string      `json:"runbook_url,omitempty"`
		HTTP           HTTPOptions `json:"http"`
	}{c.Name, c.URL, key, c.RoutingKeyFile, c.RoutingKeyEnv, c.Client, c.ClientURL, c.RunbookURL, c.HTTP})
}

// Validate checks the config without reading the routing key.
func (c PagerDutyConfig) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("pagerduty.name %q: empty", c.Name)
	}
	if _, err := validateURL("pagerduty.url", c.URL); err != nil {
		return err
	}
	if c.ClientURL != "" {
		if _, err := validateURL("pagerduty.client_url", c.ClientURL); err != nil {
			return err
		}
	}
	if c.RunbookURL != "" {
		if _, err := validateURL("pagerduty.runbook_url", c.RunbookURL); err != nil {
			return err
		}
	}
	return c.HTTP.validate("pagerduty.http")
}

// PagerDuty is a Sink for the PagerDuty Events API v2.
type PagerDuty struct {
	cfg  PagerDutyConfig
	key  Secret
	post *poster
}

// NewPagerDuty validates cfg and loads the routing key.
func NewPagerDuty(cfg PagerDutyConfig) (*PagerDuty, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := loadSecret("pagerduty.routing_key", cfg.RoutingKey, cfg.RoutingKeyFile, cfg.RoutingKeyEnv)
	if err != nil {
		return nil, err
	}
	u, _ := validateURL("pagerduty.url", cfg.URL)
	return &PagerDuty{cfg: cfg, key: key, post: newPoster(cfg.Name, u, cfg.HTTP, nil, cfg.Logger)}, nil
}

// Name returns the configured sink name.
func (p *PagerDuty) Name() string { return p.cfg.Name }

// String describes the sink without its routing key.
func (p *PagerDuty) String() string { return "pagerduty sink " + p.cfg.String() }

// Format prints String for every verb: the default struct printing would
// show the unexported key field raw.
func (p *PagerDuty) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// pdEvent is the Events API v2 request body.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

// pdLink is an Events API v2 link, shown on the incident.
type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// pdResponse is what the Events API answers, on success and on error.
type pdResponse struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// body maps an event onto the Events API v2 schema (docs/paging.md).
// A resolve carries only the routing key, the action and the dedup key.
func (p *PagerDuty) body(ev Event) ([]byte, error) {
	e := pdEvent{RoutingKey: p.key.reveal(), EventAction: string(ev.Action), DedupKey: ev.DedupKey}
	if ev.Action == ActionTrigger {
		details := make(map[string]any, len(ev.Details)+4)
		for k, v := range map[string]string{"kind": string(ev.Kind), "volume": ev.Volume, "instance": ev.Instance, "failover_id": ev.FailoverID} {
			if v != "" {
				details[k] = v
			}
		}
		for k, v := range ev.Details {
			details[k] = v
		}
		pl := &pdPayload{
			Summary: truncateSummary(ev.Summary), Source: ev.source(), Severity: string(ev.Severity),
			Component: ev.Volume, Group: ev.Instance, Class: string(ev.Kind), CustomDetails: details,
		}
		if !ev.Time.IsZero() {
			pl.Timestamp = ev.Time.UTC().Format(time.RFC3339)
		}
		e.Payload, e.Client, e.ClientURL = pl, p.cfg.Client, p.cfg.ClientURL
		if href := RunbookLink(p.cfg.RunbookURL, ev.Kind); href != "" {
			e.Links = []pdLink{{Href: href, Text: "runbook: " + string(ev.Kind)}}
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode pagerduty event %s: %w", ev.DedupKey, err)
	}
	return b, nil
}

// Send posts ev. 2xx (PagerDuty answers 202) is delivered; 429 and 5xx are
// retried within the HTTP budget and then reported retryable; any other 4xx
// is permanent and carries PagerDuty's message and errors.
func (p *PagerDuty) Send(ctx context.Context, ev Event) (bool, error) {
	if err := ev.Validate(); err != nil {
		return false, fmt.Errorf("send page to %s: %w", p.cfg.Name, err)
	}
	b, err := p.body(ev)
	if err != nil {
		return false, err
	}
	status, resp, retry, err := p.post.post(ctx, ev, b)
	if err != nil {
		return retry, fmt.Errorf("send page %s %s to %s: %w", ev.Action, ev.DedupKey, p.cfg.Name, err)
	}
	if status/100 == 2 {
		return false, nil
	}
	he := &HTTPError{Sink: p.cfg.Name, StatusCode: status}
	var pr pdResponse
	if json.Unmarshal(resp, &pr) == nil && (pr.Message != "" || pr.Status != "") {
		he.Message = joinNonEmpty(": ", pr.Status, pr.Message)
		he.Errors = pr.Errors
	} else {
		he.Message = bodySnippet(resp)
	}
	return retry, fmt.Errorf("send page %s %s: %w", ev.Action, ev.DedupKey, he)
}

// bodySnippet returns the start of a non-JSON answer, for the error message.
func bodySnippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

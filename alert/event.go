package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Action tells the receiver whether an incident opens or closes.
type Action string

// Actions, as PagerDuty's event_action names them.
const (
	ActionTrigger Action = "trigger"
	ActionResolve Action = "resolve"
)

// Severity is how urgently a human must look, in PagerDuty's four levels.
type Severity string

// Severities accepted by PagerDuty Events API v2.
const (
	SeverityCritical Severity = "critical"
	SeverityError    Severity = "error"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Kind names what happened, so runbooks and receivers can branch on it.
type Kind string

// The situations volfailover pages for (docs/operations.md has a runbook entry for each).
const (
	KindFailoverStarted   Kind = "failover_started"
	KindFailoverCompleted Kind = "failover_completed"
	KindStepOverdue       Kind = "step_overdue"
	KindStepFailed        Kind = "step_failed"
	KindNoTarget          Kind = "no_target"
	KindFenceUnconfirmed  Kind = "fence_unconfirmed"
	KindFlapDamped        Kind = "flap_damped"
	KindBadOverride       Kind = "bad_override"
	KindOwnerSuspect      Kind = "owner_suspect"
	KindVolumeAtRisk      Kind = "volume_at_risk"
	KindScheduledEvent    Kind = "scheduled_event"
	// KindPagingFailed is sent by the Outbox itself, through the other sinks,
	// while one sink keeps failing: a page nobody receives must not go unseen.
	KindPagingFailed Kind = "paging_failed"
)

// Limits PagerDuty enforces; the webhook keeps the same ones so both sinks agree.
const (
	// MaxDedupKeyLen is the longest dedup key accepted, in bytes.
	MaxDedupKeyLen = 255
	// MaxSummaryLen is the longest summary sent, in characters; longer ones are truncated.
	MaxSummaryLen = 1024
)

var knownKinds = map[Kind]bool{
	KindFailoverStarted: true, KindFailoverCompleted: true, KindStepOverdue: true, KindStepFailed: true,
	KindNoTarget: true, KindFenceUnconfirmed: true, KindFlapDamped: true,
	KindBadOverride: true, KindOwnerSuspect: true, KindVolumeAtRisk: true, KindScheduledEvent: true, KindPagingFailed: true,
}

// Kinds lists every kind, sorted, so that docs and tests can check that each
// one has a runbook entry.
func Kinds() []Kind {
	out := make([]Kind, 0, len(knownKinds))
	for k := range knownKinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// DefaultRunbookURL is the operations runbook of this project; each page
// kind has an entry there whose anchor is the kind's name.
const DefaultRunbookURL = "https://github.com/volfailover/volfailover/blob/main/docs/operations.md"

// RunbookLink is the runbook entry of kind under base (a page of
// docs/operations.md, wherever the operator publishes it): base#kind.
// "" when base is empty.
func RunbookLink(base string, kind Kind) string {
	if base == "" {
		return ""
	}
	base, _, _ = strings.Cut(base, "#")
	return base + "#" + string(kind)
}

// Event is one page: what happened, to which volume, and the evidence.
// A trigger and its resolve share DedupKey (one per failover), which is what
// makes a resend after a leader change harmless.
type Event struct {
	Kind       Kind           `json:"kind"`
	Action     Action         `json:"action"`
	Severity   Severity       `json:"severity"`
	DedupKey   string         `json:"dedup_key"`
	Summary    string         `json:"summary"`
	Source     string         `json:"source,omitempty"`
	Volume     string         `json:"volume,omitempty"`
	Instance   string         `json:"instance,omitempty"`
	FailoverID string         `json:"failover_id,omitempty"`
	Time       time.Time      `json:"time"`
	Details    map[string]any `json:"details,omitempty"` // verdict signals, step timeline
}

// Validate rejects an event no receiver would accept, naming the field and value.
// A long summary is not an error: sinks truncate it to MaxSummaryLen.
func (e Event) Validate() error {
	if !knownKinds[e.Kind] {
		return fmt.Errorf("event kind %q: unknown", e.Kind)
	}
	switch e.Action {
	case ActionTrigger, ActionResolve:
	default:
		return fmt.Errorf("event action %q: want trigger or resolve", e.Action)
	}
	switch e.Severity {
	case SeverityCritical, SeverityError, SeverityWarning, SeverityInfo:
	default:
		return fmt.Errorf("event severity %q: want critical, error, warning or info", e.Severity)
	}
	if strings.TrimSpace(e.DedupKey) == "" {
		return fmt.Errorf("event dedup_key %q: empty", e.DedupKey)
	}
	if len(e.DedupKey) > MaxDedupKeyLen {
		return fmt.Errorf("event dedup_key %.40q…: %d bytes, limit %d", e.DedupKey, len(e.DedupKey), MaxDedupKeyLen)
	}
	if !utf8.ValidString(e.DedupKey) {
		return fmt.Errorf("event dedup_key %q: not valid UTF-8", e.DedupKey)
	}
	if strings.TrimSpace(e.Summary) == "" {
		return fmt.Errorf("event summary %q: empty", e.Summary)
	}
	return nil
}

// source returns the event's source, or "volfailover" when the caller left it empty.
func (e Event) source() string {
	if e.Source == "" {
		return "volfailover"
	}
	return e.Source
}

// truncateSummary cuts s to at most MaxSummaryLen characters, marking the cut with "…".
func truncateSummary(s string) string {
	if utf8.RuneCountInString(s) <= MaxSummaryLen {
		return s
	}
	r := []rune(s)
	return string(r[:MaxSummaryLen-1]) + "…"
}

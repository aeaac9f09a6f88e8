package controller

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/volfailover/volfailover/alert"
)

// Pager hands an event to whoever wakes a human; *alert.Outbox implements it
// durably. The controller never blocks a failover on paging.
type Pager interface {
	Page(ctx context.Context, ev alert.Event) error
}

// LogPager is the pager used when none is configured: it only writes the event
// to the log at error level and says so, so nobody mistakes it for paging.
type LogPager struct {
	Log zerolog.Logger
}

// Page logs ev; it never fails.
func (p LogPager) Page(_ context.Context, ev alert.Event) error {
	p.Log.Error().
		Str("kind", string(ev.Kind)).
		Str("action", string(ev.Action)).
		Str("severity", string(ev.Severity)).
		Str("dedup_key", ev.DedupKey).
		Str("volume", ev.Volume).
		Str("instance", ev.Instance).
		Str("failover_id", ev.FailoverID).
		Interface("details", ev.Details).
		Msg("page NOT delivered (log-only pager, no alert sink configured): " + ev.Summary)
	return nil
}

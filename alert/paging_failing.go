package alert

import (
	"context"
	"fmt"
	"strings"
)

// A page that cannot be delivered is the one failure an on-call human would
// never hear of. So the Outbox makes its own failures visible three ways: the
// gauge volfailover_paging_failing{sink} is 1 while the newest attempt to a
// sink failed (alert on it from Prometheus), an error is logged when a sink
// starts and stops failing, and a paging_failed page goes out through every
// other configured sink (PagerDuty reports a broken webhook and the other way
// round), resolved through them once the sink delivers again.

// flip is a sink starting (failing) or stopping to fail.
type flip struct {
	sink    string
	failing bool
	err     error // the failure that started it
	page    Event // the page it failed to deliver, or then delivered
}

// pagingFailedKey is the dedup key of a sink's paging_failed incident: one
// per sink, so its trigger and resolve pair up across pages.
func pagingFailedKey(sink string) string { return "volfailover/paging_failed/" + sink }

// observe records one attempt's outcome for sink and reports whether the
// sink's state changed.
func (o *Outbox) observe(sink string, ev Event, err error) (flip, bool) {
	failing := err != nil
	v := 0.0
	if failing {
		v = 1
	}
	o.metrics.failing.WithLabelValues(sink).Set(v)
	if o.failing[sink] == failing {
		return flip{}, false
	}
	if failing {
		o.failing[sink] = true
	} else {
		delete(o.failing, sink)
	}
	return flip{sink: sink, failing: failing, err: err, page: ev}, true
}

// reportFlips logs each change and tells the other sinks. Their answers are
// not retried: this is a notice about the outbox, and it is not itself in
// the outbox, so a broken sink cannot hold up the pages queued behind it.
func (o *Outbox) reportFlips(ctx context.Context, flips []flip) {
	for _, f := range flips {
		log := o.log.With().Str("sink", f.sink).Str("kind", string(f.page.Kind)).Str("dedup_key", f.page.DedupKey).Logger()
		if f.failing {
			log.Error().Err(f.err).Msg("paging is failing: pages to this sink are not delivered")
		} else {
			log.Info().Msg("paging recovered: this sink delivers again")
		}
		if !o.opts.ReportFailures {
			continue
		}
		ev := o.pagingFailedEvent(f)
		for _, s := range o.opts.Sinks {
			if s.Name() == f.sink || ctx.Err() != nil {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, o.opts.SendTimeout)
			_, err := s.Send(sctx, ev)
			cancel()
			if err != nil {
				log.Error().Err(err).Str("via", s.Name()).Str("action", string(ev.Action)).Msg("could not report the paging failure through another sink")
				continue
			}
			log.Info().Str("via", s.Name()).Str("action", string(ev.Action)).Msg("paging failure reported through another sink")
		}
	}
}

// pagingFailedEvent is the notice of f for the other sinks.
func (o *Outbox) pagingFailedEvent(f flip) Event {
	ev := Event{Kind: KindPagingFailed, DedupKey: pagingFailedKey(f.sink), Source: f.page.Source, Time: o.clock.Now().UTC(),
		Details: map[string]any{"sink": f.sink}}
	if !f.failing {
		ev.Action, ev.Severity = ActionResolve, SeverityInfo
		ev.Summary = fmt.Sprintf("paging through %s works again", f.sink)
		return ev
	}
	ev.Action, ev.Severity = ActionTrigger, SeverityCritical
	ev.Summary = fmt.Sprintf("pages to %s are failing (%s); undelivered: %s", f.sink, oneLine(f.err), f.page.Summary)
	ev.Details["error"] = f.err.Error()
	ev.Details["undelivered_kind"] = string(f.page.Kind)
	ev.Details["undelivered_dedup_key"] = f.page.DedupKey
	return ev
}

// oneLine keeps an error's text on one line for a summary.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

package history

import (
	"sort"
	"time"
)

// servedAgain judges the first half of invariant 8: after each fault ends,
// every managed volume is served within ServeBound; a pause stops that clock
// (the bound runs again from the pause's end). A fault whose bound reaches
// past the end of the history, or into a pause still in force, is not
// judged yet.
func (c *checker) servedAgain() {
	h := c.w.h
	served := map[string][]time.Time{}
	for _, s := range h.Served {
		served[s.Volume] = append(served[s.Volume], s.At)
	}
	for v := range served {
		sort.Slice(served[v], func(i, j int) bool { return served[v][i].Before(served[v][j]) })
	}
	for _, f := range h.Faults {
		if f.To.IsZero() || f.To.Before(h.Start) {
			continue
		}
		for _, vol := range h.Volumes {
			due, ok := c.w.serveDue(vol, f.To, c.o.ServeBound)
			if !ok || (!h.End.IsZero() && due.After(h.End)) {
				continue
			}
			c.judged(ServedAgain)
			ts := served[vol]
			i := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(f.To) })
			if i < len(ts) && !ts[i].After(due) {
				continue
			}
			last := "never"
			if i > 0 {
				last = "last at " + stamp(ts[i-1])
			}
			c.violate(ServedAgain, due, []string{stamp(f.From) + " fault " + f.Kind + " " + f.Host + " " + f.Peer, stamp(f.To) + " fault ended"},
				"%s not served within %s after the end of %s on %s at %s (served %s)", vol, c.o.ServeBound, f.Kind, f.Host, stamp(f.To), last)
		}
	}
}

// Page kinds and actions the paging rules know (alert.Kind values; this
// package does not import alert).
const (
	pageStarted   = "failover_started"
	pageOverdue   = "step_overdue"
	pageFailed    = "step_failed"
	actionTrigger = "trigger"
	actionResolve = "resolve"
)

// paged judges the second half of invariant 8: every move is paged when it
// starts, a step that runs past its deadline is paged as overdue or failed,
// and once a move ended every page of its progress (started, overdue,
// failed) is resolved.
func (c *checker) paged() {
	h := c.w.h
	for _, m := range h.Moves {
		if m.DryRun || m.Created.Before(h.Start) {
			continue
		}
		started := m.Created
		if seen, ok := h.MovesSeen[m.ID]; ok && seen.After(started) {
			started = seen
		}
		c.movePaged(m.ID, started, func(p Page) bool { return p.Action == actionTrigger }, "its start")
		ended := m.Finished
		if ended.IsZero() && m.Abandoned != "" {
			ended = m.Updated
		}
		for _, st := range m.Timeline {
			limit, ok := c.o.StepDeadlines[st.Step]
			if !ok {
				continue
			}
			end := st.End
			if end.IsZero() {
				// A step left open ran until its move ended (abandoned when
				// its target died), or is still running.
				end = ended
			}
			if end.IsZero() {
				end = h.End
			}
			if end.IsZero() || end.Sub(st.Start) <= limit+c.o.PageBound {
				continue
			}
			c.movePaged(m.ID, st.Start.Add(limit), func(p Page) bool {
				return p.Action == actionTrigger && (p.Kind == pageOverdue || p.Kind == pageFailed)
			}, "step "+string(st.Step)+" past its "+limit.String()+" deadline")
		}
		if ended.IsZero() || (!h.End.IsZero() && c.pageDue(ended).After(h.End)) {
			continue
		}
		for _, p := range h.Pages {
			if p.FailoverID != m.ID || p.Action != actionTrigger || (p.Kind != pageStarted && p.Kind != pageOverdue && p.Kind != pageFailed) {
				continue
			}
			c.judged(PageResolved)
			resolved := false
			for _, q := range h.Pages {
				if q.DedupKey == p.DedupKey && q.Action == actionResolve && !q.At.Before(p.At) && !q.At.After(c.pageDue(ended)) {
					resolved = true
				}
			}
			if !resolved {
				c.violate(PageResolved, c.pageDue(ended), c.pageExcerpt(m.ID),
					"page %s %q of move %s never resolved within %s of the move's end at %s", p.Kind, p.DedupKey, m.ID, c.o.PageBound, stamp(ended))
			}
		}
	}
}

// notYet is the due time of a page held by a fault that has not ended: after
// any history's end, so it is not judged.
var notYet = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// pageDue is when a page about something at at must have arrived: PageBound
// later, or PageBound after the end of an etcd cluster fault that holds within
// that span. A page is an outbox entry in etcd before it is delivered, and a
// member whose every fsync stalls for most of a second holds each of those
// writes (and the leader's session) as long; the controller is judged from
// when etcd can carry its pages again. An open fault defers it past any end.
func (c *checker) pageDue(at time.Time) time.Time {
	due := at.Add(c.o.PageBound)
	for changed := true; changed; {
		changed = false
		for _, f := range c.w.h.Faults {
			switch f.Kind {
			case FaultMemberKill, FaultMemberPartition, FaultMemberStall, FaultLeaderMove:
			default:
				continue
			}
			if f.From.After(due) || (!f.To.IsZero() && f.To.Before(at)) {
				continue
			}
			if f.To.IsZero() {
				return notYet
			}
			if later := f.To.Add(c.o.PageBound); later.After(due) {
				due, changed = later, true
			}
		}
	}
	return due
}

// movePaged requires a page of move id matching want by at + PageBound,
// unless the history ends before that.
func (c *checker) movePaged(id string, at time.Time, want func(Page) bool, what string) {
	due := c.pageDue(at)
	if !c.w.h.End.IsZero() && due.After(c.w.h.End) {
		return
	}
	c.judged(MovePaged)
	for _, p := range c.w.h.Pages {
		if p.FailoverID == id && want(p) && !p.At.After(due) {
			return
		}
	}
	c.violate(MovePaged, due, c.pageExcerpt(id), "move %s not paged within %s of %s at %s", id, c.o.PageBound, what, stamp(at))
}

func (c *checker) pageExcerpt(id string) []string {
	var out []string
	for _, p := range c.w.h.Pages {
		if p.FailoverID == id {
			out = append(out, p.String())
		}
	}
	if len(out) == 0 {
		out = append(out, "(no page names move "+id+")")
	}
	return out
}

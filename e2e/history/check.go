package history

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volfailover/volfailover/state"
)

// Rule names one check of the history.
type Rule string

// The rules, each with the design invariant it judges (Invariant).
const (
	// AttachAfterDetached: AttachVolume(vol, B) is sent only while EC2 has vol
	// detached (or already on B).
	AttachAfterDetached Rule = "attach-after-detached"
	// ForcedDetachAfterStop: a forced detach of an owner's volume is sent only
	// after a stop of that owner was sent or while it was already stopping or
	// stopped; under the strict policy only once it was stopped.
	ForcedDetachAfterStop Rule = "forced-detach-after-stop"
	// MetadataAfterAttach: postgres=vol is added to B's machine only while
	// EC2 has vol attached to B.
	MetadataAfterAttach Rule = "metadata-after-attach"
	// LaunchAfterMetadata: the unit is launched only after the metadata moved
	// to the host its volume was being attached to (for moves whose metadata moved).
	LaunchAfterMetadata Rule = "launch-after-metadata"
	// NoMutationAfterLeadership: a controller's mutation arrives while it
	// leads, or at most Options.NetworkAllowance after its leadership ended.
	NoMutationAfterLeadership Rule = "no-mutation-after-leadership"
	// HealthyOwnerNotFenced: no StopInstances or forced detach hits a host
	// that was healthy throughout the decision window before it.
	HealthyOwnerNotFenced Rule = "healthy-owner-not-fenced"
	// ServedAgain: every managed volume is served within Options.ServeBound
	// after each fault ends, unless paused.
	ServedAgain Rule = "served-again"
	// MovePaged: every move is paged when it starts, and a move whose step
	// stops past its deadline is paged as overdue or failed.
	MovePaged Rule = "move-paged"
	// PageResolved: a page of a move's condition is resolved once the move ended.
	PageResolved Rule = "page-resolved"
)

// Rules lists every rule in the order Check runs them.
var Rules = []Rule{
	AttachAfterDetached, ForcedDetachAfterStop, MetadataAfterAttach, LaunchAfterMetadata,
	NoMutationAfterLeadership, HealthyOwnerNotFenced, ServedAgain, MovePaged, PageResolved,
}

// Invariant is the number of the design's safety invariant the rule judges.
func (r Rule) Invariant() int {
	switch r {
	case NoMutationAfterLeadership:
		return 4
	case AttachAfterDetached, ForcedDetachAfterStop, MetadataAfterAttach, LaunchAfterMetadata:
		return 6
	case HealthyOwnerNotFenced:
		return 7
	case ServedAgain, MovePaged, PageResolved:
		return 8
	}
	return 0
}

// Options are the bounds the rules allow. DefaultOptions documents each.
type Options struct {
	// NetworkAllowance is how long after a controller's leadership ended a
	// mutation may still arrive. The controller bounds every mutation by a
	// deadline that ends before its lease could expire (docs/architecture.md,
	// "A deposed leader's last call"), and the harness sees a leadership end
	// no earlier than etcd ended it, so the only slack left is a request
	// already written to the socket when the deadline fell: one loopback
	// round trip plus scheduling on a loaded 2-core machine under -race.
	// Default 50ms.
	NetworkAllowance time.Duration
	// WatchLag is how much earlier than the harness's etcd watch saw it a
	// leadership may have begun: the watch event reaches the harness after
	// etcd committed the key, and a new leader may act at once. Only the
	// start of a leadership is widened; its end is judged to the allowance.
	// Default 500ms.
	WatchLag time.Duration
	// DecisionLag is how long before a fence the owner must already have been
	// healthy for the fence to be a violation: a round acts on a snapshot
	// read up to a round earlier, so a fence decided just before a fault
	// ended is not judged against the heal. Default 1s.
	DecisionLag time.Duration
	// ServeBound is how soon after a fault ends every unpaused managed volume
	// must be served. Default 40s (the e2e failover deadline of 30s plus a
	// session TTL and the harness's repair).
	ServeBound time.Duration
	// PageBound is how long a page may take after what it reports (the
	// outbox delivers within a round or two). Default 10s.
	PageBound time.Duration
	// StepDeadlines are the controllers' step deadlines, by the step the
	// timeline entry records; a step running longer must be paged. Defaults
	// mirror controller.DefaultOptions (this package cannot import it).
	StepDeadlines map[state.Step]time.Duration
	// MetadataKey is the fleet metadata key that pins a volume's unit.
	// Default "postgres".
	MetadataKey string
}

// DefaultOptions returns the bounds documented on Options.
func DefaultOptions() Options {
	return Options{
		NetworkAllowance: 50 * time.Millisecond,
		WatchLag:         500 * time.Millisecond,
		DecisionLag:      time.Second,
		ServeBound:       40 * time.Second,
		PageBound:        10 * time.Second,
		StepDeadlines: map[state.Step]time.Duration{
			state.StepFenced: 2 * time.Minute, state.StepDetached: 2 * time.Minute, state.StepAttached: 2 * time.Minute,
			state.StepMetadataMoved: time.Minute, state.StepRescheduled: 3 * time.Minute, state.StepVerified: 5 * time.Minute,
		},
		MetadataKey: "postgres",
	}
}

// Violation is one broken rule, with the part of the history that shows it.
type Violation struct {
	Rule   Rule
	At     time.Time
	Detail string
	// Excerpt are the lines of the history around the violation, oldest first.
	Excerpt []string
}

func (v Violation) String() string {
	return fmt.Sprintf("invariant %d, rule %s, at %s: %s\n    %s", v.Rule.Invariant(), v.Rule, stamp(v.At), v.Detail, strings.Join(v.Excerpt, "\n    "))
}

// Report is what Check found: how many judgements each rule made and every
// violation, oldest first.
type Report struct {
	Judged     map[Rule]int
	Violations []Violation
}

// Check judges h by every rule. It is a pure function of its arguments.
func Check(h History, o Options) Report {
	d := DefaultOptions()
	if o.NetworkAllowance <= 0 {
		o.NetworkAllowance = d.NetworkAllowance
	}
	if o.WatchLag <= 0 {
		o.WatchLag = d.WatchLag
	}
	if o.DecisionLag <= 0 {
		o.DecisionLag = d.DecisionLag
	}
	if o.ServeBound <= 0 {
		o.ServeBound = d.ServeBound
	}
	if o.PageBound <= 0 {
		o.PageBound = d.PageBound
	}
	if o.StepDeadlines == nil {
		o.StepDeadlines = d.StepDeadlines
	}
	if o.MetadataKey == "" {
		o.MetadataKey = d.MetadataKey
	}
	c := &checker{w: newWorld(&h), o: o, rep: Report{Judged: map[Rule]int{}}}
	c.order()
	c.leadership()
	c.healthyOwners()
	c.servedAgain()
	c.paged()
	sort.SliceStable(c.rep.Violations, func(i, j int) bool { return c.rep.Violations[i].At.Before(c.rep.Violations[j].At) })
	return c.rep
}

type checker struct {
	w   *world
	o   Options
	rep Report
}

func (c *checker) judged(r Rule) { c.rep.Judged[r]++ }

func (c *checker) violate(r Rule, at time.Time, excerpt []string, format string, args ...any) {
	c.rep.Violations = append(c.rep.Violations, Violation{Rule: r, At: at, Detail: fmt.Sprintf(format, args...), Excerpt: excerpt})
}

// excerpt lists the requests and transitions of vol (and of the named
// instances) in the second before at, oldest first, ending with at's own.
func (c *checker) excerpt(at time.Time, vol string, insts ...string) []string {
	type line struct {
		t time.Time
		s string
	}
	var lines []line
	from := at.Add(-2 * time.Second)
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(at.Add(c.o.NetworkAllowance)) }
	names := map[string]bool{}
	for _, i := range insts {
		names[i] = true
	}
	for _, tr := range c.w.h.Transitions {
		if in(tr.Time) && ((vol != "" && tr.Volume == vol) || (tr.Volume == "" && names[tr.Instance])) {
			what := "EC2 " + tr.Instance + " " + tr.State
			if tr.Volume != "" {
				what = "EC2 " + tr.Volume + " " + tr.State + " on " + tr.Instance
			}
			lines = append(lines, line{tr.Time, stamp(tr.Time) + " " + what})
		}
	}
	for _, r := range c.w.requests {
		if in(r.Arrived) && r.Mutating {
			lines = append(lines, line{r.Arrived, r.String()})
		}
	}
	for _, s := range c.w.h.Leaders {
		if in(s.From) {
			lines = append(lines, line{s.From, stamp(s.From) + " leader " + s.Instance + " from here"})
		}
		if !s.To.IsZero() && in(s.To) {
			lines = append(lines, line{s.To, stamp(s.To) + " leader " + s.Instance + " ended"})
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].t.Before(lines[j].t) })
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.s)
	}
	if len(out) > 25 {
		out = out[len(out)-25:]
	}
	return out
}

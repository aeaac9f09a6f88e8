package history

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volfailover/volfailover/state"
)

// FalseFailover is an automatic failover that the harness's truth does not
// justify: an outage the controllers caused.
type FalseFailover struct {
	ID, Volume, Owner string
	// At is when the move was planned (its record's Created).
	At time.Time
	// Why says what the owner's state was then.
	Why string
}

// FalseFailovers lists the automatic failovers (not an operator's manual
// ones, not dry runs) whose old owner, when the move was planned, was healthy
// by invariant 7's definition, or was unhealthy only through faults that
// lasted blip or less (a short network blip is not a death). Like Check, it
// is a pure function of its arguments.
func FalseFailovers(h History, blip time.Duration) []FalseFailover {
	c := &checker{w: newWorld(&h), o: DefaultOptions()}
	seen := map[string]bool{}
	var out []FalseFailover
	for _, r := range h.Moves {
		if r.Kind != state.KindFailover || r.DryRun || r.From.Instance == "" || seen[r.ID] || strings.HasPrefix(r.Reason, "manual failover") {
			continue
		}
		seen[r.ID] = true
		if r.Created.Before(h.Start) || (!h.End.IsZero() && r.Created.After(h.End)) {
			continue
		}
		if why := c.falseFailover(r.From.Instance, r.Created, blip); why != "" {
			out = append(out, FalseFailover{ID: r.ID, Volume: r.Volume, Owner: c.w.name(r.From.Instance), At: r.Created, Why: why})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// falseFailover says why failing inst over at t was false, "" if it was not.
func (c *checker) falseFailover(inst string, t time.Time, blip time.Duration) string {
	why := c.unhealthyAt(inst, t)
	if why == "" {
		return "owner healthy (up, reachable from a majority of its AZ, session alive, EC2 running and ok)"
	}
	host, ok := c.w.byInst[inst]
	if !ok || c.w.instanceState(inst, t).State != "running" {
		return ""
	}
	var short []string
	for _, f := range c.w.h.Faults {
		if !covers(f.From, f.To, t) || (f.Host != host.Name && f.Peer != host.Name) {
			continue
		}
		if f.Kind == FaultKill || f.Kind == FaultImpaired || f.To.IsZero() || f.To.Sub(f.From) > blip {
			return ""
		}
		short = append(short, fmt.Sprintf("%s of %s for %s", f.Kind, f.Host, f.To.Sub(f.From).Round(time.Millisecond)))
	}
	if len(short) == 0 {
		return ""
	}
	return "owner " + why + " only through a short fault: " + strings.Join(short, ", ")
}

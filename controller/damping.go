package controller

import (
	"fmt"
	"sort"
	"time"

	"github.com/volfailover/volfailover/state"
)

// Damper limits automatic failovers of one volume: none within Cooldown of the
// previous one, and none once Max have happened within Window (alert-only until
// the window has passed them). Planned switchovers are not counted.
type Damper struct {
	Cooldown time.Duration
	Max      int
	Window   time.Duration
}

// Allow says whether an automatic failover may start at now; when not, reason says why
// and flapping is true if the window limit (not the cooldown) is what holds it back.
func (d Damper) Allow(now time.Time, s state.Damping) (ok bool, flapping bool, reason string) {
	var inWindow int
	var last time.Time
	for _, t := range s.Failovers {
		if now.Sub(t) < d.Window {
			inWindow++
		}
		if t.After(last) {
			last = t
		}
	}
	if inWindow >= d.Max {
		return false, true, fmt.Sprintf("%d automatic failovers within %s (limit %d): alert-only", inWindow, d.Window, d.Max)
	}
	if !last.IsZero() && now.Sub(last) < d.Cooldown {
		return false, false, fmt.Sprintf("cooldown: last automatic failover at %s, cooldown %s", last.UTC().Format(time.RFC3339), d.Cooldown)
	}
	return true, false, ""
}

// Record adds a failover at now and forgets those older than both the window and the cooldown.
func (d Damper) Record(now time.Time, s state.Damping) state.Damping {
	keep := max(d.Window, d.Cooldown)
	out := state.Damping{}
	for _, t := range s.Failovers {
		if now.Sub(t) < keep {
			out.Failovers = append(out.Failovers, t)
		}
	}
	out.Failovers = append(out.Failovers, now.UTC())
	sort.Slice(out.Failovers, func(i, j int) bool { return out.Failovers[i].Before(out.Failovers[j]) })
	return out
}

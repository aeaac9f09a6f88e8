package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stoppedStates are the systemd active states in which none of a unit's processes run.
// Everything else (active, activating, deactivating, reloading, refreshing) may still
// have the unit's processes holding the volume.
var stoppedStates = map[string]bool{"inactive": true, "failed": true}

// WaitUnitActive polls /state every poll until unitName reports systemdActiveState
// "active" on machineID. It does not trust currentState, which says "launched" as soon as
// the start is triggered. ctx must carry a deadline; when it passes, the error says what
// was awaited and what was last seen.
func (c *Client) WaitUnitActive(ctx context.Context, unitName, machineID string, poll time.Duration) error {
	return c.waitUnit(ctx, unitName, machineID, poll, "active", func(states []UnitState) bool {
		for _, s := range states {
			if s.SystemdActiveState == "active" {
				return true
			}
		}
		return false
	})
}

// WaitUnitStopped polls /state every poll until no entry for unitName on machineID is in
// a running state: the entry is gone, "inactive" or "failed" ("deactivating" still counts
// as running, because the unit's processes may still hold the volume). fleet deletes a
// unit's entries on every machine when any agent drops the unit, so a missing entry is the
// best fleet can say, not proof: an agent that unloads a unit triggers its stop without
// waiting and drops the entry about a second later (agent/agent.go unloadUnit,
// unit/generator.go), while the process may run until its TimeoutStopSec (systemd's default
// 90 s). A caller that must know the process has exited needs another proof. ctx must
// carry a deadline.
func (c *Client) WaitUnitStopped(ctx context.Context, unitName, machineID string, poll time.Duration) error {
	return c.waitUnit(ctx, unitName, machineID, poll, "stopped", func(states []UnitState) bool {
		for _, s := range states {
			if !stoppedStates[s.SystemdActiveState] {
				return false
			}
		}
		return true
	})
}

// waitUnit polls the states of (unitName, machineID) until done accepts them, ctx ends,
// or fleet gives a permanent error (4xx other than 429).
func (c *Client) waitUnit(ctx context.Context, unitName, machineID string, poll time.Duration, want string, done func([]UnitState) bool) error {
	what := fmt.Sprintf("wait for unit %s %s on machine %s", unitName, want, machineID)
	if err := ValidateUnitName(unitName); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if machineID == "" {
		return fmt.Errorf("%s: machine ID is empty", what)
	}
	if poll <= 0 {
		return fmt.Errorf("%s: poll interval %s must be > 0", what, poll)
	}
	if _, ok := ctx.Deadline(); !ok {
		return fmt.Errorf("%s: context has no deadline", what)
	}
	start := c.clock.Now()
	lastSeen := "nothing yet"
	for polls := 1; ; polls++ {
		states, err := c.UnitStates(ctx, machineID, unitName)
		switch {
		case err == nil && done(states):
			return nil
		case err == nil:
			lastSeen = describeStates(states)
		case ctx.Err() != nil:
			// The request failed because the deadline passed; report the last answer.
		case permanent(err):
			return fmt.Errorf("%s: %w", what, err)
		default:
			lastSeen = "error: " + err.Error()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: last seen %s after %d poll(s) in %s: %w",
				what, lastSeen, polls, c.clock.Since(start).Round(time.Millisecond), ctx.Err())
		}
		t := c.clock.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: last seen %s after %d poll(s) in %s: %w",
				what, lastSeen, polls, c.clock.Since(start).Round(time.Millisecond), ctx.Err())
		case <-t.C():
		}
	}
}

// permanent reports whether repeating the request cannot give a different answer.
func permanent(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests
	}
	return false
}

// describeStates renders states for wait errors: "no state entry" or
// "loaded/activating/start (hash 248b997d)".
func describeStates(states []UnitState) string {
	if len(states) == 0 {
		return "no state entry"
	}
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, s.SystemdLoadState+"/"+s.SystemdActiveState+"/"+s.SystemdSubState)
	}
	return strings.Join(parts, ", ")
}

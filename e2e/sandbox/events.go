package sandbox

import (
	"fmt"
	"time"
)

// Event is something the sandbox itself did to the world (a fault injected,
// a host fenced because its instance stopped, a Postgres killed because its
// volume went away), so that demos and tests can line it up with the
// controller's journal.
type Event struct {
	Time time.Time `json:"time"`
	Host string    `json:"host,omitempty"`
	What string    `json:"what"`
}

func (s *Sandbox) event(hostName, format string, args ...any) {
	ev := Event{Time: time.Now(), Host: hostName, What: fmt.Sprintf(format, args...)}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	s.log.Info().Str("host", hostName).Msg(ev.What)
}

// Events returns the sandbox's own events so far, oldest first.
func (s *Sandbox) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

package ec2sim

import "time"

// AttachmentDetached is the State of a volume Transition whose attachment to
// Instance is gone: the volume is available again.
const AttachmentDetached = "detached"

// Transition is one state change EC2 went through, as the Sim applied it:
// an attachment of Volume to Instance reaching State (attaching, attached,
// detaching, busy, or AttachmentDetached), or, with Volume empty, Instance
// reaching State (pending, running, stopping, stopped, ...).
//
// It is the emulator's own record of the truth. Checks that judge when a
// controller sent a call ("attach only after EC2 reported the volume
// detached", "detach only after the owner stopped") compare the call's
// arrival with these, not with what a lagging describe happened to show.
type Transition struct {
	Time     time.Time `json:"time"`
	Volume   string    `json:"volume,omitempty"`
	Instance string    `json:"instance"`
	State    string    `json:"state"`
}

// Transitions returns every state change since the seed, oldest first.
func (s *Sim) Transitions() []Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Transition(nil), s.transitions...)
}

// noteAttachment records a change of vol's attachment to inst; s.mu is held.
func (s *Sim) noteAttachment(at time.Time, vol, inst, state string) {
	s.transitions = append(s.transitions, Transition{Time: at, Volume: vol, Instance: inst, State: state})
}

// noteInstance records an instance reaching a state; s.mu is held.
func (s *Sim) noteInstance(at time.Time, inst, state string) {
	s.transitions = append(s.transitions, Transition{Time: at, Instance: inst, State: state})
}

// setInstanceState changes an instance's state and records the transition
// when it is one; s.mu is held.
func (s *Sim) setInstanceState(in *instance, state string, at time.Time) {
	if in.state == state {
		return
	}
	in.setState(state, at, s.lat.DescribeLag)
	s.noteInstance(at, in.id, state)
}

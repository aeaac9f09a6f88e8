package ec2sim

import (
	"time"

	"k8s.io/utils/clock"
)

// opKind names an asynchronous transition.
type opKind int

const (
	opAttachDone opKind = iota + 1 // attaching -> attached
	opDetachDone                   // detaching -> removed (or busy)
	opStopDone                     // stopping -> stopped
)

// pendingOp is a transition waiting for its delay.
type pendingOp struct {
	id       uint64
	kind     opKind
	volume   string
	instance string
	gen      uint64
	// toBusy makes a detach end in busy instead of removing the attachment.
	toBusy bool
	delay  time.Duration
	due    time.Time
	timer  clock.Timer
}

// newOp registers a transition; s.mu is held. Ops with a delay are started by
// startTimers once s.mu is released; ops without one by applyNow.
func (s *Sim) newOp(now time.Time, kind opKind, vol, inst string, gen uint64, delay time.Duration) *pendingOp {
	s.seq++
	op := &pendingOp{id: s.seq, kind: kind, volume: vol, instance: inst, gen: gen, delay: delay, due: now.Add(delay)}
	if delay > 0 {
		s.pending[op.id] = op
	}
	return op
}

// nextGen returns a fresh generation number; s.mu is held.
func (s *Sim) nextGen() uint64 {
	s.seq++
	return s.seq
}

// startTimers arms the clock for ops with a delay. s.mu must not be held: a
// fake clock runs callbacks under its own lock, and they take s.mu. Each
// started timer is counted in s.timers until its callback returns or Stop
// prevents it; counting happens under s.mu before Close can start waiting.
func (s *Sim) startTimers(ops []*pendingOp) {
	for _, op := range ops {
		if op.delay <= 0 {
			continue
		}
		s.mu.Lock()
		if _, live := s.pending[op.id]; !live || s.closed {
			s.mu.Unlock()
			continue
		}
		s.timers.Add(1)
		s.mu.Unlock()

		id := op.id
		t := s.clock.AfterFunc(op.delay, func() { s.fire(id) })

		s.mu.Lock()
		_, live := s.pending[id]
		closed := s.closed
		if live && !closed {
			op.timer = t
		}
		s.mu.Unlock()
		if closed && t.Stop() {
			s.timers.Done()
		}
	}
}

// applyNow completes ops without a delay; s.mu is held.
func (s *Sim) applyNow(ops []*pendingOp) {
	for _, op := range ops {
		if op.delay <= 0 {
			s.apply(op)
		}
	}
}

// fire is the timer callback of one op. It must not call the clock.
func (s *Sim) fire(id uint64) {
	defer s.timers.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.pending[id]
	if !ok || s.closed {
		return
	}
	delete(s.pending, id)
	s.apply(op)
}

// apply performs a transition if the world still matches what it was
// scheduled for; s.mu is held.
func (s *Sim) apply(op *pendingOp) {
	switch op.kind {
	case opAttachDone:
		v := s.volumes[op.volume]
		if v == nil || v.att == nil || v.att.gen != op.gen || v.att.state != attAttaching {
			return
		}
		v.remember(op.due, s.lat.DescribeLag)
		// The device appears before anyone can read "attached".
		v.att.links = s.linkDevice(v.id, v.att.instanceID, v.att.device, s.instanceType(v.att.instanceID))
		v.att.state = attAttached
		s.noteAttachment(op.due, v.id, v.att.instanceID, attAttached)
		s.log.Info().Str("volume", v.id).Str("instance", v.att.instanceID).Str("device", v.att.device).Msg("attached")
	case opDetachDone:
		v := s.volumes[op.volume]
		if v == nil || v.att == nil || v.att.gen != op.gen || v.att.state != attDetaching {
			return
		}
		if op.toBusy {
			v.remember(op.due, s.lat.DescribeLag)
			v.att.state = attBusy
			s.noteAttachment(op.due, v.id, v.att.instanceID, attBusy)
			s.log.Info().Str("volume", v.id).Str("instance", v.att.instanceID).Msg("detach busy")
			return
		}
		s.removeAttachment(v, op.due)
	case opStopDone:
		in := s.instances[op.instance]
		if in == nil || in.state != "stopping" || in.stopGen != op.gen {
			return
		}
		s.reachStopped(in, op.due)
	}
}

// instanceType returns an instance's type, DefaultInstanceType if unknown; s.mu is held.
func (s *Sim) instanceType(id string) string {
	if in := s.instances[id]; in != nil && in.instanceType != "" {
		return in.instanceType
	}
	return DefaultInstanceType
}

// removeAttachment completes a detach; s.mu is held.
func (s *Sim) removeAttachment(v *volume, at time.Time) {
	v.remember(at, s.lat.DescribeLag)
	a := v.att
	v.att = nil
	s.noteAttachment(at, v.id, a.instanceID, AttachmentDetached)
	s.unlinkDevice(a.instanceID, a.links)
	s.log.Info().Str("volume", v.id).Str("instance", a.instanceID).Str("device", a.device).Msg("detached")
}

// reachStopped completes a stop. With no guest OS left, busy or stuck
// detaches complete at once (rule 5 and spec §3.4); s.mu is held.
func (s *Sim) reachStopped(in *instance, at time.Time) {
	s.setInstanceState(in, "stopped", at)
	in.userStopped = true
	in.guestDown = true
	in.stopDue = time.Time{}
	s.log.Info().Str("instance", in.id).Msg("stopped")
	for _, v := range s.attachmentsOn(in.id) {
		if v.att.state == attBusy || (v.att.state == attDetaching && v.att.stuck) {
			s.removeAttachment(v, at)
		}
	}
}

// reachTerminated detaches every volume of a terminated instance; s.mu is held.
func (s *Sim) reachTerminated(in *instance, at time.Time) {
	s.setInstanceState(in, "terminated", at)
	in.guestDown = true
	for _, v := range s.attachmentsOn(in.id) {
		s.removeAttachment(v, at)
	}
}

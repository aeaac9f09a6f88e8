package ec2sim

import (
	"fmt"
	"time"
)

// SetInstanceState sets an instance's state at once, with the side effects of
// reaching it: "stopped" releases busy and stuck detaches, "terminated"
// detaches every volume. A pending stop is cancelled.
func (s *Sim) SetInstanceState(id, state string) error {
	if _, ok := instanceStateCodes[state]; !ok {
		return fmt.Errorf("set instance %s state: %q is not an instance state", id, state)
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return fmt.Errorf("set instance %s state: no such instance", id)
	}
	in.stopGen = s.nextGen()
	// A state set by hand has no transition scheduled: "stopping" therefore holds until
	// a force stop clears it, as a stop stuck on a host problem does.
	in.stopStuck = state == "stopping"
	in.stopDue = time.Time{}
	switch state {
	case "stopped":
		s.reachStopped(in, now)
	case "terminated":
		s.terminate(in, now)
	default:
		s.setInstanceState(in, state, now)
		in.userStopped = false
		// A hand-set stopping is an OS shutdown that hangs: the guest runs on.
		in.guestDown = state == "shutting-down"
	}
	s.log.Info().Str("instance", id).Str("state", state).Msg("instance state set")
	return nil
}

// SetInstanceStatus sets the instance and system status summaries reported
// while the instance runs ("" = ok).
func (s *Sim) SetInstanceStatus(id, instanceStatus, systemStatus string) error {
	for _, st := range []struct{ field, v string }{{"instance status", instanceStatus}, {"system status", systemStatus}} {
		if st.v != "" && (!statusSummaries[st.v] || st.v == "not-applicable") {
			return fmt.Errorf("set instance %s status: %s %q is not one of ok, impaired, insufficient-data, initializing", id, st.field, st.v)
		}
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return fmt.Errorf("set instance %s status: no such instance", id)
	}
	in.instStatus, in.sysStatus, in.statusSince = instanceStatus, systemStatus, now
	return nil
}

// GuestRunning reports whether the instance's guest OS still runs its
// processes: while it is pending or running, and while it is stopping with
// its OS shutdown still under way. A stop with SkipOsShutdown ends the guest
// at once; any stop ends it when the instance reaches stopped. The sandbox
// kills a host's processes when this turns false.
func (s *Sim) GuestRunning(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return false
	}
	switch in.state {
	case "pending", "running":
		return true
	case "stopping":
		return !in.guestDown
	}
	return false
}

// SetStopProtection sets the instance's DisableApiStop attribute, as
// ModifyInstanceAttribute would: while it is on, StopInstances answers
// OperationNotPermitted.
func (s *Sim) SetStopProtection(id string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[id]
	if in == nil {
		return fmt.Errorf("set instance %s stop protection: no such instance", id)
	}
	in.stopProtected = on
	return nil
}

// InstanceState returns an instance's state, "" if it does not exist.
func (s *Sim) InstanceState(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.instances[id]; in != nil {
		return in.state
	}
	return ""
}

// VolumeAttachments returns the volume's attachments in any state
// (attaching, attached, detaching, busy), with State filled in; nil if none
// or the volume does not exist. It reads the current view, never a lagged one.
func (s *Sim) VolumeAttachments(volumeID string) []SeedAttachment {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.volumes[volumeID]
	if v == nil || v.att == nil {
		return nil
	}
	return []SeedAttachment{{InstanceID: v.att.instanceID, Device: v.att.device, State: v.att.state, DeleteOnTermination: v.att.deleteOnTermination}}
}

// VolumeInfo is the current view of one volume, as GET /_sim/volumes shows it.
type VolumeInfo struct {
	ID          string            `json:"id"`
	AZ          string            `json:"az"`
	Size        int               `json:"size"`
	State       string            `json:"state"`
	Tags        map[string]string `json:"tags"`
	Attachments []AttachmentInfo  `json:"attachments"`
}

// AttachmentInfo is one attachment in VolumeInfo.
type AttachmentInfo struct {
	InstanceID string    `json:"instanceId"`
	Device     string    `json:"device"`
	State      string    `json:"state"`
	AttachTime time.Time `json:"attachTime"`
}

// Volumes returns the current view of every volume, sorted by ID.
func (s *Sim) Volumes() []VolumeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]VolumeInfo, 0, len(s.volumes))
	for _, id := range sortedKeys(s.volumes) {
		v := s.volumes[id]
		vi := VolumeInfo{ID: id, AZ: v.az, Size: v.size, State: v.state(), Tags: copyTags(v.tags), Attachments: []AttachmentInfo{}}
		if a := v.att; a != nil {
			vi.Attachments = append(vi.Attachments, AttachmentInfo{InstanceID: a.instanceID, Device: a.device, State: a.state, AttachTime: a.attachTime})
		}
		out = append(out, vi)
	}
	return out
}

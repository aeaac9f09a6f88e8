package ec2sim

import (
	"fmt"
	"time"
)

// ScheduledEvent is an event EC2 announces on an instance days ahead: a
// retirement, a scheduled stop or reboot, or system maintenance. AWS lists
// them in DescribeInstanceStatus under eventsSet (API reference:
// InstanceStatusEvent; EC2 User Guide "Scheduled events for Amazon EC2
// instances"). A completed or canceled event stays listed for a while with
// its description prefixed "[Completed]" or "[Canceled]".
type ScheduledEvent struct {
	// Code is instance-reboot, system-reboot, system-maintenance,
	// instance-retirement or instance-stop.
	Code        string
	Description string
	NotBefore   time.Time
	NotAfter    time.Time
}

// eventCodes are the codes EC2 uses (InstanceStatusEvent.Code).
var eventCodes = map[string]bool{
	"instance-reboot": true, "system-reboot": true, "system-maintenance": true, "instance-retirement": true, "instance-stop": true,
}

// ScheduleEvent announces an event on an instance, as EC2 does days before a
// retirement or a maintenance.
func (s *Sim) ScheduleEvent(instanceID string, ev ScheduledEvent) error {
	if !eventCodes[ev.Code] {
		return fmt.Errorf("schedule event on %s: code %q is not an EC2 event code", instanceID, ev.Code)
	}
	if ev.NotBefore.IsZero() {
		return fmt.Errorf("schedule event on %s: notBefore is required", instanceID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[instanceID]
	if !ok {
		return fmt.Errorf("schedule event on %s: no such instance", instanceID)
	}
	in.events = append(in.events, ev)
	return nil
}

func renderEvents(evs []ScheduledEvent) []xmlEvent {
	var out []xmlEvent
	for i, ev := range evs {
		x := xmlEvent{InstanceEventID: fmt.Sprintf("instance-event-%017x", i+1), Code: ev.Code, Description: ev.Description,
			NotBefore: ev.NotBefore.UTC().Format(time.RFC3339)}
		if !ev.NotAfter.IsZero() {
			x.NotAfter = ev.NotAfter.UTC().Format(time.RFC3339)
		}
		out = append(out, x)
	}
	return out
}

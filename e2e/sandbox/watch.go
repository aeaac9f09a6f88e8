package sandbox

import (
	"strings"
	"time"
)

// watchInterval is how often the sandbox compares EC2's view with the
// processes it runs.
const watchInterval = 50 * time.Millisecond

// watch makes EC2's view physical: a host whose guest OS no longer runs
// (ec2sim's GuestRunning: the instance is stopped, shutting down or
// terminated, or stopping after a StopInstances with SkipOsShutdown) runs
// nothing: its processes are killed and its fleet machine dies. A stopping
// instance whose OS is still shutting down (a default or Force stop) keeps
// its processes until it reaches stopped, as on EC2. A Postgres whose volume
// is no longer attached to its host is killed, as the first write to a
// detached EBS device would crash it.
func (s *Sandbox) watch() {
	defer s.watchWG.Done()
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopWatch:
			return
		case <-t.C:
			s.enforce()
		}
	}
}

func (s *Sandbox) enforce() {
	for _, h := range s.hosts {
		if !s.ec2.GuestRunning(h.InstanceID) {
			st := s.ec2.InstanceState(h.InstanceID)
			if !s.exec.Down(h.MachineID) {
				s.exec.KillMachine(h.MachineID)
				if err := s.fleet.KillMachine(h.MachineID); err != nil && !strings.Contains(err.Error(), "already killed") {
					s.log.Warn().Err(err).Str("host", h.Name).Msg("kill fleet machine of stopped instance")
				}
				s.event(h.Name, "instance %s is %s: host processes killed (fenced)", h.InstanceID, st)
			}
		}
	}
	for _, u := range s.exec.Units() {
		vol, ok := strings.CutPrefix(strings.TrimSuffix(u.Unit, ".service"), "postgres@")
		if !ok || u.Active != "active" {
			continue
		}
		h, err := s.host(u.Host)
		if err != nil {
			continue
		}
		attached := false
		for _, a := range s.ec2.VolumeAttachments(vol) {
			if a.InstanceID == h.InstanceID {
				attached = true
			}
		}
		if !attached {
			s.exec.KillUnit(h.MachineID, u.Unit)
			s.event(h.Name, "volume %s no longer attached: %s killed (storage fence)", vol, u.Unit)
		}
	}
}

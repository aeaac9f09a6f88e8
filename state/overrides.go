package state

import (
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// PauseOverride is the value of <prefix>/pause and <prefix>/volumes/<vol>/pause.
type PauseOverride struct {
	// Reason says why, for status and logs; required.
	Reason string `json:"reason"`
	// Until, when set, ends the pause by itself (RFC 3339).
	Until *time.Time `json:"until,omitempty"`
}

// SwitchoverOverride is the value of <prefix>/volumes/<vol>/switchover.
type SwitchoverOverride struct {
	// To is the target instance; required.
	To string `json:"to"`
	// Reason says why; required.
	Reason string `json:"reason"`
	// Until, when set, drops a request not yet started after that time.
	Until *time.Time `json:"until,omitempty"`
}

// FailoverOverride is the value of <prefix>/volumes/<vol>/failover: an
// operator's manual failover, for an owner that is unhealthy but not dead by
// the verdict. The owner is fenced and the volume force-detached, as in an
// automatic failover; the request is removed when the move starts.
type FailoverOverride struct {
	// To is the preferred target; "" = the best eligible host.
	To string `json:"to,omitempty"`
	// Reason says why; required.
	Reason string `json:"reason"`
	// Until, when set, drops a request not yet started after that time.
	Until *time.Time `json:"until,omitempty"`
}

// BadOverride is an override value that did not parse: what it names is paused.
type BadOverride struct {
	Key string
	Err error
}

// Overrides is the operator's steering as read in one round.
type Overrides struct {
	// Global pauses everything when set and in force.
	Global *PauseOverride
	// Paused holds the per-volume pauses in force.
	Paused map[string]PauseOverride
	// Switchovers holds valid switchover requests by volume.
	Switchovers map[string]SwitchoverOverride
	// Failovers holds valid manual failover requests by volume.
	Failovers map[string]FailoverOverride
	// Bad lists values that did not parse; each pauses what it names.
	Bad []BadOverride
	// badGlobal and badVolumes record pauses caused by bad values.
	badGlobal  bool
	badVolumes map[string]bool
}

// PausedReason says whether volume is paused and why ("" when not).
func (o Overrides) PausedReason(volume string) string {
	switch {
	case o.badGlobal:
		return "global pause key does not parse"
	case o.Global != nil:
		return "global pause: " + o.Global.Reason
	case o.badVolumes[volume]:
		return "an override of this volume does not parse"
	}
	if p, ok := o.Paused[volume]; ok {
		return "volume pause: " + p.Reason
	}
	return ""
}

// ParsePause decodes a pause value; inForce is false once Until has passed.
func ParsePause(b []byte, now time.Time) (p PauseOverride, inForce bool, err error) {
	if err := decodeStrict(b, &p); err != nil {
		return p, false, fmt.Errorf("pause value %q: %w", b, err)
	}
	if strings.TrimSpace(p.Reason) == "" {
		return p, false, fmt.Errorf("pause value %q: field reason is required", b)
	}
	return p, p.Until == nil || now.Before(*p.Until), nil
}

// ParseSwitchover decodes a switchover value; inForce is false once Until has passed.
func ParseSwitchover(b []byte, now time.Time) (s SwitchoverOverride, inForce bool, err error) {
	if err := decodeStrict(b, &s); err != nil {
		return s, false, fmt.Errorf("switchover value %q: %w", b, err)
	}
	if !ValidInstanceID(s.To) {
		return s, false, fmt.Errorf("switchover value %q: field to %q is not an instance ID", b, s.To)
	}
	if strings.TrimSpace(s.Reason) == "" {
		return s, false, fmt.Errorf("switchover value %q: field reason is required", b)
	}
	return s, s.Until == nil || now.Before(*s.Until), nil
}

// ParseFailover decodes a manual failover value; inForce is false once Until has passed.
func ParseFailover(b []byte, now time.Time) (f FailoverOverride, inForce bool, err error) {
	if err := decodeStrict(b, &f); err != nil {
		return f, false, fmt.Errorf("failover value %q: %w", b, err)
	}
	if f.To != "" && !ValidInstanceID(f.To) {
		return f, false, fmt.Errorf("failover value %q: field to %q is not an instance ID", b, f.To)
	}
	if strings.TrimSpace(f.Reason) == "" {
		return f, false, fmt.Errorf("failover value %q: field reason is required", b)
	}
	return f, f.Until == nil || now.Before(*f.Until), nil
}

// VolumeFailover is the manual failover request of a volume.
func (k Keys) VolumeFailover(volume string) string { return k.Volumes() + volume + "/failover" }

// ParseOverrides reads the global pause key (nil if absent) and the keys under
// Volumes() as the leader does: any value that does not parse pauses what it
// names. The CLI and the end-to-end monitor call it too, so all three judge
// an operator's keys alike.
func (k Keys) ParseOverrides(global *mvccpb.KeyValue, volumes []*mvccpb.KeyValue, now time.Time) Overrides {
	o := Overrides{Paused: map[string]PauseOverride{}, Switchovers: map[string]SwitchoverOverride{}, Failovers: map[string]FailoverOverride{},
		badVolumes: map[string]bool{}}
	if global != nil {
		p, inForce, err := ParsePause(global.Value, now)
		switch {
		case err != nil:
			o.badGlobal = true
			o.Bad = append(o.Bad, BadOverride{Key: string(global.Key), Err: err})
		case inForce:
			o.Global = &p
		}
	}
	for _, kv := range volumes {
		vol, name, err := k.ParseVolumeKey(string(kv.Key))
		if err != nil {
			o.Bad = append(o.Bad, BadOverride{Key: string(kv.Key), Err: err})
			if vol != "" {
				o.badVolumes[vol] = true
			}
			continue
		}
		switch name {
		case "pause":
			p, inForce, err := ParsePause(kv.Value, now)
			switch {
			case err != nil:
				o.badVolumes[vol] = true
				o.Bad = append(o.Bad, BadOverride{Key: string(kv.Key), Err: err})
			case inForce:
				o.Paused[vol] = p
			}
		case "switchover":
			s, inForce, err := ParseSwitchover(kv.Value, now)
			switch {
			case err != nil:
				o.badVolumes[vol] = true
				o.Bad = append(o.Bad, BadOverride{Key: string(kv.Key), Err: err})
			case inForce:
				o.Switchovers[vol] = s
			}
		case "failover":
			f, inForce, err := ParseFailover(kv.Value, now)
			switch {
			case err != nil:
				o.badVolumes[vol] = true
				o.Bad = append(o.Bad, BadOverride{Key: string(kv.Key), Err: err})
			case inForce:
				o.Failovers[vol] = f
			}
		case volumePrimary, volumeHook:
			// Written by volfailover itself (primary.go), not an override.
		default:
			o.badVolumes[vol] = true
			o.Bad = append(o.Bad, BadOverride{Key: string(kv.Key), Err: fmt.Errorf("unknown override %q (want pause, switchover or failover)", name)})
		}
	}
	return o
}

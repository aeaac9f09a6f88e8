package ec2sim

import (
	"maps"
	"sort"
	"time"
)

// Volume states (spec §3.1).
const (
	volAvailable = "available"
	volInUse     = "in-use"
)

// Attachment states (spec §3.1).
const (
	attAttaching = "attaching"
	attAttached  = "attached"
	attDetaching = "detaching"
	attBusy      = "busy"
)

// Instance states and their codes (spec §2.4).
var instanceStateCodes = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

// Instance and system status summaries (spec §2.5).
var statusSummaries = map[string]bool{
	"ok": true, "impaired": true, "insufficient-data": true, "not-applicable": true, "initializing": true,
}

// volume is one EBS volume.
type volume struct {
	id      string
	az      string
	size    int
	created time.Time
	tags    map[string]string
	// kmsKeyID is the customer-managed KMS key the volume is encrypted
	// with, "" for an unencrypted volume (see kms.go).
	kmsKeyID string
	att      *attachment // nil = available; one attachment at most (rule 3)
	// prev is the view before the latest state or attachment change; the
	// describe-lag fault serves it.
	prev *volumeView
	// past holds the views replaced within the last Latencies.DescribeLag,
	// oldest first, each with the time it stopped being current: what a
	// lagging describe still reports.
	past []pastView
}

// pastView is a volume view and the moment it was replaced.
type pastView struct {
	until time.Time
	view  *volumeView
}

// attachment is the single attachment of a volume.
type attachment struct {
	instanceID string
	device     string
	state      string
	attachTime time.Time
	// gen changes on every transition that schedules a completion, so a stale
	// timer finds a different generation and does nothing.
	gen uint64
	// stuck marks a detaching attachment that will not complete by itself;
	// an instance stop or a force detach releases it.
	stuck bool
	// deleteOnTermination deletes the volume when its instance is
	// terminated (see deleteontermination.go). AttachVolume leaves it false;
	// a seed can set it, as a launch block-device mapping does.
	deleteOnTermination bool
	// links are the host device nodes made when it turned attached.
	links []string
}

// volumeView is what DescribeVolumes reports about a volume's state.
type volumeView struct {
	state string
	att   *attachment
}

func (v *volume) state() string {
	if v.att == nil {
		return volAvailable
	}
	return volInUse
}

func (v *volume) view() *volumeView {
	vv := &volumeView{state: v.state()}
	if v.att != nil {
		a := *v.att
		vv.att = &a
	}
	return vv
}

// remember saves the current view, about to be replaced at time at, as the
// previous one and in the lag history (keeping what a describe lagging by
// lag may still need).
func (v *volume) remember(at time.Time, lag time.Duration) {
	v.prev = v.view()
	if lag <= 0 {
		v.past = nil
		return
	}
	v.past = append(pruneViews(v.past, at.Add(-lag)), pastView{until: at, view: v.prev})
}

// pruneViews drops views replaced at or before t.
func pruneViews(p []pastView, t time.Time) []pastView {
	i := 0
	for i < len(p) && !p[i].until.After(t) {
		i++
	}
	return p[i:]
}

// seenAt is the view current at time t: the oldest past view replaced after
// t, else the current one.
func (v *volume) seenAt(t time.Time) *volumeView {
	for _, p := range v.past {
		if p.until.After(t) {
			return p.view
		}
	}
	return v.view()
}

// instance is one EC2 instance.
type instance struct {
	id        string
	az        string
	privateIP string
	// instanceType decides how an attached volume shows up on the host
	// (Xen or NVMe) and which device names its instance store takes.
	instanceType string
	state        string
	tags         map[string]string
	launched     time.Time
	instStatus   string // "" = ok while running
	sysStatus    string
	statusSince  time.Time
	stopGen      uint64
	userStopped  bool // stateReason Client.UserInitiatedShutdown
	// stopStuck marks a stop held by FaultStuckStopping until a force stop.
	stopStuck bool
	// stopProtected is the DisableApiStop attribute: every stop is refused.
	stopProtected bool
	// guestDown: the guest OS no longer runs anything. Set when the instance
	// reaches stopped, or at once by a stop with SkipOsShutdown; until then
	// a stopping instance's OS is still shutting down and its processes run.
	guestDown bool
	// stopDue is when the scheduled stop completes (zero if none).
	stopDue time.Time
	// events are the instance's scheduled events (retirement, stop,
	// maintenance), as DescribeInstanceStatus announces them.
	events []ScheduledEvent
	// pastStates are the states replaced within the last DescribeLag, oldest
	// first, each with the time it ended (see volume.past).
	pastStates []pastState
}

// pastState is an instance state and the moment it was replaced.
type pastState struct {
	until time.Time
	state string
}

// setState changes the instance's state at time at, keeping the old one
// for describes lagging by lag.
func (in *instance) setState(state string, at time.Time, lag time.Duration) {
	if state == in.state {
		return
	}
	if lag > 0 {
		i := 0
		for i < len(in.pastStates) && !in.pastStates[i].until.After(at.Add(-lag)) {
			i++
		}
		in.pastStates = append(in.pastStates[i:], pastState{until: at, state: in.state})
	}
	in.state = state
}

// stateAt is the state current at time t.
func (in *instance) stateAt(t time.Time) string {
	for _, p := range in.pastStates {
		if p.until.After(t) {
			return p.state
		}
	}
	return in.state
}

func copyTags(t map[string]string) map[string]string {
	out := make(map[string]string, len(t))
	maps.Copy(out, t)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// attachmentsOn lists the volumes attached (in any state) to an instance, by device.
func (s *Sim) attachmentsOn(instanceID string) []*volume {
	var out []*volume
	for _, v := range s.volumes {
		if v.att != nil && v.att.instanceID == instanceID {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].att.device < out[j].att.device })
	return out
}

package history

import (
	"strings"
	"time"

	"github.com/volfailover/volfailover/state"
)

// order judges invariant 6 on every controller request: attach after the
// detach, forced detach after the stop, metadata after the attach, launch
// after the metadata.
func (c *checker) order() {
	for _, r := range c.w.requests {
		if r.Sender == "" || !r.Mutating {
			continue
		}
		switch {
		case r.Service == EC2 && r.Action == "AttachVolume":
			c.attach(r)
		case r.Service == EC2 && r.Action == "DetachVolume" && r.Params.Get("Force") == "true":
			c.forcedDetach(r)
		case metadataOps(r) != nil:
			c.metadata(r)
		case launchedUnit(r) != "":
			c.launch(r)
		}
	}
}

func (c *checker) attach(r Request) {
	c.judged(AttachAfterDetached)
	vol, to := r.Params.Get("VolumeId"), r.Params.Get("InstanceId")
	a := c.w.attachmentBefore(vol, r.Arrived)
	if a.State == detached || a.Instance == to {
		return
	}
	c.violate(AttachAfterDetached, r.Arrived, c.excerpt(r.Arrived, vol),
		"AttachVolume(%s, %s) sent by %s while EC2 had %s %s on %s since %s: attach before EC2 reported it detached",
		vol, c.w.name(to), c.w.name(r.Sender), vol, a.State, c.w.name(a.Instance), stamp(a.Time))
}

// owner is the instance a forced detach takes vol from, and whether that
// instance ever held it: an attachment still attaching is a target whose
// attach never completed, not an owner to fence.
func (c *checker) owner(r Request) (string, bool) {
	vol := r.Params.Get("VolumeId")
	a := c.w.attachmentBefore(vol, r.Arrived)
	if a.State == detached || a.State == "attaching" {
		return "", false
	}
	if a.State == "detaching" || a.State == "busy" {
		// Was it ever attached, or is this a stuck attach being undone?
		ever := false
		for _, tr := range c.w.vols[vol] {
			if tr.Time.After(r.Arrived) {
				break
			}
			if tr.Instance == a.Instance && tr.State == "attaching" {
				ever = false
			}
			if tr.Instance == a.Instance && tr.State == "attached" {
				ever = true
			}
		}
		if !ever {
			return "", false
		}
	}
	return a.Instance, true
}

func (c *checker) forcedDetach(r Request) {
	c.judged(ForcedDetachAfterStop)
	from, ok := c.owner(r)
	if !ok {
		return
	}
	vol := r.Params.Get("VolumeId")
	st := c.w.instanceState(from, r.Arrived)
	strict := c.strict(from, r.Arrived)
	switch st.State {
	case "stopped", "terminated":
		return
	case "stopping", "shutting-down":
		if !strict {
			return
		}
		c.violate(ForcedDetachAfterStop, r.Arrived, c.excerpt(r.Arrived, vol, from),
			"forced DetachVolume(%s) from %s sent by %s while the owner was %s since %s: the strict policy detaches only once it is stopped",
			vol, c.w.name(from), c.w.name(r.Sender), st.State, stamp(st.Time))
		return
	}
	since := c.w.lastRunningSince(from, r.Arrived)
	for _, s := range c.w.all {
		if !s.Arrived.Before(r.Arrived) {
			break
		}
		if s.Service != EC2 || s.Action != "StopInstances" || !s.Mutating || s.Arrived.Before(since) {
			continue
		}
		for _, i := range stoppedInstances(s.Params) {
			if i == from && !strict {
				return
			}
		}
	}
	why := "no StopInstances of it was sent before"
	if strict {
		why = "the strict policy detaches only once it is stopped"
	}
	c.violate(ForcedDetachAfterStop, r.Arrived, c.excerpt(r.Arrived, vol, from),
		"forced DetachVolume(%s) from %s sent by %s while the owner was %s: %s",
		vol, c.w.name(from), c.w.name(r.Sender), st.State, why)
}

// strict reports whether the fence of owner at t was under the strict policy.
func (c *checker) strict(owner string, t time.Time) bool {
	if c.w.h.StrictFence {
		return true
	}
	for _, m := range c.w.h.Moves {
		if m.From.Instance == owner && m.Fence == state.FenceStrict && !m.Created.After(t) && (m.Finished.IsZero() || !m.Finished.Before(t)) {
			return true
		}
	}
	return false
}

func (c *checker) metadata(r Request) {
	for _, op := range metadataOps(r) {
		if op.Op != "add" || op.Key != c.o.MetadataKey || !c.w.volumes[op.Value] {
			continue
		}
		c.judged(MetadataAfterAttach)
		to, known := c.w.byMach[op.Machine]
		a := c.w.attachmentBefore(op.Value, r.Arrived)
		if known && a.Instance == to.Instance && a.State == "attached" {
			continue
		}
		c.violate(MetadataAfterAttach, r.Arrived, c.excerpt(r.Arrived, op.Value),
			"metadata %s=%s added to machine %s (%s) by %s while EC2 had %s %s on %s: metadata before the attach completed",
			op.Key, op.Value, op.Machine, to.Name, c.w.name(r.Sender), op.Value, a.State, c.w.name(a.Instance))
	}
}

func (c *checker) launch(r Request) {
	unit := launchedUnit(r)
	vol := ""
	for v := range c.w.volumes {
		if strings.Contains(unit, v) {
			vol = v
		}
	}
	if vol == "" {
		return
	}
	c.judged(LaunchAfterMetadata)
	// The move under way: the latest attach of vol before the launch.
	var target Transition
	for _, tr := range c.w.vols[vol] {
		if !tr.Time.Before(r.Arrived) {
			break
		}
		if tr.State == "attaching" {
			target = tr
		}
	}
	host, ok := c.w.byInst[target.Instance]
	if target.Instance == "" || !ok {
		return
	}
	for _, m := range c.w.all {
		if m.Arrived.Before(target.Time) {
			continue
		}
		for _, op := range metadataOps(m) {
			if op.Op != "add" || op.Key != c.o.MetadataKey || op.Value != vol || op.Machine != host.Machine || m.Status/100 != 2 {
				continue
			}
			if m.Arrived.After(r.Arrived) {
				c.violate(LaunchAfterMetadata, r.Arrived, c.excerpt(m.Arrived, vol),
					"%s launched by %s at %s, before its metadata moved to %s at %s",
					unit, c.w.name(r.Sender), stamp(r.Arrived), host.Name, stamp(m.Arrived))
			}
			return
		}
	}
}

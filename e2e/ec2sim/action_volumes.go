package ec2sim

import (
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
)

var volumeFilters = map[string]bool{
	"volume-id": true, "attachment.instance-id": true, "attachment.status": true, "attachment.device": true,
	"attachment.delete-on-termination": true, "status": true, "availability-zone": true, "size": true,
	"volume-type": true, "tag-key": true, "tag-value": true,
}

// notFoundVolumes is the whole-call error for unknown explicit volume IDs.
func notFoundVolumes(ids []string) *apiError {
	if len(ids) == 1 {
		return badRequest("InvalidVolume.NotFound", "The volume '%s' does not exist.", ids[0])
	}
	return badRequest("InvalidVolume.NotFound", "The volumes '%s' do not exist.", strings.Join(ids, ", "))
}

func notFoundInstances(ids []string) *apiError {
	if len(ids) == 1 {
		return badRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", ids[0])
	}
	return badRequest("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(ids, ", "))
}

func malformedVolume(id string) *apiError {
	return badRequest("InvalidVolumeID.Malformed", "Invalid id: %q", id)
}

func malformedInstance(id string) *apiError {
	return badRequest("InvalidInstanceID.Malformed", "Invalid id: %q", id)
}

// uniqueSorted removes duplicates and sorts.
func uniqueSorted(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Sim) describeVolumes(c *call) ([]byte, *apiError) {
	req, err := c.p.describe(describeSpec{
		action: "DescribeVolumes", set: "volumeSet", idKey: "VolumeId",
		validID: validVolumeID, malformed: malformedVolume, filters: volumeFilters,
	})
	if err != nil {
		return nil, err
	}
	ids, fs, pg := req.ids, req.filters, req.page
	candidates := sortedKeys(s.volumes)
	if len(ids) > 0 {
		candidates = uniqueSorted(ids)
		var missing []string
		for _, id := range candidates {
			if s.volumes[id] == nil {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, notFoundVolumes(missing)
		}
	}
	lag := s.lagFault(c)
	lagUsed := false
	ms := compileFilters(fs)
	views := map[string]*volumeView{}
	var matched []string
	for _, id := range candidates {
		v := s.volumes[id]
		vv := v.seenAt(c.now.Add(-s.lat.DescribeLag))
		if lag != nil && v.prev != nil && (lag.f.Resource == "" || lag.f.Resource == id) {
			vv, lagUsed = v.prev, true
		}
		if volumeMatches(v, vv, ms) {
			matched = append(matched, id)
			views[id] = vv
		}
	}
	if lagUsed && !lag.f.Sticky {
		s.removeFault(lag.id)
	}
	pageIDs, next := paginate(matched, pg, "DescribeVolumes")
	out := describeVolumesResponse{Xmlns: ec2Namespace, RequestID: c.requestID, NextToken: next}
	for _, id := range pageIDs {
		out.Volumes = append(out.Volumes, renderVolume(s.volumes[id], views[id]))
	}
	return marshal(out), nil
}

// lagFault returns the describe-lag fault that fired for this call, if any.
func (s *Sim) lagFault(c *call) *armedFault {
	for _, af := range c.fired {
		if af.f.Kind == FaultDescribeLag {
			return af
		}
	}
	return nil
}

func volumeMatches(v *volume, vv *volumeView, ms []matcher) bool {
	for _, m := range ms {
		if ok, isTag := tagMatch(m, v.tags); isTag {
			if !ok {
				return false
			}
			continue
		}
		var cand []string
		switch m.name {
		case "volume-id":
			cand = []string{v.id}
		case "status":
			cand = []string{vv.state}
		case "availability-zone":
			cand = []string{v.az}
		case "size":
			cand = []string{strconv.Itoa(v.size)}
		case "volume-type":
			cand = []string{"gp3"}
		case "attachment.instance-id", "attachment.status", "attachment.device", "attachment.delete-on-termination":
			if vv.att == nil {
				return false
			}
			cand = []string{map[string]string{
				"attachment.instance-id": vv.att.instanceID, "attachment.status": vv.att.state,
				"attachment.device": vv.att.device, "attachment.delete-on-termination": strconv.FormatBool(vv.att.deleteOnTermination),
			}[m.name]}
		}
		if !m.anyMatch(cand...) {
			return false
		}
	}
	return true
}

func renderVolume(v *volume, vv *volumeView) xmlVolume {
	x := xmlVolume{
		VolumeID: v.id, Size: v.size, AvailabilityZone: v.az, Status: vv.state, CreateTime: ts(v.created),
		Tags: xmlTags(v.tags), VolumeType: "gp3", Iops: 3000, Throughput: 125,
		Encrypted: v.kmsKeyID != "", KmsKeyID: v.kmsKeyID,
	}
	if a := vv.att; a != nil {
		x.AttachmentSet.Items = []xmlAttachment{{
			VolumeID: v.id, InstanceID: a.instanceID, Device: a.device, Status: a.state, AttachTime: ts(a.attachTime),
			DeleteOnTermination: a.deleteOnTermination,
		}}
	}
	return x
}

func (s *Sim) attachVolume(c *call) ([]byte, *apiError) {
	p := c.p
	p.scalars = map[string]bool{"VolumeId": true, "InstanceId": true, "Device": true, "DryRun": true, "EbsCardIndex": true}
	if err := p.check(); err != nil {
		return nil, err
	}
	dry, err := p.boolean("DryRun")
	if err != nil {
		return nil, err
	}
	device, err := p.required("Device")
	if err != nil {
		return nil, err
	}
	instID, err := p.required("InstanceId")
	if err != nil {
		return nil, err
	}
	volID, err := p.required("VolumeId")
	if err != nil {
		return nil, err
	}
	if !validVolumeID(volID) {
		return nil, malformedVolume(volID)
	}
	if !validInstanceID(instID) {
		return nil, malformedInstance(instID)
	}
	if !validDevice(device) {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter device is invalid. %s is not a valid EBS device name.", device, device)
	}
	v := s.volumes[volID]
	if v == nil {
		return nil, notFoundVolumes([]string{volID})
	}
	in := s.instances[instID]
	if in == nil {
		return nil, notFoundInstances([]string{instID})
	}
	// A DryRun is answered only once the IDs resolve (see dryrun.go).
	if dry {
		return nil, dryRunOK()
	}
	if v.att != nil {
		return nil, badRequest("VolumeInUse", "%s is already attached to an instance", volID)
	}
	if in.state != "running" && in.state != "stopped" {
		return nil, badRequest("IncorrectState", "Instance '%s' is not 'running'.", instID)
	}
	if v.az != in.az {
		return nil, badRequest("InvalidVolume.ZoneMismatch", "The volume '%s' is not in the same availability zone as instance '%s'", volID, instID)
	}
	if err := s.kmsAttachError(v); err != nil {
		return nil, err
	}
	// The instance store holds its names whatever the API shows: AWS answers
	// as for a name another EBS volume holds.
	for _, r := range reservedDevices(in.instanceType) {
		if r == device {
			return nil, badRequest("InvalidParameterValue", "Invalid value '%s' for unixDevice. Attachment point %s is already in use", device, device)
		}
	}
	aliasTaken := false
	for _, o := range s.attachmentsOn(instID) {
		if o.att.device == device {
			return nil, badRequest("InvalidParameterValue", "Invalid value '%s' for unixDevice. Attachment point %s is already in use", device, device)
		}
		if o.att.device == deviceAlias(device) {
			aliasTaken = true
		}
	}
	if _, ok := s.take(c, FaultAttachmentLimit, ""); ok {
		return nil, badRequest("AttachmentLimitExceeded", "The maximum number of attachments for instance '%s' has been reached.", instID)
	}
	v.remember(c.now, s.lat.DescribeLag)
	gen := s.nextGen()
	v.att = &attachment{instanceID: instID, device: device, state: attAttaching, attachTime: c.now, gen: gen}
	s.noteAttachment(c.now, volID, instID, attAttaching)
	_, stuck := s.take(c, FaultStuckAttaching, "")
	// Same device under its other name: AWS accepts, the attach never completes.
	stuck = stuck || aliasTaken
	if !stuck {
		c.ops = append(c.ops, s.newOp(c.now, opAttachDone, volID, instID, gen, draw(s.rng, s.lat.AttachMin, s.lat.AttachMax)))
	}
	s.log.Info().Str("volume", volID).Str("instance", instID).Str("device", device).Bool("stuck", stuck).Msg("attaching")
	return marshal(attachmentResponse{
		XMLName: xml.Name{Local: "AttachVolumeResponse"}, Xmlns: ec2Namespace, RequestID: c.requestID,
		VolumeID: volID, InstanceID: instID, Device: device, Status: attAttaching, AttachTime: ts(c.now),
	}), nil
}

func (s *Sim) detachVolume(c *call) ([]byte, *apiError) {
	p := c.p
	p.scalars = map[string]bool{"VolumeId": true, "InstanceId": true, "Device": true, "Force": true, "DryRun": true}
	if err := p.check(); err != nil {
		return nil, err
	}
	dry, err := p.boolean("DryRun")
	if err != nil {
		return nil, err
	}
	force, err := p.boolean("Force")
	if err != nil {
		return nil, err
	}
	volID, err := p.required("VolumeId")
	if err != nil {
		return nil, err
	}
	if !validVolumeID(volID) {
		return nil, malformedVolume(volID)
	}
	instID, device := p.str("InstanceId"), p.str("Device")
	if instID != "" && !validInstanceID(instID) {
		return nil, malformedInstance(instID)
	}
	v := s.volumes[volID]
	if v == nil {
		return nil, notFoundVolumes([]string{volID})
	}
	if instID != "" && s.instances[instID] == nil {
		return nil, notFoundInstances([]string{instID})
	}
	// A DryRun is answered only once the IDs resolve (see dryrun.go).
	if dry {
		return nil, dryRunOK()
	}
	if v.att == nil {
		return nil, badRequest("IncorrectState", "Volume '%s' is in the 'available' state.", volID)
	}
	a := v.att
	if (instID != "" && instID != a.instanceID) || (device != "" && device != a.device) {
		who := instID
		if who == "" {
			who = a.instanceID
		}
		return nil, badRequest("InvalidAttachment.NotFound", "Volume %s can not be detached from %s because it is not attached", volID, who)
	}
	switch {
	case force:
		v.remember(c.now, s.lat.DescribeLag)
		a.gen = s.nextGen()
		a.state, a.stuck = attDetaching, false
		s.noteAttachment(c.now, volID, a.instanceID, attDetaching)
		if _, ok := s.take(c, FaultForceStuck, ""); ok {
			a.stuck = true
		} else {
			c.ops = append(c.ops, s.newOp(c.now, opDetachDone, volID, a.instanceID, a.gen, draw(s.rng, s.lat.ForceDetachMin, s.lat.ForceDetachMax)))
		}
		s.log.Info().Str("volume", volID).Str("instance", a.instanceID).Bool("force", true).Bool("stuck", a.stuck).Msg("detaching")
	case a.state == attAttaching || a.state == attAttached:
		v.remember(c.now, s.lat.DescribeLag)
		a.gen = s.nextGen()
		a.state, a.stuck = attDetaching, false
		s.noteAttachment(c.now, volID, a.instanceID, attDetaching)
		if _, ok := s.take(c, FaultStuckDetaching, ""); ok {
			a.stuck = true
		} else {
			// A stopped instance has no guest OS to hold the device (spec rule 5).
			busy := false
			if in := s.instances[a.instanceID]; in != nil && in.state != "stopped" {
				_, busy = s.take(c, FaultBusy, "")
			}
			op := s.newOp(c.now, opDetachDone, volID, a.instanceID, a.gen, draw(s.rng, s.lat.DetachMin, s.lat.DetachMax))
			op.toBusy = busy
			c.ops = append(c.ops, op)
		}
		s.log.Info().Str("volume", volID).Str("instance", a.instanceID).Bool("stuck", a.stuck).Msg("detaching")
	default:
		// Already detaching or busy: a plain detach changes nothing and
		// reports the current state (our choice, spec §5).
	}
	dot := a.deleteOnTermination
	return marshal(attachmentResponse{
		XMLName: xml.Name{Local: "DetachVolumeResponse"}, Xmlns: ec2Namespace, RequestID: c.requestID,
		VolumeID: volID, InstanceID: a.instanceID, Device: a.device, Status: a.state, AttachTime: ts(a.attachTime),
		DeleteOnTermination: &dot,
	}), nil
}

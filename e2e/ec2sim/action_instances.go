package ec2sim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

var instanceFilters = map[string]bool{
	"instance-id": true, "private-ip-address": true, "instance-state-name": true, "instance-state-code": true,
	"availability-zone": true, "block-device-mapping.volume-id": true, "block-device-mapping.status": true,
	"block-device-mapping.device-name": true, "tag-key": true, "tag-value": true,
}

var statusFilters = map[string]bool{
	"instance-state-name": true, "instance-state-code": true, "availability-zone": true,
	"instance-status.status": true, "instance-status.reachability": true,
	"system-status.status": true, "system-status.reachability": true, "event.code": true,
}

// bdmStatus maps an attachment state to the instance's block device mapping
// status, which has no "busy": a busy detach shows as detaching.
func bdmStatus(state string) string {
	if state == attBusy {
		return attDetaching
	}
	return state
}

// explicitInstances validates InstanceId.N and returns them sorted, or the
// whole-call NotFound error, DryRun or not (see dryrun.go).
func (s *Sim) explicitInstances(ids []string) ([]string, *apiError) {
	for _, id := range ids {
		if !validInstanceID(id) {
			return nil, malformedInstance(id)
		}
	}
	ids = uniqueSorted(ids)
	var missing []string
	for _, id := range ids {
		if s.instances[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundInstances(missing)
	}
	return ids, nil
}

func (s *Sim) describeInstances(c *call) ([]byte, *apiError) {
	req, apiErr := c.p.describe(describeSpec{
		action: "DescribeInstances", set: "instancesSet", idKey: "InstanceId",
		validID: validInstanceID, malformed: malformedInstance, filters: instanceFilters,
	})
	if apiErr != nil {
		return nil, apiErr
	}
	raw, fs, pg := req.ids, req.filters, req.page
	candidates := sortedKeys(s.instances)
	if len(raw) > 0 {
		var err *apiError
		if candidates, err = s.explicitInstances(raw); err != nil {
			return nil, err
		}
	}
	ms := compileFilters(fs)
	var matched []string
	seen := map[string]*instance{}
	bdms := map[string][]bdmEntry{}
	for _, id := range candidates {
		in, bdm := s.seenInstance(s.instances[id], c.now)
		if s.instanceMatches(in, bdm, ms) {
			matched = append(matched, id)
			seen[id], bdms[id] = in, bdm
		}
	}
	pageIDs, next := paginate(matched, pg, "DescribeInstances")
	out := describeInstancesResponse{Xmlns: ec2Namespace, RequestID: c.requestID, NextToken: next}
	for _, id := range pageIDs {
		out.Reservations = append(out.Reservations, xmlReservation{
			ReservationID: "r-" + strings.TrimPrefix(id, "i-"), OwnerID: "123456789012",
			Instances: []xmlInstance{s.renderInstance(seen[id], bdms[id])},
		})
	}
	return marshal(out), nil
}

// bdmEntry is one line of an instance's block device mapping.
type bdmEntry struct {
	volumeID string
	att      *attachment
}

// seenInstance is what a describe at now reports of in: a copy whose state,
// and a block device mapping whose attachments, are those of DescribeLag
// ago (Latencies.DescribeLag); s.mu is held.
func (s *Sim) seenInstance(in *instance, now time.Time) (*instance, []bdmEntry) {
	at := now.Add(-s.lat.DescribeLag)
	cp := *in
	cp.state = in.stateAt(at)
	var bdm []bdmEntry
	for _, v := range s.volumes {
		if vv := v.seenAt(at); vv.att != nil && vv.att.instanceID == in.id {
			bdm = append(bdm, bdmEntry{volumeID: v.id, att: vv.att})
		}
	}
	sort.Slice(bdm, func(i, j int) bool { return bdm[i].att.device < bdm[j].att.device })
	return &cp, bdm
}

func (s *Sim) instanceMatches(in *instance, bdm []bdmEntry, ms []matcher) bool {
	for _, m := range ms {
		if ok, isTag := tagMatch(m, in.tags); isTag {
			if !ok {
				return false
			}
			continue
		}
		var cand []string
		switch m.name {
		case "instance-id":
			cand = []string{in.id}
		case "private-ip-address":
			cand = []string{in.privateIP}
		case "instance-state-name":
			cand = []string{in.state}
		case "instance-state-code":
			cand = []string{strconv.Itoa(instanceStateCodes[in.state])}
		case "availability-zone":
			cand = []string{in.az}
		case "block-device-mapping.volume-id", "block-device-mapping.status", "block-device-mapping.device-name":
			for _, b := range bdm {
				cand = append(cand, map[string]string{
					"block-device-mapping.volume-id": b.volumeID, "block-device-mapping.status": bdmStatus(b.att.state),
					"block-device-mapping.device-name": b.att.device,
				}[m.name])
			}
		}
		if !m.anyMatch(cand...) {
			return false
		}
	}
	return true
}

func (s *Sim) renderInstance(in *instance, bdm []bdmEntry) xmlInstance {
	x := xmlInstance{
		InstanceID: in.id, ImageID: "ami-0abcdef1234567890",
		State:        xmlState{Code: instanceStateCodes[in.state], Name: in.state},
		InstanceType: in.instanceType, LaunchTime: ts(in.launched),
		SubnetID: "subnet-0aaa", VpcID: "vpc-0bbb", PrivateIPAddress: in.privateIP,
		RootDeviceType: "ebs", RootDeviceName: "/dev/xvda", Tags: xmlTags(in.tags),
	}
	x.Placement.AvailabilityZone, x.Placement.Tenancy = in.az, "default"
	if in.privateIP != "" {
		x.PrivateDNSName = "ip-" + strings.ReplaceAll(in.privateIP, ".", "-") + ".ec2.internal"
	}
	if in.state == "stopped" && in.userStopped {
		x.Reason = "User initiated"
		x.StateReason = &xmlStateReason{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
	}
	for _, e := range bdm {
		var b xmlBDM
		b.DeviceName = e.att.device
		b.EBS.VolumeID, b.EBS.Status, b.EBS.AttachTime = e.volumeID, bdmStatus(e.att.state), ts(e.att.attachTime)
		b.EBS.DeleteOnTermination = e.att.deleteOnTermination
		x.BDM = append(x.BDM, b)
	}
	return x
}

// statusOf is an instance's status summaries and reachability details.
func (s *Sim) statusOf(in *instance, impaired bool) (inst, sys xmlSummary) {
	if in.state != "running" {
		return xmlSummary{Status: "not-applicable"}, xmlSummary{Status: "not-applicable"}
	}
	summary := func(st string) xmlSummary {
		if st == "" {
			st = "ok"
		}
		if impaired {
			st = "impaired"
		}
		d := xmlStatusDetail{Name: "reachability"}
		switch st {
		case "ok":
			d.Status = "passed"
		case "impaired":
			d.Status, d.ImpairedSince = "failed", ts(in.statusSince)
		case "initializing":
			d.Status = "initializing"
		default:
			d.Status = "insufficient-data"
		}
		return xmlSummary{Status: st, Details: []xmlStatusDetail{d}}
	}
	return summary(in.instStatus), summary(in.sysStatus)
}

func (s *Sim) describeInstanceStatus(c *call) ([]byte, *apiError) {
	req, apiErr := c.p.describe(describeSpec{
		action: "DescribeInstanceStatus", set: "instancesSet", idKey: "InstanceId", maxIDs: 100,
		validID: validInstanceID, malformed: malformedInstance, filters: statusFilters,
		extraBools: []string{"IncludeAllInstances"},
	})
	if apiErr != nil {
		return nil, apiErr
	}
	raw, fs, pg, all := req.ids, req.filters, req.page, req.bools["IncludeAllInstances"]
	candidates := sortedKeys(s.instances)
	if len(raw) > 0 {
		var err *apiError
		if candidates, err = s.explicitInstances(raw); err != nil {
			return nil, err
		}
	}
	var imp *armedFault
	for _, af := range c.fired {
		if af.f.Kind == FaultImpaired {
			imp = af
			break
		}
	}
	impUsed := false
	ms := compileFilters(fs)
	var rows []xmlInstanceStatus
	for _, id := range candidates {
		in, _ := s.seenInstance(s.instances[id], c.now)
		if in.state != "running" && !all {
			continue
		}
		impaired := imp != nil && in.state == "running" && (imp.f.Resource == "" || imp.f.Resource == id)
		impUsed = impUsed || impaired
		inst, sys := s.statusOf(in, impaired)
		row := xmlInstanceStatus{InstanceID: id, AvailabilityZone: in.az,
			State: xmlState{Code: instanceStateCodes[in.state], Name: in.state}, SystemStatus: sys, InstanceStatus: inst,
			Events: renderEvents(in.events)}
		if statusMatches(row, ms) {
			rows = append(rows, row)
		}
	}
	if impUsed && !imp.f.Sticky {
		s.removeFault(imp.id)
	}
	ids := make([]string, len(rows))
	byID := map[string]xmlInstanceStatus{}
	for i, r := range rows {
		ids[i] = r.InstanceID
		byID[r.InstanceID] = r
	}
	pageIDs, next := paginate(ids, pg, "DescribeInstanceStatus")
	out := describeInstanceStatusResponse{Xmlns: ec2Namespace, RequestID: c.requestID, NextToken: next}
	for _, id := range pageIDs {
		out.Statuses = append(out.Statuses, byID[id])
	}
	return marshal(out), nil
}

func statusMatches(r xmlInstanceStatus, ms []matcher) bool {
	reach := func(sum xmlSummary) []string {
		var out []string
		for _, d := range sum.Details {
			out = append(out, d.Status)
		}
		return out
	}
	for _, m := range ms {
		var cand []string
		switch m.name {
		case "instance-state-name":
			cand = []string{r.State.Name}
		case "instance-state-code":
			cand = []string{strconv.Itoa(r.State.Code)}
		case "availability-zone":
			cand = []string{r.AvailabilityZone}
		case "instance-status.status":
			cand = []string{r.InstanceStatus.Status}
		case "instance-status.reachability":
			cand = reach(r.InstanceStatus)
		case "system-status.status":
			cand = []string{r.SystemStatus.Status}
		case "system-status.reachability":
			cand = reach(r.SystemStatus)
		case "event.code":
			// No scheduled events are emulated: nothing matches.
		}
		if !m.anyMatch(cand...) {
			return false
		}
	}
	return true
}

func (s *Sim) stopInstances(c *call) ([]byte, *apiError) {
	p := c.p
	p.scalars = map[string]bool{"Force": true, "DryRun": true, "Hibernate": true, "SkipOsShutdown": true}
	p.lists = map[string]bool{"InstanceId": true}
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
	if _, err := p.boolean("Hibernate"); err != nil {
		return nil, err
	}
	skipOS, err := p.boolean("SkipOsShutdown")
	if err != nil {
		return nil, err
	}
	raw := p.list("InstanceId")
	if len(raw) == 0 {
		return nil, badRequest("MissingParameter", "The request must contain the parameter InstanceId")
	}
	ids, err := s.explicitInstances(raw)
	if err != nil {
		return nil, err
	}
	if dry {
		return nil, dryRunOK()
	}
	for _, id := range ids {
		switch st := s.instances[id].state; st {
		case "pending":
			return nil, badRequest("IncorrectInstanceState", "Instance '%s' cannot be stopped as it has never reached the 'running' state.", id)
		case "shutting-down", "terminated":
			return nil, badRequest("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", id)
		}
		// Stop protection refuses every stop, Force included; the message is
		// AWS's, as recorded in cloud-custodian/cloud-custodian#8007.
		if s.instances[id].stopProtected {
			return nil, badRequest("OperationNotPermitted", "The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", id)
		}
	}
	out := stopInstancesResponse{Xmlns: ec2Namespace, RequestID: c.requestID}
	for _, id := range ids {
		in := s.instances[id]
		prev := in.state
		s.stop(c, in, force, skipOS)
		s.log.Info().Str("instance", id).Str("from", prev).Str("to", in.state).Bool("force", force).Bool("skip_os_shutdown", skipOS).
			Bool("stuck", in.stopStuck).Bool("guest_down", in.guestDown).Msg("stop")
		out.Instances = append(out.Instances, xmlStateChange{InstanceID: id,
			CurrentState:  xmlState{Code: instanceStateCodes[in.state], Name: in.state},
			PreviousState: xmlState{Code: instanceStateCodes[prev], Name: prev}})
	}
	return marshal(out), nil
}

// stop applies one StopInstances to a running or stopping instance, as the
// EC2 user guide "Methods for stopping an instance" describes the four
// methods; s.mu is held.
//
//   - A default or Force stop of a running instance goes to stopping and
//     shuts the guest OS down first: its processes keep running until the
//     instance is stopped, a profile stop time later (Force only matters to
//     an instance stuck in stopping, which it releases).
//   - SkipOsShutdown ends the guest at once and completes the stop a hard
//     stop time later; sent to an instance already stopping it hastens the
//     stop ("If you've already attempted a stop with skip OS shutdown, a
//     subsequent default stop ... will not perform a graceful OS shutdown":
//     bypassing is irreversible for the transition, so a later plain stop
//     changes nothing).
//   - Anything else (stopped, or stopping without SkipOsShutdown and not
//     stuck) changes nothing and reports the current state.
func (s *Sim) stop(c *call, in *instance, force, skipOS bool) {
	var delay time.Duration
	switch {
	case in.state == "running":
		s.setInstanceState(in, "stopping", c.now)
		in.stopStuck, in.guestDown = false, skipOS
		if skipOS {
			delay = draw(s.rng, s.lat.HardStopMin, s.lat.HardStopMax)
		} else {
			if !force {
				if _, ok := s.take(c, FaultStuckStopping, ""); ok {
					in.stopStuck = true
					return
				}
			}
			delay = draw(s.rng, s.lat.StopMin, s.lat.StopMax)
		}
	case in.state == "stopping" && skipOS && (!in.guestDown || in.stopStuck):
		in.guestDown, in.stopStuck = true, false
		delay = draw(s.rng, s.lat.HardStopMin, s.lat.HardStopMax)
		if !in.stopDue.IsZero() && in.stopDue.Before(c.now.Add(delay)) {
			return // the stop under way ends sooner
		}
	case in.state == "stopping" && force && in.stopStuck:
		in.stopStuck = false
		delay = draw(s.rng, s.lat.StopMin, s.lat.StopMax)
	default:
		return
	}
	in.stopGen = s.nextGen()
	in.stopDue = c.now.Add(delay)
	c.ops = append(c.ops, s.newOp(c.now, opStopDone, "", in.id, in.stopGen, delay))
}

func (s *Sim) createTags(c *call) ([]byte, *apiError) {
	p := c.p
	p.scalars = map[string]bool{"DryRun": true}
	p.lists = map[string]bool{"ResourceId": true}
	p.tags = true
	if err := p.check(); err != nil {
		return nil, err
	}
	dry, err := p.boolean("DryRun")
	if err != nil {
		return nil, err
	}
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, badRequest("MissingParameter", "The request must contain the parameter ResourceId")
	}
	tags, err := p.tagList()
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, badRequest("MissingParameter", "The request must contain the parameter Tag")
	}
	for _, id := range ids {
		if !validVolumeID(id) && !validInstanceID(id) {
			return nil, badRequest("InvalidID", "The ID '%s' is not valid", id)
		}
	}
	for _, t := range tags {
		if strings.HasPrefix(t[0], "aws:") || len(t[0]) > 128 || len(t[1]) > 256 {
			return nil, badRequest("InvalidParameterValue", "Tag %q=%q is invalid: keys are 1..128 characters and may not start with aws:, values at most 256", t[0], t[1])
		}
	}
	var missVols, missInsts []string
	for _, id := range uniqueSorted(ids) {
		if validVolumeID(id) && s.volumes[id] == nil {
			missVols = append(missVols, id)
		}
		if validInstanceID(id) && s.instances[id] == nil {
			missInsts = append(missInsts, id)
		}
	}
	if len(missVols) > 0 {
		return nil, notFoundVolumes(missVols)
	}
	if len(missInsts) > 0 {
		return nil, notFoundInstances(missInsts)
	}
	// A DryRun is answered only once the IDs resolve (see dryrun.go).
	if dry {
		return nil, dryRunOK()
	}
	for _, id := range ids {
		target := map[string]string(nil)
		if v := s.volumes[id]; v != nil {
			target = v.tags
		} else {
			target = s.instances[id].tags
		}
		for _, t := range tags {
			target[t[0]] = t[1]
		}
	}
	return marshal(createTagsResponse{Xmlns: ec2Namespace, RequestID: c.requestID, Return: true}), nil
}

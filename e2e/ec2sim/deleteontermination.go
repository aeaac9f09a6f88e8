package ec2sim

import (
	"encoding/xml"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// DeleteOnTermination: what terminating an instance does to its volumes, and
// ModifyInstanceAttribute for the one attribute volfailover changes.
//
// Sources: the ModifyInstanceAttribute API reference as carried by
// aws-sdk-go-v2 service/ec2@v1.344.3 api_op_ModifyInstanceAttribute.go
// (BlockDeviceMappings "Modifies the DeleteOnTermination attribute for
// volumes that are currently attached ... If no value is specified for
// DeleteOnTermination, the default is true and the volume is deleted when
// the instance is terminated"; "You can specify only one attribute at a
// time"); its wire form from serializers.go
// (awsEc2query_serializeOpDocumentModifyInstanceAttributeInput: flat
// BlockDeviceMapping.N.DeviceName, BlockDeviceMapping.N.Ebs.DeleteOnTermination,
// BlockDeviceMapping.N.Ebs.VolumeId), the same shape flexera-public/right_aws
// issue 134 sent to AWS; and the Amazon EC2 User Guide "Terminate Amazon
// EC2 instances" (terminating-instances.md): EBS volumes whose
// DeleteOnTermination is true are deleted with the instance, and
// DeleteOnTermination defaults to true for volumes of the launch
// block-device mapping, false for volumes attached later.

// bdmFieldRe matches the BlockDeviceMapping.N.* keys the emulator accepts.
var bdmFieldRe = regexp.MustCompile(`^BlockDeviceMapping\.([1-9][0-9]*)\.(DeviceName|Ebs\.DeleteOnTermination|Ebs\.VolumeId)$`)

// terminate puts an instance in "terminated": its volumes are detached and
// those whose attachment has DeleteOnTermination are deleted. A deleted
// volume is gone at once (AWS shows "deleting" for a moment first); its
// backing directory stays, as a snapshot would; s.mu is held.
func (s *Sim) terminate(in *instance, at time.Time) {
	var doomed []string
	for _, v := range s.attachmentsOn(in.id) {
		if v.att.deleteOnTermination {
			doomed = append(doomed, v.id)
		}
	}
	s.reachTerminated(in, at)
	for _, id := range doomed {
		delete(s.volumes, id)
		s.log.Info().Str("volume", id).Str("instance", in.id).Msg("volume deleted on termination")
	}
}

// bdmChange is one BlockDeviceMapping.N of a ModifyInstanceAttribute.
type bdmChange struct {
	device, volumeID    string
	deleteOnTermination bool
}

func (s *Sim) modifyInstanceAttribute(c *call) ([]byte, *apiError) {
	p := c.p
	p.scalars = map[string]bool{"InstanceId": true, "DryRun": true}
	// Only the block-device mapping is emulated; any other attribute is an
	// UnknownParameter here.
	for k := range p.form {
		if bdmFieldRe.MatchString(k) {
			p.scalars[k] = true
		}
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	dry, err := p.boolean("DryRun")
	if err != nil {
		return nil, err
	}
	instID, err := p.required("InstanceId")
	if err != nil {
		return nil, err
	}
	if !validInstanceID(instID) {
		return nil, malformedInstance(instID)
	}
	changes, err := p.bdmChanges()
	if err != nil {
		return nil, err
	}
	in := s.instances[instID]
	if in == nil {
		return nil, notFoundInstances([]string{instID})
	}
	for _, ch := range changes {
		if ch.volumeID != "" && s.volumes[ch.volumeID] == nil {
			return nil, notFoundVolumes([]string{ch.volumeID})
		}
	}
	if dry {
		return nil, dryRunOK()
	}
	if in.state == "terminated" || in.state == "shutting-down" {
		return nil, badRequest("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be modified.", instID)
	}
	// Resolve every mapping before changing any: the call is all or nothing.
	targets := make([]*attachment, len(changes))
	for i, ch := range changes {
		for _, v := range s.attachmentsOn(instID) {
			if v.att.device == ch.device && (ch.volumeID == "" || ch.volumeID == v.id) {
				targets[i] = v.att
			}
		}
		if targets[i] == nil {
			// The exact AWS text is not documented; ours names the device.
			return nil, badRequest("InvalidParameterValue", "No EBS volume is attached to instance '%s' as %s.", instID, ch.device)
		}
	}
	for i, a := range targets {
		a.deleteOnTermination = changes[i].deleteOnTermination
		s.log.Info().Str("instance", instID).Str("device", a.device).Bool("delete_on_termination", a.deleteOnTermination).Msg("block device mapping modified")
	}
	return marshal(modifyInstanceAttributeResponse{Xmlns: ec2Namespace, RequestID: c.requestID, Return: true}), nil
}

// bdmChanges reads BlockDeviceMapping.N in index order. DeviceName is
// required; DeleteOnTermination defaults to true, as the API reference says.
func (p *params) bdmChanges() ([]bdmChange, *apiError) {
	byIndex := map[int]*bdmChange{}
	for k, vs := range p.form {
		m := bdmFieldRe.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		ch := byIndex[n]
		if ch == nil {
			ch = &bdmChange{deleteOnTermination: true}
			byIndex[n] = ch
		}
		switch m[2] {
		case "DeviceName":
			ch.device = vs[0]
		case "Ebs.VolumeId":
			ch.volumeID = vs[0]
			if !validVolumeID(ch.volumeID) {
				return nil, malformedVolume(ch.volumeID)
			}
		case "Ebs.DeleteOnTermination":
			b, err := p.boolean(k)
			if err != nil {
				return nil, err
			}
			ch.deleteOnTermination = b
		}
	}
	if len(byIndex) == 0 {
		return nil, badRequest("MissingParameter", "The request must contain the parameter BlockDeviceMapping")
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]bdmChange, 0, len(idx))
	for _, n := range idx {
		ch := byIndex[n]
		if ch.device == "" {
			return nil, badRequest("MissingParameter", "The request must contain the parameter BlockDeviceMapping.%d.DeviceName", n)
		}
		if !validDevice(ch.device) {
			return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter deviceName is invalid.", ch.device)
		}
		out = append(out, *ch)
	}
	return out, nil
}

type modifyInstanceAttributeResponse struct {
	XMLName   xml.Name `xml:"ModifyInstanceAttributeResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Return    bool     `xml:"return"`
}

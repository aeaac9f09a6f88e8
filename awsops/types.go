package awsops

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Attachment is one attachment of a volume, as DescribeVolumes reports it.
type Attachment struct {
	InstanceID string
	Device     string
	// State: attaching|attached|detaching|detached|busy.
	State      string
	AttachTime time.Time
	// DeleteOnTermination is true when EC2 deletes the volume as soon as
	// InstanceID is terminated: the default for a volume of the instance's
	// launch block-device mapping. A database volume must not carry it, or
	// terminating a dead owner destroys the data a failover is for.
	DeleteOnTermination bool
}

// Volume is an EBS volume with its attachments.
type Volume struct {
	ID               string
	AvailabilityZone string
	// State: creating|available|in-use|deleting|deleted|error.
	State       string
	Tags        map[string]string
	Attachments []Attachment
	// Encrypted and KMSKeyID say which KMS key guards the volume: attaching
	// it makes EC2 create a grant on that key with the caller's
	// permissions, so the key decides whether a failover can attach it.
	Encrypted bool
	KMSKeyID  string
}

// AttachmentTo returns the volume's attachment to instanceID, if any.
func (v Volume) AttachmentTo(instanceID string) (Attachment, bool) {
	for _, a := range v.Attachments {
		if a.InstanceID == instanceID {
			return a, true
		}
	}
	return Attachment{}, false
}

// Instance is an EC2 instance with its status checks.
type Instance struct {
	ID, AvailabilityZone, PrivateIP string
	// State: pending|running|stopping|stopped|shutting-down|terminated.
	State string
	// InstanceStatus, SystemStatus: ok|impaired|insufficient-data|
	// not-applicable|initializing, or "" when EC2 gave no status.
	InstanceStatus, SystemStatus string
	Tags                         map[string]string
	// Devices maps the device names of the instance's block device mapping
	// (EBS attachments, any state) to their volume IDs, so an attach can skip
	// a name already taken. Instance store is not listed there.
	Devices map[string]string
	// Events are the scheduled events EC2 announces for the instance
	// (retirement, stop, reboot, maintenance), completed and canceled ones left out.
	Events []ScheduledEvent
}

// ScheduledEvent is one event EC2 scheduled on an instance.
type ScheduledEvent struct {
	// Code: instance-reboot, system-reboot, system-maintenance,
	// instance-retirement or instance-stop.
	Code                string
	Description         string
	NotBefore, NotAfter time.Time
}

// applyStatus copies one DescribeInstanceStatus item onto inst: the two
// status checks and the events still to come. EC2 keeps completed and
// canceled events listed for a while with their description prefixed
// "[Completed]" or "[Canceled]" (EC2 User Guide, "Scheduled events for
// Amazon EC2 instances"); those are over and left out.
func applyStatus(inst *Instance, s types.InstanceStatus) {
	if s.InstanceStatus != nil {
		inst.InstanceStatus = string(s.InstanceStatus.Status)
	}
	if s.SystemStatus != nil {
		inst.SystemStatus = string(s.SystemStatus.Status)
	}
	inst.Events = nil
	for _, e := range s.Events {
		d := aws.ToString(e.Description)
		if strings.HasPrefix(d, "[Completed]") || strings.HasPrefix(d, "[Canceled]") {
			continue
		}
		inst.Events = append(inst.Events, ScheduledEvent{Code: string(e.Code), Description: d,
			NotBefore: aws.ToTime(e.NotBefore), NotAfter: aws.ToTime(e.NotAfter)})
	}
}

// Instance states this package reasons about.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
)

// Attachment states.
const (
	attAttaching = "attaching"
	attAttached  = "attached"
	attDetaching = "detaching"
	attBusy      = "busy"
	attDetached  = "detached"
)

// volumeFrom converts and checks one DescribeVolumes item.
func volumeFrom(v types.Volume) (Volume, error) {
	id := aws.ToString(v.VolumeId)
	if !volumeIDRE.MatchString(id) {
		return Volume{}, fmt.Errorf("describe volumes: volumeId %q is not a volume ID", id)
	}
	out := Volume{
		ID:               id,
		AvailabilityZone: aws.ToString(v.AvailabilityZone),
		State:            string(v.State),
		Tags:             tagMap(v.Tags),
		Encrypted:        aws.ToBool(v.Encrypted),
		KMSKeyID:         aws.ToString(v.KmsKeyId),
	}
	if out.AvailabilityZone == "" {
		return Volume{}, fmt.Errorf("describe volumes: volume %s: availabilityZone is empty", id)
	}
	for i, a := range v.Attachments {
		att := Attachment{
			InstanceID: aws.ToString(a.InstanceId),
			Device:     aws.ToString(a.Device),
			State:      string(a.State),
			AttachTime: aws.ToTime(a.AttachTime),
			// Absent means false: EC2 writes it on every attachment.
			DeleteOnTermination: aws.ToBool(a.DeleteOnTermination),
		}
		if !instanceIDRE.MatchString(att.InstanceID) {
			return Volume{}, fmt.Errorf("describe volumes: volume %s attachment %d: instanceId %q is not an instance ID", id, i, att.InstanceID)
		}
		if att.State == "" {
			return Volume{}, fmt.Errorf("describe volumes: volume %s attachment %d: status is empty", id, i)
		}
		out.Attachments = append(out.Attachments, att)
	}
	return out, nil
}

// instanceFrom converts and checks one DescribeInstances item.
func instanceFrom(in types.Instance) (Instance, error) {
	id := aws.ToString(in.InstanceId)
	if !instanceIDRE.MatchString(id) {
		return Instance{}, fmt.Errorf("describe instances: instanceId %q is not an instance ID", id)
	}
	out := Instance{ID: id, PrivateIP: aws.ToString(in.PrivateIpAddress), Tags: tagMap(in.Tags)}
	if in.Placement != nil {
		out.AvailabilityZone = aws.ToString(in.Placement.AvailabilityZone)
	}
	if in.State != nil {
		out.State = string(in.State.Name)
	}
	for _, b := range in.BlockDeviceMappings {
		if b.DeviceName == nil || b.Ebs == nil {
			continue
		}
		if out.Devices == nil {
			out.Devices = map[string]string{}
		}
		out.Devices[aws.ToString(b.DeviceName)] = aws.ToString(b.Ebs.VolumeId)
	}
	if out.State == "" {
		return Instance{}, fmt.Errorf("describe instances: instance %s: instanceState.name is empty", id)
	}
	if out.AvailabilityZone == "" {
		return Instance{}, fmt.Errorf("describe instances: instance %s: placement.availabilityZone is empty", id)
	}
	return out, nil
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

package ec2sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
)

// Seed is the initial world: instances and volumes, optionally attached.
type Seed struct {
	Instances []SeedInstance `json:"instances"`
	Volumes   []SeedVolume   `json:"volumes"`
}

// SeedInstance describes one instance. State defaults to "running".
type SeedInstance struct {
	ID        string            `json:"id"`
	AZ        string            `json:"az"`
	PrivateIP string            `json:"privateIp"`
	State     string            `json:"state"`
	Tags      map[string]string `json:"tags"`
	// InstanceType, default DefaultInstanceType (Nitro), decides how attached
	// volumes appear in the host device tree and which device names the
	// instance store takes (see InstanceRoot).
	InstanceType string `json:"instanceType,omitempty"`
	// DisableAPIStop is stop protection: StopInstances answers
	// OperationNotPermitted, Force or not.
	DisableAPIStop bool `json:"disableApiStop,omitempty"`
}

// SeedVolume describes one gp3 volume; Size is in GiB.
type SeedVolume struct {
	ID         string            `json:"id"`
	AZ         string            `json:"az"`
	Size       int               `json:"size"`
	Tags       map[string]string `json:"tags"`
	Attachment *SeedAttachment   `json:"attachment"`
	// KMSKeyID, when set, makes the volume encrypted with this
	// customer-managed key (an ARN or key ID); SetKMSKeyUsable can then make
	// attaching it fail as AWS does when the key cannot be used.
	KMSKeyID string `json:"kmsKeyId,omitempty"`
}

// SeedAttachment is an attachment that exists, "attached", at start. The
// Sim's VolumeAttachments also returns this type, with State filled in.
type SeedAttachment struct {
	InstanceID string `json:"instanceId"`
	Device     string `json:"device"`
	// State is the attachment state when read back; ignored in a seed.
	State string `json:"state,omitempty"`
	// DeleteOnTermination is true for a volume from the instance's launch
	// block-device mapping, where it is the AWS default: terminating the
	// instance then deletes the volume.
	DeleteOnTermination bool `json:"deleteOnTermination,omitempty"`
}

// LoadSeed decodes a seed strictly: unknown fields, trailing data and invalid
// values are rejected with an error naming the field and the value.
func LoadSeed(r io.Reader) (*Seed, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("load seed: trailing data after the JSON object")
	}
	if err := seed.validate(nil); err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	return &seed, nil
}

// validate checks the seed on its own and against instances that already
// exist (known maps an instance ID to its AZ and state).
func (seed *Seed) validate(known map[string]*instance) error {
	insts := map[string]SeedInstance{}
	for i, in := range seed.Instances {
		f := fmt.Sprintf("instances[%d]", i)
		if !validInstanceID(in.ID) {
			return fmt.Errorf("%s.id: %q is not an instance ID (want i- and 8 or 17 hex digits)", f, in.ID)
		}
		if _, dup := insts[in.ID]; dup {
			return fmt.Errorf("%s.id: %q is listed twice", f, in.ID)
		}
		if _, dup := known[in.ID]; dup {
			return fmt.Errorf("%s.id: %q already exists", f, in.ID)
		}
		if !azRe.MatchString(in.AZ) {
			return fmt.Errorf("%s.az: %q is not an availability zone (want e.g. us-east-1a)", f, in.AZ)
		}
		if in.PrivateIP != "" {
			if ip := net.ParseIP(in.PrivateIP); ip == nil || ip.To4() == nil {
				return fmt.Errorf("%s.privateIp: %q is not an IPv4 address", f, in.PrivateIP)
			}
		}
		if _, ok := instanceStateCodes[in.State]; in.State != "" && !ok {
			return fmt.Errorf("%s.state: %q is not an instance state (want pending, running, stopping, stopped, shutting-down or terminated)", f, in.State)
		}
		if in.InstanceType != "" && !instanceTypeRe.MatchString(in.InstanceType) {
			return fmt.Errorf("%s.instanceType: %q is not an instance type (want e.g. m6i.large)", f, in.InstanceType)
		}
		if err := validateTags(f+".tags", in.Tags); err != nil {
			return err
		}
		insts[in.ID] = in
	}
	vols := map[string]bool{}
	devices := map[string]bool{} // instance + device
	for i, v := range seed.Volumes {
		f := fmt.Sprintf("volumes[%d]", i)
		if !validVolumeID(v.ID) {
			return fmt.Errorf("%s.id: %q is not a volume ID (want vol- and 8 or 17 hex digits)", f, v.ID)
		}
		if vols[v.ID] {
			return fmt.Errorf("%s.id: %q is listed twice", f, v.ID)
		}
		vols[v.ID] = true
		if !azRe.MatchString(v.AZ) {
			return fmt.Errorf("%s.az: %q is not an availability zone (want e.g. us-east-1a)", f, v.AZ)
		}
		if v.Size < 1 || v.Size > 65536 {
			return fmt.Errorf("%s.size: %d is out of range (want 1..65536 GiB)", f, v.Size)
		}
		if err := validateTags(f+".tags", v.Tags); err != nil {
			return err
		}
		if len(v.KMSKeyID) > 2048 {
			return fmt.Errorf("%s.kmsKeyId: %d characters is longer than 2048", f, len(v.KMSKeyID))
		}
		if v.Attachment == nil {
			continue
		}
		a := v.Attachment
		if a.State != "" {
			return fmt.Errorf("%s.attachment.state: %q cannot be seeded (seeded attachments start attached)", f, a.State)
		}
		az, state, typ, ok := "", "", "", false
		if in, found := insts[a.InstanceID]; found {
			az, state, typ, ok = in.AZ, in.State, in.InstanceType, true
		} else if in, found := known[a.InstanceID]; found {
			az, state, typ, ok = in.az, in.state, in.instanceType, true
		}
		if !ok {
			return fmt.Errorf("%s.attachment.instanceId: %q is not a seeded instance", f, a.InstanceID)
		}
		if az != v.AZ {
			return fmt.Errorf("%s.attachment.instanceId: %q is in %s, the volume in %s", f, a.InstanceID, az, v.AZ)
		}
		if state == "terminated" || state == "shutting-down" {
			return fmt.Errorf("%s.attachment.instanceId: %q is %s", f, a.InstanceID, state)
		}
		if !validDevice(a.Device) {
			return fmt.Errorf("%s.attachment.device: %q is not an EBS device name (want /dev/sd[a-z] or /dev/xvd[a-z] or /dev/xvd[a-z][a-z])", f, a.Device)
		}
		if typ == "" {
			typ = DefaultInstanceType
		}
		if slices.Contains(reservedDevices(typ), a.Device) {
			return fmt.Errorf("%s.attachment.device: %q is taken by the instance store of %s (%s)", f, a.Device, a.InstanceID, typ)
		}
		key := a.InstanceID + " " + a.Device
		if devices[key] {
			return fmt.Errorf("%s.attachment.device: %q is already used on %s", f, a.Device, a.InstanceID)
		}
		devices[key] = true
	}
	return nil
}

func validateTags(field string, tags map[string]string) error {
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return fmt.Errorf("%s: key %q must be 1..128 characters", field, k)
		}
		if len(v) > 256 {
			return fmt.Errorf("%s[%s]: value of %d characters is longer than 256", field, k, len(v))
		}
	}
	return nil
}

// Apply adds the seed's instances and volumes to the world. IDs that already
// exist are rejected; nothing is added unless everything is valid. Seeded
// attachments start "attached", with their host device links in place.
func (s *Sim) Apply(seed *Seed) error {
	if seed == nil {
		return errors.New("apply seed: nil seed")
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("apply seed: %w", errClosed)
	}
	if err := seed.validate(s.instances); err != nil {
		return fmt.Errorf("apply seed: %w", err)
	}
	for i, v := range seed.Volumes {
		if _, dup := s.volumes[v.ID]; dup {
			return fmt.Errorf("apply seed: volumes[%d].id: %q already exists", i, v.ID)
		}
		if v.Attachment != nil {
			for _, o := range s.attachmentsOn(v.Attachment.InstanceID) {
				if o.att.device == v.Attachment.Device {
					return fmt.Errorf("apply seed: volumes[%d].attachment.device: %q is already used on %s", i, v.Attachment.Device, v.Attachment.InstanceID)
				}
			}
		}
	}
	for _, in := range seed.Instances {
		if err := s.prepareInstance(in.ID); err != nil {
			return fmt.Errorf("apply seed: instance %s: %w", in.ID, err)
		}
	}
	for _, v := range seed.Volumes {
		if err := s.prepareVolume(v.ID); err != nil {
			return fmt.Errorf("apply seed: volume %s: %w", v.ID, err)
		}
	}
	for _, in := range seed.Instances {
		state := in.State
		if state == "" {
			state = "running"
		}
		typ := in.InstanceType
		if typ == "" {
			typ = DefaultInstanceType
		}
		s.instances[in.ID] = &instance{
			id: in.ID, az: in.AZ, privateIP: in.PrivateIP, state: state, instanceType: typ, stopProtected: in.DisableAPIStop,
			tags: copyTags(in.Tags), launched: now, userStopped: state == "stopped",
			// A stop that was under way before the seed has no timer here: it stays
			// stopping until a force stop, like a stop stuck on a host problem.
			stopStuck: state == "stopping",
		}
		s.noteInstance(now, in.ID, state)
	}
	for _, sv := range seed.Volumes {
		v := &volume{id: sv.ID, az: sv.AZ, size: sv.Size, created: now, tags: copyTags(sv.Tags), kmsKeyID: sv.KMSKeyID}
		if a := sv.Attachment; a != nil {
			v.att = &attachment{instanceID: a.InstanceID, device: a.Device, state: attAttached, attachTime: now, gen: s.nextGen(),
				deleteOnTermination: a.DeleteOnTermination}
			v.att.links = s.linkDevice(v.id, a.InstanceID, a.Device, s.instanceType(a.InstanceID))
			s.noteAttachment(now, v.id, a.InstanceID, attAttached)
		}
		s.volumes[v.id] = v
	}
	s.log.Info().Int("instances", len(seed.Instances)).Int("volumes", len(seed.Volumes)).Msg("seed applied")
	return nil
}

package ec2sim

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// VolumeDir is the volume's backing directory, <Root>/volumes/<vol-id>,
// created when the volume is seeded; "" when Options.Root is empty.
func (s *Sim) VolumeDir(volumeID string) string {
	if s.root == "" {
		return ""
	}
	return filepath.Join(s.root, "volumes", volumeID)
}

// InstanceRoot is the instance's host root, <Root>/hosts/<instance-id>. While
// a volume's attachment reads "attached" (or detaching or busy), the symlink
// <InstanceRoot>/dev/<basename of device> points at its VolumeDir. The link is
// made at the moment the attachment turns "attached", before that state can be
// read, and removed when the detach completes. "" when Options.Root is empty.
func (s *Sim) InstanceRoot(instanceID string) string {
	if s.root == "" {
		return ""
	}
	return filepath.Join(s.root, "hosts", instanceID)
}

// devicePath is the link for device on an instance.
func (s *Sim) devicePath(instanceID, device string) string {
	return filepath.Join(s.InstanceRoot(instanceID), "dev", path.Base(device))
}

func ensureDir(dir string) error { return os.MkdirAll(dir, 0o755) }

// prepareVolume creates a volume's backing directory.
func (s *Sim) prepareVolume(volumeID string) error {
	if s.root == "" {
		return nil
	}
	return ensureDir(s.VolumeDir(volumeID))
}

// prepareInstance creates an instance's dev directory.
func (s *Sim) prepareInstance(instanceID string) error {
	if s.root == "" {
		return nil
	}
	return ensureDir(filepath.Join(s.InstanceRoot(instanceID), "dev"))
}

// linkDevice makes the volume appear on the instance. Failures are logged:
// the EC2 view stays authoritative.
func (s *Sim) linkDevice(volumeID, instanceID, device string) {
	if s.root == "" {
		return
	}
	link := s.devicePath(instanceID, device)
	err := ensureDir(filepath.Dir(link))
	if err == nil {
		if rmErr := os.Remove(link); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = rmErr
		}
	}
	if err == nil {
		err = os.Symlink(s.VolumeDir(volumeID), link)
	}
	if err != nil {
		s.log.Error().Err(err).Str("volume", volumeID).Str("instance", instanceID).Str("path", link).Msg("link host device")
	}
}

// unlinkDevice removes the volume from the instance.
func (s *Sim) unlinkDevice(instanceID, device string) {
	if s.root == "" {
		return
	}
	link := s.devicePath(instanceID, device)
	if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error().Err(err).Str("instance", instanceID).Str("path", link).Msg("unlink host device")
	}
}

package ec2sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
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
// a volume's attachment reads "attached" (or detaching or busy), its device
// node appears under <InstanceRoot>/dev as the guest kernel would name it; the
// node is a symlink to the volume's VolumeDir:
//
//   - on a Xen instance type (m3, c4, t2, …) the xen-blkfront driver names the
//     disk after the requested device, in its xvd spelling: "/dev/sdf" shows
//     up as dev/xvdf (AWS documentation "Device names for volumes on Amazon
//     EC2 instances": "if you specify a device name of /dev/sdh, your device
//     could be renamed /dev/xvdh");
//   - on a Nitro type (m5, c5, r5, t3, m6i, …) the volume is an NVMe
//     namespace, dev/nvme<N>n1 with N in probe order (nvme0n1 being the root
//     volume), and udev links it by volume ID as
//     dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id without the dash>
//     → ../../nvme<N>n1 (AWS documentation "Amazon EBS and NVMe": the serial
//     number is the volume ID; the requested device name is not used).
//
// The node is made at the moment the attachment turns "attached", before that
// state can be read, and removed when the detach completes. "" when
// Options.Root is empty.
func (s *Sim) InstanceRoot(instanceID string) string {
	if s.root == "" {
		return ""
	}
	return filepath.Join(s.root, "hosts", instanceID)
}

// NVMeByIDName is the udev link name of an EBS volume on a Nitro instance,
// relative to /dev/disk/by-id: "nvme-Amazon_Elastic_Block_Store_vol0123…",
// the volume ID without its dash (AWS documentation "Amazon EBS and NVMe").
func NVMeByIDName(volumeID string) string {
	return "nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(volumeID, "-", "")
}

// xenName is the xen-blkfront name of a requested device: /dev/sdf -> xvdf.
func xenName(device string) string {
	b := path.Base(device)
	if rest, ok := strings.CutPrefix(b, "sd"); ok {
		return "xvd" + rest
	}
	return b
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

// linkDevice makes the volume appear on the instance as its guest kernel
// would name it (see InstanceRoot) and returns the paths it created, which
// unlinkDevice removes. Failures are logged: the EC2 view stays authoritative.
func (s *Sim) linkDevice(volumeID, instanceID, device, instanceType string) []string {
	if s.root == "" {
		return nil
	}
	dev := filepath.Join(s.InstanceRoot(instanceID), "dev")
	var links []string
	link := func(at, target string) error {
		if err := ensureDir(filepath.Dir(at)); err != nil {
			return err
		}
		if err := os.Remove(at); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Symlink(target, at); err != nil {
			return err
		}
		links = append(links, at)
		return nil
	}
	var err error
	if isNitro(instanceType) {
		n := 1
		for ; ; n++ {
			if _, serr := os.Lstat(filepath.Join(dev, fmt.Sprintf("nvme%dn1", n))); errors.Is(serr, fs.ErrNotExist) {
				break
			}
		}
		name := fmt.Sprintf("nvme%dn1", n)
		err = link(filepath.Join(dev, name), s.VolumeDir(volumeID))
		if err == nil {
			err = link(filepath.Join(dev, "disk", "by-id", NVMeByIDName(volumeID)), filepath.Join("..", "..", name))
		}
	} else {
		err = link(filepath.Join(dev, xenName(device)), s.VolumeDir(volumeID))
	}
	if err != nil {
		s.log.Error().Err(err).Str("volume", volumeID).Str("instance", instanceID).Str("device", device).Msg("link host device")
	}
	return links
}

// unlinkDevice removes the nodes linkDevice made.
func (s *Sim) unlinkDevice(instanceID string, links []string) {
	for _, l := range links {
		if err := os.Remove(l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error().Err(err).Str("instance", instanceID).Str("path", l).Msg("unlink host device")
		}
	}
}

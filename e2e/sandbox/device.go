package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/volfailover/volfailover/awsops"
	"github.com/volfailover/volfailover/e2e/ec2sim"
)

// FindVolumeDevice returns the path under hostRoot/dev where the volume is
// attached, as a mount dependency would find it (the production helper is
// docs/deploy/volfailover-ebs-device, tested against the same tree in
// e2e/ec2sim): on a Nitro host the udev link by volume ID,
// dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…; on a Xen host the
// xvd name of a device in awsops.DefaultDevices that resolves to the volume.
// The sandbox may check where a node leads, which a real Xen host cannot: a
// node there that holds another volume is not this one.
func FindVolumeDevice(hostRoot, volumeID string) (string, error) {
	dev := filepath.Join(hostRoot, "dev")
	candidates := []string{filepath.Join(dev, "disk", "by-id", ec2sim.NVMeByIDName(volumeID))}
	for _, d := range awsops.DefaultDevices {
		base := filepath.Base(d)
		candidates = append(candidates, filepath.Join(dev, "xvd"+base[len("sd"):]), filepath.Join(dev, base))
	}
	for _, c := range candidates {
		target, err := filepath.EvalSymlinks(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("find device of %s: resolve %s: %w", volumeID, c, err)
		}
		if filepath.Base(target) == volumeID {
			return c, nil
		}
	}
	return "", fmt.Errorf("volume %s is not attached to this host (nothing under %s leads to it): %w", volumeID, dev, os.ErrNotExist)
}

package awsops

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DefaultDevices is the range of device names AWS recommends for EBS data
// volumes on Linux, /dev/sdf to /dev/sdp (AWS documentation "Device names for
// volumes on Amazon EC2 instances", column "Recommended for EBS volumes").
// The names below it, /dev/sd[b-e] (/dev/xvd[b-e] to a Xen kernel), are where
// instance store volumes go: Container Linux and Flatcar AMIs map the first
// one as /dev/xvdb, so an EBS volume attached there fails with "already in
// use" on every instance type with non-NVMe instance store.
var DefaultDevices = []string{
	"/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi", "/dev/sdj", "/dev/sdk",
	"/dev/sdl", "/dev/sdm", "/dev/sdn", "/dev/sdo", "/dev/sdp",
}

// ebsDeviceRE matches the Linux HVM names EC2 accepts for an attach.
var ebsDeviceRE = regexp.MustCompile(`^/dev/(sd[a-z]|xvd[a-z]{1,2})$`)

// instanceStoreRE matches the names the user guide gives instance store
// volumes, in both spellings; /dev/sda and /dev/xvda are the root device.
var instanceStoreRE = regexp.MustCompile(`^/dev/(sd|xvd)[a-e]$`)

// IsInstanceStoreDevice reports whether name is one a root or instance
// store volume may hold (/dev/sd[a-e], /dev/xvd[a-e]); volfailover never
// attaches there, because the attach fails or, worse, lands on a name the
// AMI maps to something else.
func IsInstanceStoreDevice(name string) bool { return instanceStoreRE.MatchString(name) }

// DeviceNames is the ordered list of names an attach tries: preferred first
// (when it is a usable EBS name), then DefaultDevices. Instance-store and
// root names are dropped, as are duplicates and a name whose other spelling
// (/dev/sdf and /dev/xvdf are one device to a Xen kernel) is already listed.
func DeviceNames(preferred ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range append(slices.Clone(preferred), DefaultDevices...) {
		if !ebsDeviceRE.MatchString(d) || IsInstanceStoreDevice(d) || seen[d] {
			continue
		}
		seen[d], seen[deviceAlias(d)] = true, true
		out = append(out, d)
	}
	return out
}

// deviceAlias is the other spelling of a device: /dev/sdf <-> /dev/xvdf.
func deviceAlias(name string) string {
	if rest, ok := strings.CutPrefix(name, "/dev/sd"); ok {
		return "/dev/xvd" + rest
	}
	if rest, ok := strings.CutPrefix(name, "/dev/xvd"); ok {
		return "/dev/sd" + rest
	}
	return ""
}

// checkDevices rejects an empty list and names EC2 or the instance store
// would not let an EBS volume have.
func checkDevices(devices []string) error {
	if len(devices) == 0 {
		return fmt.Errorf("no device names given: %w", ErrInvalidParameter)
	}
	for _, d := range devices {
		switch {
		case !ebsDeviceRE.MatchString(d):
			return fmt.Errorf("device %q is not an EBS device name such as /dev/sdf: %w", d, ErrInvalidParameter)
		case IsInstanceStoreDevice(d):
			return fmt.Errorf("device %q is a root or instance store name; use /dev/sd[f-p]: %w", d, ErrInvalidParameter)
		}
	}
	return nil
}

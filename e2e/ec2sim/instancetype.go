package ec2sim

import (
	"regexp"
	"strings"
)

// DefaultInstanceType is the type of a seeded instance that names none: a
// current Nitro type, as new clusters use.
const DefaultInstanceType = "m6i.large"

// instanceTypeRe accepts names such as m6i.large, c5.xlarge, m3.medium, d2.8xlarge.
var instanceTypeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)

// xenFamilies are the instance families that run on the Xen hypervisor
// rather than Nitro (AWS documentation "Instances built on the AWS Nitro
// System" lists the Nitro types; these previous-generation families are not
// among them). On Xen an EBS volume is a xen-blkfront disk named after the
// requested device; on Nitro it is an NVMe namespace.
var xenFamilies = map[string]bool{
	"m1": true, "m2": true, "m3": true, "m4": true, "c1": true, "c3": true, "c4": true,
	"r3": true, "r4": true, "i2": true, "i3": true, "d2": true, "h1": true, "x1": true, "x1e": true,
	"t1": true, "t2": true, "g2": true, "g3": true, "p2": true, "hs1": true, "cc2": true, "cr1": true,
}

// blockStoreFamilies are the Xen families whose instance store is a
// non-NVMe block device: it takes a device name out of the range
// /dev/sd[b-e] that the user guide reserves for instance store (AWS
// documentation "Device names for volumes on Amazon EC2 instances", table
// "Available device names", column "Instance store volumes"; "Instance store
// volumes for EC2 instances" lists which types have one). i3 is Xen but its
// instance store is NVMe, enumerated without a device name, so it takes none.
var blockStoreFamilies = map[string]bool{
	"m1": true, "m2": true, "m3": true, "c1": true, "c3": true, "r3": true,
	"i2": true, "d2": true, "h1": true, "x1": true, "x1e": true, "g2": true, "hs1": true, "cc2": true, "cr1": true,
}

// instanceStoreDevices are the names the first instance store volume
// (ephemeral0) takes on a type with block instance store: /dev/sdb, which
// Container Linux and Flatcar AMIs map as /dev/xvdb. An AttachVolume on
// either name answers "Attachment point … is already in use".
var instanceStoreDevices = []string{"/dev/sdb", "/dev/xvdb"}

func family(instanceType string) string {
	f, _, _ := strings.Cut(instanceType, ".")
	return f
}

// isNitro reports whether EBS volumes show up as NVMe devices on the type.
func isNitro(instanceType string) bool { return !xenFamilies[family(instanceType)] }

// reservedDevices lists the device names the instance's own hardware
// takes, which no EBS attachment may use.
func reservedDevices(instanceType string) []string {
	if blockStoreFamilies[family(instanceType)] {
		return instanceStoreDevices
	}
	return nil
}

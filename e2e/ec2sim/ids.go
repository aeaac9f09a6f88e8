package ec2sim

import (
	"regexp"
	"strings"
)

var (
	volumeIDRe   = regexp.MustCompile(`^vol-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceIDRe = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// azRe accepts names such as us-east-1a and eu-central-2c.
	azRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
	// deviceRe accepts the Linux HVM names EC2 takes: /dev/sd[a-z], /dev/xvd[a-z], /dev/xvd[a-z][a-z].
	deviceRe = regexp.MustCompile(`^/dev/(sd[a-z]|xvd[a-z]{1,2})$`)
)

// validVolumeID reports whether id is vol- followed by 8 or 17 hex digits.
func validVolumeID(id string) bool { return volumeIDRe.MatchString(id) }

// validInstanceID reports whether id is i- followed by 8 or 17 hex digits.
func validInstanceID(id string) bool { return instanceIDRe.MatchString(id) }

// validDevice reports whether name is an EBS device name EC2 accepts.
func validDevice(name string) bool { return deviceRe.MatchString(name) }

// deviceAlias maps /dev/sdX to /dev/xvdX and back: the same device to the
// guest kernel, which AWS does not reject but never completes (spec §3.2 notes).
func deviceAlias(name string) string {
	switch {
	case strings.HasPrefix(name, "/dev/sd"):
		return "/dev/xvd" + strings.TrimPrefix(name, "/dev/sd")
	case strings.HasPrefix(name, "/dev/xvd"):
		return "/dev/sd" + strings.TrimPrefix(name, "/dev/xvd")
	}
	return ""
}

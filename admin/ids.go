package admin

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/volfailover/volfailover/state"
)

// volumeIDRe is an EBS volume ID: "vol-" and 8 (old style) to 17 hex digits.
var volumeIDRe = regexp.MustCompile(`^vol-[0-9a-f]{8,17}$`)

// MaxReasonLen bounds an override's reason, in characters, so it fits a page summary.
const MaxReasonLen = 512

// CheckVolumeID rejects anything that is not an EBS volume ID, naming the field.
func CheckVolumeID(field, v string) error {
	if !volumeIDRe.MatchString(v) {
		return invalid("%s %q is not an EBS volume ID (vol- and 8 to 17 hex digits)", field, v)
	}
	return nil
}

// CheckInstanceID rejects anything the controller would not take as an instance ID.
func CheckInstanceID(field, v string) error {
	if !state.ValidInstanceID(v) {
		return invalid("%s %q is not an EC2 instance ID (i- and 8 to 17 hex digits)", field, v)
	}
	return nil
}

// checkReason requires a printable, non-empty reason of bounded length.
func checkReason(field, r string) error {
	switch {
	case strings.TrimSpace(r) == "":
		return invalid("%s %q: a reason is required (it is shown in status and logs)", field, r)
	case len([]rune(r)) > MaxReasonLen:
		return invalid("%s: %d characters, at most %d", field, len([]rune(r)), MaxReasonLen)
	case strings.IndexFunc(r, unicode.IsControl) >= 0:
		return invalid("%s %q: control characters are not allowed", field, r)
	}
	return nil
}

package state

import "regexp"

var instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// ValidInstanceID reports whether s is an EC2 instance ID ("i-" and 8 to 17
// hex digits). Records, registrations and overrides all name instances, and
// the leader and the CLI must accept the same ones.
func ValidInstanceID(s string) bool { return instanceIDRe.MatchString(s) }

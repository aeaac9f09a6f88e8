// Package useragent is the one place that knows how a volfailover process
// names itself in the User-Agent of its EC2 and fleet requests, and how to
// read the instance ID back out of one.
//
// The controller writes these names so that EC2's logs (and the emulators'
// journals) can tell which host sent a call; the end-to-end checks read them
// to judge every mutation against its sender's leadership. Keeping the
// writer and the reader side by side means a change of format cannot make
// the checks silently attribute nothing to anyone.
package useragent

import (
	"regexp"
	"strings"
)

// SDKAppID is the application ID appended to the AWS SDK's User-Agent,
// "app/volfailover-<instance>" (the SDK's own AppID syntax).
func SDKAppID(instance string) string { return "app/volfailover-" + instance }

// Fleet is the whole User-Agent of the fleet client, "volfailover/<version> (<instance>)",
// the product/comment form of RFC 9110.
func Fleet(version, instance string) string { return "volfailover/" + version + " (" + instance + ")" }

var (
	sdkRe   = regexp.MustCompile(`(?:^|\s)app/volfailover-(i-[0-9a-f]{8,17})(?:\s|$)`)
	fleetRe = regexp.MustCompile(`^volfailover/\S+ \((i-[0-9a-f]{8,17})\)`)
)

// Instance returns the instance ID of the volfailover process that sent a
// request with this User-Agent, and false when no volfailover controller sent
// it (the sandbox, a test, an operator's curl). Other volfailover components
// that name no instance ("volfailover-probe", "volfailover-alert") are not
// controllers acting on EC2 or fleet and also return false.
func Instance(ua string) (string, bool) {
	ua = strings.TrimSpace(ua)
	if m := sdkRe.FindStringSubmatch(ua); m != nil {
		return m[1], true
	}
	if m := fleetRe.FindStringSubmatch(ua); m != nil {
		return m[1], true
	}
	return "", false
}

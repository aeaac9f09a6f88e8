package fleet

import (
	"fmt"
	"strings"
)

// maxUnitNameLen is fleet's limit on unit names, in bytes.
const maxUnitNameLen = 256

var (
	unitSuffixes = map[string]bool{
		"automount": true, "busname": true, "device": true, "mount": true, "path": true,
		"scope": true, "service": true, "slice": true, "snapshot": true, "socket": true,
		"swap": true, "target": true, "timer": true,
	}
	// templateSuffixes are the unit types that may be templates or instances.
	templateSuffixes = map[string]bool{"path": true, "service": true, "socket": true, "target": true, "timer": true}
)

// ValidateUnitName applies fleet's unit name rules (api/units.go ValidateName), so a bad
// name fails here with the reason instead of as a 400 from the server.
func ValidateUnitName(name string) error {
	if name == "" {
		return fmt.Errorf("unit name is empty")
	}
	if len(name) > maxUnitNameLen {
		return fmt.Errorf("unit name %q is longer than %d bytes", name, maxUnitNameLen)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return fmt.Errorf("unit name %q must contain '.'", name)
	}
	if dot == len(name)-1 {
		return fmt.Errorf("unit name %q must not end with '.'", name)
	}
	suffix := name[dot+1:]
	if !unitSuffixes[suffix] {
		return fmt.Errorf("unit name %q: unknown unit type %q", name, suffix)
	}
	if strings.HasPrefix(name, "@") {
		return fmt.Errorf("unit name %q must not start with '@'", name)
	}
	if strings.Contains(name, "@") && !templateSuffixes[suffix] {
		return fmt.Errorf("unit name %q: a %s unit cannot be a template or instance", name, suffix)
	}
	for _, r := range name[:dot] {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_.@-\\", r)
		if !ok {
			return fmt.Errorf("unit name %q: character %q is not allowed", name, r)
		}
	}
	return nil
}

// IsTemplate reports whether name is a template such as "postgres@.service".
func IsTemplate(name string) bool {
	at := strings.IndexByte(name, '@')
	dot := strings.LastIndexByte(name, '.')
	return at >= 0 && at+1 == dot
}

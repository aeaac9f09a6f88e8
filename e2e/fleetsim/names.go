package fleetsim

import (
	"errors"
	"fmt"
	"strings"
)

const unitNameMax = 256

var validUnitTypes = map[string]bool{
	"automount": true, "busname": true, "device": true, "mount": true, "path": true,
	"scope": true, "service": true, "slice": true, "snapshot": true, "socket": true,
	"swap": true, "target": true, "timer": true,
}

var validTemplateTypes = map[string]bool{
	"path": true, "service": true, "socket": true, "target": true, "timer": true,
}

const validNameChars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\@"

// validateName applies fleet's unit name rules (spec §6.1) and returns the
// first problem with fleet's wording.
func validateName(name string) error {
	if name == "" {
		return errors.New("unit name cannot be empty")
	}
	if len(name) > unitNameMax {
		return fmt.Errorf("unit name exceeds maximum length (%d)", unitNameMax)
	}
	dot := strings.LastIndex(name, ".")
	if dot == -1 {
		return errors.New(`unit name must contain "."`)
	}
	if dot == len(name)-1 {
		return errors.New(`unit name cannot end in "."`)
	}
	suffix := name[dot+1:]
	if !validUnitTypes[suffix] {
		return fmt.Errorf("invalid unit type: %q", suffix)
	}
	if strings.Contains(name, "@") && !validTemplateTypes[suffix] {
		return fmt.Errorf("invalid unit type for template: %q", suffix)
	}
	for _, c := range name[:dot] {
		if !strings.ContainsRune(validNameChars, c) {
			return fmt.Errorf("invalid character %q in unit name", c)
		}
	}
	if strings.HasPrefix(name, "@") {
		return errors.New(`unit name cannot start in "@"`)
	}
	return nil
}

// nameInfo splits a unit name the way fleet's UnitNameInfo does, for
// specifier expansion and template detection.
type nameInfo struct {
	full, name, prefix, instance string
	template                     bool
}

func parseName(full string) (nameInfo, bool) {
	dot := strings.LastIndex(full, ".")
	if dot == -1 {
		return nameInfo{}, false
	}
	ni := nameInfo{full: full, name: full[:dot]}
	at := strings.Index(ni.name, "@")
	if at == -1 {
		ni.prefix = ni.name
		return ni, true
	}
	ni.prefix = ni.name[:at]
	ni.instance = ni.name[at+1:]
	ni.template = ni.instance == ""
	return ni, true
}

// expand replaces %n %N %p %i by plain string replacement, as fleet does.
func (ni nameInfo) expand(s string) string {
	s = strings.ReplaceAll(s, "%n", ni.full)
	s = strings.ReplaceAll(s, "%N", ni.name)
	s = strings.ReplaceAll(s, "%p", ni.prefix)
	return strings.ReplaceAll(s, "%i", ni.instance)
}

package fleetsim

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// requirements is the parsed [X-Fleet] section of one unit with specifiers
// already expanded from the unit's own name (spec §6.2).
type requirements struct {
	raw map[string][]string
}

func parseRequirements(name string, opts []UnitOption) requirements {
	ni, ok := parseName(name)
	raw := map[string][]string{}
	for _, o := range opts {
		if o.Section != "X-Fleet" {
			continue
		}
		for _, v := range splitMultivalue(o.Value) {
			if ok {
				v = ni.expand(v)
			}
			raw[o.Name] = append(raw[o.Name], v)
		}
	}
	return requirements{raw: raw}
}

// splitMultivalue reproduces fleet's parseMultivalueLine: a value that
// starts and ends with a double quote is split at spaces outside quotes and
// the quotes are dropped; anything else is one value.
func splitMultivalue(line string) []string {
	if !strings.HasPrefix(line, `"`) || !strings.HasSuffix(line, `"`) {
		return []string{line}
	}
	var (
		out    []string
		cur    strings.Builder
		quoted bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

// global reports whether the last Global value is truthy.
func (r requirements) global() bool {
	v := r.raw["Global"]
	if len(v) == 0 {
		return false
	}
	switch strings.ToLower(v[len(v)-1]) {
	case "true", "yes", "1", "on", "t":
		return true
	}
	return false
}

// machineID returns the required machine (full or 8-char short ID).
func (r requirements) machineID() (string, bool) {
	for _, k := range []string{"MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID"} {
		if v := r.raw[k]; len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// metadata groups well-formed key=value requirements by key; malformed
// values are dropped silently as fleet does.
func (r requirements) metadata() map[string][]string {
	out := map[string][]string{}
	for _, k := range []string{"X-ConditionMachineMetadata", "MachineMetadata"} {
		for _, pair := range r.raw[k] {
			s := strings.Split(pair, "=")
			if len(s) != 2 || s[0] == "" || s[1] == "" {
				continue
			}
			out[s[0]] = append(out[s[0]], s[1])
		}
	}
	return out
}

func (r requirements) peers() []string {
	return append(append([]string{}, r.raw["X-ConditionMachineOf"]...), r.raw["MachineOf"]...)
}

func (r requirements) conflicts() []string {
	var out []string
	for _, k := range []string{"X-Conflicts", "Conflicts"} {
		for _, v := range r.raw[k] {
			out = append(out, strings.Fields(v)...)
		}
	}
	return out
}

func (r requirements) replaces() []string {
	return append([]string{}, r.raw["Replaces"]...)
}

// validateOptions reproduces fleet's ValidateOptions (spec §6.3) for a new
// unit: line length, peer/conflict/replace clashes and forbidden pairs.
func validateOptions(opts []UnitOption) error {
	if err := checkLineLength(opts); err != nil {
		return err
	}
	// fleet validates with an empty job name, so no specifier is expanded.
	req := parseRequirements("", opts)
	conflicts, replaces, peers := uniq(req.conflicts()), uniq(req.replaces()), uniq(req.peers())
	for _, p := range peers {
		for _, c := range conflicts {
			if ok, _ := path.Match(c, p); ok {
				return fmt.Errorf("unresolvable requirements: peer %q matches conflict %q", p, c)
			}
		}
		for _, c := range replaces {
			if ok, _ := path.Match(c, p); ok {
				return fmt.Errorf("unresolvable requirements: peer %q matches replace %q", p, c)
			}
		}
	}
	_, hasTarget := req.machineID()
	global := req.global()
	hasPeers, hasConflicts, hasReplaces := len(peers) > 0, len(conflicts) > 0, len(replaces) > 0
	switch {
	case hasTarget && hasPeers:
		return errors.New("MachineID cannot be used with Peers")
	case hasTarget && hasConflicts:
		return errors.New("MachineID cannot be used with Conflicts")
	case hasTarget && global:
		return errors.New("MachineID cannot be used with Global")
	case hasTarget && hasReplaces:
		return errors.New("MachineID cannot be used with Replaces")
	case global && hasPeers:
		//lint:ignore ST1005 fleet's exact API message
		return errors.New("Global cannot be used with Peers")
	case global && hasReplaces:
		//lint:ignore ST1005 fleet's exact API message
		return errors.New("Global cannot be used with Replaces")
	case hasConflicts && hasReplaces:
		//lint:ignore ST1005 fleet's exact API message
		return errors.New("Conflicts cannot be used with Replaces")
	}
	return nil
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func globMatches(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

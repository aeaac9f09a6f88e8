package fleet

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
)

// UnitState is systemd's view of one unit on one machine, as that machine's agent
// published it (load/active/sub are raw systemd strings such as loaded/active/running).
type UnitState struct {
	Name               string
	Hash               string
	MachineID          string
	SystemdLoadState   string
	SystemdActiveState string
	SystemdSubState    string
}

type wireUnitState struct {
	Name               string `json:"name"`
	Hash               string `json:"hash"`
	MachineID          string `json:"machineID"`
	SystemdLoadState   string `json:"systemdLoadState"`
	SystemdActiveState string `json:"systemdActiveState"`
	SystemdSubState    string `json:"systemdSubState"`
}

// unitHash is fleet's unit hash: the SHA1 of the serialized unit file, in hex.
var unitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// UnitStates lists the published unit states (all pages), optionally filtered by machine
// ID and/or unit name ("" = no filter). Entries lag systemd by up to a few seconds, may be
// missing for a while after a unit moves, and a dead machine's entries linger until their
// TTL runs out.
func (c *Client) UnitStates(ctx context.Context, machineID, unitName string) ([]UnitState, error) {
	q := url.Values{}
	if machineID != "" {
		q.Set("machineID", machineID)
	}
	if unitName != "" {
		q.Set("unitName", unitName)
	}
	type key struct{ name, machine string }
	var out []UnitState
	index := map[key]int{}
	err := c.eachPage(ctx, "/state", q, func(p *page) error {
		for i, w := range p.States {
			if w.Name == "" {
				return fmt.Errorf("state %d of page: unit name is empty", i)
			}
			if w.MachineID == "" {
				return fmt.Errorf("state of unit %q: machineID is empty", w.Name)
			}
			if w.Hash != "" && !unitHash.MatchString(w.Hash) {
				return fmt.Errorf("state of unit %q on %s: hash %q is not 40 hex digits", w.Name, w.MachineID, w.Hash)
			}
			if machineID != "" && w.MachineID != machineID {
				return fmt.Errorf("state of unit %q: machineID %q does not match the filter %q", w.Name, w.MachineID, machineID)
			}
			if unitName != "" && w.Name != unitName {
				return fmt.Errorf("state of unit %q on %s: name does not match the filter %q", w.Name, w.MachineID, unitName)
			}
			s := UnitState(w)
			k := key{w.Name, w.MachineID}
			if j, dup := index[k]; dup {
				out[j] = s
				continue
			}
			index[k] = len(out)
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list fleet unit states (machine %q, unit %q): %w", machineID, unitName, err)
	}
	return out, nil
}

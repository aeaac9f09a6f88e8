package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Unit states, used both as desiredState (what fleet should do) and currentState (what it
// last observed, which lags; use UnitStates for systemd's view).
const (
	StateInactive = "inactive"
	StateLoaded   = "loaded"
	StateLaunched = "launched"
)

// UnitOption is one "Name=Value" line of a unit file's [Section].
type UnitOption struct {
	Section string
	Name    string
	Value   string
}

// Unit is a unit as fleet's registry holds it. CurrentState and MachineID are empty for a
// unit that is not scheduled, and always empty in Unit's answer for a global unit.
type Unit struct {
	Name         string
	DesiredState string
	CurrentState string
	MachineID    string
	Options      []UnitOption
}

type wireOption struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

type wireUnit struct {
	Name         string       `json:"name,omitempty"`
	Options      []wireOption `json:"options,omitempty"`
	DesiredState string       `json:"desiredState,omitempty"`
	CurrentState string       `json:"currentState,omitempty"`
	MachineID    string       `json:"machineID,omitempty"`
}

// validState reports whether s is one of fleet's three unit states.
func validState(s string) bool {
	return s == StateInactive || s == StateLoaded || s == StateLaunched
}

// toUnit validates a unit decoded from fleet and converts it.
func (w wireUnit) toUnit() (Unit, error) {
	if w.Name == "" {
		return Unit{}, fmt.Errorf("unit name is empty")
	}
	if !validState(w.DesiredState) {
		return Unit{}, fmt.Errorf("unit %q: desiredState %q is not inactive, loaded or launched", w.Name, w.DesiredState)
	}
	if w.CurrentState != "" && !validState(w.CurrentState) {
		return Unit{}, fmt.Errorf("unit %q: currentState %q is not inactive, loaded or launched", w.Name, w.CurrentState)
	}
	u := Unit{Name: w.Name, DesiredState: w.DesiredState, CurrentState: w.CurrentState, MachineID: w.MachineID}
	for i, o := range w.Options {
		if o.Section == "" || o.Name == "" {
			return Unit{}, fmt.Errorf("unit %q: option %d has section %q and name %q; both must be set", w.Name, i, o.Section, o.Name)
		}
		u.Options = append(u.Options, UnitOption(o))
	}
	return u, nil
}

// unitPath is the escaped item path of a unit.
func unitPath(name string) string {
	return "/units/" + url.PathEscape(name)
}

// Units lists every unit (all pages), sorted by name as fleet returns them, including
// templates and global units.
func (c *Client) Units(ctx context.Context) ([]Unit, error) {
	var out []Unit
	index := map[string]int{}
	err := c.eachPage(ctx, "/units", nil, func(p *page) error {
		for _, w := range p.Units {
			u, err := w.toUnit()
			if err != nil {
				return err
			}
			if j, dup := index[u.Name]; dup {
				out[j] = u
				continue
			}
			index[u.Name] = len(out)
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list fleet units: %w", err)
	}
	return out, nil
}

// Unit returns one unit; the error matches ErrNotFound when fleet does not know it.
func (c *Client) Unit(ctx context.Context, name string) (*Unit, error) {
	if err := ValidateUnitName(name); err != nil {
		return nil, fmt.Errorf("get fleet unit: %w", err)
	}
	r := call{method: http.MethodGet, path: unitPath(name)}
	status, body, err := c.do(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("get fleet unit %s: %w", name, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("get fleet unit %s: %s: unexpected status %d (want 200)", name, r, status)
	}
	var w wireUnit
	if err := decodeJSON(body, &w); err != nil {
		return nil, fmt.Errorf("get fleet unit %s: %s: decode unit: %w", name, r, err)
	}
	u, err := w.toUnit()
	if err != nil {
		return nil, fmt.Errorf("get fleet unit %s: %s: %w", name, r, err)
	}
	if u.Name != name {
		return nil, fmt.Errorf("get fleet unit %s: %s: answer names unit %q", name, r, u.Name)
	}
	return &u, nil
}

// CreateUnit submits a unit with its full option list and desired state (PUT). It creates
// the unit, or replaces it when the options differ from the stored ones (fleet restarts it
// on its machine). Instances of a template must be submitted with full options: fleet
// never expands templates.
func (c *Client) CreateUnit(ctx context.Context, name string, options []UnitOption, desired string) error {
	if err := validateTarget(name, desired); err != nil {
		return fmt.Errorf("create fleet unit: %w", err)
	}
	if len(options) == 0 {
		return fmt.Errorf("create fleet unit %s: no options", name)
	}
	body := wireUnit{Name: name, DesiredState: desired, Options: make([]wireOption, 0, len(options))}
	for i, o := range options {
		if o.Section == "" || o.Name == "" {
			return fmt.Errorf("create fleet unit %s: option %d has section %q and name %q; both must be set", name, i, o.Section, o.Name)
		}
		body.Options = append(body.Options, wireOption(o))
	}
	r := call{method: http.MethodPut, path: unitPath(name), body: body}
	status, _, err := c.do(ctx, r)
	if err != nil {
		return fmt.Errorf("create fleet unit %s: %w", name, err)
	}
	// 201 for a new or replaced unit, 204 when the same options were already stored.
	if status != http.StatusCreated && status != http.StatusNoContent {
		return fmt.Errorf("create fleet unit %s: %s: unexpected status %d (want 201 or 204)", name, r, status)
	}
	return nil
}

// SetUnitTargetState changes an existing unit's desired state (PUT with desiredState
// only). For a unit fleet does not know, the error matches ErrConflict (fleet answers 409
// "unit does not exist and options field empty").
func (c *Client) SetUnitTargetState(ctx context.Context, name, desired string) error {
	if err := validateTarget(name, desired); err != nil {
		return fmt.Errorf("set fleet unit target state: %w", err)
	}
	r := call{method: http.MethodPut, path: unitPath(name), body: wireUnit{DesiredState: desired}}
	status, _, err := c.do(ctx, r)
	if err != nil {
		return fmt.Errorf("set fleet unit %s to %s: %w", name, desired, err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("set fleet unit %s to %s: %s: unexpected status %d (want 204)", name, desired, r, status)
	}
	return nil
}

// DestroyUnit removes a unit; its machine stops it on the agent's next pass. The error
// matches ErrNotFound when the unit did not exist, which also happens when a retry follows
// a delete whose answer was lost, so callers treat ErrNotFound as done.
func (c *Client) DestroyUnit(ctx context.Context, name string) error {
	if err := ValidateUnitName(name); err != nil {
		return fmt.Errorf("destroy fleet unit: %w", err)
	}
	r := call{method: http.MethodDelete, path: unitPath(name)}
	status, _, err := c.do(ctx, r)
	if err != nil {
		return fmt.Errorf("destroy fleet unit %s: %w", name, err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("destroy fleet unit %s: %s: unexpected status %d (want 204)", name, r, status)
	}
	return nil
}

// validateTarget checks a unit name and a desired state before a PUT.
func validateTarget(name, desired string) error {
	if err := ValidateUnitName(name); err != nil {
		return err
	}
	if !validState(desired) {
		return fmt.Errorf("unit %q: desired state %q must be inactive, loaded or launched", name, desired)
	}
	if IsTemplate(name) && desired != StateInactive {
		return fmt.Errorf("unit %q: a template cannot be %s, submit an instance", name, desired)
	}
	return nil
}

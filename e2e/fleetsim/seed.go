package fleetsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Seed is the initial cluster a fleetsim process starts with.
type Seed struct {
	Machines []SeedMachine `json:"machines"`
	Units    []SeedUnit    `json:"units"`
}

// SeedMachine is one machine: 32-hex ID, primary IP and config metadata.
type SeedMachine struct {
	ID        string            `json:"id"`
	PrimaryIP string            `json:"primaryIP"`
	Metadata  map[string]string `json:"metadata"`
}

// SeedUnit is one unit given as systemd unit file text; DesiredState
// defaults to inactive, as a PUT without it would.
type SeedUnit struct {
	Name         string `json:"name"`
	Text         string `json:"text"`
	DesiredState string `json:"desiredState"`
}

// LoadSeed decodes a seed strictly (unknown fields and trailing data are
// rejected) and validates every machine and unit.
func LoadSeed(r io.Reader) (*Seed, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return nil, fmt.Errorf("decode seed: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode seed: trailing data after the JSON object")
	}
	if err := seed.validate(); err != nil {
		return nil, err
	}
	return &seed, nil
}

func (sd *Seed) validate() error {
	seen := map[string]bool{}
	for i, m := range sd.Machines {
		if err := validateMachine(m.ID, m.PrimaryIP, m.Metadata); err != nil {
			return fmt.Errorf("seed machines[%d]: %w", i, err)
		}
		if seen[m.ID] {
			return fmt.Errorf("seed machines[%d]: duplicate id %q", i, m.ID)
		}
		seen[m.ID] = true
	}
	names := map[string]bool{}
	for i, u := range sd.Units {
		if _, err := u.options(); err != nil {
			return fmt.Errorf("seed units[%d]: %w", i, err)
		}
		if names[u.Name] {
			return fmt.Errorf("seed units[%d]: duplicate name %q", i, u.Name)
		}
		names[u.Name] = true
	}
	return nil
}

func (u SeedUnit) options() ([]UnitOption, error) {
	if err := validateName(u.Name); err != nil {
		return nil, fmt.Errorf("unit name %q: %w", u.Name, err)
	}
	if u.DesiredState != "" && !validState(u.DesiredState) {
		return nil, fmt.Errorf("unit %s: desiredState %q: want inactive, loaded or launched", u.Name, u.DesiredState)
	}
	opts, err := ParseUnitFile(u.Text)
	if err != nil {
		return nil, fmt.Errorf("unit %s: text: %w", u.Name, err)
	}
	if len(opts) == 0 {
		return nil, fmt.Errorf("unit %s: text has no options", u.Name)
	}
	if err := validateOptions(opts); err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}
	if ni, _ := parseName(u.Name); ni.template && u.DesiredState != "" && u.DesiredState != stateInactive {
		return nil, fmt.Errorf("unit %s: cannot activate a template", u.Name)
	}
	return opts, nil
}

// Apply adds the seed's machines, then creates its units as a PUT would.
func (s *Sim) Apply(seed *Seed) error {
	if err := seed.validate(); err != nil {
		return err
	}
	for _, m := range seed.Machines {
		if err := s.AddMachine(m.ID, m.PrimaryIP, m.Metadata); err != nil {
			return fmt.Errorf("apply seed: %w", err)
		}
	}
	for _, su := range seed.Units {
		if err := s.CreateUnit(su.Name, su.Text, su.DesiredState); err != nil {
			return fmt.Errorf("apply seed: %w", err)
		}
	}
	return nil
}

// CreateUnit creates or replaces a unit from unit file text with the given
// desired state ("" = inactive), as PUT /units/{name} with options does.
func (s *Sim) CreateUnit(name, text, desired string) error {
	opts, err := SeedUnit{Name: name, Text: text, DesiredState: desired}.options()
	if err != nil {
		return fmt.Errorf("create unit: %w", err)
	}
	s.mu.Lock()
	code, err := s.putUnitLocked(name, opts, desired)
	s.mu.Unlock()
	if code >= 400 {
		return fmt.Errorf("create unit %s: status %d: %v", name, code, err)
	}
	s.kickEngine()
	s.kickAgents()
	return nil
}

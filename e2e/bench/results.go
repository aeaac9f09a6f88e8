package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Results is docs/benchmarks/results.json: every benchmark's latest numbers
// and where they were taken. A runner that runs some benchmarks keeps the
// others' last results.
type Results struct {
	Generated time.Time         `json:"generated"`
	Machine   Machine           `json:"machine"`
	Short     bool              `json:"short"`
	Recovery  []*RecoveryResult `json:"recovery,omitempty"`
	Takeover  []*TakeoverResult `json:"takeover,omitempty"`
	Scale     *ScaleResult      `json:"scale,omitempty"`
	Peers     *PeersResult      `json:"peers,omitempty"`
	Profiles  []ProfileNote     `json:"profilesNote,omitempty"`
}

// ProfileNote records which profile settings a run used.
type ProfileNote struct {
	Profile string `json:"profile"`
	Note    string `json:"note"`
}

// LoadResults reads a results file; a missing file gives empty results.
func LoadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Results{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read results %s: %w", path, err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("results %s do not parse: %w", path, err)
	}
	return &r, nil
}

// Save writes the results as indented JSON.
func (r *Results) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	return nil
}

// SetRecovery replaces the recovery result of r's profile.
func (r *Results) SetRecovery(x *RecoveryResult) {
	for i, old := range r.Recovery {
		if old.Profile == x.Profile {
			r.Recovery[i] = x
			return
		}
	}
	r.Recovery = append(r.Recovery, x)
}

// SetTakeover replaces the takeover result of x's profile.
func (r *Results) SetTakeover(x *TakeoverResult) {
	for i, old := range r.Takeover {
		if old.Profile == x.Profile {
			r.Takeover[i] = x
			return
		}
	}
	r.Takeover = append(r.Takeover, x)
}

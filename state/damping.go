package state

import (
	"encoding/json"
	"fmt"
	"time"
)

// Damping is the record of one volume's automatic failovers, kept in etcd so a
// new leader honours the cooldown and the flap window of the previous one.
type Damping struct {
	Failovers []time.Time `json:"failovers"`
}

// ParseDamping decodes a damping value (Keys.DampingVolume).
func ParseDamping(b []byte) (Damping, error) {
	var d Damping
	if err := decodeStrict(b, &d); err != nil {
		return d, fmt.Errorf("damping value %q: %w", b, err)
	}
	return d, nil
}

// Encode is the damping record as stored in etcd.
func (d Damping) Encode() string {
	b, _ := json.Marshal(d)
	return string(b)
}

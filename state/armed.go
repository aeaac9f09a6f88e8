package state

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Armed records that volfailover has seen a volume's Postgres answer on its
// owner. Only an armed volume is ever failed over automatically: on a first
// deploy the agents may start before Postgres (or before the volume is even
// formatted), and an owner that has never served is not a dead owner. The
// leader writes it; an operator disarms by deleting it (volfailover disarm).
type Armed struct {
	Volume string    `json:"volume"`
	Owner  string    `json:"owner"`
	At     time.Time `json:"at"`
}

// Armed is the prefix of the arming records.
func (k Keys) Armed() string { return k.Prefix + "/armed/" }

// ArmedVolume is one volume's arming record.
func (k Keys) ArmedVolume(volume string) string { return k.Armed() + volume }

// Encode is the stored form.
func (a Armed) Encode() string {
	b, _ := json.Marshal(a)
	return string(b)
}

// ParseArmed decodes and checks one arming record; the key must name the same volume.
func (k Keys) ParseArmed(kv *mvccpb.KeyValue) (Armed, error) {
	var a Armed
	if err := json.Unmarshal(kv.Value, &a); err != nil {
		return a, fmt.Errorf("armed key %s: %w", kv.Key, err)
	}
	switch {
	case a.Volume == "" || k.ArmedVolume(a.Volume) != string(kv.Key):
		return a, fmt.Errorf("armed key %s: names volume %q", kv.Key, a.Volume)
	case !ValidInstanceID(a.Owner):
		return a, fmt.Errorf("armed key %s: owner %q is not an EC2 instance ID", kv.Key, a.Owner)
	case a.At.IsZero():
		return a, fmt.Errorf("armed key %s: at is required", kv.Key)
	}
	return a, nil
}

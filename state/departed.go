package state

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Departed records that an agent withdrew its registration in a clean
// shutdown. A registration gone because its lease expired is evidence that
// the host died; one withdrawn on purpose (a rolling restart) is not, and
// without this record the two look the same. The agent writes it, with no
// lease, just before it revokes its session, and deletes it when it
// registers again.
type Departed struct {
	Instance string    `json:"instance"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
}

// Departed is the prefix of clean-shutdown records.
func (k Keys) Departed() string { return k.Prefix + "/departed/" }

// DepartedHost is one instance's clean-shutdown record.
func (k Keys) DepartedHost(instance string) string { return k.Departed() + instance }

// Encode is the stored form.
func (d Departed) Encode() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// ParseDeparted decodes and checks one clean-shutdown record; the key must
// name the same instance.
func (k Keys) ParseDeparted(kv *mvccpb.KeyValue) (Departed, error) {
	var d Departed
	if err := json.Unmarshal(kv.Value, &d); err != nil {
		return d, fmt.Errorf("departed key %s: %w", kv.Key, err)
	}
	switch {
	case !ValidInstanceID(d.Instance):
		return d, fmt.Errorf("departed key %s: instance %q is not an EC2 instance ID", kv.Key, d.Instance)
	case k.DepartedHost(d.Instance) != string(kv.Key):
		return d, fmt.Errorf("departed key %s: names instance %q", kv.Key, d.Instance)
	case d.At.IsZero():
		return d, fmt.Errorf("departed key %s: at is required", kv.Key)
	}
	return d, nil
}

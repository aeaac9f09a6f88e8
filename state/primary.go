package state

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Primary is where a volume's Postgres serves, as the leader last verified
// it: clients and sidecars watch <prefix>/volumes/<volume>/primary to follow
// a failover with no DNS change.
type Primary struct {
	Volume   string `json:"volume"`
	Instance string `json:"instance"`
	Machine  string `json:"machine,omitempty"`
	// Address and Port are where Postgres answers.
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Since is when this host became the primary (the move's verification,
	// or the first time the leader published it).
	Since time.Time `json:"since"`
	// FailoverID names the move that made it the primary ("" = none).
	FailoverID string `json:"failoverId,omitempty"`
}

// HookOutcome is what the new primary's --on-primary-change command did,
// written by that host's agent for the leader to journal and page.
type HookOutcome struct {
	Volume     string    `json:"volume"`
	Instance   string    `json:"instance"`
	FailoverID string    `json:"failoverId,omitempty"`
	Since      time.Time `json:"since"`
	// ExitCode is the command's exit status (-1: it could not run or timed out).
	ExitCode int `json:"exitCode"`
	// Output is the tail of what it printed.
	Output string    `json:"output,omitempty"`
	Error  string    `json:"error,omitempty"`
	At     time.Time `json:"at"`
}

// The names under <prefix>/volumes/<volume>/ that volfailover itself writes;
// they are not overrides.
const (
	volumePrimary = "primary"
	volumeHook    = "hook"
)

// WrittenByVolfailover says whether name, under <prefix>/volumes/<volume>/,
// is a key volfailover itself writes rather than an operator's override.
func WrittenByVolfailover(name string) bool { return name == volumePrimary || name == volumeHook }

// VolumePrimary is the published serving endpoint of a volume.
func (k Keys) VolumePrimary(volume string) string { return k.Volumes() + volume + "/" + volumePrimary }

// VolumeHook is the outcome of the primary's role-change hook.
func (k Keys) VolumeHook(volume string) string { return k.Volumes() + volume + "/" + volumeHook }

// Encode is the stored form.
func (p Primary) Encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// Encode is the stored form.
func (h HookOutcome) Encode() string {
	b, _ := json.Marshal(h)
	return string(b)
}

// ParsePrimary decodes and checks a primary record; the key must name its volume.
func (k Keys) ParsePrimary(kv *mvccpb.KeyValue) (Primary, error) {
	var p Primary
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		return p, fmt.Errorf("primary key %s: %w", kv.Key, err)
	}
	switch {
	case p.Volume == "" || k.VolumePrimary(p.Volume) != string(kv.Key):
		return p, fmt.Errorf("primary key %s: names volume %q", kv.Key, p.Volume)
	case !ValidInstanceID(p.Instance):
		return p, fmt.Errorf("primary key %s: instance %q is not an EC2 instance ID", kv.Key, p.Instance)
	case net.ParseIP(p.Address) == nil:
		return p, fmt.Errorf("primary key %s: address %q is not an IP address", kv.Key, p.Address)
	case p.Port < 1 || p.Port > 65535:
		return p, fmt.Errorf("primary key %s: port %d is not a TCP port", kv.Key, p.Port)
	}
	return p, nil
}

// ParseHookOutcome decodes and checks a hook outcome; the key must name its volume.
func (k Keys) ParseHookOutcome(kv *mvccpb.KeyValue) (HookOutcome, error) {
	var h HookOutcome
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return h, fmt.Errorf("hook key %s: %w", kv.Key, err)
	}
	if h.Volume == "" || k.VolumeHook(h.Volume) != string(kv.Key) {
		return h, fmt.Errorf("hook key %s: names volume %q", kv.Key, h.Volume)
	}
	if !ValidInstanceID(h.Instance) {
		return h, fmt.Errorf("hook key %s: instance %q is not an EC2 instance ID", kv.Key, h.Instance)
	}
	return h, nil
}

package controller

import (
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// This file exports, for the operator's CLI (package admin), the parsers the
// leader applies to what it reads from etcd, so the CLI judges keys exactly
// as the leader does instead of keeping a second copy of the rules.

// ValidInstanceID reports whether s is an EC2 instance ID as the controller accepts one.
func ValidInstanceID(s string) bool { return instanceIDRe.MatchString(s) }

// ParseRecord decodes and checks a journal or history record.
func ParseRecord(b []byte) (*Record, error) { return parseRecord(b, 0) }

// ParseHost decodes and checks one registry entry; the key must name the same instance.
func (k Keys) ParseHost(kv *mvccpb.KeyValue) (Host, error) { return k.parseHost(kv) }

// ParseVolumeKey splits "<prefix>/volumes/<volume>/<name>" into volume and name.
func (k Keys) ParseVolumeKey(key string) (volume, name string, err error) {
	return k.parseVolumeKey(key)
}

// ParseOverrides reads the global pause key (nil if absent) and the keys under
// Volumes() as the leader does: any value that does not parse pauses what it names.
func (k Keys) ParseOverrides(global *mvccpb.KeyValue, volumes []*mvccpb.KeyValue, now time.Time) Overrides {
	return k.parseOverrides(global, volumes, now)
}

// ParseOwners decodes the leader-published list of owner hosts (Keys.Owners).
func ParseOwners(b []byte) ([]Owner, error) { return parseOwners(b) }

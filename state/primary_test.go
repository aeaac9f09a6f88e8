package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestParsePrimary(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	good := Primary{Volume: "vol-1", Instance: "i-00000001", Address: "10.0.0.1", Port: 5432, Since: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), FailoverID: "f-1"}
	for _, tt := range []struct {
		name, key, value, err string
	}{
		{"good", k.VolumePrimary("vol-1"), good.Encode(), ""},
		{"not json", k.VolumePrimary("vol-1"), "{", "primary key"},
		{"other volume", k.VolumePrimary("vol-2"), good.Encode(), `names volume "vol-1"`},
		{"bad instance", k.VolumePrimary("vol-1"), `{"volume":"vol-1","instance":"x","address":"10.0.0.1","port":5432}`, `instance "x"`},
		{"bad address", k.VolumePrimary("vol-1"), `{"volume":"vol-1","instance":"i-00000001","address":"db","port":5432}`, `address "db"`},
		{"bad port", k.VolumePrimary("vol-1"), `{"volume":"vol-1","instance":"i-00000001","address":"10.0.0.1","port":0}`, "port 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := k.ParsePrimary(&mvccpb.KeyValue{Key: []byte(tt.key), Value: []byte(tt.value)})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, good, p)
		})
	}
}

func TestPrimaryAndHookAreNoOverrides(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	kv := func(key, val string) *mvccpb.KeyValue { return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(val)} }
	ov := k.ParseOverrides(nil, []*mvccpb.KeyValue{kv(k.VolumePrimary("vol-1"), "{}"), kv(k.VolumeHook("vol-1"), "{}")}, time.Now())
	require.Empty(t, ov.Bad, "volfailover's own keys under volumes/ are not bad overrides")
	require.Empty(t, ov.PausedReason("vol-1"))
}

func TestParseHookOutcome(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	good := HookOutcome{Volume: "vol-1", Instance: "i-00000001", FailoverID: "f-1", ExitCode: 0, At: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	h, err := k.ParseHookOutcome(&mvccpb.KeyValue{Key: []byte(k.VolumeHook("vol-1")), Value: []byte(good.Encode())})
	require.NoError(t, err)
	require.Equal(t, good, h)
	_, err = k.ParseHookOutcome(&mvccpb.KeyValue{Key: []byte(k.VolumeHook("vol-2")), Value: []byte(good.Encode())})
	require.ErrorContains(t, err, `names volume "vol-1"`)
}

package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestUnknownRanges(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	inUnknown := func(key string) bool {
		for _, r := range k.Unknown() {
			if key >= r.Start && key < r.End {
				return true
			}
		}
		return false
	}
	for _, key := range []string{
		k.Pause(), k.Owners(), k.Host("i-00000001"), k.VolumePause("vol-1"), k.VolumeSwitchover("vol-1"),
		k.Volumes() + "vol-1", k.JournalVolume("vol-1"), k.HistoryRecord("vol-1", "x"), k.DampingVolume("vol-1"),
		k.WitnessReport("i-00000001", "i-00000002"), k.Election() + "/694d7a", k.Outbox() + "x",
		k.Prefix + "/outbox-failed/x", k.DepartedHost("i-00000001"), k.ArmedVolume("vol-1"),
	} {
		require.False(t, inUnknown(key), "schema key %s reported as unknown", key)
	}
	for _, key := range []string{
		"/volfailover/Pause", "/volfailover/pause/", "/volfailover/pausex", "/volfailover/volume/vol-1/pause",
		"/volfailover/", "/volfailover/zzz", "/volfailover/owners/x", "/volfailover/a",
	} {
		require.True(t, inUnknown(key), "stray key %s not reported", key)
	}
	require.False(t, inUnknown("/volfailoverx/pause"), "keys of another prefix are not ours")
	require.False(t, inUnknown("/other/pause"))
	for _, r := range k.Unknown() {
		require.Less(t, r.Start, r.End, "empty range %q", r)
	}
}

func TestParseDeparted(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	good := Departed{Instance: "i-00000001", At: at, Reason: "clean shutdown"}
	for _, tt := range []struct {
		name, key, value, err string
	}{
		{"good", k.DepartedHost("i-00000001"), good.Encode(), ""},
		{"not json", k.DepartedHost("i-00000001"), "{", "departed key"},
		{"other instance", k.DepartedHost("i-00000002"), good.Encode(), `names instance "i-00000001"`},
		{"bad id", k.DepartedHost("x"), `{"instance":"x","at":"2026-11-30T12:00:00Z"}`, `instance "x" is not`},
		{"no time", k.DepartedHost("i-00000001"), `{"instance":"i-00000001"}`, "at is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := k.ParseDeparted(&mvccpb.KeyValue{Key: []byte(tt.key), Value: []byte(tt.value)})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, good, d)
		})
	}
}

func TestParseArmed(t *testing.T) {
	k := Keys{Prefix: "/volfailover"}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	good := Armed{Volume: "vol-1", Owner: "i-00000001", At: at}
	for _, tt := range []struct {
		name, key, value, err string
	}{
		{"good", k.ArmedVolume("vol-1"), good.Encode(), ""},
		{"not json", k.ArmedVolume("vol-1"), "{", "armed key"},
		{"other volume", k.ArmedVolume("vol-2"), good.Encode(), `names volume "vol-1"`},
		{"bad owner", k.ArmedVolume("vol-1"), `{"volume":"vol-1","owner":"x","at":"2026-11-30T12:00:00Z"}`, `owner "x" is not`},
		{"no time", k.ArmedVolume("vol-1"), `{"volume":"vol-1","owner":"i-00000001"}`, "at is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := k.ParseArmed(&mvccpb.KeyValue{Key: []byte(tt.key), Value: []byte(tt.value)})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, good, a)
		})
	}
}

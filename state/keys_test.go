package state

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckPrefix(t *testing.T) {
	for _, tt := range []struct {
		prefix  string
		wantErr bool
	}{
		{DefaultPrefix, false},
		{"/a", false},
		{"/team/volfailover", false},
		{"", true},
		{"/", true},
		{"volfailover", true},
		{"/volfailover/", true},
		{"volfailover/", true},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			err := CheckPrefix(tt.prefix)
			if !tt.wantErr {
				require.NoError(t, err, "CheckPrefix(%q): got error, want none", tt.prefix)
				return
			}
			require.ErrorContains(t, err, `prefix "`+tt.prefix+`"`, "CheckPrefix(%q): got … want an error naming the prefix", tt.prefix)
		})
	}
}

func TestKeyLayout(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	for _, tt := range []struct{ got, want string }{
		{k.Election(), "/vf/election"},
		{k.Host("i-1"), "/vf/hosts/i-1"},
		{k.Owners(), "/vf/owners"},
		{k.WitnessReport("i-1", "i-2"), "/vf/witness/i-1/i-2"},
		{k.JournalVolume("vol-1"), "/vf/journal/vol-1"},
		{k.HistoryRecord("vol-1", "id"), "/vf/history/vol-1/id"},
		{k.DampingVolume("vol-1"), "/vf/damping/vol-1"},
		{k.Pause(), "/vf/pause"},
		{k.VolumePause("vol-1"), "/vf/volumes/vol-1/pause"},
		{k.VolumeSwitchover("vol-1"), "/vf/volumes/vol-1/switchover"},
		{k.Outbox(), "/vf/outbox/"},
	} {
		require.Equal(t, tt.want, tt.got, "got %s want %s", tt.got, tt.want)
	}
}

func TestParseVolumeKey(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	for _, tt := range []struct {
		name, key    string
		volume, over string
		wantErr      string
	}{
		{"pause", "/vf/volumes/vol-1/pause", "vol-1", "pause", ""},
		{"unknown name still splits", "/vf/volumes/vol-1/pauze", "vol-1", "pauze", ""},
		{"other prefix", "/other/volumes/vol-1/pause", "", "", `key "/other/volumes/vol-1/pause" is not under "/vf/volumes/"`},
		{"no name keeps the volume", "/vf/volumes/vol-1", "vol-1", "", `key "/vf/volumes/vol-1" is not <prefix>/volumes/<volume>/<override>`},
		{"empty name keeps the volume", "/vf/volumes/vol-1/", "vol-1", "", `key "/vf/volumes/vol-1/"`},
		{"nested name keeps the volume", "/vf/volumes/vol-1/pause/x", "vol-1", "", `key "/vf/volumes/vol-1/pause/x"`},
		{"empty volume", "/vf/volumes//pause", "", "", `key "/vf/volumes//pause"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol, name, err := k.ParseVolumeKey(tt.key)
			require.Equal(t, tt.volume, vol, "volume of %s: got %q want %q", tt.key, vol, tt.volume)
			require.Equal(t, tt.over, name, "name of %s: got %q want %q", tt.key, name, tt.over)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestParseWitnessKey(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	for _, tt := range []struct {
		name, key      string
		owner, witness string
		wantErr        string
	}{
		{"report", "/vf/witness/i-1/i-2", "i-1", "i-2", ""},
		{"other prefix", "/x/witness/i-1/i-2", "", "", `key "/x/witness/i-1/i-2" is not under "/vf/witness/"`},
		{"no witness", "/vf/witness/i-1", "", "", `key "/vf/witness/i-1" is not <prefix>/witness/<owner>/<witness>`},
		{"empty owner", "/vf/witness//i-2", "", "", `key "/vf/witness//i-2"`},
		{"nested", "/vf/witness/i-1/i-2/x", "", "", `key "/vf/witness/i-1/i-2/x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			owner, wit, err := k.ParseWitnessKey(tt.key)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [2]string{tt.owner, tt.witness}, [2]string{owner, wit}, "got … want owner, witness of %s", tt.key)
		})
	}
}

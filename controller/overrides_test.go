package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

var overrideNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParsePause(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   string
		inForce bool
		errPart string
	}{
		{"plain", `{"reason":"maintenance"}`, true, ""},
		{"until in the future", `{"reason":"m","until":"2026-03-01T13:00:00Z"}`, true, ""},
		{"until passed", `{"reason":"m","until":"2026-03-01T11:00:00Z"}`, false, ""},
		{"missing reason", `{"until":"2026-03-01T13:00:00Z"}`, false, "reason is required"},
		{"unknown field", `{"reason":"m","untill":"2026-03-01T13:00:00Z"}`, false, "unknown field"},
		{"bad time", `{"reason":"m","until":"tomorrow"}`, false, "pause value"},
		{"not json", `yes`, false, "pause value"},
		{"trailing data", `{"reason":"m"} {}`, false, "trailing data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, inForce, err := ParsePause([]byte(tt.value), overrideNow)
			if tt.errPart != "" {
				require.ErrorContains(t, err, tt.errPart)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.inForce, inForce)
		})
	}
}

func TestParseSwitchover(t *testing.T) {
	s, inForce, err := ParseSwitchover([]byte(`{"to":"i-0123456789abcdef0","reason":"kernel"}`), overrideNow)
	require.NoError(t, err)
	require.True(t, inForce)
	require.Equal(t, "i-0123456789abcdef0", s.To)
	_, _, err = ParseSwitchover([]byte(`{"to":"web-1","reason":"kernel"}`), overrideNow)
	require.ErrorContains(t, err, `field to "web-1"`)
	_, _, err = ParseSwitchover([]byte(`{"to":"i-0123456789abcdef0"}`), overrideNow)
	require.ErrorContains(t, err, "reason is required")
}

func kv(key, value string) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)}
}

func TestParseOverridesBadValuesPause(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	o := k.parseOverrides(nil, []*mvccpb.KeyValue{
		kv("/vf/volumes/vol-1/pause", `{"reason":"disk check"}`),
		kv("/vf/volumes/vol-2/pause", `{"reason":"old","until":"2026-03-01T00:00:00Z"}`),
		kv("/vf/volumes/vol-3/switchover", `{"to":"nowhere"}`),
		kv("/vf/volumes/vol-4/pauze", `{"reason":"typo"}`),
		kv("/vf/volumes/vol-5/switchover", `{"to":"i-0123456789abcdef0","reason":"move"}`),
	}, overrideNow)
	require.Equal(t, "volume pause: disk check", o.PausedReason("vol-1"))
	require.Empty(t, o.PausedReason("vol-2"), "an expired pause is no pause")
	require.NotEmpty(t, o.PausedReason("vol-3"), "a bad switchover pauses its volume")
	require.NotEmpty(t, o.PausedReason("vol-4"), "an unknown override pauses its volume")
	require.Empty(t, o.PausedReason("vol-5"))
	require.Contains(t, o.Switchovers, "vol-5")
	require.Len(t, o.Bad, 2)

	g := k.parseOverrides(kv("/vf/pause", `pause please`), nil, overrideNow)
	require.Contains(t, g.PausedReason("vol-9"), "global pause key does not parse")
	require.Len(t, g.Bad, 1)
	require.Equal(t, "/vf/pause", g.Bad[0].Key)

	ok := k.parseOverrides(kv("/vf/pause", `{"reason":"freeze"}`), nil, overrideNow)
	require.Equal(t, "global pause: freeze", ok.PausedReason("vol-9"))
}

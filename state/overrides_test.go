package state

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
		{"missing reason", `{"until":"2026-03-01T13:00:00Z"}`, false, "field reason is required"},
		{"blank reason", `{"reason":"  "}`, false, "field reason is required"},
		{"empty object", `{}`, false, `pause value "{}": field reason is required`},
		{"unknown field", `{"reason":"m","untill":"2026-03-01T13:00:00Z"}`, false, `unknown field "untill"`},
		{"bad time", `{"reason":"m","until":"tomorrow"}`, false, `pause value "{\"reason\":\"m\",\"until\":\"tomorrow\"}"`},
		{"not json", `pause please`, false, `pause value "pause please"`},
		{"trailing data", `{"reason":"m"} {}`, false, "trailing data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, inForce, err := ParsePause([]byte(tt.value), overrideNow)
			if tt.errPart != "" {
				require.ErrorContains(t, err, tt.errPart)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.inForce, inForce, "in force: got %t want %t", inForce, tt.inForce)
		})
	}
}

func TestParseSwitchover(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   string
		inForce bool
		errPart string
	}{
		{"plain", `{"to":"i-0123456789abcdef0","reason":"kernel"}`, true, ""},
		{"until passed", `{"to":"i-0123456789abcdef0","reason":"kernel","until":"2026-03-01T11:00:00Z"}`, false, ""},
		{"target not an instance", `{"to":"web-1","reason":"kernel"}`, false, `field to "web-1" is not an instance ID`},
		{"missing reason", `{"to":"i-0123456789abcdef0"}`, false, "field reason is required"},
		{"unknown field", `{"to":"i-0123456789abcdef0","reason":"k","force":true}`, false, `unknown field "force"`},
		{"not json", `i-0123456789abcdef0`, false, `switchover value "i-0123456789abcdef0"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, inForce, err := ParseSwitchover([]byte(tt.value), overrideNow)
			if tt.errPart != "" {
				require.ErrorContains(t, err, tt.errPart)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "i-0123456789abcdef0", s.To)
			require.Equal(t, tt.inForce, inForce, "in force: got %t want %t", inForce, tt.inForce)
		})
	}
}

func kv(key, value string) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)}
}

func TestParseOverridesBadValuesPause(t *testing.T) {
	k := Keys{Prefix: "/vf"}
	o := k.ParseOverrides(nil, []*mvccpb.KeyValue{
		kv("/vf/volumes/vol-1/pause", `{"reason":"disk check"}`),
		kv("/vf/volumes/vol-2/pause", `{"reason":"old","until":"2026-03-01T00:00:00Z"}`),
		kv("/vf/volumes/vol-3/switchover", `{"to":"nowhere"}`),
		kv("/vf/volumes/vol-4/pauze", `{"reason":"typo"}`),
		kv("/vf/volumes/vol-5/switchover", `{"to":"i-0123456789abcdef0","reason":"move"}`),
		kv("/vf/volumes/vol-6", `{"reason":"no name"}`),
	}, overrideNow)
	require.Equal(t, "volume pause: disk check", o.PausedReason("vol-1"))
	require.Empty(t, o.PausedReason("vol-2"), "an expired pause is no pause")
	require.NotEmpty(t, o.PausedReason("vol-3"), "a bad switchover pauses its volume")
	require.NotContains(t, o.Switchovers, "vol-3")
	require.NotEmpty(t, o.PausedReason("vol-4"), "an unknown override pauses its volume")
	require.Empty(t, o.PausedReason("vol-5"))
	require.Contains(t, o.Switchovers, "vol-5")
	require.NotEmpty(t, o.PausedReason("vol-6"), "a key without an override name pauses its volume")
	require.Empty(t, o.PausedReason("vol-7"), "a volume without overrides is not paused")
	require.Len(t, o.Bad, 3)
	require.ErrorContains(t, o.Bad[1].Err, `unknown override "pauze" (want pause, switchover or failover)`)

	g := k.ParseOverrides(kv("/vf/pause", `pause please`), nil, overrideNow)
	require.Contains(t, g.PausedReason("vol-9"), "global pause key does not parse")
	require.Len(t, g.Bad, 1)
	require.Equal(t, "/vf/pause", g.Bad[0].Key)

	ok := k.ParseOverrides(kv("/vf/pause", `{"reason":"freeze"}`), nil, overrideNow)
	require.Equal(t, "global pause: freeze", ok.PausedReason("vol-9"))

	expired := k.ParseOverrides(kv("/vf/pause", `{"reason":"freeze","until":"2026-03-01T11:00:00Z"}`), nil, overrideNow)
	require.Empty(t, expired.PausedReason("vol-9"), "an expired global pause is no pause")
}

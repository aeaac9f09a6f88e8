package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/state"
)

func TestDamper(t *testing.T) {
	d := Damper{Cooldown: 15 * time.Minute, Max: 3, Window: time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	for _, tt := range []struct {
		name     string
		times    []time.Time
		ok, flap bool
	}{
		{"first failover", nil, true, false},
		{"within cooldown", []time.Time{at(5 * time.Minute)}, false, false},
		{"after cooldown", []time.Time{at(20 * time.Minute)}, true, false},
		{"two in window, cooldown over", []time.Time{at(50 * time.Minute), at(20 * time.Minute)}, true, false},
		{"limit reached in window", []time.Time{at(50 * time.Minute), at(35 * time.Minute), at(20 * time.Minute)}, false, true},
		{"old ones fall out of the window", []time.Time{at(3 * time.Hour), at(2 * time.Hour), at(20 * time.Minute)}, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, flap, why := d.Allow(now, state.Damping{Failovers: tt.times})
			require.Equal(t, tt.ok, ok, "allowed: %s", why)
			require.Equal(t, tt.flap, flap)
			if !ok {
				require.NotEmpty(t, why)
			}
		})
	}
}

func TestDamperRecordTrimsAndRoundTrips(t *testing.T) {
	d := Damper{Cooldown: 15 * time.Minute, Max: 3, Window: time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := d.Record(now, state.Damping{Failovers: []time.Time{now.Add(-2 * time.Hour), now.Add(-30 * time.Minute)}})
	require.Equal(t, []time.Time{now.Add(-30 * time.Minute), now}, s.Failovers, "the 2h-old one is forgotten")
	back, err := state.ParseDamping([]byte(s.Encode()))
	require.NoError(t, err)
	require.True(t, back.Failovers[1].Equal(now))
}

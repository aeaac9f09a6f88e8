package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDamping(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := Damping{Failovers: []time.Time{t0, t0.Add(time.Minute)}}
	back, err := ParseDamping([]byte(d.Encode()))
	require.NoError(t, err)
	require.Equal(t, d, back, "got … want the record back from its stored form")
	require.JSONEq(t, `{"failovers":["2026-03-01T12:00:00Z","2026-03-01T12:01:00Z"]}`, d.Encode())

	for _, tt := range []struct{ name, value, wantErr string }{
		{"wrong type", `{"failovers":"often"}`, `damping value "{\"failovers\":\"often\"}"`},
		{"unknown field", `{"failovers":[],"last":"x"}`, `unknown field "last"`},
		{"not JSON", `3`, `damping value "3"`},
		{"trailing data", `{"failovers":[]} x`, "trailing data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDamping([]byte(tt.value))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

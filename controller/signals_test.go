package controller

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/volfailover/volfailover/health"
)

// TestSignalsOfStoresTheSameJSON guards the journal's format: records stored
// health.Signal values before state.Signal existed, and must still read back.
func TestSignalsOfStoresTheSameJSON(t *testing.T) {
	sigs := []health.Signal{
		{Source: health.SourceEC2State, Detail: "stopped", Since: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{Source: health.SourceWitnesses, Unknown: true, Detail: "no fresh report"},
		{Source: health.SourceProbe, OK: true},
	}
	want, err := json.Marshal(sigs)
	require.NoError(t, err)
	got, err := json.Marshal(signalsOf(sigs))
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got), "got … want the JSON health.Signal has")
	require.Nil(t, signalsOf(nil), "no signals stay omitted from the record")
}

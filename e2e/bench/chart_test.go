package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteTimelineChart(t *testing.T) {
	recs := []*RecoveryResult{
		{Profile: "instant", Recovery: Summary{N: 3}, Phases: map[string]Summary{"detection": {P50ms: 1200}, "reschedule": {P50ms: 400}}},
		{Profile: "aws-typical", Recovery: Summary{N: 3}, Phases: map[string]Summary{"detection": {P50ms: 2100}, "detach": {P50ms: 3000}}},
	}
	path := filepath.Join(t.TempDir(), "timeline.png")
	require.NoError(t, WriteTimelineChart(path, recs))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, "chart is a PNG")
	require.Greater(t, img.Bounds().Dx(), 400, "chart width in pixels")

	require.Error(t, WriteTimelineChart(path, nil), "no results, no chart")
}

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

func TestWriteOutageCharts(t *testing.T) {
	o := &Outage{Killed: 3, BackgroundLoad: 0.5, ServedS: []float64{4.2, 5, 9.5},
		Floor: NewPaperFloor(3, 0.5, "aws-typical"), FloorNoLoad: NewPaperFloor(3, 0, "aws-typical"),
		Tokens: map[string][]Point{"DetachVolume": {{0, 25}, {1, 22}, {2, 24.5}}, "AttachVolume": {{3, 25}, {4, 24}}}}
	dir := t.TempDir()
	for name, write := range map[string]func(string, *Outage) error{"outage.png": WriteOutageChart, "tokens.png": WriteTokensChart} {
		path := filepath.Join(dir, name)
		require.NoError(t, write(path, o), name)
		f, err := os.Open(path)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, "%s is a PNG", name)
		require.Greater(t, img.Bounds().Dx(), 400, "%s width in pixels", name)
		require.Error(t, write(path, &Outage{}), "%s: nothing to draw", name)
	}
}

package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteTimelineChart draws the recovery timeline of every profile as one
// horizontal bar of its phases' medians laid end to end, and saves it as a
// PNG (or SVG, by the file's extension) at path.
func WriteTimelineChart(path string, recs []*RecoveryResult) error {
	if len(recs) == 0 {
		return fmt.Errorf("recovery timeline chart: no recovery results")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Recovery timeline by step: median of each phase over %d runs, from the owner's death", recs[0].Recovery.N)
	p.Y.Padding = vg.Points(10)
	p.X.Label.Text = "seconds"
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = "   " + r.Profile // leading spaces keep the label clear of the left edge
	}
	w := vg.Points(28)
	var below *plotter.BarChart
	longest := 0.0
	for _, r := range recs {
		total := 0.0
		for _, phase := range Phases {
			total += r.Phases[phase].P50ms / 1000
		}
		longest = max(longest, total)
	}
	for i, phase := range Phases {
		vals := make(plotter.Values, len(recs))
		for j, r := range recs {
			vals[j] = r.Phases[phase].P50ms / 1000
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("recovery timeline chart: phase %s: %w", phase, err)
		}
		b.Horizontal = true
		b.LineStyle.Width = vg.Length(0)
		b.Color = phaseColor(i)
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(phase, b)
	}
	p.Legend.Top = true
	p.Legend.Left = false
	// Room on the right for the legend.
	p.X.Min, p.X.Max = 0, longest*1.4+0.1
	p.Y.Min, p.Y.Max = -0.7, float64(len(recs))-0.3
	p.NominalY(names...)
	p.Add(plotter.NewGrid())
	if err := p.Save(22*vg.Centimeter, 9*vg.Centimeter, path); err != nil {
		return fmt.Errorf("save recovery timeline chart %s: %w", path, err)
	}
	return nil
}

func phaseColor(i int) color.Color {
	if i == 0 {
		return color.RGBA{R: 180, G: 180, B: 180, A: 255}
	}
	return plotutil.SoftColors[(i-1)%len(plotutil.SoftColors)]
}

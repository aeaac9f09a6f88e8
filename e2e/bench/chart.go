package bench

import (
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/volfailover/volfailover/e2e/ec2sim"
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

// WriteOutageChart draws the AZ outage: volumes served again over time,
// against the paper floor at the run's background load and without it.
func WriteOutageChart(path string, o *Outage) error {
	if o == nil || len(o.ServedS) == 0 {
		return fmt.Errorf("outage chart: no volume was served")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("AZ outage: %d volumes served again over time, against EC2's request limits on paper", o.Killed)
	p.X.Label.Text = "seconds since the owners died"
	p.Y.Label.Text = "volumes served"
	measured := make(plotter.XYs, 0, len(o.ServedS)+1)
	measured = append(measured, plotter.XY{X: 0, Y: 0})
	for i, s := range o.ServedS {
		measured = append(measured, plotter.XY{X: s, Y: float64(i + 1)})
	}
	end := max(o.ServedS[len(o.ServedS)-1], o.Floor.TotalMs/1000, o.FloorNoLoad.TotalMs/1000) * 1.05
	lines := []struct {
		name string
		xys  plotter.XYs
		dash bool
	}{
		{"measured", measured, false},
		{fmt.Sprintf("paper floor, %.0f %% background load", o.Floor.BackgroundLoad*100), floorCurve(o.Floor, end), true},
	}
	if o.Floor.BackgroundLoad > 0 {
		lines = append(lines, struct {
			name string
			xys  plotter.XYs
			dash bool
		}{"paper floor, no background load", floorCurve(o.FloorNoLoad, end), true})
	}
	for i, l := range lines {
		ln, err := plotter.NewLine(l.xys)
		if err != nil {
			return fmt.Errorf("outage chart: %s: %w", l.name, err)
		}
		ln.StepStyle = plotter.PostStep
		ln.Color = plotutil.Color(i)
		ln.Width = vg.Points(1.5)
		if l.dash {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(ln)
		p.Legend.Add(l.name, ln)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(40)
	p.X.Min, p.X.Max = 0, end
	p.Y.Min, p.Y.Max = 0, float64(o.Killed)*1.05
	p.Add(plotter.NewGrid())
	if err := p.Save(22*vg.Centimeter, 11*vg.Centimeter, path); err != nil {
		return fmt.Errorf("save outage chart %s: %w", path, err)
	}
	return nil
}

// floorCurve samples PaperFloor.ServedBy every 0.25 s up to end seconds.
func floorCurve(f PaperFloor, end float64) plotter.XYs {
	var xys plotter.XYs
	for t := 0.0; t <= end; t += 0.25 {
		xys = append(xys, plotter.XY{X: t, Y: f.ServedBy(time.Duration(t * float64(time.Second)))})
	}
	return xys
}

// WriteTokensChart draws the tokens left in each of ec2sim's request
// buckets during the AZ outage, as a share of the bucket's maximum (after
// the background load), so buckets of 25 and of 500 tokens read alike.
func WriteTokensChart(path string, o *Outage) error {
	if o == nil || len(o.Tokens) == 0 {
		return fmt.Errorf("tokens chart: no token samples")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("EC2 request buckets during the AZ outage: tokens left (%.0f %% of each left to other tools)", o.BackgroundLoad*100)
	p.X.Label.Text = "seconds since the owners died"
	p.Y.Label.Text = "tokens left, % of the bucket's maximum"
	names := make([]string, 0, len(o.Tokens))
	for n := range o.Tokens {
		names = append(names, n)
	}
	sortStrings(names)
	end := 0.0
	for i, n := range names {
		capacity := ec2sim.PublishedLimit(n).Capacity * (1 - o.BackgroundLoad)
		xys := make(plotter.XYs, len(o.Tokens[n]))
		for j, pt := range o.Tokens[n] {
			xys[j] = plotter.XY{X: pt.S, Y: 100 * pt.V / capacity}
			end = max(end, pt.S)
		}
		ln, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("tokens chart: %s: %w", n, err)
		}
		ln.Color = plotutil.Color(i)
		ln.Dashes = plotutil.Dashes(i / len(plotutil.DefaultColors))
		ln.Width = vg.Points(1.2)
		p.Add(ln)
		p.Legend.Add(fmt.Sprintf("%s (max %g)", n, capacity), ln)
	}
	// The legend sits above the 100 % line.
	p.Legend.Top, p.Legend.Left = true, false
	p.X.Min, p.X.Max = 0, end
	p.Y.Min, p.Y.Max = 0, 210
	p.Add(plotter.NewGrid())
	if err := p.Save(22*vg.Centimeter, 13*vg.Centimeter, path); err != nil {
		return fmt.Errorf("save tokens chart %s: %w", path, err)
	}
	return nil
}

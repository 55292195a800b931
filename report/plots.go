package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The charts are drawn with gonum.org/v1/plot on its SVG canvas, without
// embedded fonts (the text names Liberation Sans; a browser without it falls
// back to another sans-serif face). The same groups always give the same
// SVG bytes on a given platform: nothing in a chart depends on the clock.

const (
	chartWidth  = 6.5 * vg.Inch
	chartHeight = 3.6 * vg.Inch
)

// palette is Okabe and Ito's colour-blind safe palette, one colour per
// registry in column order.
var palette = []color.NRGBA{
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
}

func colorOf(i int) color.NRGBA { return palette[i%len(palette)] }

// dashesOf gives each registry its own line pattern too, so the chart reads
// without colour. Past the palette (sweeps with many cells) the patterns
// shift by one for each round of colours, so that the first 18 styles are
// all different.
func dashesOf(i int) []vg.Length {
	switch (i%len(palette) + i/len(palette)) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

// newPlot returns a plot with sans-serif text.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	for _, f := range []*font.Font{
		&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font,
	} {
		f.Variant = "Sans"
	}
	return p
}

// logAxis reports whether times from lo to hi (ms, lo > 0) span enough
// decades to need a logarithmic axis.
func logAxis(lo, hi float64) bool { return lo > 0 && hi/lo >= 100 }

func setLogX(p *plot.Plot) {
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
}

// detectionCurveSVG draws the Kaplan–Meier estimate of P(detected by t) of
// every group on one chart, as step lines running to each group's longest
// trial.
// name labels each group's line, titlePrefix goes before the chart title and
// style(i) picks the colour and dash pattern of the i-th line.
func detectionCurveSVG(groups []Group, name func(Group) string, titlePrefix string, style func(int) int) ([]byte, error) {
	curves := make([]Curve, len(groups))
	minPos, horizon := math.Inf(1), 0.0
	for i, g := range groups {
		curves[i] = g.KaplanMeier()
		horizon = max(horizon, ms(curves[i].Horizon))
		for _, st := range curves[i].Steps {
			if t := ms(st.T); t > 0 {
				minPos = min(minPos, t)
			}
		}
	}
	p := newPlot(titlePrefix+"Detection curve (Kaplan-Meier)", "time since trial start (ms)", "P(detected by t)")
	x0 := 0.0
	if logAxis(minPos, horizon) {
		setLogX(p)
		x0 = minPos / 2
	}
	p.Y.Min, p.Y.Max = 0, 1.03 // a little room, so a line at 1 stays visible
	p.X.Min = x0
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(24)
	p.Add(plotter.NewGrid())
	for i, g := range groups {
		c := curves[i]
		xys := plotter.XYs{{X: x0, Y: 0}}
		for _, st := range c.Steps {
			xys = append(xys, plotter.XY{X: max(x0, ms(st.T)), Y: st.P})
		}
		xys = append(xys, plotter.XY{X: max(x0, ms(c.Horizon)), Y: c.Final()})
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("report: detection curve of %s: %w", g.Registry, err)
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width, line.Dashes = colorOf(style(i)), vg.Points(2), dashesOf(style(i))
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s: %d/%d detected", name(g), g.Detected, g.Runs), line)
	}
	p.X.Max = max(horizon, 1e-3) // above x0 = minPos/2 on a log axis; never empty
	return svgOf(p)
}

// ttffHistogramSVG draws the times to first failure of the detected trials
// of every group as overlaid histograms on shared bins; ok is false when no
// trial was detected.
func ttffHistogramSVG(groups []Group, name func(Group) string, titlePrefix string, style func(int) int) (svg []byte, ok bool, err error) {
	var all []float64
	for _, g := range groups {
		for _, d := range g.TTFF {
			all = append(all, ms(d))
		}
	}
	if len(all) == 0 {
		return nil, false, nil
	}
	lo, hi := slices.Min(all), slices.Max(all)
	nbins := min(40, max(5, int(math.Ceil(2*math.Cbrt(float64(len(all)))))))
	p := newPlot(titlePrefix+"Time to first failure (detected trials)", "time since trial start (ms)", "trials")
	edges := make([]float64, nbins+1)
	if logAxis(lo, hi) {
		setLogX(p)
		ratio := math.Pow(hi/lo, 1/float64(nbins))
		for i := range edges {
			edges[i] = lo * math.Pow(ratio, float64(i))
		}
	} else {
		lo = 0
		if hi <= 0 {
			hi = 1
		}
		for i := range edges {
			edges[i] = hi * float64(i) / float64(nbins)
		}
	}
	edges[nbins] = hi // exactly, so that the slowest trial falls in the last bin
	p.Legend.Top, p.Legend.Left = true, false
	p.Add(plotter.NewGrid())
	tallest := 0.0
	for i, g := range groups {
		if len(g.TTFF) == 0 {
			continue
		}
		// The bins are drawn from their own edges (Histogram.Width serves only
		// Normalize, and log bins have no one width).
		h := &plotter.Histogram{Bins: make([]plotter.HistogramBin, nbins)}
		for b := range h.Bins {
			h.Bins[b].Min, h.Bins[b].Max = edges[b], edges[b+1]
		}
		for _, d := range g.TTFF {
			t, b := ms(d), 0
			for b < nbins-1 && t >= edges[b+1] {
				b++
			}
			h.Bins[b].Weight++
			tallest = max(tallest, h.Bins[b].Weight)
		}
		fill := colorOf(style(i))
		fill.A = 0x80
		h.FillColor = fill
		h.LineStyle = draw.LineStyle{Color: colorOf(style(i)), Width: vg.Points(1)}
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s: %d detected", name(g), len(g.TTFF)), h)
	}
	p.Y.Min, p.Y.Max = 0, 1.3*tallest // room for the legend above the bars
	p.Y.Tick.Marker = countTicks{}
	svg, err = svgOf(p)
	return svg, err == nil, err
}

// countTicks marks whole numbers only, at a step of 1, 2 or 5 times a power
// of ten giving at most about five labels.
type countTicks struct{}

// Ticks implements plot.Ticker. It has no loop whose end depends on the
// arithmetic (a mutant of one would hang the tests instead of failing them).
func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	// The smallest of 1, 2, 5 and 10 times the power of ten below a fifth
	// of the range that is at least that fifth, and at least 1.
	fifth := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(fifth)))
	step := 10 * mag
	for _, m := range []float64{5, 2, 1} {
		if m*mag >= fifth {
			step = m * mag
		}
	}
	step = max(step, 1)
	first := math.Ceil(lo / step)
	n := int(math.Floor(hi/step)-first) + 1
	var ticks []plot.Tick
	for i := range n {
		v := (first + float64(i)) * step
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// svgOf draws p on an SVG canvas and returns the <svg> element alone, fit to
// be inlined in HTML (no XML prelude).
func svgOf(p *plot.Plot) ([]byte, error) {
	c := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: writing SVG: %w", err)
	}
	if _, svg, ok := bytes.Cut(buf.Bytes(), []byte("<svg")); ok {
		return append([]byte("<svg"), svg...), nil
	}
	return buf.Bytes(), nil
}

package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// chart is what a reader sees in one of the SVG charts, read back from the
// SVG the way gonum's vgsvg canvas writes it: titles, axes with their ticks,
// the plotted lines and bars in data coordinates, the legend.
//
// vgsvg draws in a group flipped upright (y grows upwards, like the data);
// text is flipped back, so a text's y attribute is minus its height on the
// page. Coordinates below are in that upright system, in points.
type chart struct {
	title, xLabel, yLabel string
	xTicks, yTicks        []chartTick // the labelled ticks, left to right, bottom to top
	xAxis, yAxis          [2]float64  // the axis lines' ends: left and right, bottom and top
	lines                 []chartLine // the plotted lines, in drawing order
	bars                  []chartBar  // the plotted bars, in drawing order
	legend                []legendEntry
	xLog                  bool
}

type chartTick struct {
	label string
	value float64
	pos   float64 // x of an x tick, y of a y tick
}

type chartPoint struct{ x, y float64 }

// chartLine is a plotted line, its points in data coordinates.
type chartLine struct {
	points       []chartPoint
	colour, dash string
}

// chartBar is a plotted bar, its edges in data coordinates.
type chartBar struct {
	x0, x1, height float64
	colour         string // the fill colour
	px0, px1       float64
}

type legendEntry struct {
	text         string
	colour, dash string // of the thumbnail (the fill of a bar's, else the stroke)
}

type svgText struct {
	s        string
	x, y     float64
	size     string
	rotated  bool
	fontName string
}

type svgPath struct {
	pts    []chartPoint
	closed bool
	style  map[string]string
}

func (p svgPath) minMax() (lo, hi chartPoint) {
	lo, hi = p.pts[0], p.pts[0]
	for _, q := range p.pts {
		lo.x, lo.y, hi.x, hi.y = min(lo.x, q.x), min(lo.y, q.y), max(hi.x, q.x), max(hi.y, q.y)
	}
	return lo, hi
}

var pathCommand = regexp.MustCompile(`([MLZ])(?:(-?[0-9.e+-]+),(-?[0-9.e+-]+))?`)

func parseChart(t *testing.T, svg []byte) chart {
	t.Helper()
	require.True(t, bytes.HasPrefix(svg, []byte("<svg")), "the chart is a bare <svg> element, fit to inline in HTML")
	var texts []svgText
	var paths []svgPath
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var rotations []bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the chart is well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch el.Name.Local {
			case "g":
				rotations = append(rotations, strings.Contains(attr["transform"], "rotate"))
			case "text":
				var s string
				require.NoError(t, dec.DecodeElement(&s, &el))
				style := parseStyle(attr["style"])
				texts = append(texts, svgText{s: s, x: num(t, attr["x"]), y: -num(t, attr["y"]), size: style["font-size"],
					rotated: slices.Contains(rotations, true), fontName: style["font-family"]})
			case "path":
				p := svgPath{style: parseStyle(attr["style"])}
				for _, m := range pathCommand.FindAllStringSubmatch(attr["d"], -1) {
					if m[1] == "Z" {
						p.closed = true
						continue
					}
					p.pts = append(p.pts, chartPoint{num(t, m[2]), num(t, m[3])})
				}
				paths = append(paths, p)
			}
		case xml.EndElement:
			if el.Name.Local == "g" {
				rotations = rotations[:len(rotations)-1]
			}
		}
	}

	var c chart
	// Titles: the 12px texts; the y label is the rotated one.
	var big []svgText
	var tickLabels []svgText
	for _, tx := range texts {
		require.Equal(t, "Liberation Sans", tx.fontName, "%q in a sans-serif face", tx.s)
		switch {
		case tx.rotated:
			c.yLabel = tx.s
		case tx.size == "12px":
			big = append(big, tx)
		case tx.size == "10px":
			tickLabels = append(tickLabels, tx)
		}
	}
	require.GreaterOrEqual(t, len(big), 2, "a title and an x label")
	slices.SortStableFunc(big, func(a, b svgText) int { return cmpFloat(b.y, a.y) })
	c.title, c.xLabel = big[0].s, big[len(big)-1].s
	legendTexts := big[1 : len(big)-1]

	// The axis lines are the longest black lines; the ticks the short ones
	// touching them, labelled when 8pt long.
	var black []svgPath
	for _, p := range paths {
		if p.style["stroke"] == "#000000" && len(p.pts) == 2 {
			black = append(black, p)
		}
	}
	longest := func(horizontal bool) svgPath {
		var best svgPath
		bestLen := -1.0
		for _, p := range black {
			d := chartPoint{p.pts[1].x - p.pts[0].x, p.pts[1].y - p.pts[0].y}
			if (horizontal && d.y == 0 && d.x > bestLen) || (!horizontal && d.x == 0 && d.y > bestLen) {
				best, bestLen = p, math.Abs(d.x+d.y)
			}
		}
		require.Positive(t, bestLen, "an axis line")
		return best
	}
	xLine, yLine := longest(true), longest(false)
	c.xAxis = [2]float64{xLine.pts[0].x, xLine.pts[1].x}
	c.yAxis = [2]float64{yLine.pts[0].y, yLine.pts[1].y}
	var xMajor, yMajor []float64
	for _, p := range black {
		a, b := p.pts[0], p.pts[1]
		switch {
		case a.x == b.x && math.Abs(b.y-a.y-8) < 1e-6 && math.Abs(b.y-xLine.pts[0].y) < 1e-6:
			xMajor = append(xMajor, a.x)
		case a.y == b.y && math.Abs(b.x-a.x-8) < 1e-6 && math.Abs(b.x-yLine.pts[0].x) < 1e-6:
			yMajor = append(yMajor, a.y)
		}
	}
	slices.Sort(xMajor)
	slices.Sort(yMajor)
	lowest := math.Inf(1)
	for _, tx := range tickLabels {
		lowest = min(lowest, tx.y)
	}
	for _, tx := range tickLabels {
		tick := chartTick{label: tx.s, value: num(t, tx.s)}
		if tx.y == lowest {
			tick.pos = tx.x
			c.xTicks = append(c.xTicks, tick)
		} else {
			tick.pos = tx.y
			c.yTicks = append(c.yTicks, tick)
		}
	}
	slices.SortFunc(c.xTicks, func(a, b chartTick) int { return cmpFloat(a.pos, b.pos) })
	slices.SortFunc(c.yTicks, func(a, b chartTick) int { return cmpFloat(a.pos, b.pos) })
	require.Len(t, xMajor, len(c.xTicks), "one labelled tick mark per x label")
	require.Len(t, yMajor, len(c.yTicks), "one labelled tick mark per y label")
	for i := range c.xTicks {
		c.xTicks[i].pos = xMajor[i]
	}
	for i := range c.yTicks {
		c.yTicks[i].pos = yMajor[i]
	}
	require.GreaterOrEqual(t, len(c.xTicks), 2, "x tick labels")
	require.GreaterOrEqual(t, len(c.yTicks), 2, "y tick labels")
	c.xLog = isLogSpaced(c.xTicks)

	// The legend's thumbnails are 20pt wide at the right edge of the chart;
	// each belongs to the legend text on its height.
	width := num(t, string(regexp.MustCompile(`viewBox="0 0 ([0-9.]+)`).FindSubmatch(svg)[1]))
	var thumbs []svgPath
	var data []svgPath
	for _, p := range paths {
		lo, hi := p.minMax()
		switch {
		case math.Abs(hi.x-width) < 1e-6 && math.Abs(hi.x-lo.x-20) < 1e-6:
			thumbs = append(thumbs, p)
		case p.style["stroke"] == "#000000" || p.style["stroke"] == "#808080" || p.style["fill"] == "#FFFFFF":
		default:
			data = append(data, p)
		}
	}
	for _, tx := range legendTexts {
		best, bestD := -1, math.Inf(1)
		for i, p := range thumbs {
			lo, hi := p.minMax()
			if d := math.Abs((lo.y+hi.y)/2 - (tx.y + 3)); d < bestD {
				best, bestD = i, d
			}
		}
		require.GreaterOrEqual(t, best, 0, "a thumbnail for %q", tx.s)
		p := thumbs[best]
		e := legendEntry{text: tx.s, colour: p.style["stroke"], dash: p.style["stroke-dasharray"]}
		if p.closed {
			e.colour = p.style["fill"]
		}
		c.legend = append(c.legend, e)
	}

	// Lines are 2pt wide; bars are filled closed paths (each drawn again as
	// its 1pt outline, skipped here).
	for _, p := range data {
		switch {
		case p.closed && p.style["fill"] != "none":
			lo, hi := p.minMax()
			c.bars = append(c.bars, chartBar{x0: c.x(lo.x), x1: c.x(hi.x), height: c.y(hi.y) - c.y(lo.y), colour: p.style["fill"], px0: lo.x, px1: hi.x})
		case p.style["stroke-width"] == "2":
			l := chartLine{colour: p.style["stroke"], dash: p.style["stroke-dasharray"]}
			for _, q := range p.pts {
				l.points = append(l.points, chartPoint{c.x(q.x), c.y(q.y)})
			}
			c.lines = append(c.lines, l)
		}
	}
	return c
}

func parseStyle(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(kv, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	require.NoError(t, err, "%q is a number", s)
	return x
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isLogSpaced reports whether the ticks sit at positions linear in the log
// of their values rather than in the values.
func isLogSpaced(ticks []chartTick) bool {
	if len(ticks) < 3 || ticks[0].value <= 0 {
		return false
	}
	linear, logarithmic := residual(ticks, func(v float64) float64 { return v }), residual(ticks, math.Log10)
	return logarithmic < linear
}

// residual is how far the middle ticks sit from the line through the first
// and last, mapping values by f, in points.
func residual(ticks []chartTick, f func(float64) float64) float64 {
	a, b := ticks[0], ticks[len(ticks)-1]
	worst := 0.0
	for _, tk := range ticks[1 : len(ticks)-1] {
		want := a.pos + (f(tk.value)-f(a.value))/(f(b.value)-f(a.value))*(b.pos-a.pos)
		worst = max(worst, math.Abs(want-tk.pos))
	}
	return worst
}

// x returns the data value at position px on the x axis.
func (c chart) x(px float64) float64 {
	a, b := c.xTicks[0], c.xTicks[len(c.xTicks)-1]
	frac := (px - a.pos) / (b.pos - a.pos)
	if c.xLog {
		return math.Pow(10, math.Log10(a.value)+frac*(math.Log10(b.value)-math.Log10(a.value)))
	}
	return a.value + frac*(b.value-a.value)
}

// y returns the data value at position py on the y axis.
func (c chart) y(py float64) float64 {
	a, b := c.yTicks[0], c.yTicks[len(c.yTicks)-1]
	return a.value + (py-a.pos)/(b.pos-a.pos)*(b.value-a.value)
}

// xRange and yRange return the data values at the ends of the axes.
func (c chart) xRange() (lo, hi float64) { return c.x(c.xAxis[0]), c.x(c.xAxis[1]) }
func (c chart) yRange() (lo, hi float64) { return c.y(c.yAxis[0]), c.y(c.yAxis[1]) }

func (c chart) tickLabels(ticks []chartTick) []string {
	var s []string
	for _, tk := range ticks {
		s = append(s, tk.label)
	}
	return s
}

// rises returns where a step line goes up: the x of each vertical segment
// and the height it reaches.
func (l chartLine) rises() []chartPoint {
	var r []chartPoint
	for i := 1; i < len(l.points); i++ {
		a, b := l.points[i-1], l.points[i]
		if b.y > a.y+1e-9 {
			r = append(r, b)
		}
	}
	return r
}

package report

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// groupOf returns a group with the given observations (times in ms).
func groupOf(registry string, obs ...Sample) Group {
	g := Group{Scenario: "bpo24484", Registry: registry, Runs: len(obs), Samples: obs}
	for _, o := range obs {
		if o.Detected {
			g.Detected++
			g.TTFF = append(g.TTFF, o.T)
		}
	}
	slices.Sort(g.TTFF)
	return g
}

func det(ms float64) Sample {
	return Sample{T: time.Duration(ms * float64(time.Millisecond)), Detected: true}
}

func cens(ms float64) Sample {
	return Sample{T: time.Duration(ms * float64(time.Millisecond))}
}

func registryName(g Group) string { return g.Registry }

func sameStyle(i int) int { return i }

func curveChart(t *testing.T, groups ...Group) chart {
	t.Helper()
	svg, err := detectionCurveSVG(groups, registryName, "bpo24484: ", sameStyle)
	require.NoError(t, err)
	return parseChart(t, svg)
}

func histogramChart(t *testing.T, groups ...Group) chart {
	t.Helper()
	svg, ok, err := ttffHistogramSVG(groups, registryName, "bpo24484: ", sameStyle)
	require.NoError(t, err)
	require.True(t, ok)
	return parseChart(t, svg)
}

// inDelta asserts points equal within tolerances in x and y.
func assertPoints(t *testing.T, want, got []chartPoint, dx, dy float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: %v", msg, got)
	for i := range want {
		assert.InDelta(t, want[i].x, got[i].x, dx, "%s: point %d x", msg, i)
		assert.InDelta(t, want[i].y, got[i].y, dy, "%s: point %d y", msg, i)
	}
}

func assertMonotone(t *testing.T, l chartLine) {
	t.Helper()
	for i := 1; i < len(l.points); i++ {
		assert.GreaterOrEqual(t, l.points[i].x, l.points[i-1].x-1e-9, "the line runs left to right, point %d", i)
		assert.GreaterOrEqual(t, l.points[i].y, l.points[i-1].y-1e-9, "the curve never falls, point %d", i)
	}
}

func TestDetectionCurveShowsTheEstimate(t *testing.T) {
	// The hand-worked sample of stats_test.go: steps at 1, 3 and 5ms to 1/7,
	// 17/35 and 26/35, the longest trial 6ms; and a registry never
	// detected in 4 trials of 4ms.
	unfixed := groupOf("unfixed", handWorked...)
	fixed := groupOf("fixed", cens(4), cens(4), cens(4), cens(4))
	c := curveChart(t, unfixed, fixed)

	assert.Equal(t, "bpo24484: Detection curve (Kaplan-Meier)", c.title)
	assert.Equal(t, "time since trial start (ms)", c.xLabel)
	assert.Equal(t, "P(detected by t)", c.yLabel)
	assert.False(t, c.xLog, "6ms from 1ms is no reason for a log axis")
	lo, hi := c.xRange()
	assert.InDelta(t, 0, lo, 0.01, "time starts at zero")
	assert.InDelta(t, 6, hi, 0.01, "and ends at the longest trial")
	lo, hi = c.yRange()
	assert.InDelta(t, 0, lo, 0.002)
	assert.InDelta(t, 1.03, hi, 0.002, "a little room above 1")
	assert.Equal(t, []string{"0.0", "0.5", "1.0"}, c.tickLabels(c.yTicks))

	require.Len(t, c.lines, 2, "one line per registry")
	u, f := c.lines[0], c.lines[1]
	assertMonotone(t, u)
	assertMonotone(t, f)
	assert.Equal(t, chartPoint{0, 0}, roundPoint(u.points[0]), "the curve starts at 0 at time 0")
	assertPoints(t, []chartPoint{{1, 1.0 / 7}, {3, 17.0 / 35}, {5, 26.0 / 35}}, u.rises(), 0.01, 0.002, "unfixed rises at its detections")
	assertPoints(t, []chartPoint{{6, 26.0 / 35}}, u.points[len(u.points)-1:], 0.01, 0.002, "unfixed runs on to its longest trial")
	assert.Empty(t, f.rises(), "fixed never rises")
	assertPoints(t, []chartPoint{{0, 0}, {4, 0}}, []chartPoint{f.points[0], f.points[len(f.points)-1]}, 0.01, 0.002, "fixed stays at 0 up to its longest trial")

	assert.Equal(t, []legendEntry{
		{text: "unfixed: 4/7 detected", colour: u.colour, dash: u.dash},
		{text: "fixed: 0/4 detected", colour: f.colour, dash: f.dash},
	}, c.legend, "the legend names each line in its colour and pattern")
	assert.NotEqual(t, u.colour, f.colour)
	assert.NotEqual(t, u.dash, f.dash)
	assert.Empty(t, u.dash, "the first line is solid")
}

func roundPoint(p chartPoint) chartPoint {
	return chartPoint{math.Round(p.x*100) / 100, math.Round(p.y*1000) / 1000}
}

func TestDetectionCurveOnALogAxis(t *testing.T) {
	// Detections spanning three decades, one at time zero, the longest trial
	// 2s: a log axis from half the first positive detection.
	g := groupOf("unfixed", det(0), det(1), det(10), det(100), det(1000), cens(2000))
	c := curveChart(t, g)
	require.True(t, c.xLog, "three decades get a log axis")
	assert.Equal(t, []string{"1", "10", "100", "1000"}, c.tickLabels(c.xTicks))
	gaps := []float64{c.xTicks[1].pos - c.xTicks[0].pos, c.xTicks[2].pos - c.xTicks[1].pos, c.xTicks[3].pos - c.xTicks[2].pos}
	assert.InDelta(t, gaps[0], gaps[1], 0.05, "decades are equally wide")
	assert.InDelta(t, gaps[1], gaps[2], 0.05, "decades are equally wide")
	lo, hi := c.xRange()
	assert.InDelta(t, 0.5, lo, 0.005, "the axis starts at half the first positive detection")
	assert.InDelta(t, 2000, hi, 1, "and ends at the longest trial")

	require.Len(t, c.lines, 1)
	l := c.lines[0]
	assertMonotone(t, l)
	assertPoints(t, []chartPoint{{0.5, 1.0 / 6}, {1, 2.0 / 6}, {10, 3.0 / 6}, {100, 4.0 / 6}, {1000, 5.0 / 6}}, l.rises(),
		0.01, 0.002, "rises at each detection, the one at zero at the left edge")
	for i, want := range []float64{0.5, 1, 10, 100, 1000} {
		assert.InDelta(t, math.Log10(want), math.Log10(l.rises()[i].x), 0.002, "rise %d", i)
	}
	assertPoints(t, []chartPoint{{2000, 5.0 / 6}}, l.points[len(l.points)-1:], 1, 0.002, "runs on to the longest trial")
	assert.Equal(t, []legendEntry{{text: "unfixed: 5/6 detected", colour: l.colour}}, c.legend)
}

func TestDetectionCurveAxisChoice(t *testing.T) {
	for _, c := range []struct {
		first, last float64
		log         bool
	}{
		{1, 100, true},   // two decades: log
		{1, 99, false},   // not quite: linear
		{0.01, 1, true},  // microseconds to a millisecond
		{0, 1000, false}, // a detection at zero and nothing else positive but the last
	} {
		g := groupOf("unfixed", det(c.first), det(c.last))
		got := curveChart(t, g)
		assert.Equal(t, c.log, got.xLog, "detections at %gms and %gms", c.first, c.last)
		lo, hi := got.xRange()
		if c.log {
			assert.InDelta(t, c.first/2, lo, c.first/100, "from half the first detection")
		} else {
			assert.InDelta(t, 0, lo, 1e-6, "from zero")
		}
		assert.InDelta(t, c.last, hi, c.last/500, "to the last")
	}
	t.Run("a run of zero-length trials still gets an axis", func(t *testing.T) {
		got := curveChart(t, groupOf("unfixed", cens(0), cens(0)))
		lo, hi := got.xRange()
		assert.InDelta(t, 0, lo, 1e-9)
		assert.InDelta(t, 0.001, hi, 1e-6)
		require.Len(t, got.lines, 1)
		assert.Empty(t, got.lines[0].rises())
	})
}

func TestChartStylesStayApart(t *testing.T) {
	// A sweep with many cells: the first 18 lines differ in colour or
	// pattern, so the chart reads in black and white too.
	var groups []Group
	for i := range 18 {
		groups = append(groups, groupOf(fmt.Sprintf("cell%02d", i), det(float64(i+1)), cens(20)))
	}
	c := curveChart(t, groups...)
	require.Len(t, c.legend, 18)
	require.Len(t, c.lines, 18)
	seen := map[[2]string]string{}
	dashes := map[string]bool{}
	for i, e := range c.legend {
		assert.Equal(t, fmt.Sprintf("cell%02d: 1/2 detected", i), e.text)
		assert.Equal(t, [2]string{c.lines[i].colour, c.lines[i].dash}, [2]string{e.colour, e.dash}, "legend %d matches its line", i)
		key := [2]string{e.colour, e.dash}
		assert.Empty(t, seen[key], "%s looks like %s", e.text, seen[key])
		seen[key] = e.text
		dashes[e.dash] = true
	}
	assert.Len(t, dashes, 3, "solid, dashed and dotted")
	colours := map[string]bool{}
	for _, e := range c.legend[:6] {
		colours[e.colour] = true
	}
	assert.Len(t, colours, 6, "the first six lines have six colours")
}

func TestHistogramShowsTheTimes(t *testing.T) {
	// 7 detections in all: 5 bins over 0..10ms, edges 0, 2, 4, 6, 8, 10. A
	// time on an edge goes in the bin above it; the slowest in the last.
	a := groupOf("unfixed", det(1), det(2), det(2), det(3), det(10), cens(10))
	b := groupOf("racy", det(4), det(10))
	none := groupOf("fixed", cens(10), cens(10))
	c := histogramChart(t, a, none, b)

	assert.Equal(t, "bpo24484: Time to first failure (detected trials)", c.title)
	assert.Equal(t, "time since trial start (ms)", c.xLabel)
	assert.Equal(t, "trials", c.yLabel)
	assert.False(t, c.xLog)
	lo, hi := c.xRange()
	assert.InDelta(t, 0, lo, 0.01)
	assert.InDelta(t, 10, hi, 0.01)
	lo, hi = c.yRange()
	assert.InDelta(t, 0, lo, 0.01)
	assert.InDelta(t, 3.9, hi, 0.01, "room above the tallest bar (3) for the legend")
	assert.Equal(t, []string{"0", "1", "2", "3"}, c.tickLabels(c.yTicks), "whole counts only")

	byColour := map[string][]chartBar{}
	var order []string
	for _, bar := range c.bars {
		if _, ok := byColour[bar.colour]; !ok {
			order = append(order, bar.colour)
		}
		byColour[bar.colour] = append(byColour[bar.colour], bar)
	}
	require.Len(t, order, 2, "bars for the two registries with detections")
	heights := func(bars []chartBar) []float64 {
		var h []float64
		for _, bar := range bars {
			h = append(h, math.Round(bar.height*100)/100)
		}
		return h
	}
	assert.Equal(t, []float64{1, 3, 0, 0, 1}, heights(byColour[order[0]]), "unfixed: 1 | 2 2 3 | | | 10")
	assert.Equal(t, []float64{0, 0, 1, 0, 1}, heights(byColour[order[1]]), "racy: | | 4 | | 10")
	for i, bar := range byColour[order[0]] {
		assert.InDelta(t, 2*float64(i), bar.x0, 0.01, "bin %d starts", i)
		assert.InDelta(t, 2*float64(i+1), bar.x1, 0.01, "bin %d ends", i)
	}
	assert.Equal(t, []legendEntry{
		{text: "unfixed: 5 detected", colour: order[0]},
		{text: "racy: 2 detected", colour: order[1]},
	}, c.legend, "no entry for a registry never detected")
}

func TestHistogramOnALogAxis(t *testing.T) {
	// 2ms to 2s: 5 bins with edges 2 x 1000^(i/5): 2, 7.96, 31.7, 126, 502,
	// 2000. 20 falls in the second, 200 in the fourth.
	c := histogramChart(t, groupOf("unfixed", det(2), det(20), det(200), det(2000)))
	require.True(t, c.xLog)
	lo, hi := c.xRange()
	assert.InDelta(t, math.Log10(2), math.Log10(lo), 0.002, "from the fastest")
	assert.InDelta(t, math.Log10(2000), math.Log10(hi), 0.002, "to the slowest")
	require.Len(t, c.bars, 5)
	var heights []float64
	for i, bar := range c.bars {
		heights = append(heights, math.Round(bar.height*100)/100)
		assert.InDelta(t, math.Log10(2)+0.6*float64(i), math.Log10(bar.x0), 0.002, "bin %d starts at 2 x 1000^(%d/5)", i, i)
		assert.InDelta(t, math.Log10(2)+0.6*float64(i+1), math.Log10(bar.x1), 0.002, "bin %d ends", i)
		assert.InDelta(t, c.bars[0].px1-c.bars[0].px0, bar.px1-bar.px0, 0.01, "bins are equally wide on the page")
	}
	assert.Equal(t, []float64{1, 1, 0, 1, 1}, heights, "2 | 20 | | 200 | 2000")
	_, top := c.yRange()
	assert.InDelta(t, 1.3, top, 0.01)
	assert.Equal(t, []string{"0", "1"}, c.tickLabels(c.yTicks))
}

func TestHistogramEdgeCases(t *testing.T) {
	t.Run("no detection, no histogram", func(t *testing.T) {
		svg, ok, err := ttffHistogramSVG([]Group{groupOf("fixed", cens(4))}, registryName, "", sameStyle)
		assert.NoError(t, err)
		assert.False(t, ok)
		assert.Nil(t, svg)
	})
	t.Run("detections at time zero only: one bar on an axis to 1ms", func(t *testing.T) {
		c := histogramChart(t, groupOf("unfixed", det(0), det(0), det(0)))
		assert.False(t, c.xLog)
		lo, hi := c.xRange()
		assert.InDelta(t, 0, lo, 1e-6)
		assert.InDelta(t, 1, hi, 1e-3)
		require.Len(t, c.bars, 5)
		assert.InDelta(t, 3, c.bars[0].height, 0.01)
		assert.InDelta(t, 0.2, c.bars[0].x1, 0.001)
	})
	t.Run("a detection at zero keeps the axis linear", func(t *testing.T) {
		c := histogramChart(t, groupOf("unfixed", det(0), det(500)))
		assert.False(t, c.xLog)
		lo, hi := c.xRange()
		assert.InDelta(t, 0, lo, 0.01)
		assert.InDelta(t, 500, hi, 0.5)
	})
	t.Run("the number of bins grows with the cube root of the detections, up to 40", func(t *testing.T) {
		for _, c := range []struct{ n, bins int }{{4, 5}, {16, 6}, {1000, 20}, {8000, 40}, {20000, 40}} {
			var obs []Sample
			for i := range c.n {
				obs = append(obs, det(1+49*float64(i)/float64(c.n)))
			}
			got := histogramChart(t, groupOf("unfixed", obs...))
			assert.Len(t, got.bars, c.bins, "%d detections", c.n)
			total := 0.0
			for _, bar := range got.bars {
				total += bar.height
			}
			assert.InEpsilon(t, float64(c.n), total, 1e-3, "%d detections: every one in a bar", c.n)
		}
	})
}

func TestCountTicksAtTheirBounds(t *testing.T) {
	ticks := func(lo, hi float64) (values []float64, labels []string) {
		for _, tk := range (countTicks{}).Ticks(lo, hi) {
			values, labels = append(values, tk.Value), append(labels, tk.Label)
		}
		return values, labels
	}
	v, l := ticks(0, 10)
	assert.Equal(t, []float64{0, 2, 4, 6, 8, 10}, v, "the top is marked when it is a whole step")
	assert.Equal(t, []string{"0", "2", "4", "6", "8", "10"}, l)
	v, _ = ticks(0, 5)
	assert.Equal(t, []float64{0, 1, 2, 3, 4, 5}, v, "five steps of one")
	v, _ = ticks(3, 14)
	assert.Equal(t, []float64{5, 10}, v, "from the first whole step above the bottom")
	v, _ = ticks(20, 26)
	assert.Equal(t, []float64{20, 22, 24, 26}, v, "the step fits the span, not the top")
	v, _ = ticks(0, 1000)
	assert.Equal(t, []float64{0, 200, 400, 600, 800, 1000}, v)
	v, _ = ticks(0, 2500)
	assert.Equal(t, []float64{0, 500, 1000, 1500, 2000, 2500}, v, "five steps of 500")
	v, _ = ticks(0, 2600)
	assert.Equal(t, []float64{0, 1000, 2000}, v, "past five steps the step grows")
	v, l = ticks(0, 130000)
	assert.Equal(t, []float64{0, 50000, 100000}, v)
	assert.Equal(t, []string{"0", "50000", "100000"}, l, "counts in plain digits")
	v, _ = ticks(0, 0.5)
	assert.Equal(t, []float64{0}, v, "no fractions")
	v, _ = ticks(7, 7)
	assert.Equal(t, []float64{7}, v, "a range of one value marks it")
	v, _ = ticks(0, 1)
	assert.Equal(t, []float64{0, 1}, v)
	v, _ = ticks(0, 6)
	assert.Equal(t, []float64{0, 2, 4, 6}, v, "past five steps of one, steps of two")
}

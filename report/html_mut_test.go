package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTMLSweepChartsDrawEachCellItsOwnWay(t *testing.T) {
	page := render(t, "html", Summarize(sweepFixture()))
	svgs := svgElement.FindAll(page, -1)
	require.Len(t, svgs, 4)
	c := parseChart(t, svgs[0]) // unfixed: the detection curve, one line per cell
	require.Len(t, c.lines, 4)
	seen := map[[2]string]int{}
	for i, l := range c.lines {
		key := [2]string{l.colour, l.dash}
		_, dup := seen[key]
		assert.False(t, dup, "cell %d is drawn as cell %d", i, seen[key])
		seen[key] = i
	}
}

func TestHeatColorInkTurnsWhiteAbove55Percent(t *testing.T) {
	// 11 of 20 is 55% exactly: the background is still light enough for
	// dark text; one more detection darkens it past the switch.
	for _, c := range []struct {
		detected, runs int
		ink            string
	}{{11, 20, "#222222"}, {12, 20, "#ffffff"}, {54, 100, "#222222"}, {56, 100, "#ffffff"}} {
		g := Group{Runs: c.runs, Detected: c.detected}
		_, ink := heatColor(g.Rate())
		assert.Equal(t, c.ink, ink, "%d of %d", c.detected, c.runs)
	}
}

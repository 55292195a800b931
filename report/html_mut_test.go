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

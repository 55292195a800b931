package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// oneDimSweep returns the records of registries swept over gogc=1 and
// gogc=10, each cell n trials of which hits were hits and errors harness
// errors; a registry whose name starts with "fixed" is clean, the others
// controls.
func oneDimSweep(n, hits, errors int, registries ...string) []result.Record {
	var rs []result.Record
	for _, cell := range []string{"gogc=1", "gogc=10"} {
		for _, reg := range registries {
			role := result.Control
			if strings.HasPrefix(reg, "fixed") {
				role = result.Clean
			}
			part := trials(reg, role, n, hits, errors)
			for i := range part {
				part[i].Cell = cell
				part[i].Trial = len(rs)
				rs = append(rs, part[i])
			}
		}
	}
	return rs
}

func matrixTitles(t *testing.T, s Summary) []string {
	t.Helper()
	var titles []string
	for _, l := range strings.Split(string(render(t, "table", s)), "\n") {
		if title, ok := strings.CutPrefix(l, "matrix "); ok {
			titles = append(titles, title)
		}
	}
	return titles
}

func TestMatrixCaptionSaysWhichRate(t *testing.T) {
	cases := []struct {
		registries []string
		want       string
	}{
		{[]string{"unfixed", "fixed"}, "detection (controls) or failure (clean) rate [95% CI], ttff median (KM) per cell"},
		{[]string{"fixed", "unfixed"}, "detection (controls) or failure (clean) rate [95% CI], ttff median (KM) per cell"},
		{[]string{"unfixed", "old"}, "detection rate [95% CI], ttff median (KM) per cell"},
		{[]string{"fixed", "fixed-v2"}, "failure rate [95% CI], ttff median (KM) per cell"},
	}
	for _, c := range cases {
		s := Summarize(oneDimSweep(3, 1, 0, c.registries...))
		require.Len(t, s.Sweeps(), 1)
		require.False(t, s.Sweeps()[0].Grid(), "one dimension: one matrix for all registries")
		assert.Equal(t, []string{c.want}, matrixTitles(t, s), "%v", c.registries)
	}
}

func TestMatrixCellOfACellWithNoValidTrial(t *testing.T) {
	// Every trial of fixed ended in a harness error: its cells have no
	// rate, a dash in the table and a grey heat-map cell.
	rs := oneDimSweep(3, 1, 0, "unfixed")
	rs = append(rs, oneDimSweep(3, 0, 3, "fixed")...)
	for i := range rs {
		rs[i].Trial = i
	}
	s := Summarize(rs)
	ms := s.Sweeps()[0].tables()
	require.Len(t, ms, 1)
	require.Len(t, ms[0].Rows, 2)
	for _, row := range ms[0].Rows {
		assert.Equal(t, "-", row[2], "fixed at %s", row[0])
		assert.NotEqual(t, "-", row[1], "unfixed at %s", row[0])
	}
	page := string(render(t, "html", s))
	assert.Equal(t, 2, strings.Count(page, `<td style="background-color: #eeeeee; color: #222222">-</td>`), "a grey dash per cell of fixed")
}

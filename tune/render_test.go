package tune

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Markdown(&b, fixtureTable()))
	golden(t, "search-markdown.golden", b.Bytes())
	// Without times to first failure the column goes.
	tab := fixtureTable()
	for i := range tab.Cells {
		tab.Cells[i].MedianTTFF = 0
	}
	b.Reset()
	require.NoError(t, Markdown(&b, tab))
	assert.NotContains(t, b.String(), "median TTFF")
	lines := strings.Split(b.String(), "\n")
	assert.Equal(t, "| **winner** | gogc=1 procs=4 isolation=pool | 3 | 1412 | 1390 | 61.2s | 22.7/s | [21.5/s, 24/s] |", lines[2])
	assert.Equal(t, `| | threads=32 &lt;a\|b&gt; | 1 | 100 | 0 | 14.1s | 0/s | [0/s, 0.262/s] |`, lines[5])
	assert.Equal(t, "| | slots=512 per-slot=160 max-priority=1600 sleep-scale=0.8 | 0 | 0 | 0 | - | - | - |", lines[6])
}

func TestHTMLGolden(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, HTML(&b, fixtureTable()))
	golden(t, "search-html.golden", b.Bytes())

	// The fragment is well-formed, and the chart draws each known cell's
	// bar to its hazard and its line across its interval on one scale
	// (the axis ends at 25/s, past the highest upper bound, 23.9/s).
	dec := xml.NewDecoder(strings.NewReader("<div>" + b.String() + "</div>"))
	dec.Strict = true
	var rects []map[string]string
	texts := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			a := map[string]string{}
			for _, at := range se.Attr {
				a[at.Name.Local] = at.Value
			}
			rects = append(rects, a)
		}
		if cd, ok := tok.(xml.CharData); ok {
			texts[strings.TrimSpace(string(cd))] = true
		}
	}
	tab := fixtureTable()
	require.Len(t, rects, 4, "a bar for each cell that ran")
	for i, r := range rects {
		w, err := strconv.ParseFloat(r["width"], 64)
		require.NoError(t, err)
		assert.InDelta(t, plotW*tab.Cells[i].PerSecond/25, w, 0.05, tab.Cells[i].Cell.Label)
	}
	assert.Equal(t, winnerColor, rects[0]["fill"])
	assert.Equal(t, barColor, rects[1]["fill"])
	assert.True(t, texts["threads=32 <a|b>"], "labels are escaped and read back")
	assert.True(t, texts["25"], "the axis ends at 25")
	assert.True(t, texts["slots=512 per-slot=160 max-prio…"], "long labels are cut in the chart")
}

func TestNiceAxis(t *testing.T) {
	for _, c := range []struct{ v, top, step float64 }{
		{23.921, 25, 5}, {10, 10, 1}, {0.26, 0.3, 0.05}, {0, 1, 0.2}, {1.01, 1.2, 0.2}, {99, 100, 10},
	} {
		top, step := niceAxis(c.v)
		assert.InDelta(t, c.top, top, 1e-12, "%v", c.v)
		assert.InDelta(t, c.step, step, 1e-12, "%v", c.v)
	}
}

package report

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/racestress/racestress/result"
)

// sweepFixture returns fixed records of a 2×2 sweep, gogc=1,10 × procs=1,2,
// of the bpo24484 scenario, 5 rounds of unfixed (control) and fixed (clean)
// per cell, in the order the harness runs them (round by round, each round
// every cell, each cell every registry). The unfixed registry is detected
// more often and sooner at gogc=1 and with two procs; the fixed one fails
// once, at gogc=10 procs=2.
func sweepFixture() []result.Record {
	start := time.Date(2025, 6, 24, 12, 0, 0, 0, time.UTC)
	trialLen := int64(2 * time.Second)
	type cell struct {
		label      string
		gogc, proc int
		detect     int           // unfixed trials detected per 5 rounds
		ttff       time.Duration // first detection time; later ones grow
	}
	cells := []cell{
		{"gogc=1 procs=1", 1, 1, 4, 3 * time.Millisecond},
		{"gogc=1 procs=2", 1, 2, 5, 700 * time.Microsecond},
		{"gogc=10 procs=1", 10, 1, 1, 900 * time.Millisecond},
		{"gogc=10 procs=2", 10, 2, 3, 40 * time.Millisecond},
	}
	var rs []result.Record
	for round := range 5 {
		for _, c := range cells {
			k := knobs
			k.Seconds, k.GOGC, k.Procs = 2, c.gogc, c.proc
			for _, reg := range []string{"unfixed", "fixed"} {
				r := result.Record{Trial: len(rs), Seed: 2000 + int64(round), Scenario: "bpo24484", Registry: reg, Cell: c.label,
					Role: roleOf(reg), Knobs: k, Start: start.Add(time.Duration(len(rs)) * 3 * time.Second),
					Outcome: result.OK, Grade: result.Acceptable, DurationNs: trialLen}
				switch {
				case reg == "unfixed" && round < c.detect:
					ttff := int64(c.ttff) * int64(round+1)
					r.Outcome, r.Grade, r.Detected, r.Signature, r.TTFFNanos, r.DurationNs = result.ChangedSize, result.Forbidden, true, true, ttff, ttff
					r.FirstError = "changed-size: registry changed size during iteration: removed 1"
					r.Mutations = map[string]int{"removed": 1}
				case reg == "fixed" && c.label == "gogc=10 procs=2" && round == 2:
					r.Outcome, r.Grade, r.Detected, r.TTFFNanos, r.DurationNs = result.Lost, result.Forbidden, true, int64(1500*time.Millisecond), int64(1500*time.Millisecond)
					r.FirstError = "lost: 1 finalizer never called"
					r.Warnings = []string{"the registry was not empty at teardown"}
				}
				// 250k objects/s per proc, 80% of them called back by the GC.
				r.Counts = result.Counts{Objects: uint64(r.DurationNs / 4000 * int64(c.proc)), CalledByGC: uint64(r.DurationNs / 5000 * int64(c.proc))}
				rs = append(rs, r)
			}
		}
	}
	return rs
}

func TestSweepGolden(t *testing.T) {
	s := Summarize(sweepFixture())
	for _, format := range Formats {
		t.Run(format+" output of a 2x2 sweep matches its golden file", func(t *testing.T) {
			got := render(t, format, s)
			if format == "html" {
				got = svgElement.ReplaceAll(got, []byte("<svg><!-- chart --></svg>"))
			}
			golden(t, "sweep-"+format+".golden", got)
		})
	}
	for _, format := range Formats {
		t.Run(format+" output of a sweep is the same every time", func(t *testing.T) {
			assert.Equal(t, string(render(t, format, s)), string(render(t, format, Summarize(sweepFixture()))))
		})
	}
}

func TestParseCell(t *testing.T) {
	t.Run("a label splits into its pairs in label order", func(t *testing.T) {
		pairs, ok := ParseCell("procs=2 gogc=10 sleep-scale=0.5")
		require.True(t, ok)
		assert.Equal(t, [][2]string{{"procs", "2"}, {"gogc", "10"}, {"sleep-scale", "0.5"}}, pairs)
	})
	t.Run("labels that are not key=value pairs do not parse", func(t *testing.T) {
		for _, label := range []string{"", "fast", "gogc=1 fast", "=1", "gogc=1 gogc=2"} {
			_, ok := ParseCell(label)
			assert.False(t, ok, "%q", label)
		}
	})
}

func TestSweeps(t *testing.T) {
	t.Run("a run without cells has no sweep", func(t *testing.T) {
		assert.Empty(t, Summarize(fixture()).Sweeps())
	})
	t.Run("two swept keys make a grid with the values in label order", func(t *testing.T) {
		sws := Summarize(sweepFixture()).Sweeps()
		require.Len(t, sws, 1)
		sw := sws[0]
		assert.True(t, sw.Grid())
		assert.Equal(t, []Dim{{Key: "gogc", Values: []string{"1", "10"}}, {Key: "procs", Values: []string{"1", "2"}}}, sw.Dims)
		assert.Equal(t, []string{"unfixed", "fixed"}, sw.Registries)
		g, ok := sw.At("unfixed", "10", "2")
		require.True(t, ok)
		assert.Equal(t, "gogc=10 procs=2", g.Cell)
		assert.Equal(t, 3, g.Detected)
		assert.Equal(t, 5, g.Runs)
		_, ok = sw.At("unfixed", "100", "2")
		assert.False(t, ok)
	})
	t.Run("labels that do not parse alike become one dimension of labels", func(t *testing.T) {
		rs := []result.Record{
			{Scenario: "s", Registry: "r", Cell: "gogc=1", Outcome: result.OK, Grade: result.Acceptable},
			{Scenario: "s", Registry: "r", Cell: "procs=2", Outcome: result.OK, Grade: result.Acceptable},
			{Scenario: "s", Registry: "r", Cell: "odd one", Outcome: result.OK, Grade: result.Acceptable},
		}
		sw := Summarize(rs).Sweeps()[0]
		assert.False(t, sw.Grid())
		assert.Equal(t, []Dim{{Key: "cell", Values: []string{"gogc=1", "procs=2", "odd one"}}}, sw.Dims)
		var out strings.Builder
		require.NoError(t, Table(&out, Summarize(rs)))
		assert.Contains(t, out.String(), "| odd one |")
	})
	t.Run("three swept keys list one row per cell and one column per registry", func(t *testing.T) {
		var rs []result.Record
		for _, cell := range []string{"gogc=1 procs=1 threads=2", "gogc=1 procs=1 threads=4"} {
			for _, reg := range []string{"unfixed", "fixed"} {
				rs = append(rs, result.Record{Scenario: "s", Registry: reg, Cell: cell, Role: roleOf(reg), Outcome: result.OK, Grade: result.Acceptable, DurationNs: 1e9})
			}
		}
		sw := Summarize(rs).Sweeps()[0]
		require.Len(t, sw.Dims, 3)
		tables := sw.tables()
		require.Len(t, tables, 1)
		assert.Equal(t, []string{"cell", "unfixed (control)", "fixed (clean)"}, tables[0].Header)
		assert.Equal(t, "gogc=1 procs=1 threads=4", tables[0].Rows[1][0])
	})
}

func TestSweepRendering(t *testing.T) {
	s := Summarize(sweepFixture())
	table := string(render(t, "table", s))
	t.Run("the table names every cell and marks the swept knobs", func(t *testing.T) {
		for _, label := range []string{"gogc=1 procs=1", "gogc=1 procs=2", "gogc=10 procs=1", "gogc=10 procs=2"} {
			assert.Contains(t, table, "cell "+label+"\n")
			assert.Contains(t, table, "unfixed (control) ["+label+"]: detection rate")
		}
		assert.Contains(t, table, "2s, gogc swept,")
		assert.Contains(t, table, "procs swept")
		assert.Contains(t, table, "sweep: gogc=1,10 × procs=1,2 (4 cells)")
	})
	t.Run("the table ends with a grid per registry: rate, interval and KM median", func(t *testing.T) {
		assert.Contains(t, table, "matrix unfixed (control): detection rate [95% CI], ttff median (KM) per cell")
		assert.Contains(t, table, "| gogc \\ procs |")
		assert.Contains(t, table, "|       gogc=1 |   80% [28.3%, 99.5%], ttff 9ms | 100% [47.8%, 100%], ttff 2.1ms |")
		assert.Contains(t, table, "matrix fixed (clean): failure rate [95% CI], ttff median (KM) per cell")
		assert.Contains(t, table, "20% [0.505%, 71.7%], ttff > 2s")
	})
	t.Run("markdown puts the matrix first", func(t *testing.T) {
		md := string(render(t, "markdown", s))
		assert.Less(t, strings.Index(md, "**matrix**"), strings.Index(md, "**cell gogc=1 procs=1**"))
		assert.Contains(t, md, "| gogc \\\\ procs |")
	})
	t.Run("JSON groups carry their cell and the document its matrix", func(t *testing.T) {
		var doc struct {
			Groups []struct {
				Registry string `json:"registry"`
				Cell     string `json:"cell"`
			} `json:"groups"`
			Matrix []struct {
				Scenario string `json:"scenario"`
				Grid     bool   `json:"grid"`
				Dims     []struct {
					Key    string   `json:"key"`
					Values []string `json:"values"`
				} `json:"dims"`
				Cells []struct {
					Cell       string            `json:"cell"`
					At         map[string]string `json:"at"`
					Registry   string            `json:"registry"`
					Detected   int               `json:"detected"`
					CILow      float64           `json:"ci_low"`
					KMMedianMs *float64          `json:"ttff_km_median_ms"`
				} `json:"cells"`
			} `json:"matrix"`
		}
		require.NoError(t, json.Unmarshal(render(t, "json", s), &doc))
		require.Len(t, doc.Groups, 8)
		assert.Equal(t, "gogc=1 procs=1", doc.Groups[0].Cell)
		assert.Equal(t, "gogc=10 procs=2", doc.Groups[7].Cell)
		require.Len(t, doc.Matrix, 1)
		m := doc.Matrix[0]
		assert.True(t, m.Grid)
		assert.Equal(t, "procs", m.Dims[1].Key)
		require.Len(t, m.Cells, 8)
		c := m.Cells[2] // gogc=1 procs=2, unfixed
		assert.Equal(t, map[string]string{"gogc": "1", "procs": "2"}, c.At)
		assert.Equal(t, "unfixed", c.Registry)
		assert.Equal(t, 5, c.Detected)
		require.NotNil(t, c.KMMedianMs)
		assert.InDelta(t, 2.1, *c.KMMedianMs, 1e-9)
		assert.Nil(t, m.Cells[3].KMMedianMs, "fixed is never detected there")
	})
	t.Run("JSON without a sweep has no matrix and no cells", func(t *testing.T) {
		out := string(render(t, "json", Summarize(fixture())))
		assert.NotContains(t, out, `"matrix"`)
		assert.NotContains(t, out, `"cell"`)
	})
	t.Run("JUnit has one suite per cell and registry holding only that cell's trials", func(t *testing.T) {
		var doc struct {
			Suites []struct {
				Name      string `xml:"name,attr"`
				Tests     int    `xml:"tests,attr"`
				Failures  int    `xml:"failures,attr"`
				Testcases []struct {
					Classname string `xml:"classname,attr"`
				} `xml:"testcase"`
				SystemErr string `xml:"system-err"`
			} `xml:"testsuite"`
		}
		require.NoError(t, xml.Unmarshal(render(t, "junit", s), &doc))
		require.Len(t, doc.Suites, 9, "8 cells x registries, then the verdict")
		assert.Equal(t, "racestress verdict", doc.Suites[8].Name)
		assert.Equal(t, "bpo24484/unfixed [gogc=1 procs=1]", doc.Suites[0].Name)
		assert.Equal(t, 6, doc.Suites[0].Tests, "5 trials and the detected case")
		assert.Equal(t, "racestress.bpo24484.unfixed [gogc=1 procs=1]", doc.Suites[0].Testcases[0].Classname)
		last := doc.Suites[7]
		assert.Equal(t, "bpo24484/fixed [gogc=10 procs=2]", last.Name)
		assert.Equal(t, 5, last.Tests)
		assert.Equal(t, 1, last.Failures)
		assert.Contains(t, last.SystemErr, "not empty at teardown", "the warning goes to its cell's suite")
	})
	t.Run("the HTML page has a heat map per registry and charts per registry", func(t *testing.T) {
		page := string(render(t, "html", s))
		assert.Equal(t, 2, strings.Count(page, `<table class="heat">`))
		bg, _ := heatColor(1)
		assert.Contains(t, page, `<td style="background-color: `+bg+`; color: #ffffff"><b>100%</b> <small>5/5</small>`)
		svgs := svgElement.FindAllString(page, -1)
		assert.Len(t, svgs, 4, "unfixed: curve and histogram; fixed: curve and histogram of its one failure")
		assert.Contains(t, svgs[0], "unfixed (control): Detection curve")
		assert.Contains(t, svgs[0], "gogc=10 procs=1: 1/5 detected")
	})
}

func TestHeatColor(t *testing.T) {
	t.Run("the scale runs from light at 0 to dark at 1 with readable text", func(t *testing.T) {
		bg0, ink0 := heatColor(0)
		bg1, ink1 := heatColor(1)
		assert.Equal(t, "#f7fbff", bg0)
		assert.Equal(t, "#222222", ink0)
		assert.Equal(t, "#08306b", bg1)
		assert.Equal(t, "#ffffff", ink1)
	})
	t.Run("rates outside [0, 1] are clamped", func(t *testing.T) {
		a, _ := heatColor(-1)
		b, _ := heatColor(2)
		assert.Equal(t, "#f7fbff", a)
		assert.Equal(t, "#08306b", b)
	})
}

func TestRolesComeFromTheRecordsInASweep(t *testing.T) {
	// The run overrode the roles (racestress --control fixed --clean
	// unfixed): every record says so, and the report follows the records.
	rs := sweepFixture()
	for i := range rs {
		if rs[i].Registry == "fixed" {
			rs[i].Role = result.Control
		} else {
			rs[i].Role = result.Clean
		}
	}
	s := Summarize(rs)
	for _, g := range s.Groups {
		assert.Equal(t, g.Registry != "fixed", g.IsClean(), g.Name())
	}
	table := string(render(t, "table", s))
	assert.Contains(t, table, "matrix fixed (control): detection rate")
	assert.Contains(t, table, "matrix unfixed (clean): failure rate")
}

// roleOf is the role of the test registries: fixed is clean, the others
// controls.
func roleOf(registry string) result.Role {
	if registry == "fixed" {
		return result.Clean
	}
	return result.Control
}

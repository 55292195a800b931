package report

import (
	"fmt"
	"html/template"
	"io"
	"math"

	"github.com/racestress/racestress/result"
)

// HTML renders s as one self-contained HTML page: per scenario, the
// comparison table, the rate statements, the detection curve P(detected by
// t) of all its registries on one chart, and a histogram of the times to
// first failure, both inline SVG drawn with gonum.org/v1/plot. A sweep
// shows instead a heat map of the rate per cell and registry (table cells
// coloured by the rate, with the 95% interval and the Kaplan–Meier median
// time to first failure), then one comparison per cell, and per registry a
// detection curve with one line per cell and a histogram of its cells' times
// to first failure. It loads nothing: no scripts, no style sheets, no fonts,
// no images.
func HTML(w io.Writer, s Summary) error {
	page := htmlPage{Warnings: s.Warnings, KMNote: kmNote, Verdict: s.Verdict().Line}
	for _, sc := range scenarios(s) {
		groups := groupsOf(s, sc)
		var (
			sec htmlScenario
			err error
		)
		if sw, ok := sweepOf(groups); ok {
			sec, err = htmlSweep(groups, sw, s.Policy)
		} else {
			sec, err = htmlPlain(groups, s.Policy)
			lines := s.scenarioLines(sc, sec.Knobs)
			sec.Knobs, sec.More = lines[0], lines[1:]
		}
		if err != nil {
			return err
		}
		page.Scenarios = append(page.Scenarios, sec)
	}
	if sigs := s.Signatures(); len(sigs) > 0 {
		page.SignatureHeader, page.Signatures = signatureRows(sigs)
	}
	return htmlTemplate.Execute(w, page)
}

// htmlPlain is the section of a scenario without sweep cells.
func htmlPlain(groups []Group, p result.VerdictPolicy) (htmlScenario, error) {
	sec := htmlScenario{Name: groups[0].Scenario, Knobs: knobsLine(groups[0].Knobs)}
	header, rows := comparison(groups, columnName, p)
	cmp := htmlComparison{Header: header, Rows: rows}
	for _, g := range groups {
		cmp.Statements = append(cmp.Statements, columnName(g)+": "+g.RateStatement())
	}
	sec.Comparisons = []htmlComparison{cmp}
	fig, err := htmlFigures(groups, columnName, "", func(i int) int { return i })
	if err != nil {
		return sec, err
	}
	sec.Figures = fig
	return sec, nil
}

// htmlSweep is the section of a swept scenario.
func htmlSweep(groups []Group, sw Sweep, p result.VerdictPolicy) (htmlScenario, error) {
	sec := htmlScenario{Name: sw.Scenario, Knobs: sweptKnobsLine(groups[0].Knobs, sw), Sweep: sw.dimsLine()}
	for _, m := range sw.tables() {
		hm := htmlHeatMap{Title: m.Title, Header: m.Header}
		for i, row := range m.Rows {
			hr := htmlHeatRow{Name: row[0]}
			for _, e := range m.Entries[i] {
				hc := htmlHeatCell{matrixEntry: e, Background: "#eeeeee", Ink: "#222222"}
				if e.OK {
					hc.Background, hc.Ink = heatColor(e.Rate)
				}
				hr.Cells = append(hr.Cells, hc)
			}
			hm.Rows = append(hm.Rows, hr)
		}
		sec.HeatMaps = append(sec.HeatMaps, hm)
	}
	for _, label := range sw.Labels {
		cg := cellGroups(groups, label)
		header, rows := comparison(cg, roleNameOf, p)
		cmp := htmlComparison{Cell: cellName(label), Header: header, Rows: rows}
		for _, g := range cg {
			cmp.Statements = append(cmp.Statements, columnName(g)+": "+g.RateStatement())
		}
		sec.Comparisons = append(sec.Comparisons, cmp)
	}
	for _, reg := range sw.Registries {
		var rg []Group
		for _, label := range sw.Labels {
			if g, ok := sw.Group(reg, label); ok {
				rg = append(rg, g)
			}
		}
		fig, err := htmlFigures(rg, func(g Group) string { return cellName(g.Cell) }, roleNameOf(rg[0])+": ",
			func(i int) int { return i % (3 * len(palette)) })
		if err != nil {
			return sec, err
		}
		sec.Figures = append(sec.Figures, fig...)
	}
	return sec, nil
}

// htmlFigures draws the detection curve of groups and, when any was
// detected, the histogram of their times to first failure.
func htmlFigures(groups []Group, name func(Group) string, titlePrefix string, style func(int) int) ([]htmlFigure, error) {
	curve, err := detectionCurveSVG(groups, name, titlePrefix, style)
	if err != nil {
		return nil, err
	}
	per := "registry"
	if titlePrefix != "" {
		per = "cell"
	}
	figs := []htmlFigure{{
		SVG: template.HTML(curve), // drawn by gonum/plot, its text escaped by svgo
		Caption: titlePrefix + "Kaplan-Meier estimate of P(detected by t) per " + per +
			": trials never detected are censored at their length; each line ends at the " + per + "'s longest trial.",
	}}
	hist, ok, err := ttffHistogramSVG(groups, name, titlePrefix, style)
	switch {
	case err != nil:
		return nil, err
	case ok:
		figs = append(figs, htmlFigure{SVG: template.HTML(hist), Caption: titlePrefix + "Times to first failure of the detected trials."})
	default:
		figs = append(figs, htmlFigure{Caption: titlePrefix + "No trial was detected: no time-to-first-failure histogram."})
	}
	return figs, nil
}

// heatColor maps a rate in [0, 1] onto a sequential blue scale (ColorBrewer
// Blues, light for 0, dark for 1) and picks a text colour that stays
// readable on it.
func heatColor(rate float64) (background, ink string) {
	stops := [][3]float64{{0xf7, 0xfb, 0xff}, {0xc6, 0xdb, 0xef}, {0x6b, 0xae, 0xd6}, {0x21, 0x71, 0xb5}, {0x08, 0x30, 0x6b}}
	x := min(1, max(0, rate)) * float64(len(stops)-1)
	i := min(int(x), len(stops)-2)
	f := x - float64(i)
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(stops[i][k] + f*(stops[i+1][k]-stops[i][k])))
	}
	ink = "#222222"
	if rate > 0.55 {
		ink = "#ffffff"
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]), ink
}

// heatLegend is the colour scale under a heat map.
func heatLegend() []htmlHeatCell {
	var out []htmlHeatCell
	for _, r := range []float64{0, 0.25, 0.5, 0.75, 1} {
		bg, ink := heatColor(r)
		out = append(out, htmlHeatCell{matrixEntry: matrixEntry{RateText: pct(r)}, Background: bg, Ink: ink})
	}
	return out
}

type htmlPage struct {
	Scenarios []htmlScenario
	Warnings  []string
	KMNote    string
	Verdict   string
	// SignatureHeader and Signatures are the failure-signature table.
	SignatureHeader []string
	Signatures      [][]string
}

type htmlScenario struct {
	Name, Knobs string
	More        []string // lines after Knobs: the commands of an exec run
	Sweep       string   // the swept dimensions, "" outside sweeps
	HeatMaps    []htmlHeatMap
	Comparisons []htmlComparison
	Figures     []htmlFigure
}

type htmlComparison struct {
	Cell       string // "" outside sweeps
	Header     []string
	Rows       [][]string
	Statements []string
}

type htmlHeatMap struct {
	Title  string
	Header []string
	Rows   []htmlHeatRow
}

// Legend returns the colour scale.
func (htmlHeatMap) Legend() []htmlHeatCell { return heatLegend() }

type htmlHeatRow struct {
	Name  string
	Cells []htmlHeatCell
}

type htmlHeatCell struct {
	matrixEntry
	Background, Ink string // CSS colours, #rrggbb
}

type htmlFigure struct {
	SVG     template.HTML
	Caption string
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>racestress report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; margin: 2em auto; max-width: 62em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
p.knobs, p.note { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; }
td { text-align: right; }
tbody th { text-align: left; font-weight: normal; }
thead th { background: #f2f2f2; }
figure { margin: 1.5em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table.heat td { text-align: center; min-width: 9em; line-height: 1.3; }
p.legend span { display: inline-block; padding: 0.1em 0.8em; border: 1px solid #ccc; font-size: 0.85em; }
</style>
</head>
<body>
<h1>racestress report</h1>
{{- range .Scenarios}}
<section>
<h2>scenario {{.Name}}</h2>
<p class="knobs">{{.Knobs}}</p>
{{- range .More}}
<p class="knobs">{{.}}</p>
{{- end}}
{{- if .Sweep}}
<p class="knobs">sweep: {{.Sweep}}</p>
{{- end}}
{{- range .HeatMaps}}
<h3>{{.Title}}</h3>
<table class="heat">
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr><th>{{.Name}}</th>{{range .Cells}}<td style="background-color: {{.Background}}; color: {{.Ink}}">{{if .OK}}<b>{{.RateText}}</b> <small>{{.Detected}}</small><br><small>{{.CI}}</small><br>ttff {{.TTFF}}{{else}}-{{end}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
<p class="legend">scale: {{range .Legend}}<span style="background-color: {{.Background}}; color: {{.Ink}}">{{.RateText}}</span>{{end}}</p>
{{- end}}
{{- range .Comparisons}}
{{- if .Cell}}
<h3>cell {{.Cell}}</h3>
{{- end}}
<table>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr>{{range $i, $c := .}}{{if eq $i 0}}<th>{{$c}}</th>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
</table>
<ul>
{{- range .Statements}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
<p class="note">{{$.KMNote}}</p>
{{- range .Figures}}
<figure>
{{- if .SVG}}
{{.SVG}}
{{- end}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
</section>
{{- end}}
{{- if .Signatures}}
<h2>Failure signatures</h2>
<table>
<thead><tr>{{range .SignatureHeader}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Signatures}}
<tr>{{range $i, $c := .}}{{if eq $i 1}}<td style="text-align: left; font-family: ui-monospace, monospace; font-size: 0.85em; overflow-wrap: anywhere">{{$c}}</td>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
<h2>Verdict</h2>
<p class="verdict"><strong>{{.Verdict}}</strong></p>
{{- if .Warnings}}
<h2>Warnings</h2>
<ol>
{{- range .Warnings}}
<li>{{.}}</li>
{{- end}}
</ol>
{{- end}}
</body>
</html>
`))

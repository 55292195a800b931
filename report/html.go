package report

import (
	"html/template"
	"io"
)

// HTML renders s as one self-contained HTML page: per scenario, the
// comparison table, the rate statements, the detection curve P(detected by
// t) of all its registries on one chart, and a histogram of the times to
// first failure, both inline SVG drawn with gonum.org/v1/plot. It loads
// nothing: no scripts, no style sheets, no fonts, no images.
func HTML(w io.Writer, s Summary) error {
	page := htmlPage{Warnings: s.Warnings, KMNote: kmNote}
	for _, sc := range scenarios(s) {
		groups := groupsOf(s, sc)
		header, rows := comparison(groups, columnName)
		sec := htmlScenario{Name: sc, Knobs: knobsLine(groups[0].Knobs), Header: header, Rows: rows}
		for _, g := range groups {
			sec.Statements = append(sec.Statements, columnName(g)+": "+g.RateStatement())
		}
		curve, err := detectionCurveSVG(groups)
		if err != nil {
			return err
		}
		sec.Curve = template.HTML(curve) // drawn by gonum/plot, its text escaped by svgo
		hist, ok, err := ttffHistogramSVG(groups)
		if err != nil {
			return err
		}
		if ok {
			sec.Histogram = template.HTML(hist)
		}
		page.Scenarios = append(page.Scenarios, sec)
	}
	return htmlTemplate.Execute(w, page)
}

type htmlPage struct {
	Scenarios []htmlScenario
	Warnings  []string
	KMNote    string
}

type htmlScenario struct {
	Name, Knobs string
	Header      []string
	Rows        [][]string
	Statements  []string
	Curve       template.HTML
	Histogram   template.HTML
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
</style>
</head>
<body>
<h1>racestress report</h1>
{{- range .Scenarios}}
<section>
<h2>scenario {{.Name}}</h2>
<p class="knobs">{{.Knobs}}</p>
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
<p class="note">{{$.KMNote}}</p>
<figure>
{{.Curve}}
<figcaption>Kaplan-Meier estimate of P(detected by t) per registry: trials never detected are censored at their length; each line ends at the registry's longest trial.</figcaption>
</figure>
<figure>
{{- if .Histogram}}
{{.Histogram}}
<figcaption>Times to first failure of the detected trials.</figcaption>
{{- else}}
<figcaption>No trial was detected: no time-to-first-failure histogram.</figcaption>
{{- end}}
</figure>
</section>
{{- end}}
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

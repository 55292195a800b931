package tune

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/report"
)

// Table returns the search's table, as a preset keeps it and the
// renderers print it.
func (r *Result) Table() SearchTable {
	return SearchTable{Budget: r.Budget, Elapsed: r.Elapsed, Rungs: r.Rungs, Trials: r.Trials, Stop: r.Stop, Cells: r.Cells}
}

// summary is the sentence under a search table.
func (t SearchTable) summary() string {
	return fmt.Sprintf("%d cells, %d rungs of successive halving, %d trials in %s of a %s budget (%s). "+
		"Hazard: the control's failures per second of wall-clock time, overhead included, with its exact %s interval.",
		len(t.Cells), t.Rungs, t.Trials, report.FormatDuration(t.Elapsed), report.FormatDuration(t.Budget), t.Stop,
		report.FormatRate(report.Confidence))
}

// grid returns the search table as text: a header and a row per cell;
// the first column marks the winner, the median time to first failure
// shows only when some cell has one, and a cell that never ran shows "-".
func (t SearchTable) grid() (head []string, rows [][]string) {
	head = []string{"", "cell", "rung", "trials", "hits", "wall", "hazard", "95% interval"}
	timed := slices.ContainsFunc(t.Cells, func(c CellStats) bool { return c.MedianTTFF > 0 })
	if timed {
		head = append(head, "median TTFF")
	}
	for _, c := range t.Cells {
		row := []string{"", c.Cell.Label, strconv.Itoa(c.Rung), strconv.Itoa(c.Trials), strconv.Itoa(c.Hits), "-", "-", "-"}
		if c.Winner {
			row[0] = "winner"
		}
		if c.Known() {
			row[5], row[6], row[7] = report.FormatDuration(c.Wall), FormatHazard(c.PerSecond), FormatHazardInterval(c.Lo, c.Hi)
		}
		if timed {
			row = append(row, "-")
			if c.MedianTTFF > 0 {
				row[8] = report.FormatDuration(c.MedianTTFF)
			}
		}
		rows = append(rows, row)
	}
	return head, rows
}

// mdEscape keeps a label from splitting a table cell or reading as HTML.
var mdEscape = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")

// Markdown writes the search table as Markdown: one row per cell, the
// winner first and marked, then a line saying what the numbers are.
func Markdown(w io.Writer, t SearchTable) error {
	var b strings.Builder
	head, rows := t.grid()
	// line prints a row; an empty first column prints as "| |".
	line := func(r []string) {
		b.WriteString(strings.Replace("| "+strings.Join(r, " | ")+" |", "|  |", "| |", 1) + "\n")
	}
	line(head)
	align := make([]string, len(head))
	for i := range align {
		align[i] = "---:" // numbers, right-aligned
		if i < 2 || i == 7 {
			align[i] = "---"
		}
	}
	line(align)
	for _, r := range rows {
		if r[0] != "" {
			r[0] = "**" + r[0] + "**"
		}
		r[1] = mdEscape.Replace(r[1])
		line(r)
	}
	b.WriteString("\n" + t.summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Chart geometry, in pixels.
const (
	chartW      = 640
	labelW      = 220
	plotW       = chartW - labelW - 20
	rowH        = 20
	chartTop    = 10
	axisH       = 30
	maxLabelLen = 32
)

// Colours: Okabe and Ito's, as report's charts.
const (
	barColor    = "#56B4E9" // sky blue
	winnerColor = "#D55E00" // vermillion
)

// HTML writes the search as an HTML fragment: a bar chart (SVG) of each
// cell's hazard with its interval, the winner in its own colour, then the
// table Markdown prints. It loads nothing.
func HTML(w io.Writer, t SearchTable) error {
	var b strings.Builder
	b.WriteString("<figure class=\"tune-search\">\n")
	writeChart(&b, t)
	fmt.Fprintf(&b, "<figcaption>Hazard of each cell tried (bars), with its %s interval (lines); the winner in vermillion.</figcaption>\n</figure>\n",
		html.EscapeString(report.FormatRate(report.Confidence)))
	head, rows := t.grid()
	b.WriteString("<table class=\"tune-search\">\n<thead><tr>")
	for _, h := range head {
		b.WriteString("<th>" + html.EscapeString(h) + "</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for i, x := range r {
			switch {
			case i == 0 && x != "":
				b.WriteString("<td><b>" + html.EscapeString(x) + "</b></td>")
			case i == 1:
				b.WriteString("<th>" + html.EscapeString(x) + "</th>")
			default:
				b.WriteString("<td>" + html.EscapeString(x) + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	fmt.Fprintf(&b, "</tbody>\n</table>\n<p class=\"note\">%s</p>\n", html.EscapeString(t.summary()))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChart draws the horizontal bar chart: one row per cell, the bar to
// its hazard, a line across its interval, an axis in failures per second.
func writeChart(b *strings.Builder, t SearchTable) {
	top := 0.0
	for _, c := range t.Cells {
		if c.Known() {
			top = max(top, c.Hi)
		}
	}
	top, step := niceAxis(top)
	height := chartTop + rowH*len(t.Cells) + axisH
	x := func(v float64) float64 { return labelW + plotW*v/top }
	fmt.Fprintf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"hazard per cell\">\n",
		chartW, height, chartW, height)
	bottom := float64(chartTop + rowH*len(t.Cells))
	for v := 0.0; v <= top*(1+1e-9); v += step {
		fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x(v), chartTop, x(v), bottom)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x(v), bottom+14, report.FormatSignificant(v, 3, report.RoundNearest))
	}
	fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">hazard (failures per second of wall-clock time)</text>\n", x(top/2), bottom+28)
	for i, c := range t.Cells {
		y := float64(chartTop + rowH*i)
		label := c.Cell.Label
		if r := []rune(label); len(r) > maxLabelLen {
			label = string(r[:maxLabelLen-1]) + "…"
		}
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", labelW-6, y+14, html.EscapeString(label))
		if !c.Known() {
			continue
		}
		color := barColor
		if c.Winner {
			color = winnerColor
		}
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s: %s</title></rect>\n",
			labelW, y+3, x(c.PerSecond)-labelW, rowH-6, color, html.EscapeString(c.Cell.Label), html.EscapeString(c.Rate.String()))
		fmt.Fprintf(b, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fV%.1f\" stroke=\"#222\" fill=\"none\"/>\n",
			x(c.Lo), y+6, y+rowH-6, x(c.Lo), y+rowH/2, x(c.Hi), x(c.Hi), y+6, y+rowH-6)
	}
	b.WriteString("</svg>\n")
}

// niceAxis returns the end of an axis from 0 that holds v, and its tick
// step: 1, 2 or 5 times a power of ten, four to ten ticks.
func niceAxis(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10} {
		if step = m * p; math.Ceil(v/step) <= 10 {
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

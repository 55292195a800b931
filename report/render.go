package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/racestress/racestress/harness/result"
)

// Formats names the formats Render writes, the default first.
var Formats = []string{"table", "markdown", "json", "junit", "html"}

// Render writes s to w in format, one of Formats; an unknown format is an
// error and writes nothing.
func Render(w io.Writer, format string, s Summary) error {
	switch format {
	case "table":
		return Table(w, s)
	case "markdown":
		return Markdown(w, s)
	case "json":
		return JSON(w, s)
	case "junit":
		return JUnit(w, s)
	case "html":
		return HTML(w, s)
	}
	return fmt.Errorf("report: unknown format %q (have %s)", format, strings.Join(Formats, ", "))
}

// Table renders each scenario's groups side by side: one column per
// registry, one row per statistic, then one sentence per registry on how
// sure its rate is. Warnings follow as numbered footnotes.
func Table(w io.Writer, s Summary) error {
	for i, sc := range scenarios(s) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groups := groupsOf(s, sc)
		fmt.Fprintf(w, "scenario %s: %s\n", sc, knobsLine(groups[0].Knobs))
		header, rows := comparison(groups)
		t := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithRowAlignment(tw.AlignRight),
		)
		t.Header(header)
		if err := t.Bulk(rows); err != nil {
			return err
		}
		if err := t.Render(); err != nil {
			return err
		}
		for _, g := range groups {
			fmt.Fprintf(w, "%s: %s\n", columnName(g), g.RateStatement())
		}
		fmt.Fprintln(w, kmNote)
	}
	for i, warn := range s.Warnings {
		fmt.Fprintf(w, "[%d] %s\n", i+1, warn)
	}
	return nil
}

// Markdown renders the comparison tables through tablewriter's Markdown
// renderer, fit to paste into a pull request: a bold scenario line, the
// table, the rate statements as a list, and warnings as numbered notes.
func Markdown(w io.Writer, s Summary) error {
	for i, sc := range scenarios(s) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groups := groupsOf(s, sc)
		fmt.Fprintf(w, "**scenario %s**: %s\n\n", mdEscape(sc), mdEscape(knobsLine(groups[0].Knobs)))
		header, rows := comparison(groups)
		for _, r := range append(rows, header) {
			for j := range r {
				r[j] = mdEscape(r[j])
			}
		}
		t := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithAlignment(markdownAlignment(len(header))),
		)
		t.Header(header)
		if err := t.Bulk(rows); err != nil {
			return err
		}
		if err := t.Render(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		for _, g := range groups {
			fmt.Fprintf(w, "- **%s**: %s\n", mdEscape(columnName(g)), mdEscape(g.RateStatement()))
		}
		fmt.Fprintf(w, "\n_%s_\n", mdEscape(kmNote))
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		fmt.Fprintln(w)
		for i, warn := range s.Warnings {
			fmt.Fprintf(w, "%d. %s\n", i+1, mdEscape(warn))
		}
	}
	return nil
}

// markdownAlignment aligns the statistic names left and the numbers right.
func markdownAlignment(columns int) tw.Alignment {
	a := tw.Alignment{tw.AlignLeft}
	for range columns - 1 {
		a = append(a, tw.AlignRight)
	}
	return a
}

// mdEscape keeps text that may come from a record from breaking a Markdown
// table or turning into markup: it escapes pipes, emphasis and code marks,
// and a "<" that could open an HTML tag, and folds newlines.
func mdEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '|', '*', '_', '`', '\\':
			b.WriteByte('\\')
		case '\n':
			r = ' '
		case '<':
			if i+1 < len(s) && (isLetter(s[i+1]) || strings.IndexByte("/!?", s[i+1]) >= 0) {
				b.WriteString("&lt;")
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// kmNote explains the Kaplan–Meier rows wherever they are shown.
const kmNote = "ttff median/p90/p99: Kaplan-Meier estimates, trials never detected censored at their length; \"> T\": not reached within the longest trial T. ttff min/max: detected trials only."

// comparison returns the header and rows of the side-by-side table of
// groups: one column per registry, one row per statistic.
func comparison(groups []Group) (header []string, rows [][]string) {
	header = []string{""}
	for _, g := range groups {
		header = append(header, columnName(g))
	}
	rows = [][]string{
		row(groups, "runs", func(g Group) string { return fmt.Sprint(g.Runs) }),
		row(groups, "detected", func(g Group) string { return fmt.Sprintf("%d/%d", g.Detected, g.Runs) }),
		row(groups, "detection rate", func(g Group) string { return pct(g.Rate()) }),
		row(groups, "rate 95% CI", func(g Group) string { return interval(g.DetectionCI()) }),
		row(groups, "runs for 99% detection", runsNeededCell),
		row(groups, "ttff median (KM)", kmCell(0.5)),
		row(groups, "ttff p90 (KM)", kmCell(0.9)),
		row(groups, "ttff p99 (KM)", kmCell(0.99)),
		row(groups, "ttff min", ttff(0)),
		row(groups, "ttff max", ttff(1)),
		row(groups, "objects/s", func(g Group) string { return si(g.ObjectsPerSec()) }),
		row(groups, "callbacks/s", func(g Group) string { return si(g.CallbacksPerSec()) }),
		row(groups, "outcomes", outcomeCell),
		row(groups, "mutations seen", mutationCell),
		row(groups, "verdict", verdict),
	}
	return header, rows
}

// columnName names a group's column: its registry and whether it is clean
// or a control.
func columnName(g Group) string {
	if g.Clean {
		return g.Registry + " (clean)"
	}
	return g.Registry + " (control)"
}

func row(groups []Group, name string, cell func(Group) string) []string {
	r := []string{name}
	for _, g := range groups {
		r = append(r, cell(g))
	}
	return r
}

func runsNeededCell(g Group) string {
	n, ok := g.RunsNeeded99()
	if !ok {
		return "-"
	}
	return fmt.Sprint(n)
}

func kmCell(q float64) func(Group) string {
	return func(g Group) string {
		d, reached := g.KMQuantile(q)
		if !reached {
			return "> " + FormatDuration(d)
		}
		return FormatDuration(d)
	}
}

func ttff(q float64) func(Group) string {
	return func(g Group) string {
		d, ok := g.TTFFQuantile(q)
		if !ok {
			return "-"
		}
		return FormatDuration(d)
	}
}

func outcomeCell(g Group) string {
	var parts []string
	for _, o := range outcomesOf(g) {
		parts = append(parts, fmt.Sprintf("%s %d", o, g.Outcomes[o]))
	}
	return strings.Join(parts, ", ")
}

func mutationCell(g Group) string {
	if len(g.Mutations) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range mutationKinds(g.Mutations) {
		if n := g.Mutations[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// mutationKinds returns the kinds in m: the known ones in their usual order,
// then any others sorted.
func mutationKinds(m map[string]int) []string {
	known := []string{"removed", "inserted", "removed+inserted"}
	kinds := slices.Clone(known)
	var other []string
	for k := range m {
		if !slices.Contains(known, k) {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	return append(kinds, other...)
}

func verdict(g Group) string {
	switch {
	case g.Clean && g.Passed():
		return "PASS: clean"
	case g.Clean:
		return "FAIL: forbidden outcomes"
	case g.Passed():
		return "PASS: detected"
	}
	return "FAIL: never detected"
}

func knobsLine(k result.Knobs) string {
	return fmt.Sprintf("threads %d (%d makers, %d runners), %gs, GOGC %d, sleep-scale %g, %d slots x %d objects, priorities 1..%d",
		k.Threads, k.Makers, k.Runners, k.Seconds, k.GOGC, k.SleepScale, k.Slots, k.PerSlot, k.MaxPriority)
}

func scenarios(s Summary) []string {
	var names []string
	seen := map[string]bool{}
	for _, g := range s.Groups {
		if !seen[g.Scenario] {
			seen[g.Scenario] = true
			names = append(names, g.Scenario)
		}
	}
	return names
}

func groupsOf(s Summary, scenario string) []Group {
	var gs []Group
	for _, g := range s.Groups {
		if g.Scenario == scenario {
			gs = append(gs, g)
		}
	}
	return gs
}

package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/racestress/racestress/result"
)

// Formats names the formats Render writes, the default first.
var Formats = []string{"table", "markdown", "json", "junit", "html", "github", "test2json"}

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
	case "github":
		return GitHub(w, s)
	case "test2json":
		return Test2JSON(w, s)
	}
	return fmt.Errorf("report: unknown format %q (have %s)", format, strings.Join(Formats, ", "))
}

// Table renders each scenario's groups side by side: one column per
// registry, one row per statistic, then one sentence per registry on how
// sure its rate is. A sweep prints one such comparison per cell, then its
// matrix view (see Sweep): detection rate with its 95% interval and the
// Kaplan–Meier median time to first failure per cell, last, where a
// terminal leaves it in view. Warnings follow as numbered footnotes.
func Table(w io.Writer, s Summary) error {
	for i, sc := range scenarios(s) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groups := groupsOf(s, sc)
		sw, isSweep := sweepOf(groups)
		if !isSweep {
			lines := s.scenarioLines(sc, knobsLine(groups[0].Knobs))
			fmt.Fprintf(w, "scenario %s: %s\n", sc, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "  %s\n", l)
			}
			if err := asciiComparison(w, groups, columnName, s.Policy); err != nil {
				return err
			}
			fmt.Fprintln(w, kmNote)
			continue
		}
		fmt.Fprintf(w, "scenario %s: %s\n", sc, sweptKnobsLine(groups[0].Knobs, sw))
		fmt.Fprintf(w, "sweep: %s\n", sw.dimsLine())
		for _, label := range sw.Labels {
			cg := cellGroups(groups, label)
			fmt.Fprintf(w, "\ncell %s\n", cellName(label))
			if err := asciiComparison(w, cg, roleNameOf, s.Policy); err != nil {
				return err
			}
		}
		fmt.Fprintln(w, kmNote)
		for _, m := range sw.tables() {
			fmt.Fprintf(w, "\nmatrix %s\n", m.Title)
			if err := asciiTable(w, m.Header, m.Rows); err != nil {
				return err
			}
		}
	}
	if sigs := s.Signatures(); len(sigs) > 0 {
		fmt.Fprintln(w, "\nfailure signatures")
		h, rows := signatureKeyRows(sigs)
		if err := asciiTable(w, h, rows); err != nil {
			return err
		}
		writeSignatureKeys(w, sigs, tableWidth)
	}
	for _, e := range s.plainEffects() {
		fmt.Fprintf(w, "effect: %s\n", e.Statement())
	}
	for _, plan := range s.effectPlans() {
		fmt.Fprintf(w, "effect gate: %s\n", plan)
	}
	for i, warn := range s.Warnings {
		fmt.Fprintf(w, "[%d] %s\n", i+1, warn)
	}
	fmt.Fprintf(w, "verdict: %s\n", s.Verdict().Line)
	return nil
}

// asciiTable writes header and rows as an ASCII table, the first column
// the row names.
func asciiTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignment(tw.AlignRight),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}

// markdownTable writes header and rows through tablewriter's Markdown
// renderer, the text escaped, the first column aligned left.
func markdownTable(w io.Writer, header []string, rows [][]string) error {
	header = escapeAll(header)
	var esc [][]string
	for _, r := range rows {
		esc = append(esc, escapeAll(r))
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithAlignment(markdownAlignment(len(header))),
	)
	t.Header(header)
	if err := t.Bulk(esc); err != nil {
		return err
	}
	return t.Render()
}

func escapeAll(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = mdEscape(c)
	}
	return out
}

// Markdown renders the comparison tables through tablewriter's Markdown
// renderer, fit to paste into a pull request: a bold scenario line, the
// table, the rate statements as a list, and warnings as numbered notes. A
// sweep shows its matrix view first, then one comparison per cell.
func Markdown(w io.Writer, s Summary) error {
	for i, sc := range scenarios(s) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groups := groupsOf(s, sc)
		sw, isSweep := sweepOf(groups)
		if !isSweep {
			lines := s.scenarioLines(sc, knobsLine(groups[0].Knobs))
			fmt.Fprintf(w, "**scenario %s**: %s\n\n", mdEscape(sc), mdEscape(lines[0]))
			for i, l := range lines[1:] {
				fmt.Fprintf(w, "- %s\n", mdEscape(l))
				if i == len(lines)-2 {
					fmt.Fprintln(w)
				}
			}
			if err := markdownComparison(w, groups, columnName, s.Policy); err != nil {
				return err
			}
			fmt.Fprintf(w, "\n_%s_\n", mdEscape(kmNote))
			continue
		}
		fmt.Fprintf(w, "**scenario %s**: %s\n\n", mdEscape(sc), mdEscape(sweptKnobsLine(groups[0].Knobs, sw)))
		fmt.Fprintf(w, "sweep: %s\n", mdEscape(sw.dimsLine()))
		for _, m := range sw.tables() {
			fmt.Fprintf(w, "\n**matrix** %s\n\n", mdEscape(m.Title))
			if err := markdownTable(w, m.Header, m.Rows); err != nil {
				return err
			}
		}
		for _, label := range sw.Labels {
			cg := cellGroups(groups, label)
			fmt.Fprintf(w, "\n**cell %s**\n\n", mdEscape(cellName(label)))
			if err := markdownComparison(w, cg, roleNameOf, s.Policy); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "\n_%s_\n", mdEscape(kmNote))
	}
	if sigs := s.Signatures(); len(sigs) > 0 {
		fmt.Fprintln(w, "\n**failure signatures**")
		fmt.Fprintln(w)
		h, rows := signatureRows(sigs)
		if err := markdownTable(w, h, rows); err != nil {
			return err
		}
	}
	if effects := s.plainEffects(); len(effects) > 0 {
		fmt.Fprintln(w)
		for _, e := range effects {
			fmt.Fprintf(w, "- **effect**: %s\n", mdEscape(e.Statement()))
		}
	}
	for _, plan := range s.effectPlans() {
		fmt.Fprintf(w, "- **effect gate**: %s\n", mdEscape(plan))
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		fmt.Fprintln(w)
		for i, warn := range s.Warnings {
			fmt.Fprintf(w, "%d. %s\n", i+1, mdEscape(warn))
		}
	}
	fmt.Fprintf(w, "\n**verdict**: %s\n", mdEscape(s.Verdict().Line))
	return nil
}

// markdownAlignment aligns the statistic names left and the numbers right.
// asciiComparison writes the comparison table of groups, columns named by
// name, and under it one rate statement per group.
func asciiComparison(w io.Writer, groups []Group, name func(Group) string, p result.VerdictPolicy) error {
	header, rows := comparison(groups, name, p)
	if err := asciiTable(w, header, rows); err != nil {
		return err
	}
	for _, g := range groups {
		fmt.Fprintf(w, "%s: %s\n", columnName(g), g.RateStatement())
	}
	return nil
}

// markdownComparison writes the comparison table of groups, columns named
// by name, and under it one rate statement per group.
func markdownComparison(w io.Writer, groups []Group, name func(Group) string, p result.VerdictPolicy) error {
	header, rows := comparison(groups, name, p)
	if err := markdownTable(w, header, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, g := range groups {
		fmt.Fprintf(w, "- **%s**: %s\n", mdEscape(columnName(g)), mdEscape(g.RateStatement()))
	}
	return nil
}

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
func comparison(groups []Group, name func(Group) string, p result.VerdictPolicy) (header []string, rows [][]string) {
	header = []string{""}
	for _, g := range groups {
		header = append(header, name(g))
	}
	rows = [][]string{
		row(groups, "runs", func(g Group) string { return fmt.Sprint(g.Runs) }),
		row(groups, "detected", func(g Group) string { return fmt.Sprintf("%d/%d", g.Detected, g.Runs) }),
		row(groups, "signature", signatureCell),
		row(groups, "harness errors", func(g Group) string { return fmt.Sprint(g.Errors) }),
		row(groups, "detection rate", func(g Group) string {
			if g.Runs == 0 {
				return "-" // no valid trial: no rate, not 0%
			}
			return pct(g.Rate())
		}),
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
		row(groups, "verdict", func(g Group) string { return judge(p, g).Cell }),
	}
	if !slices.ContainsFunc(groups, func(g Group) bool { return g.Objects > 0 || g.Callbacks > 0 || len(g.Mutations) > 0 }) {
		// Subjects that count no objects (external commands): the rows
		// would say nothing.
		rows = slices.DeleteFunc(rows, func(r []string) bool {
			return r[0] == "objects/s" || r[0] == "callbacks/s" || r[0] == "mutations seen"
		})
	}
	return header, rows
}

// columnName names a group's column: its registry, whether it is clean or a
// control, and its sweep cell, if any: "unfixed (control) [gogc=1 procs=2]".
func columnName(g Group) string {
	name := roleNameOf(g)
	if g.Cell != "" {
		name += " [" + g.Cell + "]"
	}
	return name
}

// roleName names a registry with its role: "unfixed (control)", "fixed
// (clean)".
func roleName(registry string, role result.Role) string {
	return registry + " (" + string(role) + ")"
}

func roleNameOf(g Group) string { return roleName(g.Registry, g.Role) }

// signatureCell says what counted as detected: a control's signature
// detections, or a clean subject's failures.
func signatureCell(g Group) string {
	if g.IsClean() {
		return "any forbidden"
	}
	if g.Other > 0 {
		return fmt.Sprintf("signature only (%d other failures)", g.Other)
	}
	return "signature only"
}

// cellName prints a cell label, "(no cell)" for groups outside the sweep.
func cellName(label string) string {
	if label == "" {
		return "(no cell)"
	}
	return label
}

// cellGroups returns the groups of the cell labelled label.
func cellGroups(groups []Group, label string) []Group {
	var out []Group
	for _, g := range groups {
		if g.Cell == label {
			out = append(out, g)
		}
	}
	return out
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
		if g.Runs == 0 {
			return "-" // no valid trial: no curve
		}
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

func knobsLine(k result.Knobs) string { return knobsLineSwept(k, func(string) bool { return false }) }

// sweptKnobsLine is knobsLine with the knobs a sweep varies marked as swept
// instead of showing the first cell's value.
func sweptKnobsLine(k result.Knobs, sw Sweep) string { return knobsLineSwept(k, sw.swept) }

func knobsLineSwept(k result.Knobs, swept func(key string) bool) string {
	if k.Equal(result.Knobs{}) {
		return "no knobs" // external commands: racestress exec and gotest
	}
	var parts []string
	add := func(key, format string, args ...any) {
		if swept(key) {
			parts = append(parts, key+" swept")
			return
		}
		parts = append(parts, fmt.Sprintf(format, args...))
	}
	// The knobs line is the scenario's own: the registry scenarios' knobs
	// are shown when set, any other scenario's knobs by name.
	switch {
	case k.Makers > 0:
		add("threads", "threads %d (%d makers, %d runners)", k.Threads, k.Makers, k.Runners)
	case k.Threads > 0:
		add("threads", "threads %d", k.Threads)
	}
	add("seconds", "%gs", k.Seconds)
	add("gogc", "GOGC %d", k.GOGC)
	if k.Slots > 0 {
		add("sleep-scale", "sleep-scale %g", k.SleepScale)
		parts = append(parts, fmt.Sprintf("%d slots x %d objects, priorities 1..%d", k.Slots, k.PerSlot, k.MaxPriority))
	}
	names := make([]string, 0, len(k.Params))
	for n := range k.Params {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		add(n, "%s %g", n, k.Params[n])
	}
	if swept("procs") {
		parts = append(parts, "procs swept")
	} else if k.Procs > 0 {
		parts = append(parts, fmt.Sprintf("GOMAXPROCS %d", k.Procs))
	}
	if swept("chaos") {
		parts = append(parts, "chaos swept")
	} else if k.Chaos != "" {
		parts = append(parts, "chaos "+k.Chaos)
	}
	if k.Reentrant {
		parts = append(parts, "reentrant callbacks")
	}
	line := strings.Join(parts, ", ")
	if k.Preset != "" {
		line = "preset " + k.Preset + ": " + line
	}
	return line
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

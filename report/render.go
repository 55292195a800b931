package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/racestress/racestress/harness/result"
)

// Table renders each scenario's groups side by side: one column per
// registry, one row per statistic. Warnings follow as numbered footnotes.
func Table(w io.Writer, s Summary) error {
	for i, sc := range scenarios(s) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groups := groupsOf(s, sc)
		fmt.Fprintf(w, "scenario %s: %s\n", sc, knobsLine(groups[0].Knobs))
		header := []string{""}
		for _, g := range groups {
			name := g.Registry
			if g.Clean {
				name += " (clean)"
			} else {
				name += " (control)"
			}
			header = append(header, name)
		}
		rows := [][]string{
			row(groups, "runs", func(g Group) string { return fmt.Sprint(g.Runs) }),
			row(groups, "detected", func(g Group) string { return fmt.Sprintf("%d/%d", g.Detected, g.Runs) }),
			row(groups, "detection rate", func(g Group) string { return fmt.Sprintf("%.0f%%", 100*g.Rate()) }),
			row(groups, "ttff median", ttff(0.5)),
			row(groups, "ttff p90", ttff(0.9)),
			row(groups, "ttff min", ttff(0)),
			row(groups, "ttff max", ttff(1)),
			row(groups, "objects/s", func(g Group) string { return si(g.ObjectsPerSec()) }),
			row(groups, "callbacks/s", func(g Group) string { return si(g.CallbacksPerSec()) }),
			row(groups, "outcomes", outcomeCell),
			row(groups, "mutations seen", mutationCell),
			row(groups, "verdict", verdict),
		}
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
	}
	for i, warn := range s.Warnings {
		fmt.Fprintf(w, "[%d] %s\n", i+1, warn)
	}
	return nil
}

func row(groups []Group, name string, cell func(Group) string) []string {
	r := []string{name}
	for _, g := range groups {
		r = append(r, cell(g))
	}
	return r
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
	for _, k := range []string{"removed", "inserted", "removed+inserted"} {
		if n := g.Mutations[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
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

// FormatDuration prints d with three significant digits in a fitting unit.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

func si(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// JSONReport is the document --format json prints.
type JSONReport struct {
	Scenario string      `json:"scenario"`
	Groups   []JSONGroup `json:"groups"`
	Warnings []string    `json:"warnings,omitempty"`
}

// JSONGroup is one group in a JSONReport.
type JSONGroup struct {
	Scenario        string         `json:"scenario"`
	Registry        string         `json:"registry"`
	Clean           bool           `json:"clean"`
	Runs            int            `json:"runs"`
	Detected        int            `json:"detected"`
	DetectionRate   float64        `json:"detection_rate"`
	Outcomes        map[string]int `json:"outcomes"`
	Grade           string         `json:"grade"`
	Passed          bool           `json:"passed"`
	TTFFMs          *JSONQuantiles `json:"ttff_ms"`
	ObjectsPerSec   float64        `json:"objects_per_sec"`
	CallbacksPerSec float64        `json:"callbacks_per_sec"`
	Mutations       map[string]int `json:"mutations"`
	Knobs           result.Knobs   `json:"knobs"`
}

// JSONQuantiles are times to first failure in milliseconds.
type JSONQuantiles struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// JSON renders s as one JSON object.
func JSON(w io.Writer, s Summary) error {
	doc := JSONReport{Groups: []JSONGroup{}, Warnings: s.Warnings}
	if names := scenarios(s); len(names) > 0 {
		doc.Scenario = strings.Join(names, ",")
	}
	for _, g := range s.Groups {
		jg := JSONGroup{
			Scenario: g.Scenario, Registry: g.Registry, Clean: g.Clean, Runs: g.Runs, Detected: g.Detected,
			DetectionRate: g.Rate(), Outcomes: map[string]int{}, Grade: string(g.Grade), Passed: g.Passed(),
			ObjectsPerSec: g.ObjectsPerSec(), CallbacksPerSec: g.CallbacksPerSec(),
			Mutations: map[string]int{"removed": g.Mutations["removed"], "inserted": g.Mutations["inserted"]},
			Knobs:     g.Knobs,
		}
		for o, n := range g.Outcomes {
			jg.Outcomes[string(o)] = n
		}
		if n := g.Mutations["removed+inserted"]; n > 0 {
			jg.Mutations["removed+inserted"] = n
		}
		if len(g.TTFF) > 0 {
			ms := func(q float64) float64 { d, _ := g.TTFFQuantile(q); return float64(d) / float64(time.Millisecond) }
			jg.TTFFMs = &JSONQuantiles{Median: ms(0.5), P90: ms(0.9), Min: ms(0), Max: ms(1)}
		}
		doc.Groups = append(doc.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

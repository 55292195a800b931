package stress

import (
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// List prints what a Config may name, as a tree: the scenarios, their
// subjects with roles and signatures, their knobs with defaults and
// bounds, then their presets' knobs (racestress list).
func List(w io.Writer) error {
	fmt.Fprintln(w, "scenarios:")
	for _, s := range scenarios.All() {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Doc)
		fmt.Fprintln(w, "    subjects:")
		for _, sub := range s.Subjects {
			def := ""
			if slices.Contains(s.Defaults, sub.Name) {
				def = " (default)"
			}
			sig := ""
			if sub.Role == result.Control {
				sig = ", caught by " + sub.SignatureText()
			}
			needs := ""
			if sub.Needs != "" {
				needs = ", needs --" + sub.Needs
			}
			fmt.Fprintf(w, "      %-18s %s%s%s%s: %s\n", sub.Name, sub.Role, sig, needs, def, sub.Doc)
		}
		fmt.Fprintln(w, "    knobs (default, bounds):")
		d := s.DefaultKnobsOf()
		for _, kn := range s.AllKnobs() {
			v, _ := d.Get(kn.Name)
			fmt.Fprintf(w, "      %-18s %-8s [%s, %s]  %s\n", kn.Name, strconv.FormatFloat(v, 'g', -1, 64),
				strconv.FormatFloat(kn.Min, 'f', -1, 64), strconv.FormatFloat(kn.Max, 'f', -1, 64), kn.Doc)
		}
		chaos := d.Chaos
		if chaos == "" {
			chaos = "off"
		}
		fmt.Fprintf(w, "      %-18s %-8s off, low, high, auto\n", "chaos", chaos)
		if len(s.Presets) > 0 {
			fmt.Fprintln(w, "    presets:")
			for _, p := range s.Presets {
				fmt.Fprintf(w, "      %-18s %s\n", p.Name, s.DescribeKnobs(p.Knobs))
			}
		}
	}
	return nil
}

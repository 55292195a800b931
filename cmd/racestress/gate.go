package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/harness/result"
	"github.com/racestress/racestress/report"
)

// DefaultMinPower is the gate's default --min-power: the lower 95% bound of
// the control's detection rate must reach 50%. At the default knobs the
// unfixed registry is detected in every trial (see README, Benchmarks), so
// six rounds already give a lower bound of 0.025^(1/6) = 54%; a 30 s budget
// runs about seven at --seconds 4. A control detected in at most half of its
// trials fails the gate: the harness has lost most of its power.
const DefaultMinPower = 0.5

// gateDefaultCount is the gate's number of rounds when neither --budget nor
// --runs is given.
const gateDefaultCount = 10

// gateCmd is racestress gate: a run whose verdict is a CI gate.
func gateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet(&o)
	fs.StringVar(&o.clean, "clean", "fixed", "registries in `LIST` must show zero forbidden outcomes")
	fs.Float64Var(&o.minPower, "min-power", DefaultMinPower, "every control's detection rate must have a lower 95% bound of at least `P`")
	o.gate = true
	if err := o.parse(fs, args, stdout); err != nil || o.help {
		return err
	}
	registrySet := false
	fs.Visit(func(f *flag.Flag) { registrySet = registrySet || f.Name == "registry" })
	clean, control := splitList(o.clean), splitList(o.control)
	if !o.cleanSet {
		clean = slices.DeleteFunc(clean, func(n string) bool { return slices.Contains(control, n) && o.controlSet })
	}
	if !o.controlSet {
		control = slices.DeleteFunc(control, func(n string) bool { return slices.Contains(clean, n) && o.cleanSet })
	}
	for _, n := range clean {
		if slices.Contains(control, n) {
			return usageError("gate: %q cannot be both --clean and --control", n)
		}
	}
	if len(clean)+len(control) == 0 {
		return usageError("gate: nothing to gate: --clean and --control are both empty")
	}
	if !(o.minPower >= 0 && o.minPower < 1) {
		return usageError("--min-power must be in [0, 1), got %g", o.minPower)
	}
	if !registrySet {
		o.registries = strings.Join(append(slices.Clone(control), clean...), ",")
	} else {
		have := splitList(o.registries)
		for _, n := range append(slices.Clone(control), clean...) {
			if !slices.Contains(have, n) {
				return usageError("gate: --registry must include %q (named in --clean or --control)", n)
			}
		}
	}
	o.clean, o.control = strings.Join(clean, ","), strings.Join(control, ",")
	if !o.runsSet && o.budget == 0 {
		o.runs = gateDefaultCount
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return execute(ctx, &o, cfg, nil, stdout, stderr)
}

func splitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// gateVerdict prints the gate's closing line and returns its exit status: 1
// for a regression (a clean registry with a forbidden outcome), 3 for a
// control whose power fell below --min-power, else nil.
func gateVerdict(w io.Writer, sum report.Summary, o *options) error {
	clean, control := splitList(o.clean), splitList(o.control)
	var regressions, lost, passes []string
	seen := map[string]bool{}
	for _, g := range sum.Groups {
		name := g.Registry
		if g.Cell != "" {
			name += " [" + g.Cell + "]"
		}
		seen[g.Registry] = true
		lo, hi := g.DetectionCI()
		switch {
		case slices.Contains(clean, g.Registry) && g.Detected > 0:
			regressions = append(regressions, fmt.Sprintf("%s showed forbidden outcomes in %d of %d trials (failure rate %s, 95%% CI [%s, %s]; first: %s)",
				name, g.Detected, g.Runs, pct(g.Rate()), pct(lo), pct(hi), firstError(sum, g)))
		case slices.Contains(clean, g.Registry):
			passes = append(passes, fmt.Sprintf("%s clean in %d trials (failure rate < %s at 95%%)", name, g.Runs, pct(hi)))
		case slices.Contains(control, g.Registry) && lo < o.minPower:
			lost = append(lost, fmt.Sprintf("%s detected in %d of %d trials: power >= %s at 95%% (lower bound), below --min-power %s",
				name, g.Detected, g.Runs, pct(lo), pct(o.minPower)))
		case slices.Contains(control, g.Registry):
			passes = append(passes, fmt.Sprintf("%s detected %d/%d (power >= %s at 95%%)", name, g.Detected, g.Runs, pct(lo)))
		}
	}
	for _, n := range append(slices.Clone(clean), control...) {
		if !seen[n] {
			lost = append(lost, fmt.Sprintf("%s ran no trial", n))
		}
	}
	switch {
	case len(regressions) > 0:
		fmt.Fprintln(w, "racestress: FAIL regression: "+strings.Join(regressions, "; "))
		return &exitError{code: 1}
	case len(lost) > 0:
		fmt.Fprintln(w, "racestress: FAIL lost power: "+strings.Join(lost, "; "))
		return &exitError{code: 3}
	}
	fmt.Fprintln(w, "racestress: PASS "+strings.Join(passes, "; "))
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func firstError(sum report.Summary, g report.Group) string {
	for _, r := range sum.Records {
		if r.Registry == g.Registry && r.Cell == g.Cell && r.Scenario == g.Scenario && r.Detected {
			return r.FirstError
		}
	}
	return "-"
}

// mergeCmd combines results files (shards of one run) and renders them; its
// exit status is the verdict over the merged trials.
func mergeCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("racestress merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "print results as `FORMAT`: "+strings.Join(report.Formats, ", "))
	control := fs.String("control", "unfixed", "registries in `LIST` are controls (see racestress -h)")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return usageError("merge needs results FILEs")
	}
	if !slices.Contains(report.Formats, *format) {
		return usageError("--format must be one of %s, got %q", strings.Join(report.Formats, ", "), *format)
	}
	var all []result.Record
	var warnings []string
	from := map[int]string{}
	for _, path := range fs.Args() {
		recs, warns, err := harness.ReadResultsFile(path)
		if err != nil {
			return usageError("merge: %s: %v", path, err)
		}
		for _, w := range warns {
			warnings = append(warnings, path+": "+w)
		}
		for _, r := range recs {
			if other, dup := from[r.Trial]; dup && other != path {
				return usageError("merge: trial %d is in both %s and %s: shards overlap", r.Trial, other, path)
			}
			from[r.Trial] = path
		}
		all = append(all, recs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Trial < all[j].Trial })
	sum := report.Summarize(all).WithControls(splitList(*control))
	sum.Warnings = append(warnings, sum.Warnings...)
	if err := render(stdout, *format, sum); err != nil {
		return err
	}
	return verdict(sum, splitList(*control))
}

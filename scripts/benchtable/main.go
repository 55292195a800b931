// Command benchtable turns the results files written by scripts/bench.sh into
// the Markdown benchmark table of the README: one row per preset and chaos
// level, unfixed and fixed side by side.
//
// Usage:
//
//	go run ./scripts/benchtable [-overhead MS] [-pool-overhead MS] [-machine TEXT] FILE.jsonl...
//	go run ./scripts/benchtable -pool-compare DIR
//
// Rows are split by isolation (process, pool: from the records), so that
// both modes measured in one run stand side by side. Files named
// *-gate.jsonl are gate runs under a budget: they give the rounds each
// isolation ran in it. Files named *-scaling.jsonl are the threads by
// GOMAXPROCS sweep: they give a table of their own.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
}

type config struct{ preset, chaos, isolation string }

// isolation names how a record's trial was isolated.
func isolation(r result.Record) string {
	if r.Process == nil {
		return "none"
	}
	return r.Process.Isolation
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	overhead := fs.String("overhead", "", "median per-trial overhead of process isolation, in `MS`, measured by the harness benchmark")
	poolOverhead := fs.String("pool-overhead", "", "median per-trial overhead of pool isolation, in `MS`, measured by the harness benchmark")
	machine := fs.String("machine", "", "a line describing the machine and date")
	compare := fs.String("pool-compare", "", "write the pool-versus-process table of the files scripts/pool-vs-process.sh left in `DIR`, and nothing else")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *compare != "" {
		return poolCompare(*compare, w)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("no results files")
	}
	byConfig := map[config][]result.Record{}
	throughput := map[config][]result.Record{} // long fixed trials, for objects/s
	var order []config
	var gates []string
	var subjects []report.Group // other scenarios and subjects, one row each
	var scaling []result.Record
	for _, path := range fs.Args() {
		res, err := result.ReadResultsFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch {
		case strings.HasSuffix(path, "-scaling.jsonl"):
			scaling = append(scaling, res.Records...)
			continue
		case strings.HasSuffix(path, "-subjects.jsonl"):
			subjects = append(subjects, report.Summarize(res.Records).Groups...)
			continue
		case strings.HasSuffix(path, "-gate.jsonl"):
			gates = append(gates, gateRounds(res.Records))
			continue
		}
		long := strings.HasSuffix(path, "-throughput.jsonl")
		for _, r := range res.Records {
			c := config{r.Knobs.Preset, cmp.Or(r.Knobs.Chaos, "off"), isolation(r)}
			if _, ok := byConfig[c]; !ok {
				order = append(order, c)
			}
			byConfig[c] = append(byConfig[c], r)
			if long {
				throughput[c] = append(throughput[c], r)
			}
		}
	}
	if len(order) > 0 {
		fmt.Fprintln(w, "| preset | chaos | isolation | unfixed detected (95% CI) | TTFF median / p90 / p99 (KM) | GC removals | fixed forbidden (95% upper bound) | objects/s (fixed) | callbacks/s (fixed) | peak RSS of a trial |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	}
	for _, c := range order {
		sum := report.Summarize(byConfig[c])
		var unfixed, fixed *report.Group
		for i := range sum.Groups {
			switch sum.Groups[i].Registry {
			case "unfixed":
				unfixed = &sum.Groups[i]
			case "fixed":
				fixed = &sum.Groups[i]
			}
		}
		row := []string{c.preset, c.chaos, c.isolation, "-", "-", "-", "-", "-", "-", peakRSS(byConfig[c])}
		if unfixed != nil {
			lo, hi := unfixed.DetectionCI()
			row[3] = fmt.Sprintf("%d/%d = %s %s", unfixed.Detected, unfixed.Runs, report.FormatRate(unfixed.Rate()), report.FormatInterval(lo, hi))
			row[4] = strings.Join([]string{km(*unfixed, 0.5), km(*unfixed, 0.9), km(*unfixed, 0.99)}, " / ")
			if unfixed.Detected > 0 {
				row[5] = report.FormatRate(float64(unfixed.Mutations["removed"]) / float64(unfixed.Detected))
			}
		}
		if fixed != nil {
			lo, hi := fixed.DetectionCI()
			if fixed.Detected == 0 {
				row[6] = fmt.Sprintf("0/%d (< %s)", fixed.Runs, report.FormatUpper(hi))
			} else {
				row[6] = fmt.Sprintf("%d/%d %s", fixed.Detected, fixed.Runs, report.FormatInterval(lo, hi))
			}
			speed := fixed
			if long := report.Summarize(throughput[c]).Groups; len(long) > 0 {
				speed = &long[0] // steady state: the long trials only
			}
			row[7] = fmt.Sprintf("%.2fM", speed.ObjectsPerSec()/1e6)
			row[8] = fmt.Sprintf("%.2fM", speed.CallbacksPerSec()/1e6)
		}
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
	if len(subjects) > 0 {
		fmt.Fprintln(w, "\n| scenario | subject (role) | knobs | rate (95% CI, rounded outwards) | TTFF median / p90 (KM) | objects/s |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
		for _, g := range subjects {
			k := g.Knobs
			knobs := k.Preset
			if k.Chaos != "" {
				knobs = strings.TrimSpace(knobs + " chaos " + k.Chaos)
			}
			knobs = strings.TrimSpace(fmt.Sprintf("%s %gs", knobs, k.Seconds))
			fmt.Fprintf(w, "| %s | %s (%s) | %s | %s | %s / %s | %.2fM |\n", g.Scenario, g.Registry, g.Role, knobs,
				g.RateStatement(), km(g, 0.5), km(g, 0.9), g.ObjectsPerSec()/1e6)
		}
	}
	if len(scaling) > 0 {
		scalingTable(w, scaling)
	}
	if *overhead != "" {
		fmt.Fprintf(w, "\nProcess isolation costs %s ms per trial over running it in-process (median, `BenchmarkPoolOverhead`).\n", *overhead)
	}
	if *poolOverhead != "" {
		fmt.Fprintf(w, "Pool isolation costs %s ms per trial over running it in-process (median, same benchmark, interleaved).\n", *poolOverhead)
	}
	if len(gates) > 0 {
		fmt.Fprintf(w, "\nGate rounds in its budget: %s.\n", strings.Join(gates, "; "))
	}
	if *machine != "" {
		fmt.Fprintf(w, "\n%s\n", *machine)
	}
	return nil
}

func km(g report.Group, q float64) string {
	d, ok := g.KMQuantile(q)
	if !ok {
		return "> " + report.FormatDuration(d)
	}
	return report.FormatDuration(d)
}

// peakRSS is the largest peak resident set size of the trials run in child
// processes.
func peakRSS(recs []result.Record) string {
	var peaks []int64
	for _, r := range recs {
		if r.Process != nil && r.Process.PeakRSS > 0 {
			peaks = append(peaks, r.Process.PeakRSS)
		}
	}
	if len(peaks) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(slices.Max(peaks))/(1<<20))
}

// gateRounds says how many rounds a gate run completed, by isolation.
func gateRounds(recs []result.Record) string {
	subjects := map[string]bool{}
	byIso := map[string]int{}
	var isos []string
	for _, r := range recs {
		subjects[r.Registry] = true
		iso := isolation(r)
		if byIso[iso] == 0 {
			isos = append(isos, iso)
		}
		byIso[iso]++
	}
	var parts []string
	for _, iso := range isos {
		parts = append(parts, fmt.Sprintf("%s %d", iso, byIso[iso]/max(1, len(subjects))))
	}
	return strings.Join(parts, ", ")
}

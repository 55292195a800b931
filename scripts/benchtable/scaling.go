package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// scale is one cell of the scaling sweep: threads by GOMAXPROCS.
type scale struct{ threads, procs int }

// scalingTable writes time to first failure (unfixed) and objects/s (fixed)
// against threads and GOMAXPROCS, from the records of the scaling sweep
// (scripts/bench.sh's *-scaling.jsonl files).
func scalingTable(w io.Writer, recs []result.Record) {
	cells := map[scale][]result.Record{}
	var order []scale
	for _, r := range recs {
		c := scale{r.Knobs.Threads, r.Knobs.Procs}
		if _, ok := cells[c]; !ok {
			order = append(order, c)
		}
		cells[c] = append(cells[c], r)
	}
	slices.SortFunc(order, func(a, b scale) int {
		return cmp.Or(cmp.Compare(a.procs, b.procs), cmp.Compare(a.threads, b.threads))
	})
	fmt.Fprintln(w, "\n| GOMAXPROCS | threads (makers + runners) | chaos | isolation | unfixed detected (95% CI) | TTFF median / p90 (KM) | objects/s (fixed) | callbacks/s (fixed) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range order {
		rs := cells[c]
		row := []string{procsName(c.procs), fmt.Sprintf("%d (%d + %d)", c.threads, rs[0].Knobs.Makers, rs[0].Knobs.Runners),
			chaosName(rs[0].Knobs), isolation(rs[0]), "-", "-", "-", "-"}
		for _, g := range report.Summarize(rs).Groups {
			switch g.Registry {
			case "unfixed":
				lo, hi := g.DetectionCI()
				row[4] = fmt.Sprintf("%d/%d = %s %s", g.Detected, g.Runs, report.FormatRate(g.Rate()), report.FormatInterval(lo, hi))
				row[5] = km(g, 0.5) + " / " + km(g, 0.9)
			case "fixed":
				row[6] = fmt.Sprintf("%.2fM", g.ObjectsPerSec()/1e6)
				row[7] = fmt.Sprintf("%.2fM", g.CallbacksPerSec()/1e6)
			}
		}
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
}

// chaosName is a record's chaos level, with what "auto" resolved to.
func chaosName(k result.Knobs) string {
	name := cmp.Or(k.Chaos, "off")
	if name != "auto" {
		return name
	}
	procs := k.Procs
	if procs == 0 {
		procs = runtime.NumCPU()
	}
	if c, err := scenarios.ResolveChaos(name, procs); err == nil {
		return fmt.Sprintf("auto (%s)", c)
	}
	return name
}

func procsName(p int) string {
	if p == 0 {
		return "machine's"
	}
	return fmt.Sprint(p)
}

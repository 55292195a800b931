package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

// poolCompare writes the table of scripts/pool-vs-process.sh from the
// files it left in dir.
func poolCompare(dir string, w io.Writer) error {
	read := func(pattern string) ([]result.Record, error) {
		paths, _ := filepath.Glob(filepath.Join(dir, pattern))
		var recs []result.Record
		for _, p := range paths {
			res, err := result.ReadResultsFile(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			recs = append(recs, res.Records...)
		}
		return recs, nil
	}
	bench, err := benchMetrics(filepath.Join(dir, "bench.txt"))
	if err != nil {
		return err
	}
	row := func(what, process, pool, ratio, target string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", what, process, pool, ratio, target)
	}
	fmt.Fprintln(w, "| measurement | process | pool | pool / process | target (issue 13) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	po, pp := bench["ms-process-overhead"], bench["ms-pool-overhead"]
	row("per-trial overhead over in-process, finalize-order (ms, median of 5 benchmark medians)", ms2(po), ms2(pp), ratio(pp, po), "pool ≤ 0.5 ms")
	row("a pool's whole cost for a null trial (ms)", "-", ms2(bench["ms-pool-null"]), "-", "")

	group := func(recs []result.Record) *report.Group {
		for _, g := range report.Summarize(recs).Groups {
			return &g
		}
		return nil
	}
	var ttff [2]*report.Group
	var first, later []result.Record
	for i, iso := range []string{"process", "pool"} {
		recs, err := read("unfixed-" + iso + "-*.jsonl")
		if err != nil {
			return err
		}
		ttff[i] = group(recs)
		if iso == "pool" {
			for _, r := range recs {
				if r.Process != nil && r.Process.WorkerTrial == 0 {
					first = append(first, r)
				} else {
					later = append(later, r)
				}
			}
		}
	}
	if ttff[0] != nil && ttff[1] != nil {
		q := func(g *report.Group, p float64) (string, float64) {
			d, _ := g.KMQuantile(p)
			return report.FormatDuration(d), float64(d)
		}
		m0, a := q(ttff[0], 0.5)
		m1, b := q(ttff[1], 0.5)
		p0, _ := q(ttff[0], 0.99)
		p1, _ := q(ttff[1], 0.99)
		row(fmt.Sprintf("unfixed TTFF median (KM; %d / %d trials, detected %d / %d)", ttff[0].Runs, ttff[1].Runs, ttff[0].Detected, ttff[1].Detected), m0, m1, ratio(b, a), "pool ≤ 5 ms and ≤ ½ of process")
		row("unfixed TTFF p99 (KM)", p0, p1, "-", "pool ≤ 50 ms")
		if g1, g2 := group(first), group(later); g1 != nil && g2 != nil {
			f, _ := q(g1, 0.5)
			l, _ := q(g2, 0.5)
			row(fmt.Sprintf("pool: TTFF median of a worker's first trials (%d) / of later ones (%d)", g1.Runs, g2.Runs), "-", f+" / "+l, "-", "")
		}
	}

	for _, gate := range []struct{ prefix, what string }{{"gate", "default trial length"}, {"gateshort", "short trials (GATE_SECONDS)"}} {
		var rounds [2][]int
		var seconds float64
		for i, iso := range []string{"process", "pool"} {
			paths, _ := filepath.Glob(filepath.Join(dir, gate.prefix+"-"+iso+"-*.jsonl"))
			for _, p := range paths {
				res, err := result.ReadResultsFile(p)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				subjects := map[string]bool{}
				for _, r := range res.Records {
					subjects[r.Registry] = true
					seconds = r.Knobs.Seconds
				}
				rounds[i] = append(rounds[i], len(res.Records)/max(1, len(subjects)))
			}
		}
		if len(rounds[0]) > 0 && len(rounds[1]) > 0 {
			a, b := medianInt(rounds[0]), medianInt(rounds[1])
			row(fmt.Sprintf("gate rounds per budget, %s %gs (median of %d runs each: %v / %v)", gate.what, seconds, len(rounds[0]), rounds[0], rounds[1]), strconv.Itoa(a), strconv.Itoa(b), ratio(float64(b), float64(a)), "pool ≥ 2×")
		}
	}

	var speed [2][]float64
	for i, iso := range []string{"process", "pool"} {
		recs, err := read("throughput-" + iso + "-*.jsonl")
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.DurationNs > 0 {
				speed[i] = append(speed[i], float64(r.Counts.Objects)/r.Duration().Seconds())
			}
		}
	}
	if len(speed[0]) > 0 && len(speed[1]) > 0 {
		a, b := medianFloat(speed[0]), medianFloat(speed[1])
		row(fmt.Sprintf("fixed objects/s (median of %d trials of 4 s)", len(speed[0])), fmt.Sprintf("%.2fM", a/1e6), fmt.Sprintf("%.2fM", b/1e6), ratio(b, a), "pool ≥ 1.5 M")
	}
	if recs, err := read("fixed-pool.jsonl"); err == nil && len(recs) > 0 {
		if g := group(recs); g != nil {
			row("fixed forbidden outcomes, pooled trials", "-", g.RateStatement(), "-", "0 in ≥ 1000")
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "load")); err == nil {
		fmt.Fprintf(w, "\n%s\n", strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n", "; ")), " "))
	}
	return nil
}

// benchMetrics reads the median of each custom metric over the benchmark
// lines of a go test -bench output.
func benchMetrics(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all := map[string][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(fs); i += 2 {
			if v, err := strconv.ParseFloat(fs[i], 64); err == nil && strings.HasPrefix(fs[i+1], "ms-") {
				all[fs[i+1]] = append(all[fs[i+1]], v)
			}
		}
	}
	out := map[string]float64{}
	for k, v := range all {
		out[k] = medianFloat(v)
	}
	return out, sc.Err()
}

func medianFloat(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(v []int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms2(v float64) string { return fmt.Sprintf("%.2f ms", v) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

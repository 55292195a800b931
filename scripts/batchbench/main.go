// Command batchbench measures racestress gotest's batched iterations
// against one process per iteration (--batch 1) and against the bare test
// binary run with -test.count, interleaved round by round on one machine:
// iterations per second of each, and the per-iteration failure rate of the
// two racestress modes with their exact 95% intervals (a fresh process may
// race differently from a warm one).
//
//	go run ./scripts/batchbench [-rounds 3] [-iterations 500] [-pkg ./examples/rarerace]
//
// It builds racestress and the package's race-enabled test binary first,
// and writes its runs under racestress-out/batchbench/.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/racestress/racestress/report"
	"github.com/racestress/racestress/result"
)

func main() {
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	n := flag.Int("iterations", 500, "iterations per batched and bare run (per-process runs do a fifth)")
	pkg := flag.String("pkg", "./examples/rarerace", "the package (built with -race -tags racestress_example)")
	run := flag.String("run", "^TestPool$", "the test pattern")
	flag.Parse()
	if err := bench(*rounds, *n, *pkg, *run); err != nil {
		fmt.Fprintln(os.Stderr, "batchbench:", err)
		os.Exit(1)
	}
}

type mode struct {
	name  string
	iters []int
	secs  []float64
	fails int
}

func bench(rounds, n int, pkg, run string) error {
	dir, err := filepath.Abs(filepath.Join("racestress-out", "batchbench", time.Now().UTC().Format("20060102-150405")))
	if err != nil {
		return err
	}
	rs, bin := filepath.Join(dir, "racestress"), filepath.Join(dir, "pkg.test")
	if err := sh("go", "build", "-o", rs, "./cmd/racestress"); err != nil {
		return err
	}
	if err := sh("go", "test", "-c", "-race", "-tags", "racestress_example", "-o", bin, pkg); err != nil {
		return err
	}
	pkgDir, err := filepath.Abs(pkg)
	if err != nil {
		return err
	}
	batched, single, bare := &mode{name: "batched (--batch 100)"}, &mode{name: "per process (--batch 1)"}, &mode{name: "bare -test.count"}
	for r := range rounds {
		for i, m := range []*mode{batched, single, bare} {
			out := filepath.Join(dir, fmt.Sprintf("round%d-mode%d.jsonl", r, i))
			var args []string
			iters := n
			switch m {
			case batched:
				args = []string{"gotest", "-race", "-tags", "racestress_example", "-run", run, "--runs", strconv.Itoa(n), "--batch", "100", "--quiet", "--format", "json", "--out", out, pkg}
			case single:
				iters = max(1, n/5)
				args = []string{"gotest", "-race", "-tags", "racestress_example", "-run", run, "--runs", strconv.Itoa(iters), "--batch", "1", "--quiet", "--format", "json", "--out", out, pkg}
			}
			if m == bare {
				cmd := exec.Command(bin, "-test.run="+run, "-test.count="+strconv.Itoa(n))
				cmd.Dir = pkgDir
				start := time.Now()
				_ = cmd.Run() // fails when it races: only its pace is measured
				m.iters, m.secs = append(m.iters, n), append(m.secs, time.Since(start).Seconds())
				continue
			}
			cmd := exec.Command(rs, args...)
			_ = cmd.Run() // exit 1 when the racy test failed
			res, err := result.ReadResultsFile(out)
			if err != nil {
				return err
			}
			first, last := res.Records[0], res.Records[len(res.Records)-1]
			span := last.Start.Add(last.Duration()).Sub(first.Start)
			m.iters, m.secs = append(m.iters, len(res.Records)), append(m.secs, span.Seconds())
			for _, rec := range res.Records {
				if rec.Detected {
					m.fails++
				}
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%s, %d interleaved rounds, load average at the end: %s\n", pkg, rounds, string(load))
	fmt.Println("| mode | iterations | median iterations/s | failure rate per iteration (95% CI) |")
	fmt.Println("|---|---|---|---|")
	for _, m := range []*mode{batched, single, bare} {
		var rates []float64
		total := 0
		for i := range m.iters {
			rates = append(rates, float64(m.iters[i])/m.secs[i])
			total += m.iters[i]
		}
		sort.Float64s(rates)
		rate := "- (the detector reports a race once per process)"
		if m != bare {
			lo, hi := report.ClopperPearson(m.fails, total)
			rate = fmt.Sprintf("%d/%d = %s %s", m.fails, total, report.FormatRate(float64(m.fails)/float64(total)), report.FormatInterval(lo, hi))
		}
		fmt.Printf("| %s | %d | %.0f | %s |\n", m.name, total, rates[len(rates)/2], rate)
	}
	return nil
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

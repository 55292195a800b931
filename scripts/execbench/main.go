// Command execbench measures the per-trial overhead of racestress exec: it
// alternates, block by block so that both meet the same machine, K runs of
// `true` with exec.Command(...).Run() and a racestress exec run of K trials
// of `true`, and compares the medians. A racestress trial's cost is the
// time from one trial's start to the next's (the records' start times):
// the command, classification, the record's synced write, the progress
// line, everything a trial costs the run.
//
// Usage:
//
//	go build -o /tmp/racestress ./cmd/racestress
//	go run ./scripts/execbench [-blocks 10] [-k 50] /tmp/racestress
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/racestress/racestress/result"
)

func main() {
	blocks := flag.Int("blocks", 10, "alternate `N` blocks of each")
	k := flag.Int("k", 50, "`K` runs of true per block")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: execbench [-blocks N] [-k K] RACESTRESS-BINARY")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *blocks, *k); err != nil {
		fmt.Fprintln(os.Stderr, "execbench:", err)
		os.Exit(1)
	}
}

func run(bin string, blocks, k int) error {
	dir, err := os.MkdirTemp("", "execbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var direct, cycle, wall []time.Duration
	for b := range blocks {
		for range k {
			t := time.Now()
			if err := exec.Command("true").Run(); err != nil {
				return err
			}
			direct = append(direct, time.Since(t))
		}
		out := filepath.Join(dir, fmt.Sprintf("block-%d.jsonl", b))
		cmd := exec.Command(bin, "exec", "--quiet", "--format", "json", "--runs", fmt.Sprint(k), "--out", out, "--", "true")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, msg[:min(len(msg), 400)])
		}
		res, err := result.ReadResultsFile(out)
		if err != nil {
			return err
		}
		for i, r := range res.Records {
			wall = append(wall, time.Duration(r.Process.WallNanos))
			if i > 0 {
				cycle = append(cycle, r.Start.Sub(res.Records[i-1].Start))
			}
		}
	}
	md, mc, mw := median(direct), median(cycle), median(wall)
	fmt.Printf("true, %d blocks of %d, alternating (%s, %d CPUs)\n", blocks, k, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU())
	fmt.Printf("exec.Command(\"true\").Run()          median %v  (p90 %v)\n", md.Round(time.Microsecond), quantile(direct, 0.9).Round(time.Microsecond))
	fmt.Printf("racestress exec: trial start to start median %v  (p90 %v)\n", mc.Round(time.Microsecond), quantile(cycle, 0.9).Round(time.Microsecond))
	fmt.Printf("racestress exec: the command's wall   median %v\n", mw.Round(time.Microsecond))
	fmt.Printf("overhead per trial (median start-to-start minus median exec.Command): %v\n", (mc - md).Round(time.Microsecond))
	return nil
}

func median(d []time.Duration) time.Duration { return quantile(d, 0.5) }

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

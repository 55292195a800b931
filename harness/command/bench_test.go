package command

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/racestress/racestress/result"
)

// BenchmarkTrue measures the per-trial cost of running `true`: directly
// with exec.Command(...).Run, as the floor, and as a trial with a watchdog.
// Its pair sub-benchmark runs both alternately, so that both see the same
// machine, and reports their medians and the ratio of the medians.
func BenchmarkTrue(b *testing.B) {
	if _, err := exec.LookPath("true"); err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	c := Command{Path: "true", Timeout: time.Minute}
	runExec := func(b *testing.B) {
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
	}
	runTrial := func(b *testing.B) {
		if r := c.Run(ctx, 0, 0); r.Outcome != result.OK {
			b.Fatalf("%+v", r)
		}
	}
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			runExec(b)
		}
	})
	b.Run("command", func(b *testing.B) {
		for b.Loop() {
			runTrial(b)
		}
	})
	b.Run("pair", func(b *testing.B) {
		var direct, trial []time.Duration
		for b.Loop() {
			t0 := time.Now()
			runExec(b)
			t1 := time.Now()
			runTrial(b)
			direct, trial = append(direct, t1.Sub(t0)), append(trial, time.Since(t1))
		}
		md, mt := median(direct), median(trial)
		b.ReportMetric(float64(md), "exec-median-ns")
		b.ReportMetric(float64(mt), "command-median-ns")
		b.ReportMetric(float64(mt)/float64(md), "ratio")
	})
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

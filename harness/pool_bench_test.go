package harness_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// BenchmarkPoolOverhead measures what running a trial costs over running
// it in this process, in a child process per trial and in a warm pool
// worker, side by side: each iteration runs the same short deterministic
// trial (finalize-order) the three ways in turn, so all meet the same
// machine load, and reports the medians and the overheads in milliseconds.
func BenchmarkPoolOverhead(b *testing.B) {
	proc := harness.Processes{Path: os.Args[0], Env: []string{fakeWorkerEnv + "=ok"}}
	pool := &harness.Pool{Process: harness.Processes{Path: os.Args[0], Env: []string{fakeWorkerEnv + "=pool"}}}
	defer pool.Close()
	in := harness.InProcess{}
	s := spec()
	ps := s
	ps.Registry = "ok" // the fake pool worker's name for finalize-order on the fixed registry
	var inproc, child, warm []time.Duration
	for b.Loop() {
		t0 := time.Now()
		r1, _ := in.Execute(context.Background(), s)
		t1 := time.Now()
		r2, _ := proc.Execute(context.Background(), s)
		t2 := time.Now()
		r3, _ := pool.Execute(context.Background(), ps)
		t3 := time.Now()
		if r1.Outcome != result.OK || r2.Outcome != result.OK || r3.Outcome != result.OK {
			b.Fatalf("trials failed: %s / %s / %s", r1.FirstError, r2.FirstError, r3.FirstError)
		}
		inproc = append(inproc, t1.Sub(t0))
		child = append(child, t2.Sub(t1))
		warm = append(warm, t3.Sub(t2))
	}
	mi, mc, mp := median(inproc), median(child), median(warm)
	b.ReportMetric(ms(mi), "ms-inprocess")
	b.ReportMetric(ms(mc), "ms-process")
	b.ReportMetric(ms(mp), "ms-pool")
	b.ReportMetric(ms(mc-mi), "ms-process-overhead")
	b.ReportMetric(ms(mp-mi), "ms-pool-overhead")
}

// BenchmarkPoolNullTrial measures a pool's whole per-trial cost: a trial
// that does nothing, run in a warm worker (the spec and record round trip,
// the fitness check, the parent's bookkeeping). RACESTRESS_POOL_CPUPROFILE
// makes the worker write its CPU profile there.
func BenchmarkPoolNullTrial(b *testing.B) {
	env := []string{fakeWorkerEnv + "=pool"}
	if p := os.Getenv(poolProfileEnv); p != "" {
		env = append(env, poolProfileEnv+"="+p)
	}
	pool := &harness.Pool{Process: harness.Processes{Path: os.Args[0], Env: env}, TrialsPerWorker: 1 << 30}
	defer pool.Close()
	s := poolSpec(0, "probe")
	var warm []time.Duration
	for b.Loop() {
		t0 := time.Now()
		r, _ := pool.Execute(context.Background(), s)
		warm = append(warm, time.Since(t0))
		if r.Outcome != result.OK {
			b.Fatal(r.FirstError)
		}
	}
	b.ReportMetric(ms(median(warm)), "ms-pool-null")
}

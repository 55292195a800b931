package harness_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/racestress/racestress/harness"
	"github.com/racestress/racestress/result"
)

// BenchmarkIsolationOverhead measures what running a trial in a child
// process costs over running it in this process. Each iteration runs the
// same short deterministic trial (finalize-order) both ways, alternating so
// both meet the same machine load, and reports the medians and their
// difference in milliseconds.
func BenchmarkIsolationOverhead(b *testing.B) {
	proc := harness.Processes{Path: os.Args[0], Env: []string{fakeWorkerEnv + "=ok"}}
	in := harness.InProcess{}
	s := spec()
	var inproc, child []time.Duration
	for b.Loop() {
		t0 := time.Now()
		r1, _ := in.Execute(context.Background(), s)
		t1 := time.Now()
		r2, _ := proc.Execute(context.Background(), s)
		t2 := time.Now()
		if r1.Outcome != result.OK || r2.Outcome != result.OK {
			b.Fatalf("trials failed: %s / %s", r1.FirstError, r2.FirstError)
		}
		inproc = append(inproc, t1.Sub(t0))
		child = append(child, t2.Sub(t1))
	}
	mi, mc := median(inproc), median(child)
	b.ReportMetric(ms(mi), "ms-inprocess")
	b.ReportMetric(ms(mc), "ms-process")
	b.ReportMetric(ms(mc-mi), "ms-overhead")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

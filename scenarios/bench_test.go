package scenarios_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/racestress/racestress/finalizer"
	"github.com/racestress/racestress/result"
	"github.com/racestress/racestress/scenarios"
)

// BenchmarkThreadSafety runs the bpo24484 scenario, one trial per iteration,
// and reports what the harness is judged by:
//
//	go test -run '^$' -bench ThreadSafety ./scenarios/
//
// For the unfixed registry (a control) each trial stops at its first
// failure: ttff-median-ms and ttff-p90-ms are over the detected trials,
// detected/op is the detection rate. For the fixed registry each trial runs
// its full length: objects/s is what the makers registered per second of
// stress, forbidden/op must be 0. It runs every preset (scenarios.Presets)
// at every chaos level; select one with e.g. -bench 'ThreadSafety/fast/chaos-low'.
func BenchmarkThreadSafety(b *testing.B) {
	for _, p := range scenarios.Presets() {
		for _, chaos := range []scenarios.Chaos{scenarios.ChaosOff, scenarios.ChaosLow, scenarios.ChaosHigh} {
			for _, reg := range []string{"unfixed", "fixed"} {
				b.Run(p.Name+"/chaos-"+chaos.String()+"/"+reg, func(b *testing.B) {
					v, err := scenarios.ThreadSafety.Subject(reg)
					if err != nil {
						b.Fatal(err)
					}
					k := p.Knobs
					k.Chaos = chaos.String()
					if v.Role == result.Clean {
						k.Seconds = 0.5 // long enough for a steady objects/s
					}
					benchTrials(b, v, k, chaos)
				})
			}
		}
	}
}

func benchTrials(b *testing.B, v scenarios.Subject, k result.Knobs, chaos scenarios.Chaos) {
	var ttffs []time.Duration
	var objects uint64
	var stress time.Duration
	var detected, forbidden int
	seed := int64(0)
	for b.Loop() {
		seed++
		obs := scenarios.ThreadSafety.Trial(context.Background(), scenarios.Env{
			Subject: v, Knobs: k, Seed: seed, Hook: chaos.Hook(seed),
		})
		objects += obs.Counts.Objects
		stress += obs.Duration
		if obs.Failed() {
			forbidden++
			if obs.Outcome == result.ChangedSize && obs.Mutations["removed"] > 0 {
				detected++
				ttffs = append(ttffs, obs.TTFF)
			}
		}
	}
	n := float64(b.N)
	if v.Role == result.Clean {
		b.ReportMetric(float64(forbidden)/n, "forbidden/op")
	} else {
		b.ReportMetric(float64(detected)/n, "detected/op")
		if len(ttffs) > 0 {
			slices.Sort(ttffs)
			b.ReportMetric(ms(quantile(ttffs, 0.5)), "ttff-median-ms")
			b.ReportMetric(ms(quantile(ttffs, 0.9)), "ttff-p90-ms")
		}
	}
	if stress > 0 {
		b.ReportMetric(float64(objects)/stress.Seconds(), "objects/s")
	}
}

// quantile returns the nearest-rank q-quantile of sorted xs.
func quantile(xs []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(xs)) + 0.5)
	return xs[min(max(i-1, 0), len(xs)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkChaosHook is the cost of one step-point call of each chaos level's
// hook, from parallel goroutines, including the yields, spins and sleeps it
// injects (that cost is the point; its rate is what the levels differ in).
func BenchmarkChaosHook(b *testing.B) {
	for _, c := range []scenarios.Chaos{scenarios.ChaosLow, scenarios.ChaosHigh} {
		b.Run(c.String(), func(b *testing.B) {
			h := c.Hook(1)
			b.RunParallel(func(pb *testing.PB) {
				p := finalizer.PointWalkStep
				for pb.Next() {
					h(p)
					p = p%3 + 1
				}
			})
		})
	}
}
